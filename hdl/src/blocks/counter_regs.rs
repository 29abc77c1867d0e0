//! `counter_regs`: the receive path's counters and status as read-only
//! registers (block `COUNTERS`).
//!
//! The register list is generated from `nic_rx`'s counter list
//! ([`rx_dispatch::COUNTERS`] and [`rx_dispatch::CHECKS`]), so a counter
//! added there gets its register, its port here and its documentation
//! without being written twice. The inputs are named as `nic_rx`'s
//! outputs (`cnt_*`, `hold_full`, `hold_count`, `framing_error`), so a
//! parent connects them by name.

use std::rc::Rc;

use crate::blocks::rx_dispatch::{CHECKS, COUNTERS};
use crate::ir::{clog2, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::regmap::{self, Access, RegBlock};
use crate::Error;

/// Byte address of the `COUNTERS` window in the NIC's register space.
pub const BASE: u64 = 0x300;

/// Word of the first counter register.
const FIRST_COUNTER_WORD: u32 = 0x10 / 4;

/// Every counter: (`nic_rx` port name, register name, description), in
/// port order.
pub fn counters() -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = COUNTERS
        .iter()
        .map(|(n, d)| {
            (
                format!("cnt_{n}"),
                format!("CNT_{}", n.to_uppercase()),
                d.to_string(),
            )
        })
        .collect();
    for k in 1..=CHECKS {
        v.push((
            format!("cnt_check_{k}"),
            format!("CNT_CHECK_{k}"),
            format!(
                "segments discarded because check {k} of SPEC's table failed (DROP for check 1, \
TERMINATE for the others; `rx_verdict` reason {k})"
            ),
        ));
    }
    v
}

/// The register map of the counter window (block `COUNTERS`).
pub fn regmap() -> RegBlock {
    let mut b = RegBlock::new(
        "COUNTERS",
        "counter_regs",
        BASE,
        "The receive path's status and counters (docs/nic_rx.md, \"Counters\"), read-only. Every \
counter is 32 bits, zero after reset, and wraps; reads have no side effect.",
    );
    b.reg("HOLD_QUEUE", 0, "The hold queue now.")
        .field(
            "COUNT",
            15,
            0,
            Access::Ro,
            0,
            "segments parked (at most --hold-segments)",
        )
        .field(
            "FULL",
            16,
            16,
            Access::Ro,
            0,
            "a segment waits for room in the hold queue (the rx stream is back-pressured)",
        );
    b.reg("FLAGS", 1, "Sticky error flags of the receive path.")
        .field(
            "FRAMING_ERROR",
            0,
            0,
            Access::Ro,
            0,
            "placement data disagreed with a descriptor (a hardware bug, never expected); cleared \
only by reset",
        );
    for (i, (_, reg, doc)) in counters().iter().enumerate() {
        let mut d = doc.clone();
        if let Some(c) = d.get_mut(0..1) {
            c.make_ascii_uppercase();
        }
        b.reg(
            &reg.clone(),
            FIRST_COUNTER_WORD + i as u32,
            &format!("{d}."),
        )
        .field("COUNT", 31, 0, Access::Ro, 0, "count (wraps)");
    }
    b
}

/// Parameters of a `counter_regs` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterRegsParams {
    pub name: String,
    /// `--hold-segments` (the width of `hold_count`).
    pub hold_segments: u32,
}

impl CounterRegsParams {
    pub fn from_params(p: &Params) -> Self {
        CounterRegsParams {
            name: "counter_regs".into(),
            hold_segments: p.get32("hold-segments"),
        }
    }
    pub fn validate(&self) -> Result<(), Error> {
        params::check("hold-segments", self.hold_segments as u64)?;
        Ok(())
    }
}

/// Build the module.
pub fn elaborate(p: &CounterRegsParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let map = regmap();
    let hb = clog2(p.hold_segments as u64) + 1;
    let mut m = ModuleBuilder::new(
        &p.name,
        "Receive path counters, hold queue state and error flags as read-only registers (AXI4-Lite)",
    );
    m.param(
        "HOLD_SEGMENTS",
        p.hold_segments as u64,
        "segments the hold queue parks",
    );
    m.clock_and_reset();
    let regs = regmap::axil_regs(&mut m, &map)?;
    let hold_full = m.input("hold_full", 1, "nic_rx hold_full");
    let hold_count = m.input("hold_count", hb, "nic_rx hold_count");
    let framing = m.input("framing_error", 1, "nic_rx framing_error");
    m.assign(&regs.source("HOLD_QUEUE", "FULL"), hold_full);
    m.assign(&regs.source("HOLD_QUEUE", "COUNT"), hold_count.zext(16));
    m.assign(&regs.source("FLAGS", "FRAMING_ERROR"), framing);
    for (port, reg, _) in counters() {
        let c = m.input(&port, 32, "nic_rx counter");
        m.assign(&regs.source(&reg, "COUNT"), c);
    }
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_register_per_counter() {
        let map = regmap();
        map.validate().unwrap();
        assert_eq!(map.registers.len(), 2 + COUNTERS.len() + CHECKS as usize);
        assert!(map.get("CNT_CHECK_11").is_some());
        assert!(map.get("CNT_PLACED_BYTES").is_some());
        elaborate(&CounterRegsParams::from_params(&Params::default())).unwrap();
    }
}
