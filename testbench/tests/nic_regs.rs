//! `nic` (one NIC: `nic_rx` behind its register blocks, docs/registers.md)
//! driven by the host only through `s_axil_*`, with `sim::axi::AxilMaster`
//! and an `AxilChecker` on the port every cycle. The network side is real:
//! FPDUs built with `sim::iwarp::frames` go into `s_axis_rx` (an
//! `AxisSource`), placements land in a `sim::hostmem` memory behind an
//! `AxiWriteSlave` (with an `AxiChecker`), Terminates come out of
//! `m_axis_tx` (an `AxisSink`), each stream with its protocol checker.
//!
//! The driver side uses only the generated constants `sim::regs::*` (what
//! a driver gets). `SEED=<n>` replays a random test; `WAVES=1` writes
//! `target/waves/<test>.vcd`.

use std::collections::{BTreeMap, BTreeSet};

use hdl::blocks::nic::{elaborate, NicParams};
use hdl::params::Params;
use rand::Rng;
use sim::axi::{
    step_all, AxiChecker, AxiWriteSlave, AxilChecker, AxilKind, AxilMaster, RESP_OKAY, RESP_SLVERR,
};
use sim::axis::{AxisChecker, AxisFrame, AxisSink, AxisSource};
use sim::hostmem::{self, SharedMemory};
use sim::iwarp::frames::{self, Opcode, Segment};
use sim::pattern::Pattern;
use sim::regs::{conn as C, counters as K, events as E, stag as S};
use sim::{Model, Port};

/// This NIC's id; foreign STags carry another.
const NIC_ID: u32 = 1;
/// Events the queue holds in these tests (fewer than --hold-stags).
const EVENT_DEPTH: u32 = 4;
/// Connections (--connections).
const CONNS: u16 = 16;
/// Own STag table entries (--entries).
const ENTRIES: u32 = 16;

/// One small configuration for every test (one Verilator build).
fn params() -> Params {
    Params::new([
        ("data-width", 64),
        ("connections", CONNS as u64),
        ("rq-depth", 4),
        ("entries", ENTRIES as u64),
        ("foreign-entries", 64),
        ("nic-id-bits", 4),
        ("max-payload", 256),
        ("hold-bytes", 1024),
        ("hold-segments", 16),
        ("hold-stags", 6),
    ])
    .unwrap()
}

fn nic_params() -> NicParams {
    let mut p = NicParams::from_params(&params());
    p.events.depth = EVENT_DEPTH;
    p
}

/// A STag of NIC `nic`, entry `entry`, key `key` (4 id bits, 16 entries).
fn stag_of(nic: u32, entry: u32, key: u8) -> u32 {
    nic << 28 | entry << 8 | key as u32
}

/// An entry's fields for REGISTER / INSTALL.
#[derive(Clone, Copy, Debug)]
struct Region {
    dma: u64,
    va: u64,
    len: u64,
    pd: u32,
    rights: u32,
    remote_inv: bool,
}

impl Region {
    fn rw(dma: u64, va: u64, len: u64, pd: u32) -> Region {
        Region {
            dma,
            va,
            len,
            pd,
            rights: 0xf,
            remote_inv: true,
        }
    }
}

/// What a connection command answered, read from the CONN block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ConnResp {
    code: u32,
    conn: u32,
    error: u32,
    pd: u32,
    msn: [u32; 3],
    rq_count: u32,
    rq_addr: u64,
    rq_len: u32,
}

/// A connection command's fields (unused ones 0).
#[derive(Clone, Copy, Debug, Default)]
struct ConnCmd {
    pd: u32,
    msn: [u32; 3],
    error: u32,
    addr: u64,
    len: u32,
    index: u32,
}

/// An event as popped through the EVENTS block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Event {
    kind: u32,
    stag: u32,
    conn: u32,
    cycle: u32,
}

/// A STag table command on the NIC's direct port (`s_direct_cmd_*`).
#[derive(Clone, Copy, Debug)]
struct DirectCmd {
    op: u32,
    stag: u32,
    r: Region,
}

/// What the direct port answered (`m_direct_resp_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct DirectResp {
    status: u32,
    stag: u32,
    dma: u64,
    va: u64,
    len: u64,
    pd: u32,
    rights: u32,
    remote_inv: bool,
}

/// The direct resolver's side of a `nic`, played by the test: commands
/// offered with random pauses (held until taken), every response, miss
/// copy and reject recorded. Idle (nothing offered, always ready) unless
/// given work, so every test can step it.
struct DirectPort {
    cmds: std::collections::VecDeque<DirectCmd>,
    offered: Option<DirectCmd>,
    pause: Pattern,
    resps: Vec<DirectResp>,
    misses: Vec<(u32, u16)>,
    rejects: std::collections::VecDeque<u32>,
    ports: std::collections::HashMap<String, Port>,
}

impl DirectPort {
    fn new(m: &Model) -> DirectPort {
        let ports = m
            .ports()
            .filter(|(n, _)| n.contains("_direct_"))
            .map(|(n, p)| (n.to_string(), p))
            .collect();
        DirectPort {
            cmds: Default::default(),
            offered: None,
            pause: Pattern::never(),
            resps: Vec::new(),
            misses: Vec::new(),
            rejects: Default::default(),
            ports,
        }
    }
    fn p(&self, n: &str) -> Port {
        *self
            .ports
            .get(n)
            .unwrap_or_else(|| panic!("nic has no port `{n}`"))
    }
    fn idle(&self) -> bool {
        self.cmds.is_empty() && self.offered.is_none() && self.rejects.is_empty()
    }
}

impl sim::axis::Bfm for DirectPort {
    fn drive(&mut self, m: &mut Model) {
        if self.offered.is_none() && !self.pause.next() {
            self.offered = self.cmds.pop_front();
        }
        let c = self.offered;
        m.set(self.p("s_direct_cmd_valid"), c.is_some() as u64);
        let c = c.unwrap_or(DirectCmd {
            op: 0,
            stag: 0,
            r: Region::rw(0, 0, 0, 0),
        });
        for (f, v) in [
            ("op", c.op as u64),
            ("stag", c.stag as u64),
            ("dma_base", c.r.dma),
            ("va_base", c.r.va),
            ("length", c.r.len),
            ("pd", c.r.pd as u64),
            ("rights", c.r.rights as u64),
            ("remote_inv", c.r.remote_inv as u64),
        ] {
            m.set(self.p(&format!("s_direct_cmd_{f}")), v);
        }
        m.set(self.p("m_direct_resp_ready"), 1);
        m.set(self.p("m_direct_miss_ready"), 1);
        m.set(
            self.p("s_direct_reject_valid"),
            !self.rejects.is_empty() as u64,
        );
        m.set(
            self.p("s_direct_reject_stag"),
            self.rejects.front().copied().unwrap_or(0) as u64,
        );
    }
    fn sample(&mut self, m: &Model, _cycle: u64) -> Result<(), sim::axis::ProtocolError> {
        let ports = &self.ports;
        let g = |n: &str| m.get(*ports.get(n).expect("a direct port"));
        if g("s_direct_cmd_valid") == 1 && g("s_direct_cmd_ready") == 1 {
            self.offered = None;
        }
        if g("m_direct_resp_valid") == 1 {
            self.resps.push(DirectResp {
                status: g("m_direct_resp_status") as u32,
                stag: g("m_direct_resp_stag") as u32,
                dma: g("m_direct_resp_dma_base"),
                va: g("m_direct_resp_va_base"),
                len: g("m_direct_resp_length"),
                pd: g("m_direct_resp_pd") as u32,
                rights: g("m_direct_resp_rights") as u32,
                remote_inv: g("m_direct_resp_remote_inv") == 1,
            });
        }
        if g("m_direct_miss_valid") == 1 {
            self.misses.push((
                g("m_direct_miss_stag") as u32,
                g("m_direct_miss_conn") as u16,
            ));
        }
        if g("s_direct_reject_valid") == 1 && g("s_direct_reject_ready") == 1 {
            self.rejects.pop_front();
        }
        Ok(())
    }
}

