//! Hardware blocks: one per file, each `params -> validate -> elaborate`.

pub mod axil_decode;
pub mod axis_fifo;
pub mod axis_register;
pub mod cmd_arb;
pub mod conn_regs;
pub mod conn_table;
pub mod counter_regs;
pub mod crc32c;
pub mod direct_resolver;
pub mod event_regs;
pub mod host_arbiter;
pub mod miss_table;
pub mod mpa_rx;
pub mod nic;
pub mod nic_rx;
pub mod rx_dispatch;
pub mod rx_parse;
pub mod rx_place;
pub mod rx_steer;
pub mod rx_verdict;
pub mod stag_regs;
pub mod stag_table;
pub mod synth_wrapper;
pub mod system;
pub mod term_tx;
pub(crate) mod wiring;
