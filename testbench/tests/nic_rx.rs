//! `nic_rx` (the receive path of one NIC, `docs/nic_rx.md`) in Verilator,
//! against the functional reference model `testbench::models::nic_rx`.
//!
//! The bench around the DUT:
//!
//! * `s_axis_rx`: one FPDU per packet (built with `sim::iwarp::frames`, as
//!   the peer model does), `tuser` = the connection, random pauses;
//! * `m_axi_*`: an AXI4 write subordinate over `sim::hostmem` (every byte
//!   remembers which segment wrote it) with random back-pressure on AW, W
//!   and B, and an `AxiChecker`;
//! * `m_axis_tx`: a sink with random back-pressure and an `AxisChecker`;
//!   every frame must be the model's Terminate for that connection, in order;
//! * `stag_cmd_*` / `conn_cmd_*`: host-command drivers (register regions,
//!   create / recreate connections, post receive buffers, install foreign
//!   STags), every response compared with the model's;
//! * `m_miss_*` / `s_reject_*`: the driver model: takes each miss event
//!   (random `ready`), checks it is one the model expects (STag and
//!   connection, at most one outstanding per STag, never more taken and
//!   unanswered than `--hold-stags`) and answers after a random delay with
//!   INSTALL or a reject, as the test's policy says; `hold_count` is checked
//!   against `--hold-segments` every cycle.
//!
//! Tests: every row of SPEC's check table through the whole NIC (the rows
//! of `testbench::bad_segments`, shared with `tests/system.rs`; exact
//! Terminate bytes, counters, memory untouched), the passing operations,
//! the hold queue (park + install in order while another connection flows,
//! park + reject, hold queue full by segments, by data, miss table full), a
//! DMA write error, foreign-cache eviction and re-resolution, and random
//! soaks with bad input and back-pressure everywhere: 256 bits
//! (`NIC_RX_SEGMENTS`, default 200,000), 64 and 128 bits (a fifth of it
//! each) and a small hold queue (15 %).
//!
//! `SEED=<n>` replays a test; `WAVES=1` writes `target/waves/<test>.vcd`.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::time::Instant;

use hdl::blocks::nic_rx::{elaborate, NicRxParams};
use hdl::design::Design;
use hdl::params::Params;
use rand::rngs::StdRng;
use rand::Rng;
use sim::axi::{AxiBurst, AxiChecker, AxiWriteSlave, RESP_OKAY, RESP_SLVERR};
use sim::axis::{AxisChecker, AxisFrame, AxisSink, AxisSource};
use sim::hostmem::{self, HostMemory, SharedMemory, Writer};
use sim::iwarp::frames::{
    codes, fpdu, mpa_frame, Body, Control, DdpHeader, Opcode, ReadRequest, Segment, Terminate,
};
use sim::pattern::Pattern;
use sim::{Model, Port};
use testbench::bad_segments::{
    self, bad_length, describe_terminate, read_request, DropConn, Target, Targets,
};
use testbench::models::conn_table as ct;
use testbench::models::nic_rx::{
    self as model, Action, Answer, Config, Counters, NicRx, Outcome, CONN_OK, COUNTER_NAMES,
    PARKED_INDEX,
};
use testbench::models::stag_table::{CmdResp, Entry, Op, Stag, Status};
use testbench::{rng, seed_from_env};

/// This NIC's id (the `nic_id` strap).
const NIC_ID: u32 = 2;

/// The configuration most tests build (one Verilator build for them).
fn params() -> Params {
    params_with(&[])
}

