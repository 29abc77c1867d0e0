//! Emitters: the Verilog of every module, and the C++ simulation shim
//! derived from the same port list.

pub mod cpp_shim;
pub mod verilog;
