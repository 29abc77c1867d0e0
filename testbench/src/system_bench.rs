//! A cycle-loop bench around `system` (N NICs, the host-bus arbiter and the
//! direct resolver; docs/system.md) that is also the driver model's
//! [`HostBus`].
//!
//! Every port has its bus functional model and a protocol checker that
//! runs every cycle: the host's `s_axil_*` (an [`AxilMaster`] and an
//! [`AxilChecker`]), the host's `m_axi_*` (an [`AxiWriteSlave`] into a
//! [`sim::hostmem`] memory with per-byte writer records, and an
//! [`AxiChecker`]), and per NIC `s{i}_axis_rx_*` (an [`AxisSource`]) and
//! `m{i}_axis_tx_*` (an [`AxisSink`]), each with an [`AxisChecker`].
//!
//! Register accesses block: [`HostBus::read`] / [`HostBus::write`] queue
//! one access and step the whole system (every stream, the DMA, the
//! checkers) until its response. Each DMA burst is attributed to a
//! [`Writer`]: `source` = the NIC (the top bits of `m_axi_awid`), `tag` and
//! `seq` from the placement the test announced with
//! [`SystemBench::expect_place`] at the burst's address; a burst at no
//! announced address is a stray ([`SystemBench::strays`]).
//!
//! `WAVES=1` writes `target/waves/<test>.vcd`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Range;
use std::rc::Rc;

use hdl::blocks::system::{elaborate, SystemParams};
use sim::axi::{AxiBurst, AxiChecker, AxiWriteSlave, AxilChecker, AxilKind, AxilMaster};
use sim::axis::{step_all, AxisChecker, AxisFrame, AxisSink, AxisSource, Bfm};
use sim::driver::{BusError, HostBus};
use sim::hostmem::{self, SharedMemory, Writer};
use sim::iwarp::frames::{self, Body, Segment, TermCode};
use sim::regs::events as E;
use sim::{Model, Port};

/// The small `system` configuration of the system tests, the resolve
/// bench and the handoff demo: `nics` NICs, `entries` own STag entries
/// each, 64-bit data, 16 connections x 4 receive buffers, 16 foreign slots,
/// 256-byte FPDUs and a hold queue of 16 segments / 1 KiB / 6 STags (one
/// Verilator build per (nics, entries)).
pub fn small_params(nics: u64, entries: u64) -> SystemParams {
    let p = hdl::params::Params::new([
        ("nics", nics),
        ("data-width", 64),
        ("connections", 16),
        ("rq-depth", 4),
        ("entries", entries),
        ("foreign-entries", 16),
        ("nic-id-bits", 4),
        ("max-payload", 256),
        ("hold-bytes", 1024),
        ("hold-segments", 16),
        ("hold-stags", 6),
    ])
    .expect("the small system parameters are in range");
    SystemParams::from_params(&p)
}

/// Bits of `m_axi_awid` that are the NIC's own id (the arbiter adds the NIC
/// index above them, docs/host_arbiter.md).
pub const NIC_AWID_BITS: u32 = 4;

/// Writer `source` of a burst at no announced address.
pub const STRAY: u32 = 0xdead;

/// Writer `tag` of the LIST_DMA export buffer's records.
pub const EXPORT_TAG: u64 = 0xe4_0000_0000;

/// Announced placements: start address -> (end, STag or other tag, seq).
type PlaceMap = Rc<RefCell<BTreeMap<u64, (u64, u64, u64)>>>;

/// When one host DMA burst happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BurstTiming {
    pub addr: u64,
    pub beats: u32,
    /// Cycle of the AW handshake.
    pub aw_cycle: u64,
    /// Cycle of the first W beat (its first bytes reach memory).
    pub first_w: Option<u64>,
    /// W beats taken so far.
    pub w_beats: u32,
}

