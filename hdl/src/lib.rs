//! stag-handoff's hardware generator.
//!
//! Three phases, as in Amaranth: parameters are checked with clear errors
//! ([`params`]), blocks elaborate into an IR whose widths are checked
//! ([`ir`]), and one emitter writes Verilog-2005 ([`emit`]). Parameters are
//! run-time values, never const generics.

pub mod blocks;
pub mod design;
pub mod emit;
pub mod iface;
pub mod ir;
pub mod params;
pub mod regmap;

pub use design::Design;
pub use ir::{ElabError, Expr, Module, ModuleBuilder};
pub use params::{ParamError, Params};

/// Anything that stops generation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Elab(#[from] ElabError),
    #[error("design: {0}")]
    Design(String),
}
