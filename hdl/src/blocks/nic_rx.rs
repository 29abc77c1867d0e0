//! `nic_rx`: the receive path of one NIC, from FPDUs in to checked
//! placement out (docs/nic_rx.md has the diagram and the contract).
//!
//! `mpa_rx` -> `rx_parse` -> payload FIFO + descriptor FIFO -> `rx_dispatch`
//! (connection and STag lookups, SPEC's checks, the hold queue's
//! bookkeeping) -> `rx_steer` (payload to placement or into the hold data
//! FIFO) -> `rx_place` (AXI4 writes, or the discard of a segment whose
//! invalidate bit is set); Terminates leave through `term_tx`. This module
//! only instantiates and wires; every decision is in the blocks.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::blocks::axis_fifo::{self, AxisFifoParams};
use crate::blocks::mpa_rx::{self, MpaRxParams};
use crate::blocks::rx_dispatch::{self, desc_layout, RxDispatchParams};
use crate::blocks::rx_parse::{self, RxParseParams};
use crate::blocks::rx_place::{self, RxPlaceParams};
use crate::blocks::rx_steer::{self, RxSteerParams};
use crate::blocks::term_tx::{self, TermTxParams};
use crate::iface::AxisSpec;
use crate::ir::{Dir, Expr, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Descriptors the descriptor FIFO holds.
pub const DESC_FIFO_DEPTH: u32 = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NicRxParams {
    pub name: String,
    pub data_width: u32,
    /// Largest payload (`--max-payload`), bytes.
    pub max_payload: u32,
    pub mpa: MpaRxParams,
    pub parse: RxParseParams,
    pub dispatch: RxDispatchParams,
    pub steer: RxSteerParams,
    pub place: RxPlaceParams,
    pub term: TermTxParams,
}

impl NicRxParams {
    pub fn from_params(p: &Params) -> Self {
        let mut mpa = MpaRxParams::from_params(p);
        mpa.name = "nic_mpa_rx".into();
        let mut parse = RxParseParams::from_params(p);
        parse.name = "nic_rx_parse".into();
        let mut dispatch = RxDispatchParams::from_params(p);
        dispatch.name = "nic_rx_dispatch".into();
        let mut steer = RxSteerParams::from_params(p);
        steer.name = "nic_rx_steer".into();
        let mut place = RxPlaceParams::from_params(p);
        place.name = "nic_rx_place".into();
        let mut term = TermTxParams::from_params(p);
        term.name = "nic_term_tx".into();
        NicRxParams {
            name: "nic_rx".into(),
            data_width: p.get32("data-width"),
            max_payload: p.get32("max-payload"),
            mpa,
            parse,
            dispatch,
            steer,
            place,
            term,
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        params::check("data-width", self.data_width as u64)?;
        params::check("max-payload", self.max_payload as u64)?;
        Ok(())
    }

    /// Payload FIFO words: two largest payloads, so one FPDU can arrive
    /// while the previous one is placed.
    pub fn payload_fifo_depth(&self) -> u32 {
        (2 * self.max_payload / (self.data_width / 8)).max(2)
    }
}

/// An instance being wired: its outputs become signals `<inst>_<port>`.
struct Wiring {
    module: Rc<Module>,
    inst: &'static str,
    outs: BTreeMap<String, Expr>,
}

impl Wiring {
    fn new(m: &mut ModuleBuilder, module: &Rc<Module>, inst: &'static str) -> Wiring {
        let mut outs = BTreeMap::new();
        for (s, d) in module.ports() {
            if d == Dir::Output {
                let e = m.signal(&format!("{inst}_{}", s.name), s.width, "");
                outs.insert(s.name.to_string(), e);
            }
        }
        Wiring {
            module: module.clone(),
            inst,
            outs,
        }
    }
    /// Output `port`.
    fn o(&self, port: &str) -> Expr {
        match self.outs.get(port) {
            Some(e) => e.clone(),
            None => panic!("`{}` has no output `{port}`", self.module.name),
        }
    }
    /// Instantiate with `inputs` (every input of the module, by name).
    fn place(self, m: &mut ModuleBuilder, inputs: Vec<(String, Expr)>) {
        let mut all: Vec<(String, Expr)> = inputs;
        all.extend(self.outs.into_iter());
        let conns: Vec<(&str, Expr)> = all.iter().map(|(n, e)| (n.as_str(), e.clone())).collect();
        m.instance(&self.module, self.inst, conns);
    }
}

fn s(name: &str, e: Expr) -> (String, Expr) {
    (name.to_string(), e)
}

pub fn elaborate(p: &NicRxParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let dwid = p.data_width;
    let bb = dwid / 8;
    let dl = desc_layout();
    let payload_spec = AxisSpec {
        data_width: dwid,
        keep: true,
        last: true,
        user_width: 0,
    };
    let desc_spec = AxisSpec {
        data_width: dl.width(),
        keep: false,
        last: false,
        user_width: 0,
    };
    let mpa = mpa_rx::elaborate(&p.mpa)?;
    let parse = rx_parse::elaborate(&p.parse)?;
    let pay_fifo = axis_fifo::elaborate(&AxisFifoParams {
        name: "nic_payload_fifo".into(),
        stream: payload_spec,
        depth: p.payload_fifo_depth(),
    })?;
    let desc_fifo = axis_fifo::elaborate(&AxisFifoParams {
        name: "nic_desc_fifo".into(),
        stream: desc_spec,
        depth: DESC_FIFO_DEPTH,
    })?;
    let hold_data = axis_fifo::elaborate(&AxisFifoParams {
        name: "nic_hold_data_fifo".into(),
        stream: payload_spec,
        depth: p.dispatch.hold_beats,
    })?;
    let hold_desc = axis_fifo::elaborate(&AxisFifoParams {
        name: "nic_hold_desc_fifo".into(),
        stream: desc_spec,
        depth: p.dispatch.hold_segments,
    })?;
    let dispatch = rx_dispatch::elaborate(&p.dispatch)?;
    let steer = rx_steer::elaborate(&p.steer)?;
    let place = rx_place::elaborate(&p.place)?;
    let term = term_tx::elaborate(&p.term)?;

    let mut m = ModuleBuilder::new(
        &p.name,
        "Receive path of one NIC: iWARP FPDUs in, checked placement by DMA out, Terminates, hold queue",
    );
    m.param(
        "DATA_WIDTH",
        dwid as u64,
        "stream and DMA data width in bits",
    );
    m.param(
        "MAX_PAYLOAD",
        p.max_payload as u64,
        "largest FPDU payload in bytes",
    );
    m.param(
        "PAYLOAD_FIFO_DEPTH",
        p.payload_fifo_depth() as u64,
        "payload FIFO words (two largest payloads)",
    );
    m.param(
        "DESC_FIFO_DEPTH",
        DESC_FIFO_DEPTH as u64,
        "descriptors waiting",
    );
    m.param(
        "HOLD_BEATS",
        p.dispatch.hold_beats as u64,
        "hold queue data words (--hold-bytes)",
    );
    m.param(
        "HOLD_SEGMENTS",
        p.dispatch.hold_segments as u64,
        "hold queue descriptors (--hold-segments)",
    );
    let (clk, rst) = m.clock_and_reset();
    let cr = || vec![s("clk", clk.clone()), s("rst", rst.clone())];

    // ---- children's outputs ----
    let w_mpa = Wiring::new(&mut m, &mpa, "u_mpa");
    let w_parse = Wiring::new(&mut m, &parse, "u_parse");
    let w_pay = Wiring::new(&mut m, &pay_fifo, "u_payload_fifo");
    let w_desc = Wiring::new(&mut m, &desc_fifo, "u_desc_fifo");
    let w_hdata = Wiring::new(&mut m, &hold_data, "u_hold_data_fifo");
    let w_hdesc = Wiring::new(&mut m, &hold_desc, "u_hold_desc_fifo");
    let w_disp = Wiring::new(&mut m, &dispatch, "u_dispatch");
    let w_steer = Wiring::new(&mut m, &steer, "u_steer");
    let w_place = Wiring::new(&mut m, &place, "u_place");
    let w_term = Wiring::new(&mut m, &term, "u_term");

    // ---- top ports that are a child's ports under another name ----
    // The wire: s_axis_rx_* is mpa_rx's s_axis_*.
    let mut mpa_in = cr();
    for (sg, d) in mpa.ports() {
        let n = sg.name.to_string();
        if let Some(f) = n.strip_prefix("s_axis_") {
            let top = format!("s_axis_rx_{f}");
            match d {
                Dir::Input => mpa_in.push((n, m.input(&top, sg.width, ""))),
                Dir::Output => {
                    let o = m.output(&top, sg.width, "");
                    m.assign(&o, w_mpa.o(&n));
                }
            }
        }
    }
    // Terminates: m_axis_tx_* is term_tx's m_axis_*; placement: rx_place's m_axi_*.
    let mut term_in = cr();
    let mut place_in = cr();
    for (child, ins, from, to) in [
        (&term, &mut term_in, "m_axis_", "m_axis_tx_"),
        (&place, &mut place_in, "m_axi_", "m_axi_"),
    ] {
        for (sg, d) in child.ports() {
            let n = sg.name.to_string();
            if let Some(f) = n.strip_prefix(from) {
                let top = format!("{to}{f}");
                match d {
                    Dir::Input => ins.push((n, m.input(&top, sg.width, ""))),
                    Dir::Output => {
                        let o = m.output(&top, sg.width, "");
                        let w = if std::ptr::eq(child, &term) {
                            &w_term
                        } else {
                            &w_place
                        };
                        m.assign(&o, w.o(&n));
                    }
                }
            }
        }
    }
    // Host side: rx_dispatch's host ports keep their names.
    let host_prefixes = [
        "nic_id",
        "stag_",
        "conn_",
        "m_miss_",
        "m_inval_",
        "s_reject_",
        "hold_",
        "cnt_",
    ];
    let mut disp_in = cr();
    for (sg, d) in dispatch.ports() {
        let n = sg.name.to_string();
        if host_prefixes.iter().any(|h| n.starts_with(h)) {
            match d {
                Dir::Input => disp_in.push((n.clone(), m.input(&n, sg.width, ""))),
                Dir::Output => {
                    let o = m.output(&n, sg.width, "");
                    m.assign(&o, w_disp.o(&n));
                }
            }
        }
    }
    let framing = m.output(
        "framing_error",
        1,
        "sticky: placement data disagreed with a descriptor (never expected)",
    );
    m.assign(&framing, w_place.o("framing_error"));

    // ---- mpa_rx -> rx_parse (rx_parse takes no tkeep: the MPA length says where data ends) ----
    mpa_in.push(s("m_axis_tready", w_parse.o("s_axis_tready")));
    m.unused(
        "mpa_tkeep",
        vec![w_mpa.o("m_axis_tkeep")],
        "rx_parse finds the FPDU's end from the MPA length, not tkeep",
    );
    let parse_in = {
        let mut v = cr();
        for f in ["tdata", "tvalid", "tlast", "tuser"] {
            v.push(s(&format!("s_axis_{f}"), w_mpa.o(&format!("m_axis_{f}"))));
        }
        v.push(s("m_axis_payload_tready", w_pay.o("s_axis_tready")));
        v.push(s("m_desc_ready", w_desc.o("s_axis_tready")));
        v
    };
    // ---- rx_parse -> payload FIFO, descriptor FIFO ----
    let mut pay_in = cr();
    for f in ["tdata", "tkeep", "tvalid", "tlast"] {
        pay_in.push(s(
            &format!("s_axis_{f}"),
            w_parse.o(&format!("m_axis_payload_{f}")),
        ));
    }
    pay_in.push(s("m_axis_tready", w_steer.o("s_axis_main_tready")));
    let desc_word = dl.pack(vec![
        w_parse.o("m_desc_count"),
        w_parse.o("m_desc_hdr"),
        w_parse.o("m_desc_mpa_len"),
        w_parse.o("m_desc_crc_ok"),
        w_parse.o("m_desc_length_ok"),
        w_parse.o("m_desc_conn"),
    ]);
    let mut desc_in = cr();
    desc_in.push(s("s_axis_tdata", desc_word));
    desc_in.push(s("s_axis_tvalid", w_parse.o("m_desc_valid")));
    desc_in.push(s("m_axis_tready", w_disp.o("s_desc_ready")));
    // ---- hold FIFOs ----
    let mut hdata_in = cr();
    for f in ["tdata", "tkeep", "tvalid", "tlast"] {
        hdata_in.push(s(
            &format!("s_axis_{f}"),
            w_steer.o(&format!("m_axis_hold_{f}")),
        ));
    }
    hdata_in.push(s("m_axis_tready", w_steer.o("s_axis_hold_tready")));
    let mut hdesc_in = cr();
    hdesc_in.push(s("s_axis_tdata", w_disp.o("m_hdesc_data")));
    hdesc_in.push(s("s_axis_tvalid", w_disp.o("m_hdesc_valid")));
    hdesc_in.push(s("m_axis_tready", w_disp.o("s_hdesc_ready")));
    // ---- rx_dispatch ----
    disp_in.extend([
        s("s_desc_valid", w_desc.o("m_axis_tvalid")),
        s("s_desc_data", w_desc.o("m_axis_tdata")),
        s("s_hdesc_valid", w_hdesc.o("m_axis_tvalid")),
        s("s_hdesc_data", w_hdesc.o("m_axis_tdata")),
        s("m_hdesc_ready", w_hdesc.o("s_axis_tready")),
        s("m_route_ready", w_steer.o("s_route_ready")),
        s("cap_valid", w_steer.o("cap_valid")),
        s("cap_data", w_steer.o("cap_data")),
        s("m_place_ready", w_place.o("s_desc_ready")),
        s("s_done_valid", w_place.o("m_done_valid")),
        s("s_done_tag", w_place.o("m_done_tag")),
        s("s_done_error", w_place.o("m_done_error")),
        s("m_term_ready", w_term.o("s_term_ready")),
    ]);
    // ---- rx_steer ----
    let mut steer_in = cr();
    for (f, from) in [
        ("s_route_valid", "m_route_valid"),
        ("s_route_src_hold", "m_route_src_hold"),
        ("s_route_dst_hold", "m_route_dst_hold"),
        ("s_route_capture", "m_route_capture"),
        ("cap_ready", "cap_ready"),
    ] {
        steer_in.push(s(f, w_disp.o(from)));
    }
    for f in ["tdata", "tkeep", "tvalid", "tlast"] {
        steer_in.push(s(
            &format!("s_axis_main_{f}"),
            w_pay.o(&format!("m_axis_{f}")),
        ));
        steer_in.push(s(
            &format!("s_axis_hold_{f}"),
            w_hdata.o(&format!("m_axis_{f}")),
        ));
    }
    steer_in.push(s("m_axis_place_tready", w_place.o("s_axis_data_tready")));
    steer_in.push(s("m_axis_hold_tready", w_hdata.o("s_axis_tready")));
    // ---- rx_place ----
    for (f, from) in [
        ("s_desc_valid", "m_place_valid"),
        ("s_desc_addr", "m_place_addr"),
        ("s_desc_len", "m_place_len"),
        ("s_desc_drop", "m_place_drop"),
        ("s_desc_tag", "m_place_tag"),
        ("m_done_ready", "s_done_ready"),
    ] {
        place_in.push(s(f, w_disp.o(from)));
    }
    for f in ["tdata", "tkeep", "tvalid", "tlast"] {
        place_in.push(s(
            &format!("s_axis_data_{f}"),
            w_steer.o(&format!("m_axis_place_{f}")),
        ));
    }
    // ---- term_tx ----
    for (sg, d) in term.ports() {
        let n = sg.name.to_string();
        if d == Dir::Input {
            if let Some(f) = n.strip_prefix("s_term_") {
                term_in.push((n.clone(), w_disp.o(&format!("m_term_{f}"))));
            }
        }
    }
    let _ = bb;

    w_mpa.place(&mut m, mpa_in);
    w_parse.place(&mut m, parse_in);
    w_pay.place(&mut m, pay_in);
    w_desc.place(&mut m, desc_in);
    w_hdata.place(&mut m, hdata_in);
    w_hdesc.place(&mut m, hdesc_in);
    w_disp.place(&mut m, disp_in);
    w_steer.place(&mut m, steer_in);
    w_place.place(&mut m, place_in);
    w_term.place(&mut m, term_in);
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elaborates_at_the_defaults_and_every_width() {
        for w in [64, 128, 256] {
            let p = Params::new([("data-width", w)]).unwrap();
            elaborate(&NicRxParams::from_params(&p)).unwrap();
        }
    }
}
