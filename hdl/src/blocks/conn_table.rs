//! `conn_table`: the per-connection state of one NIC's receive path (valid,
//! error, protection domain, the three MSNs and a ring of posted receive
//! buffers), with a lookup port and an update port for the receive pipeline
//! and a command port for the host.
//!
//! The contract (ports, statuses, timing) is `docs/conn_table.md`; the
//! reference model in `testbench` is written from that page, not from this
//! file.
//!
//! Storage (the "Storage" section of that page): PD, the MSNs, the queue's
//! tail and the posted buffers are in block RAM, each memory with a single
//! writer (an MSN is a base the commands write plus an offset the update
//! port advances by read-modify-write, forwarded while its write is in
//! flight); a few bits per connection are flip-flops: `known` (a reset
//! clears them at once, no busy period), Error, whether the offsets count,
//! whether the queue is empty, and the head slot, which addresses the
//! posted-buffer RAM at the lookup's request edge. No block-RAM read is
//! ever made at the edge a write hits its word, so synthesis needs no
//! read/write collision logic.

use std::rc::Rc;

use crate::ir::{clog2, Expr, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Command opcodes (`cmd_op`).
pub mod op {
    pub const CREATE: u128 = 0;
    pub const DESTROY: u128 = 1;
    pub const POST_RECV: u128 = 2;
    pub const EXPORT: u128 = 3;
    pub const EXPORT_RQ: u128 = 4;
    pub const IMPORT: u128 = 5;
    pub const RECREATE: u128 = 6;
    /// Names, indexed by value; 7 is reserved (`BAD_OP`).
    pub const NAMES: &[&str] = &[
        "CREATE",
        "DESTROY",
        "POST_RECV",
        "EXPORT",
        "EXPORT_RQ",
        "IMPORT",
        "RECREATE",
        "RESERVED7",
    ];
}

/// Command statuses (`resp_status`).
pub mod status {
    pub const OK: u128 = 0;
    pub const EXISTS: u128 = 1;
    pub const UNKNOWN: u128 = 2;
    pub const FULL: u128 = 3;
    pub const RANGE: u128 = 4;
    pub const BAD_ID: u128 = 5;
    pub const BAD_OP: u128 = 6;
    /// Names, indexed by value.
    pub const NAMES: &[&str] = &[
        "OK", "EXISTS", "UNKNOWN", "FULL", "RANGE", "BAD_ID", "BAD_OP",
    ];
}

/// Lookup latency in cycles: request at edge k, answer sampled at edge k+2.
pub const LATENCY: u32 = 2;

/// Defaults of the generator parameters `--connections` and `--rq-depth`.
pub const DEFAULT_CONNECTIONS: u32 = 64;
pub const DEFAULT_RQ_DEPTH: u32 = 8;

/// Parameters of a `conn_table`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnTableParams {
    pub name: String,
    /// Connections (`--connections`: a power of two, 2 to 1024).
    pub connections: u32,
    /// Posted receive buffers per connection (`--rq-depth`: a power of two, 2 to 256).
    pub rq_depth: u32,
    pub pd_bits: u32,
    pub dma_addr_bits: u32,
}

