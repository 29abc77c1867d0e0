//! Hardware blocks: one per file, each `params -> validate -> elaborate`.

pub mod axis_fifo;
pub mod axis_register;
