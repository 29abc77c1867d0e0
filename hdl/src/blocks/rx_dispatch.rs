//! `rx_dispatch`: judges each received segment and acts on the verdict.
//!
//! One segment at a time, in order: from the descriptor FIFO (segments off
//! the wire) or, during a replay pass, from the hold queue. For each it
//! looks up the connection (`conn_table`) and the header's STag
//! (`stag_table`, or INVALID when the host rejected it: `miss_table`), feeds
//! both answers with the descriptor to `rx_verdict` (SPEC's checks, in
//! order) and then, in one cycle, hands the segment on: a placement (or,
//! with the invalidate bit, a discard) to `rx_place`, a route for its
//! payload to `rx_steer`, a Terminate to `term_tx`, a park into the hold
//! queue, the connection's update, the counters. A Send with Invalidate
//! then waits for its data's last write response and invalidates its STag
//! before the next segment is judged.
//!
//! The block owns the STag table, the connection table, the checks and the
//! miss table; their host command ports are this block's `stag_*` and
//! `conn_*` ports. The contract is docs/nic_rx.md.

use std::rc::Rc;

use crate::blocks::conn_table::{self, ConnTableParams};
use crate::blocks::miss_table::{self, MissTableParams};
use crate::blocks::rx_place;
use crate::blocks::rx_steer::CAPTURE_BYTES;
use crate::blocks::rx_verdict::{self, action, RxVerdictParams, COUNT_BITS};
use crate::blocks::stag_table::{self, lookup_status, StagTableParams};
use crate::ir::{clog2, Dir, Expr, Layout, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Bits of the DDP/RDMAP header a descriptor carries (`rx_parse`).
pub const HDR_BITS: u32 = 8 * crate::blocks::rx_parse::HDR_BYTES;

/// A descriptor as it waits in the descriptor FIFO and the hold queue:
/// `rx_parse`'s descriptor fields, `count` least significant.
pub fn desc_layout() -> Layout {
    Layout(vec![
        ("count", COUNT_BITS),
        ("hdr", HDR_BITS),
        ("mpa_len", 16),
        ("crc_ok", 1),
        ("length_ok", 1),
        ("conn", 16),
    ])
}

/// Counters (`cnt_<name>`), in port order; then `cnt_check_1` .. `cnt_check_11`.
pub const COUNTERS: &[(&str, &str)] = &[
    ("placed", "segments placed"),
    ("placed_bytes", "payload bytes placed"),
    (
        "delivered",
        "good Read Requests and peer Terminates handed on",
    ),
    (
        "parked",
        "segments that entered the hold queue from the wire",
    ),
    ("miss_events", "miss events raised"),
    ("reject_unknown", "rejects naming no waited-on STag"),
    ("terminates", "Terminates sent"),
    (
        "dma_errors",
        "placements with a write response other than OKAY",
    ),
];
/// Checks of SPEC's table (`cnt_check_1` .. `cnt_check_<CHECKS>`).
pub const CHECKS: u32 = 11;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxDispatchParams {
    pub name: String,
    pub data_width: u32,
    pub table: StagTableParams,
    pub conns: ConnTableParams,
    pub verdict: RxVerdictParams,
    pub miss: MissTableParams,
    /// Segments the hold queue parks (`--hold-segments`).
    pub hold_segments: u32,
    /// Hold data capacity in bus beats (`--hold-bytes` / bus bytes).
    pub hold_beats: u32,
}

impl RxDispatchParams {
    pub fn from_params(p: &Params) -> Self {
        let mut table = StagTableParams::from_params(p);
        table.name = "nic_stag_table".into();
        let mut conns = ConnTableParams::from_params(p);
        conns.name = "nic_conn_table".into();
        let mut verdict = RxVerdictParams::from_params(p);
        verdict.name = "nic_rx_verdict".into();
        let mut miss = MissTableParams::from_params(p);
        miss.name = "nic_miss_table".into();
        RxDispatchParams {
            name: "rx_dispatch".into(),
            data_width: p.get32("data-width"),
            table,
            conns,
            verdict,
            miss,
            hold_segments: p.get32("hold-segments"),
            hold_beats: p.get32("hold-bytes") / (p.get32("data-width") / 8),
        }
    }
    pub fn validate(&self) -> Result<(), Error> {
        params::check("data-width", self.data_width as u64)?;
        params::check("hold-segments", self.hold_segments as u64)?;
        if !self.hold_beats.is_power_of_two() || self.hold_beats < 2 {
            return Err(Error::Design(format!(
                "rx_dispatch `{}`: hold beats {} must be a power of two of at least 2",
                self.name, self.hold_beats
            )));
        }
        Ok(())
    }
}

// FSM states.
const S_IDLE: u128 = 0;
const S_LOOKUP: u128 = 1;
const S_VERDICT: u128 = 2;
const S_WAIT_VERDICT: u128 = 3;
const S_ACT: u128 = 4;
const S_CAPTURE: u128 = 5;
const S_INV_DONE: u128 = 6;
const S_INV_CMD: u128 = 7;
const S_INV_RESP: u128 = 8;
const STATE_BITS: u32 = 4;

/// Connect `child`'s ports to expressions by name.
fn conns_of<'a>(pairs: &'a [(String, Expr)]) -> Vec<(&'a str, Expr)> {
    pairs.iter().map(|(n, e)| (n.as_str(), e.clone())).collect()
}

