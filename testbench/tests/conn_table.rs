//! `conn_table` against its contract (docs/conn_table.md).
//!
//! Every test runs the DUT and the reference model
//! (`testbench::models::conn_table`) in lock step and compares every output
//! at every edge; the directed tests also assert the contract's values
//! explicitly. `SEED=<n>` replays the random tests, `WAVES=1` writes
//! `target/waves/<test>.vcd`, `CONN_RANDOM_CYCLES=<n>` changes their length
//! (default 200,000 each).

use rand::Rng;
use testbench::models::conn_table::*;
use testbench::{rng, seed_from_env};

fn small() -> Config {
    Config {
        connections: 8,
        rq_depth: 4,
        pd_bits: 16,
        dma_addr_bits: 64,
    }
}

fn idle() -> Inputs {
    Inputs {
        resp_ready: true,
        ..Inputs::default()
    }
}

/// A command's outcome: the response, the edge that accepted it and the
/// first edge that sampled `resp_valid` high (it is taken there).
struct Done {
    resp: Resp,
    accepted: u64,
    answered: u64,
}

fn run_cmd(b: &mut Bench, cmd: Cmd) -> Done {
    let mut i = idle();
    i.cmd_valid = true;
    i.cmd = cmd;
    let mut accepted = None;
    for _ in 0..10 {
        let got = b.step(&i);
        if got.cmd_ready {
            accepted = Some(b.cycle);
            break;
        }
    }
    let accepted = accepted.expect("command accepted within 10 edges");
    let i = idle();
    for _ in 0..10 {
        let got = b.step(&i);
        if got.resp_valid {
            return Done {
                resp: got.resp,
                accepted,
                answered: b.cycle,
            };
        }
    }
    panic!("no response within 10 edges")
}

fn create(conn: u16, pd: u32, msn: u32) -> Cmd {
    Cmd {
        op: op::CREATE as u8,
        conn,
        pd,
        msn_send: msn,
        msn_rreq: msn.wrapping_add(100),
        msn_term: msn.wrapping_add(200),
        ..Cmd::default()
    }
}

fn simple(o: u128, conn: u16) -> Cmd {
    Cmd {
        op: o as u8,
        conn,
        ..Cmd::default()
    }
}

fn post(conn: u16, addr: u64, len: u32) -> Cmd {
    Cmd {
        op: op::POST_RECV as u8,
        conn,
        addr,
        len,
        ..Cmd::default()
    }
}

fn st(s: u128) -> u8 {
    s as u8
}

/// Look up `conn` alone; the answer two edges later.
fn lookup(b: &mut Bench, conn: u16) -> Lookup {
    let mut i = idle();
    i.rd_valid = true;
    i.rd_conn = conn;
    b.step(&i);
    b.step(&idle());
    let got = b.step(&idle());
    assert!(got.rd_out_valid, "answer at the request edge + 2");
    got.rd
}

