//! `rx_parse`: splits each checked MPA FPDU (the output of `mpa_rx`) into a
//! header descriptor and its payload bytes.
//!
//! The DDP/RDMAP header (14 bytes tagged, 18 untagged, after the 2-byte MPA
//! length) is captured as raw bytes for the checks and for the Terminate
//! that may echo it. The payload (the ULPDU after that header, without pad
//! and CRC) leaves on `m_axis_payload` realigned to lane 0, so placement can
//! rotate it to any host address. The descriptor leaves with the payload's
//! last beat (or at the FPDU's end when it carries no payload): only then is
//! the CRC verdict known, so nothing downstream may act on the payload
//! before it (store and forward happens in the FIFO behind this block).
//!
//! Descriptor fields: `conn`, `length_ok` and `crc_ok` (from `mpa_rx`),
//! `mpa_len` (the ULPDU length field), `hdr` (FPDU bytes 2..19, byte 2 in
//! the most significant bits, as on the wire), and `count`: the payload
//! bytes this block emitted, which is the ULPDU length minus the header for
//! a well-formed FPDU and whatever was there for a broken one (such an FPDU
//! fails `length_ok` and is dropped, but its bytes must still be consumed).
//!
//! The payload FIFO behind this block stores a whole payload until its
//! descriptor arrives, so no FPDU may emit more than `MAX_PAYLOAD` bytes.
//! The cut is judged from the length field on beat 0 (the same number that
//! bounds the emission anyway): when the ULPDU length minus the header is
//! larger than `MAX_PAYLOAD`, only the first `MAX_PAYLOAD` payload bytes
//! leave (the packet ends with tlast on the beat holding the last of them),
//! the rest of the FPDU is consumed and dropped, and the descriptor, which
//! still leaves at the FPDU's end, has `length_ok` = 0 (answered as an MPA
//! length error) and `count` = the bytes emitted (`MAX_PAYLOAD` unless the
//! FPDU ended early). `count` never exceeds `MAX_PAYLOAD`.

use std::rc::Rc;

