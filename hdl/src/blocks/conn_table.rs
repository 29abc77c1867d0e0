//! `conn_table`: the per-connection state of one NIC's receive path (valid,
//! error, protection domain, the three MSNs and a ring of posted receive
//! buffers), with a lookup port and an update port for the receive pipeline
//! and a command port for the host.
//!
//! The contract (ports, statuses, timing) is `docs/conn_table.md`; the
//! reference model in `testbench` is written from that page, not from this
//! file.
//!
//! The posted buffers (the large part: CONNECTIONS x RQ_DEPTH x (address +
//! length)) live in block RAM, read through a register. The small scalar
//! state of each connection is in flip-flops, so the update port's
//! read-modify-write (MSN + 1, pop) commits in one edge with no forwarding
//! and a reset clears the valid bits at once (no busy period).

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

/// Default block parameters (not generator parameters).
pub const DEFAULT_CONNECTIONS: u32 = 64;
pub const DEFAULT_RQ_DEPTH: u32 = 8;

/// Parameters of a `conn_table`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnTableParams {
    pub name: String,
    /// Connections (a power of two, 2 to 256 while the scalar state is in flip-flops).
    pub connections: u32,
    /// Posted receive buffers per connection (a power of two, 2 to 256).
    pub rq_depth: u32,
    pub pd_bits: u32,
    pub dma_addr_bits: u32,
}