#[test]
fn commands_and_statuses() {
    let cfg = small();
    let mut b = Bench::new(cfg, "conn_table_commands_and_statuses");
    b.reset();
    // CREATE: OK, then EXISTS; id out of range: BAD_ID. Executed at a+1,
    // committed and answered at a+2.
    let d = run_cmd(&mut b, create(3, 0x1234, 0xffff_fffe));
    assert_eq!(d.resp.status, st(status::OK));
    assert_eq!(d.resp.conn, 3);
    assert_eq!(d.answered, d.accepted + 3, "resp_valid raised at a+2");
    assert_eq!(
        run_cmd(&mut b, create(3, 1, 1)).resp.status,
        st(status::EXISTS)
    );
    assert_eq!(
        run_cmd(&mut b, create(8, 1, 1)).resp.status,
        st(status::BAD_ID)
    );
    assert_eq!(
        run_cmd(&mut b, create(0x8003, 1, 1)).resp.status,
        st(status::BAD_ID)
    );
    // Unknown connection: UNKNOWN for every op that needs one.
    for o in [
        op::DESTROY,
        op::POST_RECV,
        op::EXPORT,
        op::EXPORT_RQ,
        op::RECREATE,
    ] {
        assert_eq!(
            run_cmd(&mut b, simple(o, 5)).resp.status,
            st(status::UNKNOWN),
            "{o}"
        );
        assert_eq!(
            run_cmd(&mut b, simple(o, 200)).resp.status,
            st(status::UNKNOWN),
            "{o}"
        );
    }
    assert_eq!(
        run_cmd(&mut b, simple(7, 3)).resp.status,
        st(status::BAD_OP)
    );
    // POST_RECV up to the depth, then FULL.
    for k in 0..cfg.rq_depth {
        let d = run_cmd(&mut b, post(3, 0x1000 * (k as u64 + 1), 100 + k));
        assert_eq!(d.resp.status, st(status::OK));
    }
    assert_eq!(run_cmd(&mut b, post(3, 1, 1)).resp.status, st(status::FULL));
    // EXPORT: the whole state and the count; EXPORT_RQ: each buffer, RANGE past.
    let e = run_cmd(&mut b, simple(op::EXPORT, 3)).resp;
    assert_eq!(
        (e.status, e.error, e.pd, e.msn_send, e.msn_rreq, e.msn_term, e.rq_count),
        (
            st(status::OK),
            false,
            0x1234,
            0xffff_fffe,
            0x62,
            0xc6,
            cfg.rq_depth
        )
    );
    for k in 0..cfg.rq_depth {
        let mut c = simple(op::EXPORT_RQ, 3);
        c.index = k;
        let r = run_cmd(&mut b, c).resp;
        assert_eq!(
            (r.status, r.rq_addr, r.rq_len),
            (st(status::OK), 0x1000 * (k as u64 + 1), 100 + k)
        );
    }
    // Lookup: the head buffer.
    let l = lookup(&mut b, 3);
    assert!(l.known && !l.error && l.rq_valid);
    assert_eq!(
        (l.pd, l.msn_send, l.rq_addr, l.rq_len),
        (0x1234, 0xffff_fffe, 0x1000, 100)
    );
    // DESTROY, then everything is UNKNOWN and the lookup says unknown.
    assert_eq!(
        run_cmd(&mut b, simple(op::DESTROY, 3)).resp.status,
        st(status::OK)
    );
    assert!(!lookup(&mut b, 3).known);
    assert_eq!(
        run_cmd(&mut b, simple(op::EXPORT, 3)).resp.status,
        st(status::UNKNOWN)
    );
    // IMPORT: CREATE with the MSNs and the Error bit, then POST_RECVs.
    let mut imp = create(3, 0x55, 7);
    imp.op = op::IMPORT as u8;
    imp.error = true;
    assert_eq!(run_cmd(&mut b, imp.clone()).resp.status, st(status::OK));
    assert_eq!(run_cmd(&mut b, imp).resp.status, st(status::EXISTS));
    assert_eq!(
        run_cmd(&mut b, post(3, 0xaa, 9)).resp.status,
        st(status::OK)
    );
    let l = lookup(&mut b, 3);
    assert!(l.known && l.error && l.rq_valid && l.rq_addr == 0xaa && l.msn_send == 7);
    let mut c = simple(op::EXPORT_RQ, 3);
    c.index = 1;
    assert_eq!(run_cmd(&mut b, c).resp.status, st(status::RANGE));
    // RECREATE: Error cleared, MSNs reloaded, PD kept, queue emptied.
    let mut rc = create(3, 0, 40);
    rc.op = op::RECREATE as u8;
    assert_eq!(run_cmd(&mut b, rc).resp.status, st(status::OK));
    let l = lookup(&mut b, 3);
    assert!(l.known && !l.error && !l.rq_valid);
    assert_eq!(
        (l.pd, l.msn_send, l.msn_rreq, l.msn_term),
        (0x55, 40, 140, 240)
    );
    // A response is held until taken.
    let mut i = idle();
    i.cmd_valid = true;
    i.cmd = simple(op::EXPORT, 3);
    i.resp_ready = false;
    b.step(&i);
    i.cmd_valid = false;
    for _ in 0..5 {
        b.step(&i);
    }
    let got = b.step(&i);
    assert!(got.resp_valid && !got.cmd_ready);
    b.step(&idle());
    let got = b.step(&idle());
    assert!(!got.resp_valid && got.cmd_ready);
}