/// The system and its host.
pub struct SystemBench {
    pub m: Model,
    pub test: String,
    pub nics: usize,
    pub params: SystemParams,
    pub bus: AxilMaster,
    bus_chk: AxilChecker,
    pub src: Vec<AxisSource>,
    rx_chk: Vec<AxisChecker>,
    pub sink: Vec<AxisSink>,
    tx_chk: Vec<AxisChecker>,
    pub wr: AxiWriteSlave,
    axi_chk: AxiChecker,
    pub mem: SharedMemory,
    places: PlaceMap,
    strays: Rc<RefCell<Vec<AxiBurst>>>,
    rst: Port,
    irq: Port,
    wlast_error: Port,
    bid_error: Port,
    direct_installs: Port,
    direct_rejects: Port,
    /// Per NIC rx port: (tvalid, tready, tlast).
    rx_ports: Vec<(Port, Port, Port)>,
    /// `m_axi_wvalid`, `m_axi_wready`.
    w_ports: (Port, Port),
    /// `m_axi_awvalid`, `m_axi_awready`, `m_axi_awaddr`, `m_axi_awlen`.
    aw_ports: (Port, Port, Port, Port),
    /// Index in `bursts` of the burst the next W beat belongs to.
    w_burst: usize,
    /// Cycle of the last reset edge: the NICs' `CYCLE` counters count from it.
    pub reset_cycle: u64,
    /// Per NIC, the cycle each FPDU's last beat was taken on `s{i}_axis_rx`.
    pub rx_last_at: Vec<Vec<u64>>,
    /// The cycle of every W beat taken on `m_axi`.
    pub w_at: Vec<u64>,
    /// Every burst on `m_axi`, in AW order (W follows AW in order on the
    /// host side, docs/host_arbiter.md).
    pub bursts: Vec<BurstTiming>,
    /// Cycles at which `direct_installs` / `direct_rejects` went up.
    pub direct_install_at: Vec<u64>,
    pub direct_reject_at: Vec<u64>,
    last_direct: (u64, u64),
    /// Cycles `irq` was 1.
    pub irq_cycles: u64,
    /// Cycles a register access may take before [`BusError::Timeout`].
    pub bus_limit: u64,
}

impl SystemBench {
    /// Elaborate `system` for `p`, build (or reuse) its Verilator model and
    /// reset it.
    pub fn new(test: &str, p: &SystemParams) -> SystemBench {
        let top = elaborate(p).unwrap_or_else(|e| panic!("[{test}] elaborate system: {e}"));
        let mut d = hdl::Design::default();
        d.add(&top).unwrap();
        let mut m = crate::dut::load(&d, "system", test).unwrap_or_else(|e| panic!("{e}"));
        let nics = p.arbiter.nics as usize;
        let mem = hostmem::shared();
        let bus = AxilMaster::new(&m, "s_axil").unwrap();
        let bus_chk = AxilChecker::new(&m, "s_axil").unwrap();
        let mut src = Vec::new();
        let mut rx_chk = Vec::new();
        let mut sink = Vec::new();
        let mut tx_chk = Vec::new();
        let mut rx_ports = Vec::new();
        for i in 0..nics {
            let rx = format!("s{i}_axis_rx");
            let tx = format!("m{i}_axis_tx");
            src.push(AxisSource::new(&m, &rx).unwrap());
            rx_chk.push(AxisChecker::new(&m, &rx).unwrap());
            sink.push(AxisSink::new(&m, &tx).unwrap());
            tx_chk.push(AxisChecker::new(&m, &tx).unwrap());
            let port = |f: &str| m.port(&format!("{rx}_{f}")).unwrap();
            rx_ports.push((port("tvalid"), port("tready"), port("tlast")));
        }
        let mut wr = AxiWriteSlave::new(&m, "m_axi", mem.clone()).unwrap();
        let axi_chk = AxiChecker::new(&m, "m_axi").unwrap();
        let places: PlaceMap = Rc::new(RefCell::new(BTreeMap::new()));
        let strays = Rc::new(RefCell::new(Vec::new()));
        let (pl, sy) = (places.clone(), strays.clone());
        wr.set_writer_for(move |b| {
            let nic = (b.id >> NIC_AWID_BITS) as u32;
            let map = pl.borrow();
            if let Some((_, &(end, tag, seq))) = map.range(..=b.addr).next_back() {
                if b.addr < end {
                    return Writer::new(nic, tag, seq);
                }
            }
            sy.borrow_mut().push(*b);
            Writer::new(STRAY, b.addr, b.cycle)
        });
        let port = |n: &str| m.port(n).unwrap();
        let (rst, irq, wlast_error, bid_error, direct_installs, direct_rejects) = (
            port("rst"),
            port("irq"),
            port("wlast_error"),
            port("bid_error"),
            port("direct_installs"),
            port("direct_rejects"),
        );
        let w_ports = (port("m_axi_wvalid"), port("m_axi_wready"));
        let aw_ports = (
            port("m_axi_awvalid"),
            port("m_axi_awready"),
            port("m_axi_awaddr"),
            port("m_axi_awlen"),
        );
        m.set(rst, 1);
        let mut b = SystemBench {
            m,
            test: test.to_string(),
            nics,
            params: p.clone(),
            bus,
            bus_chk,
            src,
            rx_chk,
            sink,
            tx_chk,
            wr,
            axi_chk,
            mem,
            places,
            strays,
            rst,
            irq,
            wlast_error,
            bid_error,
            direct_installs,
            direct_rejects,
            rx_ports,
            w_ports,
            aw_ports,
            w_burst: 0,
            bursts: Vec::new(),
            reset_cycle: 0,
            rx_last_at: vec![Vec::new(); nics],
            w_at: Vec::new(),
            direct_install_at: Vec::new(),
            direct_reject_at: Vec::new(),
            last_direct: (0, 0),
            irq_cycles: 0,
            bus_limit: 100_000,
        };
        for _ in 0..4 {
            b.step();
        }
        b.reset_cycle = b.m.cycle();
        b.m.set(b.rst, 0);
        b.step();
        // The NICs' CYCLE counters run from the reset edge: a read of NIC
        // 0's CYCLE returns a value sampled during the access.
        let t0 = b.m.cycle();
        let v = b
            .access(None, E::BASE + E::CYCLE_OFFSET)
            .unwrap_or_else(|e| panic!("[{test}] CYCLE: {e}"));
        let t1 = b.m.cycle();
        let at = b.nic_cycle_to_sim(v);
        assert!(
            (t0..=t1).contains(&at),
            "[{test}] CYCLE {v} read in cycles {t0}..={t1}, reset edge {}",
            b.reset_cycle
        );
        b
    }