impl ConnTableParams {
    pub fn from_params(p: &Params) -> Self {
        ConnTableParams {
            name: "conn_table".into(),
            connections: p.get32("connections"),
            rq_depth: p.get32("rq-depth"),
            pd_bits: p.get32("pd-bits"),
            dma_addr_bits: p.get32("dma-addr-bits"),
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        params::check("pd-bits", self.pd_bits as u64)?;
        params::check("dma-addr-bits", self.dma_addr_bits as u64)?;
        params::check("connections", self.connections as u64)?;
        params::check("rq-depth", self.rq_depth as u64)?;
        Ok(())
    }

    /// Bits of the connection index.
    pub fn conn_bits(&self) -> u32 {
        clog2(self.connections as u64)
    }
    /// Bits of a receive-queue slot index.
    pub fn rq_bits(&self) -> u32 {
        clog2(self.rq_depth as u64)
    }
}

/// AND-OR select of `vals` by the one-hot `sel`, the OR as a balanced tree
/// (1,024 connections would otherwise nest 1,024 deep).
fn pick(sel: &[Expr], vals: &[Expr]) -> Expr {
    let mut terms: Vec<Expr> = sel.iter().zip(vals).map(|(s, v)| s.gate(v)).collect();
    assert!(terms.len() >= 2, "at least two connections");
    while terms.len() > 1 {
        terms = terms
            .chunks(2)
            .map(|c| match c {
                [a, b] => a.clone() | b.clone(),
                [a] => a.clone(),
                _ => unreachable!(),
            })
            .collect();
    }
    terms.pop().expect("one term left")
}

/// Bits of the three MSNs (or their offsets) side by side: {term, rreq, send}.
const MSNS_BITS: u32 = 96;

/// MSN `f` (0 send, 1 rreq, 2 term) of a {term, rreq, send} word (a signal).
fn msn(word: &Expr, f: u32) -> Expr {
    word.slice(32 * f + 31, 32 * f)
}

/// Build the module.
pub fn elaborate(p: &ConnTableParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let n = p.connections;
    let cb = p.conn_bits();
    let qb = p.rq_bits();
    let pb = p.pd_bits;
    let ab = p.dma_addr_bits;
    let bw = ab + 32; // a posted buffer: {len, addr}
    let mw = MSNS_BITS;
    let cw = pb + mw; // a base word: {pd, msn_term, msn_rreq, msn_send}

    let mut m = ModuleBuilder::new(
        &p.name,
        "Connection table of one NIC: state, MSNs and posted receive buffers",
    );
    m.param(
        "CONNECTIONS",
        n as u64,
        "connections; id[log2(CONNECTIONS)-1:0] indexes, higher ids are unknown",
    );
    m.param(
        "RQ_DEPTH",
        p.rq_depth as u64,
        "posted receive buffers per connection (block RAM ring)",
    );
    m.param("PD_BITS", pb as u64, "protection domain width");
    m.param("DMA_ADDR_BITS", ab as u64, "host address width");

    // ---- ports ----
    m.clock_and_reset();
    let rd_valid = m.input("rd_valid", 1, "lookup request, one per clock");
    let rd_conn = m.input("rd_conn", 16, "connection id to look up");
    let rd_out_valid = m.reg("rd_out_valid_reg", 1, 0, "");
    let o_rd_out_valid = m.output("rd_out_valid", 1, "answer to the request 2 cycles earlier");
    let o_rd_known = m.output("rd_known", 1, "the connection exists");
    let o_rd_error = m.output("rd_error", 1, "it is in Error");
    let o_rd_pd = m.output("rd_pd", pb, "");
    let o_rd_msn_send = m.output("rd_msn_send", 32, "next expected Send MSN");
    let o_rd_msn_rreq = m.output("rd_msn_rreq", 32, "next expected Read Request MSN");
    let o_rd_msn_term = m.output("rd_msn_term", 32, "MSN of the next Terminate sent");
    let o_rd_rq_valid = m.output("rd_rq_valid", 1, "a posted buffer heads the queue");
    let o_rd_rq_addr = m.output("rd_rq_addr", ab, "head buffer's host address");
    let o_rd_rq_len = m.output("rd_rq_len", 32, "head buffer's length");

    let up_valid = m.input("up_valid", 1, "an update this cycle");
    let up_conn = m.input("up_conn", 16, "");
    let up_msn_send = m.input("up_msn_send", 1, "Send message completed: MSN + 1, pop");
    let up_msn_rreq = m.input("up_msn_rreq", 1, "Read Request delivered: MSN + 1");
    let up_msn_term = m.input("up_msn_term", 1, "Terminate sent: MSN + 1");
    let up_set_error = m.input("up_set_error", 1, "the connection enters Error");

    let cmd_valid = m.input("cmd_valid", 1, "");
    let cmd_ready = m.output("cmd_ready", 1, "idle and no response pending");
    let cmd_op = m.input(
        "cmd_op",
        3,
        "CREATE, DESTROY, POST_RECV, EXPORT, EXPORT_RQ, IMPORT, RECREATE",
    );
    let cmd_conn = m.input("cmd_conn", 16, "");
    let cmd_pd = m.input("cmd_pd", pb, "CREATE, IMPORT");
    let cmd_msn_send = m.input("cmd_msn_send", 32, "CREATE, IMPORT, RECREATE");
    let cmd_msn_rreq = m.input("cmd_msn_rreq", 32, "CREATE, IMPORT, RECREATE");
    let cmd_msn_term = m.input("cmd_msn_term", 32, "CREATE, IMPORT, RECREATE");
    let cmd_error = m.input("cmd_error", 1, "IMPORT: the connection's Error bit");
    let cmd_addr = m.input("cmd_addr", ab, "POST_RECV");
    let cmd_len = m.input("cmd_len", 32, "POST_RECV");
    let cmd_index = m.input("cmd_index", qb, "EXPORT_RQ: buffer index from the head");
    let resp_valid = m.output("resp_valid", 1, "");
    let resp_ready = m.input("resp_ready", 1, "");
    let o_resp_status = m.output("resp_status", 3, "");
    let o_resp_conn = m.output("resp_conn", 16, "the command's connection id");
    let o_resp_error = m.output("resp_error", 1, "EXPORT");
    let o_resp_pd = m.output("resp_pd", pb, "EXPORT");
    let o_resp_msn_send = m.output("resp_msn_send", 32, "EXPORT");
    let o_resp_msn_rreq = m.output("resp_msn_rreq", 32, "EXPORT");
    let o_resp_msn_term = m.output("resp_msn_term", 32, "EXPORT");
    let o_resp_rq_count = m.output("resp_rq_count", qb + 1, "EXPORT: posted buffers");
    let o_resp_rq_addr = m.output("resp_rq_addr", ab, "EXPORT_RQ");
    let o_resp_rq_len = m.output("resp_rq_len", 32, "EXPORT_RQ");

    // ---- per-connection state ----
    // Flip-flops hold only what a reset must clear at once (`known`), what
    // an edge must know before a block-RAM read could answer (the head slot
    // addresses rq_mem at the lookup's request edge; a pop is decided at
    // the update's edge from the non-empty bit), and the two single bits
    // both the update port and the commands write (Error, whether the MSN
    // offsets count). The rest is block RAM, each memory with one writer:
    // * base_mem, written by commands: PD and the MSNs as the last load
    //   (CREATE, IMPORT, RECREATE) set them;
    // * off_mem, written by the update port: the three MSN advances since
    //   then (read-modify-write, the write one edge after the update and
    //   forwarded to every reader that cannot see it yet). A load clears
    //   `conn_off_live`: the offsets then count as 0 whatever off_mem holds;
    // * tail_mem, written by commands: the queue's tail slot;
    // * rq_mem, written by POST_RECV: the posted buffers.
    // An MSN is base + offset (mod 2^32).
    let per = |m: &mut ModuleBuilder, base: &str, w: u32, reset: bool| -> Vec<Expr> {
        (0..n)
            .map(|i| {
                let name = format!("{base}_{i}");
                if reset {
                    m.reg(&name, w, 0, "")
                } else {
                    m.signal(&name, w, "")
                }
            })
            .collect()
    };
    let c_valid = per(&mut m, "conn_valid", 1, true);
    let c_error = per(&mut m, "conn_error", 1, false);
    let c_live = per(&mut m, "conn_off_live", 1, false);
    let c_ne = per(&mut m, "conn_rq_nonempty", 1, false);
    let c_head = per(&mut m, "conn_rq_head", qb, false);
    let base_mem = m.memory(
        "base_mem",
        cw,
        n,
        "{pd, msn_term, msn_rreq, msn_send} as the last CREATE / IMPORT / RECREATE set them",
    );
    let off_mem = m.memory(
        "off_mem",
        mw,
        n,
        "{term, rreq, send} advances since that load (counts while conn_off_live)",
    );
    let tail_mem = m.memory("tail_mem", qb, n, "the queue's tail slot");
    let rq_mem = m.memory(
        "rq_mem",
        bw,
        n * p.rq_depth,
        "posted buffers {len, addr} at {connection, slot}",
    );

    // One-hot decode of a connection id; all zero when the id is out of range.
    let decode = |m: &mut ModuleBuilder, name: &str, id: &Expr| -> Vec<Expr> {
        let in_range = id.slice(15, cb).eq(Expr::zero(16 - cb));
        let sel = m.signal(name, n, "one-hot connection select (zero: id out of range)");
        m.assign(
            &sel,
            Expr::concat(
                (0..n)
                    .rev()
                    .map(|i| in_range.land(id.slice(cb - 1, 0).eq_lit(i as u128))),
            ),
        );
        (0..n).map(|i| sel.bit(i)).collect()
    };
    // A named wire.
    let wire = |m: &mut ModuleBuilder, name: &str, value: Expr, comment: &str| -> Expr {
        let s = m.signal(name, value.width(), comment);
        m.assign(&s, value);
        s
    };
    // base + offset, per MSN.
    let sum = |base: &Expr, off: &Expr, f: u32| msn(base, f) + msn(off, f);

    // ---- commands: capture at the accept edge a ----
    let busy = m.reg("cmd_busy_reg", 1, 0, "a command was accepted: execute now");
    let r_valid = m.reg("resp_valid_reg", 1, 0, "");
    let c_op = m.signal("c_op_reg", 3, "");
    let c_conn = m.signal("c_conn_reg", 16, "");
    let c_pd_in = m.signal("c_pd_reg", pb, "");
    let c_msn_s = m.signal("c_msn_send_reg", 32, "");
    let c_msn_r = m.signal("c_msn_rreq_reg", 32, "");
    let c_msn_t = m.signal("c_msn_term_reg", 32, "");
    let c_err_in = m.signal("c_error_reg", 1, "");
    let c_buf = m.signal("c_buf_reg", bw, "POST_RECV: {len, addr}");
    let c_index = m.signal("c_index_reg", qb, "");
    let commit = m.reg(
        "cmd_commit_reg",
        1,
        0,
        "a command executed at the previous edge: commit now",
    );
    m.assign(
        &cmd_ready,
        busy.lnot().land(commit.lnot()).land(r_valid.lnot()),
    );
    let accept = cmd_valid.land(&cmd_ready);
    m.sync("command capture", |b| {
        b.when(accept.clone(), |b| {
            b.assign(&c_op, &cmd_op);
            b.assign(&c_conn, &cmd_conn);
            b.assign(&c_pd_in, &cmd_pd);
            b.assign(&c_msn_s, &cmd_msn_send);
            b.assign(&c_msn_r, &cmd_msn_rreq);
            b.assign(&c_msn_t, &cmd_msn_term);
            b.assign(&c_err_in, &cmd_error);
            b.assign(&c_buf, Expr::concat([cmd_len.clone(), cmd_addr.clone()]));
            b.assign(&c_index, &cmd_index);
        });
    });
    // The command's one-hot select, decoded from `cmd_conn` at the accept
    // edge (registered: the execute and commit edges only read it).
    let cmd_sel_in = decode(&mut m, "cmd_sel_in", &cmd_conn);
    let c_sel_reg = m.signal(
        "cmd_sel_reg",
        n,
        "one-hot select of the command's connection",
    );
    let c_sel: Vec<Expr> = (0..n).map(|i| c_sel_reg.bit(i)).collect();
    let c_idx = c_conn.slice(cb - 1, 0);
    let c_in_range = c_conn.slice(15, cb).eq(Expr::zero(16 - cb));
    // The accept edge also reads the command's words (process below).
    let k_base = m.signal("cmd_base_reg", cw, "base_mem read data");
    let k_tail = m.signal("cmd_tail_reg", qb, "tail_mem read data");
    let k_off = m.signal("cmd_off_reg", mw, "off_mem read data");
    let k_fwd_hit = m.signal("cmd_fwd_hit_reg", 1, "offsets written at the accept edge");
    let k_fwd_off = m.signal("cmd_fwd_off_reg", mw, "");

    // ---- updates: edge u, and the write of its results at u+1 ----
    // Edge u applies the flip-flop effects (Error, head pop, offsets live)
    // and reads off_mem and tail_mem; the next cycle adds the advances to
    // the offsets in force and works out whether a pop emptied the queue;
    // edge u+1 writes both.
    let up_sel = decode(&mut m, "up_sel", &up_conn);
    let up_idx = up_conn.slice(cb - 1, 0);
    let s_valid = m.reg("upd_valid_reg", 1, 0, "offsets to write at the next edge");
    let s_pop = m.reg(
        "upd_pop_reg",
        1,
        0,
        "a pop: nonempty to write at the next edge",
    );
    let s_idx = m.signal("upd_idx_reg", cb, "");
    let s_inc = m.signal("upd_inc_reg", 3, "advance {term, rreq, send}");
    let s_live = m.signal("upd_live_reg", 1, "conn_off_live before the update's edge");
    let s_cancel = m.signal(
        "upd_cancel_reg",
        1,
        "a load committed to the same connection at the update's edge and wins",
    );
    let s_post = m.signal(
        "upd_post_reg",
        1,
        "a POST_RECV committed to the same connection at the update's edge",
    );
    let s_fwd_hit = m.signal(
        "upd_fwd_hit_reg",
        1,
        "the previous update's offsets, written at this edge",
    );
    let s_fwd_off = m.signal("upd_fwd_off_reg", mw, "");
    let s_off = m.signal("upd_off_reg", mw, "off_mem read data");
    let s_head = m.signal("upd_head_reg", qb, "the head after the pop");
    let s_tail = m.signal("upd_tail_reg", qb, "tail_mem read data");
    let u_wen = wire(
        &mut m,
        "upd_wen",
        s_valid.land(s_cancel.lnot()),
        "off_mem write at the next edge",
    );
    let u_base = wire(
        &mut m,
        "upd_base",
        Expr::mux(s_fwd_hit.clone(), s_fwd_off.clone(), s_live.gate(&s_off)),
        "the offsets in force before the update",
    );
    let u_new = wire(
        &mut m,
        "upd_new",
        Expr::concat(
            (0..3)
                .rev()
                .map(|f| msn(&u_base, f) + s_inc.bit(f).zext(32)),
        ),
        "the offsets written at the next edge",
    );
    let ne_wen = wire(
        &mut m,
        "upd_ne_wen",
        s_pop.land(s_cancel.lnot()),
        "nonempty written at the next edge",
    );
    let ne_new = wire(
        &mut m,
        "upd_ne_new",
        s_post.lor(s_head.ne(&s_tail)),
        "the popped queue's nonempty bit",
    );
    // The off_mem write at the next edge hits connection `idx`.
    let fwd_hit = |idx: &Expr| u_wen.land(s_idx.eq(idx));
    // Nonempty before the next edge: a pending write, else the flip-flop.
    let ne_eff = |idx: &Expr, ff: Expr| Expr::mux(ne_wen.land(s_idx.eq(idx)), ne_new.clone(), ff);

    // ---- commands: status at the execute edge a+1, commit at a+2 ----
    // The accept edge a selects the command's flip-flop bits (from the
    // `cmd_conn` port, so the execute cycle starts from registers): the
    // state before edge a, with the nonempty write pending at a forwarded.
    // No command commits at edge a (a command is accepted only when none is
    // executing or committing), and updates never change `known`; the
    // execute cycle adds the update of edge a (a pop) and the nonempty
    // write pending at a+1.
    let cmd_idx_in = cmd_conn.slice(cb - 1, 0);
    let a_known = m.signal("cmd_known_reg", 1, "known, selected at the accept edge");
    let a_head = m.signal("cmd_head_reg", qb, "head slot before the accept edge");
    let a_ne = m.signal("cmd_nonempty_reg", 1, "nonempty before the accept edge");
    m.sync("command select at the accept edge", |b| {
        b.when(accept.clone(), |b| {
            b.assign(&c_sel_reg, Expr::concat(cmd_sel_in.iter().rev().cloned()));
            b.assign(&a_known, pick(&cmd_sel_in, &c_valid));
            b.assign(&a_head, pick(&cmd_sel_in, &c_head));
            b.assign(&a_ne, ne_eff(&cmd_idx_in, pick(&cmd_sel_in, &c_ne)));
        });
    });
    let c_known = a_known.clone();
    let k_head = wire(
        &mut m,
        "cmd_head",
        Expr::mux(s_pop.land(s_idx.eq(&c_idx)), s_head.clone(), a_head.clone()),
        "head slot before the execute edge (the update of the accept edge popped it)",
    );
    let k_ne = wire(
        &mut m,
        "cmd_nonempty",
        ne_eff(&c_idx, a_ne.clone()),
        "its queue is not empty",
    );
    let k_diff = wire(
        &mut m,
        "cmd_diff",
        k_tail.clone() - k_head.clone(),
        "tail - head",
    );
    let c_count = wire(
        &mut m,
        "cmd_count",
        Expr::concat([k_ne.land(k_diff.eq_lit(0)), k_diff.clone()]),
        "posted buffers",
    );
    let is = |v: u128| c_op.eq_lit(v);
    let st = |v: u128| Expr::lit(v, 3);
    let full = c_count.eq_lit(p.rq_depth as u128);
    let idx_ok = c_index.zext(qb + 1).lt(&c_count);
    let need_known = |ok: Expr| Expr::mux(c_known.clone(), ok, st(status::UNKNOWN));
    let creates = Expr::mux(
        c_in_range.lnot(),
        st(status::BAD_ID),
        Expr::mux(c_known.clone(), st(status::EXISTS), st(status::OK)),
    );
    let c_status = wire(
        &mut m,
        "cmd_status",
        Expr::mux(
            is(op::CREATE).lor(is(op::IMPORT)),
            creates,
            Expr::mux(
                is(op::DESTROY).lor(is(op::EXPORT)).lor(is(op::RECREATE)),
                need_known(st(status::OK)),
                Expr::mux(
                    is(op::POST_RECV),
                    need_known(Expr::mux(full, st(status::FULL), st(status::OK))),
                    Expr::mux(
                        is(op::EXPORT_RQ),
                        need_known(Expr::mux(idx_ok, st(status::OK), st(status::RANGE))),
                        st(status::BAD_OP),
                    ),
                ),
            ),
        ),
        "the command's status",
    );
    let exec_ok = wire(
        &mut m,
        "cmd_exec_ok",
        busy.land(c_status.eq_lit(status::OK)),
        "the executing command succeeds: it commits at the next edge",
    );
    // The commit edge a+2 acts on registered flags only (the status logic
    // ends in registers; the per-connection write enables and the block-RAM
    // write ports start from them). The command's fields stay registered
    // until the next accept, at a+3 at the earliest.
    let do_load = m.reg(
        "cmd_do_load_reg",
        1,
        0,
        "CREATE / IMPORT / RECREATE commit: base, Error, empty queue",
    );
    let do_create = m.reg("cmd_do_create_reg", 1, 0, "CREATE / IMPORT commit: known");
    let do_destroy = m.reg("cmd_do_destroy_reg", 1, 0, "DESTROY commits");
    let do_post = m.reg("cmd_do_post_reg", 1, 0, "POST_RECV commits");
    m.sync("command commit flags (execute edge a+1)", |b| {
        b.assign(
            &do_load,
            exec_ok.land(is(op::CREATE).lor(is(op::IMPORT)).lor(is(op::RECREATE))),
        );
        b.assign(&do_create, exec_ok.land(is(op::CREATE).lor(is(op::IMPORT))));
        b.assign(&do_destroy, exec_ok.land(is(op::DESTROY)));
        b.assign(&do_post, exec_ok.land(is(op::POST_RECV)));
    });
    let new_error = is(op::IMPORT).land(&c_err_in);
    let post_slot = wire(
        &mut m,
        "cmd_post_slot",
        Expr::concat([c_idx.clone(), k_tail.clone()]),
        "POST_RECV: the rq_mem word written",
    );
    let nx_tail = wire(
        &mut m,
        "cmd_next_tail",
        k_tail.inc(),
        "the tail after a POST_RECV",
    );
    let tail_wen = do_post.lor(&do_load);

    // ---- the update stage ----
    let up_known = wire(
        &mut m,
        "up_known",
        pick(&up_sel, &c_valid),
        "the updated connection exists",
    );
    let up_head = wire(&mut m, "up_head", pick(&up_sel, &c_head), "");
    let up_apply = up_valid.land(&up_known);
    let up_any_msn = up_msn_send.lor(&up_msn_rreq).lor(&up_msn_term);
    let nx_head = wire(
        &mut m,
        "up_next_head",
        up_head.inc(),
        "the head after a pop",
    );
    let pop = wire(
        &mut m,
        "up_pop",
        up_apply
            .land(&up_msn_send)
            .land(ne_eff(&up_idx, pick(&up_sel, &c_ne))),
        "the update pops a posted buffer",
    );
    m.sync("update stage 1: read the offsets and the tail", |b| {
        b.assign(&s_valid, up_apply.land(&up_any_msn));
        b.assign(&s_pop, pop.clone());
        b.assign(&s_idx, &up_idx);
        b.assign(
            &s_inc,
            Expr::concat([
                up_msn_term.clone(),
                up_msn_rreq.clone(),
                up_msn_send.clone(),
            ]),
        );
        b.assign(&s_live, pick(&up_sel, &c_live));
        b.assign(&s_cancel, do_load.land(c_idx.eq(&up_idx)));
        b.assign(&s_post, do_post.land(c_idx.eq(&up_idx)));
        b.assign(&s_fwd_hit, fwd_hit(&up_idx));
        b.assign(&s_fwd_off, &u_new);
        b.assign(&s_head, &nx_head);
        // A block RAM read is skipped whenever a write hits its word at the
        // same edge, so no read collides with a write (no collision logic
        // in synthesis): here the forwarded offsets are used instead, and
        // the tail does not matter (the commit that writes it decides).
        b.when(fwd_hit(&up_idx).lnot(), |b| {
            b.assign(&s_off, off_mem.read(up_idx.clone()))
        });
        b.when(tail_wen.land(c_idx.eq(&up_idx)).lnot(), |b| {
            b.assign(&s_tail, tail_mem.read(up_idx.clone()))
        });
    });
    m.sync("update stage 2: write the offsets", |b| {
        b.when(u_wen.clone(), |b| {
            b.mem_write(&off_mem, s_idx.clone(), u_new.clone())
        });
    });

    // ---- commands: the accept edge reads the command's words ----
    m.sync("command read at the accept edge", |b| {
        // Read only at an accept: `cmd_base_reg` keeps the word until the
        // next one (a lookup at the commit edge needs the old word).
        b.when(accept.clone(), |b| {
            b.assign(&k_base, base_mem.read(cmd_idx_in.clone()));
            b.assign(&k_tail, tail_mem.read(cmd_idx_in.clone()));
        });
        b.when(fwd_hit(&cmd_idx_in).lnot(), |b| {
            b.assign(&k_off, off_mem.read(cmd_idx_in.clone()))
        });
        b.assign(&k_fwd_hit, fwd_hit(&cmd_idx_in));
        b.assign(&k_fwd_off, &u_new);
    });
    // The state before edge a+1 includes the update of edge a, whose offsets
    // are written only at a+1. When it hit this connection, its own stage
    // read the very words the accept edge read (same edge, same address),
    // so its result is these offsets plus its advances: the EXPORT adds
    // them as a carry in. `conn_off_live` is taken from before edge a.
    let k_hit = wire(
        &mut m,
        "cmd_upd_hit",
        fwd_hit(&c_idx),
        "the update of the accept edge advances this connection",
    );
    let k_live = Expr::mux(k_hit.clone(), s_live.clone(), pick(&c_sel, &c_live));
    let k_eff = wire(
        &mut m,
        "cmd_off",
        Expr::mux(k_fwd_hit.clone(), k_fwd_off.clone(), k_live.gate(&k_off)),
        "MSN offsets in force before the accept edge",
    );

    // ---- lookup ----
    // Edge k reads the flip-flops, base_mem, off_mem (or the write of edge
    // k, forwarded) and rq_mem at the head; edge k+1 registers the answer.
    let rd_sel = decode(&mut m, "rd_sel", &rd_conn);
    let rd_idx = rd_conn.slice(cb - 1, 0);
    let rd_slot = wire(
        &mut m,
        "rd_slot",
        Expr::concat([rd_idx.clone(), pick(&rd_sel, &c_head)]),
        "the looked-up connection's head buffer",
    );
    let l1_valid = m.reg("l1_valid_reg", 1, 0, "lookup stage 1");
    let l1_known = m.signal("l1_known_reg", 1, "");
    let l1_error = m.signal("l1_error_reg", 1, "");
    let l1_live = m.signal("l1_live_reg", 1, "");
    let l1_rq_valid = m.signal("l1_rq_valid_reg", 1, "");
    let l1_base = m.signal("l1_base_reg", cw, "base_mem read data");
    let l1_base_old = m.signal(
        "l1_base_old_reg",
        1,
        "a load writes the looked-up base at the request edge: use the command's read",
    );
    let l1_off = m.signal("l1_off_reg", mw, "off_mem read data");
    let l1_fwd_hit = m.signal("l1_fwd_hit_reg", 1, "offsets written at the request edge");
    let l1_fwd_off = m.signal("l1_fwd_off_reg", mw, "");
    let l1_rq = m.signal("l1_rq_reg", bw, "rq_mem read data");
    m.sync("lookup stage 1: read the state and the head buffer", |b| {
        b.assign(&l1_valid, &rd_valid);
        b.assign(&l1_known, pick(&rd_sel, &c_valid));
        b.assign(&l1_error, pick(&rd_sel, &c_error));
        b.assign(&l1_live, pick(&rd_sel, &c_live));
        b.assign(&l1_rq_valid, ne_eff(&rd_idx, pick(&rd_sel, &c_ne)));
        // No read collides with a write (see the update stage): base_mem's
        // old word is then the command's own read (`cmd_base_reg`),
        // off_mem's is forwarded, and rq_mem's is not needed (a POST_RECV
        // writes the head slot only when the queue is empty).
        let base_old = do_load.land(c_idx.eq(&rd_idx));
        b.assign(&l1_base_old, base_old.clone());
        b.when(base_old.lnot(), |b| {
            b.assign(&l1_base, base_mem.read(rd_idx.clone()))
        });
        b.when(fwd_hit(&rd_idx).lnot(), |b| {
            b.assign(&l1_off, off_mem.read(rd_idx.clone()))
        });
        b.assign(&l1_fwd_hit, fwd_hit(&rd_idx));
        b.assign(&l1_fwd_off, &u_new);
        b.when(do_post.land(post_slot.eq(&rd_slot)).lnot(), |b| {
            b.assign(&l1_rq, rq_mem.read(rd_slot.clone()))
        });
    });
    let l1_base_in = wire(
        &mut m,
        "l1_base",
        Expr::mux(l1_base_old.clone(), k_base.clone(), l1_base.clone()),
        "the looked-up base word",
    );
    let l1_eff = wire(
        &mut m,
        "l1_off",
        Expr::mux(
            l1_fwd_hit.clone(),
            l1_fwd_off.clone(),
            l1_live.gate(&l1_off),
        ),
        "the looked-up offsets in force",
    );
    let rd_known_r = m.signal("rd_known_reg", 1, "");
    let rd_error_r = m.signal("rd_error_reg", 1, "");
    let rd_pd_r = m.signal("rd_pd_reg", pb, "");
    let rd_msn_r: Vec<Expr> = ["send", "rreq", "term"]
        .iter()
        .map(|f| m.signal(&format!("rd_msn_{f}_reg"), 32, ""))
        .collect();
    let rd_rq_valid_r = m.signal("rd_rq_valid_reg", 1, "");
    let rd_rq_r = m.signal("rd_rq_reg", bw, "");
    let rq_ok = l1_known.land(&l1_rq_valid);
    m.sync(
        "lookup stage 2: the answer (zero fields when unknown)",
        |b| {
            b.assign(&rd_out_valid, &l1_valid);
            b.assign(&rd_known_r, &l1_known);
            b.assign(&rd_error_r, l1_known.land(&l1_error));
            b.assign(&rd_pd_r, l1_known.gate(&l1_base_in.slice(cw - 1, mw)));
            for (f, r) in rd_msn_r.iter().enumerate() {
                b.assign(r, l1_known.gate(&sum(&l1_base_in, &l1_eff, f as u32)));
            }
            b.assign(&rd_rq_valid_r, rq_ok.clone());
            b.assign(&rd_rq_r, rq_ok.gate(&l1_rq));
        },
    );
    m.assign(&o_rd_out_valid, &rd_out_valid);
    m.assign(&o_rd_known, &rd_known_r);
    m.assign(&o_rd_error, &rd_error_r);
    m.assign(&o_rd_pd, &rd_pd_r);
    m.assign(&o_rd_msn_send, &rd_msn_r[0]);
    m.assign(&o_rd_msn_rreq, &rd_msn_r[1]);
    m.assign(&o_rd_msn_term, &rd_msn_r[2]);
    m.assign(&o_rd_rq_valid, &rd_rq_valid_r);
    m.assign(&o_rd_rq_addr, rd_rq_r.slice(ab - 1, 0));
    m.assign(&o_rd_rq_len, rd_rq_r.slice(bw - 1, ab));

    // ---- flip-flop state: updates, then commands (a command wins) ----
    let s_sel = decode_idx(&mut m, "upd_sel", &s_idx, n);
    let set_err = up_apply.land(&up_set_error);
    let mark_live = up_apply.land(&up_any_msn);
    m.sync("connection state: updates, then commands", |b| {
        for i in 0..n as usize {
            let mu = &up_sel[i];
            b.when(pop.land(mu), |b| b.assign(&c_head[i], &nx_head));
            b.when(set_err.land(mu), |b| b.assign(&c_error[i], Expr::lit(1, 1)));
            b.when(mark_live.land(mu), |b| {
                b.assign(&c_live[i], Expr::lit(1, 1))
            });
            b.when(ne_wen.land(&s_sel[i]), |b| b.assign(&c_ne[i], &ne_new));
            let mc = &c_sel[i];
            b.when(do_load.land(mc), |b| {
                b.assign(&c_error[i], new_error.clone());
                b.assign(&c_live[i], Expr::lit(0, 1));
                b.assign(&c_ne[i], Expr::lit(0, 1));
                b.assign(&c_head[i], Expr::zero(qb));
            });
            b.when(do_create.land(mc), |b| {
                b.assign(&c_valid[i], Expr::lit(1, 1))
            });
            b.when(do_destroy.land(mc), |b| {
                b.assign(&c_valid[i], Expr::lit(0, 1))
            });
            b.when(do_post.land(mc), |b| b.assign(&c_ne[i], Expr::lit(1, 1)));
        }
    });
    m.sync(
        "commands write the base, the tail and the posted buffers",
        |b| {
            b.when(do_load.clone(), |b| {
                b.mem_write(
                    &base_mem,
                    c_idx.clone(),
                    Expr::concat([
                        Expr::mux(is(op::RECREATE), k_base.slice(cw - 1, mw), c_pd_in.clone()),
                        c_msn_t.clone(),
                        c_msn_r.clone(),
                        c_msn_s.clone(),
                    ]),
                );
            });
            b.when(tail_wen.clone(), |b| {
                b.mem_write(&tail_mem, c_idx.clone(), do_post.gate(&nx_tail));
            });
            b.when(do_post.clone(), |b| {
                b.mem_write(&rq_mem, post_slot.clone(), c_buf.clone());
            });
        },
    );

    // ---- the response ----
    let r_status = m.signal("resp_status_reg", 3, "");
    let r_conn = m.signal("resp_conn_reg", 16, "");
    let r_error = m.signal("resp_error_reg", 1, "");
    let r_pd = m.signal("resp_pd_reg", pb, "");
    let r_msn: Vec<Expr> = ["send", "rreq", "term"]
        .iter()
        .map(|f| m.signal(&format!("resp_msn_{f}_reg"), 32, ""))
        .collect();
    let r_count = m.signal("resp_rq_count_reg", qb + 1, "");
    let r_is_rq = m.signal("resp_is_rq_reg", 1, "EXPORT_RQ answered OK");
    let r_rq = m.signal("resp_rq_reg", bw, "rq_mem read data (second read port)");
    let exp_ok = exec_ok.land(is(op::EXPORT));
    m.sync("command execute: status, EXPORT snapshot, response", |b| {
        b.when(busy.clone(), |b| {
            b.assign(&busy, Expr::lit(0, 1));
            b.assign(&commit, Expr::lit(1, 1));
            b.assign(&r_status, &c_status);
            b.assign(&r_conn, &c_conn);
            b.assign(&r_error, exp_ok.land(pick(&c_sel, &c_error)));
            b.assign(&r_pd, exp_ok.gate(&k_base.slice(cw - 1, mw)));
            for (f, r) in r_msn.iter().enumerate() {
                let adv = k_hit.land(s_inc.bit(f as u32)).zext(32);
                b.assign(r, exp_ok.gate(&(sum(&k_base, &k_eff, f as u32) + adv)));
            }
            b.assign(&r_count, exp_ok.gate(&c_count));
            b.assign(&r_is_rq, exec_ok.land(is(op::EXPORT_RQ)));
            // Read for EXPORT_RQ only: never at a POST_RECV's write.
            b.when(is(op::EXPORT_RQ), |b| {
                b.assign(
                    &r_rq,
                    rq_mem.read(Expr::concat([
                        c_idx.clone(),
                        k_head.clone() + c_index.clone(),
                    ])),
                );
            });
        });
        b.when(r_valid.land(&resp_ready), |b| {
            b.assign(&r_valid, Expr::lit(0, 1));
        });
        // The commit edge raises the response: what the command changed is
        // in the state when the host sees its answer.
        b.when(commit.clone(), |b| {
            b.assign(&commit, Expr::lit(0, 1));
            b.assign(&r_valid, Expr::lit(1, 1));
        });
        b.when(accept.clone(), |b| b.assign(&busy, Expr::lit(1, 1)));
    });
    m.assign(&resp_valid, &r_valid);
    m.assign(&o_resp_status, &r_status);
    m.assign(&o_resp_conn, &r_conn);
    m.assign(&o_resp_error, &r_error);
    m.assign(&o_resp_pd, &r_pd);
    m.assign(&o_resp_msn_send, &r_msn[0]);
    m.assign(&o_resp_msn_rreq, &r_msn[1]);
    m.assign(&o_resp_msn_term, &r_msn[2]);
    m.assign(&o_resp_rq_count, &r_count);
    m.assign(&o_resp_rq_addr, r_is_rq.gate(&r_rq.slice(ab - 1, 0)));
    m.assign(&o_resp_rq_len, r_is_rq.gate(&r_rq.slice(bw - 1, ab)));
    Ok(m.finish()?)
}

/// One-hot decode of a connection index (`n` outputs).
fn decode_idx(m: &mut ModuleBuilder, name: &str, idx: &Expr, n: u32) -> Vec<Expr> {
    let sel = m.signal(name, n, "one-hot connection select");
    m.assign(
        &sel,
        Expr::concat((0..n).rev().map(|i| idx.eq_lit(i as u128))),
    );
    (0..n).map(|i| sel.bit(i)).collect()
}
