//! `nic`: one NIC as a host sees it: the receive path (`nic_rx`) and its
//! register blocks behind one AXI4-Lite port (docs/nic.md).
//!
//! Inside: `nic_rx` (which owns the STag table, the connection table and the
//! hold queue), the register windows of [`crate::regmap::nic_map`] — `STAG`
//! (`stag_regs`, wired to `nic_rx`'s `stag_*` table port), `CONN`
//! (`conn_regs`, to `conn_*`), `EVENTS` (`event_regs`: the event queue fed
//! by `m_miss_*` and `m_inval_*`, the reject register driving `s_reject_*`,
//! the interrupt), `COUNTERS` (`counter_regs`: `cnt_*`, `hold_*`,
//! `framing_error`) — and an `axil_decode` that routes `s_axil_*` to them by
//! address (an unmapped address answers SLVERR).
//!
//! Outside: `clk`, `rst`, `s_axil_*`, `nic_rx`'s network and DMA ports
//! (`s_axis_rx_*`, `m_axis_tx_*`, `m_axi_*`), the `nic_id` strap and `irq`.
//! Every connection is made by port name from the children's port lists,
//! so a port added to `nic_rx` without a home here stops elaboration with
//! its name.

use std::rc::Rc;

use crate::blocks::axi_write_mux::{self, AxiWriteMuxParams};
use crate::blocks::axil_decode::{self, AxilDecodeParams, Target};
use crate::blocks::cmd_arb::{self, CmdArbParams};
use crate::blocks::conn_regs::{self, ConnRegsParams};
use crate::blocks::counter_regs::{self, CounterRegsParams};
use crate::blocks::event_regs::{self, EventRegsParams};
use crate::blocks::list_export::{self, ListExportParams};
use crate::blocks::nic_rx::{self, NicRxParams};
use crate::blocks::stag_regs::{self, StagRegsParams};
use crate::blocks::wiring::{expose, link, Child};
use crate::ir::{Module, ModuleBuilder};
use crate::params::Params;
use crate::regmap;
use crate::Error;

/// Parameters of a `nic`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicParams {
    pub name: String,
    pub rx: NicRxParams,
    pub stag_regs: StagRegsParams,
    pub conn_regs: ConnRegsParams,
    pub events: EventRegsParams,
    pub counters: CounterRegsParams,
    /// Address bits of `s_axil_*`: at least the register map's
    /// (`regmap::nic_map().addr_width()`, the default), at most 32. A wider
    /// port (a system top's per-NIC window) answers SLVERR above the map.
    pub axil_addr_bits: u32,
}