#[test]
fn lookup_update_hazards() {
    let cfg = small();
    let mut b = Bench::new(cfg, "conn_table_lookup_update_hazards");
    b.reset();
    run_cmd(&mut b, create(2, 9, 0xffff_ffff));
    run_cmd(&mut b, create(5, 10, 50));
    for k in 0..4u32 {
        run_cmd(&mut b, post(2, 0x100 * (k as u64 + 1), 10 + k));
    }
    // Edge u: update conn 2 (Send completed); lookups of conn 2 at u (same
    // edge: old state) and u+1 (new state), back to back.
    let mut i = idle();
    i.rd_valid = true;
    i.rd_conn = 2;
    i.up_valid = true;
    i.up_conn = 2;
    i.up_msn_send = true;
    b.step(&i); // edge u: lookup A + update
    let mut j = idle();
    j.rd_valid = true;
    j.rd_conn = 2;
    j.up_valid = true;
    j.up_conn = 2;
    j.up_msn_rreq = true;
    j.up_msn_term = true;
    b.step(&j); // edge u+1: lookup B + a second update
    let mut k = idle();
    k.rd_valid = true;
    k.rd_conn = 2;
    let a = b.step(&k); // edge u+2: lookup C; answer A presented
    assert!(a.rd_out_valid);
    assert_eq!(
        (a.rd.msn_send, a.rd.rq_addr, a.rd.msn_rreq),
        (0xffff_ffff, 0x100, 99)
    );
    let bb = b.step(&idle()).rd; // answer B: sees the update at u
    assert_eq!(
        (bb.msn_send, bb.rq_addr, bb.rq_len, bb.msn_rreq),
        (0, 0x200, 11, 99)
    );
    let c = b.step(&idle()).rd; // answer C: sees both
    assert_eq!(
        (c.msn_send, c.rq_addr, c.msn_rreq, c.msn_term),
        (0, 0x200, 100, 200)
    );
    // Every edge: a lookup and an update of the same connection; each
    // answer sees every update before its request edge (checked by the
    // model at every edge), popping the queue empty.
    for n in 0..8u32 {
        let mut i = idle();
        i.rd_valid = true;
        i.rd_conn = 2;
        i.up_valid = true;
        i.up_conn = 2;
        i.up_msn_send = true;
        i.up_set_error = n == 5;
        b.step(&i);
    }
    b.step(&idle());
    b.step(&idle());
    let l = lookup(&mut b, 2);
    assert!(l.known && l.error && !l.rq_valid);
    assert_eq!(l.msn_send, 8);
    // An update and a command at one edge: the command wins (RECREATE).
    let mut i = idle();
    i.cmd_valid = true;
    let mut rc = create(2, 0, 1000);
    rc.op = op::RECREATE as u8;
    i.cmd = rc;
    b.step(&i); // accepted
    let mut i = idle();
    i.up_valid = true;
    i.up_conn = 2;
    i.up_msn_send = true;
    i.up_set_error = true;
    b.step(&i); // edge a+1: executes, with the update
    let mut i = idle();
    i.up_valid = true;
    i.up_conn = 2;
    i.up_msn_rreq = true;
    i.up_set_error = true;
    b.step(&i); // edge a+2: commits, with a second update
    b.step(&idle());
    let l = lookup(&mut b, 2);
    assert!(!l.error && l.msn_send == 1000 && l.msn_rreq == 1100);
    // A pop at the execute edge of a POST_RECV to a full queue: the status
    // was decided before it (FULL); one at the execute edge of a POST_RECV
    // that fits: both happen.
    for k in 0..cfg.rq_depth {
        run_cmd(&mut b, post(2, 0x1000 + k as u64, 1));
    }
    for expect in [status::FULL, status::OK] {
        let mut i = idle();
        i.cmd_valid = true;
        i.cmd = post(2, 0x5000, 7);
        b.step(&i); // accepted
        let mut i = idle();
        i.up_valid = true;
        i.up_conn = 2;
        i.up_msn_send = true;
        b.step(&i); // edge a+1: executes, with a pop
        b.step(&idle()); // a+2: commits
        let got = b.step(&idle());
        assert!(got.resp_valid);
        assert_eq!(got.resp.status, st(expect));
    }
    let l = lookup(&mut b, 2);
    assert!(l.rq_valid && l.rq_addr == 0x1002);
    // Other connection untouched.
    let l = lookup(&mut b, 5);
    assert_eq!((l.msn_send, l.pd, l.error), (50, 10, false));
}

#[test]
fn reset_and_unknown_ids() {
    let cfg = small();
    let mut b = Bench::new(cfg, "conn_table_reset_and_unknown_ids");
    b.reset();
    // No busy period: ready at the first edge after reset; a lookup at the
    // first edge is answered.
    let mut i = idle();
    i.rd_valid = true;
    i.rd_conn = 0;
    i.cmd_valid = true;
    i.cmd = create(1, 3, 3);
    let got = b.step(&i);
    assert!(got.cmd_ready);
    b.step(&idle());
    let got = b.step(&idle());
    assert!(got.rd_out_valid && !got.rd.known);
    for id in [0u16, 7, 8, 9, 0x100, 0xffff] {
        let l = lookup(&mut b, id);
        assert!(!l.known && !l.error && !l.rq_valid && l.pd == 0, "id {id}");
    }
    assert!(lookup(&mut b, 1).known);
    // Updates to unknown ids do nothing (id 9 aliases 1's low bits).
    let mut i = idle();
    i.up_valid = true;
    i.up_conn = 9;
    i.up_msn_send = true;
    i.up_set_error = true;
    b.step(&i);
    let l = lookup(&mut b, 1);
    assert!(!l.error && l.msn_send == 3);
    // Reset forgets every connection and flushes the pipelines.
    let mut i = idle();
    i.rd_valid = true;
    i.rd_conn = 1;
    b.step(&i);
    b.reset();
    let got = b.step(&idle());
    assert!(!got.rd_out_valid && got.cmd_ready && !got.resp_valid);
    assert!(!lookup(&mut b, 1).known);
    assert_eq!(run_cmd(&mut b, create(1, 3, 3)).resp.status, st(status::OK));
}