/// [`params`] with some values changed.
fn params_with(over: &[(&'static str, u64)]) -> Params {
    let mut v: Vec<(&str, u64)> = vec![
        ("data-width", 256),
        ("connections", 16),
        ("rq-depth", 8),
        ("entries", 256),
        ("foreign-entries", 16),
        ("nic-id-bits", 4),
        ("max-payload", 4096),
        ("hold-bytes", 8192),
        ("hold-segments", 16),
        ("hold-stags", 8),
    ];
    for &(k, x) in over {
        match v.iter_mut().find(|e| e.0 == k) {
            Some(e) => e.1 = x,
            None => v.push((k, x)),
        }
    }
    Params::new(v).unwrap_or_else(|e| panic!("nic_rx parameters {over:?}: {e}"))
}

/// A small hold queue (4 segments, 2048 bytes = one largest segment, two
/// miss-table entries) and a foreign cache of two, at 64 bits: the hold
/// queue fills, the miss table fills and the cache evicts. One build for
/// the small-hold soak and the directed tests of those limits.
fn params_small() -> Params {
    params_with(&[
        ("data-width", 64),
        ("max-payload", 2048),
        ("hold-bytes", 2048),
        ("hold-segments", 4),
        ("hold-stags", 2),
        ("foreign-entries", 2),
    ])
}

// ---------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------

struct Io {
    rst: Port,
    nic_id: Port,
    sc_valid: Port,
    sc_ready: Port,
    sc_op: Port,
    sc_stag: Port,
    sc_dma: Port,
    sc_va: Port,
    sc_len: Port,
    sc_pd: Port,
    sc_rights: Port,
    sc_inv: Port,
    sr_valid: Port,
    sr_ready: Port,
    sr_status: Port,
    sr_stag: Port,
    sr_evicted: Port,
    list_tready: Port,
    cc_valid: Port,
    cc_ready: Port,
    cc_op: Port,
    cc_conn: Port,
    cc_pd: Port,
    cc_msn_send: Port,
    cc_msn_rreq: Port,
    cc_msn_term: Port,
    cc_error: Port,
    cc_addr: Port,
    cc_len: Port,
    cc_index: Port,
    cr_valid: Port,
    cr_ready: Port,
    cr_status: Port,
    cr_conn: Port,
    miss_valid: Port,
    miss_ready: Port,
    miss_stag: Port,
    miss_conn: Port,
    rej_valid: Port,
    rej_ready: Port,
    rej_stag: Port,
    hold_full: Port,
    hold_count: Port,
    rx_tready: Port,
    framing_error: Port,
    cnt: [Port; 19],
}

impl Io {
    fn new(m: &Model) -> Io {
        let p = |n: &str| {
            m.port(n)
                .unwrap_or_else(|e| panic!("nic_rx has no port `{n}` (docs/nic_rx.md): {e}"))
        };
        Io {
            rst: p("rst"),
            nic_id: p("nic_id"),
            sc_valid: p("stag_cmd_valid"),
            sc_ready: p("stag_cmd_ready"),
            sc_op: p("stag_cmd_op"),
            sc_stag: p("stag_cmd_stag"),
            sc_dma: p("stag_cmd_dma_base"),
            sc_va: p("stag_cmd_va_base"),
            sc_len: p("stag_cmd_length"),
            sc_pd: p("stag_cmd_pd"),
            sc_rights: p("stag_cmd_rights"),
            sc_inv: p("stag_cmd_remote_inv"),
            sr_valid: p("stag_resp_valid"),
            sr_ready: p("stag_resp_ready"),
            sr_status: p("stag_resp_status"),
            sr_stag: p("stag_resp_stag"),
            sr_evicted: p("stag_resp_evicted"),
            list_tready: p("stag_m_axis_list_tready"),
            cc_valid: p("conn_cmd_valid"),
            cc_ready: p("conn_cmd_ready"),
            cc_op: p("conn_cmd_op"),
            cc_conn: p("conn_cmd_conn"),
            cc_pd: p("conn_cmd_pd"),
            cc_msn_send: p("conn_cmd_msn_send"),
            cc_msn_rreq: p("conn_cmd_msn_rreq"),
            cc_msn_term: p("conn_cmd_msn_term"),
            cc_error: p("conn_cmd_error"),
            cc_addr: p("conn_cmd_addr"),
            cc_len: p("conn_cmd_len"),
            cc_index: p("conn_cmd_index"),
            cr_valid: p("conn_resp_valid"),
            cr_ready: p("conn_resp_ready"),
            cr_status: p("conn_resp_status"),
            cr_conn: p("conn_resp_conn"),
            miss_valid: p("m_miss_valid"),
            miss_ready: p("m_miss_ready"),
            miss_stag: p("m_miss_stag"),
            miss_conn: p("m_miss_conn"),
            rej_valid: p("s_reject_valid"),
            rej_ready: p("s_reject_ready"),
            rej_stag: p("s_reject_stag"),
            hold_full: p("hold_full"),
            hold_count: p("hold_count"),
            rx_tready: p("s_axis_rx_tready"),
            framing_error: p("framing_error"),
            cnt: COUNTER_NAMES.map(p),
        }
    }
}

/// Drive `v` cut to the port's width.
fn set(m: &mut Model, p: Port, v: u64) {
    let v = if p.width >= 64 {
        v
    } else {
        v & ((1u64 << p.width) - 1)
    };
    m.set(p, v);
}

// ---------------------------------------------------------------------------
// Back-pressure settings
// ---------------------------------------------------------------------------

#[derive(Clone)]
struct Stalls {
    rx: Pattern,
    tx: Pattern,
    aw: Pattern,
    w: Pattern,
    b: Pattern,
    b_latency: u64,
    max_outstanding: usize,
    miss_ready: Pattern,
    resp_ready: Pattern,
    /// Cycles the driver waits before answering a miss event.
    answer_delay: (u64, u64),
}

impl Stalls {
    fn none() -> Stalls {
        Stalls {
            rx: Pattern::never(),
            tx: Pattern::never(),
            aw: Pattern::never(),
            w: Pattern::never(),
            b: Pattern::never(),
            b_latency: 0,
            max_outstanding: 8,
            miss_ready: Pattern::never(),
            resp_ready: Pattern::never(),
            answer_delay: (0, 1),
        }
    }

    fn random(r: &mut StdRng) -> Stalls {
        let mut p = |max: f64| {
            let x: f64 = r.gen_range(0.0..max);
            let seed = r.gen();
            if x < 0.1 {
                Pattern::never()
            } else {
                Pattern::random(x, seed)
            }
        };
        Stalls {
            rx: p(0.5),
            tx: p(0.7),
            aw: p(0.6),
            w: p(0.5),
            b: p(0.6),
            b_latency: 0,
            max_outstanding: 8,
            miss_ready: p(0.7),
            resp_ready: p(0.6),
            answer_delay: (0, 1),
        }
        .with(|s| {
            s.b_latency = r.gen_range(0..8);
            s.max_outstanding = r.gen_range(1..=8);
            let lo = r.gen_range(0..50);
            s.answer_delay = (lo, lo + r.gen_range(1..400));
        })
    }

    fn with(mut self, f: impl FnOnce(&mut Stalls)) -> Stalls {
        f(&mut self);
        self
    }
}

// ---------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct StagReq {
    op: Op,
    stag: u32,
    entry: Entry,
    /// Sent by the driver model to answer a miss event.
    install: bool,
    /// For such an INSTALL: it must evict a foreign entry (the model says).
    evicts: bool,
}

/// Where each expected placement is, for the AW hook: start -> (end, writer).
type PlaceMap = Rc<RefCell<BTreeMap<u64, (u64, Writer)>>>;

struct Bench {
    m: Model,
    io: Io,
    seed: u64,
    test: String,
    src: AxisSource,
    sink: AxisSink,
    rx_chk: AxisChecker,
    tx_chk: AxisChecker,
    wr: AxiWriteSlave,
    axi_chk: AxiChecker,
    mem: SharedMemory,
    places: PlaceMap,
    /// Bursts whose address is in no expected placement.
    strays: Rc<RefCell<Vec<AxiBurst>>>,
    /// Bytes the expected placements of this round write.
    expected_bytes: u64,
    /// Expected placements of this round: (addr, data, writer, what).
    expected_places: Vec<(u64, Vec<u8>, Writer, String)>,
    // stag_cmd
    stag_queue: VecDeque<StagReq>,
    stag_presented: Option<StagReq>,
    stag_accepted: Option<StagReq>,
    stag_done: VecDeque<(StagReq, CmdResp)>,
    stag_resp_ready: bool,
    // conn_cmd
    conn_queue: VecDeque<ct::Cmd>,
    conn_presented: Option<ct::Cmd>,
    conn_accepted: Option<ct::Cmd>,
    conn_done: VecDeque<(ct::Cmd, u8, u16)>,
    conn_resp_ready: bool,
    // miss events and answers
    miss_ready: bool,
    /// Per STag, the events the model expects, in order: (conn, answer,
    /// the answering INSTALL evicts).
    miss_expected: HashMap<u32, VecDeque<(u16, Answer, bool)>>,
    miss_outstanding: HashSet<u32>,
    /// Answers waiting for their time: (due cycle, stag, answer, evicts).
    scheduled: Vec<(u64, u32, Answer, bool)>,
    /// Hold every answer back (directed tests release them by hand).
    hold_answers: bool,
    reject_queue: VecDeque<u32>,
    reject_presented: Option<u32>,
    /// Events seen: (cycle, stag, conn).
    miss_log: Vec<(u64, u32, u16)>,
    /// Answers given: (cycle of the INSTALL response or the reject handshake, stag, what).
    answer_log: Vec<(u64, u32, &'static str)>,
    /// Per STag named in a header (bytes 2..5), the last segments naming
    /// it, for messages.
    history: HashMap<u32, VecDeque<String>>,
    // tx
    terms: HashMap<u16, VecDeque<Vec<u8>>>,
    terms_pending: usize,
    terms_seen: u64,
    stalls: Stalls,
    r: StdRng,
    activity: u64,
    /// `--hold-stags` and `--hold-segments` of the build.
    hold_stags: usize,
    hold_segments: u64,
    /// Cycles with `hold_full` = 1.
    hold_full_cycles: u64,
    /// Cycles in which every miss-table entry was certainly in use (events
    /// taken and not answered, plus one raised and not taken, equal
    /// `--hold-stags`), and how many times that state began.
    miss_full_cycles: u64,
    miss_full_times: u64,
    miss_full_prev: bool,
}

impl Bench {
    fn new(test: &str, seed: u64, stalls: Stalls, p: &Params) -> Bench {
        let np = NicRxParams::from_params(p);
        let module = elaborate(&np).unwrap_or_else(|e| panic!("elaborate nic_rx: {e}"));
        let mut d = Design::default();
        d.add(&module).unwrap();
        let mut m = testbench::dut::load(&d, &module.name, test).unwrap();
        let io = Io::new(&m);
        let mem = hostmem::shared();
        let mut src = AxisSource::new(&m, "s_axis_rx").unwrap();
        src.set_pause(stalls.rx.clone());
        let mut sink = AxisSink::new(&m, "m_axis_tx").unwrap();
        sink.set_pause(stalls.tx.clone());
        let rx_chk = AxisChecker::new(&m, "s_axis_rx").unwrap();
        let tx_chk = AxisChecker::new(&m, "m_axis_tx").unwrap();
        let mut wr = AxiWriteSlave::new(&m, "m_axi", mem.clone()).unwrap();
        wr.set_aw_pause(stalls.aw.clone());
        wr.set_w_pause(stalls.w.clone());
        wr.set_b_pause(stalls.b.clone());
        wr.set_b_latency(stalls.b_latency);
        wr.set_max_outstanding(stalls.max_outstanding);
        let axi_chk = AxiChecker::new(&m, "m_axi").unwrap();
        let places: PlaceMap = Rc::new(RefCell::new(BTreeMap::new()));
        let strays = Rc::new(RefCell::new(Vec::new()));
        let (pl, sy) = (places.clone(), strays.clone());
        wr.set_writer_for(move |b| {
            let map = pl.borrow();
            if let Some((_, &(end, w))) = map.range(..=b.addr).next_back() {
                if b.addr < end {
                    return w;
                }
            }
            sy.borrow_mut().push(*b);
            Writer::new(0xdead, b.addr, b.cycle)
        });
        set(&mut m, io.nic_id, NIC_ID as u64);
        set(&mut m, io.rst, 1);
        set(&mut m, io.list_tready, 1);
        // Invalidation events (docs/nic_rx.md): taken at once here; their
        // content is checked in nic_rx_smoke.rs.
        let inval_ready = m.port("m_inval_ready").expect("m_inval_ready");
        set(&mut m, inval_ready, 1);
        m.step_n(4);
        set(&mut m, io.rst, 0);
        Bench {
            m,
            io,
            seed,
            test: test.to_string(),
            src,
            sink,
            rx_chk,
            tx_chk,
            wr,
            axi_chk,
            mem,
            places,
            strays,
            expected_bytes: 0,
            expected_places: Vec::new(),
            stag_queue: VecDeque::new(),
            stag_presented: None,
            stag_accepted: None,
            stag_done: VecDeque::new(),
            stag_resp_ready: false,
            conn_queue: VecDeque::new(),
            conn_presented: None,
            conn_accepted: None,
            conn_done: VecDeque::new(),
            conn_resp_ready: false,
            miss_ready: false,
            miss_expected: HashMap::new(),
            miss_outstanding: HashSet::new(),
            scheduled: Vec::new(),
            hold_answers: false,
            reject_queue: VecDeque::new(),
            reject_presented: None,
            miss_log: Vec::new(),
            answer_log: Vec::new(),
            history: HashMap::new(),
            terms: HashMap::new(),
            terms_pending: 0,
            terms_seen: 0,
            stalls,
            r: rng(seed ^ 0x5eed_0f_b0d1),
            activity: 0,
            hold_stags: p.get("hold-stags") as usize,
            hold_segments: p.get("hold-segments"),
            hold_full_cycles: 0,
            miss_full_cycles: 0,
            miss_full_times: 0,
            miss_full_prev: false,
        }
    }

    fn fail(&self, what: String) -> ! {
        panic!(
            "[{}] SEED={} cycle {}: {what}",
            self.test,
            self.seed,
            self.m.cycle()
        )
    }

    fn counters(&self) -> Counters {
        let mut v = [0u32; 19];
        for (i, p) in self.io.cnt.iter().enumerate() {
            v[i] = self.m.get(*p) as u32;
        }
        Counters::from_values(&v)
    }

    /// One clock cycle of everything.
    fn cycle(&mut self) {
        let now = self.m.cycle() + 1; // the edge this cycle ends with
                                      // Answers that are due.
        if !self.hold_answers {
            let mut k = 0;
            while k < self.scheduled.len() {
                if self.scheduled[k].0 <= now {
                    let (_, stag, a, evicts) = self.scheduled.remove(k);
                    self.answer(stag, a, evicts);
                } else {
                    k += 1;
                }
            }
        }
        let (m, io) = (&mut self.m, &self.io);
        self.src.drive(m);
        self.sink.drive(m);
        self.wr.drive(m);
        // stag_cmd
        if self.stag_presented.is_none() {
            if let Some(q) = self.stag_queue.pop_front() {
                set(m, io.sc_valid, 1);
                set(m, io.sc_op, q.op.0 as u64);
                set(m, io.sc_stag, q.stag as u64);
                set(m, io.sc_dma, q.entry.dma_base);
                set(m, io.sc_va, q.entry.va_base);
                set(m, io.sc_len, q.entry.length);
                set(m, io.sc_pd, q.entry.pd as u64);
                set(m, io.sc_rights, q.entry.rights as u64);
                set(m, io.sc_inv, q.entry.remote_inv as u64);
                self.stag_presented = Some(q);
            } else {
                set(m, io.sc_valid, 0);
            }
        }
        self.stag_resp_ready = !self.stalls.resp_ready.next();
        set(m, io.sr_ready, self.stag_resp_ready as u64);
        // conn_cmd
        if self.conn_presented.is_none() {
            if let Some(c) = self.conn_queue.pop_front() {
                set(m, io.cc_valid, 1);
                set(m, io.cc_op, c.op as u64);
                set(m, io.cc_conn, c.conn as u64);
                set(m, io.cc_pd, c.pd as u64);
                set(m, io.cc_msn_send, c.msn_send as u64);
                set(m, io.cc_msn_rreq, c.msn_rreq as u64);
                set(m, io.cc_msn_term, c.msn_term as u64);
                set(m, io.cc_error, c.error as u64);
                set(m, io.cc_addr, c.addr);
                set(m, io.cc_len, c.len as u64);
                set(m, io.cc_index, c.index as u64);
                self.conn_presented = Some(c);
            } else {
                set(m, io.cc_valid, 0);
            }
        }
        self.conn_resp_ready = !self.stalls.resp_ready.next();
        set(m, io.cr_ready, self.conn_resp_ready as u64);
        // miss events, rejects
        self.miss_ready = !self.stalls.miss_ready.next();
        set(m, io.miss_ready, self.miss_ready as u64);
        if self.reject_presented.is_none() {
            if let Some(s) = self.reject_queue.pop_front() {
                set(m, io.rej_valid, 1);
                set(m, io.rej_stag, s as u64);
                self.reject_presented = Some(s);
            } else {
                set(m, io.rej_valid, 0);
            }
        }

        m.step();
        let c = m.cycle();
        let seed = self.seed;
        let perr = |e: sim::axis::ProtocolError| -> String { format!("SEED={seed}: {e}") };
        let res = self
            .src
            .sample(m, c)
            .and_then(|_| self.sink.sample(m, c))
            .and_then(|_| self.rx_chk.sample(m, c))
            .and_then(|_| self.tx_chk.sample(m, c))
            .and_then(|_| self.wr.sample(m, c))
            .and_then(|_| self.axi_chk.sample(m, c));
        if let Err(e) = res {
            panic!("[{}] {}", self.test, perr(e));
        }
        let get = |p: Port| m.get(p);
        // stag_cmd handshakes
        if self.stag_presented.is_some() && get(io.sc_ready) & 1 == 1 {
            if self.stag_accepted.is_some() {
                self.fail("stag_cmd_ready high while a response is still owed".into());
            }
            self.stag_accepted = self.stag_presented.take();
            self.activity += 1;
        }
        if get(io.sr_valid) & 1 == 1 && self.stag_resp_ready {
            let resp = CmdResp {
                status: Status(get(io.sr_status) as u8),
                stag: Stag(get(io.sr_stag) as u32),
                evicted: get(io.sr_evicted) & 1 == 1,
                ..CmdResp::default()
            };
            let Some(q) = self.stag_accepted.take() else {
                self.fail(format!("stag_resp_valid with no command: {resp:?}"))
            };
            self.activity += 1;
            if q.install {
                if resp.status != Status::OK || resp.evicted != q.evicts {
                    self.fail(format!(
                        "INSTALL of {:#010x} answered {resp:?}; the model expects OK, evicted {}",
                        q.stag, q.evicts
                    ));
                }
                self.miss_outstanding.remove(&q.stag);
                self.answer_log.push((c, q.stag, "INSTALL response taken"));
            } else {
                self.stag_done.push_back((q, resp));
            }
        }
        // conn_cmd handshakes
        if self.conn_presented.is_some() && get(io.cc_ready) & 1 == 1 {
            if self.conn_accepted.is_some() {
                self.fail("conn_cmd_ready high while a response is still owed".into());
            }
            self.conn_accepted = self.conn_presented.take();
            self.activity += 1;
        }
        if get(io.cr_valid) & 1 == 1 && self.conn_resp_ready {
            let (st, cn) = (get(io.cr_status) as u8, get(io.cr_conn) as u16);
            let Some(q) = self.conn_accepted.take() else {
                self.fail(format!("conn_resp_valid with no command (status {st})"))
            };
            self.conn_done.push_back((q, st, cn));
            self.activity += 1;
        }
        // miss events
        if get(io.miss_valid) & 1 == 1 && self.miss_ready {
            let (stag, conn) = (get(io.miss_stag) as u32, get(io.miss_conn) as u16);
            self.activity += 1;
            self.miss_log.push((c, stag, conn));
            if !self.miss_outstanding.insert(stag) {
                self.fail(format!(
                    "a second miss event for STag {stag:#010x} (connection {conn}) while one is outstanding"
                ));
            }
            let exp = self
                .miss_expected
                .get_mut(&stag)
                .and_then(|q| q.pop_front());
            let Some((econn, answer, evicts)) = exp else {
                self.fail(format!(
                    "miss event {{stag {stag:#010x}, conn {conn}}} that the model does not expect; \
                     the last segments naming that STag (oldest first): {:#?}; events for it \
                     (cycle, stag, conn): {:?}; answers: {:?}",
                    self.history.get(&stag),
                    self.miss_log.iter().filter(|e| e.1 == stag).collect::<Vec<_>>(),
                    self.answer_log.iter().filter(|e| e.1 == stag).collect::<Vec<_>>()
                ))
            };
            if econn != conn {
                self.fail(format!(
                    "miss event for STag {stag:#010x}: connection {conn}, the model says {econn}"
                ));
            }
            let (lo, hi) = self.stalls.answer_delay;
            let due = c + self.r.gen_range(lo..hi);
            self.scheduled.push((due, stag, answer, evicts));
        }
        if let Some(s) = self.reject_presented {
            if get(io.rej_ready) & 1 == 1 {
                self.reject_presented = None;
                self.miss_outstanding.remove(&s);
                self.answer_log.push((c, s, "reject taken"));
                self.activity += 1;
            }
        }
        // Hold queue and miss table within their sizes.
        let hold_full = get(io.hold_full) & 1;
        self.hold_full_cycles += hold_full;
        let hold_count = get(io.hold_count);
        if hold_count > self.hold_segments {
            self.fail(format!(
                "hold_count {hold_count} > --hold-segments {}",
                self.hold_segments
            ));
        }
        let raised = get(io.miss_valid) & 1 == 1 && !self.miss_ready;
        let in_use = self.miss_outstanding.len() + raised as usize;
        if in_use > self.hold_stags {
            self.fail(format!(
                "{} miss events taken and not answered ({:x?}){}: more than --hold-stags {}",
                self.miss_outstanding.len(),
                self.miss_outstanding,
                if raised { " and one more raised" } else { "" },
                self.hold_stags
            ));
        }
        let full = in_use == self.hold_stags;
        self.miss_full_cycles += full as u64;
        self.miss_full_times += (full && !self.miss_full_prev) as u64;
        self.miss_full_prev = full;
        if let Some(b) = self.strays.borrow().first() {
            self.fail(format!(
                "a write burst outside every placement the model expects: {b:?}"
            ));
        }
        if get(io.framing_error) & 1 == 1 {
            self.fail("framing_error is set".into());
        }
        // Terminates.
        while let Some(f) = self.sink.recv_timed() {
            self.activity += 1;
            let conn = f.frame.user as u16;
            let want = self.terms.get_mut(&conn).and_then(|q| q.pop_front());
            let got = &f.frame.data;
            match want {
                None => self.fail(format!(
                    "unexpected frame on m_axis_tx for connection {conn}: {} ({} bytes)",
                    describe_terminate(got),
                    got.len()
                )),
                Some(w) if &w != got => self.fail(format!(
                    "Terminate {} on connection {conn}:\n  expected {}\n  got      {}\n  expected bytes {:02x?}\n  got bytes      {:02x?}",
                    self.terms_seen,
                    describe_terminate(&w),
                    describe_terminate(got),
                    w,
                    got
                )),
                Some(_) => {
                    self.terms_pending -= 1;
                    self.terms_seen += 1;
                }
            }
        }
    }

    /// Send the driver's answer to a miss event on `stag` now.
    fn answer(&mut self, stag: u32, a: Answer, evicts: bool) {
        match a {
            Answer::Install(entry) => self.stag_queue.push_back(StagReq {
                op: Op::INSTALL,
                stag,
                entry,
                install: true,
                evicts,
            }),
            Answer::Reject => self.reject_queue.push_back(stag),
        }
    }

    /// Answer the miss event on `stag` now, even while `hold_answers` holds
    /// the others back (the event must have been taken).
    fn release(&mut self, stag: u32) {
        let Some(k) = self.scheduled.iter().position(|e| e.1 == stag) else {
            self.fail(format!(
                "no miss event for STag {stag:#010x} waits for its answer (events: {:x?})",
                self.miss_log
            ))
        };
        let (_, s, a, evicts) = self.scheduled.remove(k);
        self.answer(s, a, evicts);
    }

    /// The expected placements do not write `range` after all (a burst
    /// the host answered with an error writes nothing here): split them.
    fn expect_unwritten(&mut self, range: std::ops::Range<u64>) {
        let mut out = Vec::new();
        for (addr, data, w, what) in self.expected_places.drain(..) {
            let end = addr + data.len() as u64;
            let (lo, hi) = (range.start.max(addr), range.end.min(end));
            if lo >= hi {
                out.push((addr, data, w, what));
                continue;
            }
            self.expected_bytes -= hi - lo;
            if lo > addr {
                let d = data[..(lo - addr) as usize].to_vec();
                out.push((addr, d, w, format!("{what} (before the failed burst)")));
            }
            if hi < end {
                let d = data[(hi - addr) as usize..].to_vec();
                out.push((hi, d, w, format!("{what} (after the failed burst)")));
            }
        }
        self.expected_places = out;
    }

    fn hold_full(&self) -> bool {
        self.m.get(self.io.hold_full) & 1 == 1
    }

    /// Queue a host command on `stag_cmd_*`; run it to its response and
    /// compare the response with the model's.
    fn stag_cmd(&mut self, model: &mut NicRx, op: Op, stag: u32, entry: Entry) -> CmdResp {
        let (want, _) = model.stag_cmd(op, stag, entry);
        self.stag_queue.push_back(StagReq {
            op,
            stag,
            entry,
            install: false,
            evicts: false,
        });
        let got = self.wait_for(&format!("stag_cmd {op:?} {stag:#010x}"), 2000, |b| {
            b.stag_done.pop_front().map(|(_, r)| r)
        });
        if (got.status, got.stag, got.evicted) != (want.status, want.stag, want.evicted) {
            self.fail(format!(
                "stag_cmd {op:?} {stag:#010x}: (status, stag, evicted) expected {:?}, got {:?}",
                (want.status, want.stag, want.evicted),
                (got.status, got.stag, got.evicted)
            ));
        }
        got
    }

    /// A `conn_cmd_*` command run to its response, compared with the model.
    fn conn_cmd(&mut self, model: &mut NicRx, cmd: ct::Cmd) -> u8 {
        let want = model.conn_cmd(&cmd);
        self.conn_queue.push_back(cmd.clone());
        let (_, st, cn) = self.wait_for(&format!("conn_cmd {cmd:?}"), 2000, |b| {
            b.conn_done.pop_front()
        });
        if (st, cn) != (want.status, want.conn) {
            self.fail(format!(
                "conn_cmd {cmd:?}: (status, conn) expected {:?}, got {:?}",
                (want.status, want.conn),
                (st, cn)
            ));
        }
        st
    }

    /// Run until `f` gives a value, at most `limit` cycles.
    fn wait_for<T>(
        &mut self,
        what: &str,
        limit: u64,
        mut f: impl FnMut(&mut Bench) -> Option<T>,
    ) -> T {
        for _ in 0..limit {
            if let Some(v) = f(self) {
                return v;
            }
            self.cycle();
        }
        self.fail(format!("no {what} within {limit} cycles"))
    }

    /// Send one segment: the FPDU into `s_axis_rx` and the model's outcome
    /// into the expectations. `what` names it in messages.
    fn push(&mut self, o: &Outcome, fpdu: Vec<u8>, seq: u64, what: String) {
        let h = self.history.entry(o.verdict.stag).or_default();
        h.push_back(format!(
            "{what}: miss {:?}, at round of cycle {}",
            o.miss,
            self.m.cycle()
        ));
        if h.len() > 12 {
            h.pop_front();
        }
        self.src.send(AxisFrame::with_user(fpdu, o.conn as u64));
        if let Some(t) = &o.terminate {
            self.terms.entry(o.conn).or_default().push_back(t.clone());
            self.terms_pending += 1;
        }
        if let Some(p) = &o.place {
            let w = Writer::new(1 + o.conn as u32, o.verdict.stag as u64, seq);
            let end = p.addr + p.data.len() as u64;
            let mut map = self.places.borrow_mut();
            if let Some((&s, &(e, ow))) = map.range(..end).next_back() {
                if e > p.addr {
                    drop(map);
                    self.fail(format!(
                        "test bug: placement [{:#x}, {end:#x}) of {what} overlaps [{s:#x}, {e:#x}) of {ow}",
                        p.addr
                    ));
                }
            }
            map.insert(p.addr, (end, w));
            self.expected_bytes += p.data.len() as u64;
            self.expected_places.push((p.addr, p.data.clone(), w, what));
        }
        if let Some(mi) = &o.miss {
            self.miss_expected.entry(mi.stag).or_default().push_back((
                mi.conn,
                mi.answer,
                mi.evicted.is_some(),
            ));
        }
    }

    fn hold_count(&self) -> u64 {
        self.m.get(self.io.hold_count)
    }

    /// Everything the model expects has happened and nothing is in flight.
    fn quiet(&self, model: &NicRx) -> bool {
        self.src.idle()
            && self.terms_pending == 0
            && self.miss_outstanding.is_empty()
            && self.scheduled.is_empty()
            && self.reject_queue.is_empty()
            && self.reject_presented.is_none()
            && self.stag_queue.is_empty()
            && self.stag_presented.is_none()
            && self.stag_accepted.is_none()
            && self.wr.idle()
            && self.sink.idle()
            && self.mem.borrow().tracked_writes() == self.expected_bytes
            && self.hold_count() == 0
            && self.counters_match(model).is_none()
    }

    /// `None` when the DUT's counters equal the model's (cnt_parked within
    /// its bounds), else a description of the difference.
    fn counters_match(&self, model: &NicRx) -> Option<String> {
        let got = self.counters().values();
        let want = model.counters().values();
        let mut diff = Vec::new();
        for i in 0..19 {
            if i == PARKED_INDEX {
                let (lo, hi) = (want[i], model.parked_max());
                if got[i] < lo || got[i] > hi {
                    diff.push(format!(
                        "{} {} not in [{lo}, {hi}]",
                        COUNTER_NAMES[i], got[i]
                    ));
                }
            } else if got[i] != want[i] {
                diff.push(format!(
                    "{} expected {}, got {}",
                    COUNTER_NAMES[i], want[i], got[i]
                ));
            }
        }
        (!diff.is_empty()).then(|| diff.join(", "))
    }

    /// Run until quiet (see [`Bench::quiet`]), failing when nothing moves
    /// for `stuck` cycles; then a few more cycles in which nothing may
    /// change; then check host memory against the expected placements and
    /// start a fresh memory.
    fn settle(&mut self, model: &mut NicRx, stuck: u64) {
        let mut last = (u64::MAX, 0u64);
        let mut since = self.m.cycle();
        loop {
            if self.quiet(model) {
                break;
            }
            self.cycle();
            let mark = (
                self.activity + self.src.beats_sent() + self.wr.responses() + self.tx_chk.beats(),
                self.counters()
                    .values()
                    .iter()
                    .map(|&v| v as u64)
                    .sum::<u64>(),
            );
            if mark != last {
                last = mark;
                since = self.m.cycle();
            } else if self.m.cycle() - since > stuck {
                self.fail(format!(
                    "stuck for {stuck} cycles: {} frames queued on s_axis_rx, {} Terminates \
                     expected and not seen ({:?}), miss answers outstanding {:?} (scheduled {:?}), \
                     {} of {} placement bytes written, write subordinate {:?}, hold_count {}, \
                     hold_full {}, s_axis_rx_tready {}; counters: {}",
                    self.src.queued(),
                    self.terms_pending,
                    self.terms
                        .iter()
                        .filter(|(_, q)| !q.is_empty())
                        .map(|(c, q)| (*c, q.len()))
                        .collect::<Vec<_>>(),
                    self.miss_outstanding
                        .iter()
                        .map(|s| format!("{s:#010x}"))
                        .collect::<Vec<_>>(),
                    self.scheduled,
                    self.mem.borrow().tracked_writes(),
                    self.expected_bytes,
                    self.wr,
                    self.hold_count(),
                    self.m.get(self.io.hold_full),
                    self.m.get(self.io.rx_tready),
                    self.counters_match(model).unwrap_or_else(|| "equal".into())
                ));
            }
        }
        let before = self.counters();
        for _ in 0..24 {
            self.cycle();
        }
        if self.counters() != before {
            self.fail(format!(
                "counters moved after everything expected was done: {:?} -> {:?}",
                before.nonzero(),
                self.counters().nonzero()
            ));
        }
        if let Some(d) = self.counters_match(model) {
            self.fail(format!("counters: {d}"));
        }
        self.check_memory();
        model.quiesce();
    }

    /// Every expected placement written exactly once by its segment with its
    /// bytes, and no other byte written; then a fresh memory.
    fn check_memory(&mut self) {
        {
            let mem = self.mem.borrow();
            for (addr, data, w, what) in &self.expected_places {
                let range = *addr..addr + data.len() as u64;
                if let Err(e) = mem.assert_written_once_by(range, *w) {
                    self.fail(format!("{what}: {e}"));
                }
                let got = mem.read(*addr, data.len());
                if &got != data {
                    let k = got.iter().zip(data).position(|(a, b)| a != b).unwrap();
                    self.fail(format!(
                        "{what}: byte {k} at {:#x}: expected {:#04x}, got {:#04x}",
                        addr + k as u64,
                        data[k],
                        got[k]
                    ));
                }
            }
            if mem.tracked_writes() != self.expected_bytes {
                self.fail(format!(
                    "{} bytes written, {} expected",
                    mem.tracked_writes(),
                    self.expected_bytes
                ));
            }
        }
        *self.mem.borrow_mut() = HostMemory::new();
        self.places.borrow_mut().clear();
        self.expected_places.clear();
        self.expected_bytes = 0;
    }
}

// ---------------------------------------------------------------------------
// Directed tests
// ---------------------------------------------------------------------------

const PD: u32 = 0x2a;
const CONN: u16 = 1;
const BUF: u64 = 0x0000_0600_0000_0000;
const BUF_LEN: u32 = 512;

/// The world of the directed tests: connection 1 (PD 0x2a, MSNs 1) with a
/// 512-byte buffer, and own regions: `main` (all rights, the peer may
/// invalidate), `other_pd`, `no_write` (no remote write, no invalidate),
/// `top` (VA up to the 64-bit end), `inv` (to be invalidated).
struct World {
    model: NicRx,
    b: Bench,
    main: (u32, Entry),
    other_pd: (u32, Entry),
    no_write: (u32, Entry),
    top: (u32, Entry),
    inv: (u32, Entry),
    seq: u64,
}

fn region(dma: u64, va: u64, length: u64, pd: u32, rights: u8, inv: bool) -> Entry {
    Entry {
        dma_base: dma,
        va_base: va,
        length,
        pd,
        rights,
        remote_inv: inv,
    }
}

impl World {
    fn new(test: &str, stalls: Stalls) -> World {
        World::with_params(test, stalls, &params())
    }

    fn with_params(test: &str, stalls: Stalls, p: &Params) -> World {
        World::build(test, seed_from_env(test), stalls, p)
    }

    /// The world of build `p` with the seed already taken (and printed).
    fn build(test: &str, seed: u64, stalls: Stalls, p: &Params) -> World {
        let mut model = NicRx::new(Config::from_params(p, NIC_ID));
        let mut b = Bench::new(test, seed, stalls, p);
        let mut reg = |b: &mut Bench, e: Entry| {
            let r = b.stag_cmd(&mut model, Op::REGISTER, 0, e);
            assert_eq!(r.status, Status::OK);
            (r.stag.0, e)
        };
        let main = reg(
            &mut b,
            region(0x10_0000_0000, 0x7000_0000_1000, 0x10_0000, PD, 0xf, true),
        );
        let other_pd = reg(
            &mut b,
            region(0x20_0000_0000, 0x1000, 0x1000, PD + 1, 0xf, true),
        );
        let no_write = reg(
            &mut b,
            region(0x30_0000_0000, 0x1000, 0x1000, PD, 0x7, false),
        );
        let top = reg(
            &mut b,
            region(0x40_0000_0000, u64::MAX - 0xfff, 0x2000, PD, 0xf, true),
        );
        let inv = reg(
            &mut b,
            region(0x50_0000_0000, 0x4000, 0x1000, PD, 0xf, true),
        );
        let mut w = World {
            model,
            b,
            main,
            other_pd,
            no_write,
            top,
            inv,
            seq: 0,
        };
        w.conn(create(CONN));
        w.conn(model::post_recv(CONN, BUF, BUF_LEN));
        w
    }

    fn conn(&mut self, c: ct::Cmd) {
        let st = self.b.conn_cmd(&mut self.model, c.clone());
        assert_eq!(st, CONN_OK, "{c:?}");
    }

    /// Connection 1 fresh again (MSNs 1), with its buffer.
    fn reset_conn(&mut self, buffer: bool) {
        self.conn(model::recreate(CONN, 1, 1, 1));
        if buffer {
            self.conn(model::post_recv(CONN, BUF, BUF_LEN));
        }
    }

    /// Run one segment through model and DUT; returns the outcome, after
    /// everything it does has happened.
    fn one(&mut self, conn: u16, fpdu: Vec<u8>, what: &str) -> Outcome {
        let o = self.model.segment(conn, &fpdu);
        self.seq += 1;
        self.b.push(&o, fpdu, self.seq, what.to_string());
        self.b.settle(&mut self.model, 5000);
        o
    }
}

fn create(conn: u16) -> ct::Cmd {
    model::create(conn, PD, 1, 1, 1)
}

fn counters_delta_check(w: &World, name: &str, before: (Counters, Counters), k: u8) {
    let dut = w.b.counters().since(&before.0);
    let model = w.model.counters().since(&before.1);
    assert_eq!(
        dut.nonzero(),
        model.nonzero(),
        "{name}: counter increments (DUT vs model)"
    );
    for j in 1..=11u8 {
        assert_eq!(
            dut.check[j as usize],
            (j == k) as u32,
            "{name}: cnt_check_{j} increment"
        );
    }
    assert_eq!(dut.terminates, (k >= 2) as u32, "{name}: cnt_terminates");
    assert_eq!(dut.placed + dut.delivered + dut.placed_bytes, 0, "{name}");
}

/// The world's regions and limits as the rows of SPEC's table name them
/// (`testbench::bad_segments`).
fn targets(w: &World) -> Targets {
    let t = |(stag, e): (u32, Entry)| Target {
        stag,
        va: e.va_base,
        len: e.length,
    };
    Targets {
        main: t(w.main),
        other_pd: t(w.other_pd),
        no_write: t(w.no_write),
        top: t(w.top),
        max_payload: w.model.cfg().max_payload,
        buf_len: BUF_LEN,
    }
}

/// Every row of SPEC's check table through the NIC (the rows of
/// `testbench::bad_segments`, shared with the system test of scenario 8):
/// the hand-written action / check / Terminate, the model agreeing, the
/// exact Terminate bytes on `m_axis_tx` (the model's, which must also be
/// the row's own expectation), `cnt_check_<k>` + 1 and nothing else, and
/// no byte of host memory written. Run with no back-pressure, then with
/// random.
#[test]
fn spec_table_rows() {
    for (pass, test) in [(0, "nic_rx_spec_rows"), (1, "nic_rx_spec_rows_stalls")] {
        let seed = seed_from_env(test);
        let stalls = if pass == 0 {
            Stalls::none()
        } else {
            Stalls::random(&mut rng(seed))
        };
        let mut w = World::build(test, seed, stalls, &params());
        let t = targets(&w);
        let list = bad_segments::rows(&t);
        for c in &list {
            w.reset_conn(c.buffer);
            let before = (w.b.counters(), *w.model.counters());
            let o = w.one(CONN, c.fpdu.clone(), c.name);
            assert_eq!(
                (o.action, o.reason, o.term, o.verdict.term_with_hdr),
                (Action::Terminate, c.check, Some(c.term), c.with_hdr),
                "{}: the model's (action, check, Terminate, D) against the table",
                c.name
            );
            assert_eq!(
                o.terminate,
                Some(c.expected_terminate(1, t.max_payload)),
                "{}: the model's Terminate against the row's",
                c.name
            );
            counters_delta_check(&w, c.name, before, c.check);
            assert!(w.model.conn(CONN).unwrap().error, "{}: in Error", c.name);
        }
        // 1: an unknown connection, and a connection in Error.
        w.reset_conn(true);
        let drops = bad_segments::drop_rows(&t);
        for row in &drops {
            let conn = match row.conn {
                DropConn::Unknown(c) => c,
                DropConn::InError => {
                    let o = w.one(CONN, bad_segments::into_error(&t), "CRC");
                    assert_eq!(o.reason, 2);
                    CONN
                }
            };
            let before = (w.b.counters(), *w.model.counters());
            let o = w.one(conn, row.fpdu.clone(), row.name);
            assert_eq!(
                (o.action, o.reason, o.terminate.is_none()),
                (Action::Drop, 1, true),
                "{}",
                row.name
            );
            counters_delta_check(&w, row.name, before, 1);
        }
        eprintln!(
            "[{test}] {} rows, {} Terminates checked, {} cycles",
            list.len() + drops.len(),
            w.b.terms_seen,
            w.b.m.cycle()
        );
    }
}

/// The passing operations: Write, Read Response, Send (into the posted
/// buffer, MSN advances, buffer popped), Send with Invalidate (placed, then
/// the STag is gone: a Write to it is refused), Read Request (delivered,
/// nothing written), zero-length Write, a Terminate from the peer.
#[test]
fn passing_operations() {
    let test = "nic_rx_passing";
    let mut w = World::new(test, Stalls::none());
    let (main, mva) = (w.main.0, w.main.1.va_base);
    let mdma = w.main.1.dma_base;
    let data: Vec<u8> = (0..300u32).map(|i| (i * 13) as u8).collect();

    let before = *w.model.counters();
    let o = w.one(
        CONN,
        fpdu(&Segment::write(main, mva + 0x103, data.clone())),
        "write",
    );
    assert_eq!(
        (o.action, o.place.as_ref().unwrap().addr),
        (Action::Place, mdma + 0x103)
    );
    let o = w.one(
        CONN,
        fpdu(&Segment::read_response(
            main,
            mva + 0x1000,
            data[..77].to_vec(),
        )),
        "read response",
    );
    assert_eq!(o.place.unwrap().addr, mdma + 0x1000);
    let o = w.one(
        CONN,
        fpdu(&Segment::send(Opcode::Send, 0, 1, data[..200].to_vec())),
        "send",
    );
    assert_eq!(o.place.unwrap().addr, BUF);
    assert_eq!(w.model.conn(CONN).unwrap().msn_send, 2);
    w.conn(model::post_recv(CONN, BUF + 0x1000, BUF_LEN));
    let inv = w.inv.0;
    let o = w.one(
        CONN,
        fpdu(&Segment::send(
            Opcode::SendInv,
            inv,
            2,
            data[..100].to_vec(),
        )),
        "send with invalidate",
    );
    assert_eq!((o.action, o.invalidated), (Action::Place, Some(inv)));
    assert_eq!(o.place.unwrap().addr, BUF + 0x1000);
    let o = w.one(
        CONN,
        fpdu(&Segment::read_request(1, read_request())),
        "read request",
    );
    assert_eq!((o.action, o.reason), (Action::Deliver, 0));
    assert_eq!(w.model.conn(CONN).unwrap().msn_rreq, 2);
    let o = w.one(
        CONN,
        fpdu(&Segment::write(main ^ 0x10, 5, vec![])),
        "zero-length write, unknown STag",
    );
    assert_eq!((o.action, o.place), (Action::Place, None));
    let d = w.model.counters().since(&before);
    assert_eq!(
        (d.placed, d.placed_bytes, d.delivered, d.terminates),
        (5, 300 + 77 + 200 + 100, 1, 0)
    );
    assert_eq!(w.b.counters(), *w.model.counters());
    // The invalidated STag: a Write to it is refused, memory untouched.
    let o = w.one(
        CONN,
        fpdu(&Segment::write(inv, 0x4000, vec![9; 32])),
        "write to the invalidated STag",
    );
    assert_eq!(
        (o.action, o.reason, o.term),
        (Action::Terminate, 5, Some(codes::DDP_T_INVALID_STAG))
    );
    // A Terminate from the peer: delivered, the connection enters Error,
    // nothing is sent back.
    w.reset_conn(true);
    let o = w.one(
        CONN,
        fpdu(&Segment::terminate(1, Terminate::new(codes::LLP_CRC))),
        "peer Terminate",
    );
    assert_eq!((o.action, o.terminate), (Action::Deliver, None));
    assert!(w.model.conn(CONN).unwrap().error);
    let o = w.one(
        CONN,
        fpdu(&Segment::write(main, mva, vec![1; 8])),
        "after the peer's Terminate",
    );
    assert_eq!(o.action, Action::Drop);
    assert_eq!(w.b.counters(), *w.model.counters());
}

/// A foreign STag (NIC 9's) for the hold-queue tests.
fn foreign(w: &World, entry: u32) -> u32 {
    w.model.cfg().stag.make_stag(9, entry, 3)
}

/// Send `segs` (connection, FPDU, what) without settling.
fn push_all(w: &mut World, segs: Vec<(u16, Vec<u8>, String)>) -> Vec<Outcome> {
    segs.into_iter()
        .map(|(c, f, what)| {
            let o = w.model.segment(c, &f);
            w.seq += 1;
            w.b.push(&o, f, w.seq, what);
            o
        })
        .collect()
}

/// (a) Several Writes on connection 1 to one foreign STag park behind one
/// miss event; connection 2 keeps flowing meanwhile; after the INSTALL they
/// are placed, in order.
#[test]
fn hold_park_install_in_order() {
    let test = "nic_rx_hold_install";
    let mut w = World::new(test, Stalls::none());
    w.conn(create(2));
    let f = foreign(&w, 7);
    let fe = region(0x70_0000_0000, 0x10_0000, 0x10_0000, PD, 0xf, false);
    w.model.set_policy(f, Answer::Install(fe));
    w.b.hold_answers = true;
    let (main, mva) = (w.main.0, w.main.1.va_base);
    let mut segs = Vec::new();
    for k in 0..6u64 {
        segs.push((
            CONN,
            fpdu(&Segment::write(
                f,
                0x10_0000 + k * 1000,
                vec![k as u8 + 1; 999],
            )),
            format!("foreign write {k}"),
        ));
        segs.push((
            2,
            fpdu(&Segment::write(
                main,
                mva + k * 0x1000,
                vec![0x40 + k as u8; 700],
            )),
            format!("connection 2 write {k}"),
        ));
    }
    let outs = push_all(&mut w, segs);
    assert_eq!(outs.iter().filter(|o| o.miss.is_some()).count(), 1);
    // Connection 2's six Writes are placed while connection 1 waits.
    let n2 = 6 * 700;
    w.b.wait_for(
        "connection 2 placed while connection 1 is parked",
        20_000,
        |b| (b.mem.borrow().tracked_writes() == n2 && b.hold_count() == 6).then_some(()),
    );
    assert_eq!(
        w.b.miss_log.len(),
        1,
        "one miss event for six parked segments"
    );
    assert_eq!((w.b.miss_log[0].1, w.b.miss_log[0].2), (f, CONN));
    let c = w.b.counters();
    assert_eq!((c.parked, c.miss_events, c.placed), (6, 1, 6));
    for _ in 0..200 {
        w.b.cycle();
    }
    assert_eq!(w.b.hold_count(), 6, "parked segments wait for the answer");
    let log_start = w.b.wr.writes().len();
    w.b.hold_answers = false;
    w.b.settle(&mut w.model, 5000);
    let c = w.b.counters();
    assert_eq!((c.parked, c.miss_events, c.placed), (6, 1, 12));
    // In order: the foreign Writes' bursts complete in segment order.
    let seqs: Vec<u64> = w.b.wr.writes()[log_start..]
        .iter()
        .filter(|d| d.writer.source == 1 + CONN as u32)
        .map(|d| d.writer.seq)
        .collect();
    assert!(
        !seqs.is_empty() && seqs.windows(2).all(|p| p[0] <= p[1]),
        "placement order {seqs:?}"
    );
    // A later Write to the installed STag hits: no new event.
    let o = w.one(
        CONN,
        fpdu(&Segment::write(f, 0x10_0000 + 6000, vec![7; 10])),
        "after install",
    );
    assert_eq!((o.action, o.miss), (Action::Place, None));
    assert_eq!(w.b.miss_log.len(), 1);
}

/// (b) Writes parked on a foreign STag the driver rejects: discarded, the
/// first answered DDP 1/1/0x00, the others dropped (the connection is in
/// Error), memory untouched; a Send with Invalidate parked on a rejected
/// STag is answered RDMAP 0/2/0x09.
#[test]
fn hold_park_reject() {
    let test = "nic_rx_hold_reject";
    let mut w = World::new(test, Stalls::none());
    w.conn(create(2));
    w.conn(model::post_recv(2, BUF + 0x10_0000, BUF_LEN));
    let g = foreign(&w, 11);
    let h = foreign(&w, 12);
    w.model.set_policy(g, Answer::Reject);
    w.model.set_policy(h, Answer::Reject);
    w.b.hold_answers = true;
    let before = w.b.counters();
    let segs = vec![
        (
            CONN,
            fpdu(&Segment::write(g, 0x100, vec![1; 64])),
            "rejected write 0".to_string(),
        ),
        (
            CONN,
            fpdu(&Segment::write(g, 0x200, vec![2; 64])),
            "rejected write 1".to_string(),
        ),
        (
            CONN,
            fpdu(&Segment::send(Opcode::Send, 0, 1, vec![3; 64])),
            "send behind".to_string(),
        ),
        (
            2,
            fpdu(&Segment::send(Opcode::SendInv, h, 1, vec![4; 64])),
            "send-inv on rejected".to_string(),
        ),
    ];
    let outs = push_all(&mut w, segs);
    assert_eq!(
        outs.iter()
            .map(|o| (o.action, o.reason, o.term))
            .collect::<Vec<_>>(),
        vec![
            (Action::Terminate, 5, Some(codes::DDP_T_INVALID_STAG)),
            (Action::Drop, 1, None),
            (Action::Drop, 1, None),
            (
                Action::Terminate,
                11,
                Some(codes::RDMAP_CANNOT_INVALIDATE_OP)
            ),
        ]
    );
    w.b.wait_for("all four parked", 20_000, |b| {
        (b.hold_count() == 4 && b.miss_log.len() == 2).then_some(())
    });
    w.b.hold_answers = false;
    w.b.settle(&mut w.model, 5000);
    let d = w.b.counters().since(&before);
    assert_eq!(
        (
            d.parked,
            d.miss_events,
            d.terminates,
            d.check[1],
            d.check[5],
            d.check[11],
            d.placed
        ),
        (4, 2, 2, 2, 1, 1, 0)
    );
    // A reject naming a STag nothing waits on: counted, ignored.
    w.model.reject_unknown(g);
    w.b.reject_queue.push_back(g);
    w.b.settle(&mut w.model, 5000);
    assert_eq!(w.b.counters().reject_unknown, 1);
}

/// (c) More parked segments than the hold queue holds: `hold_full` rises,
/// `s_axis_rx_tready` stalls (head of line: connection 2 waits too),
/// nothing is dropped, everything is placed after the INSTALL.
#[test]
fn hold_queue_full_backpressure() {
    let test = "nic_rx_hold_full";
    let mut w = World::new(test, Stalls::none());
    w.conn(create(2));
    let f = foreign(&w, 5);
    let fe = region(0x70_0000_0000, 0, 0x100_0000, PD, 0xf, false);
    w.model.set_policy(f, Answer::Install(fe));
    w.b.hold_answers = true;
    let (main, mva) = (w.main.0, w.main.1.va_base);
    let mut segs = Vec::new();
    // 16 park, one waits for room at the head of the descriptor FIFO, the
    // FIFOs in front fill, and the rest wait on s_axis_rx.
    let n1 = 64u64;
    for k in 0..n1 {
        segs.push((
            CONN,
            fpdu(&Segment::write(f, k * 100, vec![k as u8; 100])),
            format!("foreign write {k}"),
        ));
    }
    for k in 0..4u64 {
        segs.push((
            2,
            fpdu(&Segment::write(main, mva + k * 100, vec![0x80; 100])),
            format!("connection 2 write {k}"),
        ));
    }
    push_all(&mut w, segs);
    w.b.wait_for("hold_full", 50_000, |b| {
        (b.m.get(b.io.hold_full) == 1).then_some(())
    });
    assert_eq!(w.b.hold_count(), 16, "--hold-segments parked");
    for _ in 0..1000 {
        w.b.cycle();
    }
    // The stream stalls: nothing more enters while full.
    let sent = w.b.src.frames_sent();
    let mut ready_cycles = 0;
    for _ in 0..2000 {
        w.b.cycle();
        assert_eq!(
            w.b.m.get(w.b.io.hold_full),
            1,
            "hold_full stays up while the segment waits"
        );
        assert_eq!(w.b.hold_count(), 16);
        ready_cycles += w.b.m.get(w.b.io.rx_tready);
    }
    assert!(!w.b.src.idle(), "frames are still waiting to enter");
    assert_eq!(
        w.b.src.frames_sent(),
        sent,
        "the rx stream is back-pressured while full"
    );
    assert_eq!(ready_cycles, 0, "s_axis_rx_tready stays low while full");
    assert_eq!(
        w.b.counters().placed,
        0,
        "connection 2 waits behind (head of line)"
    );
    assert_eq!(
        w.b.counters().check.iter().sum::<u32>(),
        0,
        "nothing dropped"
    );
    eprintln!(
        "[{test}] {} of {} frames entered while the hold queue was full",
        sent,
        n1 + 4
    );
    w.b.hold_answers = false;
    w.b.settle(&mut w.model, 10_000);
    let c = w.b.counters();
    assert_eq!(
        (c.placed, c.miss_events, c.placed_bytes),
        (n1 as u32 + 4, 1, (n1 as u32 + 4) * 100)
    );
    assert_eq!(w.b.m.get(w.b.io.hold_full), 0);
    assert!(c.parked >= 16, "cnt_parked {}", c.parked);
}

/// (d) The miss table full ([`params_small`]: `--hold-stags 2`): three
/// connections each park on a different foreign STag. Two miss events come
/// out; the third segment's PARK verdict needs a new miss-table entry and
/// none is free, so it waits at the head of the descriptor FIFO
/// (`hold_full` = 1, two segments parked, no third event), nothing is
/// dropped and the segments behind it wait too. The INSTALL of the first
/// STag frees its entry: the third segment raises its event then. After the
/// other INSTALLs (one at a time: with `--foreign-entries 2` the third
/// evicts the first, whose segment is placed by then) everything is placed,
/// each connection in order.
#[test]
fn hold_miss_table_full() {
    let test = "nic_rx_miss_table_full";
    let mut w = World::with_params(test, Stalls::none(), &params_small());
    // The foreign lookups hit in a known order (f1's replay, then f2's):
    // the model may follow the LRU order and let the third INSTALL evict.
    w.model.set_exact_lru(true);
    w.conn(create(2));
    w.conn(create(3));
    let fs: Vec<u32> = (0..3).map(|k| foreign(&w, 21 + k)).collect();
    for (k, &f) in fs.iter().enumerate() {
        let dma = 0x70_0000_0000 + k as u64 * 0x100_0000;
        let fe = region(dma, 0x10_0000, 0x10_0000, PD, 0xf, false);
        w.model.set_policy(f, Answer::Install(fe));
    }
    w.b.hold_answers = true;
    let (main, mva) = (w.main.0, w.main.1.va_base);
    let mut segs = Vec::new();
    for (k, &f) in fs.iter().enumerate() {
        let conn = 1 + k as u16;
        segs.push((
            conn,
            fpdu(&Segment::write(
                f,
                0x10_0000 + 0x1000 * k as u64,
                vec![0x11 * (k as u8 + 1); 300],
            )),
            format!("connection {conn}: write to foreign STag {k}"),
        ));
    }
    for (conn, k) in [(CONN, 0u64), (2, 1)] {
        segs.push((
            conn,
            fpdu(&Segment::write(
                main,
                mva + k * 0x1000,
                vec![0x70 + k as u8; 200],
            )),
            format!("connection {conn}: own write behind"),
        ));
    }
    let outs = push_all(&mut w, segs);
    let evicts: Vec<Option<u32>> = outs
        .iter()
        .filter_map(|o| o.miss.map(|m| m.evicted))
        .collect();
    assert_eq!(
        evicts,
        vec![None, None, Some(fs[0])],
        "three misses; the third INSTALL evicts f1"
    );
    w.b.wait_for(
        "two miss events, then hold_full (the third waits for an entry)",
        20_000,
        |b| (b.miss_log.len() == 2 && b.hold_full()).then_some(()),
    );
    let evs: Vec<(u32, u16)> = w.b.miss_log.iter().map(|e| (e.1, e.2)).collect();
    assert_eq!(evs, vec![(fs[0], 1), (fs[1], 2)], "the first two events");
    for _ in 0..1000 {
        w.b.cycle();
        assert!(w.b.hold_full(), "hold_full stays 1 while the third waits");
        assert_eq!(w.b.hold_count(), 2, "two segments parked, the third waits");
        assert_eq!(w.b.miss_log.len(), 2, "no event without a free entry");
    }
    let c = w.b.counters();
    assert_eq!(
        (c.placed, c.miss_events, c.check.iter().sum::<u32>()),
        (0, 2, 0),
        "nothing placed (head of line), nothing dropped"
    );
    // Install the first STag: its entry frees, the third raises its event.
    w.b.release(fs[0]);
    w.b.wait_for("the third miss event after the INSTALL", 5_000, |b| {
        (b.miss_log.len() == 3).then_some(())
    });
    let (ev_cycle, stag, conn) = w.b.miss_log[2];
    assert_eq!((stag, conn), (fs[2], 3), "the third event");
    let installed =
        w.b.answer_log
            .iter()
            .find(|a| a.1 == fs[0])
            .expect("the INSTALL of the first STag was answered")
            .0;
    assert!(
        ev_cycle > installed,
        "the third event (cycle {ev_cycle}) comes after the INSTALL response (cycle {installed})"
    );
    w.b.wait_for("hold_full falls", 5_000, |b| (!b.hold_full()).then_some(()));
    for _ in 0..200 {
        w.b.cycle();
    }
    assert_eq!(w.b.miss_log.len(), 3);
    let log_start = 0;
    w.b.release(fs[1]);
    w.b.wait_for(
        "connection 2 placed, f3's segment still parked",
        5_000,
        |b| {
            (b.counters().placed == 4 && b.hold_count() == 1 && b.stag_accepted.is_none())
                .then_some(())
        },
    );
    w.b.hold_answers = false;
    w.b.settle(&mut w.model, 5000);
    let c = w.b.counters();
    assert_eq!(
        (
            c.placed,
            c.miss_events,
            c.placed_bytes,
            c.check.iter().sum::<u32>()
        ),
        (5, 3, 3 * 300 + 2 * 200, 0)
    );
    assert!(c.parked >= 3, "cnt_parked {}", c.parked);
    // Each connection's placements in segment order.
    for conn in [1u16, 2, 3] {
        let seqs: Vec<u64> = w.b.wr.writes()[log_start..]
            .iter()
            .filter(|d| d.writer.source == 1 + conn as u32)
            .map(|d| d.writer.seq)
            .collect();
        assert!(
            !seqs.is_empty() && seqs.windows(2).all(|p| p[0] <= p[1]),
            "connection {conn}: placement order {seqs:?}"
        );
    }
}

/// (e) `--hold-bytes` reached by data, not by segment count
/// ([`params_small`]: 2048 bytes = 256 beats of 64 bits, 4 segments):
/// Writes on connection 1 to a foreign STag park: 1500 bytes (188 beats),
/// 540 bytes (68 beats: 256 exactly, it fits), then 8 bytes (one beat more
/// than the room): that one waits at the head with `hold_full` = 1 while
/// two segments are parked; connection 2's Writes behind it fill the FIFOs
/// in front and `s_axis_rx_tready` stays low. The INSTALL releases them;
/// every byte is placed, in order.
#[test]
fn hold_bytes_full() {
    let test = "nic_rx_hold_bytes_full";
    let mut w = World::with_params(test, Stalls::none(), &params_small());
    w.conn(create(2));
    let f = foreign(&w, 31);
    let fe = region(0x70_0000_0000, 0, 0x100_0000, PD, 0xf, false);
    w.model.set_policy(f, Answer::Install(fe));
    w.b.hold_answers = true;
    let (main, mva) = (w.main.0, w.main.1.va_base);
    let sizes = [1500usize, 540, 8];
    let mut segs = Vec::new();
    for (k, &n) in sizes.iter().enumerate() {
        segs.push((
            CONN,
            fpdu(&Segment::write(f, k as u64 * 0x1000, vec![k as u8 + 1; n])),
            format!("foreign write {k} ({n} bytes)"),
        ));
    }
    let n2 = 8u64;
    for k in 0..n2 {
        segs.push((
            2,
            fpdu(&Segment::write(
                main,
                mva + k * 0x1000,
                vec![0x80 + k as u8; 1000],
            )),
            format!("connection 2 write {k}"),
        ));
    }
    push_all(&mut w, segs);
    w.b.wait_for("hold_full", 50_000, |b| b.hold_full().then_some(()));
    assert_eq!(
        w.b.hold_count(),
        2,
        "1500 + 540 bytes parked (256 beats, all of --hold-bytes), fewer than --hold-segments 4"
    );
    for _ in 0..1000 {
        w.b.cycle();
    }
    let sent = w.b.src.frames_sent();
    let mut ready_cycles = 0;
    for _ in 0..2000 {
        w.b.cycle();
        assert!(w.b.hold_full(), "hold_full stays 1 while the 8 bytes wait");
        assert_eq!(w.b.hold_count(), 2);
        ready_cycles += w.b.m.get(w.b.io.rx_tready);
    }
    assert!(!w.b.src.idle(), "frames still wait to enter");
    assert_eq!(
        w.b.src.frames_sent(),
        sent,
        "the rx stream is back-pressured"
    );
    assert_eq!(ready_cycles, 0, "s_axis_rx_tready stays low");
    let c = w.b.counters();
    assert_eq!(
        (c.placed, c.miss_events, c.check.iter().sum::<u32>()),
        (0, 1, 0),
        "connection 2 waits behind (head of line), nothing dropped"
    );
    eprintln!(
        "[{test}] {sent} of {} frames entered while the hold data was full",
        sizes.len() as u64 + n2
    );
    w.b.hold_answers = false;
    w.b.settle(&mut w.model, 10_000);
    let c = w.b.counters();
    let bytes = sizes.iter().sum::<usize>() as u32 + n2 as u32 * 1000;
    assert_eq!(
        (c.placed, c.miss_events, c.placed_bytes),
        (3 + n2 as u32, 1, bytes)
    );
    assert!(!w.b.hold_full());
    let seqs: Vec<u64> =
        w.b.wr
            .writes()
            .iter()
            .filter(|d| d.writer.source == 1 + CONN as u32)
            .map(|d| d.writer.seq)
            .collect();
    assert!(
        seqs.windows(2).all(|p| p[0] <= p[1]),
        "placement order {seqs:?}"
    );
}

/// (f) A DMA write error: the host answers one burst (the second of a
/// 1500-byte Write) SLVERR. `cnt_dma_errors` goes up by one and nothing
/// else changes (`docs/rx_place.md`: the descriptor's data is still
/// consumed and its later bursts still issued): the Write's other bursts,
/// and every segment around it on two connections (Writes, Sends, a Read
/// Request), are placed as if nothing happened, and no Terminate is sent.
/// Run with no back-pressure, then with random.
#[test]
fn dma_write_error() {
    for (pass, test) in [(0, "nic_rx_dma_error"), (1, "nic_rx_dma_error_stalls")] {
        let seed = seed_from_env(test);
        let stalls = if pass == 0 {
            Stalls::none()
        } else {
            Stalls::random(&mut rng(seed))
        };
        let mut w = World::build(test, seed, stalls, &params());
        w.conn(create(2));
        w.conn(model::post_recv(2, BUF + 0x10_0000, BUF_LEN));
        let (main, mva, mdma) = (w.main.0, w.main.1.va_base, w.main.1.dma_base);
        let data = |n: usize, k: u8| (0..n).map(|i| (i as u8).wrapping_mul(k)).collect();
        let target = (mdma + 0x2_0010, 1500u64);
        let failed: Rc<RefCell<Vec<AxiBurst>>> = Rc::new(RefCell::new(Vec::new()));
        let fl = failed.clone();
        w.b.wr.set_resp_for(move |b| {
            let mut f = fl.borrow_mut();
            if f.is_empty() && b.addr > target.0 && b.addr < target.0 + target.1 {
                f.push(*b);
                RESP_SLVERR
            } else {
                RESP_OKAY
            }
        });
        let before = (w.b.counters(), *w.model.counters());
        let segs: Vec<(u16, Vec<u8>, String)> = vec![
            (
                CONN,
                fpdu(&Segment::write(main, mva + 0x1_0000, data(700, 3))),
                "write before".into(),
            ),
            (
                2,
                fpdu(&Segment::write(main, mva + 0x1_1000, data(300, 5))),
                "connection 2 write".into(),
            ),
            (
                CONN,
                fpdu(&Segment::write(main, mva + 0x2_0010, data(1500, 7))),
                "the write with the failing burst".into(),
            ),
            (
                CONN,
                fpdu(&Segment::send(Opcode::Send, 0, 1, data(200, 9))),
                "send after".into(),
            ),
            (
                2,
                fpdu(&Segment::send(Opcode::Send, 0, 1, data(100, 11))),
                "connection 2 send".into(),
            ),
            (
                CONN,
                fpdu(&Segment::read_request(1, read_request())),
                "read request after".into(),
            ),
            (
                CONN,
                fpdu(&Segment::write(main, mva + 0x3_0000, data(2000, 13))),
                "write after".into(),
            ),
            (
                2,
                fpdu(&Segment::write(main, mva + 0x3_1000, data(64, 15))),
                "connection 2 write after".into(),
            ),
        ];
        let outs = push_all(&mut w, segs);
        assert_eq!(outs[2].place.as_ref().map(|p| p.addr), Some(target.0));
        assert!(outs.iter().all(|o| o.terminate.is_none()));
        w.b.wait_for("the failing burst's AW", 20_000, |_| {
            (!failed.borrow().is_empty()).then_some(())
        });
        let fb = failed.borrow()[0];
        let range = fb.addr..fb.end_addr().min(target.0 + target.1);
        // The subordinate writes nothing for a burst it answers SLVERR.
        w.b.expect_unwritten(range.clone());
        w.model.dma_error();
        w.b.settle(&mut w.model, 5000);
        let dut = w.b.counters().since(&before.0);
        let model = w.model.counters().since(&before.1);
        assert_eq!(dut, model, "counter increments (DUT vs model)");
        assert_eq!(
            (dut.dma_errors, dut.placed, dut.delivered, dut.terminates),
            (1, 7, 1, 0),
            "one DMA error, the rest placed"
        );
        assert_eq!(dut.check.iter().sum::<u32>(), 0);
        assert_eq!(failed.borrow().len(), 1);
        // The path goes on: another Write, placed and counted.
        let o = w.one(
            CONN,
            fpdu(&Segment::write(main, mva + 0x4_0000, data(333, 17))),
            "write after the error, settled",
        );
        assert_eq!(o.action, Action::Place);
        assert_eq!(w.b.counters().since(&before.0).dma_errors, 1);
        eprintln!(
            "[{test}] burst {:#x}..{:#x} (awlen {}) answered SLVERR; cnt_dma_errors {}",
            range.start,
            range.end,
            fb.len,
            w.b.counters().dma_errors
        );
    }
}

/// (g) Foreign-cache eviction and re-resolution (SPEC scenario 11;
/// [`params_small`]: `--foreign-entries 2`). Foreign STags f1 and f2 are
/// resolved through miss events; a Write to f1 makes it the most recently
/// used; the host installs f3, which evicts the least recently used, f2
/// (`stag_resp_evicted`, `stag_evictions` + 1). f1 and f3 still hit; a Write
/// to f2 parks again and raises a new miss event; its INSTALL evicts f1 (f3
/// was used after it) and releases it; then f1 and f2 are evicted and
/// resolved again the same way. The model
/// follows the LRU order (one segment at a time,
/// [`NicRx::set_exact_lru`]); every byte is checked.
#[test]
fn foreign_eviction_reresolve() {
    let test = "nic_rx_foreign_eviction";
    let mut w = World::with_params(test, Stalls::none(), &params_small());
    w.model.set_exact_lru(true);
    let evictions_port = w.b.m.port("stag_evictions").expect("stag_evictions");
    let f: Vec<u32> = (0..3).map(|k| foreign(&w, 41 + k)).collect();
    let e: Vec<Entry> = (0..3)
        .map(|k| {
            region(
                0x71_0000_0000 + k as u64 * 0x1000_0000,
                0x1_0000,
                0x10_0000,
                PD,
                0xf,
                false,
            )
        })
        .collect();
    for k in 0..3 {
        w.model.set_policy(f[k], Answer::Install(e[k]));
    }
    let mut off = 0u64;
    let mut write = |w: &mut World, k: usize, what: &str| -> Outcome {
        off += 0x400;
        let n = 100 + (off as usize / 0x400) * 37;
        let d: Vec<u8> = (0..n).map(|i| (i as u8) ^ (0x30 + k as u8)).collect();
        w.one(CONN, fpdu(&Segment::write(f[k], 0x1_0000 + off, d)), what)
    };
    let check = |w: &World, evictions: u32, events: usize, what: &str| {
        assert_eq!(
            w.b.m.get(evictions_port) as u32,
            evictions,
            "{what}: stag_evictions"
        );
        assert_eq!(
            w.model.stag_table().evictions(),
            evictions,
            "{what}: the model's evictions"
        );
        assert_eq!(w.b.miss_log.len(), events, "{what}: miss events");
    };
    // f1, f2 resolved through miss events (the cache has room).
    let o = write(&mut w, 0, "f1, first");
    assert_eq!(
        (o.action, o.miss.map(|m| m.evicted)),
        (Action::Place, Some(None))
    );
    let o = write(&mut w, 1, "f2, first");
    assert_eq!(
        (o.action, o.miss.map(|m| m.evicted)),
        (Action::Place, Some(None))
    );
    check(&w, 0, 2, "f1 and f2 installed");
    // f1 used: f2 is the least recently used.
    let o = write(&mut w, 0, "f1 hit");
    assert_eq!((o.action, o.miss), (Action::Place, None));
    // The host installs f3: f2 is evicted.
    let r = w.b.stag_cmd(&mut w.model, Op::INSTALL, f[2], e[2]);
    assert_eq!(
        (r.status, r.evicted),
        (Status::OK, true),
        "INSTALL of f3 evicts"
    );
    check(&w, 1, 2, "f3 installed");
    let o = write(&mut w, 0, "f1 still installed");
    assert_eq!((o.action, o.miss), (Action::Place, None));
    let o = write(&mut w, 2, "f3 installed by the host");
    assert_eq!((o.action, o.miss), (Action::Place, None));
    check(&w, 1, 2, "f1 and f3 hit");
    // f2 was evicted: a Write to it parks again, with a new miss event; it
    // waits for the answer.
    w.b.hold_answers = true;
    let d: Vec<u8> = (0..777).map(|i| (i * 5) as u8).collect();
    let o = push_all(
        &mut w,
        vec![(
            CONN,
            fpdu(&Segment::write(f[1], 0x1_0000 + 0x8000, d)),
            "f2 after its eviction".into(),
        )],
    )
    .remove(0);
    assert_eq!(o.action, Action::Place);
    assert_eq!(
        o.miss.map(|m| (m.stag, m.conn, m.evicted)),
        Some((f[1], CONN, Some(f[0]))),
        "a new miss event; its INSTALL evicts the LRU (f1: f3 was used after it)"
    );
    w.b.wait_for("the new miss event for f2", 5_000, |b| {
        (b.miss_log.len() == 3 && b.hold_count() == 1).then_some(())
    });
    assert_eq!((w.b.miss_log[2].1, w.b.miss_log[2].2), (f[1], CONN));
    let placed = w.b.counters().placed;
    for _ in 0..300 {
        w.b.cycle();
    }
    assert_eq!(w.b.hold_count(), 1, "parked until the INSTALL");
    assert_eq!(w.b.counters().placed, placed);
    w.b.hold_answers = false;
    w.b.settle(&mut w.model, 5000);
    check(&w, 2, 3, "f2 re-installed");
    // f1 was evicted by it: re-resolved too; f3 still hits, f2 hits.
    let o = write(&mut w, 2, "f3 hit");
    assert_eq!((o.action, o.miss), (Action::Place, None));
    let o = write(&mut w, 0, "f1 after its eviction");
    assert_eq!(
        o.miss.map(|m| (m.stag, m.evicted)),
        Some((f[0], Some(f[1]))),
        "f1 misses again; its INSTALL evicts f2 (f3 was used after it)"
    );
    check(&w, 3, 4, "f1 re-installed");
    let o = write(&mut w, 2, "f3 hit again");
    assert_eq!((o.action, o.miss), (Action::Place, None));
    let o = write(&mut w, 1, "f2 after its second eviction");
    assert_eq!(
        o.miss.map(|m| (m.stag, m.evicted)),
        Some((f[1], Some(f[0])))
    );
    check(&w, 4, 5, "f2 re-installed again");
    let c = w.b.counters();
    assert_eq!(
        (c.miss_events, c.parked, c.check.iter().sum::<u32>()),
        (5, 5, 0)
    );
    assert_eq!(c, *w.model.counters());
}

// ---------------------------------------------------------------------------
// Random soak
// ---------------------------------------------------------------------------

/// A region the test writes into: its STag, entry and next free offset.
#[derive(Clone, Debug)]
struct Region {
    stag: u32,
    entry: Entry,
    next: u64,
}

impl Region {
    /// `n` fresh bytes: the TO, or None when the region is used up.
    fn take(&mut self, n: u64) -> Option<u64> {
        let gap = 1 + (self.next % 7);
        let off = self.next + gap;
        (off + n <= self.entry.length).then(|| {
            self.next = off + n;
            self.entry.va_base.wrapping_add(off)
        })
    }
}

#[derive(Clone, Debug)]
struct Foreign {
    region: Region,
    answer: Answer,
    /// Used by the peer (still named by new segments).
    live: bool,
}

struct RConn {
    id: u16,
    pd: u32,
    main: Region,
    top: Region,
    ro: Region,
    inv: Vec<Region>,
    foreign: Vec<Foreign>,
    /// STags the peer may still name that are gone (invalidated,
    /// deregistered): every use is refused.
    dead: Vec<u32>,
    /// Invalidated own STags the host has not deregistered yet.
    to_dereg: Vec<u32>,
}

struct Soak {
    w: Bench,
    model: NicRx,
    r: StdRng,
    conns: Vec<RConn>,
    pd_bad: Region,
    /// Fresh host memory for new regions and buffers.
    next_dma: u64,
    next_foreign: u32,
    seq: u64,
    kinds: BTreeMap<&'static str, u64>,
    /// The second segment of a two-segment Send, sent right after the first.
    pending_second: Option<(u16, Vec<u8>)>,
    /// Probability that a bad segment is turned into a good Write.
    good_bias: f64,
}

/// Payload size, log-uniform in [1, max].
fn log_size(r: &mut StdRng, max: u64) -> u64 {
    if max <= 1 {
        return 1;
    }
    let x: f64 = r.gen_range(0.0..((max + 1) as f64).ln());
    (x.exp() as u64).clamp(1, max)
}

fn bytes(r: &mut StdRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    r.fill(&mut v[..]);
    v
}

impl Soak {
    fn dma(&mut self, len: u64) -> u64 {
        let a = self.next_dma;
        self.next_dma += (len + 0xfff) & !0xfff;
        self.next_dma += 0x1000 * self.r.gen_range(0..4);
        a
    }

    fn register(&mut self, e: Entry) -> Region {
        let r = self.w.stag_cmd(&mut self.model, Op::REGISTER, 0, e);
        assert_eq!(r.status, Status::OK, "REGISTER: the table is full");
        Region {
            stag: r.stag.0,
            entry: e,
            next: 0,
        }
    }

    fn new_region(&mut self, pd: u32, rights: u8, inv: bool, len: u64, va: u64) -> Region {
        let dma = self.dma(len) + self.r.gen_range(0..64);
        self.register(region(dma, va, len, pd, rights, inv))
    }

    fn post(&mut self, c: usize) {
        let conn = self.conns[c].id;
        let have = self.model.conn(conn).map_or(0, |k| k.rq.len());
        for _ in have..self.model.cfg().conn.rq_depth as usize {
            let len = log_size(&mut self.r, 4096) as u32;
            let addr = self.dma(len as u64) + self.r.gen_range(0..32);
            let st = self
                .w
                .conn_cmd(&mut self.model, model::post_recv(conn, addr, len));
            assert_eq!(st, CONN_OK);
        }
    }

    /// Host work between rounds: recreate connections in Error, refill
    /// buffers, new STags to invalidate, new foreign STags, retire old ones.
    fn boundary(&mut self) {
        for c in 0..self.conns.len() {
            let id = self.conns[c].id;
            if self.model.conn(id).unwrap().error {
                let msn = |r: &mut StdRng| {
                    if r.gen_bool(0.2) {
                        u32::MAX - r.gen_range(0..3)
                    } else {
                        r.gen_range(1..1000)
                    }
                };
                let (a, b, t) = (msn(&mut self.r), msn(&mut self.r), msn(&mut self.r));
                let st = self
                    .w
                    .conn_cmd(&mut self.model, model::recreate(id, a, b, t));
                assert_eq!(st, CONN_OK);
            }
            self.post(c);
            // A STag for the peer to invalidate.
            if self.conns[c].inv.len() < 2 && self.r.gen_bool(0.3) {
                let pd = self.conns[c].pd;
                let va = self.r.gen::<u64>() >> 2;
                let reg = self.new_region(pd, 0xf, true, 0x10_0000, va);
                self.conns[c].inv.push(reg);
            }
            // Deregister an invalidated own STag now and then (it stays stale).
            while !self.conns[c].to_dereg.is_empty()
                && (self.conns[c].to_dereg.len() > 3 || self.r.gen_bool(0.3))
            {
                let s = self.conns[c].to_dereg.remove(0);
                let resp = self
                    .w
                    .stag_cmd(&mut self.model, Op::DEREGISTER, s, Entry::default());
                assert_eq!(resp.status, Status::OK);
            }
        }
        // Foreign STags: the installed ones plus those the driver will
        // install stay within the cache (no eviction: see the model's doc).
        let limit = self.model.cfg().stag.foreign_entries as usize;
        loop {
            let installed: Vec<u32> = (0..limit)
                .filter_map(|s| self.model.stag_table().slot_tag(s))
                .collect();
            if installed.is_empty()
                || installed.len() + self.pending_installs() + self.conns.len() <= limit
            {
                break;
            }
            // Retire the oldest installed foreign STag: the host invalidates
            // it and the peer stops naming it.
            let victim = installed[0];
            let resp = self
                .w
                .stag_cmd(&mut self.model, Op::INVALIDATE, victim, Entry::default());
            assert_eq!(resp.status, Status::OK);
            for c in &mut self.conns {
                for f in &mut c.foreign {
                    if f.region.stag == victim {
                        f.live = false;
                    }
                }
            }
        }
        for c in 0..self.conns.len() {
            self.conns[c].foreign.retain(|f| f.live);
            let installed = (0..limit)
                .filter(|&s| self.model.stag_table().slot_tag(s).is_some())
                .count();
            if self.conns[c].foreign.len() < 2
                && installed + self.pending_installs() < limit
                && self.r.gen_bool(0.4)
            {
                self.next_foreign += 1;
                let nic = [1u32, 3, 9, 15][self.r.gen_range(0..4)];
                let stag = self.model.cfg().stag.make_stag(
                    nic,
                    self.next_foreign % 256,
                    (self.next_foreign / 256) as u8,
                );
                let pd = if self.r.gen_bool(0.9) {
                    self.conns[c].pd
                } else {
                    self.conns[c].pd ^ 0x100
                };
                let len = 0x10_0000;
                let va = self.r.gen::<u64>() >> 1;
                let dma = self.dma(len);
                let rights = if self.r.gen_bool(0.95) { 0xf } else { 0x7 };
                let e = region(dma, va, len, pd, rights, self.r.gen_bool(0.5));
                let answer = if self.r.gen_bool(0.75) {
                    Answer::Install(e)
                } else {
                    Answer::Reject
                };
                self.model.set_policy(stag, answer);
                self.conns[c].foreign.push(Foreign {
                    region: Region {
                        stag,
                        entry: e,
                        next: 0,
                    },
                    answer,
                    live: true,
                });
            }
        }
    }

    /// Live foreign STags the driver installs on their next miss and that
    /// are not installed now.
    fn pending_installs(&self) -> usize {
        self.conns
            .iter()
            .flat_map(|c| &c.foreign)
            .filter(|f| {
                f.live
                    && matches!(f.answer, Answer::Install(_))
                    && self.model.stag_table().lookup(f.region.stag).0.status.0 == 2
            })
            .count()
    }

    fn count(&mut self, k: &'static str) {
        *self.kinds.entry(k).or_default() += 1;
    }

    /// One random segment on a random connection: (conn, FPDU, kind).
    fn gen(&mut self) -> (u16, Vec<u8>, &'static str) {
        let r = &mut self.r;
        if r.gen_bool(0.01) {
            let id = if r.gen_bool(0.5) {
                r.gen_range(12..16)
            } else {
                r.gen_range(16..=u16::MAX)
            };
            let n = log_size(r, 256) as usize;
            return (
                id,
                fpdu(&Segment::write(r.gen(), r.gen(), bytes(r, n))),
                "unknown connection",
            );
        }
        // Mostly connections not in Error (each bad segment puts one there
        // until the next round recreates it).
        let healthy: Vec<usize> = (0..self.conns.len())
            .filter(|&c| !self.model.conn(self.conns[c].id).unwrap().error)
            .collect();
        let c = if !healthy.is_empty() && r.gen_bool(0.97) {
            healthy[r.gen_range(0..healthy.len())]
        } else {
            r.gen_range(0..self.conns.len())
        };
        let id = self.conns[c].id;
        let k = self.model.conn(id).unwrap().clone();
        let max = self.model.cfg().max_payload as u64;
        let n = log_size(r, max) as usize;
        let mut pick: u32 = r.gen_range(0..1000);
        if (660..955).contains(&pick) && r.gen_bool(self.good_bias) {
            pick = 999;
        }
        let rc = &mut self.conns[c];
        let seg = |s: Segment| fpdu(&s);
        let (f, kind): (Vec<u8>, &'static str) = match pick {
            0..=299 => {
                let (reg, kind) = if r.gen_bool(0.1) {
                    (&mut rc.top, "write near 2^64")
                } else {
                    (&mut rc.main, "write")
                };
                match reg.take(n as u64) {
                    Some(to) => {
                        let s = if r.gen_bool(0.3) {
                            Segment::read_response(reg.stag, to, bytes(r, n))
                        } else {
                            Segment::write(reg.stag, to, bytes(r, n))
                        };
                        (seg(s), kind)
                    }
                    None => (
                        seg(Segment::write(rc.main.stag, rc.main.entry.va_base, vec![])),
                        "zero-length write",
                    ),
                }
            }
            300..=439 => {
                // Send-type into the head buffer.
                let op = [Opcode::Send, Opcode::SendSe][r.gen_range(0..2)];
                match k.rq.front() {
                    Some(&(_, len)) if len as usize >= 1 && r.gen_bool(0.85) => {
                        let n = log_size(r, (len as u64).min(max)) as usize;
                        if n >= 2 && r.gen_bool(0.2) {
                            // Two segments of one message: MO 0 without L, then the rest with L.
                            let n1 = r.gen_range(1..n);
                            let first = Segment {
                                ctrl: Control::new(op, false),
                                ddp: DdpHeader::Untagged {
                                    rsvd_ulp: 0,
                                    qn: 0,
                                    msn: k.msn_send,
                                    mo: 0,
                                },
                                body: Body::Data(bytes(r, n1)),
                            };
                            let second = Segment {
                                ctrl: Control::new(op, true),
                                ddp: DdpHeader::Untagged {
                                    rsvd_ulp: 0,
                                    qn: 0,
                                    msn: k.msn_send,
                                    mo: n1 as u32,
                                },
                                body: Body::Data(bytes(r, n - n1)),
                            };
                            // Returned as one packet pair through `extra`.
                            self.pending_second = Some((id, seg(second)));
                            (seg(first), "send, first of two")
                        } else {
                            (seg(Segment::send(op, 0, k.msn_send, bytes(r, n))), "send")
                        }
                    }
                    Some(&(_, len)) => (
                        seg(Segment::send(op, 0, k.msn_send, {
                            let x = len as usize + r.gen_range(1..64);
                            bytes(r, x)
                        })),
                        "send too long",
                    ),
                    None => (
                        seg(Segment::send(op, 0, k.msn_send, bytes(r, n.min(64)))),
                        "send without buffer",
                    ),
                }
            }
            440..=479 => {
                // Send with Invalidate of an own STag the peer may invalidate.
                let op = [Opcode::SendInv, Opcode::SendSeInv][r.gen_range(0..2)];
                let len = k.rq.front().map_or(0, |b| b.1);
                let n = (log_size(r, 256) as u32).min(len) as usize;
                if rc.inv.is_empty() {
                    (
                        seg(Segment::send(op, rc.main.stag, k.msn_send, bytes(r, n))),
                        "send-inv, may not invalidate",
                    )
                } else {
                    let i = r.gen_range(0..rc.inv.len());
                    let s = rc.inv[i].stag;
                    (
                        seg(Segment::send(op, s, k.msn_send, bytes(r, n))),
                        "send-inv",
                    )
                }
            }
            480..=529 => {
                let rreq = ReadRequest {
                    sink_stag: r.gen(),
                    sink_to: r.gen(),
                    size: r.gen(),
                    src_stag: r.gen(),
                    src_to: r.gen(),
                };
                (seg(Segment::read_request(k.msn_rreq, rreq)), "read request")
            }
            530..=649 => {
                // Foreign STags: writes (install or reject), send-inv naming them.
                if rc.foreign.is_empty() {
                    (
                        seg(Segment::write(rc.main.stag, rc.main.entry.va_base, vec![])),
                        "zero-length write",
                    )
                } else {
                    let i = r.gen_range(0..rc.foreign.len());
                    let fr = &mut rc.foreign[i];
                    if r.gen_bool(0.1) {
                        let len = k.rq.front().map_or(0, |b| b.1);
                        let n = (log_size(r, 128) as u32).min(len) as usize;
                        (
                            seg(Segment::send(
                                Opcode::SendInv,
                                fr.region.stag,
                                k.msn_send,
                                bytes(r, n),
                            )),
                            "send-inv foreign",
                        )
                    } else {
                        match fr.region.take(n as u64) {
                            Some(to) => (
                                seg(Segment::write(fr.region.stag, to, bytes(r, n))),
                                "write foreign",
                            ),
                            None => (
                                seg(Segment::write(fr.region.stag, 0, vec![])),
                                "zero-length write",
                            ),
                        }
                    }
                }
            }
            650..=659 => (
                seg(Segment::write(rc.main.stag, r.gen(), vec![])),
                "zero-length write",
            ),
            660..=669 => {
                let rest = r.gen_range(1..64u64);
                (
                    seg(Segment::write(rc.top.stag, 0u64.wrapping_sub(rest), {
                        let x = rest as usize + r.gen_range(1..64);
                        bytes(r, x)
                    })),
                    "TO wrap",
                )
            }
            670..=689 => {
                let reg = &rc.main;
                let to = if r.gen_bool(0.5) {
                    reg.entry.va_base - r.gen_range(1..4096)
                } else {
                    reg.entry.va_base + reg.entry.length - (n as u64) + r.gen_range(1..=n as u64)
                };
                (
                    seg(Segment::write(reg.stag, to, bytes(r, n))),
                    "out of bounds",
                )
            }
            690..=704 => (
                seg(Segment::write(
                    self.pd_bad.stag,
                    self.pd_bad.entry.va_base,
                    bytes(r, n),
                )),
                "wrong PD",
            ),
            705..=719 => (
                seg(Segment::write(rc.ro.stag, rc.ro.entry.va_base, bytes(r, n))),
                "no remote write",
            ),
            720..=744 => {
                let s = match r.gen_range(0..3) {
                    0 if !rc.dead.is_empty() => rc.dead[r.gen_range(0..rc.dead.len())],
                    1 => rc.main.stag ^ (1 + r.gen_range(0..255)),
                    _ => rc.main.stag | (1 << r.gen_range(16..28)),
                };
                (
                    seg(Segment::write(s, rc.main.entry.va_base, bytes(r, n))),
                    "invalid / stale / malformed STag",
                )
            }
            745..=769 => {
                let mut b = seg(Segment::write(
                    rc.main.stag,
                    rc.main.entry.va_base,
                    bytes(r, n),
                ));
                let i = r.gen_range(2..b.len());
                b[i] ^= 1 << r.gen_range(0..8);
                (b, "bad CRC")
            }
            770..=784 => {
                let s = Segment::send(Opcode::Send, 0, k.msn_send, bytes(r, n.min(256)));
                let d = [-8, -4, 4, 8][r.gen_range(0..4)];
                if r.gen_bool(0.5) {
                    (bad_length(&s, d), "bad length")
                } else {
                    let mut b = fpdu(&s);
                    b.extend_from_slice(&[0; 4]);
                    (b, "bad length and CRC")
                }
            }
            785..=789 => (
                seg(Segment::write(rc.main.stag, rc.main.entry.va_base, {
                    let x = max as usize + r.gen_range(1..200);
                    bytes(r, x)
                })),
                "beyond max payload",
            ),
            790..=809 => {
                let s = if r.gen_bool(0.5) {
                    Segment::write(rc.main.stag, rc.main.entry.va_base, bytes(r, n))
                } else {
                    Segment::send(Opcode::Send, 0, k.msn_send, bytes(r, n.min(64)))
                };
                let mut s = s;
                if r.gen_bool(0.5) {
                    s.ctrl.ddp_version = [0, 2, 3][r.gen_range(0..3)];
                } else {
                    s.ctrl.rdmap_version = [0, 2, 3][r.gen_range(0..3)];
                }
                (seg(s), "bad version")
            }
            810..=829 => {
                let mut s = if r.gen_bool(0.5) {
                    Segment::write(rc.main.stag, rc.main.entry.va_base, bytes(r, n.min(64)))
                } else {
                    Segment::send(Opcode::Send, 0, k.msn_send, bytes(r, n.min(64)))
                };
                s.ctrl.opcode = if s.ddp.is_tagged() {
                    [1, 3, 4, 5, 6, 7, 8, 15][r.gen_range(0..8)]
                } else {
                    [0, 2, 9, 12][r.gen_range(0..4)]
                };
                (seg(s), "illegal opcode")
            }
            830..=899 => {
                // Bad QN / MSN / MO on Sends and Read Requests.
                let len = k.rq.front().map_or(64, |b| b.1);
                let (qn, msn, mo, body, op) = match r.gen_range(0..5) {
                    0 => (
                        r.gen_range(1..4),
                        k.msn_send,
                        0,
                        Body::Data(bytes(r, 8)),
                        Opcode::Send,
                    ),
                    1 => (
                        0,
                        k.msn_send.wrapping_add([1, u32::MAX, 2][r.gen_range(0..3)]),
                        0,
                        Body::Data(bytes(r, 8)),
                        Opcode::Send,
                    ),
                    2 => (
                        0,
                        k.msn_send,
                        len + r.gen_range(1..10),
                        Body::Data(vec![]),
                        Opcode::Send,
                    ),
                    3 => (
                        0,
                        k.msn_send,
                        len.saturating_sub(2),
                        Body::Data({
                            let x = 3 + r.gen_range(0..8);
                            bytes(r, x)
                        }),
                        Opcode::Send,
                    ),
                    _ => {
                        let rreq = ReadRequest {
                            sink_stag: r.gen(),
                            sink_to: r.gen(),
                            size: r.gen(),
                            src_stag: r.gen(),
                            src_to: r.gen(),
                        };
                        if r.gen_bool(0.5) {
                            (
                                1,
                                k.msn_rreq.wrapping_add(1),
                                0,
                                Body::ReadRequest(rreq),
                                Opcode::ReadRequest,
                            )
                        } else {
                            (
                                1,
                                k.msn_rreq,
                                r.gen_range(1..100),
                                Body::ReadRequest(rreq),
                                Opcode::ReadRequest,
                            )
                        }
                    }
                };
                (
                    seg(Segment {
                        ctrl: Control::new(op, true),
                        ddp: DdpHeader::Untagged {
                            rsvd_ulp: 0,
                            qn,
                            msn,
                            mo,
                        },
                        body,
                    }),
                    "bad QN / MSN / MO",
                )
            }
            900..=919 => {
                // Read Request of the wrong size.
                let mut u = Vec::new();
                sim::iwarp::frames::Header {
                    ctrl: Control::new(Opcode::ReadRequest, true),
                    ddp: DdpHeader::Untagged {
                        rsvd_ulp: 0,
                        qn: 1,
                        msn: k.msn_rreq,
                        mo: 0,
                    },
                }
                .encode(&mut u);
                let body = [0usize, 27, 29, 56][r.gen_range(0..4)];
                u.extend(bytes(r, body));
                (mpa_frame(&u), "read request of the wrong size")
            }
            920..=929 => {
                let x = r.gen_range(0..14);
                let body = bytes(r, x);
                let mut u = vec![0x40 | 1, 0x43];
                u.extend(body);
                (mpa_frame(&u), "ULPDU shorter than its header")
            }
            930..=934 => (
                seg(Segment::terminate(
                    r.gen(),
                    Terminate::new(codes::DDP_T_BASE_BOUNDS),
                )),
                "peer Terminate",
            ),
            935..=954 => {
                // Writes to an own STag the peer invalidated (dead) or SendInv on a dead one.
                if let Some(&s) = rc.dead.first() {
                    (
                        seg(Segment::send(Opcode::SendInv, s, k.msn_send, bytes(r, 8))),
                        "send-inv of a dead STag",
                    )
                } else {
                    (
                        seg(Segment::send(
                            Opcode::SendInv,
                            self.pd_bad.stag,
                            k.msn_send,
                            bytes(r, 8),
                        )),
                        "send-inv, wrong PD",
                    )
                }
            }
            _ => {
                let reg = &mut rc.main;
                match reg.take(n as u64) {
                    Some(to) => (seg(Segment::write(reg.stag, to, bytes(r, n))), "write"),
                    None => (
                        seg(Segment::write(reg.stag, 0, vec![])),
                        "zero-length write",
                    ),
                }
            }
        };
        (id, f, kind)
    }
}

impl Bench {
    /// New back-pressure from now on.
    fn set_stalls(&mut self, s: Stalls) {
        self.src.set_pause(s.rx.clone());
        self.sink.set_pause(s.tx.clone());
        self.wr.set_aw_pause(s.aw.clone());
        self.wr.set_w_pause(s.w.clone());
        self.wr.set_b_pause(s.b.clone());
        self.wr.set_b_latency(s.b_latency);
        self.wr.set_max_outstanding(s.max_outstanding);
        self.stalls = s;
    }
}

impl Soak {
    /// Run one generated segment through the model and into the bench, and
    /// let the peer's view follow what it did.
    fn one(&mut self, conn: u16, f: Vec<u8>, kind: &'static str) {
        self.count(kind);
        let o = self.model.segment(conn, &f);
        self.seq += 1;
        if let Some(s) = o.invalidated {
            for c in &mut self.conns {
                if let Some(i) = c.inv.iter().position(|g| g.stag == s) {
                    c.inv.remove(i);
                    c.dead.push(s);
                    c.to_dereg.push(s);
                }
                for fr in &mut c.foreign {
                    if fr.region.stag == s {
                        // Every copy is gone: the driver rejects it from now on.
                        fr.answer = Answer::Reject;
                        self.model.set_policy(s, Answer::Reject);
                    }
                }
            }
        }
        let what = format!(
            "segment {} ({kind}) on connection {conn}: {:?} check {}",
            self.seq, o.action, o.reason
        );
        self.w.push(&o, f, self.seq, what);
    }
}

/// Segments of the 256-bit soak: `NIC_RX_SEGMENTS`, default 200,000 (in
/// every profile: the random test the CI runs). The other soaks run a
/// fraction of it.
fn soak_segments() -> u64 {
    std::env::var("NIC_RX_SEGMENTS")
        .ok()
        .map_or(200_000, |v| v.parse().expect("NIC_RX_SEGMENTS"))
}

/// `soak_segments() * fraction`. The same in a debug build: the workspace
/// compiles tests at `opt-level = 2` (`[profile.test]`), so `cargo test`
/// runs this file about as fast as `--release` (about a minute either way).
fn soak_share(fraction: f64) -> u64 {
    (soak_segments() as f64 * fraction).round() as u64
}

/// What a soak saw, for the tests' own assertions.
struct SoakStats {
    segments: u64,
    counters: Counters,
    hold_full_cycles: u64,
    miss_full_cycles: u64,
    miss_full_times: u64,
    cycles: u64,
}

/// The random soak of build `p`: `total` segments over seven connections,
/// in rounds of 20-300 with host work between them (recreate connections
/// in Error, post buffers, new STags to invalidate, new foreign STags,
/// retire old ones), random back-pressure on every port changed every few
/// rounds. Every round ends when everything the model expects has
/// happened: each Terminate byte for byte in order per connection, each
/// placement written exactly once by its segment and nothing else, every
/// miss event expected (STag and connection, one outstanding per STag, no
/// more taken and unanswered than `--hold-stags`) and answered, every
/// counter equal to the model's (`cnt_parked` within its bounds), the hold
/// queue empty. Segment sizes go up to `--max-payload` (and past it, as
/// length errors).
fn soak(test: &str, p: &Params, total: u64) -> SoakStats {
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    let stalls = Stalls::random(&mut r);
    let w = Bench::new(test, seed, stalls, p);
    let model = NicRx::new(Config::from_params(p, NIC_ID));
    let mut s = Soak {
        w,
        model,
        r: rng(seed ^ 0x50a4),
        conns: Vec::new(),
        pd_bad: Region {
            stag: 0,
            entry: Entry::default(),
            next: 0,
        },
        next_dma: 0x0000_0100_0000_0000,
        next_foreign: 0,
        seq: 0,
        kinds: BTreeMap::new(),
        pending_second: None,
        good_bias: 0.6,
    };
    // Set-up: connections, their regions, a region no connection's PD owns.
    s.pd_bad = s.new_region(0xffff, 0xf, true, 0x1000_0000, 0x1000);
    let ids = [0u16, 1, 2, 3, 5, 8, 11];
    let mut pds = HashSet::new();
    for &id in &ids {
        let pd = loop {
            let pd = s.r.gen_range(1..0x7fff);
            if pds.insert(pd) && pds.insert(pd ^ 0x100) {
                break pd;
            }
        };
        let st = s.w.conn_cmd(&mut s.model, model::create(id, pd, 1, 1, 1));
        assert_eq!(st, CONN_OK);
        let va = s.r.gen::<u64>() >> 2;
        let main = s.new_region(pd, 0xf, false, 0x8000_0000, va);
        let top = s.new_region(pd, 0xf, false, 0x20_0000, 0u64.wrapping_sub(0x10_0000));
        let va2 = s.r.gen::<u64>() >> 2;
        let ro = s.new_region(pd, 0x7, false, 0x1_0000, va2);
        s.conns.push(RConn {
            id,
            pd,
            main,
            top,
            ro,
            inv: Vec::new(),
            foreign: Vec::new(),
            dead: Vec::new(),
            to_dereg: Vec::new(),
        });
    }
    let start = Instant::now();
    let c0 = s.w.m.cycle();
    let mut done = 0u64;
    let mut round = 0u64;
    while done < total {
        s.boundary();
        if round % 40 == 39 {
            let st = if s.r.gen_bool(0.2) {
                Stalls::none().with(|x| x.answer_delay = (0, 20))
            } else {
                Stalls::random(&mut s.r)
            };
            s.w.set_stalls(st);
        }
        let n = s.r.gen_range(20..300u64).min(total - done);
        s.good_bias = [0.3, 0.7, 0.9][s.r.gen_range(0..3)];
        let mut sent = 0;
        while sent < n {
            // End the round early when most connections are in Error.
            let healthy = s
                .conns
                .iter()
                .filter(|c| !s.model.conn(c.id).unwrap().error)
                .count();
            if healthy < 2 && s.r.gen_bool(0.9) {
                break;
            }
            sent += 1;
            let (conn, f, kind) = s.gen();
            s.one(conn, f, kind);
            if let Some((c2, f2)) = s.pending_second.take() {
                s.one(c2, f2, "send, second of two");
                done += 1;
            }
        }
        done += sent;
        s.w.settle(&mut s.model, 100_000);
        round += 1;
    }
    let elapsed = start.elapsed();
    let cycles = s.w.m.cycle() - c0;
    let c = *s.model.counters();
    eprintln!(
        "[{test}] {done} segments in {round} rounds, {cycles} cycles, {:.1} s ({:.0} cycles/s); \
         counters {:?}; DUT cnt_parked {} (model {}..={}); {} miss events; {} Terminates; \
         hold_full {} cycles; miss table full {} times, {} cycles",
        elapsed.as_secs_f64(),
        cycles as f64 / elapsed.as_secs_f64(),
        c.nonzero(),
        s.w.counters().parked,
        c.parked,
        s.model.parked_max(),
        s.w.miss_log.len(),
        s.w.terms_seen,
        s.w.hold_full_cycles,
        s.w.miss_full_times,
        s.w.miss_full_cycles,
    );
    for (k, n) in &s.kinds {
        eprintln!("[{test}]   {n:>8}  {k}");
    }
    assert_eq!(s.w.miss_log.len() as u32, c.miss_events);
    if total >= 20_000 {
        for k in 1..=11 {
            assert!(
                c.check[k] >= 10,
                "[{test}] check {k} decided only {} times",
                c.check[k]
            );
        }
        assert!(
            c.placed > total as u32 / 3 && c.delivered > 0 && c.miss_events > 50,
            "[{test}] placed {}, delivered {}, miss events {}",
            c.placed,
            c.delivered,
            c.miss_events
        );
    }
    SoakStats {
        segments: done,
        counters: c,
        hold_full_cycles: s.w.hold_full_cycles,
        miss_full_cycles: s.w.miss_full_cycles,
        miss_full_times: s.w.miss_full_times,
        cycles,
    }
}

/// The random soak at 256 bits: `NIC_RX_SEGMENTS` segments (default
/// 200,000, in debug builds too).
#[test]
fn random_soak() {
    soak("nic_rx_random", &params(), soak_segments());
}

/// The random soak at 64 bits: a fifth of `NIC_RX_SEGMENTS` (40,000 by
/// default).
#[test]
fn random_soak_64() {
    let p = params_with(&[("data-width", 64)]);
    soak("nic_rx_random_64", &p, soak_share(0.2));
}

/// The random soak at 128 bits: a fifth of `NIC_RX_SEGMENTS` (40,000 by
/// default).
#[test]
fn random_soak_128() {
    let p = params_with(&[("data-width", 128)]);
    soak("nic_rx_random_128", &p, soak_share(0.2));
}

/// The random soak with a small hold queue ([`params_small`]: 4 segments,
/// 2048 bytes, 2 miss-table entries, 2 foreign-cache entries): the hold
/// queue is full (`hold_full`, back-pressure) and every miss-table entry
/// in use (the next new foreign miss waits) again and again, and all the
/// soak's checks still hold. 15 % of `NIC_RX_SEGMENTS` (30,000 by default).
#[test]
fn random_soak_small_hold() {
    let test = "nic_rx_random_small_hold";
    let st = soak(test, &params_small(), soak_share(0.15));
    if st.segments >= 5_000 {
        assert!(
            st.hold_full_cycles >= 1_000,
            "[{test}] hold_full was 1 in only {} of {} cycles",
            st.hold_full_cycles,
            st.cycles
        );
        assert!(
            st.miss_full_times >= 20,
            "[{test}] every miss-table entry was in use only {} times ({} cycles)",
            st.miss_full_times,
            st.miss_full_cycles
        );
        assert!(st.counters.parked > 100, "[{test}] {:?}", st.counters);
    }
}