struct Bench {
    direct: DirectPort,
    m: Model,
    test: String,
    bus: AxilMaster,
    chk: AxilChecker,
    src: AxisSource,
    rx_chk: AxisChecker,
    sink: AxisSink,
    tx_chk: AxisChecker,
    wr: AxiWriteSlave,
    axi_chk: AxiChecker,
    mem: SharedMemory,
    rst: Port,
    irq: Port,
    /// Cycles `irq` was 1.
    irq_cycles: u64,
}

impl Bench {
    fn new(test: &str) -> Bench {
        let top = elaborate(&nic_params()).unwrap_or_else(|e| panic!("elaborate nic: {e}"));
        let mut d = hdl::Design::default();
        d.add(&top).unwrap();
        let mut m = testbench::dut::load(&d, "nic", test).unwrap_or_else(|e| panic!("{e}"));
        let mem = hostmem::shared();
        let bus = AxilMaster::new(&m, "s_axil").unwrap();
        let chk = AxilChecker::new(&m, "s_axil").unwrap();
        let src = AxisSource::new(&m, "s_axis_rx").unwrap();
        let rx_chk = AxisChecker::new(&m, "s_axis_rx").unwrap();
        let sink = AxisSink::new(&m, "m_axis_tx").unwrap();
        let tx_chk = AxisChecker::new(&m, "m_axis_tx").unwrap();
        let wr = AxiWriteSlave::new(&m, "m_axi", mem.clone()).unwrap();
        let axi_chk = AxiChecker::new(&m, "m_axi").unwrap();
        let rst = m.port("rst").unwrap();
        let irq = m.port("irq").unwrap();
        let nic_id = m.port("nic_id").unwrap();
        m.set(nic_id, NIC_ID as u64);
        let mut b = Bench {
            direct: DirectPort::new(&m),
            m,
            test: test.into(),
            bus,
            chk,
            src,
            rx_chk,
            sink,
            tx_chk,
            wr,
            axi_chk,
            mem,
            rst,
            irq,
            irq_cycles: 0,
        };
        b.m.set(b.rst, 1);
        for _ in 0..3 {
            b.step();
        }
        b.m.set(b.rst, 0);
        b.step();
        b
    }

    fn step(&mut self) {
        if let Err(e) = step_all(
            &mut self.m,
            &mut [
                &mut self.bus,
                &mut self.chk,
                &mut self.src,
                &mut self.rx_chk,
                &mut self.sink,
                &mut self.tx_chk,
                &mut self.wr,
                &mut self.axi_chk,
                &mut self.direct,
            ],
        ) {
            panic!("[{}] protocol: {e}", self.test);
        }
        self.irq_cycles += self.m.get(self.irq);
    }

