//! `term_tx`: turns one terminate request into one MPA FPDU carrying an
//! RDMAP Terminate message (RFC 5040 section 4.8) on `m_axis`, byte for
//! byte as `sim::iwarp::frames` encodes it (and as Linux siw and
//! Wireshark lay it out):
//!
//! ```text
//! MPA length(16) | DDP untagged header, 18 bytes: control 0x41 0x47
//! (T 0, L 1, DV 1, RV 1, opcode 7), reserved for the ULP 0, QN 2, MSN, MO 0
//! | Terminate control: layer(4) etype(4) ecode(8) M D R(3) rsvd(13)
//! | [D: DDP segment length(16) + offending DDP header, 14 or 18 bytes]
//! | [R: offending RDMA Read Request header, 28 bytes] | CRC32c
//! ```
//!
//! Every part is a multiple of four bytes long once the 2-byte MPA length
//! is counted, so the pad is always empty: the FPDU is 28, 44, 48, 56, 72
//! or 76 bytes. The block is stateless (the caller keeps the MSN of queue 2
//! per connection) and takes one request at a time: the request is
//! assembled into a frame register, then streamed out one beat per cycle
//! while the CRC32c runs over the beats sent; the last beat carries the
//! complemented CRC, least significant byte first, as `mpa_rx` checks it.
//! All stream outputs come from registers. See docs/term_tx.md.

use std::rc::Rc;

