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

use crate::blocks::axil_decode::{self, AxilDecodeParams, Target};
use crate::blocks::conn_regs::{self, ConnRegsParams};
use crate::blocks::counter_regs::{self, CounterRegsParams};
use crate::blocks::event_regs::{self, EventRegsParams};
use crate::blocks::nic_rx::{self, NicRxParams};
use crate::blocks::stag_regs::{self, StagRegsParams};
use crate::ir::{Dir, Expr, Module, ModuleBuilder};
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
            stag_regs: StagRegsParams::from_params(p),
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

/// A child being wired: its connections by port name.
struct Child {
    module: Rc<Module>,
    inst: String,
    conns: Vec<(String, Expr)>,
}

impl Child {
    fn new(module: Rc<Module>, inst: &str, clk: &Expr, rst: &Expr) -> Child {
        Child {
            module,
            inst: inst.into(),
            conns: vec![("clk".into(), clk.clone()), ("rst".into(), rst.clone())],
        }
    }
    fn port(&self, name: &str) -> Result<(u32, Dir), Error> {
        self.module
            .port(name)
            .map(|(s, d)| (s.width, d))
            .ok_or_else(|| {
                Error::Design(format!("nic: `{}` has no port `{name}`", self.module.name))
            })
    }
    fn connect(&mut self, port: &str, e: Expr) {
        self.conns.push((port.to_string(), e));
    }
    fn place(self, m: &mut ModuleBuilder) {
        let conns: Vec<(&str, Expr)> = self
            .conns
            .iter()
            .map(|(n, e)| (n.as_str(), e.clone()))
            .collect();
        m.instance(&self.module, &self.inst, conns);
    }
}

/// Join port `pa` of `a` and port `pb` of `b` with a new wire `wire`: one
/// must be an output and the other an input, of one width.
fn link(
    m: &mut ModuleBuilder,
    wire: &str,
    a: &mut Child,
    pa: &str,
    b: &mut Child,
    pb: &str,
) -> Result<(), Error> {
    let (wa, da) = a.port(pa)?;
    let (wb, db) = b.port(pb)?;
    if wa != wb || da == db {
        return Err(Error::Design(format!(
            "nic: `{}.{pa}` ({wa} bits, {da:?}) cannot drive or take `{}.{pb}` ({wb} bits, {db:?})",
            a.module.name, b.module.name
        )));
    }
    let w = m.signal(wire, wa, "");
    a.connect(pa, w.clone());
    b.connect(pb, w);
    Ok(())
}

/// Make port `port` of `c` a port of the top with the name `top`.
fn expose(m: &mut ModuleBuilder, c: &mut Child, port: &str, top: &str) -> Result<(), Error> {
    let (w, d) = c.port(port)?;
    let e = match d {
        Dir::Input => m.input(top, w, ""),
        Dir::Output => m.output(top, w, ""),
    };
    c.connect(port, e);
    Ok(())
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

/// Build the module and its children.
pub fn elaborate(p: &NicParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let map = regmap::nic_map();
    map.validate()?;
    let rx = nic_rx::elaborate(&p.rx)?;
    let mut regs_modules: Vec<(&str, Rc<Module>)> = vec![
        ("STAG", stag_regs::elaborate(&p.stag_regs)?),
        ("CONN", conn_regs::elaborate(&p.conn_regs)?),
        ("EVENTS", event_regs::elaborate(&p.events)?),
        ("COUNTERS", counter_regs::elaborate(&p.counters)?),
    ];
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
        if module.name != b.module {
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
        if n.starts_with("s_axis_rx_")
            || n.starts_with("m_axis_tx_")
            || n.starts_with("m_axi_")
            || n == "nic_id"
        {
            expose(&mut m, &mut c_rx, n, n)?;
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
    // ---- interrupt ----
    let (_, events) = blocks
        .iter_mut()
        .find(|(b, _)| b == "EVENTS")
        .expect("EVENTS is in the map");
    expose(&mut m, events, "irq", "irq")?;

    c_rx.place(&mut m);
    c_dec.place(&mut m);
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
