//! `rx_verdict`: decides, for one received DDP segment, what the receive
//! pipeline does with it: place it, park it (foreign STag not installed
//! yet), drop it (unknown connection or connection in Error: count only),
//! answer it with a Terminate, or deliver it to the host (a Read Request, or
//! a Terminate from the peer). SPEC's checks 1-11 run in order and the
//! first failing one decides.
//!
//! Inputs: `rx_parse`'s descriptor (`desc_*`), the connection state the
//! caller read for the segment's connection (`conn_*`), and the STag table's
//! lookup answer for the STag the segment names (`lk_*`: the tagged STag,
//! or for Send with Invalidate the STag to invalidate). No back-pressure:
//! one decision per clock, fixed latency [`LATENCY`] (two register stages:
//! the wide compares and adders, then the priority choice).
//!
//! The contract (ports, codes, the choices SPEC leaves open) is
//! `docs/rx_verdict.md`; the reference model in `testbench` is written from
//! SPEC's table and that page, not from this file.

use std::rc::Rc;

use crate::blocks::stag_table::lookup_status;
use crate::ir::{Block, Expr, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Input sampled at edge k: outputs valid between edges k+1 and k+2 (the
/// consumer samples them at edge k+2), `stag_table`'s convention.
pub const LATENCY: u32 = 2;
/// Bytes of the captured header (`rx_parse::HDR_BYTES`).
pub const HDR_BYTES: u32 = 18;
/// Payload byte count width (`rx_parse`).
pub const COUNT_BITS: u32 = 17;

/// `action` values.
pub mod action {
    pub const PLACE: u128 = 0;
    pub const PARK: u128 = 1;
    pub const DROP: u128 = 2;
    pub const TERMINATE: u128 = 3;
    pub const DELIVER: u128 = 4;
}

/// `reason`: the number of SPEC's check that decided (0: every check passed).
pub mod reason {
    pub const NONE: u128 = 0;
    pub const CONN: u128 = 1;
    pub const MPA: u128 = 2;
    pub const DDP_VERSION: u128 = 3;
    pub const RDMAP: u128 = 4;
    pub const STAG: u128 = 5;
    pub const PD: u128 = 6;
    pub const RIGHTS: u128 = 7;
    pub const TO_WRAP: u128 = 8;
    pub const BOUNDS: u128 = 9;
    pub const UNTAGGED: u128 = 10;
    pub const INVALIDATE: u128 = 11;
}

/// Parameters of an `rx_verdict`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxVerdictParams {
    pub name: String,
    pub pd_bits: u32,
    pub len_bits: u32,
    pub dma_addr_bits: u32,
}

impl RxVerdictParams {
    pub fn from_params(p: &Params) -> Self {
        RxVerdictParams {
            name: "rx_verdict".into(),
            pd_bits: p.get32("pd-bits"),
            len_bits: p.get32("len-bits"),
            dma_addr_bits: p.get32("dma-addr-bits"),
        }
    }
    pub fn validate(&self) -> Result<(), Error> {
        params::check("pd-bits", self.pd_bits as u64)?;
        params::check("len-bits", self.len_bits as u64)?;
        params::check("dma-addr-bits", self.dma_addr_bits as u64)?;
        Ok(())
    }
}

/// Build the module.
pub fn elaborate(p: &RxVerdictParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let (pdb, lb, ab) = (p.pd_bits, p.len_bits, p.dma_addr_bits);
    let hb = 8 * HDR_BYTES;
    let mut m = ModuleBuilder::new(
        &p.name,
        "receive checks 1-11: place, park, drop, terminate or deliver one segment",
    );
    m.param("PD_BITS", pdb as u64, "protection domain width");
    m.param("LEN_BITS", lb as u64, "region length width");
    m.param("DMA_ADDR_BITS", ab as u64, "host address width");
    m.param(
        "LATENCY",
        LATENCY as u64,
        "input to output, in cycles (fixed)",
    );

    // ---- ports ----
    m.clock_and_reset();
    let in_valid = m.input(
        "in_valid",
        1,
        "a segment to judge this cycle (always taken)",
    );
    let d_len_ok = m.input("desc_length_ok", 1, "rx_parse: MPA length consistent");
    let d_crc_ok = m.input("desc_crc_ok", 1, "rx_parse: CRC32c correct");
    let d_mpa_len = m.input("desc_mpa_len", 16, "rx_parse: ULPDU length field");
    let d_hdr = m.input("desc_hdr", hb, "rx_parse: FPDU bytes 2..19, byte 2 on top");
    let d_count = m.input("desc_count", COUNT_BITS, "rx_parse: payload bytes");
    let c_known = m.input("conn_known", 1, "the connection exists on this NIC");
    let c_error = m.input("conn_error", 1, "the connection is in Error");
    let c_pd = m.input("conn_pd", pdb, "the connection's protection domain");
    let c_msn_send = m.input(
        "conn_msn_send",
        32,
        "MSN the next Send must carry (queue 0)",
    );
    let c_msn_rreq = m.input(
        "conn_msn_rreq",
        32,
        "MSN the next Read Request must carry (queue 1)",
    );
    let c_rq_valid = m.input(
        "conn_rq_valid",
        1,
        "a posted receive buffer heads the receive queue",
    );
    let c_rq_addr = m.input("conn_rq_addr", ab, "its host address");
    let c_rq_len = m.input("conn_rq_len", 32, "its length in bytes");
    let lk_status = m.input("lk_status", 3, "stag_table lookup status");
    let lk_dma = m.input("lk_dma_base", ab, "entry: host address of the region");
    let lk_va = m.input(
        "lk_va_base",
        64,
        "entry: tagged offset the region starts at",
    );
    let lk_len = m.input("lk_length", lb, "entry: region length");
    let lk_pd = m.input("lk_pd", pdb, "entry: protection domain");
    let lk_rw = m.input("lk_remote_write", 1, "entry: rights bit 3 (remote write)");
    let lk_rinv = m.input("lk_remote_inv", 1, "entry: the peer may invalidate it");

    let o_valid = m.output_init(
        "out_valid",
        1,
        0,
        "a verdict (LATENCY cycles after in_valid)",
    );
    let o_action = m.output(
        "action",
        3,
        "PLACE 0, PARK 1, DROP 2, TERMINATE 3, DELIVER 4",
    );
    let o_reason = m.output(
        "reason",
        4,
        "number of the check that decided, 0 if none failed",
    );
    let o_layer = m.output("term_layer", 4, "Terminate layer (zero unless TERMINATE)");
    let o_etype = m.output("term_etype", 4, "Terminate error type");
    let o_ecode = m.output("term_ecode", 8, "Terminate error code");
    let o_with_hdr = m.output(
        "term_with_hdr",
        1,
        "Terminate carries the offending DDP header (D = M)",
    );
    let o_with_rreq = m.output(
        "term_with_rreq",
        1,
        "Terminate carries the offending Read Request (R)",
    );
    let o_seg_len = m.output(
        "term_seg_len",
        16,
        "DDP segment length field to send (with D)",
    );
    let o_term_hdr = m.output(
        "term_hdr",
        hb,
        "the header in term_tx's order: byte i in bits 8i+7:8i",
    );
    let o_addr = m.output(
        "place_addr",
        ab,
        "host address of the first payload byte (PLACE)",
    );
    let o_len = m.output("place_len", COUNT_BITS, "bytes to place (PLACE)");
    let o_inv = m.output(
        "invalidate_after",
        1,
        "invalidate lk's STag once this data is placed",
    );
    let o_adv_send = m.output(
        "msn_advance_send",
        1,
        "a Send message completed: advance conn_msn_send",
    );
    let o_adv_rreq = m.output(
        "msn_advance_rreq",
        1,
        "a Read Request was taken: advance conn_msn_rreq",
    );
    let o_set_err = m.output(
        "set_conn_error",
        1,
        "the connection enters Error after this segment",
    );
    let o_tagged = m.output("hdr_tagged", 1, "T bit");
    let o_stag = m.output(
        "hdr_stag",
        32,
        "tagged: STag; untagged: the word reserved for the ULP (STag to invalidate)",
    );

    let act = |m: &mut ModuleBuilder, n: &str, v: u128| m.localparam(n, v, 3, "");
    let a_place = act(&mut m, "ACTION_PLACE", action::PLACE);
    let a_park = act(&mut m, "ACTION_PARK", action::PARK);
    let a_drop = act(&mut m, "ACTION_DROP", action::DROP);
    let a_term = act(&mut m, "ACTION_TERMINATE", action::TERMINATE);
    let a_deliver = act(&mut m, "ACTION_DELIVER", action::DELIVER);

    // ---- stage A: decode and every check's own test, side by side ----
    // Header byte i (i = 0 is the control byte holding T) in bits
    // hb-1-8i : hb-8-8i.
    let f_to = m.signal("f_to", 64, "header bytes 6..13");
    m.assign(&f_to, d_hdr.slice(95, 32));
    let f_qn = m.signal("f_qn", 32, "header bytes 6..9");
    m.assign(&f_qn, d_hdr.slice(95, 64));
    let f_msn = m.signal("f_msn", 32, "header bytes 10..13");
    m.assign(&f_msn, d_hdr.slice(63, 32));
    let f_mo = m.signal("f_mo", 32, "header bytes 14..17");
    m.assign(&f_mo, d_hdr.slice(31, 0));
    let f_t = d_hdr.bit(143);
    let f_l = d_hdr.bit(142);
    let f_op = m.signal("f_opcode", 4, "");
    m.assign(&f_op, d_hdr.slice(131, 128));
    let op_is = |v: u128| f_op.eq_lit(v);

    let n_crc_bad = m.signal("crc_bad", 1, "check 2: CRC32c wrong");
    m.assign(&n_crc_bad, d_crc_ok.lnot());
    let n_len_bad = m.signal(
        "len_bad",
        1,
        "check 2: length inconsistent or ULPDU shorter than its header",
    );
    let hdr_need = Expr::mux(&f_t, Expr::lit(14, 16), Expr::lit(18, 16));
    m.assign(&n_len_bad, d_len_ok.lnot().lor(d_mpa_len.lt(hdr_need)));
    let n_dv_bad = m.signal("ddp_ver_bad", 1, "check 3");
    m.assign(&n_dv_bad, d_hdr.slice(137, 136).ne(Expr::lit(1, 2)));
    let n_rv_bad = m.signal("rdmap_ver_bad", 1, "check 4: RDMAP version");
    m.assign(&n_rv_bad, d_hdr.slice(135, 134).ne(Expr::lit(1, 2)));
    // Opcode legal for T: tagged 0, 2; untagged 1, 3..7. A Read Request
    // is one segment (L) of exactly 28 bytes after its DDP header.
    let tagged_ok = op_is(0).lor(op_is(2));
    let untagged_ok = op_is(1).lor(f_op.ge(Expr::lit(3, 4)).land(f_op.le(Expr::lit(7, 4))));
    let rreq_shape_bad = op_is(1).land(f_l.lnot().lor(d_count.ne(Expr::lit(28, COUNT_BITS))));
    let n_op_bad = m.signal(
        "opcode_bad",
        1,
        "check 4: opcode illegal for T, or a malformed Read Request",
    );
    m.assign(
        &n_op_bad,
        Expr::mux(
            &f_t,
            tagged_ok.lnot(),
            untagged_ok.lnot().lor(rreq_shape_bad),
        ),
    );
    let n_zero = m.signal("no_payload", 1, "");
    m.assign(&n_zero, d_count.eq_lit(0));
    let n_lk_hit = m.signal("lk_hit", 1, "HIT_OWN or HIT_FOREIGN");
    m.assign(
        &n_lk_hit,
        lk_status
            .eq_lit(lookup_status::HIT_OWN)
            .lor(lk_status.eq_lit(lookup_status::HIT_FOREIGN)),
    );
    let n_lk_miss = m.signal("lk_miss", 1, "MISS_FOREIGN: park");
    m.assign(&n_lk_miss, lk_status.eq_lit(lookup_status::MISS_FOREIGN));
    let n_pd_bad = m.signal("pd_bad", 1, "checks 6 and 11");
    m.assign(&n_pd_bad, lk_pd.ne(&c_pd));
    // Check 8: the last byte TO + count - 1 must not pass 2^64 - 1.
    let sum65 = m.signal("to_end65", 65, "TO + count, 65 bits");
    m.assign(&sum65, f_to.zext(65) + d_count.zext(65));
    let n_wrap = m.signal("to_wrap", 1, "check 8");
    m.assign(&n_wrap, sum65.bit(64).land(sum65.slice(63, 0).red_or()));
    // Check 9: [TO, TO + count) inside [VA, VA + length), 66-bit sums.
    let n_bounds = m.signal("bounds_bad", 1, "check 9");
    let end_seg = f_to.zext(66) + d_count.zext(66);
    let end_reg = lk_va.zext(66) + lk_len.zext(66);
    m.assign(&n_bounds, f_to.lt(&lk_va).lor(end_seg.gt(end_reg)));
    let n_place_t = m.signal("place_tagged", ab, "DMA base + (TO - VA base)");
    m.assign(
        &n_place_t,
        lk_dma.clone() + (f_to.slice(ab - 1, 0) - lk_va.slice(ab - 1, 0)),
    );
    let n_place_u = m.signal("place_untagged", ab, "receive buffer + MO");
    m.assign(&n_place_u, c_rq_addr.clone() + f_mo.zext(ab));
    // Check 10, per untagged opcode.
    let is_send = f_op.ge(Expr::lit(3, 4)).land(f_op.le(Expr::lit(6, 4)));
    let is_rreq = op_is(1);
    let n_qn_bad = m.signal("qn_bad", 1, "");
    m.assign(
        &n_qn_bad,
        is_send
            .land(f_qn.ne(Expr::lit(0, 32)))
            .lor(is_rreq.land(f_qn.ne(Expr::lit(1, 32)))),
    );
    let n_msn_bad = m.signal("msn_bad", 1, "");
    m.assign(
        &n_msn_bad,
        is_send
            .land(f_msn.ne(&c_msn_send))
            .lor(is_rreq.land(f_msn.ne(&c_msn_rreq))),
    );
    let n_nobuf = m.signal("no_buffer", 1, "");
    m.assign(&n_nobuf, is_send.land(c_rq_valid.lnot()));
    let n_mo_bad = m.signal("mo_bad", 1, "");
    m.assign(
        &n_mo_bad,
        is_send
            .land(f_mo.gt(&c_rq_len))
            .lor(is_rreq.land(f_mo.ne(Expr::lit(0, 32)))),
    );
    let n_long = m.signal("too_long", 1, "");
    m.assign(
        &n_long,
        is_send.land((f_mo.zext(33) + d_count.zext(33)).gt(c_rq_len.zext(33))),
    );

    // Stage A registers.
    let s_valid = m.reg("s_valid", 1, 0, "stage A holds a segment");
    let conn_bad = c_known.lnot().lor(&c_error);
    let regs: Vec<(&str, Expr)> = vec![
        ("s_conn_bad", conn_bad),
        ("s_crc_bad", n_crc_bad.clone()),
        ("s_len_bad", n_len_bad.clone()),
        ("s_ddp_ver_bad", n_dv_bad.clone()),
        ("s_rdmap_ver_bad", n_rv_bad.clone()),
        ("s_opcode_bad", n_op_bad.clone()),
        ("s_no_payload", n_zero.clone()),
        ("s_lk_hit", n_lk_hit.clone()),
        ("s_lk_miss", n_lk_miss.clone()),
        ("s_pd_bad", n_pd_bad.clone()),
        ("s_remote_write", lk_rw.clone()),
        ("s_remote_inv", lk_rinv.clone()),
        ("s_to_wrap", n_wrap.clone()),
        ("s_bounds_bad", n_bounds.clone()),
        ("s_qn_bad", n_qn_bad.clone()),
        ("s_msn_bad", n_msn_bad.clone()),
        ("s_no_buffer", n_nobuf.clone()),
        ("s_mo_bad", n_mo_bad.clone()),
        ("s_too_long", n_long.clone()),
        ("s_place_tagged", n_place_t.clone()),
        ("s_place_untagged", n_place_u.clone()),
        ("s_count", d_count.clone()),
        ("s_hdr", d_hdr.clone()),
    ];
    let sregs: Vec<(Expr, Expr)> = regs
        .iter()
        .map(|(n, e)| (m.signal(n, e.width(), "stage A"), e.clone()))
        .collect();
    m.sync("stage A", |b| {
        b.assign(&s_valid, &in_valid);
        for (r, e) in &sregs {
            b.assign(r, e);
        }
    });
    let s = |n: &str| {
        sregs[regs
            .iter()
            .position(|(k, _)| *k == n)
            .expect("stage A register")]
        .0
        .clone()
    };
    let s_hdr = s("s_hdr");
    let s_count = s("s_count");

    // ---- stage B: the first failing check decides ----
    let s_op = m.signal("s_opcode", 4, "");
    m.assign(&s_op, s_hdr.slice(131, 128));
    let s_t = m.signal("s_tagged", 1, "");
    m.assign(&s_t, s_hdr.bit(143));
    let s_l = m.signal("s_last", 1, "");
    m.assign(&s_l, s_hdr.bit(142));
    let s_is_rreq = s_op.eq_lit(1);
    let s_is_term = s_op.eq_lit(7);
    let s_is_inv = s_op.eq_lit(4).lor(s_op.eq_lit(6));

    let nx_action = m.reg("nx_action", 3, 0, "");
    let nx_reason = m.reg("nx_reason", 4, 0, "");
    let nx_layer = m.reg("nx_layer", 4, 0, "");
    let nx_etype = m.reg("nx_etype", 4, 0, "");
    let nx_ecode = m.reg("nx_ecode", 8, 0, "");
    let nx_with_hdr = m.reg("nx_with_hdr", 1, 0, "");
    let nx_addr = m.reg("nx_addr", ab, 0, "");
    let nx_len = m.reg("nx_len", COUNT_BITS, 0, "");
    let nx_inv = m.reg("nx_inv", 1, 0, "");
    let nx_adv_send = m.reg("nx_adv_send", 1, 0, "");
    let nx_adv_rreq = m.reg("nx_adv_rreq", 1, 0, "");
    let nx_set_err = m.reg("nx_set_err", 1, 0, "");

    let set_term = |b: &mut Block, why: u128, code: (u128, u128, u128), with_hdr: bool| {
        b.assign(&nx_action, &a_term);
        b.assign(&nx_reason, Expr::lit(why, 4));
        b.assign(&nx_layer, Expr::lit(code.0, 4));
        b.assign(&nx_etype, Expr::lit(code.1, 4));
        b.assign(&nx_ecode, Expr::lit(code.2, 8));
        b.assign(&nx_with_hdr, Expr::lit(with_hdr as u128, 1));
        b.assign(&nx_set_err, Expr::lit(1, 1));
    };
    let set_park = |b: &mut Block, why: u128| {
        b.assign(&nx_action, &a_park);
        b.assign(&nx_reason, Expr::lit(why, 4));
    };
    let set_place = |b: &mut Block, addr: &Expr| {
        b.assign(&nx_action, &a_place);
        b.assign(&nx_addr, addr);
        b.assign(&nx_len, &s_count);
    };
    // A chain of (condition, action) tried in order; the last is the pass.
    type Leg<'a> = (Expr, Box<dyn Fn(&mut Block) + 'a>);
    fn chain(b: &mut Block, legs: &[Leg<'_>], pass: &dyn Fn(&mut Block)) {
        match legs.split_first() {
            None => pass(b),
            Some(((c, f), rest)) => b.if_else(c, |b| f(b), |b| chain(b, rest, pass)),
        }
    }
    let tagged_legs: Vec<Leg> = vec![
        (
            s("s_lk_miss"),
            Box::new(|b: &mut Block| set_park(b, reason::STAG)),
        ),
        (
            s("s_lk_hit").lnot(),
            Box::new(|b: &mut Block| set_term(b, reason::STAG, (1, 1, 0x00), true)),
        ),
        (
            s("s_pd_bad"),
            Box::new(|b: &mut Block| set_term(b, reason::PD, (1, 1, 0x02), true)),
        ),
        (
            s("s_remote_write").lnot(),
            Box::new(|b: &mut Block| set_term(b, reason::RIGHTS, (1, 1, 0x00), true)),
        ),
        (
            s("s_to_wrap"),
            Box::new(|b: &mut Block| set_term(b, reason::TO_WRAP, (1, 1, 0x03), true)),
        ),
        (
            s("s_bounds_bad"),
            Box::new(|b: &mut Block| set_term(b, reason::BOUNDS, (1, 1, 0x01), true)),
        ),
    ];
    let place_t = s("s_place_tagged");
    let tagged_pass = |b: &mut Block| set_place(b, &place_t);
    let ut = |code: u128| (1u128, 2u128, code);
    let untagged_legs: Vec<Leg> = vec![
        (
            s("s_qn_bad"),
            Box::new(move |b: &mut Block| set_term(b, reason::UNTAGGED, ut(0x01), true)),
        ),
        (
            s("s_msn_bad"),
            Box::new(move |b: &mut Block| set_term(b, reason::UNTAGGED, ut(0x03), true)),
        ),
        (
            s("s_no_buffer"),
            Box::new(move |b: &mut Block| set_term(b, reason::UNTAGGED, ut(0x02), true)),
        ),
        (
            s("s_mo_bad"),
            Box::new(move |b: &mut Block| set_term(b, reason::UNTAGGED, ut(0x04), true)),
        ),
        (
            s("s_too_long"),
            Box::new(move |b: &mut Block| set_term(b, reason::UNTAGGED, ut(0x05), true)),
        ),
        (
            s_is_rreq.clone(),
            Box::new(|b: &mut Block| {
                b.assign(&nx_action, &a_deliver);
                b.assign(&nx_adv_rreq, Expr::lit(1, 1));
            }),
        ),
        (
            s_is_inv.land(s("s_lk_miss")),
            Box::new(|b: &mut Block| set_park(b, reason::INVALIDATE)),
        ),
        (
            s_is_inv.land(s("s_lk_hit").lnot()),
            Box::new(|b: &mut Block| set_term(b, reason::INVALIDATE, (0, 2, 0x09), true)),
        ),
        (
            s_is_inv.land(s("s_pd_bad").lor(s("s_remote_inv").lnot())),
            Box::new(|b: &mut Block| set_term(b, reason::INVALIDATE, (0, 1, 0x09), true)),
        ),
    ];
    let place_u = s("s_place_untagged");
    let untagged_pass = |b: &mut Block| {
        set_place(b, &place_u);
        b.assign(&nx_adv_send, &s_l);
        b.assign(&nx_inv, s_is_inv.land(&s_l));
    };
    let ddp_ver_code = |b: &mut Block| {
        b.assign(&nx_action, &a_term);
        b.assign(&nx_reason, Expr::lit(reason::DDP_VERSION, 4));
        b.assign(&nx_layer, Expr::lit(1, 4));
        b.assign(&nx_etype, Expr::mux(&s_t, Expr::lit(1, 4), Expr::lit(2, 4)));
        b.assign(
            &nx_ecode,
            Expr::mux(&s_t, Expr::lit(0x04, 8), Expr::lit(0x06, 8)),
        );
        b.assign(&nx_set_err, Expr::lit(1, 1));
    };
    let top_legs: Vec<Leg> = vec![
        (
            s("s_conn_bad"),
            Box::new(|b: &mut Block| {
                b.assign(&nx_action, &a_drop);
                b.assign(&nx_reason, Expr::lit(reason::CONN, 4));
            }),
        ),
        (
            s("s_crc_bad"),
            Box::new(|b: &mut Block| set_term(b, reason::MPA, (2, 0, 0x02), false)),
        ),
        (
            s("s_len_bad"),
            Box::new(|b: &mut Block| set_term(b, reason::MPA, (2, 0, 0x03), false)),
        ),
        (s("s_ddp_ver_bad"), Box::new(ddp_ver_code)),
        (
            s("s_rdmap_ver_bad"),
            Box::new(|b: &mut Block| set_term(b, reason::RDMAP, (0, 2, 0x05), false)),
        ),
        (
            s("s_opcode_bad"),
            Box::new(|b: &mut Block| set_term(b, reason::RDMAP, (0, 2, 0x06), false)),
        ),
        (
            s_t.clone(),
            Box::new(|b: &mut Block| {
                // A tagged segment without payload writes nothing: no
                // STag check (siw_proc_write / siw_proc_rresp).
                b.if_else(
                    s("s_no_payload"),
                    |b| b.assign(&nx_action, &a_place),
                    |b| chain(b, &tagged_legs, &tagged_pass),
                )
            }),
        ),
        (
            s_is_term.clone(),
            Box::new(|b: &mut Block| {
                b.assign(&nx_action, &a_deliver);
                b.assign(&nx_set_err, Expr::lit(1, 1));
            }),
        ),
    ];
    m.comb(
        "stage B: checks in order, the first failing one decides",
        |b| {
            chain(b, &top_legs, &|b: &mut Block| {
                chain(b, &untagged_legs, &untagged_pass)
            });
        },
    );

    // Output registers.
    let with_hdr = nx_with_hdr.clone();
    let seg_len = Expr::mux(
        with_hdr.land(s_is_rreq.lnot()),
        s_count.slice(15, 0),
        Expr::zero(16),
    );
    let term_hdr = Expr::concat(
        (0..HDR_BYTES)
            .rev()
            .map(|i| s_hdr.slice(hb - 1 - 8 * i, hb - 8 - 8 * i))
            .collect::<Vec<_>>(),
    );
    m.sync("output registers", |b| {
        b.assign(&o_valid, &s_valid);
        b.assign(&o_action, &nx_action);
        b.assign(&o_reason, &nx_reason);
        b.assign(&o_layer, &nx_layer);
        b.assign(&o_etype, &nx_etype);
        b.assign(&o_ecode, &nx_ecode);
        b.assign(&o_with_hdr, &with_hdr);
        b.assign(&o_with_rreq, with_hdr.land(&s_is_rreq));
        b.assign(&o_seg_len, seg_len);
        b.assign(&o_term_hdr, term_hdr);
        b.assign(&o_addr, &nx_addr);
        b.assign(&o_len, &nx_len);
        b.assign(&o_inv, &nx_inv);
        b.assign(&o_adv_send, &nx_adv_send);
        b.assign(&o_adv_rreq, &nx_adv_rreq);
        b.assign(&o_set_err, &nx_set_err);
        b.assign(&o_tagged, &s_t);
        b.assign(&o_stag, s_hdr.slice(127, 96));
    });
    Ok(m.finish()?)
}
