//! Plain-Rust reference models of the generated blocks, written from their
//! contracts in `docs/` (not from the RTL), with the port adapters and the
//! checkers that compare a running Verilator model against them every cycle.

pub mod conn_table;
pub mod nic_rx;
pub mod rx_verdict;
pub mod stag_table;