use crate::iface::{AxisSpec, Side};
use crate::ir::{Expr, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Bytes of the header captured: the largest DDP header (untagged, 18).
pub const HDR_BYTES: u32 = 18;
const COUNT_BITS: u32 = 17;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxParseParams {
    pub name: String,
    pub data_width: u32,
    pub conn_bits: u32,
    /// Largest payload emitted per FPDU, in bytes (a power of two); a
    /// longer FPDU is cut to it and fails `length_ok`.
    pub max_payload: u32,
}

impl RxParseParams {
    pub fn from_params(p: &Params) -> Self {
        RxParseParams {
            name: "rx_parse".into(),
            data_width: p.get32("data-width"),
            conn_bits: 16,
            max_payload: p.get32("max-payload"),
        }
    }
    pub fn validate(&self) -> Result<(), Error> {
        params::check("data-width", self.data_width as u64)?;
        params::check("max-payload", self.max_payload as u64)?;
        Ok(())
    }
}

pub fn elaborate(p: &RxParseParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let w = p.data_width;
    let lanes = w / 8;
    let mut m = ModuleBuilder::new(
        &p.name,
        "FPDU to header descriptor + payload realigned to lane 0",
    );
    m.param("DATA_WIDTH", w as u64, "stream width in bits");
    m.param("CONN_BITS", p.conn_bits as u64, "connection id width");
    m.param(
        "MAX_PAYLOAD",
        p.max_payload as u64,
        "largest payload emitted per FPDU in bytes; a longer one is cut to it, length_ok = 0",
    );
    m.clock_and_reset();
    // No tkeep: mpa_rx has checked the length, and the MPA length field
    // says where the payload ends.
    let in_spec = AxisSpec {
        data_width: w,
        keep: false,
        last: true,
        user_width: p.conn_bits + 2,
    };
    let s = in_spec.ports(&mut m, "s_axis", Side::Subordinate);
    let pay_spec = AxisSpec {
        data_width: w,
        keep: true,
        last: true,
        user_width: 0,
    };
    let o = pay_spec.ports(&mut m, "m_axis_payload", Side::Manager);
    let d_valid = m.output("m_desc_valid", 1, "");
    let d_ready = m.input("m_desc_ready", 1, "");
    let d_conn = m.output("m_desc_conn", p.conn_bits, "");
    let d_len_ok = m.output("m_desc_length_ok", 1, "MPA length consistent (mpa_rx)");
    let d_crc_ok = m.output("m_desc_crc_ok", 1, "CRC32c correct (mpa_rx)");
    let d_mpa_len = m.output("m_desc_mpa_len", 16, "ULPDU length field");
    let d_hdr = m.output(
        "m_desc_hdr",
        8 * HDR_BYTES,
        "FPDU bytes 2..19, wire order (byte 2 on top)",
    );
    let d_count = m.output(
        "m_desc_count",
        COUNT_BITS,
        "payload bytes emitted for this FPDU",
    );

    let (tdata, tvalid, tlast, tuser) = (
        s.sig("tdata").clone(),
        s.sig("tvalid").clone(),
        s.sig("tlast").clone(),
        s.sig("tuser").clone(),
    );
    let cb = p.conn_bits;

    // ---- per-FPDU state ----
    let first = m.reg("first_reg", 1, 1, "next beat starts an FPDU");
    let beat = m.reg("beat_reg", 3, 0, "index of the next beat, saturating at 7");
    let tagged_reg = m.signal("tagged_reg", 1, "T bit of this FPDU");
    let len_reg = m.signal("mpa_len_reg", 16, "");
    let cut_reg = m.signal(
        "cut_reg",
        1,
        "this FPDU's payload is longer than MAX_PAYLOAD",
    );
    // Only the bytes at or above the smaller nonzero shift of the previous
    // beat are ever used (all of it when a shift is zero).
    let (s_t0, s_u0) = (16 % (w / 8), 20 % (w / 8));
    let prev_lo = if s_t0 == 0 || s_u0 == 0 {
        0
    } else {
        8 * s_t0.min(s_u0)
    };
    let prev = m.signal(
        "prev_reg",
        w - prev_lo,
        "the previous beat (the bytes that can be used)",
    );
    let emitted = m.reg("emitted_reg", COUNT_BITS, 0, "payload bytes emitted so far");
    let hdr: Vec<Expr> = (0..HDR_BYTES)
        .map(|j| m.signal(&format!("hdr_{j}_reg"), 8, ""))
        .collect();
    let flushing = m.reg(
        "flushing_reg",
        1,
        0,
        "emitting the last beat's tail after tlast",
    );

    let out_valid = m.reg("out_valid_reg", 1, 0, "");
    let out_data = m.signal("out_data_reg", w, "");
    let out_keep = m.signal("out_keep_reg", lanes, "");
    let out_last = m.signal("out_last_reg", 1, "");
    let desc_valid = m.reg("desc_valid_reg", 1, 0, "");
    let desc_conn = m.signal("desc_conn_reg", cb, "");
    let desc_len_ok = m.signal("desc_length_ok_reg", 1, "");
    let desc_crc_ok = m.signal("desc_crc_ok_reg", 1, "");
    let desc_mpa_len = m.signal("desc_mpa_len_reg", 16, "");
    let desc_hdr = m.signal("desc_hdr_reg", 8 * HDR_BYTES, "");
    let desc_count = m.signal("desc_count_reg", COUNT_BITS, "");

    let out_free = m.signal("out_free", 1, "the output register can load this cycle");
    m.assign(&out_free, out_valid.lnot().lor(o.sig("tready")));
    let desc_free = m.signal("desc_free", 1, "");
    m.assign(&desc_free, desc_valid.lnot().lor(&d_ready));
    let take = m.signal("take", 1, "an input beat moves in");
    m.assign(
        s.sig("tready"),
        out_free.land(&desc_free).land(flushing.lnot()),
    );
    m.assign(&take, tvalid.land(s.sig("tready")));

    // ---- what beat 0 says, usable in the same beat ----
    let byte = |e: &Expr, i: u32| e.slice(8 * i + 7, 8 * i);
    let at_first = m.signal(
        "at_first",
        1,
        "the input beat is beat 0 (not while flushing)",
    );
    m.assign(&at_first, first.land(flushing.lnot()));
    let tagged = m.signal("is_tagged", 1, "T bit (FPDU byte 2, bit 7)");
    m.assign(
        &tagged,
        Expr::mux(&at_first, tdata.bit(23), tagged_reg.clone()),
    );
    let mpa_len = m.signal("mpa_len", 16, "");
    m.assign(
        &mpa_len,
        Expr::mux(
            &at_first,
            Expr::concat([byte(&tdata, 0), byte(&tdata, 1)]),
            len_reg.clone(),
        ),
    );
    // Payload offset in the FPDU: 2 + 14 (tagged) or 2 + 18 (untagged).
    let (off_t, off_u) = (16u32, 20u32);
    let (s_t, s_u) = (off_t % lanes, off_u % lanes);
    let (b0_t, b0_u) = (off_t / lanes, off_u / lanes);
    // Only needed at beat 0, so taken straight from the beat: one
    // subtraction whose borrow says "shorter than the header".
    let len_in = Expr::concat([byte(&tdata, 0), byte(&tdata, 1)]);
    let hdr_len = Expr::mux(
        tdata.bit(23),
        Expr::lit(14, COUNT_BITS),
        Expr::lit(18, COUNT_BITS),
    );
    let diff = m.signal(
        "len_minus_hdr",
        COUNT_BITS,
        "ULPDU length minus the header, borrow on top",
    );
    m.assign(&diff, len_in.zext(COUNT_BITS) - hdr_len);
    // Longer than MAX_PAYLOAD: the length field against two constants,
    // side by side with the subtraction rather than after it.
    let max = p.max_payload;
    let too_long = m.signal(
        "too_long",
        1,
        "beat 0: ULPDU length minus the header > MAX_PAYLOAD",
    );
    m.assign(
        &too_long,
        Expr::mux(
            tdata.bit(23),
            len_in.gt(Expr::lit((max + 14) as u128, 16)),
            len_in.gt(Expr::lit((max + 18) as u128, 16)),
        ),
    );
    let cut = m.signal(
        "cut",
        1,
        "this FPDU's payload is cut to MAX_PAYLOAD, from beat 0 on",
    );
    m.assign(
        &cut,
        Expr::mux(&at_first, too_long.clone(), cut_reg.clone()),
    );
    let plen = m.signal(
        "payload_len",
        COUNT_BITS,
        "payload bytes to emit: ULPDU length minus the header (0 if shorter), at most MAX_PAYLOAD",
    );
    m.assign(
        &plen,
        Expr::mux(
            &too_long,
            Expr::lit(max as u128, COUNT_BITS),
            Expr::mux(
                diff.bit(COUNT_BITS - 1),
                Expr::zero(COUNT_BITS),
                diff.clone(),
            ),
        ),
    );
    // Payload bytes not yet emitted: loaded at beat 0, counted down, so no
    // chain of subtractions sits between a register and the next.
    let rem = m.reg(
        "remaining_reg",
        COUNT_BITS,
        0,
        "payload bytes not yet emitted",
    );
    let remaining = m.signal(
        "remaining",
        COUNT_BITS,
        "payload bytes not yet emitted, from beat 0 on",
    );
    m.assign(&remaining, Expr::mux(&at_first, plen.clone(), rem.clone()));
    // Out beat j is FPDU bytes [off + jB, off + (j+1)B): the top of the
    // previous beat and the bottom of this one, ready when beat b0 + j + 1
    // arrives; the payload starts once the beat index passes b0.
    let b0 = Expr::mux(
        &tagged,
        Expr::lit(b0_t as u128, 3),
        Expr::lit(b0_u as u128, 3),
    );
    let started = m.signal("started", 1, "this beat completes a payload beat");
    m.assign(&started, beat.gt(b0.clone()));
    // Bits [w-1 : 8sh] of the previous beat, from the stored part.
    let prev_top = |sh: u32| prev.slice(w - 1 - prev_lo, 8 * sh - prev_lo);
    let joined = |sh: u32| {
        if sh == 0 {
            prev.clone()
        } else {
            Expr::concat([tdata.slice(8 * sh - 1, 0), prev_top(sh)])
        }
    };
    let shifted = m.signal("shifted", w, "the payload beat this beat completes");
    m.assign(&shifted, Expr::mux(&tagged, joined(s_t), joined(s_u)));
    // The last beat's own tail, for the flush after tlast.
    let tail = |sh: u32| {
        if sh == 0 {
            prev.clone()
        } else {
            Expr::concat([Expr::zero(8 * sh), prev_top(sh)])
        }
    };
    let tail_bytes = Expr::mux(
        &tagged_reg,
        Expr::lit((lanes - s_t) as u128, COUNT_BITS),
        Expr::lit((lanes - s_u) as u128, COUNT_BITS),
    );

    let min_b = |x: &Expr, cap: Expr| Expr::mux(x.lt(cap.clone()), x.clone(), cap);
    let emit = m.signal("emit", 1, "this beat completes a payload beat");
    // A payload beat is never completed at beat 0, so `rem` holds here.
    m.assign(&emit, started.land(rem.ne(Expr::zero(COUNT_BITS))));
    let n_now = m.signal("n_now", COUNT_BITS, "payload bytes in that beat");
    // B is a power of two: comparisons with it are ORs of the high bits,
    // not carry chains (this path set the block's Fmax).
    let k = lanes.trailing_zeros();
    let rem_ge_b = m.signal("rem_ge_b", 1, "remaining_reg >= B");
    m.assign(&rem_ge_b, rem.slice(COUNT_BITS - 1, k).red_or());
    let rem_gt_b = m.signal("rem_gt_b", 1, "remaining_reg > B");
    m.assign(
        &rem_gt_b,
        rem.slice(COUNT_BITS - 1, k + 1)
            .red_or()
            .lor(rem.bit(k).land(rem.slice(k - 1, 0).red_or())),
    );
    m.assign(
        &n_now,
        Expr::mux(&rem_ge_b, Expr::lit(lanes as u128, COUNT_BITS), rem.clone()),
    );
    let rem_less_b = Expr::concat([rem.slice(COUNT_BITS - 1, k).dec(), rem.slice(k - 1, 0)]);
    let after = m.signal(
        "remaining_after",
        COUNT_BITS,
        "payload bytes left after this beat",
    );
    m.assign(
        &after,
        Expr::mux(
            &emit,
            Expr::mux(&rem_ge_b, rem_less_b, Expr::zero(COUNT_BITS)),
            remaining.clone(),
        ),
    );
    // After tlast the last beat still holds payload when it is at or past
    // b0 and bytes remain; a broken FPDU that promised more gets its tail
    // (garbage, to be dropped) so the packet still ends with tlast. A cut
    // FPDU ends its packet once MAX_PAYLOAD bytes are out; its remaining
    // beats are consumed like the surplus of an FPDU longer than its
    // length field.
    let needs_flush = m.signal("needs_flush", 1, "");
    let at_or_past_b0 = if b0_t == 0 && b0_u == 0 {
        Expr::lit(1, 1)
    } else {
        beat.ge(b0)
    };
    let left = Expr::mux(
        &emit,
        rem_gt_b.clone(),
        remaining.ne(Expr::zero(COUNT_BITS)),
    );
    m.assign(&needs_flush, at_or_past_b0.land(left));
    let flush_n = m.signal("flush_n", COUNT_BITS, "");
    m.assign(&flush_n, min_b(&rem, tail_bytes));

    let keep_of = |n: &Expr| {
        Expr::concat(
            (0..lanes)
                .rev()
                .map(|i| n.gt(Expr::lit(i as u128, COUNT_BITS))),
        )
    };

    // Header bytes as they stand after this beat: FPDU byte j + 2 sits in
    // beat (j + 2) / B, lane (j + 2) % B.
    let hdr_now: Vec<Expr> = (0..HDR_BYTES)
        .map(|j| {
            let k = j + 2;
            let (bj, lj) = (k / lanes, k % lanes);
            Expr::mux(
                beat.eq_lit(bj as u128),
                byte(&tdata, lj),
                hdr[j as usize].clone(),
            )
        })
        .collect();
    let hdr_packed = Expr::concat(hdr_now.iter().cloned());

    m.sync("split the FPDU", |b| {
        b.when(o.sig("tready"), |b| b.assign(&out_valid, Expr::zero(1)));
        b.when(&d_ready, |b| b.assign(&desc_valid, Expr::zero(1)));
        b.when(&take, |b| {
            b.assign(&prev, tdata.slice(w - 1, prev_lo));
            b.assign(&first, &tlast);
            b.assign(
                &beat,
                Expr::mux(
                    &tlast,
                    Expr::zero(3),
                    Expr::mux(beat.eq_lit(7), beat.clone(), beat.inc()),
                ),
            );
            b.when(&first, |b| {
                b.assign(&tagged_reg, &tagged);
                b.assign(&len_reg, &mpa_len);
                b.assign(&cut_reg, &too_long);
            });
            b.assign(&rem, &after);
            for (j, h) in hdr.iter().enumerate() {
                b.assign(h, &hdr_now[j]);
            }
            b.when(&emit, |b| {
                b.assign(&out_valid, Expr::lit(1, 1));
                b.assign(&out_data, &shifted);
                b.assign(&out_keep, keep_of(&n_now));
                b.assign(&out_last, rem_gt_b.lnot());
                b.assign(&emitted, emitted.clone() + n_now.clone());
            });
            b.when(&tlast, |b| {
                b.assign(&desc_conn, tuser.slice(cb - 1, 0));
                b.assign(&desc_len_ok, tuser.bit(cb + 1).land(cut.lnot()));
                b.assign(&desc_crc_ok, tuser.bit(cb));
                b.assign(&desc_mpa_len, &mpa_len);
                b.assign(&desc_hdr, hdr_packed.clone());
                b.if_else(
                    &needs_flush,
                    |b| b.assign(&flushing, Expr::lit(1, 1)),
                    |b| {
                        b.assign(&desc_valid, Expr::lit(1, 1));
                        b.assign(
                            &desc_count,
                            Expr::mux(&emit, emitted.clone() + n_now.clone(), emitted.clone()),
                        );
                        b.assign(&emitted, Expr::zero(COUNT_BITS));
                    },
                );
            });
        });
        // The flush: the tail of the last beat, then the descriptor.
        b.when(flushing.land(&out_free).land(&desc_free), |b| {
            b.assign(&out_valid, Expr::lit(1, 1));
            b.assign(&out_data, Expr::mux(&tagged_reg, tail(s_t), tail(s_u)));
            b.assign(&out_keep, keep_of(&flush_n));
            b.assign(&out_last, Expr::lit(1, 1));
            b.assign(&desc_valid, Expr::lit(1, 1));
            b.assign(&desc_count, emitted.clone() + flush_n.clone());
            b.assign(&emitted, Expr::zero(COUNT_BITS));
            b.assign(&flushing, Expr::zero(1));
        });
    });

    m.assign(o.sig("tdata"), &out_data);
    m.assign(o.sig("tkeep"), &out_keep);
    m.assign(o.sig("tvalid"), &out_valid);
    m.assign(o.sig("tlast"), &out_last);
    m.assign(&d_valid, &desc_valid);
    m.assign(&d_conn, &desc_conn);
    m.assign(&d_len_ok, &desc_len_ok);
    m.assign(&d_crc_ok, &desc_crc_ok);
    m.assign(&d_mpa_len, &desc_mpa_len);
    m.assign(&d_hdr, &desc_hdr);
    m.assign(&d_count, &desc_count);
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emit::verilog::emit_module;

    fn params() -> RxParseParams {
        RxParseParams::from_params(&Params::default())
    }

    #[test]
    fn max_payload_is_a_power_of_two_in_range() {
        for bad in [0, 32, 100, 4095, 32768] {
            let p = RxParseParams {
                max_payload: bad,
                ..params()
            };
            assert!(elaborate(&p).is_err(), "max_payload {bad} accepted");
        }
        for good in [64, 16384] {
            let p = RxParseParams {
                max_payload: good,
                ..params()
            };
            let v = emit_module(&elaborate(&p).unwrap());
            assert!(
                v.contains(&format!("MAX_PAYLOAD = {good}")),
                "MAX_PAYLOAD {good} missing from the header"
            );
        }
    }
}