    /// One clock cycle: every BFM and checker drives, the model steps, every
    /// one samples; then the bench's own monitors.
    pub fn step(&mut self) {
        let mut bfms: Vec<&mut dyn Bfm> = Vec::with_capacity(4 + 4 * self.nics);
        bfms.push(&mut self.bus);
        bfms.push(&mut self.bus_chk);
        bfms.push(&mut self.wr);
        bfms.push(&mut self.axi_chk);
        for s in self.src.iter_mut() {
            bfms.push(s);
        }
        for c in self.rx_chk.iter_mut() {
            bfms.push(c);
        }
        for s in self.sink.iter_mut() {
            bfms.push(s);
        }
        for c in self.tx_chk.iter_mut() {
            bfms.push(c);
        }
        let cycle = match step_all(&mut self.m, &mut bfms) {
            Ok(c) => c,
            Err(e) => panic!("[{}] protocol: {e}", self.test),
        };
        for (i, &(v, r, l)) in self.rx_ports.iter().enumerate() {
            if self.m.get(v) & self.m.get(r) & self.m.get(l) & 1 == 1 {
                self.rx_last_at[i].push(cycle);
            }
        }
        let (awv, awr, awa, awl) = self.aw_ports;
        if self.m.get(awv) & self.m.get(awr) & 1 == 1 {
            self.bursts.push(BurstTiming {
                addr: self.m.get(awa),
                beats: self.m.get(awl) as u32 + 1,
                aw_cycle: cycle,
                first_w: None,
                w_beats: 0,
            });
        }
        if self.m.get(self.w_ports.0) & self.m.get(self.w_ports.1) & 1 == 1 {
            self.w_at.push(cycle);
            match self.bursts.get_mut(self.w_burst) {
                Some(bt) => {
                    bt.first_w.get_or_insert(cycle);
                    bt.w_beats += 1;
                    if bt.w_beats == bt.beats {
                        self.w_burst += 1;
                    }
                }
                None => panic!("[{}] a W beat before its AW on m_axi", self.test),
            }
        }
        let di = self.m.get(self.direct_installs);
        let dr = self.m.get(self.direct_rejects);
        if di != self.last_direct.0 {
            self.direct_install_at.push(cycle);
        }
        if dr != self.last_direct.1 {
            self.direct_reject_at.push(cycle);
        }
        self.last_direct = (di, dr);
        self.irq_cycles += self.m.get(self.irq) & 1;
    }