// ---------------------------------------------------------------------------
// Random
// ---------------------------------------------------------------------------

fn random_run(cfg: Config, test: &str) {
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    let cycles: u64 = std::env::var("CONN_RANDOM_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut b = Bench::new(cfg, test);
    b.reset();
    let n = cfg.connections as u16;
    let id = |r: &mut rand::rngs::StdRng| -> u16 {
        match r.gen_range(0..20) {
            0 => r.gen(),
            1 => n + r.gen_range(0..4),
            _ => r.gen_range(0..n.min(6)),
        }
    };
    let mut hist = [0u64; 8];
    let mut ops = [0u64; 8];
    let mut i = idle();
    for cycle in 0..cycles {
        // Every fourth window of 1,000 cycles pops nothing, so that queues
        // fill up (FULL) although a command takes three edges.
        let no_pops = (cycle / 1000) % 4 == 3;
        // Commands: hold cmd_valid until accepted (valid/ready).
        if !i.cmd_valid && r.gen_bool(0.5) {
            let o = match r.gen_range(0..20) {
                0..=2 => op::CREATE,
                3 => op::DESTROY,
                4..=8 => op::POST_RECV,
                9 => op::EXPORT,
                10..=11 => op::EXPORT_RQ,
                12..=13 => op::IMPORT,
                14..=15 => op::RECREATE,
                16 => 7,
                _ => op::POST_RECV,
            };
            let msn = |r: &mut rand::rngs::StdRng| -> u32 {
                if r.gen_bool(0.5) {
                    0u32.wrapping_sub(r.gen_range(0..4))
                } else {
                    r.gen()
                }
            };
            i.cmd = Cmd {
                op: o as u8,
                conn: id(&mut r),
                pd: r.gen::<u32>() & cfg.pd_mask(),
                msn_send: msn(&mut r),
                msn_rreq: msn(&mut r),
                msn_term: msn(&mut r),
                error: r.gen(),
                addr: r.gen::<u64>() & cfg.addr_mask(),
                len: r.gen(),
                index: r.gen_range(0..cfg.rq_depth),
            };
            i.cmd_valid = true;
        }
        i.rst = r.gen_range(0..50_000) == 0;
        i.rd_valid = r.gen_bool(0.8);
        i.rd_conn = id(&mut r);
        i.up_valid = r.gen_bool(0.4);
        i.up_conn = id(&mut r);
        i.up_msn_send = !no_pops && r.gen_bool(0.5);
        i.up_msn_rreq = r.gen_bool(0.3);
        i.up_msn_term = r.gen_bool(0.2);
        i.up_set_error = r.gen_bool(0.05);
        i.resp_ready = r.gen_bool(0.7);
        let ready = b.model.expected().cmd_ready;
        let got = b.step(&i);
        if got.resp_valid && i.resp_ready && !i.rst {
            hist[got.resp.status as usize] += 1;
        }
        if i.cmd_valid && (ready || i.rst) {
            ops[i.cmd.op as usize] += 1;
            i.cmd_valid = false;
        }
    }
    eprintln!("[{test}] {cycles} cycles; statuses taken {hist:?}; commands {ops:?}");
    for s in [
        status::OK,
        status::EXISTS,
        status::UNKNOWN,
        status::FULL,
        status::RANGE,
        status::BAD_ID,
        status::BAD_OP,
    ] {
        assert!(
            hist[s as usize] > 0,
            "status {} never seen",
            status::NAMES[s as usize]
        );
    }
}

#[test]
fn random_default() {
    random_run(Config::default(), "conn_table_random_default");
}

#[test]
fn random_small() {
    random_run(
        Config {
            connections: 4,
            rq_depth: 2,
            pd_bits: 5,
            dma_addr_bits: 40,
        },
        "conn_table_random_small",
    );
}
