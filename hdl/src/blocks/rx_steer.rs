//! `rx_steer`: moves each segment's payload from where it waits to where the
//! verdict sends it.
//!
//! Sources: the payload FIFO (segments straight from the wire) and the hold
//! queue's data FIFO (parked segments being judged again). Destinations: the
//! placement DMA `rx_place` (which writes or, with the invalidate bit,
//! discards) and the hold data FIFO (parking). `rx_dispatch` pushes one
//! route per segment with payload, in the order it decides them; this block
//! executes the routes in that order, one packet (up to `tlast`) each, one
//! beat per clock, so the data reaches each destination in the order of
//! that destination's descriptors. A route can also *capture* the first 28
//! bytes of its packet (an erroneous Read Request, whose Terminate echoes
//! them); the next route waits until the capture is taken.
//!
//! The data path is combinational (valid and ready muxes); every source is
//! a FIFO with registered outputs and every destination's ready comes from
//! registers or from the AXI write channel, so no loop forms.

use std::rc::Rc;

use crate::iface::{AxisSpec, Side};
use crate::ir::{clog2, Expr, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Read Request payload bytes a capture keeps (RFC 5040 section 4.4).
pub const CAPTURE_BYTES: u32 = 28;
/// Routes queued (decided, data not yet moved).
pub const ROUTE_DEPTH: u32 = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxSteerParams {
    pub name: String,
    pub data_width: u32,
}

impl RxSteerParams {
    pub fn from_params(p: &Params) -> Self {
        RxSteerParams {
            name: "rx_steer".into(),
            data_width: p.get32("data-width"),
        }
    }
    pub fn validate(&self) -> Result<(), Error> {
        params::check("data-width", self.data_width as u64)?;
        Ok(())
    }
}

pub fn elaborate(p: &RxSteerParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let w = p.data_width;
    let bb = w / 8;
    let cap_beats = CAPTURE_BYTES.div_ceil(bb);
    let qb = clog2(ROUTE_DEPTH as u64);
    let mut m = ModuleBuilder::new(
        &p.name,
        "Payload router: wire FIFO or hold FIFO to placement or hold FIFO",
    );
    m.param("DATA_WIDTH", w as u64, "stream width in bits");
    m.clock_and_reset();

    let r_valid = m.input("s_route_valid", 1, "a route, one per segment with payload");
    let r_ready = m.output("s_route_ready", 1, "");
    let r_src_hold = m.input("s_route_src_hold", 1, "0: payload FIFO, 1: hold data FIFO");
    let r_dst_hold = m.input(
        "s_route_dst_hold",
        1,
        "0: rx_place, 1: hold data FIFO (park)",
    );
    let r_capture = m.input("s_route_capture", 1, "capture the first 28 bytes");
    let spec = AxisSpec {
        data_width: w,
        keep: true,
        last: true,
        user_width: 0,
    };
    let s_main = spec.ports(&mut m, "s_axis_main", Side::Subordinate);
    let s_hold = spec.ports(&mut m, "s_axis_hold", Side::Subordinate);
    let m_place = spec.ports(&mut m, "m_axis_place", Side::Manager);
    let m_hold = spec.ports(&mut m, "m_axis_hold", Side::Manager);
    let cap_valid = m.output_init("cap_valid", 1, 0, "a capture is complete");
    let cap_ready = m.input("cap_ready", 1, "");
    let cap_data = m.output(
        "cap_data",
        8 * CAPTURE_BYTES,
        "captured bytes, byte i in bits 8i+7:8i (zero past the packet's end)",
    );

    // ---- route queue (flip-flops: 3 bits x ROUTE_DEPTH) ----
    let q = m.memory("route_mem", 3, ROUTE_DEPTH, "{capture, dst_hold, src_hold}");
    let wr = m.reg("route_wr_reg", qb + 1, 0, "");
    let rd = m.reg("route_rd_reg", qb + 1, 0, "");
    let q_full = m.signal("route_full", 1, "");
    m.assign(
        &q_full,
        wr.bit(qb)
            .ne(rd.bit(qb))
            .land(wr.slice(qb - 1, 0).eq(rd.slice(qb - 1, 0))),
    );
    m.assign(&r_ready, q_full.lnot());
    let push = r_valid.land(q_full.lnot());
    m.sync("route queue: push", |b| {
        b.when(&push, |b| {
            b.mem_write(
                &q,
                wr.slice(qb - 1, 0),
                Expr::concat([r_capture.clone(), r_dst_hold.clone(), r_src_hold.clone()]),
            );
            b.assign(&wr, wr.inc());
        });
    });
    let head = m.signal("route_head", 3, "the route being executed");
    m.assign(&head, q.read(rd.slice(qb - 1, 0)));
    let (src_hold, dst_hold, capture) = (head.bit(0), head.bit(1), head.bit(2));
    let active = m.signal(
        "route_active",
        1,
        "a route is queued and no capture is held",
    );
    m.assign(&active, wr.ne(&rd).land(cap_valid.lnot()));

    // ---- data path ----
    let src_valid = Expr::mux(&src_hold, s_hold.sig("tvalid"), s_main.sig("tvalid"));
    let dst_ready = Expr::mux(&dst_hold, m_hold.sig("tready"), m_place.sig("tready"));
    let beat_data = m.signal("beat_data", w, "the source's beat");
    let beat_keep = m.signal("beat_keep", bb, "");
    let beat_last = m.signal("beat_last", 1, "");
    m.assign(
        &beat_data,
        Expr::mux(&src_hold, s_hold.sig("tdata"), s_main.sig("tdata")),
    );
    m.assign(
        &beat_keep,
        Expr::mux(&src_hold, s_hold.sig("tkeep"), s_main.sig("tkeep")),
    );
    m.assign(
        &beat_last,
        Expr::mux(&src_hold, s_hold.sig("tlast"), s_main.sig("tlast")),
    );
    for o in [&m_place, &m_hold] {
        m.assign(o.sig("tdata"), &beat_data);
        m.assign(o.sig("tkeep"), &beat_keep);
        m.assign(o.sig("tlast"), &beat_last);
    }
    m.assign(
        m_place.sig("tvalid"),
        active.land(dst_hold.lnot()).land(&src_valid),
    );
    m.assign(
        m_hold.sig("tvalid"),
        active.land(&dst_hold).land(&src_valid),
    );
    m.assign(
        s_main.sig("tready"),
        active.land(src_hold.lnot()).land(&dst_ready),
    );
    m.assign(
        s_hold.sig("tready"),
        active.land(&src_hold).land(&dst_ready),
    );
    let fire = m.signal("beat_fire", 1, "a beat moves this cycle");
    m.assign(&fire, active.land(&src_valid).land(&dst_ready));

    // ---- capture of the first CAPTURE_BYTES bytes ----
    let beat_idx_bits = clog2(cap_beats as u64 + 1).max(1);
    let beat_idx = m.reg(
        "beat_idx_reg",
        beat_idx_bits,
        0,
        "beats of the current packet moved, saturating past the capture",
    );
    let cap = m.signal("cap_reg", 8 * CAPTURE_BYTES, "");
    m.assign(&cap_data, &cap);
    m.sync("route pop, beat count and capture", |b| {
        b.when(&cap_ready, |b| b.assign(&cap_valid, Expr::lit(0, 1)));
        b.when(&fire, |b| {
            b.when(
                beat_idx.lt(Expr::lit(cap_beats as u128, beat_idx_bits)),
                |b| {
                    b.assign(&beat_idx, beat_idx.inc());
                },
            );
            b.when(&capture, |b| {
                b.when(beat_idx.eq_lit(0), |b| {
                    b.assign(&cap, Expr::zero(8 * CAPTURE_BYTES));
                });
                for j in 0..cap_beats {
                    // Bytes j*bb .. of the packet, as far as they are kept.
                    let lo = 8 * j * bb;
                    let hi = (8 * (j + 1) * bb).min(8 * CAPTURE_BYTES) - 1;
                    let nbytes = (hi + 1 - lo) / 8;
                    let mut kept = Vec::new();
                    for k in 0..nbytes {
                        kept.push(
                            beat_keep.bit(k).repl(8).clone() & beat_data.slice(8 * k + 7, 8 * k),
                        );
                    }
                    let bytes = Expr::concat(kept.into_iter().rev());
                    b.when(beat_idx.eq_lit(j as u128), |b| {
                        b.assign(&cap.slice(hi, lo), bytes.clone());
                    });
                }
            });
            b.when(&beat_last, |b| {
                b.assign(&rd, rd.inc());
                b.assign(&beat_idx, Expr::zero(beat_idx_bits));
                b.when(&capture, |b| b.assign(&cap_valid, Expr::lit(1, 1)));
            });
        });
    });
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elaborates_at_every_width() {
        for w in [64, 128, 256] {
            let mut p = RxSteerParams::from_params(&Params::default());
            p.data_width = w;
            elaborate(&p).unwrap();
        }
    }
}