    pub fn steps(&mut self, n: u64) {
        for _ in 0..n {
            self.step();
        }
    }

    /// The direct resolver's counters: (installs, rejects).
    pub fn direct_counts(&self) -> (u64, u64) {
        self.last_direct
    }

    /// The simulation cycle of a NIC `CYCLE` value (such as EVENT_CYCLE):
    /// the counters start at 0 at the last reset edge (within a cycle).
    pub fn nic_cycle_to_sim(&self, c: u32) -> u64 {
        self.reset_cycle + c as u64
    }

    fn access(&mut self, write: Option<u32>, addr: u64) -> Result<u32, BusError> {
        let t = match write {
            Some(v) => self.bus.write(addr, v as u64),
            None => self.bus.read(addr),
        };
        let start = self.m.cycle();
        loop {
            if let Some(r) = self.bus.take(t) {
                debug_assert_eq!(
                    r.kind,
                    if write.is_some() {
                        AxilKind::Write
                    } else {
                        AxilKind::Read
                    }
                );
                return match BusError::from_resp(r.resp, addr, write.is_some()) {
                    Some(e) => Err(e),
                    None => Ok(r.data as u32),
                };
            }
            let waited = self.m.cycle() - start;
            if waited > self.bus_limit {
                panic!(
                    "[{}] AXI4-Lite {} of {addr:#x} unanswered after {waited} cycles (cycle {})",
                    self.test,
                    if write.is_some() { "write" } else { "read" },
                    self.m.cycle()
                );
            }
            self.step();
        }
    }

    // ---- network ----

    /// Queue one FPDU of `seg` on NIC `nic`'s rx stream, connection `conn`.
    pub fn send(&mut self, nic: usize, conn: u16, seg: &Segment) {
        self.src[nic].send(AxisFrame::with_user(frames::fpdu(seg), conn as u64));
    }

    /// Queue one packet of raw bytes (an FPDU, possibly broken) on NIC
    /// `nic`'s rx stream, connection `conn`.
    pub fn send_fpdu(&mut self, nic: usize, conn: u16, fpdu: Vec<u8>) {
        self.src[nic].send(AxisFrame::with_user(fpdu, conn as u64));
    }

    /// Run until every rx stream is drained and `n` more cycles passed.
    pub fn settle(&mut self, n: u64) {
        let start = self.m.cycle();
        while self.src.iter().any(|s| !s.idle()) {
            self.step();
            assert!(
                self.m.cycle() - start < 500_000,
                "[{}] rx streams not taken in 500000 cycles",
                self.test
            );
        }
        self.steps(n);
    }

    /// Terminates NIC `nic` sent so far: (connection, layer, type, code).
    pub fn terminates(&mut self, nic: usize) -> Vec<(u64, TermCode)> {
        let mut v = Vec::new();
        while let Some(f) = self.sink[nic].recv() {
            let seg = frames::parse_fpdu(&f.data)
                .unwrap_or_else(|e| panic!("[{}] NIC {nic} sent a bad FPDU: {e}", self.test));
            match seg.body {
                Body::Terminate(t) => v.push((f.user, t.code())),
                other => panic!("[{}] NIC {nic} sent {other:?}", self.test),
            }
        }
        v
    }

    // ---- host memory evidence ----

    /// Announce that `[addr, addr + len)` will be written by one segment:
    /// its bytes are attributed to `Writer { nic of the burst, tag, seq }`.
    pub fn expect_place(&mut self, addr: u64, len: u64, tag: u64, seq: u64) {
        if len > 0 {
            self.places
                .borrow_mut()
                .insert(addr, (addr + len, tag, seq));
        }
    }