impl ConnTableParams {
    pub fn from_params(p: &Params) -> Self {
        ConnTableParams {
            name: "conn_table".into(),
            connections: DEFAULT_CONNECTIONS,
            rq_depth: DEFAULT_RQ_DEPTH,
            pd_bits: p.get32("pd-bits"),
            dma_addr_bits: p.get32("dma-addr-bits"),
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        params::check("pd-bits", self.pd_bits as u64)?;
        params::check("dma-addr-bits", self.dma_addr_bits as u64)?;
        if !self.connections.is_power_of_two() || !(2..=256).contains(&self.connections) {
            return Err(Error::Design(format!(
                "conn_table connections {}: must be a power of two from 2 to 256",
                self.connections
            )));
        }
        if !self.rq_depth.is_power_of_two() || !(2..=256).contains(&self.rq_depth) {
            return Err(Error::Design(format!(
                "conn_table rq_depth {}: must be a power of two from 2 to 256",
                self.rq_depth
            )));
        }
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

/// AND-OR select of `vals` by the one-hot `sel`.
fn pick(sel: &[Expr], vals: &[Expr]) -> Expr {
    sel.iter()
        .zip(vals)
        .map(|(s, v)| s.gate(v))
        .reduce(|a, b| a | b)
        .expect("at least two connections")
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

    // ---- per-connection state (flip-flops) ----
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
    let c_pd = per(&mut m, "conn_pd", pb, false);
    let c_msn_send = per(&mut m, "conn_msn_send", 32, false);
    let c_msn_rreq = per(&mut m, "conn_msn_rreq", 32, false);
    let c_msn_term = per(&mut m, "conn_msn_term", 32, false);
    let c_head = per(&mut m, "conn_rq_head", qb + 1, false);
    let c_tail = per(&mut m, "conn_rq_tail", qb + 1, false);
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

    // ---- lookup ----
    let rd_sel = decode(&mut m, "rd_sel", &rd_conn);
    let rd_idx = rd_conn.slice(cb - 1, 0);
    let rd_head = m.signal("rd_head", qb + 1, "the looked-up connection's head pointer");
    m.assign(&rd_head, pick(&rd_sel, &c_head));
    let rd_known_c = m.signal("rd_known_c", 1, "");
    m.assign(&rd_known_c, pick(&rd_sel, &c_valid));
    let rd_rq_nonempty = m.signal("rd_rq_nonempty", 1, "");
    m.assign(&rd_rq_nonempty, rd_head.ne(pick(&rd_sel, &c_tail)));
    let l1_valid = m.reg("l1_valid_reg", 1, 0, "lookup stage 1");
    let l1_known = m.signal("l1_known_reg", 1, "");
    let l1_error = m.signal("l1_error_reg", 1, "");
    let l1_pd = m.signal("l1_pd_reg", pb, "");
    let l1_msn_send = m.signal("l1_msn_send_reg", 32, "");
    let l1_msn_rreq = m.signal("l1_msn_rreq_reg", 32, "");
    let l1_msn_term = m.signal("l1_msn_term_reg", 32, "");
    let l1_rq_valid = m.signal("l1_rq_valid_reg", 1, "");
    let l1_rq = m.signal("l1_rq_reg", bw, "rq_mem read data (block RAM output)");
    m.sync("lookup stage 1: read the state and the head buffer", |b| {
        b.assign(&l1_valid, &rd_valid);
        b.assign(&l1_known, &rd_known_c);
        b.assign(&l1_error, pick(&rd_sel, &c_error));
        b.assign(&l1_pd, pick(&rd_sel, &c_pd));
        b.assign(&l1_msn_send, pick(&rd_sel, &c_msn_send));
        b.assign(&l1_msn_rreq, pick(&rd_sel, &c_msn_rreq));
        b.assign(&l1_msn_term, pick(&rd_sel, &c_msn_term));
        b.assign(&l1_rq_valid, &rd_rq_nonempty);
        b.assign(
            &l1_rq,
            rq_mem.read(Expr::concat([rd_idx.clone(), rd_head.slice(qb - 1, 0)])),
        );
    });
    let rd_known_r = m.signal("rd_known_reg", 1, "");
    let rd_error_r = m.signal("rd_error_reg", 1, "");
    let rd_pd_r = m.signal("rd_pd_reg", pb, "");
    let rd_msn_send_r = m.signal("rd_msn_send_reg", 32, "");
    let rd_msn_rreq_r = m.signal("rd_msn_rreq_reg", 32, "");
    let rd_msn_term_r = m.signal("rd_msn_term_reg", 32, "");
    let rd_rq_valid_r = m.signal("rd_rq_valid_reg", 1, "");
    let rd_rq_r = m.signal("rd_rq_reg", bw, "");
    let rq_ok = l1_known.land(&l1_rq_valid);
    m.sync(
        "lookup stage 2: the answer (zero fields when unknown)",
        |b| {
            b.assign(&rd_out_valid, &l1_valid);
            b.assign(&rd_known_r, &l1_known);
            b.assign(&rd_error_r, l1_known.land(&l1_error));
            b.assign(&rd_pd_r, l1_known.gate(&l1_pd));
            b.assign(&rd_msn_send_r, l1_known.gate(&l1_msn_send));
            b.assign(&rd_msn_rreq_r, l1_known.gate(&l1_msn_rreq));
            b.assign(&rd_msn_term_r, l1_known.gate(&l1_msn_term));
            b.assign(&rd_rq_valid_r, rq_ok.clone());
            b.assign(&rd_rq_r, rq_ok.gate(&l1_rq));
        },
    );
    m.assign(&o_rd_out_valid, &rd_out_valid);
    m.assign(&o_rd_known, &rd_known_r);
    m.assign(&o_rd_error, &rd_error_r);
    m.assign(&o_rd_pd, &rd_pd_r);
    m.assign(&o_rd_msn_send, &rd_msn_send_r);
    m.assign(&o_rd_msn_rreq, &rd_msn_rreq_r);
    m.assign(&o_rd_msn_term, &rd_msn_term_r);
    m.assign(&o_rd_rq_valid, &rd_rq_valid_r);
    m.assign(&o_rd_rq_addr, rd_rq_r.slice(ab - 1, 0));
    m.assign(&o_rd_rq_len, rd_rq_r.slice(bw - 1, ab));

    // ---- commands: accept at edge a, execute and answer at edge a+1 ----
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
    m.assign(&cmd_ready, busy.lnot().land(r_valid.lnot()));
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

    let c_sel = decode(&mut m, "cmd_sel", &c_conn);
    let c_idx = c_conn.slice(cb - 1, 0);
    let c_in_range = c_conn.slice(15, cb).eq(Expr::zero(16 - cb));
    let c_known = m.signal("cmd_known", 1, "the command's connection exists");
    m.assign(&c_known, pick(&c_sel, &c_valid));
    let k_head = m.signal("cmd_head", qb + 1, "");
    m.assign(&k_head, pick(&c_sel, &c_head));
    let k_tail = m.signal("cmd_tail", qb + 1, "");
    m.assign(&k_tail, pick(&c_sel, &c_tail));
    let c_count = m.signal("cmd_count", qb + 1, "posted buffers (tail - head)");
    m.assign(&c_count, k_tail.clone() - k_head.clone());
    let is = |v: u128| c_op.eq_lit(v);
    let st = |v: u128| Expr::lit(v, 3);
    let c_status = m.signal("cmd_status", 3, "the command's status");
    let full = c_count.eq_lit(p.rq_depth as u128);
    let idx_ok = c_index.zext(qb + 1).lt(&c_count);
    let need_known = |ok: Expr| Expr::mux(c_known.clone(), ok, st(status::UNKNOWN));
    let creates = Expr::mux(
        c_in_range.lnot(),
        st(status::BAD_ID),
        Expr::mux(c_known.clone(), st(status::EXISTS), st(status::OK)),
    );
    m.assign(
        &c_status,
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
    );
    let exec_ok = m.signal("cmd_exec_ok", 1, "a command commits at this edge");
    m.assign(&exec_ok, busy.land(c_status.eq_lit(status::OK)));
    let do_load = exec_ok.land(is(op::CREATE).lor(is(op::IMPORT)).lor(is(op::RECREATE)));
    let do_create = exec_ok.land(is(op::CREATE).lor(is(op::IMPORT)));
    let do_destroy = exec_ok.land(is(op::DESTROY));
    let do_post = exec_ok.land(is(op::POST_RECV));
    let new_error = is(op::IMPORT).land(&c_err_in);

    // ---- updates at edge u, then commands (a command wins) ----
    let up_sel = decode(&mut m, "up_sel", &up_conn);
    // One shared incrementer per field: the selected connection's value + 1.
    let up_next = |m: &mut ModuleBuilder, name: &str, vals: &[Expr], w: u32| -> Expr {
        let s = m.signal(name, w, "the updated connection's value + 1");
        m.assign(&s, pick(&up_sel, vals).inc());
        s
    };
    let nx_msn_send = up_next(&mut m, "up_next_msn_send", &c_msn_send, 32);
    let nx_msn_rreq = up_next(&mut m, "up_next_msn_rreq", &c_msn_rreq, 32);
    let nx_msn_term = up_next(&mut m, "up_next_msn_term", &c_msn_term, 32);
    let nx_head = up_next(&mut m, "up_next_head", &c_head, qb + 1);
    m.sync("connection state: updates, then commands", |b| {
        for i in 0..n as usize {
            let up = up_valid.land(&up_sel[i]).land(&c_valid[i]);
            b.when(up, |b| {
                b.when(up_msn_send.clone(), |b| {
                    b.assign(&c_msn_send[i], &nx_msn_send);
                    b.when(c_head[i].ne(&c_tail[i]), |b| {
                        b.assign(&c_head[i], &nx_head);
                    });
                });
                b.when(up_msn_rreq.clone(), |b| {
                    b.assign(&c_msn_rreq[i], &nx_msn_rreq)
                });
                b.when(up_msn_term.clone(), |b| {
                    b.assign(&c_msn_term[i], &nx_msn_term)
                });
                b.when(up_set_error.clone(), |b| {
                    b.assign(&c_error[i], Expr::lit(1, 1))
                });
            });
            let me = c_sel[i].clone();
            b.when(do_load.land(&me), |b| {
                b.assign(&c_error[i], new_error.clone());
                b.assign(&c_msn_send[i], &c_msn_s);
                b.assign(&c_msn_rreq[i], &c_msn_r);
                b.assign(&c_msn_term[i], &c_msn_t);
                b.assign(&c_head[i], &c_tail[i]);
            });
            b.when(do_create.land(&me), |b| {
                b.assign(&c_valid[i], Expr::lit(1, 1));
                b.assign(&c_pd[i], &c_pd_in);
            });
            b.when(do_destroy.land(&me), |b| {
                b.assign(&c_valid[i], Expr::lit(0, 1));
            });
            b.when(do_post.land(&me), |b| {
                b.assign(&c_tail[i], c_tail[i].inc());
            });
        }
    });
    // A command that loads a connection empties its queue (head = tail);
    // the head pop of an update at the same edge is overridden by it.
    m.sync("posted buffers: POST_RECV writes at the tail", |b| {
        b.when(do_post.clone(), |b| {
            b.mem_write(
                &rq_mem,
                Expr::concat([c_idx.clone(), k_tail.slice(qb - 1, 0)]),
                c_buf.clone(),
            );
        });
    });

    // ---- the response ----
    let r_status = m.signal("resp_status_reg", 3, "");
    let r_conn = m.signal("resp_conn_reg", 16, "");
    let r_error = m.signal("resp_error_reg", 1, "");
    let r_pd = m.signal("resp_pd_reg", pb, "");
    let r_msn_s = m.signal("resp_msn_send_reg", 32, "");
    let r_msn_r = m.signal("resp_msn_rreq_reg", 32, "");
    let r_msn_t = m.signal("resp_msn_term_reg", 32, "");
    let r_count = m.signal("resp_rq_count_reg", qb + 1, "");
    let r_is_rq = m.signal("resp_is_rq_reg", 1, "EXPORT_RQ answered OK");
    let r_rq = m.signal("resp_rq_reg", bw, "rq_mem read data (second read port)");
    let exp_ok = exec_ok.land(is(op::EXPORT));
    m.sync("command execute: status, EXPORT snapshot, response", |b| {
        b.when(busy.clone(), |b| {
            b.assign(&busy, Expr::lit(0, 1));
            b.assign(&r_valid, Expr::lit(1, 1));
            b.assign(&r_status, &c_status);
            b.assign(&r_conn, &c_conn);
            b.assign(&r_error, exp_ok.land(pick(&c_sel, &c_error)));
            b.assign(&r_pd, exp_ok.gate(&pick(&c_sel, &c_pd)));
            b.assign(&r_msn_s, exp_ok.gate(&pick(&c_sel, &c_msn_send)));
            b.assign(&r_msn_r, exp_ok.gate(&pick(&c_sel, &c_msn_rreq)));
            b.assign(&r_msn_t, exp_ok.gate(&pick(&c_sel, &c_msn_term)));
            b.assign(&r_count, exp_ok.gate(&c_count));
            b.assign(&r_is_rq, exec_ok.land(is(op::EXPORT_RQ)));
            b.assign(
                &r_rq,
                rq_mem.read(Expr::concat([
                    c_idx.clone(),
                    (k_head.slice(qb - 1, 0) + c_index.clone()),
                ])),
            );
        });
        b.when(r_valid.land(&resp_ready), |b| {
            b.assign(&r_valid, Expr::lit(0, 1));
        });
        b.when(accept.clone(), |b| b.assign(&busy, Expr::lit(1, 1)));
    });
    m.assign(&resp_valid, &r_valid);
    m.assign(&o_resp_status, &r_status);
    m.assign(&o_resp_conn, &r_conn);
    m.assign(&o_resp_error, &r_error);
    m.assign(&o_resp_pd, &r_pd);
    m.assign(&o_resp_msn_send, &r_msn_s);
    m.assign(&o_resp_msn_rreq, &r_msn_r);
    m.assign(&o_resp_msn_term, &r_msn_t);
    m.assign(&o_resp_rq_count, &r_count);
    m.assign(&o_resp_rq_addr, r_is_rq.gate(&r_rq.slice(ab - 1, 0)));
    m.assign(&o_resp_rq_len, r_is_rq.gate(&r_rq.slice(bw - 1, ab)));
    Ok(m.finish()?)
}
