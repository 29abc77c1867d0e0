//! `mpa_rx`: checks each MPA FPDU (RFC 5044 section 4) as it streams past:
//! the ULPDU length field against the bytes that arrived, and the CRC32c
//! over length, ULPDU and pad against the CRC field. One register stage,
//! no buffering: the verdict rides on the last beat, so the store-and-
//! forward buffer behind it can commit or drop the whole FPDU.
//!
//! Input: one FPDU per packet, `tlast` at its end, the connection id in
//! `tuser`, bytes least significant lane first, `tkeep` all ones except on
//! the last beat, where it must be contiguous from lane 0. Output: the same
//! beats, with `tuser = {length_ok, crc_ok, connection}`; the two flags are
//! meaningful on the `tlast` beat only (zero elsewhere). `crc_ok` says the
//! last four bytes equal the CRC32c of every byte before them, whatever the
//! length field says; a packet that is not a whole number of 4-byte words
//! fails both. The CRC field is
//! compared as Linux siw and Wireshark place it: the complemented CRC,
//! least significant byte first on the wire.

use std::rc::Rc;

use crate::blocks::crc32c;
use crate::iface::{AxisSpec, Side};
use crate::ir::{Expr, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Bits of the byte counter: an FPDU is at most 2 + 65535 + 3 + 4 bytes.
const COUNT_BITS: u32 = 17;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpaRxParams {
    pub name: String,
    pub data_width: u32,
    pub conn_bits: u32,
}

impl MpaRxParams {
    pub fn from_params(p: &Params) -> Self {
        MpaRxParams {
            name: "mpa_rx".into(),
            data_width: p.get32("data-width"),
            conn_bits: 16,
        }
    }
    pub fn validate(&self) -> Result<(), Error> {
        params::check("data-width", self.data_width as u64)?;
        Ok(())
    }
}

pub fn elaborate(p: &MpaRxParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let w = p.data_width;
    let lanes = w / 8;
    let mut m = ModuleBuilder::new(
        &p.name,
        "MPA FPDU length and CRC32c check, verdict on the last beat",
    );
    m.param("DATA_WIDTH", w as u64, "stream width in bits");
    m.param(
        "CONN_BITS",
        p.conn_bits as u64,
        "connection id width (tuser)",
    );
    m.clock_and_reset();
    let in_spec = AxisSpec {
        data_width: w,
        keep: true,
        last: true,
        user_width: p.conn_bits,
    };
    let out_spec = AxisSpec {
        user_width: p.conn_bits + 2,
        ..in_spec
    };
    let s = in_spec.ports(&mut m, "s_axis", Side::Subordinate);
    let o = out_spec.ports(&mut m, "m_axis", Side::Manager);
    let (tdata, tkeep, tvalid, tlast, tuser) = (
        s.sig("tdata").clone(),
        s.sig("tkeep").clone(),
        s.sig("tvalid").clone(),
        s.sig("tlast").clone(),
        s.sig("tuser").clone(),
    );

    let out_valid = m.reg("out_valid_reg", 1, 0, "");
    let out_data = m.signal("out_data_reg", w, "");
    let out_keep = m.signal("out_keep_reg", lanes, "");
    let out_last = m.signal("out_last_reg", 1, "");
    let out_user = m.signal(
        "out_user_reg",
        p.conn_bits + 2,
        "{length_ok, crc_ok, connection}",
    );
    let first = m.reg("first_reg", 1, 1, "next beat starts an FPDU");
    let crc = m.reg(
        "crc_reg",
        32,
        0xFFFF_FFFF,
        "CRC32c state over the bytes so far",
    );
    let count = m.reg("count_reg", COUNT_BITS, 0, "bytes before this beat");
    let mpa_len = m.signal("mpa_len_reg", 16, "ULPDU length field of this FPDU");
    let bad_keep = m.reg("bad_keep_reg", 1, 0, "a non-last beat was not full");

    let take = m.signal("take", 1, "a beat moves in");
    m.assign(s.sig("tready"), out_valid.lnot().lor(o.sig("tready")));
    m.assign(&take, tvalid.land(s.sig("tready")));

    // The length field is the first two bytes, network order.
    let len_now = m.signal(
        "len_now",
        16,
        "length field, from this beat if it is the first",
    );
    m.assign(
        &len_now,
        Expr::mux(
            &first,
            Expr::concat([tdata.slice(7, 0), tdata.slice(15, 8)]),
            mpa_len.clone(),
        ),
    );

    // Bytes in this beat: tkeep must be 2^k - 1 on the last beat (k = 4j
    // for a well-formed FPDU) and all ones before it.
    let full_keep = Expr::ones(lanes);
    let crc_full = m.signal("crc_full", 32, "state after all lanes of this beat");
    m.assign(&crc_full, crc32c::update(&crc, &tdata, lanes));
    let mut last_ok_terms = Vec::new();
    let mut crc_ok_terms = Vec::new();
    let mut total_terms = Vec::new();
    for j in 1..=lanes / 4 {
        let k = 4 * j;
        let keep_k = Expr::lit((1u128 << k) - 1, lanes);
        let is_k = m.signal(&format!("last_keep_{k}"), 1, "");
        m.assign(&is_k, tkeep.eq(keep_k));
        // CRC over the k - 4 covered lanes, field in lanes k-4 .. k-1.
        let state = if k == 4 {
            crc.clone()
        } else {
            let sig = m.signal(&format!("crc_last_{k}"), 32, "");
            m.assign(&sig, crc32c::update(&crc, &tdata, k - 4));
            sig
        };
        let field = tdata.slice(8 * k - 1, 8 * k - 32);
        crc_ok_terms.push(is_k.land(field.eq(!state)));
        last_ok_terms.push(is_k.clone());
        total_terms.push((is_k, k));
    }
    let keep_ok_last = last_ok_terms
        .iter()
        .cloned()
        .reduce(|a, b| a.lor(b))
        .expect("lanes >= 8");
    let crc_ok = m.signal("crc_ok", 1, "on the last beat");
    m.assign(
        &crc_ok,
        crc_ok_terms
            .into_iter()
            .reduce(|a, b| a.lor(b))
            .expect("lanes >= 8"),
    );
    // Total bytes = count + k; expected = roundup4(2 + len) + 4.
    let beat_bytes = m.signal(
        "last_bytes",
        COUNT_BITS,
        "valid bytes in the last beat (0 if malformed)",
    );
    let legs = total_terms
        .into_iter()
        .map(|(is_k, k)| is_k.gate(&Expr::lit(k as u128, COUNT_BITS)))
        .reduce(|a, b| a | b)
        .expect("lanes >= 8");
    m.assign(&beat_bytes, legs);
    let total = m.signal("total_bytes", COUNT_BITS, "");
    m.assign(&total, count.clone() + beat_bytes.clone());
    let expected = m.signal("expected_bytes", COUNT_BITS, "");
    let len17 = len_now.zext(COUNT_BITS);
    m.assign(
        &expected,
        ((len17.clone() + Expr::lit(5, COUNT_BITS))
            & Expr::lit(!3u128 & ((1 << COUNT_BITS) - 1), COUNT_BITS))
            + Expr::lit(4, COUNT_BITS),
    );
    let len_ok = m.signal("length_ok", 1, "on the last beat");
    m.assign(
        &len_ok,
        keep_ok_last.land(bad_keep.lnot()).land(total.eq(&expected)),
    );

    m.sync("pass the beat on, with the verdict on the last one", |b| {
        b.when(o.sig("tready"), |b| b.assign(&out_valid, Expr::zero(1)));
        b.when(&take, |b| {
            b.assign(&out_valid, Expr::lit(1, 1));
            b.assign(&out_data, &tdata);
            b.assign(&out_keep, &tkeep);
            b.assign(&out_last, &tlast);
            b.assign(
                &out_user,
                Expr::concat([tlast.land(&len_ok), tlast.land(&crc_ok), tuser.clone()]),
            );
            b.if_else(
                &tlast,
                |b| {
                    b.assign(&first, Expr::lit(1, 1));
                    b.assign(&crc, Expr::lit(0xFFFF_FFFF, 32));
                    b.assign(&count, Expr::zero(COUNT_BITS));
                    b.assign(&bad_keep, Expr::zero(1));
                },
                |b| {
                    b.assign(&first, Expr::zero(1));
                    b.assign(&crc, &crc_full);
                    // Saturate instead of wrapping: an over-long FPDU must
                    // not look well-formed.
                    let next = count.clone() + Expr::lit(lanes as u128, COUNT_BITS);
                    b.assign(
                        &count,
                        Expr::mux(next.lt(&count), Expr::ones(COUNT_BITS), next),
                    );
                    b.when(tkeep.ne(full_keep.clone()), |b| {
                        b.assign(&bad_keep, Expr::lit(1, 1))
                    });
                },
            );
            b.when(&first, |b| b.assign(&mpa_len, &len_now));
        });
    });
    m.assign(o.sig("tdata"), &out_data);
    m.assign(o.sig("tkeep"), &out_keep);
    m.assign(o.sig("tvalid"), &out_valid);
    m.assign(o.sig("tlast"), &out_last);
    m.assign(o.sig("tuser"), &out_user);
    Ok(m.finish()?)
}