impl NicParams {
    pub fn from_params(p: &Params) -> Self {
        NicParams {
            name: "nic".into(),
            rx: NicRxParams::from_params(p),
            stag_regs: StagRegsParams {
                export: true,
                ..StagRegsParams::from_params(p)
            },
            conn_regs: ConnRegsParams::from_params(p),
            events: EventRegsParams::default(),
            counters: CounterRegsParams::from_params(p),
            axil_addr_bits: regmap::nic_map().addr_width(),
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        self.rx.validate()?;
        self.stag_regs.validate()?;
        self.conn_regs.validate()?;
        self.events.validate()?;
        self.counters.validate()?;
        let need = regmap::nic_map().addr_width();
        if !(need..=32).contains(&self.axil_addr_bits) {
            return Err(Error::Design(format!(
                "nic `{}`: register port address width {} must be from {need} (the register map) to 32",
                self.name, self.axil_addr_bits
            )));
        }
        Ok(())
    }
}

/// Which register block takes `nic_rx` port `n`, and under which port name.
fn host_route(n: &str) -> Option<(&'static str, String)> {
    if let Some(f) = n.strip_prefix("stag_") {
        let f = match f.strip_prefix("m_axis_list_") {
            Some(g) => format!("s_axis_list_{g}"),
            None => f.to_string(),
        };
        return Some(("STAG", f));
    }
    if let Some(f) = n.strip_prefix("conn_") {
        return Some(("CONN", f.to_string()));
    }
    for (from, to) in [
        ("m_miss_", "s_miss_"),
        ("m_inval_", "s_inval_"),
        ("s_reject_", "m_reject_"),
    ] {
        if let Some(f) = n.strip_prefix(from) {
            return Some(("EVENTS", format!("{to}{f}")));
        }
    }
    if n.starts_with("cnt_") || n.starts_with("hold_") || n == "framing_error" {
        return Some(("COUNTERS", n.to_string()));
    }
    None
}

/// `event_regs`' direct-mode ports, which the nic passes to its top.
fn event_regs_direct_ports(events: &Module) -> Vec<String> {
    events
        .ports()
        .map(|(s, _)| s.name.to_string())
        .filter(|n| n.starts_with("m_direct_miss_") || n.starts_with("s_direct_reject_"))
        .collect()
}

/// Build the module and its children.
pub fn elaborate(p: &NicParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let map = regmap::nic_map();
    map.validate()?;
    let rx = nic_rx::elaborate(&p.rx)?;
    let mut regs_modules: Vec<(&str, Rc<Module>)> = vec![
        // This stag_regs has the LIST_DMA ports, so it is not the lone one
        // (`stag_regs_top`): it carries the NIC's name.
        (
            "STAG",
            stag_regs::elaborate(&StagRegsParams {
                name: format!("{}_{}", p.name, p.stag_regs.name),
                ..p.stag_regs.clone()
            })?,
        ),
        ("CONN", conn_regs::elaborate(&p.conn_regs)?),
        ("EVENTS", event_regs::elaborate(&p.events)?),
        ("COUNTERS", counter_regs::elaborate(&p.counters)?),
    ];
    // The STag table's command port is shared by the host (`stag_regs`)
    // and the direct resolver outside (`s_direct_cmd_*`): its fields come
    // from nic_rx's own port list.
    let fields = |prefix: &str| -> Vec<(String, u32)> {
        rx.ports()
            .filter_map(|(s, _)| {
                let f = s.name.strip_prefix(prefix)?;
                (f != "valid" && f != "ready").then(|| (f.to_string(), s.width))
            })
            .collect()
    };
    let arb = cmd_arb::elaborate(&CmdArbParams {
        name: format!("{}_stag_cmd_arb", p.name),
        cmd_fields: fields("stag_cmd_"),
        resp_fields: fields("stag_resp_"),
    })?;
    // LIST_DMA: the export engine writes through the placement engine's
    // DMA port (one id, a burst at a time).
    let export = list_export::elaborate(&ListExportParams {
        name: format!("{}_list_export", p.name),
        data_width: p.rx.data_width,
        table: p.stag_regs.table.clone(),
    })?;
    let rx_axi = |f: &str| rx.port(&format!("m_axi_{f}")).map(|(s, _)| s.width);
    let dma_mux = axi_write_mux::elaborate(&AxiWriteMuxParams {
        name: format!("{}_dma_mux", p.name),
        addr_width: rx_axi("awaddr").expect("nic_rx has an AXI4 write port"),
        data_width: p.rx.data_width,
        id_width: rx_axi("awid").expect("nic_rx has an AXI4 write port"),
        depth: 8,
    })?;
    let decode = axil_decode::elaborate(&AxilDecodeParams {
        name: format!("{}_axil_decode", p.name),
        addr_width: p.axil_addr_bits,
        targets: map
            .blocks
            .iter()
            .map(|b| Target {
                name: b.name.to_lowercase(),
                base: b.base,
                addr_width: b.addr_width(),
            })
            .collect(),
    })?;

    let mut m = ModuleBuilder::new(
        &p.name,
        "One NIC: receive path, its register blocks (STag table, connection table, events, counters) behind one AXI4-Lite port, interrupt",
    );
    m.param(
        "DATA_WIDTH",
        p.rx.data_width as u64,
        "stream and DMA data width in bits",
    );
    m.param(
        "AXIL_ADDR_WIDTH",
        p.axil_addr_bits as u64,
        "register port address bits (the map needs the low ones; above it: SLVERR)",
    );
    m.param(
        "EVENT_DEPTH",
        p.events.depth as u64,
        "events the event queue holds",
    );
    let (clk, rst) = m.clock_and_reset();

    let mut c_rx = Child::new(rx.clone(), "u_rx", &clk, &rst);
    let mut c_dec = Child::new(decode.clone(), "u_axil_decode", &clk, &rst);
    let mut c_arb = Child::new(arb.clone(), "u_stag_cmd_arb", &clk, &rst);
    let mut c_export = Child::new(export, "u_list_export", &clk, &rst);
    let mut c_mux = Child::new(dma_mux, "u_dma_mux", &clk, &rst);
    let mut blocks: Vec<(String, Child)> = Vec::new();
    for b in &map.blocks {
        let i = regs_modules
            .iter()
            .position(|(n, _)| *n == b.name)
            .ok_or_else(|| {
                Error::Design(format!(
                    "nic: register block `{}` has no module in the nic",
                    b.name
                ))
            })?;
        let (_, module) = regs_modules.remove(i);
        if module.name != b.module && module.name != format!("{}_{}", p.name, b.module) {
            return Err(Error::Design(format!(
                "nic: register block `{}` names module `{}` but `{}` was built",
                b.name, b.module, module.name
            )));
        }
        let inst = format!("u_{}", b.module);
        blocks.push((b.name.clone(), Child::new(module, &inst, &clk, &rst)));
    }
    if let Some((n, _)) = regs_modules.first() {
        return Err(Error::Design(format!(
            "nic: block `{n}` is not in the register map"
        )));
    }

    // ---- nic_rx: network, DMA and strap on the top; host side to the blocks ----
    let rx_ports: Vec<String> = rx.ports().map(|(s, _)| s.name.to_string()).collect();
    for n in &rx_ports {
        if n == "clk" || n == "rst" {
            continue;
        }
        if n.starts_with("s_axis_rx_") || n.starts_with("m_axis_tx_") || n == "nic_id" {
            expose(&mut m, &mut c_rx, n, n)?;
            continue;
        }
        if let Some(f) = n.strip_prefix("m_axi_") {
            link(
                &mut m,
                &format!("place_axi_{f}"),
                &mut c_rx,
                n,
                &mut c_mux,
                &format!("s0_axi_{f}"),
            )?;
            continue;
        }
        // The table's command and response go through the arbiter: nic_rx
        // to its m_ side, stag_regs to s0, the direct port to s1.
        let via_arb = ["stag_cmd_", "stag_resp_"]
            .iter()
            .find_map(|pre| n.strip_prefix(pre).map(|f| (&pre[5..], f)));
        if let Some((kind, f)) = via_arb {
            link(&mut m, n, &mut c_rx, n, &mut c_arb, &format!("m_{kind}{f}"))?;
            let (_, stag) = blocks
                .iter_mut()
                .find(|(b, _)| b == "STAG")
                .expect("STAG is in the map");
            link(
                &mut m,
                &format!("host_{kind}{f}"),
                &mut c_arb,
                &format!("s0_{kind}{f}"),
                stag,
                &format!("{kind}{f}"),
            )?;
            let top = if kind == "cmd_" {
                "s_direct_cmd_"
            } else {
                "m_direct_resp_"
            };
            expose(
                &mut m,
                &mut c_arb,
                &format!("s1_{kind}{f}"),
                &format!("{top}{f}"),
            )?;
            continue;
        }
        let (block, port) = host_route(n).ok_or_else(|| {
            Error::Design(format!("nic: `nic_rx` port `{n}` has no register block"))
        })?;
        let (_, child) = blocks
            .iter_mut()
            .find(|(b, _)| b == block)
            .expect("every routed block is in the map");
        link(&mut m, n, &mut c_rx, n, child, &port)?;
    }
    // ---- the register port: decoder to each block ----
    let dec_ports: Vec<String> = decode.ports().map(|(s, _)| s.name.to_string()).collect();
    for n in dec_ports.iter().filter(|n| n.starts_with("s_axil_")) {
        expose(&mut m, &mut c_dec, n, n)?;
    }
    for (name, child) in blocks.iter_mut() {
        let lname = name.to_lowercase();
        let prefix = format!("m_axil_{lname}_");
        for n in dec_ports.iter().filter(|n| n.starts_with(&prefix)) {
            let f = &n[prefix.len()..];
            link(
                &mut m,
                &format!("axil_{lname}_{f}"),
                &mut c_dec,
                n,
                child,
                &format!("s_axil_{f}"),
            )?;
        }
    }
    // ---- LIST_DMA: stag_regs -> list_export -> the DMA mux ----
    {
        let (_, stag) = blocks
            .iter_mut()
            .find(|(b, _)| b == "STAG")
            .expect("STAG is in the map");
        for n in stag.ports_with("export_") {
            let f = &n["export_".len()..];
            link(&mut m, &n, stag, &n, &mut c_export, f)?;
        }
        for n in stag.ports_with("m_axis_export_") {
            let f = &n["m_axis_export_".len()..];
            link(
                &mut m,
                &n,
                stag,
                &n,
                &mut c_export,
                &format!("s_axis_list_{f}"),
            )?;
        }
    }
    for n in c_export.ports_with("m_axi_") {
        let f = &n["m_axi_".len()..];
        link(
            &mut m,
            &format!("export_axi_{f}"),
            &mut c_export,
            &n,
            &mut c_mux,
            &format!("s1_axi_{f}"),
        )?;
    }
    for n in c_mux.ports_with("m_axi_") {
        expose(&mut m, &mut c_mux, &n, &n)?;
    }
    // ---- interrupt ----
    let (_, events) = blocks
        .iter_mut()
        .find(|(b, _)| b == "EVENTS")
        .expect("EVENTS is in the map");
    expose(&mut m, events, "irq", "irq")?;
    // ---- direct mode: miss events out, rejects in (docs/system.md) ----
    for n in event_regs_direct_ports(&events.module) {
        expose(&mut m, events, &n, &n)?;
    }

    c_rx.place(&mut m);
    c_dec.place(&mut m);
    c_arb.place(&mut m);
    c_export.place(&mut m);
    c_mux.place(&mut m);
    for (_, c) in blocks {
        c.place(&mut m);
    }
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elaborates_at_the_defaults_and_small() {
        elaborate(&NicParams::from_params(&Params::default())).unwrap();
        let p = Params::new([
            ("data-width", 64),
            ("connections", 4),
            ("rq-depth", 2),
            ("hold-stags", 2),
            ("hold-segments", 4),
        ])
        .unwrap();
        let mut np = NicParams::from_params(&p);
        np.events.depth = 2;
        let m = elaborate(&np).unwrap();
        assert_eq!(m.port("s_axil_awaddr").unwrap().0.width, 10);
        assert!(m.port("irq").is_some());
        assert!(m.port("stag_cmd_valid").is_none());
        np.axil_addr_bits = 16;
        let m = elaborate(&np).unwrap();
        assert_eq!(m.port("s_axil_araddr").unwrap().0.width, 16);
        np.axil_addr_bits = 9;
        assert_eq!(
            elaborate(&np).unwrap_err().to_string(),
            "design: nic `nic`: register port address width 9 must be from 10 (the register map) to 32"
        );
    }
}