    fn steps(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    fn run_bus(&mut self) {
        let start = self.m.cycle();
        while !self.bus.idle() {
            self.step();
            assert!(
                self.m.cycle() - start < 10_000,
                "[{}] AXI4-Lite access stuck for 10000 cycles (cycle {})",
                self.test,
                self.m.cycle()
            );
        }
    }

    fn write_resp(&mut self, addr: u64, v: u32, strb: u64) -> u8 {
        let t = self.bus.write_strb(addr, v as u64, strb);
        self.run_bus();
        let r = self.bus.take(t).unwrap();
        assert_eq!(r.kind, AxilKind::Write);
        r.resp
    }

    fn write(&mut self, addr: u64, v: u32) {
        let resp = self.write_resp(addr, v, 0xf);
        assert_eq!(
            resp,
            RESP_OKAY,
            "[{}] write {v:#x} to {addr:#05x} at cycle {}",
            self.test,
            self.m.cycle()
        );
    }

    fn read_resp(&mut self, addr: u64) -> (u32, u8) {
        let t = self.bus.read(addr);
        self.run_bus();
        let r = self.bus.take(t).unwrap();
        (r.data as u32, r.resp)
    }

    fn read(&mut self, addr: u64) -> u32 {
        let (v, resp) = self.read_resp(addr);
        assert_eq!(
            resp,
            RESP_OKAY,
            "[{}] read of {addr:#05x} at cycle {}",
            self.test,
            self.m.cycle()
        );
        v
    }

    // ---- STAG block ----

    /// One STag table command; (STATUS.CODE, RESP_STAG).
    fn stag_cmd(&mut self, op: u32, stag: u32, r: Region) -> (u32, u32) {
        let w = |o: u64| S::BASE + o;
        self.write(w(S::CMD_OP_OFFSET), op);
        self.write(w(S::CMD_STAG_OFFSET), stag);
        self.write(w(S::CMD_DMA_BASE_LO_OFFSET), r.dma as u32);
        self.write(w(S::CMD_DMA_BASE_HI_OFFSET), (r.dma >> 32) as u32);
        self.write(w(S::CMD_VA_BASE_LO_OFFSET), r.va as u32);
        self.write(w(S::CMD_VA_BASE_HI_OFFSET), (r.va >> 32) as u32);
        self.write(w(S::CMD_LENGTH_LO_OFFSET), r.len as u32);
        self.write(w(S::CMD_LENGTH_HI_OFFSET), (r.len >> 32) as u32);
        self.write(w(S::CMD_PD_OFFSET), r.pd);
        self.write(
            w(S::CMD_ATTR_OFFSET),
            r.rights << S::CMD_ATTR_RIGHTS_SHIFT
                | (r.remote_inv as u32) << S::CMD_ATTR_REMOTE_INV_SHIFT,
        );
        self.write(w(S::GO_OFFSET), S::GO_GO_MASK);
        let start = self.m.cycle();
        let s = loop {
            let s = self.read(w(S::STATUS_OFFSET));
            if s & S::STATUS_BUSY_MASK == 0 {
                break s;
            }
            assert!(self.m.cycle() - start < 20_000, "STAG command {op} stuck");
        };
        assert_ne!(s & S::STATUS_DONE_MASK, 0, "STAG STATUS {s:#x}");
        (
            (s & S::STATUS_CODE_MASK) >> S::STATUS_CODE_SHIFT,
            self.read(w(S::RESP_STAG_OFFSET)),
        )
    }

    /// REGISTER a region; its STag.
    fn register(&mut self, r: Region) -> u32 {
        let (code, stag) = self.stag_cmd(S::CMD_OP_OP_REGISTER, 0, r);
        assert_eq!(code, S::STATUS_CODE_OK, "REGISTER {r:?}");
        stag
    }

    // ---- CONN block ----

    fn conn_cmd(&mut self, op: u32, conn: u32, c: ConnCmd) -> ConnResp {
        let w = |o: u64| C::BASE + o;
        self.write(w(C::CMD_OP_OFFSET), op);
        self.write(w(C::CMD_CONN_OFFSET), conn);
        self.write(w(C::CMD_PD_OFFSET), c.pd);
        self.write(w(C::CMD_MSN_SEND_OFFSET), c.msn[0]);
        self.write(w(C::CMD_MSN_RREQ_OFFSET), c.msn[1]);
        self.write(w(C::CMD_MSN_TERM_OFFSET), c.msn[2]);
        self.write(w(C::CMD_ERROR_OFFSET), c.error);
        self.write(w(C::CMD_ADDR_LO_OFFSET), c.addr as u32);
        self.write(w(C::CMD_ADDR_HI_OFFSET), (c.addr >> 32) as u32);
        self.write(w(C::CMD_LEN_OFFSET), c.len);
        self.write(w(C::CMD_INDEX_OFFSET), c.index);
        self.write(w(C::GO_OFFSET), C::GO_GO_MASK);
        let start = self.m.cycle();
        let s = loop {
            let s = self.read(w(C::STATUS_OFFSET));
            if s & C::STATUS_BUSY_MASK == 0 {
                break s;
            }
            assert!(self.m.cycle() - start < 20_000, "CONN command {op} stuck");
        };
        assert_ne!(s & C::STATUS_DONE_MASK, 0, "CONN STATUS {s:#x}");
        assert_eq!(s & C::STATUS_GO_WHILE_BUSY_MASK, 0, "CONN STATUS {s:#x}");
        ConnResp {
            code: (s & C::STATUS_CODE_MASK) >> C::STATUS_CODE_SHIFT,
            conn: self.read(w(C::RESP_CONN_OFFSET)),
            error: self.read(w(C::RESP_ERROR_OFFSET)),
            pd: self.read(w(C::RESP_PD_OFFSET)),
            msn: [
                self.read(w(C::RESP_MSN_SEND_OFFSET)),
                self.read(w(C::RESP_MSN_RREQ_OFFSET)),
                self.read(w(C::RESP_MSN_TERM_OFFSET)),
            ],
            rq_count: self.read(w(C::RESP_RQ_COUNT_OFFSET)),
            rq_addr: self.read(w(C::RESP_RQ_ADDR_LO_OFFSET)) as u64
                | (self.read(w(C::RESP_RQ_ADDR_HI_OFFSET)) as u64) << 32,
            rq_len: self.read(w(C::RESP_RQ_LEN_OFFSET)),
        }
    }

    /// CREATE a connection with PD `pd`, MSNs 1; must be OK.
    fn create(&mut self, conn: u32, pd: u32) {
        let r = self.conn_cmd(
            C::CMD_OP_OP_CREATE,
            conn,
            ConnCmd {
                pd,
                msn: [1, 1, 1],
                ..ConnCmd::default()
            },
        );
        assert_eq!(r.code, C::STATUS_CODE_OK, "CREATE {conn}: {r:?}");
    }

    // ---- EVENTS and COUNTERS ----

    fn count(&mut self) -> u32 {
        self.read(E::BASE + E::COUNT_OFFSET)
    }

    /// The head event (kind NONE when empty), without popping.
    fn head(&mut self) -> Event {
        Event {
            kind: self.read(E::BASE + E::EVENT_KIND_OFFSET),
            stag: self.read(E::BASE + E::EVENT_STAG_OFFSET),
            conn: self.read(E::BASE + E::EVENT_CONN_OFFSET),
            cycle: self.read(E::BASE + E::EVENT_CYCLE_OFFSET),
        }
    }

    /// Read the head and pop it; None when the queue is empty.
    fn pop(&mut self) -> Option<Event> {
        let e = self.head();
        if e.kind == E::EVENT_KIND_KIND_NONE {
            assert_eq!(
                e,
                Event {
                    kind: 0,
                    stag: 0,
                    conn: 0,
                    cycle: 0
                },
                "empty head reads 0"
            );
            return None;
        }
        self.write(E::BASE + E::POP_OFFSET, E::POP_POP_MASK);
        Some(e)
    }

    fn counter(&mut self, off: u64) -> u32 {
        self.read(K::BASE + off)
    }

    fn hold_count(&mut self) -> u32 {
        (self.read(K::BASE + K::HOLD_QUEUE_OFFSET) & K::HOLD_QUEUE_COUNT_MASK)
            >> K::HOLD_QUEUE_COUNT_SHIFT
    }

    // ---- network ----

    fn send(&mut self, conn: u16, seg: &Segment) {
        self.src
            .send(AxisFrame::with_user(frames::fpdu(seg), conn as u64));
    }

    /// Run until the rx stream is drained and `n` more cycles passed.
    fn settle(&mut self, n: u64) {
        let start = self.m.cycle();
        while !self.src.idle() {
            self.step();
            assert!(
                self.m.cycle() - start < 200_000,
                "[{}] rx stream not taken in 200000 cycles ({} frames queued)",
                self.test,
                self.src.queued()
            );
        }
        self.steps(n);
    }

    /// Terminates received so far: (layer, etype, ecode).
    fn terminates(&mut self) -> Vec<(u8, u8, u8)> {
        let mut v = Vec::new();
        while let Some(f) = self.sink.recv() {
            let seg = frames::parse_fpdu(&f.data).expect("a Terminate FPDU");
            assert_eq!(seg.opcode(), Some(Opcode::Terminate));
            match seg.body {
                frames::Body::Terminate(t) => v.push(t.code()),
                other => panic!("[{}] a Terminate FPDU with body {other:?}", self.test),
            }
        }
        v
    }

    fn finish(&mut self) {
        self.steps(8);
        self.chk.finish().unwrap_or_else(|e| panic!("{e}"));
        self.axi_chk.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(self.bus.pop_result(), None, "every AXI4-Lite result taken");
        assert!(self.src.idle(), "every FPDU taken");
        assert!(self.wr.idle(), "every DMA write answered");
    }
}

/// Every register of every block: the `sim::regs` constants are the
/// description, reset values read back, unmapped and unaligned addresses
/// (holes inside a window, the rest of each block's slot) answer SLVERR with
/// data 0 and change nothing, and writes to read-only registers answer
/// SLVERR.
#[test]
fn register_map_reset_values_and_unmapped_addresses() {
    let map = hdl::regmap::nic_map();
    // The generated constants are the description (one module per block).
    let consts: [(&str, u64, u64, &[(&str, u64)]); 4] = [
        ("STAG", S::BASE, S::SIZE, S::REGISTERS),
        ("CONN", C::BASE, C::SIZE, C::REGISTERS),
        ("EVENTS", E::BASE, E::SIZE, E::REGISTERS),
        ("COUNTERS", K::BASE, K::SIZE, K::REGISTERS),
    ];
    assert_eq!(
        map.blocks.len(),
        consts.len(),
        "a block without sim::regs constants"
    );
    for (name, base, size, regs) in consts {
        let b = map.get(name).unwrap();
        assert_eq!(
            (b.base, b.size()),
            (base, size),
            "block {name}: run `cargo run --release -- regs`"
        );
        let want: Vec<(&str, u64)> = b
            .by_offset()
            .iter()
            .map(|r| (r.name.as_str(), r.offset()))
            .collect();
        assert_eq!(
            regs.to_vec(),
            want,
            "block {name}: run `cargo run --release -- regs`"
        );
    }
    let nic = elaborate(&nic_params()).unwrap();
    assert_eq!(
        nic.port("s_axil_awaddr").unwrap().0.width,
        map.addr_width(),
        "the NIC's register port spans the map"
    );

    let mut b = Bench::new("nic_regs_map");
    let mut mapped = BTreeSet::new();
    for blk in &map.blocks {
        for r in &blk.registers {
            let a = blk.base + r.offset();
            mapped.insert(a);
            if (blk.name.as_str(), r.name.as_str()) == ("EVENTS", "CYCLE") {
                continue; // runs
            }
            let (v, resp) = b.read_resp(a);
            assert_eq!(
                (v, resp),
                (r.reset(), RESP_OKAY),
                "{}_{} at {a:#05x} after reset",
                blk.name,
                r.name
            );
        }
    }
    // CYCLE runs: two reads, the second later by at least the bus latency.
    let c0 = b.read(E::BASE + E::CYCLE_OFFSET);
    let c1 = b.read(E::BASE + E::CYCLE_OFFSET);
    assert!(c1 > c0 && c1 - c0 < 50, "CYCLE {c0} then {c1}");
    // A canary in a writable register: nothing below may change it.
    b.write(C::BASE + C::CMD_MSN_SEND_OFFSET, 0x5a5a_0001);
    let space = 1u64 << map.addr_width();
    let mut holes = 0;
    for a in (0..space).step_by(4).filter(|a| !mapped.contains(a)) {
        assert_eq!(
            b.read_resp(a),
            (0, RESP_SLVERR),
            "read of unmapped {a:#05x}"
        );
        assert_eq!(
            b.write_resp(a, 0xffff_ffff, 0xf),
            RESP_SLVERR,
            "write to unmapped {a:#05x}"
        );
        holes += 1;
    }
    for a in [0x001, 0x102, 0x203, 0x305, 0x3fe] {
        assert_eq!(b.read_resp(a), (0, RESP_SLVERR), "unaligned read {a:#05x}");
        assert_eq!(
            b.write_resp(a, 0xffff_ffff, 0xf),
            RESP_SLVERR,
            "unaligned write {a:#05x}"
        );
    }
    // Every register without a writable field: a write answers SLVERR.
    for blk in &map.blocks {
        for r in blk.registers.iter().filter(|r| !r.writable()) {
            assert_eq!(
                b.write_resp(blk.base + r.offset(), 0xffff_ffff, 0xf),
                RESP_SLVERR,
                "write to read-only {}_{}",
                blk.name,
                r.name
            );
        }
    }
    assert!(holes > 150, "{holes} unmapped words");
    assert_eq!(b.read(C::BASE + C::CMD_MSN_SEND_OFFSET), 0x5a5a_0001);
    // Nothing changed: the counters, events and status still read reset.
    for off in [E::COUNT_OFFSET, E::STATUS_OFFSET, E::EVENT_KIND_OFFSET] {
        assert_eq!(b.read(E::BASE + off), 0);
    }
    assert_eq!(b.read(C::BASE + C::STATUS_OFFSET), 0);
    assert_eq!(b.read(S::BASE + S::STATUS_OFFSET), 0);
    b.finish();
}

/// Every CONN register reads back what was written, under byte strobes;
/// EVENTS' IRQ_ENABLE and MODE read back their field, REJECT reads 0.
#[test]
fn conn_command_registers_read_back_with_strobes() {
    let mut b = Bench::new("nic_regs_conn_readback");
    let map = hdl::regmap::nic_map();
    let blk = map.get("CONN").unwrap();
    for r in blk.registers.iter().filter(|r| r.name.starts_with("CMD_")) {
        let a = blk.base + r.offset();
        let mask = r.fields.iter().fold(0u64, |m, f| m | f.mask()) as u32;
        b.write(a, 0xffff_ffff);
        assert_eq!(b.read(a), mask, "{}: only its fields' bits", r.name);
        b.write(a, 0);
        b.write_resp(a, 0xa5c3_3c5a, 0b0101);
        assert_eq!(b.read(a), 0x00c3_005a & mask, "{}: strobes 0101", r.name);
        b.write_resp(a, 0x1234_5678, 0b1010);
        assert_eq!(b.read(a), 0x12c3_565a & mask, "{}: strobes 1010", r.name);
    }
    // IRQ_ENABLE is RW too.
    b.write(E::BASE + E::IRQ_ENABLE_OFFSET, 0xffff_ffff);
    assert_eq!(
        b.read(E::BASE + E::IRQ_ENABLE_OFFSET),
        E::IRQ_ENABLE_EN_MASK
    );
    // REJECT is write-only: reads 0.
    b.write(E::BASE + E::REJECT_OFFSET, 0x1234_5678);
    assert_eq!(b.read(E::BASE + E::REJECT_OFFSET), 0);
    // MODE is RW (only DIRECT); back to driver mode.
    b.write(E::BASE + E::MODE_OFFSET, 0xffff_ffff);
    assert_eq!(b.read(E::BASE + E::MODE_OFFSET), E::MODE_DIRECT_MASK);
    b.write(E::BASE + E::MODE_OFFSET, 0);
    assert_eq!(b.read(E::BASE + E::MODE_OFFSET), 0);
    b.finish();
}

/// Every connection-table command and status through the CONN block:
/// CREATE (OK, EXISTS, BAD_ID), POST_RECV (OK, FULL, UNKNOWN), EXPORT,
/// EXPORT_RQ (OK, RANGE), IMPORT with Error, RECREATE, DESTROY, UNKNOWN for
/// an unknown connection, BAD_OP for the reserved opcode.
#[test]
fn conn_commands_and_statuses() {
    let mut b = Bench::new("nic_regs_conn_cmds");
    let ok = C::STATUS_CODE_OK;
    let cmd = ConnCmd {
        pd: 0x1234,
        msn: [7, 0xffff_ffff, 0x8000_0000],
        ..ConnCmd::default()
    };
    let r = b.conn_cmd(C::CMD_OP_OP_CREATE, 3, cmd);
    assert_eq!((r.code, r.conn), (ok, 3));
    assert_eq!(
        b.conn_cmd(C::CMD_OP_OP_CREATE, 3, cmd).code,
        C::STATUS_CODE_EXISTS
    );
    assert_eq!(
        b.conn_cmd(C::CMD_OP_OP_CREATE, CONNS as u32, cmd).code,
        C::STATUS_CODE_BAD_ID
    );
    assert_eq!(
        b.conn_cmd(C::CMD_OP_OP_IMPORT, 0xffff, cmd).code,
        C::STATUS_CODE_BAD_ID
    );
    // Unknown connection, every op that needs one.
    for op in [
        C::CMD_OP_OP_DESTROY,
        C::CMD_OP_OP_POST_RECV,
        C::CMD_OP_OP_EXPORT,
        C::CMD_OP_OP_EXPORT_RQ,
        C::CMD_OP_OP_RECREATE,
    ] {
        let r = b.conn_cmd(op, 5, cmd);
        assert_eq!(
            (r.code, r.conn),
            (C::STATUS_CODE_UNKNOWN, 5),
            "op {op} on unknown 5"
        );
        assert_eq!(
            b.conn_cmd(op, 200, cmd).code,
            C::STATUS_CODE_UNKNOWN,
            "op {op} on 200"
        );
    }
    // The reserved opcode.
    let r = b.conn_cmd(7, 3, cmd);
    assert_eq!(r.code, C::STATUS_CODE_BAD_OP);
    // POST_RECV up to --rq-depth (4), then FULL.
    for k in 0..4u64 {
        let r = b.conn_cmd(
            C::CMD_OP_OP_POST_RECV,
            3,
            ConnCmd {
                addr: 0x1_2345_0000 + k * 0x1000,
                len: 100 + k as u32,
                ..ConnCmd::default()
            },
        );
        assert_eq!(r.code, ok, "POST_RECV {k}");
    }
    assert_eq!(
        b.conn_cmd(
            C::CMD_OP_OP_POST_RECV,
            3,
            ConnCmd {
                addr: 1,
                len: 1,
                ..ConnCmd::default()
            }
        )
        .code,
        C::STATUS_CODE_FULL
    );
    // EXPORT: the state and the count.
    let e = b.conn_cmd(C::CMD_OP_OP_EXPORT, 3, ConnCmd::default());
    assert_eq!(
        e,
        ConnResp {
            code: ok,
            conn: 3,
            error: 0,
            pd: 0x1234,
            msn: cmd.msn,
            rq_count: 4,
            rq_addr: 0,
            rq_len: 0,
        }
    );
    // EXPORT_RQ each index, then RANGE.
    for k in 0..4u32 {
        let r = b.conn_cmd(
            C::CMD_OP_OP_EXPORT_RQ,
            3,
            ConnCmd {
                index: k,
                ..ConnCmd::default()
            },
        );
        assert_eq!(
            (r.code, r.rq_addr, r.rq_len, r.pd),
            (ok, 0x1_2345_0000 + k as u64 * 0x1000, 100 + k, 0),
            "EXPORT_RQ {k}"
        );
    }
    // An index at or above --rq-depth (4) never aliases a buffer: RANGE.
    for index in [4, 5, 0x80, 0xff] {
        let r = b.conn_cmd(
            C::CMD_OP_OP_EXPORT_RQ,
            3,
            ConnCmd {
                index,
                ..ConnCmd::default()
            },
        );
        assert_eq!(
            (r.code, r.conn, r.rq_addr, r.rq_len),
            (C::STATUS_CODE_RANGE, 3, 0, 0),
            "EXPORT_RQ index {index}"
        );
    }
    // Below the depth but not below the count: the table's RANGE.
    assert_eq!(b.conn_cmd(C::CMD_OP_OP_CREATE, 11, cmd).code, ok);
    assert_eq!(
        b.conn_cmd(
            C::CMD_OP_OP_POST_RECV,
            11,
            ConnCmd {
                addr: 0x5000,
                len: 64,
                ..ConnCmd::default()
            }
        )
        .code,
        ok
    );
    let r = b.conn_cmd(
        C::CMD_OP_OP_EXPORT_RQ,
        11,
        ConnCmd {
            index: 1,
            ..ConnCmd::default()
        },
    );
    assert_eq!((r.code, r.rq_addr, r.rq_len), (C::STATUS_CODE_RANGE, 0, 0));
    let r = b.conn_cmd(
        C::CMD_OP_OP_EXPORT_RQ,
        11,
        ConnCmd {
            index: 0,
            ..ConnCmd::default()
        },
    );
    assert_eq!((r.code, r.rq_addr, r.rq_len), (ok, 0x5000, 64));
    // IMPORT with Error, then EXPORT says so; RECREATE clears it.
    let imp = ConnCmd {
        pd: 0xbeef,
        msn: [1, 2, 3],
        error: 1,
        ..ConnCmd::default()
    };
    assert_eq!(b.conn_cmd(C::CMD_OP_OP_IMPORT, 9, imp).code, ok);
    let e = b.conn_cmd(C::CMD_OP_OP_EXPORT, 9, ConnCmd::default());
    assert_eq!(
        (e.error, e.pd, e.msn, e.rq_count),
        (1, 0xbeef, [1, 2, 3], 0)
    );
    let rc = ConnCmd {
        msn: [10, 20, 30],
        ..ConnCmd::default()
    };
    assert_eq!(b.conn_cmd(C::CMD_OP_OP_RECREATE, 9, rc).code, ok);
    let e = b.conn_cmd(C::CMD_OP_OP_EXPORT, 9, ConnCmd::default());
    assert_eq!((e.error, e.pd, e.msn), (0, 0xbeef, [10, 20, 30]));
    // DESTROY, then it is unknown.
    assert_eq!(
        b.conn_cmd(C::CMD_OP_OP_DESTROY, 3, ConnCmd::default()).code,
        ok
    );
    assert_eq!(
        b.conn_cmd(C::CMD_OP_OP_EXPORT, 3, ConnCmd::default()).code,
        C::STATUS_CODE_UNKNOWN
    );
    // GO writes read 0; STATUS is idle and not flagged.
    assert_eq!(b.read(C::BASE + C::GO_OFFSET), 0);
    let s = b.read(C::BASE + C::STATUS_OFFSET);
    assert_eq!(s & (C::STATUS_BUSY_MASK | C::STATUS_GO_WHILE_BUSY_MASK), 0);
    b.finish();
}

/// `conn_regs` alone, its table side driven by the test (a table that does
/// not take the command): a GO while BUSY is ignored, flagged in
/// `STATUS.GO_WHILE_BUSY` (W1C), never hangs the bus, and the command in
/// flight completes with its own answer.
#[test]
fn conn_go_while_busy_is_ignored_and_flagged() {
    use hdl::blocks::conn_regs::{elaborate, ConnRegsParams};
    let p = ConnRegsParams::from_params(&params());
    let top = elaborate(&p).unwrap();
    let mut d = hdl::Design::default();
    d.add(&top).unwrap();
    let mut m = testbench::dut::load(&d, "conn_regs", "nic_regs_conn_busy").unwrap();
    let port = |m: &Model, n: &str| m.port(n).unwrap();
    let (rst, cmd_valid, cmd_ready, cmd_op, cmd_conn) = (
        port(&m, "rst"),
        port(&m, "cmd_valid"),
        port(&m, "cmd_ready"),
        port(&m, "cmd_op"),
        port(&m, "cmd_conn"),
    );
    let (resp_valid, resp_status, resp_conn) = (
        port(&m, "resp_valid"),
        port(&m, "resp_status"),
        port(&m, "resp_conn"),
    );
    let mut bus = AxilMaster::new(&m, "s_axil").unwrap();
    let mut chk = AxilChecker::new(&m, "s_axil").unwrap();
    for (n, p) in m
        .ports()
        .map(|(n, p)| (n.to_string(), p))
        .collect::<Vec<_>>()
    {
        if n.starts_with("resp_") && p.is_input {
            m.set(p, 0);
        }
    }
    m.set(cmd_ready, 0);
    m.set(rst, 1);
    m.step_n(2);
    m.set(rst, 0);
    let access = |m: &mut Model,
                  bus: &mut AxilMaster,
                  chk: &mut AxilChecker,
                  write: Option<(u64, u32)>,
                  addr: u64| {
        let t = match write {
            Some((a, v)) => bus.write(a, v as u64),
            None => bus.read(addr),
        };
        let start = m.cycle();
        loop {
            step_all(m, &mut [bus, chk]).unwrap();
            if let Some(r) = bus.take(t) {
                return r;
            }
            assert!(m.cycle() - start < 1000, "access stuck");
        }
    };
    let local = |o: u64| o; // conn_regs alone: offsets inside its window
    access(
        &mut m,
        &mut bus,
        &mut chk,
        Some((local(C::CMD_OP_OFFSET), C::CMD_OP_OP_EXPORT)),
        0,
    );
    access(
        &mut m,
        &mut bus,
        &mut chk,
        Some((local(C::CMD_CONN_OFFSET), 6)),
        0,
    );
    access(
        &mut m,
        &mut bus,
        &mut chk,
        Some((local(C::GO_OFFSET), 1)),
        0,
    );
    assert_eq!(m.get(cmd_valid), 1, "the command is offered");
    assert_eq!(
        (m.get(cmd_op), m.get(cmd_conn)),
        (C::CMD_OP_OP_EXPORT as u64, 6)
    );
    let s = access(&mut m, &mut bus, &mut chk, None, local(C::STATUS_OFFSET)).data as u32;
    assert_eq!(
        s & (C::STATUS_BUSY_MASK | C::STATUS_DONE_MASK),
        C::STATUS_BUSY_MASK
    );
    // A second command while the first waits: answered OKAY on the bus,
    // ignored, flagged; the first command's fields stay on the port.
    access(
        &mut m,
        &mut bus,
        &mut chk,
        Some((local(C::CMD_CONN_OFFSET), 7)),
        0,
    );
    let r = access(
        &mut m,
        &mut bus,
        &mut chk,
        Some((local(C::GO_OFFSET), 1)),
        0,
    );
    assert_eq!(r.resp, RESP_OKAY);
    let s = access(&mut m, &mut bus, &mut chk, None, local(C::STATUS_OFFSET)).data as u32;
    assert_ne!(s & C::STATUS_GO_WHILE_BUSY_MASK, 0, "STATUS {s:#x}");
    assert_ne!(s & C::STATUS_BUSY_MASK, 0);
    assert_eq!(m.get(cmd_valid), 1);
    // The table takes the command and answers: BUSY drops, the answer is the first's.
    // (`get` after a step shows the values before its edge.)
    m.set(cmd_ready, 1);
    step_all(&mut m, &mut [&mut bus, &mut chk]).unwrap();
    m.set(cmd_ready, 0);
    step_all(&mut m, &mut [&mut bus, &mut chk]).unwrap();
    assert_eq!(m.get(cmd_valid), 0, "offered once");
    m.set(resp_valid, 1);
    m.set(resp_status, 0);
    m.set(resp_conn, 6);
    step_all(&mut m, &mut [&mut bus, &mut chk]).unwrap();
    m.set(resp_valid, 0);
    let s = access(&mut m, &mut bus, &mut chk, None, local(C::STATUS_OFFSET)).data as u32;
    assert_eq!(
        s & (C::STATUS_BUSY_MASK | C::STATUS_DONE_MASK | C::STATUS_GO_WHILE_BUSY_MASK),
        C::STATUS_DONE_MASK | C::STATUS_GO_WHILE_BUSY_MASK
    );
    assert_eq!(
        access(&mut m, &mut bus, &mut chk, None, local(C::RESP_CONN_OFFSET)).data,
        6
    );
    // W1C: 1 clears it.
    access(
        &mut m,
        &mut bus,
        &mut chk,
        Some((local(C::STATUS_OFFSET), C::STATUS_GO_WHILE_BUSY_MASK)),
        0,
    );
    let s = access(&mut m, &mut bus, &mut chk, None, local(C::STATUS_OFFSET)).data as u32;
    assert_eq!(s & C::STATUS_GO_WHILE_BUSY_MASK, 0);
    chk.finish().unwrap();
}

/// Segments on two foreign STags park; their miss events come out of the
/// EVENTS block (kind, STag, connection, increasing arrival cycles, COUNT,
/// irq); INSTALL through the STAG block releases one STag's data into host
/// memory, REJECT discards the other's (Terminate, counters); a second
/// REJECT of it counts as unknown; a POP on an empty queue is flagged.
#[test]
fn miss_events_install_and_reject() {
    let mut b = Bench::new("nic_regs_miss");
    for c in [2u32, 5] {
        b.create(c, 0x42);
    }
    let fa = stag_of(2, 3, 0x11);
    let fb = stag_of(3, 7, 0x22);
    let da: Vec<u8> = (0..100u32).map(|i| (i * 7 + 1) as u8).collect();
    let da2: Vec<u8> = (0..40u32).map(|i| (i * 5 + 3) as u8).collect();
    let db: Vec<u8> = vec![0xbb; 60];
    b.send(2, &Segment::write(fa, 0x1000, da.clone()));
    b.send(5, &Segment::write(fb, 0x2000, db.clone()));
    b.send(2, &Segment::write(fa, 0x1064, da2.clone()));
    b.send(5, &Segment::write(fb, 0x2040, db.clone()));
    b.settle(200);
    assert_eq!(b.hold_count(), 4, "four segments parked");
    assert_eq!(b.counter(K::CNT_PARKED_OFFSET), 4);
    assert_eq!(b.counter(K::CNT_MISS_EVENTS_OFFSET), 2);
    assert_eq!(b.count(), 2);
    // IRQ_ENABLE 0: pending, no interrupt.
    let s = b.read(E::BASE + E::STATUS_OFFSET);
    assert_eq!(
        s & (E::STATUS_PENDING_MASK | E::STATUS_IRQ_MASK),
        E::STATUS_PENDING_MASK
    );
    assert_eq!(b.m.get(b.irq), 0);
    b.write(E::BASE + E::IRQ_ENABLE_OFFSET, 1);
    assert_eq!(b.m.get(b.irq), 1, "irq = pending and enabled");
    let s = b.read(E::BASE + E::STATUS_OFFSET);
    assert_ne!(s & E::STATUS_IRQ_MASK, 0);
    let now = b.read(E::BASE + E::CYCLE_OFFSET);
    let e1 = b.pop().expect("first event");
    let e2 = b.pop().expect("second event");
    assert_eq!(b.pop(), None);
    assert_eq!(b.m.get(b.irq), 0, "irq drops with the last pop");
    assert_eq!(
        (e1.kind, e1.stag, e1.conn, e2.kind, e2.stag, e2.conn),
        (
            E::EVENT_KIND_KIND_MISS,
            fa,
            2,
            E::EVENT_KIND_KIND_MISS,
            fb,
            5
        )
    );
    assert!(
        e1.cycle < e2.cycle && e2.cycle < now,
        "arrival cycles {e1:?} {e2:?}, now {now}"
    );
    // POP on an empty queue: ignored and flagged, W1C.
    b.write(E::BASE + E::POP_OFFSET, 1);
    let s = b.read(E::BASE + E::STATUS_OFFSET);
    assert_ne!(s & E::STATUS_POP_EMPTY_MASK, 0);
    assert_eq!(b.count(), 0);
    b.write(E::BASE + E::STATUS_OFFSET, E::STATUS_POP_EMPTY_MASK);
    assert_eq!(b.read(E::BASE + E::STATUS_OFFSET), 0);
    // INSTALL fa: both its segments land, in order.
    let (code, _) = b.stag_cmd(
        S::CMD_OP_OP_INSTALL,
        fa,
        Region::rw(0x10_0000, 0x1000, 0x200, 0x42),
    );
    assert_eq!(code, S::STATUS_CODE_OK);
    b.steps(300);
    assert_eq!(b.mem.borrow().read(0x10_0000, 100), da);
    assert_eq!(b.mem.borrow().read(0x10_0064, 40), da2);
    assert_eq!(b.counter(K::CNT_PLACED_OFFSET), 2);
    assert_eq!(b.counter(K::CNT_PLACED_BYTES_OFFSET), 140);
    assert_eq!(b.hold_count(), 2);
    // REJECT fb: its first segment is answered with a Terminate (DDP 1/1/0x00),
    // the second is dropped (connection in Error); nothing written.
    b.write(E::BASE + E::REJECT_OFFSET, fb);
    b.steps(300);
    assert_eq!(b.hold_count(), 0);
    assert_eq!(b.counter(K::CNT_CHECK_5_OFFSET), 1);
    assert_eq!(b.counter(K::CNT_CHECK_1_OFFSET), 1);
    assert_eq!(b.counter(K::CNT_TERMINATES_OFFSET), 1);
    assert_eq!(b.terminates(), vec![(1, 1, 0x00)]);
    let written: Vec<(u64, u64)> =
        b.wr.writes()
            .iter()
            .map(|w| (w.burst.addr, w.bytes))
            .collect();
    assert_eq!(
        written.iter().map(|w| w.1).sum::<u64>(),
        140,
        "only fa's two placements: {written:x?}"
    );
    assert!(
        written
            .iter()
            .all(|(a, n)| *a >= 0x10_0000 && a + n <= 0x10_0200),
        "writes inside fa's region only: {written:x?}"
    );
    // A REJECT of a STag nothing waits on: counted as unknown.
    b.write(E::BASE + E::REJECT_OFFSET, fb);
    b.steps(50);
    assert_eq!(b.counter(K::CNT_REJECT_UNKNOWN_OFFSET), 1);
    assert_eq!(b.count(), 0, "no new events");
    let hq = b.read(K::BASE + K::HOLD_QUEUE_OFFSET);
    assert_eq!(hq & K::HOLD_QUEUE_FULL_MASK, 0);
    assert_eq!(b.read(K::BASE + K::FLAGS_OFFSET), 0, "no framing error");
    b.finish();
}

/// The peer's Send with Invalidate of an own STag: the Send is placed, an
/// INVAL event names the STag and the connection, the STag is gone (QUERY
/// UNKNOWN), and a later Write to it is refused (check 5).
#[test]
fn invalidation_event_after_send_with_invalidate() {
    let mut b = Bench::new("nic_regs_inval");
    b.create(4, 9);
    let r = b.conn_cmd(
        C::CMD_OP_OP_POST_RECV,
        4,
        ConnCmd {
            addr: 0x9000,
            len: 256,
            ..ConnCmd::default()
        },
    );
    assert_eq!(r.code, C::STATUS_CODE_OK);
    let own = b.register(Region::rw(0x4000, 0x7000, 0x1000, 9));
    assert_eq!(own >> 28, NIC_ID, "an own STag");
    b.write(E::BASE + E::IRQ_ENABLE_OFFSET, 1);
    let sdata: Vec<u8> = (0..48u32).map(|i| i as u8 ^ 0x5a).collect();
    b.send(4, &Segment::send(Opcode::SendInv, own, 1, sdata.clone()));
    b.send(4, &Segment::write(own, 0x7000, vec![0x77; 16]));
    b.settle(300);
    assert_eq!(b.m.get(b.irq), 1);
    let e = b.pop().expect("an invalidation event");
    assert_eq!((e.kind, e.stag, e.conn), (E::EVENT_KIND_KIND_INVAL, own, 4));
    assert_eq!(b.pop(), None);
    assert_eq!(b.mem.borrow().read(0x9000, 48), sdata);
    assert_eq!(b.counter(K::CNT_PLACED_OFFSET), 1);
    assert_eq!(
        b.counter(K::CNT_CHECK_5_OFFSET),
        1,
        "the Write names an invalidated STag"
    );
    assert_eq!(b.terminates(), vec![(1, 1, 0x00)]);
    let (code, _) = b.stag_cmd(S::CMD_OP_OP_QUERY, own, Region::rw(0, 0, 0, 0));
    assert_eq!(code, S::STATUS_CODE_UNKNOWN);
    b.finish();
}

/// More distinct foreign STags than the event queue (4), the miss table (6)
/// and the hold queue (16 segments) hold, on all 16 connections (so some
/// park behind another STag's segments and raise their event only in a
/// replay), from a driver that waits for `irq`, pops slowly and installs
/// each STag it is told about: the queue fills (FULL, WAS_FULL), the receive
/// path waits (HOLD_QUEUE.FULL), and still every STag's miss event
/// arrives exactly once with the right connection, arrival cycles increase,
/// every byte lands, and `irq` falls when the queue is drained. Rounds with
/// random sizes and driver delays; then a round with the interrupt disabled.
#[test]
fn a_full_event_queue_loses_nothing() {
    let seed = testbench::seed_from_env("nic_regs_full");
    let mut rng = testbench::rng(seed);
    let mut b = Bench::new("nic_regs_full");
    b.src.set_pause(Pattern::random(0.2, seed ^ 1));
    b.wr.set_aw_pause(Pattern::random(0.3, seed ^ 2));
    b.bus.set_pause(Pattern::random(0.2, seed ^ 3));
    let pd = 0x77;
    for c in 0..CONNS as u32 {
        b.create(c, pd);
    }
    b.write(E::BASE + E::IRQ_ENABLE_OFFSET, 1);
    let mut next_dma = 0x100_0000u64;
    let mut total_segments = 0u32;
    let mut total_events = 0u32;
    let mut saw_full = false;
    let mut key = 0u8;
    let rounds = 8;
    let mut saw_hold_full = false;
    for round in 0..rounds {
        let irq_enabled = round != rounds - 1;
        if !irq_enabled {
            b.write(E::BASE + E::IRQ_ENABLE_OFFSET, 0);
        }
        let n = rng.gen_range(EVENT_DEPTH as usize + 3..=30);
        // STag -> (connection, region dma base, segments (to, data)).
        let mut plan: BTreeMap<u32, (u16, u64, Vec<(u64, Vec<u8>)>)> = BTreeMap::new();
        let mut order = Vec::new();
        while plan.len() < n {
            key = key.wrapping_add(1);
            let stag = stag_of(rng.gen_range(2..16), rng.gen_range(0..ENTRIES), key);
            if plan.contains_key(&stag) {
                continue;
            }
            // A connection of its own for most STags, so each one's first
            // segment is judged (and raises its event) before any answer.
            let conn = (plan.len() % CONNS as usize) as u16;
            let va = rng.gen_range(0..1u64 << 40) & !0xfff;
            let segs: Vec<(u64, Vec<u8>)> = (0..rng.gen_range(1..=2u64))
                .map(|k| {
                    let len = rng.gen_range(1..=200usize);
                    (va + k * 0x100, (0..len).map(|_| rng.gen()).collect())
                })
                .collect();
            for (k, _) in segs.iter().enumerate() {
                order.push((stag, k));
            }
            plan.insert(stag, (conn, next_dma, segs));
            next_dma += 0x1000;
        }
        // Interleave the STags' segments, keeping each STag's own order:
        // shuffle the occurrences, then number each STag's in turn.
        for i in (1..order.len()).rev() {
            let j = rng.gen_range(0..=i);
            order.swap(i, j);
        }
        let mut next_k: BTreeMap<u32, usize> = BTreeMap::new();
        for (stag, _) in &order {
            let k = next_k.entry(*stag).or_insert(0);
            let (conn, _, segs) = &plan[stag];
            let (to, data) = &segs[*k];
            *k += 1;
            b.send(*conn, &Segment::write(*stag, *to, data.clone()));
        }
        total_segments += order.len() as u32;
        // The driver: wait for irq (or poll COUNT when it is disabled),
        // wait a while, pop one, install it.
        let mut got: Vec<Event> = Vec::new();
        let start = b.m.cycle();
        while got.len() < n {
            assert!(
                b.m.cycle() - start < 400_000,
                "[nic_regs_full] SEED={seed} round {round}: {} of {n} events after 400000 cycles",
                got.len()
            );
            if irq_enabled {
                if b.m.get(b.irq) == 0 {
                    b.step();
                    continue;
                }
                assert!(b.count() >= 1, "irq 1 with an empty queue (SEED={seed})");
            } else {
                assert_eq!(b.m.get(b.irq), 0, "irq while disabled (SEED={seed})");
                if b.count() == 0 {
                    b.steps(20);
                    continue;
                }
            }
            let delay = rng.gen_range(0..300);
            b.steps(delay);
            let s = b.read(E::BASE + E::STATUS_OFFSET);
            saw_full |= s & E::STATUS_FULL_MASK != 0;
            saw_hold_full |= b.read(K::BASE + K::HOLD_QUEUE_OFFSET) & K::HOLD_QUEUE_FULL_MASK != 0;
            let e = b.pop().expect("an event when COUNT >= 1");
            let (conn, dma, segs) = plan.get(&e.stag).unwrap_or_else(|| {
                panic!("[nic_regs_full] SEED={seed}: event {e:?} names a STag never sent")
            });
            assert_eq!(
                (e.kind, e.conn),
                (E::EVENT_KIND_KIND_MISS, *conn as u32),
                "SEED={seed}: event {e:?}"
            );
            assert!(
                got.iter().all(|g| g.stag != e.stag),
                "SEED={seed}: a second event for {:#010x}",
                e.stag
            );
            if let Some(last) = got.last() {
                assert!(
                    e.cycle > last.cycle,
                    "SEED={seed}: arrival cycles {last:?} then {e:?}"
                );
            }
            let va = segs[0].0;
            let (code, _) = b.stag_cmd(
                S::CMD_OP_OP_INSTALL,
                e.stag,
                Region::rw(*dma, va, 0x1000, pd),
            );
            assert_eq!(
                code,
                S::STATUS_CODE_OK,
                "SEED={seed}: INSTALL {:#010x}",
                e.stag
            );
            got.push(e);
        }
        total_events += n as u32;
        b.settle(500);
        assert_eq!(
            b.count(),
            0,
            "SEED={seed}: round {round}: no event beyond one per STag"
        );
        assert_eq!(b.m.get(b.irq), 0);
        assert_eq!(b.hold_count(), 0);
        for (stag, (_, dma, segs)) in &plan {
            let va = segs[0].0;
            for (to, data) in segs {
                assert_eq!(
                    &b.mem.borrow().read(dma + (to - va), data.len()),
                    data,
                    "SEED={seed}: round {round}: the data of {stag:#010x} at TO {to:#x}"
                );
            }
        }
        assert_eq!(
            b.counter(K::CNT_PLACED_OFFSET),
            total_segments,
            "SEED={seed}"
        );
        assert_eq!(
            b.counter(K::CNT_MISS_EVENTS_OFFSET),
            total_events,
            "SEED={seed}"
        );
        eprintln!(
            "[nic_regs_full] SEED={seed} round {round}: {n} STags, {} segments, cycle {}",
            order.len(),
            b.m.cycle()
        );
    }
    assert!(saw_full, "SEED={seed}: the queue never filled");
    assert!(
        saw_hold_full,
        "SEED={seed}: the hold queue never back-pressured"
    );
    let s = b.read(E::BASE + E::STATUS_OFFSET);
    assert_ne!(s & E::STATUS_WAS_FULL_MASK, 0, "WAS_FULL remembers it");
    b.write(E::BASE + E::STATUS_OFFSET, E::STATUS_WAS_FULL_MASK);
    assert_eq!(
        b.read(E::BASE + E::STATUS_OFFSET) & E::STATUS_WAS_FULL_MASK,
        0
    );
    assert!(b.irq_cycles > 0);
    assert_eq!(b.terminates(), vec![], "SEED={seed}: no Terminate");
    b.finish();
}

/// One exported record as docs/registers.md (`EXPORT_STATUS`) lays it out.
fn export_record(stag: u32, r: Region) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    v.extend_from_slice(&stag.to_le_bytes());
    v.extend_from_slice(&r.pd.to_le_bytes());
    v.extend_from_slice(&(r.rights | (r.remote_inv as u32) << 4).to_le_bytes());
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&r.dma.to_le_bytes());
    v.extend_from_slice(&r.va.to_le_bytes());
    v.extend_from_slice(&r.len.to_le_bytes());
    v.resize(64, 0);
    v
}