pub fn elaborate(p: &RxDispatchParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let table = stag_table::elaborate(&p.table)?;
    let conns = conn_table::elaborate(&p.conns)?;
    let verdict = rx_verdict::elaborate(&p.verdict)?;
    let miss = miss_table::elaborate(&p.miss)?;

    let bb = p.data_width / 8;
    let lbb = clog2(bb as u64);
    let dl = desc_layout();
    let dw = dl.width();
    let ab = p.table.dma_addr_bits;
    let cb = p.conns.conn_bits();
    let ncon = p.conns.connections;
    let beat_bits = COUNT_BITS - lbb + 1;
    let hs_bits = clog2(p.hold_segments as u64) + 1;
    let hb_bits = clog2(p.hold_beats as u64) + 1;

    let mut m = ModuleBuilder::new(
        &p.name,
        "Judges each received segment (lookups + SPEC's checks) and acts on the verdict",
    );
    m.param(
        "DATA_WIDTH",
        p.data_width as u64,
        "payload stream width in bits",
    );
    m.param(
        "HOLD_SEGMENTS",
        p.hold_segments as u64,
        "segments the hold queue parks",
    );
    m.param(
        "HOLD_BEATS",
        p.hold_beats as u64,
        "hold data capacity in bus beats",
    );
    let (clk, rst) = m.clock_and_reset();
    let nic_id = m.input("nic_id", p.table.nic_id_bits, "this NIC's id (a strap)");

    // ---- descriptor ports ----
    let d_valid = m.input("s_desc_valid", 1, "descriptor FIFO (segments off the wire)");
    let d_ready = m.output("s_desc_ready", 1, "");
    let d_data = m.input("s_desc_data", dw, "descriptor, see desc_layout()");
    let h_valid = m.input("s_hdesc_valid", 1, "hold queue's descriptor FIFO");
    let h_ready = m.output("s_hdesc_ready", 1, "");
    let h_data = m.input("s_hdesc_data", dw, "");
    let hp_valid = m.output("m_hdesc_valid", 1, "park: descriptor into the hold queue");
    let hp_ready = m.input("m_hdesc_ready", 1, "");
    let hp_data = m.output("m_hdesc_data", dw, "");
    // ---- route, capture, placement, terminate ----
    let rt_valid = m.output("m_route_valid", 1, "payload route to rx_steer");
    let rt_ready = m.input("m_route_ready", 1, "");
    let rt_src_hold = m.output("m_route_src_hold", 1, "");
    let rt_dst_hold = m.output("m_route_dst_hold", 1, "");
    let rt_capture = m.output("m_route_capture", 1, "");
    let cap_valid = m.input("cap_valid", 1, "rx_steer captured a Read Request");
    let cap_ready = m.output("cap_ready", 1, "");
    let cap_data = m.input("cap_data", 8 * CAPTURE_BYTES, "");
    let pl_valid = m.output("m_place_valid", 1, "descriptor to rx_place");
    let pl_ready = m.input("m_place_ready", 1, "");
    let pl_addr = m.output("m_place_addr", ab, "");
    let pl_len = m.output("m_place_len", rx_place::LEN_BITS, "");
    let pl_drop = m.output("m_place_drop", 1, "the invalidate bit: read, never write");
    let pl_tag = m.output("m_place_tag", rx_place::TAG_BITS, "");
    let dn_valid = m.input("s_done_valid", 1, "rx_place completion");
    let dn_ready = m.output("s_done_ready", 1, "");
    let dn_tag = m.input("s_done_tag", rx_place::TAG_BITS, "");
    let dn_error = m.input("s_done_error", 1, "");
    let t_valid = m.output("m_term_valid", 1, "Terminate request to term_tx");
    let t_ready = m.input("m_term_ready", 1, "");
    let t_conn = m.output("m_term_conn", 16, "");
    let t_msn = m.output("m_term_msn", 32, "");
    let t_layer = m.output("m_term_layer", 4, "");
    let t_etype = m.output("m_term_etype", 4, "");
    let t_ecode = m.output("m_term_ecode", 8, "");
    let t_hdr_valid = m.output("m_term_hdr_valid", 1, "");
    let t_hdr_tagged = m.output("m_term_hdr_tagged", 1, "");
    let t_seg_len = m.output("m_term_seg_len", 16, "");
    let t_hdr = m.output("m_term_hdr", HDR_BITS, "");
    let t_rreq_valid = m.output("m_term_rreq_valid", 1, "");
    let t_rreq = m.output("m_term_rreq", 8 * CAPTURE_BYTES, "");

    // ---- host: miss events and rejects ----
    let ev_valid = m.output("m_miss_valid", 1, "miss event");
    let ev_ready = m.input("m_miss_ready", 1, "");
    let ev_stag = m.output("m_miss_stag", 32, "");
    let ev_conn = m.output("m_miss_conn", 16, "");
    let iv_valid = m.output_init(
        "m_inval_valid",
        1,
        0,
        "invalidation event: the peer's Send with Invalidate invalidated a STag here",
    );
    let iv_ready = m.input("m_inval_ready", 1, "");
    let iv_stag = m.output(
        "m_inval_stag",
        32,
        "the STag (own or migrated): remove every copy",
    );
    let iv_conn = m.output(
        "m_inval_conn",
        16,
        "the connection whose Send invalidated it",
    );
    let rj_valid = m.input("s_reject_valid", 1, "the host rejects a foreign STag");
    let rj_ready = m.output("s_reject_ready", 1, "");
    let rj_stag = m.input("s_reject_stag", 32, "");

    // ---- state ----
    let state = m.reg("state_reg", STATE_BITS, S_IDLE, "judge / act FSM");
    let is = |s: u128| state.eq_lit(s);
    let cur = m.signal("cur_desc_reg", dw, "the segment being judged");
    let cur_hold = m.signal("cur_from_hold_reg", 1, "it came from the hold queue");
    let cur_behind = m.signal(
        "cur_behind_reg",
        1,
        "its connection has parked segments: park it unjudged",
    );
    let cur_conn = dl.field(&cur, "conn");
    let cur_count = dl.field(&cur, "count");
    let cur_hdr = dl.field(&cur, "hdr");
    let cur_stag = m.signal("cur_stag", 32, "header bytes 2-5: the STag looked up");
    m.assign(&cur_stag, cur_hdr.slice(127, 96));
    let cur_beats = m.signal("cur_beats", beat_bits, "payload beats of the segment");
    let count_up = m.signal("cur_count_up", COUNT_BITS + 1, "count + bus bytes - 1");
    m.assign(
        &count_up,
        cur_count.zext(COUNT_BITS + 1) + Expr::lit(bb as u128 - 1, COUNT_BITS + 1),
    );
    m.assign(&cur_beats, count_up.slice(COUNT_BITS, lbb));
    m.unused(
        "count_up_low",
        vec![count_up.slice(lbb - 1, 0)],
        "below one beat: the division by the bus bytes drops them",
    );
    let has_data = m.signal("cur_has_data", 1, "");
    m.assign(&has_data, cur_count.ne(Expr::zero(COUNT_BITS)));

    // Hold bookkeeping.
    let hold_segs = m.reg("hold_segs_reg", hs_bits, 0, "segments parked");
    let hold_res = m.reg(
        "hold_beats_reg",
        hb_bits,
        0,
        "data beats reserved by parked segments",
    );
    let pass_active = m.reg("pass_active_reg", 1, 0, "a replay pass is running");
    let pass_left = m.reg(
        "pass_left_reg",
        hs_bits,
        0,
        "hold segments still to take in this pass",
    );
    let replay_req = m.reg(
        "replay_req_reg",
        1,
        0,
        "an install or reject since the last pass start",
    );
    let orphan = m.reg(
        "orphan_reg",
        1,
        0,
        "this pass re-parked a segment that found no free miss entry",
    );
    let hold_full = m.reg(
        "hold_full_reg",
        1,
        0,
        "a segment waits for room in the hold queue",
    );
    let parked_any = m.reg(
        "parked_any_reg",
        ncon,
        0,
        "per connection: has parked segments",
    );
    let blocked = m.reg(
        "pass_blocked_reg",
        ncon,
        0,
        "per connection: re-parked in this pass",
    );
    let park_cnt_mem = m.memory(
        "park_count_mem",
        hs_bits,
        ncon,
        "per connection: segments parked (meaningful while parked_any is set)",
    );
    let park_cnt = m.signal("park_count_reg", hs_bits, "read at selection");
    let tag_ctr = m.reg("tag_reg", rx_place::TAG_BITS, 0, "next rx_place tag");
    let inv_tag = m.signal("inv_tag_reg", rx_place::TAG_BITS, "placement to wait for");
    let inv_stag = m.signal("inv_stag_reg", 32, "STag to invalidate");
    let iv_stag_reg = m.signal("inval_event_stag_reg", 32, "");
    let iv_conn_reg = m.signal("inval_event_conn_reg", 16, "");
    m.assign(&iv_stag, &iv_stag_reg);
    m.assign(&iv_conn, &iv_conn_reg);

    // ---- selection (IDLE) ----
    let conn_idx = |e: &Expr| e.slice(cb - 1, 0);
    let in_range = |e: &Expr| {
        if cb < 16 {
            e.slice(15, cb).eq_lit(0)
        } else {
            Expr::lit(1, 1)
        }
    };
    let d_conn = dl.field(&d_data, "conn");
    let h_conn = dl.field(&h_data, "conn");
    let pass_done = m.signal("pass_done", 1, "IDLE ends the pass this cycle");
    let start_pass = m.signal("start_pass", 1, "IDLE starts a pass this cycle");
    let take_hold = m.signal("take_hold", 1, "IDLE takes the hold queue's head");
    let take_main = m.signal("take_main", 1, "IDLE takes the descriptor FIFO's head");
    m.assign(
        &pass_done,
        is(S_IDLE).land(&pass_active).land(pass_left.eq_lit(0)),
    );
    m.assign(
        &take_hold,
        is(S_IDLE)
            .land(&pass_active)
            .land(pass_left.ne(Expr::zero(hs_bits)))
            .land(&h_valid),
    );
    m.assign(
        &start_pass,
        is(S_IDLE).land(pass_active.lnot()).land(&replay_req),
    );
    m.assign(
        &take_main,
        is(S_IDLE)
            .land(pass_active.lnot())
            .land(replay_req.lnot())
            .land(&d_valid),
    );
    let sel_data = m.signal("sel_data", dw, "the descriptor IDLE takes");
    m.assign(
        &sel_data,
        Expr::mux(&take_hold, h_data.clone(), d_data.clone()),
    );
    let sel_conn = dl.field(&sel_data, "conn");
    let sel_behind = m.signal("sel_behind", 1, "the selected segment parks unjudged");
    let bit_of = |v: &Expr, idx: Expr| -> Expr {
        if ncon == 1 {
            v.clone()
        } else {
            (v.clone() & Expr::lit(1, ncon).shl(idx)).red_or()
        }
    };
    m.assign(
        &sel_behind,
        Expr::mux(
            &take_hold,
            bit_of(&blocked, conn_idx(&h_conn)),
            in_range(&d_conn).land(bit_of(&parked_any, conn_idx(&d_conn))),
        ),
    );
    let take = take_hold.lor(&take_main);
    let lookup_go = m.signal("lookup_go", 1, "issue the two lookups");
    m.assign(&lookup_go, take.land(sel_behind.lnot()));

    // ---- lookups ----
    let ct_out: Vec<(&str, u32)> = vec![
        ("rd_out_valid", 1),
        ("rd_known", 1),
        ("rd_error", 1),
        ("rd_pd", p.conns.pd_bits),
        ("rd_msn_send", 32),
        ("rd_msn_rreq", 32),
        ("rd_msn_term", 32),
        ("rd_rq_valid", 1),
        ("rd_rq_addr", ab),
        ("rd_rq_len", 32),
    ];
    let ct_sig: Vec<Expr> = ct_out
        .iter()
        .map(|(n, w)| m.signal(&format!("ct_{n}"), *w, ""))
        .collect();
    let ct_reg: Vec<Expr> = ct_out
        .iter()
        .skip(1)
        .map(|(n, w)| m.signal(&format!("ct_{n}_reg"), *w, "captured answer"))
        .collect();
    let got_ct = m.reg("got_conn_reg", 1, 0, "connection answer captured");
    let got_lk = m.reg("got_stag_reg", 1, 0, "STag answer captured");
    let lk_fields = p.table.fields();
    let lk_status = m.signal("lk_status", 3, "");
    let lk_valid = m.signal("lk_valid", 1, "");
    let lk_stag_unused = m.signal("lk_resp_stag", 32, "");
    let lk_sig: Vec<Expr> = lk_fields
        .iter()
        .map(|(n, w)| m.signal(&format!("lk_{n}"), *w, ""))
        .collect();
    let lk_status_reg = m.signal("lk_status_reg", 3, "captured (INVALID if rejected)");
    let lk_reg: Vec<Expr> = lk_fields
        .iter()
        .map(|(n, w)| m.signal(&format!("lk_{n}_reg"), *w, ""))
        .collect();
    m.unused(
        "lookup",
        vec![lk_stag_unused.clone(), lk_reg[4].slice(2, 0)],
        "the looked-up STag is cur_stag; only rights bit 3 (remote write) is checked",
    );
    let mt_hit = m.signal("miss_hit", 1, "cur_stag is waited on");
    let mt_rejected = m.signal("miss_rejected", 1, "cur_stag was rejected by the host");
    let mt_free = m.signal("miss_has_free", 1, "");
    let mt_retiring = m.signal("miss_has_retiring", 1, "");

    m.sync("select a segment, capture the lookups", |b| {
        b.when(&take, |b| {
            b.assign(&cur, sel_data.clone());
            b.assign(&cur_hold, take_hold.clone());
            b.assign(&cur_behind, sel_behind.clone());
            b.assign(&park_cnt, park_cnt_mem.read(conn_idx(&sel_conn)));
            b.assign(&got_ct, Expr::lit(0, 1));
            b.assign(&got_lk, Expr::lit(0, 1));
        });
        b.when(&ct_sig[0], |b| {
            b.assign(&got_ct, Expr::lit(1, 1));
            for (r, s) in ct_reg.iter().zip(ct_sig.iter().skip(1)) {
                b.assign(r, s);
            }
        });
        b.when(&lk_valid, |b| {
            b.assign(&got_lk, Expr::lit(1, 1));
            b.if_else(
                &mt_rejected,
                |b| {
                    b.assign(&lk_status_reg, Expr::lit(lookup_status::INVALID, 3));
                    for r in &lk_reg {
                        b.assign(r, Expr::zero(r.width()));
                    }
                },
                |b| {
                    b.assign(&lk_status_reg, &lk_status);
                    for (r, s) in lk_reg.iter().zip(&lk_sig) {
                        b.assign(r, s);
                    }
                },
            );
        });
    });

    // ---- the verdict ----
    let v_valid = m.signal("v_out_valid", 1, "");
    let v_out: Vec<(&str, u32)> = vec![
        ("action", 3),
        ("reason", 4),
        ("term_layer", 4),
        ("term_etype", 4),
        ("term_ecode", 8),
        ("term_with_hdr", 1),
        ("term_with_rreq", 1),
        ("term_seg_len", 16),
        ("term_hdr", HDR_BITS),
        ("place_addr", ab),
        ("place_len", COUNT_BITS),
        ("invalidate_after", 1),
        ("msn_advance_send", 1),
        ("msn_advance_rreq", 1),
        ("set_conn_error", 1),
        ("hdr_tagged", 1),
        ("hdr_stag", 32),
    ];
    let v: Vec<Expr> = v_out
        .iter()
        .map(|(n, w)| m.signal(&format!("v_{n}"), *w, "verdict (stable while judged)"))
        .collect();
    let vf = |name: &str| -> Expr {
        let i = v_out
            .iter()
            .position(|(n, _)| *n == name)
            .expect("verdict field");
        v[i].clone()
    };
    let v_action = vf("action");
    let v_reason = vf("reason");

    // ---- act ----
    let act_park = m.signal("act_park", 1, "the segment goes into the hold queue");
    m.assign(&act_park, cur_behind.lor(v_action.eq_lit(action::PARK)));
    let needs_entry = m.signal(
        "needs_miss_entry",
        1,
        "a PARK verdict on a STag not yet waited on",
    );
    // An INSTALL answered while this segment was being judged may have come
    // after its lookup: a PARK verdict is then not trusted (no miss entry,
    // no event); the segment is judged again after the replay the install
    // asked for. This keeps "one miss event per STag" exact.
    let stale = m.reg(
        "stale_reg",
        1,
        0,
        "an INSTALL was answered since this segment's lookup",
    );
    let stale_park = m.signal(
        "stale_park",
        1,
        "a PARK verdict that may predate an install",
    );
    m.assign(
        &stale_park,
        cur_behind
            .lnot()
            .land(v_action.eq_lit(action::PARK))
            .land(&stale),
    );
    m.assign(
        &needs_entry,
        cur_behind
            .lnot()
            .land(mt_hit.lnot())
            .land(v_action.eq_lit(action::PARK))
            .land(stale.lnot()),
    );
    let beats_ext = cur_beats.zext(hb_bits.max(beat_bits) + 1);
    let res_ext = hold_res.zext(hb_bits.max(beat_bits) + 1);
    let room = m.signal(
        "hold_room",
        1,
        "room to park the current segment from the wire",
    );
    m.assign(
        &room,
        hold_segs
            .lt(Expr::lit(p.hold_segments as u128, hs_bits))
            .land(
                (res_ext + beats_ext)
                    .le(Expr::lit(p.hold_beats as u128, hb_bits.max(beat_bits) + 1)),
            )
            .land(needs_entry.lnot().lor(&mt_free)),
    );
    let is_term = m.signal("act_terminate", 1, "");
    m.assign(
        &is_term,
        cur_behind.lnot().land(v_action.eq_lit(action::TERMINATE)),
    );
    let want_cap = m.signal(
        "want_capture",
        1,
        "an erroneous Read Request with payload: capture it for R",
    );
    m.assign(
        &want_cap,
        is_term.land(vf("term_with_rreq")).land(&has_data),
    );
    // Everything the action needs must be ready at once.
    let route_ok = has_data.lnot().lor(&rt_ready);
    // ACT, or the cycle the verdict appears (no wait state for it).
    let acting = m.signal(
        "acting",
        1,
        "the segment's verdict is known: act if all is ready",
    );
    m.assign(&acting, is(S_ACT).lor(is(S_WAIT_VERDICT).land(&v_valid)));
    let go_park = m.signal("go_park", 1, "park now");
    let go_other = m.signal("go_other", 1, "place / discard now");
    let abandon = m.signal(
        "abandon",
        1,
        "no room to park a segment from the wire: leave it at the FIFO head, retry",
    );
    m.assign(
        &go_park,
        acting
            .land(&act_park)
            .land(cur_hold.lor(room.land(stale_park.lnot())))
            .land(&hp_ready)
            .land(route_ok.clone()),
    );
    m.assign(
        &abandon,
        acting
            .land(&act_park)
            .land(cur_hold.lnot())
            .land(room.lnot().lor(&stale_park)),
    );
    let term_now = is_term.land(want_cap.lnot());
    m.assign(
        &go_other,
        acting
            .land(act_park.lnot())
            .land(&pl_ready)
            .land(route_ok)
            .land(term_now.lnot().lor(&t_ready)),
    );
    let go = go_park.lor(&go_other);
    let cap_term = is(S_CAPTURE).land(&cap_valid).land(&t_ready);

    m.assign(&d_ready, go.land(cur_hold.lnot()));
    m.assign(&h_ready, go.land(&cur_hold));
    m.assign(&hp_valid, &go_park);
    m.assign(&hp_data, &cur);
    m.assign(&rt_valid, go.land(&has_data));
    m.assign(&rt_src_hold, &cur_hold);
    m.assign(&rt_dst_hold, &act_park);
    m.assign(&rt_capture, want_cap.land(act_park.lnot()));
    m.assign(&pl_valid, &go_other);
    m.assign(
        &pl_addr,
        Expr::mux(
            v_action.eq_lit(action::PLACE),
            vf("place_addr"),
            Expr::zero(ab),
        ),
    );
    m.assign(&pl_len, cur_count.slice(rx_place::LEN_BITS - 1, 0));
    m.assign(&pl_drop, v_action.ne(Expr::lit(action::PLACE, 3)));
    m.assign(&pl_tag, &tag_ctr);
    m.assign(&dn_ready, Expr::lit(1, 1));
    m.unused(
        "count_top",
        vec![cur_count.slice(COUNT_BITS - 1, rx_place::LEN_BITS)],
        "rx_parse cuts payloads at --max-payload (at most 16 KiB), so count fits 16 bits",
    );
    m.assign(&cap_ready, cap_term.clone());
    let t_fire = go_other.land(&term_now).lor(&cap_term);
    m.assign(&t_valid, t_fire.clone());
    m.assign(&t_conn, &cur_conn);
    m.assign(&t_msn, &ct_reg[5]);
    m.assign(&t_layer, vf("term_layer"));
    m.assign(&t_etype, vf("term_etype"));
    m.assign(&t_ecode, vf("term_ecode"));
    m.assign(&t_hdr_valid, vf("term_with_hdr"));
    m.assign(&t_hdr_tagged, vf("hdr_tagged"));
    m.assign(&t_seg_len, vf("term_seg_len"));
    m.assign(&t_hdr, vf("term_hdr"));
    m.assign(&t_rreq_valid, vf("term_with_rreq"));
    m.assign(
        &t_rreq,
        Expr::mux(
            &is(S_CAPTURE),
            cap_data.clone(),
            Expr::zero(8 * CAPTURE_BYTES),
        ),
    );

    // conn_table update: judged segments leaving the judge.
    let up_valid = m.signal("up_valid", 1, "");
    m.assign(
        &up_valid,
        go.land(cur_behind.lnot())
            .land(v_action.ne(Expr::lit(action::PARK, 3))),
    );
    let miss_alloc = m.signal("miss_alloc", 1, "");
    m.assign(&miss_alloc, go_park.land(&needs_entry).land(&mt_free));

    // ---- host STag commands: shared with the Send-with-Invalidate path ----
    let inv_cmd = is(S_INV_CMD);
    let host_cmd_valid = m.input("stag_cmd_valid", 1, "host STag table command");
    let host_cmd_ready = m.output("stag_cmd_ready", 1, "");
    let host_resp_valid = m.output("stag_resp_valid", 1, "");
    let host_resp_ready = m.input("stag_resp_ready", 1, "");
    let tb_cmd_ready = m.signal("tb_cmd_ready", 1, "");
    let tb_resp_valid = m.signal("tb_resp_valid", 1, "");
    let tb_resp_stag = m.signal("tb_resp_stag", 32, "");
    let host_op = m.signal("host_cmd_op_w", 3, "");
    let owner_int = m.reg(
        "owner_internal_reg",
        1,
        0,
        "the table's command in flight is the pipeline's INVALIDATE",
    );
    let host_install = m.reg(
        "host_install_reg",
        1,
        0,
        "the host's command in flight is an INSTALL",
    );
    m.assign(&host_cmd_ready, tb_cmd_ready.land(inv_cmd.lnot()));
    m.assign(&host_resp_valid, tb_resp_valid.land(owner_int.lnot()));
    let host_accept = host_cmd_valid.land(&host_cmd_ready);
    let int_accept = inv_cmd.land(&tb_cmd_ready);
    let host_resp_take = tb_resp_valid.land(owner_int.lnot()).land(&host_resp_ready);
    // The pipeline's INVALIDATE response is taken once its event has room.
    let int_resp_take = tb_resp_valid
        .land(&owner_int)
        .land(iv_valid.lnot().lor(&iv_ready));
    let install_done = m.signal("install_done", 1, "the host took an INSTALL's response");
    m.assign(&install_done, host_resp_take.land(&host_install));

    let mut to_table: Vec<(String, Expr)> = vec![
        ("clk".into(), clk.clone()),
        ("rst".into(), rst.clone()),
        ("nic_id".into(), nic_id.clone()),
        ("lookup_valid".into(), lookup_go.clone()),
        (
            "lookup_stag".into(),
            sel_data.slice(COUNT_BITS + 127, COUNT_BITS + 96),
        ),
        ("lookup_resp_valid".into(), lk_valid.clone()),
        ("lookup_resp_stag".into(), lk_stag_unused.clone()),
        ("lookup_resp_status".into(), lk_status.clone()),
        (
            "cmd_valid".into(),
            Expr::mux(&inv_cmd, Expr::lit(1, 1), host_cmd_valid.clone()),
        ),
        ("cmd_ready".into(), tb_cmd_ready.clone()),
        ("resp_valid".into(), tb_resp_valid.clone()),
        (
            "resp_ready".into(),
            Expr::mux(
                &owner_int,
                iv_valid.lnot().lor(&iv_ready),
                host_resp_ready.clone(),
            ),
        ),
    ];
    for ((n, _), s) in lk_fields.iter().zip(&lk_sig) {
        to_table.push((format!("lookup_resp_{n}"), s.clone()));
    }
    for (s, d) in table.ports() {
        let name = s.name.to_string();
        if to_table.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let host = match d {
            Dir::Input => m.input(&format!("stag_{name}"), s.width, ""),
            Dir::Output => m.output(&format!("stag_{name}"), s.width, ""),
        };
        let e = match name.as_str() {
            "cmd_op" => {
                m.assign(&host_op, &host);
                Expr::mux(
                    &inv_cmd,
                    Expr::lit(stag_table::op::INVALIDATE, 3),
                    host_op.clone(),
                )
            }
            "cmd_stag" => Expr::mux(&inv_cmd, inv_stag.clone(), host.clone()),
            "resp_stag" => {
                m.assign(&host, &tb_resp_stag);
                tb_resp_stag.clone()
            }
            n if n.starts_with("cmd_") => Expr::mux(&inv_cmd, Expr::zero(s.width), host.clone()),
            _ => host.clone(),
        };
        to_table.push((name, e));
    }
    m.instance(&table, "u_stag_table", conns_of(&to_table));

    // ---- connection table ----
    let mut to_conn: Vec<(String, Expr)> = vec![
        ("clk".into(), clk.clone()),
        ("rst".into(), rst.clone()),
        ("rd_valid".into(), lookup_go.clone()),
        ("rd_conn".into(), sel_conn.clone()),
        ("up_valid".into(), up_valid.clone()),
        ("up_conn".into(), cur_conn.clone()),
        ("up_msn_send".into(), vf("msn_advance_send")),
        ("up_msn_rreq".into(), vf("msn_advance_rreq")),
        ("up_msn_term".into(), is_term.clone()),
        ("up_set_error".into(), vf("set_conn_error")),
    ];
    for ((n, _), s) in ct_out.iter().zip(&ct_sig) {
        to_conn.push((n.to_string(), s.clone()));
    }
    for (s, d) in conns.ports() {
        let name = s.name.to_string();
        if to_conn.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let e = match d {
            Dir::Input => m.input(&format!("conn_{name}"), s.width, ""),
            Dir::Output => m.output(&format!("conn_{name}"), s.width, ""),
        };
        to_conn.push((name, e));
    }
    m.instance(&conns, "u_conn_table", conns_of(&to_conn));

    // ---- checks ----
    let cr = |i: usize| ct_reg[i].clone();
    let mut to_verdict: Vec<(String, Expr)> = vec![
        ("clk".into(), clk.clone()),
        ("rst".into(), rst.clone()),
        ("in_valid".into(), is(S_VERDICT)),
        ("desc_length_ok".into(), dl.field(&cur, "length_ok")),
        ("desc_crc_ok".into(), dl.field(&cur, "crc_ok")),
        ("desc_mpa_len".into(), dl.field(&cur, "mpa_len")),
        ("desc_hdr".into(), cur_hdr.clone()),
        ("desc_count".into(), cur_count.clone()),
        ("conn_known".into(), cr(0)),
        ("conn_error".into(), cr(1)),
        ("conn_pd".into(), cr(2)),
        ("conn_msn_send".into(), cr(3)),
        ("conn_msn_rreq".into(), cr(4)),
        ("conn_rq_valid".into(), cr(6)),
        ("conn_rq_addr".into(), cr(7)),
        ("conn_rq_len".into(), cr(8)),
        ("lk_status".into(), lk_status_reg.clone()),
        ("lk_dma_base".into(), lk_reg[0].clone()),
        ("lk_va_base".into(), lk_reg[1].clone()),
        ("lk_length".into(), lk_reg[2].clone()),
        ("lk_pd".into(), lk_reg[3].clone()),
        ("lk_remote_write".into(), lk_reg[4].bit(3)),
        ("lk_remote_inv".into(), lk_reg[5].clone()),
        ("out_valid".into(), v_valid.clone()),
    ];
    for ((n, _), s) in v_out.iter().zip(&v) {
        to_verdict.push((n.to_string(), s.clone()));
    }
    m.instance(&verdict, "u_verdict", conns_of(&to_verdict));

    // ---- miss table ----
    let pass_start_pulse = start_pass.clone();
    let to_miss: Vec<(String, Expr)> = vec![
        ("clk".into(), clk.clone()),
        ("rst".into(), rst.clone()),
        ("q_stag".into(), cur_stag.clone()),
        ("q_hit".into(), mt_hit.clone()),
        ("q_rejected".into(), mt_rejected.clone()),
        ("has_free".into(), mt_free.clone()),
        ("has_retiring".into(), mt_retiring.clone()),
        ("alloc_valid".into(), miss_alloc.clone()),
        ("alloc_conn".into(), cur_conn.clone()),
        ("install_valid".into(), install_done.clone()),
        ("install_stag".into(), tb_resp_stag.clone()),
        ("reject_valid".into(), rj_valid.clone()),
        ("reject_stag".into(), rj_stag.clone()),
        ("reject_unknown".into(), m.signal("reject_unknown", 1, "")),
        ("pass_start".into(), pass_start_pulse),
        ("pass_end".into(), pass_done.clone()),
        ("m_event_valid".into(), ev_valid.clone()),
        ("m_event_ready".into(), ev_ready.clone()),
        ("m_event_stag".into(), ev_stag.clone()),
        ("m_event_conn".into(), ev_conn.clone()),
    ];
    let rj_unknown = to_miss
        .iter()
        .find(|(n, _)| n == "reject_unknown")
        .map(|(_, e)| e.clone())
        .expect("wired above");
    m.instance(&miss, "u_miss_table", conns_of(&to_miss));
    m.assign(&rj_ready, Expr::lit(1, 1));

    // ---- FSM ----
    let cur_idx = conn_idx(&cur_conn);
    let one_hot = |idx: &Expr| -> Expr {
        if ncon == 1 {
            Expr::lit(1, 1)
        } else {
            Expr::lit(1, ncon).shl(idx.clone())
        }
    };
    let cur_bit = one_hot(&cur_idx);
    let last_parked = park_cnt.eq_lit(1);
    m.sync("judge and act", |b| {
        b.when(&start_pass, |b| {
            b.assign(&pass_active, Expr::lit(1, 1));
            b.assign(&pass_left, &hold_segs);
            b.assign(&blocked, Expr::zero(ncon));
            b.assign(&orphan, Expr::lit(0, 1));
            b.assign(&replay_req, Expr::lit(0, 1));
        });
        b.when(&pass_done, |b| {
            b.assign(&pass_active, Expr::lit(0, 1));
            // A segment re-parked with no miss entry asks again once an
            // entry frees (retiring ones free now).
            b.when(orphan.land(&mt_retiring), |b| {
                b.assign(&replay_req, Expr::lit(1, 1));
            });
        });
        b.when(&take, |b| {
            b.assign(
                &state,
                Expr::mux(
                    &sel_behind,
                    Expr::lit(S_ACT, STATE_BITS),
                    Expr::lit(S_LOOKUP, STATE_BITS),
                ),
            );
        });
        // Both answers in (or arriving at this edge): the checks start next cycle.
        let ct_in = got_ct.lor(&ct_sig[0]);
        let lk_in = got_lk.lor(&lk_valid);
        b.when(is(S_LOOKUP).land(ct_in).land(lk_in), |b| {
            b.assign(&state, Expr::lit(S_VERDICT, STATE_BITS));
        });
        b.when(is(S_VERDICT), |b| {
            b.assign(&state, Expr::lit(S_WAIT_VERDICT, STATE_BITS));
        });
        b.when(is(S_WAIT_VERDICT).land(&v_valid), |b| {
            b.assign(&state, Expr::lit(S_ACT, STATE_BITS));
        });
        b.when(&abandon, |b| {
            b.assign(&state, Expr::lit(S_IDLE, STATE_BITS));
            b.when(room.lnot(), |b| b.assign(&hold_full, Expr::lit(1, 1)));
        });
        b.when(&take, |b| b.assign(&stale, Expr::lit(0, 1)));
        b.when(&install_done, |b| b.assign(&stale, Expr::lit(1, 1)));
        b.when(&go, |b| {
            b.assign(
                &state,
                Expr::mux(
                    &want_cap,
                    Expr::lit(S_CAPTURE, STATE_BITS),
                    Expr::mux(
                        go_other.land(vf("invalidate_after")),
                        Expr::lit(S_INV_DONE, STATE_BITS),
                        Expr::lit(S_IDLE, STATE_BITS),
                    ),
                ),
            );
            b.when(&go_other, |b| {
                b.assign(&tag_ctr, tag_ctr.inc());
                b.assign(&inv_tag, &tag_ctr);
                b.assign(&inv_stag, vf("hdr_stag"));
            });
            b.when(cur_hold.lnot(), |b| b.assign(&hold_full, Expr::lit(0, 1)));
            b.when(&cur_hold, |b| b.assign(&pass_left, pass_left.dec()));
            // Hold bookkeeping.
            b.when(go_park.land(cur_hold.lnot()), |b| {
                b.assign(&hold_segs, hold_segs.inc());
                b.assign(
                    &hold_res,
                    hold_res.clone() + cur_beats.zext(hb_bits.max(beat_bits)).slice(hb_bits - 1, 0),
                );
                b.assign(&parked_any, parked_any.clone() | cur_bit.clone());
                b.mem_write(
                    &park_cnt_mem,
                    cur_idx.clone(),
                    Expr::mux(
                        bit_of(&parked_any, cur_idx.clone()),
                        park_cnt.inc(),
                        Expr::lit(1, hs_bits),
                    ),
                );
            });
            b.when(go_park.land(&cur_hold), |b| {
                b.assign(&blocked, blocked.clone() | cur_bit.clone());
                b.when(needs_entry.land(mt_free.lnot()), |b| {
                    b.assign(&orphan, Expr::lit(1, 1));
                });
            });
            b.when(go_other.land(&cur_hold), |b| {
                b.assign(&hold_segs, hold_segs.dec());
                b.assign(
                    &hold_res,
                    hold_res.clone() - cur_beats.zext(hb_bits.max(beat_bits)).slice(hb_bits - 1, 0),
                );
                b.mem_write(&park_cnt_mem, cur_idx.clone(), park_cnt.dec());
                b.when(last_parked.clone(), |b| {
                    b.assign(&parked_any, parked_any.clone() & !cur_bit.clone());
                });
            });
        });
        b.when(&cap_term, |b| {
            b.assign(&state, Expr::lit(S_IDLE, STATE_BITS))
        });
        b.when(
            is(S_INV_DONE).land(&dn_valid).land(dn_tag.eq(&inv_tag)),
            |b| b.assign(&state, Expr::lit(S_INV_CMD, STATE_BITS)),
        );
        b.when(&int_accept, |b| {
            b.assign(&state, Expr::lit(S_INV_RESP, STATE_BITS));
            b.assign(&owner_int, Expr::lit(1, 1));
        });
        b.when(&iv_ready, |b| b.assign(&iv_valid, Expr::lit(0, 1)));
        b.when(&int_resp_take, |b| {
            b.assign(&iv_valid, Expr::lit(1, 1));
            b.assign(&iv_stag_reg, &inv_stag);
            b.assign(&iv_conn_reg, &cur_conn);
            b.assign(&owner_int, Expr::lit(0, 1));
            b.assign(&state, Expr::lit(S_IDLE, STATE_BITS));
        });
        b.when(host_accept.clone(), |b| {
            b.assign(&host_install, host_op.eq_lit(stag_table::op::INSTALL));
        });
        b.when(&install_done, |b| b.assign(&host_install, Expr::lit(0, 1)));
        b.when(install_done.lor(&rj_valid), |b| {
            b.assign(&replay_req, Expr::lit(1, 1));
        });
    });

    // ---- status and counters ----
    let o_hold_full = m.output("hold_full", 1, "a segment waits for room in the hold queue");
    let o_hold_count = m.output("hold_count", hs_bits, "segments parked now");
    m.assign(&o_hold_full, &hold_full);
    m.assign(&o_hold_count, &hold_segs);
    let inc_when: Vec<(Expr, Expr)> = vec![
        (
            go_other.land(v_action.eq_lit(action::PLACE)),
            Expr::lit(1, 32),
        ),
        (
            go_other.land(v_action.eq_lit(action::PLACE)),
            vf("place_len").zext(32),
        ),
        (
            go_other.land(v_action.eq_lit(action::DELIVER)),
            Expr::lit(1, 32),
        ),
        (go_park.land(cur_hold.lnot()), Expr::lit(1, 32)),
        (miss_alloc.clone(), Expr::lit(1, 32)),
        (rj_unknown.clone(), Expr::lit(1, 32)),
        (t_fire.clone(), Expr::lit(1, 32)),
        (dn_valid.land(&dn_error), Expr::lit(1, 32)),
    ];
    let discard = go_other.land(
        v_action
            .eq_lit(action::DROP)
            .lor(v_action.eq_lit(action::TERMINATE)),
    );
    let mut counters: Vec<(Expr, Expr, Expr)> = Vec::new();
    for ((name, doc), (when, by)) in COUNTERS.iter().zip(inc_when) {
        let r = m.reg(&format!("cnt_{name}_reg"), 32, 0, "");
        let o = m.output(&format!("cnt_{name}"), 32, doc);
        m.assign(&o, &r);
        counters.push((r, when, by));
    }
    for k in 1..=CHECKS {
        let r = m.reg(&format!("cnt_check_{k}_reg"), 32, 0, "");
        let o = m.output(
            &format!("cnt_check_{k}"),
            32,
            &format!("segments discarded by check {k}"),
        );
        m.assign(&o, &r);
        counters.push((
            r,
            discard.land(v_reason.eq_lit(k as u128)),
            Expr::lit(1, 32),
        ));
    }
    m.sync("counters (wrap)", |b| {
        for (r, when, by) in &counters {
            b.when(when, |b| b.assign(r, r.clone() + by.clone()));
        }
    });
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elaborates_at_the_defaults() {
        elaborate(&RxDispatchParams::from_params(&Params::default())).unwrap();
    }
}