use crate::blocks::crc32c;
use crate::iface::{AxisSpec, Side};
use crate::ir::{Expr, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Bytes of the Terminate's own DDP untagged header.
pub const DDP_UNTAGGED_HDR: u32 = 18;
/// Bytes of an offending tagged DDP header.
pub const DDP_TAGGED_HDR: u32 = 14;
/// Terminate control word.
pub const TERM_CTRL: u32 = 4;
/// DDP segment length field in front of the offending DDP header.
pub const SEG_LEN: u32 = 2;
/// Offending RDMA Read Request header (after its own DDP header).
pub const READ_REQUEST: u32 = 28;
/// Queue number of Terminate messages.
pub const QN_TERMINATE: u128 = 2;
/// DDP control byte (T 0, L 1, DDP version 1) and RDMAP control byte
/// (RDMAP version 1, opcode 7 Terminate).
pub const DDP_CTRL: u128 = 0x41;
pub const RDMAP_CTRL: u128 = 0x47;

/// ULPDU length of a Terminate with (D, tagged header, R).
pub fn ulpdu_len(d: bool, tagged: bool, r: bool) -> u32 {
    let dpart = match (d, tagged) {
        (false, _) => 0,
        (true, true) => SEG_LEN + DDP_TAGGED_HDR,
        (true, false) => SEG_LEN + DDP_UNTAGGED_HDR,
    };
    DDP_UNTAGGED_HDR + TERM_CTRL + dpart + if r { READ_REQUEST } else { 0 }
}

/// FPDU length (MPA length, ULPDU, pad, CRC) of a Terminate with (D, tagged, R).
pub fn fpdu_len(d: bool, tagged: bool, r: bool) -> u32 {
    (2 + ulpdu_len(d, tagged, r)).next_multiple_of(4) + 4
}

/// Every (D, tagged, R) the request can ask for (tagged only matters with D).
fn shapes() -> [(bool, bool, bool); 6] {
    [
        (false, false, false),
        (false, false, true),
        (true, true, false),
        (true, true, true),
        (true, false, false),
        (true, false, true),
    ]
}

/// Bytes before the CRC in the longest FPDU.
const FRAME_BYTES: u32 =
    2 + DDP_UNTAGGED_HDR + TERM_CTRL + SEG_LEN + DDP_UNTAGGED_HDR + READ_REQUEST;
/// Bits of the byte counter (the longest FPDU is 76 bytes), as wide as
/// the ULPDU length it starts from.
const LEFT_BITS: u32 = 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TermTxParams {
    pub name: String,
    pub data_width: u32,
    /// Width of the connection id (request and `tuser`).
    pub conn_bits: u32,
}

impl TermTxParams {
    pub fn from_params(p: &Params) -> Self {
        TermTxParams {
            name: "term_tx".into(),
            data_width: p.get32("data-width"),
            conn_bits: 16,
        }
    }
    pub fn validate(&self) -> Result<(), Error> {
        params::check("data-width", self.data_width as u64)?;
        Ok(())
    }

    /// Valid bytes of the last beat for each FPDU shape this width can
    /// produce (each a multiple of 4), ascending, without repeats.
    pub fn last_beat_sizes(&self) -> Vec<u32> {
        let lanes = self.data_width / 8;
        let mut v: Vec<u32> = shapes()
            .iter()
            .map(|&(d, t, r)| (fpdu_len(d, t, r) - 1) % lanes + 1)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// `e` (a signal, a whole number of bytes) in network order on the bus:
/// its most significant byte in the lowest lane.
fn network_order(e: &Expr) -> Expr {
    let n = e.width() / 8;
    Expr::concat((0..n).map(|i| e.slice(8 * i + 7, 8 * i)))
}

pub fn elaborate(p: &TermTxParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    // The pad is empty for every shape; the datapath below relies on it.
    for (d, t, r) in shapes() {
        assert_eq!(
            (2 + ulpdu_len(d, t, r)) % 4,
            0,
            "Terminate shape D {d} tagged {t} R {r} needs a pad"
        );
    }
    let w = p.data_width;
    let lanes = w / 8;
    let frame_bits = 8 * FRAME_BYTES;
    // The frame register: whole beats, zeros above the frame.
    let reg_bits = frame_bits.div_ceil(w) * w;

    let mut m = ModuleBuilder::new(
        &p.name,
        "RDMAP Terminate FPDU (MPA + DDP + RDMAP, CRC32c) from a terminate request",
    );
    m.param("DATA_WIDTH", w as u64, "stream width in bits");
    m.param(
        "CONN_BITS",
        p.conn_bits as u64,
        "connection id width (request and tuser)",
    );
    m.clock_and_reset();

    // Request (valid/ready).
    let req_valid = m.input("s_term_valid", 1, "a terminate request");
    let req_ready = m.output("s_term_ready", 1, "idle: the request is taken");
    let req_conn = m.input("s_term_conn", p.conn_bits, "connection id, sent as tuser");
    let req_msn = m.input("s_term_msn", 32, "MSN of queue 2 for this Terminate");
    let req_layer = m.input("s_term_layer", 4, "0 RDMAP, 1 DDP, 2 LLP");
    let req_etype = m.input("s_term_etype", 4, "error type");
    let req_ecode = m.input("s_term_ecode", 8, "error code");
    let req_hdr_valid = m.input(
        "s_term_hdr_valid",
        1,
        "D (and M): DDP segment length and offending DDP header included",
    );
    let req_hdr_tagged = m.input(
        "s_term_hdr_tagged",
        1,
        "offending header is tagged (14 bytes) or untagged (18); equals its T bit",
    );
    let req_seg_len = m.input("s_term_seg_len", 16, "DDP segment length field");
    let req_hdr = m.input(
        "s_term_hdr",
        8 * DDP_UNTAGGED_HDR,
        "offending DDP/RDMAP header as received, byte i in bits 8i+7:8i",
    );
    let req_rreq_valid = m.input(
        "s_term_rreq_valid",
        1,
        "R: offending RDMA Read Request header included",
    );
    let req_rreq = m.input(
        "s_term_rreq",
        8 * READ_REQUEST,
        "offending Read Request header as received, byte i in bits 8i+7:8i",
    );

    let spec = AxisSpec {
        data_width: w,
        keep: true,
        last: true,
        user_width: p.conn_bits,
    };
    let o = spec.ports(&mut m, "m_axis", Side::Manager);

    // ---- Frame assembly (combinational, from the request) ----
    let d = req_hdr_valid.clone();
    let r = req_rreq_valid.clone();
    let tagged = req_hdr_tagged.clone();
    let ulpdu = m.signal("ulpdu_len", 8, "ULPDU length of the requested Terminate");
    let lit8 = |v: u32| Expr::lit(v as u128, 8);
    m.assign(
        &ulpdu,
        lit8(ulpdu_len(false, false, false))
            + d.gate(&Expr::mux(
                &tagged,
                lit8(SEG_LEN + DDP_TAGGED_HDR),
                lit8(SEG_LEN + DDP_UNTAGGED_HDR),
            ))
            + r.gate(&lit8(READ_REQUEST)),
    );
    // Fixed part: MPA length, DDP header, Terminate control (24 bytes).
    let fixed = Expr::concat([
        // bytes 20..23: layer|etype, ecode, M D R + reserved, reserved
        Expr::zero(8),
        Expr::concat([d.clone(), d.clone(), r.clone(), Expr::zero(5)]),
        req_ecode.clone(),
        Expr::concat([req_layer.clone(), req_etype.clone()]),
        // bytes 16..19: MO 0
        Expr::zero(32),
        // bytes 12..15: MSN
        network_order(&req_msn),
        // bytes 8..11: QN 2
        Expr::concat([Expr::lit(QN_TERMINATE, 8), Expr::zero(24)]),
        // bytes 4..7: reserved for the ULP
        Expr::zero(32),
        // bytes 0..3: MPA length (high byte 0), DDP control, RDMAP control
        Expr::lit(RDMAP_CTRL, 8),
        Expr::lit(DDP_CTRL, 8),
        ulpdu.clone(),
        Expr::zero(8),
    ]);
    let fixed_bits = 8 * (2 + DDP_UNTAGGED_HDR + TERM_CTRL);
    let tail_bits = frame_bits - fixed_bits;
    let seg_len = network_order(&req_seg_len);
    let dpart_bits = 8 * (SEG_LEN + DDP_UNTAGGED_HDR);
    let dpart = m.signal(
        "ddp_part",
        dpart_bits,
        "D: segment length + offending DDP header (tagged: 14 bytes, zeros after)",
    );
    m.assign(
        &dpart,
        d.gate(&Expr::mux(
            &tagged,
            Expr::concat([
                Expr::zero(8 * (DDP_UNTAGGED_HDR - DDP_TAGGED_HDR)),
                req_hdr.slice(8 * DDP_TAGGED_HDR - 1, 0),
                seg_len.clone(),
            ]),
            Expr::concat([req_hdr.clone(), seg_len]),
        )),
    );
    // The Read Request header follows the D part (0, 16 or 20 bytes).
    let rreq_at = |offset_bytes: u32| {
        Expr::concat([
            Expr::zero(tail_bits - 8 * READ_REQUEST - 8 * offset_bytes),
            req_rreq.clone(),
            Expr::zero(8 * offset_bytes),
        ])
    };
    let rpart = m.signal(
        "rreq_part",
        tail_bits,
        "R: Read Request header after the D part",
    );
    m.assign(
        &rpart,
        r.gate(&Expr::mux(
            &d,
            Expr::mux(
                &tagged,
                rreq_at(SEG_LEN + DDP_TAGGED_HDR),
                rreq_at(SEG_LEN + DDP_UNTAGGED_HDR),
            ),
            rreq_at(0),
        )),
    );
    let frame_next = m.signal(
        "frame_next",
        reg_bits,
        "the FPDU without its CRC, byte i in bits 8i+7:8i, zeros after it",
    );
    m.assign(
        &frame_next,
        Expr::concat([
            Expr::zero(reg_bits - frame_bits),
            dpart.zext(tail_bits) | rpart.clone(),
            fixed,
        ]),
    );

    // ---- Streaming ----
    let busy = m.reg("busy_reg", 1, 0, "a Terminate is being sent");
    let frame = m.signal(
        "frame_reg",
        reg_bits,
        "bytes not yet sent, the next beat in the low bits",
    );
    let left = m.signal(
        "left_reg",
        LEFT_BITS,
        "bytes of the FPDU not yet sent, CRC included",
    );
    let crc = m.signal("crc_reg", 32, "CRC32c state over the bytes sent");
    let conn = m.signal("conn_reg", p.conn_bits, "connection id of this Terminate");
    let out_valid = m.reg("out_valid_reg", 1, 0, "");
    let out_data = m.signal("out_data_reg", w, "");
    let out_keep = m.signal("out_keep_reg", lanes, "");
    let out_last = m.signal("out_last_reg", 1, "");
    let out_user = m.signal("out_user_reg", p.conn_bits, "");

    let accept = m.signal("accept", 1, "a request is taken");
    m.assign(&req_ready, busy.lnot());
    m.assign(&accept, req_valid.land(busy.lnot()));
    let advance = m.signal("advance", 1, "the next beat moves into the output register");
    m.assign(&advance, busy.land(out_valid.lnot().lor(o.sig("tready"))));

    let beat = m.signal("beat", w, "the next beat's frame bytes");
    m.assign(&beat, frame.slice(w - 1, 0));
    let is_last = m.signal("is_last", 1, "the next beat ends the FPDU");
    m.assign(&is_last, left.le(Expr::lit(lanes as u128, LEFT_BITS)));
    let crc_full = m.signal("crc_full", 32, "CRC state after a full beat");
    m.assign(&crc_full, crc32c::update(&crc, &beat, lanes));

    // Last beat: n bytes, of which the last four are the complemented CRC
    // of everything before them. Only the sizes the six shapes give at
    // this width are built.
    let mut crc_legs = Vec::new();
    let mut keep_legs = Vec::new();
    for n in p.last_beat_sizes() {
        let is_n = m.signal(&format!("last_is_{n}"), 1, "");
        m.assign(&is_n, left.eq(Expr::lit(n as u128, LEFT_BITS)));
        let state = if n == 4 {
            crc.clone()
        } else {
            let s = m.signal(
                &format!("crc_before_{n}"),
                32,
                &format!("CRC state over this beat's first {} bytes", n - 4),
            );
            m.assign(&s, crc32c::update(&crc, &beat, n - 4));
            s
        };
        let field = Expr::concat([Expr::zero(w - 8 * n), !state, Expr::zero(8 * (n - 4))]);
        crc_legs.push(is_n.gate(&field));
        keep_legs.push(is_n.gate(&Expr::lit((1u128 << n) - 1, lanes)));
    }
    let or_all = |v: Vec<Expr>| {
        v.into_iter()
            .reduce(|a, b| a | b)
            .expect("one size at least")
    };
    let last_data = m.signal("last_data", w, "the last beat: frame bytes and CRC");
    m.assign(&last_data, beat.clone() | or_all(crc_legs));
    let last_keep = m.signal("last_keep", lanes, "");
    m.assign(&last_keep, or_all(keep_legs));

    m.sync("take a request, stream its FPDU", |b| {
        b.when(o.sig("tready"), |b| b.assign(&out_valid, Expr::zero(1)));
        b.when(&advance, |b| {
            b.assign(&out_valid, Expr::lit(1, 1));
            b.assign(&out_user, &conn);
            b.assign(&out_last, &is_last);
            b.if_else(
                &is_last,
                |b| {
                    b.assign(&out_data, &last_data);
                    b.assign(&out_keep, &last_keep);
                    b.assign(&busy, Expr::zero(1));
                },
                |b| {
                    b.assign(&out_data, &beat);
                    b.assign(&out_keep, Expr::ones(lanes));
                    b.assign(
                        &frame,
                        Expr::concat([Expr::zero(w), frame.slice(reg_bits - 1, w)]),
                    );
                    b.assign(&crc, &crc_full);
                    b.assign(&left, left.clone() - Expr::lit(lanes as u128, LEFT_BITS));
                },
            );
        });
        b.when(&accept, |b| {
            b.assign(&busy, Expr::lit(1, 1));
            b.assign(&frame, &frame_next);
            b.assign(&left, Expr::lit(2 + 4, LEFT_BITS) + ulpdu.zext(LEFT_BITS));
            b.assign(&crc, Expr::lit(0xFFFF_FFFF, 32));
            b.assign(&conn, &req_conn);
        });
    });
    m.assign(o.sig("tdata"), &out_data);
    m.assign(o.sig("tkeep"), &out_keep);
    m.assign(o.sig("tvalid"), &out_valid);
    m.assign(o.sig("tlast"), &out_last);
    m.assign(o.sig("tuser"), &out_user);
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_last_beats() {
        let lens: Vec<u32> = shapes()
            .iter()
            .map(|&(d, t, r)| fpdu_len(d, t, r))
            .collect();
        assert_eq!(lens, [28, 56, 44, 72, 48, 76]);
        assert_eq!(FRAME_BYTES, 72);
        let sizes = |w| {
            TermTxParams {
                name: "t".into(),
                data_width: w,
                conn_bits: 16,
            }
            .last_beat_sizes()
        };
        assert_eq!(sizes(64), [4, 8]);
        assert_eq!(sizes(128), [8, 12, 16]);
        assert_eq!(sizes(256), [8, 12, 16, 24, 28]);
    }

    #[test]
    fn elaborates_at_every_width() {
        for w in [64, 128, 256] {
            let p = TermTxParams {
                name: format!("term_tx_{w}"),
                data_width: w,
                conn_bits: 16,
            };
            elaborate(&p).unwrap();
        }
    }
}