/// LIST_DMA writes every valid own entry, in entry order, as a 64-byte
/// record into the host buffer while placements run on the same DMA port;
/// an invalidated entry is not listed; records beyond CMD_LENGTH are
/// counted (RESP_COUNT) but not written and nothing past the buffer
/// changes; a write answered SLVERR sets EXPORT_STATUS.ERROR.
#[test]
fn list_dma_exports_every_valid_entry() {
    let mut b = Bench::new("nic_regs_list_dma");
    b.wr.set_aw_pause(Pattern::random(0.3, 11));
    b.wr.set_w_pause(Pattern::random(0.3, 12));
    b.create(2, 7);
    let mut regions = Vec::new();
    for k in 0..12u64 {
        let r = Region {
            dma: 0x20_0000 + k * 0x1000,
            va: 0x7000_0000 + k * 0x10_0000 + k,
            len: 0x800 + k * 0x11,
            pd: 7 + (k as u32 % 3),
            rights: 0xf ^ (k as u32 & 3),
            remote_inv: k % 2 == 0,
        };
        regions.push((b.register(r), r));
    }
    // Entry 4 is invalidated: not in the list any more.
    let (code, _) = b.stag_cmd(
        S::CMD_OP_OP_INVALIDATE,
        regions[4].0,
        Region::rw(0, 0, 0, 0),
    );
    assert_eq!(code, S::STATUS_CODE_OK);
    let listed: Vec<(u32, Region)> = regions
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != 4)
        .map(|(_, x)| *x)
        .collect();
    // Placement traffic on the same DMA port while the export runs.
    let (wstag, wr) = regions[0];
    let data: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
    for k in 0..4u64 {
        b.send(2, &Segment::write(wstag, wr.va + k * 256, data.clone()));
    }
    let buf = 0x80_0000u64;
    let export = |b: &mut Bench, cap: u64| {
        let (code, _) = b.stag_cmd(S::CMD_OP_OP_LIST_DMA, 0, Region::rw(buf, 0, cap, 0));
        assert_eq!(code, S::STATUS_CODE_OK, "LIST_DMA");
        (
            b.read(S::BASE + S::RESP_COUNT_OFFSET),
            b.read(S::BASE + S::EXPORT_STATUS_OFFSET),
        )
    };
    let (count, st) = export(&mut b, 64 * 16);
    assert_eq!(count as usize, listed.len());
    assert_eq!(
        st,
        listed.len() as u32,
        "EXPORT_STATUS: all written, no error"
    );
    for (k, (stag, r)) in listed.iter().enumerate() {
        assert_eq!(
            b.mem.borrow().read(buf + 64 * k as u64, 64),
            export_record(*stag, *r),
            "record {k}"
        );
    }
    b.settle(500);
    for k in 0..4u64 {
        assert_eq!(
            b.mem.borrow().read(wr.dma + k * 256, 200),
            data,
            "placement {k}"
        );
    }
    // A buffer of 3 records: 3 written, the rest counted, nothing beyond it.
    b.mem.borrow_mut().write(buf, &[0xee; 64 * 16]);
    let (count, st) = export(&mut b, 64 * 3 + 63);
    assert_eq!(count as usize, listed.len());
    assert_eq!(st & S::EXPORT_STATUS_WRITTEN_MASK, 3);
    assert_eq!(st & S::EXPORT_STATUS_ERROR_MASK, 0);
    for (k, (stag, r)) in listed.iter().take(3).enumerate() {
        assert_eq!(
            b.mem.borrow().read(buf + 64 * k as u64, 64),
            export_record(*stag, *r)
        );
    }
    assert_eq!(
        b.mem.borrow().read(buf + 64 * 3, 64 * 13),
        vec![0xee; 64 * 13]
    );
    // The host answers one record's write with SLVERR.
    b.wr.set_resp_for(move |burst| {
        if burst.addr == buf + 64 * 5 {
            RESP_SLVERR
        } else {
            RESP_OKAY
        }
    });
    let (_, st) = export(&mut b, 64 * 16);
    assert_eq!(st & S::EXPORT_STATUS_WRITTEN_MASK, listed.len() as u32);
    assert_ne!(st & S::EXPORT_STATUS_ERROR_MASK, 0, "EXPORT_STATUS.ERROR");
    b.finish();
}