    /// Announce the driver's LIST_DMA export buffer: the NICs' record
    /// writes there are attributed to `Writer { nic, EXPORT_TAG, 0 }` (and
    /// may be written many times).
    pub fn expect_export_buffer(&mut self, addr: u64, len: u64) {
        self.expect_place(addr, len, EXPORT_TAG, 0);
    }

    /// Bursts at no announced address.
    pub fn strays(&self) -> Vec<AxiBurst> {
        self.strays.borrow().clone()
    }

    /// `[addr, addr + data.len())` holds `data`, every byte written once by
    /// NIC `nic` for (`tag`, `seq`).
    pub fn assert_placed(&self, addr: u64, data: &[u8], nic: usize, tag: u64, seq: u64) {
        let mem = self.mem.borrow();
        assert_eq!(
            mem.read(addr, data.len()),
            data,
            "[{}] bytes at {addr:#x} (tag {tag:#x} seq {seq})",
            self.test
        );
        mem.assert_written_once_by(
            addr..addr + data.len() as u64,
            Writer::new(nic as u32, tag, seq),
        )
        .unwrap_or_else(|e| panic!("[{}] {e}", self.test));
    }

    /// No tracked byte outside `allowed`.
    pub fn assert_writes_within(&self, allowed: &[Range<u64>]) {
        self.mem
            .borrow()
            .assert_writes_within(allowed)
            .unwrap_or_else(|e| panic!("[{}] {e}", self.test));
    }

    /// No tracked byte in `range`.
    pub fn assert_untouched(&self, range: Range<u64>) {
        self.mem
            .borrow()
            .assert_untouched(range)
            .unwrap_or_else(|e| panic!("[{}] {e}", self.test));
    }

    /// The end of a test: every checker's `finish`, nothing outstanding, no
    /// stray burst, no arbiter error flag.
    pub fn finish(&mut self) {
        self.steps(16);
        self.bus_chk
            .finish()
            .unwrap_or_else(|e| panic!("[{}] {e}", self.test));
        self.axi_chk
            .finish()
            .unwrap_or_else(|e| panic!("[{}] {e}", self.test));
        assert!(self.bus.idle(), "[{}] register access in flight", self.test);
        assert_eq!(
            self.bus.pop_result(),
            None,
            "[{}] untaken result",
            self.test
        );
        assert!(
            self.src.iter().all(|s| s.idle()),
            "[{}] FPDUs not taken",
            self.test
        );
        assert!(self.wr.idle(), "[{}] DMA writes unanswered", self.test);
        assert_eq!(
            self.strays(),
            vec![],
            "[{}] DMA bursts at no expected address",
            self.test
        );
        assert_eq!(
            (self.m.get(self.wlast_error), self.m.get(self.bid_error)),
            (0, 0),
            "[{}] arbiter error flags",
            self.test
        );
    }

    /// Event queue length of NIC `nic` (one register read).
    pub fn event_count(&mut self, nic: usize) -> u32 {
        let a = (nic as u64) << self.params.arbiter.window_bits | (E::BASE + E::COUNT_OFFSET);
        self.access(None, a).unwrap_or_else(|e| panic!("{e}")) & E::COUNT_COUNT_MASK
    }

    /// System address of NIC `nic`'s register at `off`.
    pub fn reg_addr(&self, nic: usize, off: u64) -> u64 {
        (nic as u64) << self.params.arbiter.window_bits | off
    }
}

impl HostBus for SystemBench {
    fn now(&self) -> u64 {
        self.m.cycle()
    }

    fn wait(&mut self, cycles: u64) {
        self.steps(cycles);
    }

    fn read(&mut self, addr: u64) -> Result<u32, BusError> {
        self.access(None, addr)
    }

    fn write(&mut self, addr: u64, v: u32) -> Result<(), BusError> {
        self.access(Some(v), addr).map(|_| ())
    }

    fn irq(&mut self) -> bool {
        self.m.get(self.irq) & 1 == 1
    }

    fn mem_read(&mut self, addr: u64, len: usize) -> Vec<u8> {
        self.mem.borrow().read(addr, len)
    }
}
