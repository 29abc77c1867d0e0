//! Cycle-based simulation of the generated Verilog with Verilator.
//!
//! Flow: the caller emits Verilog, picks the class name with [`prefix_for`], emits the
//! C ABI shim for it (`hdl::emit::cpp_shim`), and calls [`load_or_build`]. The design is
//! verilated and compiled once into a cached shared library ([`build`]), then loaded
//! ([`Model::load`]) and stepped from Rust one clock cycle per FFI call.
//!
//! This crate deliberately does not depend on `hdl`: it only needs Verilog text and
//! shim text, which keeps the generator and the simulator independently buildable.

mod builder;
mod error;
mod model;

pub mod axi;
pub mod axis;
pub mod hostmem;
pub mod iwarp;
pub mod pattern;

use std::path::PathBuf;

pub use builder::{
    build, build_in, cache_dir, make_args, prefix_for, target_dir, verilator_args,
    verilator_version, workspace_root, BuildSpec, BUILD_RECIPE_VERSION, CACHE_ENV,
};
pub use error::SimError;
pub use model::{Model, Port};

/// Build (or reuse) the library for `spec` and instantiate a fresh model from it.
///
/// Within a process a configuration is checked against the cache only once; every call
/// returns an independent model instance.
pub fn load_or_build(spec: &BuildSpec) -> Result<Model, SimError> {
    Model::load(build(spec)?)
}

/// Where a test should write its waveform: `<target>/waves/<test_name>.vcd` when the
/// environment has `WAVES=1` (directory created), otherwise `None`, so traces cost
/// nothing unless asked for. Characters other than `[A-Za-z0-9_.-]` in the name become `_`.
pub fn waves_path(test_name: &str) -> Option<PathBuf> {
    if std::env::var("WAVES").ok().as_deref() != Some("1") {
        return None;
    }
    let dir = target_dir().join("waves");
    std::fs::create_dir_all(&dir).ok()?;
    let name: String = test_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Some(dir.join(format!("{name}.vcd")))
}