/// The direct port (the system's resolver) and the host share the STag
/// table a whole command at a time: 150 direct QUERYs with random pauses
/// run while the host issues QUERYs and REGISTERs; every answer goes to
/// its own issuer and is right. Then in MODE.DIRECT a parked segment's miss
/// event goes both to the queue (the driver's log) and to the direct port;
/// a direct INSTALL releases it, the next STag's miss follows in the
/// replay, and a direct REJECT discards that one with a Terminate.
#[test]
fn direct_port_shares_the_table_and_resolves_misses() {
    let mut b = Bench::new("nic_regs_direct");
    let seed = testbench::seed_from_env("direct_port_shares_the_table_and_resolves_misses");
    let mut rng = testbench::rng(seed);
    let region = |k: u64| Region {
        dma: 0x40_0000 + k * 0x2000,
        va: 0x1000_0000 * (k + 1),
        len: 0x1000 + k,
        pd: 9,
        rights: 0xf,
        remote_inv: k % 2 == 1,
    };
    let mut own: Vec<(u32, Region)> = (0..8).map(|k| (b.register(region(k)), region(k))).collect();
    // Entries 12-15 are never registered in this test.
    let unknown: Vec<u32> = (12..16).map(|e| stag_of(NIC_ID, e, 0)).collect();
    let mut asked = Vec::new();
    for _ in 0..150 {
        let stag = if rng.gen_bool(0.75) {
            own[rng.gen_range(0..8)].0
        } else {
            unknown[rng.gen_range(0..4)]
        };
        asked.push(stag);
        b.direct.cmds.push_back(DirectCmd {
            op: S::CMD_OP_OP_QUERY,
            stag,
            r: Region::rw(0, 0, 0, 0),
        });
    }
    b.direct.pause = Pattern::random(0.5, rng.gen());
    let mut k = 8;
    while !b.direct.idle() {
        if k < 11 && rng.gen_bool(0.2) {
            own.push((b.register(region(k)), region(k)));
            k += 1;
        } else {
            let (stag, r) = own[rng.gen_range(0..own.len())];
            let (code, rs) = b.stag_cmd(S::CMD_OP_OP_QUERY, stag, Region::rw(0, 0, 0, 0));
            assert_eq!((code, rs), (S::STATUS_CODE_OK, stag));
            let lo = b.read(S::BASE + S::RESP_DMA_BASE_LO_OFFSET) as u64;
            assert_eq!(
                lo,
                r.dma & 0xffff_ffff,
                "the host's QUERY got its own answer"
            );
        }
    }
    b.steps(20);
    assert_eq!(
        b.direct.resps.len(),
        asked.len(),
        "one answer per direct command"
    );
    for (stag, resp) in asked.iter().zip(&b.direct.resps) {
        match own.iter().find(|(s, _)| s == stag) {
            Some((_, r)) => assert_eq!(
                *resp,
                DirectResp {
                    status: S::STATUS_CODE_OK,
                    stag: *stag,
                    dma: r.dma,
                    va: r.va,
                    len: r.len,
                    pd: r.pd,
                    rights: r.rights,
                    remote_inv: r.remote_inv,
                },
                "direct QUERY of {stag:#x}"
            ),
            None => assert_eq!(
                (resp.status, resp.stag),
                (S::STATUS_CODE_UNKNOWN, *stag),
                "direct QUERY of unknown {stag:#x}"
            ),
        }
    }

    // Direct mode: misses go to the direct port too.
    b.direct.pause = Pattern::never();
    b.create(3, 9);
    b.write(E::BASE + E::MODE_OFFSET, E::MODE_DIRECT_MASK);
    let (f1, f2) = (stag_of(2, 5, 1), stag_of(2, 6, 1));
    let d1: Vec<u8> = (0..80u32).map(|i| (i * 3) as u8).collect();
    b.send(3, &Segment::write(f1, 0x5000, d1.clone()));
    b.send(3, &Segment::write(f2, 0x9000, vec![0x44; 32]));
    b.settle(200);
    assert_eq!(
        b.direct.misses,
        vec![(f1, 3)],
        "f2 waits unjudged behind f1"
    );
    let e = b.pop().expect("the miss is in the driver's log too");
    assert_eq!((e.kind, e.stag, e.conn), (E::EVENT_KIND_KIND_MISS, f1, 3));
    b.direct.resps.clear();
    b.direct.cmds.push_back(DirectCmd {
        op: S::CMD_OP_OP_INSTALL,
        stag: f1,
        r: Region::rw(0x60_0000, 0x5000, 0x100, 9),
    });
    b.settle(300);
    assert_eq!(b.direct.resps.len(), 1);
    assert_eq!(b.direct.resps[0].status, S::STATUS_CODE_OK, "INSTALL");
    assert_eq!(
        b.mem.borrow().read(0x60_0000, 80),
        d1,
        "released and placed"
    );
    assert_eq!(
        b.direct.misses,
        vec![(f1, 3), (f2, 3)],
        "f2's miss in the replay"
    );
    b.direct.rejects.push_back(f2);
    b.settle(300);
    assert_eq!(
        b.terminates(),
        vec![(1, 1, 0x00)],
        "f2 rejected: invalid STag"
    );
    assert_eq!(b.mem.borrow().read(0x9000, 32), vec![0; 32]);
    let e = b.pop().expect("f2's miss is logged");
    assert_eq!((e.kind, e.stag), (E::EVENT_KIND_KIND_MISS, f2));
    assert_eq!(b.pop(), None);
    b.write(E::BASE + E::MODE_OFFSET, 0);
    b.finish();
}
