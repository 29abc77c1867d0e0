//! The `host_arbiter` bench shared by `tests/host_arbiter.rs` and
//! `benches/host_arbiter.rs`: an AXI4 write manager model per NIC
//! (`NicMaster`, on `s{i}_axi_*`), a memory-backed AXI4-Lite subordinate
//! per NIC (`AxilSub`, on `m{i}_axil_*`), the `sim` host write subordinate
//! over a `HostMemory` on `m_axi_*`, the `sim` AXI4-Lite manager on
//! `s_axil_*`, and a protocol checker on every one of those ports.
//!
//! Every burst a NIC sends is registered by its start address, so the host
//! side knows, independently of the DUT, which NIC and id wrote it; the
//! expected results come from `docs/host_arbiter.md`, not from the RTL.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use hdl::blocks::host_arbiter::{elaborate, HostArbiterParams};
use hdl::Params;
use rand::rngs::StdRng;
use rand::Rng;
use sim::axi::{
    step_all, AxiChecker, AxiWriteSlave, AxilChecker, AxilMaster, Bfm, ProtocolError, RESP_OKAY,
};
use sim::hostmem::{self, SharedMemory, Writer};
use sim::pattern::Pattern;
use sim::{Model, Port};

/// Width of the NICs' `awid`/`bid`.
pub const S_ID_BITS: u32 = 4;

/// The arbiter at `nics`, data and address width, block defaults otherwise.
pub fn params(nics: u32, data_width: u32, addr_bits: u32) -> HostArbiterParams {
    HostArbiterParams {
        name: format!("host_arbiter_n{nics}_w{data_width}_a{addr_bits}"),
        nics,
        data_width,
        addr_bits,
        ..HostArbiterParams::from_params(&Params::default())
    }
}

/// A random pause pattern with probability below `max` (often none).
pub fn maybe_pause(r: &mut StdRng, max: f64) -> Pattern {
    let x: f64 = r.gen_range(0.0..max);
    if x < 0.1 {
        Pattern::never()
    } else {
        Pattern::random(x, r.gen())
    }
}

// ---------------------------------------------------------------------------------
// Bursts
// ---------------------------------------------------------------------------------

/// One write burst a NIC sends.
#[derive(Debug)]
pub struct Burst {
    pub nic: usize,
    /// Running number within its NIC.
    pub seq: u64,
    pub id: u64,
    /// `awaddr` (may be unaligned: the first beat starts at that lane).
    pub addr: u64,
    /// The bus-aligned address of the first beat.
    pub word_addr: u64,
    pub beats: u32,
    /// `beats * bus bytes` bytes, lane-aligned from `word_addr`.
    pub data: Vec<u8>,
    /// `wstrb` of each beat.
    pub strb: Vec<u64>,
    /// The host's answer (OKAY or SLVERR: an erroring burst writes nothing).
    pub resp: u8,
    pub cache: u64,
    pub prot: u64,
    /// Beat whose `wlast` the NIC sets wrongly (the wlast_error test).
    pub bad_wlast_beat: Option<u32>,
    aw_done: Cell<bool>,
}

impl Burst {
    /// The host writer the bytes of this burst must carry.
    pub fn writer(&self) -> Writer {
        Writer::new(self.nic as u32, self.id, self.seq)
    }
}

/// Makes a NIC's bursts: each in fresh memory of the NIC's own region, none
/// crossing 4 KiB.
pub struct BurstGen {
    pub nic: usize,
    bb: u64,
    cursor: u64,
    seq: u64,
}

impl BurstGen {
    pub fn new(nic: usize, bus_bytes: usize, addr_bits: u32) -> Self {
        BurstGen {
            nic,
            bb: bus_bytes as u64,
            cursor: ((nic as u64) << (addr_bits - 4)) + 0x10_0000,
            seq: 0,
        }
    }

    /// A burst of `beats` beats. `rough`: random id, unaligned start,
    /// partial strobes and gaps; else id 0, aligned, full strobes, packed.
    /// `err`: probability the host answers SLVERR.
    pub fn next(&mut self, r: &mut StdRng, beats: u32, rough: bool, err: f64) -> Burst {
        let bb = self.bb;
        if rough {
            self.cursor += bb * r.gen_range(0..4u64);
        }
        let span = beats as u64 * bb;
        if self.cursor % 4096 + span > 4096 {
            self.cursor = (self.cursor | 0xfff) + 1;
        }
        let word_addr = self.cursor;
        self.cursor += span;
        let off = if rough && r.gen_bool(0.3) {
            r.gen_range(0..bb)
        } else {
            0
        };
        let full = if bb == 64 { u64::MAX } else { (1u64 << bb) - 1 };
        let strb = (0..beats)
            .map(|k| {
                let lanes = if k == 0 { full & (full << off) } else { full };
                if rough && r.gen_bool(0.2) {
                    lanes & r.gen::<u64>()
                } else {
                    lanes
                }
            })
            .collect();
        let seq = self.seq;
        self.seq += 1;
        Burst {
            nic: self.nic,
            seq,
            id: if rough { r.gen_range(0..16) } else { 0 },
            addr: word_addr + off,
            word_addr,
            beats,
            data: (0..span).map(|_| r.gen()).collect(),
            strb,
            resp: if err > 0.0 && r.gen_bool(err) {
                sim::axi::RESP_SLVERR
            } else {
                RESP_OKAY
            },
            cache: if rough { r.gen_range(0..16) } else { 3 },
            prot: if rough { r.gen_range(0..8) } else { 2 },
            bad_wlast_beat: None,
            aw_done: Cell::new(false),
        }
    }
}

// ---------------------------------------------------------------------------------
// NIC side: AXI4 write manager
// ---------------------------------------------------------------------------------

/// One AW handshake of a NIC: first cycle its awvalid was high, the
/// handshake cycle, and the burst's beats.
#[derive(Clone, Copy, Debug)]
pub struct Grant {
    pub nic: usize,
    pub first: u64,
    pub cycle: u64,
    pub beats: u32,
}

/// A NIC's DMA write port as the arbiter sees it (drives `s{i}_axi_*`).
/// AW in queue order (at most `max_open` bursts between AW and B); W in AW
/// order, a burst's beats only after its AW handshake unless `w_lead`
/// (then as soon as its AW is presented: AXI allows W before AW); every B
/// must name the oldest open burst with that id and carry its response.
pub struct NicMaster {
    pub nic: usize,
    seed: u64,
    bb: usize,
    words: usize,
    p: HashMap<&'static str, Port>,
    pub todo: VecDeque<Rc<Burst>>,
    aw_hold: Option<Rc<Burst>>,
    aw_first: Option<u64>,
    w_list: VecDeque<Rc<Burst>>,
    w_beat: u32,
    w_hold: bool,
    out_b: VecDeque<Rc<Burst>>,
    open: usize,
    pub aw_pause: Pattern,
    pub w_pause: Pattern,
    pub b_pause: Pattern,
    pub max_open: usize,
    pub w_lead: bool,
    drv: (bool, bool, bool),
    pub grants: Vec<Grant>,
    pub w_beats: u64,
    pub bs: u64,
}

const S_FIELDS: [&str; 19] = [
    "awid", "awaddr", "awlen", "awsize", "awburst", "awlock", "awcache", "awprot", "awvalid",
    "awready", "wdata", "wstrb", "wlast", "wvalid", "wready", "bid", "bresp", "bvalid", "bready",
];

impl NicMaster {
    pub fn new(m: &Model, nic: usize, seed: u64) -> Self {
        let p: HashMap<&'static str, Port> = S_FIELDS
            .iter()
            .map(|f| (*f, m.port(&format!("s{nic}_axi_{f}")).unwrap()))
            .collect();
        let bb = p["wstrb"].width as usize;
        NicMaster {
            nic,
            seed,
            bb,
            words: p["wdata"].words,
            p,
            todo: VecDeque::new(),
            aw_hold: None,
            aw_first: None,
            w_list: VecDeque::new(),
            w_beat: 0,
            w_hold: false,
            out_b: VecDeque::new(),
            open: 0,
            aw_pause: Pattern::never(),
            w_pause: Pattern::never(),
            b_pause: Pattern::never(),
            max_open: 8,
            w_lead: false,
            drv: (false, false, false),
            grants: Vec::new(),
            w_beats: 0,
            bs: 0,
        }
    }

    pub fn idle(&self) -> bool {
        self.todo.is_empty()
            && self.aw_hold.is_none()
            && self.w_list.is_empty()
            && self.out_b.is_empty()
    }

    pub fn drive(&mut self, m: &mut Model) {
        let (aw_p, w_p, b_p) = (
            self.aw_pause.next(),
            self.w_pause.next(),
            self.b_pause.next(),
        );
        let p = &self.p;
        if self.aw_hold.is_none() && !aw_p && self.open < self.max_open {
            if let Some(b) = self.todo.pop_front() {
                m.set(p["awid"], b.id);
                m.set(p["awaddr"], b.addr);
                m.set(p["awlen"], b.beats as u64 - 1);
                m.set(p["awsize"], self.bb.trailing_zeros() as u64);
                m.set(p["awburst"], 1);
                m.set(p["awlock"], 0);
                m.set(p["awcache"], b.cache);
                m.set(p["awprot"], b.prot);
                self.open += 1;
                self.w_list.push_back(b.clone());
                self.aw_hold = Some(b);
                self.aw_first = None;
            }
        }
        let awv = self.aw_hold.is_some();
        m.set(p["awvalid"], awv as u64);
        if !self.w_hold && !w_p {
            if let Some(b) = self.w_list.front() {
                if b.aw_done.get() || self.w_lead {
                    let k = self.w_beat;
                    let lo = k as usize * self.bb;
                    let mut words = vec![0u64; self.words];
                    for (i, byte) in b.data[lo..lo + self.bb].iter().enumerate() {
                        words[i / 8] |= (*byte as u64) << (8 * (i % 8));
                    }
                    m.set_wide(p["wdata"], &words);
                    m.set(p["wstrb"], b.strb[k as usize]);
                    let last = k + 1 == b.beats;
                    let last = last ^ (b.bad_wlast_beat == Some(k));
                    m.set(p["wlast"], last as u64);
                    self.w_hold = true;
                }
            }
        }
        m.set(p["wvalid"], self.w_hold as u64);
        m.set(p["bready"], !b_p as u64);
        self.drv = (awv, self.w_hold, !b_p);
    }

    pub fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        let (seed, nic) = (self.seed, self.nic);
        let p = &self.p;
        if self.drv.0 {
            let first = *self.aw_first.get_or_insert(cycle);
            if m.get(p["awready"]) == 1 {
                let b = self.aw_hold.take().unwrap();
                b.aw_done.set(true);
                self.grants.push(Grant {
                    nic,
                    first,
                    cycle,
                    beats: b.beats,
                });
                self.out_b.push_back(b);
            }
        }
        if self.drv.1 && m.get(p["wready"]) == 1 {
            self.w_beats += 1;
            self.w_hold = false;
            let b = self.w_list.front().unwrap();
            if self.w_beat + 1 == b.beats {
                self.w_list.pop_front();
                self.w_beat = 0;
            } else {
                self.w_beat += 1;
            }
        }
        if self.drv.2 && m.get(p["bvalid"]) == 1 {
            let (id, resp) = (m.get(p["bid"]), m.get(p["bresp"]) as u8);
            let Some(i) = self.out_b.iter().position(|b| b.id == id) else {
                panic!(
                    "SEED={seed} cycle {cycle}: s{nic}_axi B with bid {id:#x}: NIC {nic} has no \
                     open burst with that id (open ids {:?})",
                    self.out_b.iter().map(|b| b.id).collect::<Vec<_>>()
                );
            };
            let b = self.out_b.remove(i).unwrap();
            assert_eq!(
                resp, b.resp,
                "SEED={seed} cycle {cycle}: s{nic}_axi bresp for the burst at {:#x} (id {id:#x}): \
                 expected {}, got {resp}",
                b.addr, b.resp
            );
            self.open -= 1;
            self.bs += 1;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// NIC side: AXI4-Lite register subordinate
// ---------------------------------------------------------------------------------

/// One access a NIC's register port saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegAccess {
    pub write: bool,
    pub offset: u64,
    pub data: u32,
    pub strb: u64,
    pub prot: u64,
}

/// A NIC's register window (drives `m{i}_axil_*`'s subordinate side): a
/// sparse word memory whose unwritten words read `default_word(nic, offset)`;
/// the last word of the window answers SLVERR (and is not written). Takes
/// AW and W independently, one write and one read at a time, each with
/// its own pause patterns; logs every access.
pub struct AxilSub {
    pub nic: usize,
    window: u64,
    p: HashMap<&'static str, Port>,
    pub mem: HashMap<u64, u32>,
    aw: Option<(u64, u64)>,
    w: Option<(u32, u64)>,
    b: Option<u8>,
    b_hold: bool,
    r: Option<(u32, u8)>,
    r_hold: bool,
    pub pause: Pattern,
    pub resp_pause: Pattern,
    drv: (bool, bool, bool, bool),
    pub log: Vec<RegAccess>,
}

/// What an unwritten register word of NIC `nic` reads.
pub fn default_word(nic: usize, offset: u64) -> u32 {
    0xa000_0000 | (nic as u32) << 24 | (offset as u32 & 0xff_fffc)
}

const L_FIELDS: [&str; 19] = [
    "awaddr", "awprot", "awvalid", "awready", "wdata", "wstrb", "wvalid", "wready", "bresp",
    "bvalid", "bready", "araddr", "arprot", "arvalid", "arready", "rdata", "rresp", "rvalid",
    "rready",
];

impl AxilSub {
    pub fn new(m: &Model, nic: usize, window: u64) -> Self {
        AxilSub {
            nic,
            window,
            p: L_FIELDS
                .iter()
                .map(|f| (*f, m.port(&format!("m{nic}_axil_{f}")).unwrap()))
                .collect(),
            mem: HashMap::new(),
            aw: None,
            w: None,
            b: None,
            b_hold: false,
            r: None,
            r_hold: false,
            pause: Pattern::never(),
            resp_pause: Pattern::never(),
            drv: (false, false, false, false),
            log: Vec::new(),
        }
    }

    /// The offset that answers SLVERR.
    pub fn error_offset(window: u64) -> u64 {
        window - 4
    }

    pub fn drive(&mut self, m: &mut Model) {
        let p = &self.p;
        let (pa, pw, pr) = (self.pause.next(), self.pause.next(), self.pause.next());
        let (rb, rr) = (self.resp_pause.next(), self.resp_pause.next());
        if !self.b_hold {
            if let (Some(resp), false) = (self.b, rb) {
                m.set(p["bresp"], resp as u64);
                self.b_hold = true;
            }
        }
        m.set(p["bvalid"], self.b_hold as u64);
        if !self.r_hold {
            if let (Some((data, resp)), false) = (self.r, rr) {
                m.set(p["rdata"], data as u64);
                m.set(p["rresp"], resp as u64);
                self.r_hold = true;
            }
        }
        m.set(p["rvalid"], self.r_hold as u64);
        let awr = self.aw.is_none() && self.b.is_none() && !pa;
        let wr = self.w.is_none() && self.b.is_none() && !pw;
        let arr = self.r.is_none() && !pr;
        m.set(p["awready"], awr as u64);
        m.set(p["wready"], wr as u64);
        m.set(p["arready"], arr as u64);
        self.drv = (awr, wr, arr, false);
    }

    pub fn sample(&mut self, m: &Model, _cycle: u64) -> Result<(), ProtocolError> {
        let p = &self.p;
        let err = Self::error_offset(self.window);
        if self.drv.0 && m.get(p["awvalid"]) == 1 {
            self.aw = Some((m.get(p["awaddr"]), m.get(p["awprot"])));
        }
        if self.drv.1 && m.get(p["wvalid"]) == 1 {
            self.w = Some((m.get(p["wdata"]) as u32, m.get(p["wstrb"])));
        }
        if let (Some((a, prot)), Some((d, s)), None) = (self.aw, self.w, self.b) {
            let off = a & !3;
            self.log.push(RegAccess {
                write: true,
                offset: a,
                data: d,
                strb: s,
                prot,
            });
            if off == err {
                self.b = Some(sim::axi::RESP_SLVERR);
            } else {
                let old = *self.mem.get(&off).unwrap_or(&default_word(self.nic, off));
                let mask = (0..4).fold(0u32, |acc, i| {
                    acc | if s >> i & 1 == 1 { 0xff << (8 * i) } else { 0 }
                });
                self.mem.insert(off, (old & !mask) | (d & mask));
                self.b = Some(RESP_OKAY);
            }
            self.aw = None;
            self.w = None;
        }
        if self.b_hold && m.get(p["bready"]) == 1 {
            self.b_hold = false;
            self.b = None;
        }
        if self.drv.2 && m.get(p["arvalid"]) == 1 {
            let a = m.get(p["araddr"]);
            let off = a & !3;
            self.log.push(RegAccess {
                write: false,
                offset: a,
                data: 0,
                strb: 0,
                prot: m.get(p["arprot"]),
            });
            self.r = Some(if off == err {
                (0, sim::axi::RESP_SLVERR)
            } else {
                (
                    *self.mem.get(&off).unwrap_or(&default_word(self.nic, off)),
                    RESP_OKAY,
                )
            });
        }
        if self.r_hold && m.get(p["rready"]) == 1 {
            self.r_hold = false;
            self.r = None;
        }
        Ok(())
    }

    pub fn idle(&self) -> bool {
        self.aw.is_none() && self.w.is_none() && self.b.is_none() && self.r.is_none()
    }
}

impl Bfm for NicMaster {
    fn drive(&mut self, m: &mut Model) {
        NicMaster::drive(self, m)
    }
    fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        NicMaster::sample(self, m, cycle)
    }
}

impl Bfm for AxilSub {
    fn drive(&mut self, m: &mut Model) {
        AxilSub::drive(self, m)
    }
    fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        AxilSub::sample(self, m, cycle)
    }
}

// ---------------------------------------------------------------------------------
// The bench
// ---------------------------------------------------------------------------------

pub type BurstMap = Rc<RefCell<HashMap<u64, Rc<Burst>>>>;

pub struct Bench {
    pub p: HostArbiterParams,
    pub seed: u64,
    pub m: Model,
    pub bb: usize,
    pub nics: Vec<NicMaster>,
    pub gens: Vec<BurstGen>,
    pub host: AxiWriteSlave,
    pub chk_m: AxiChecker,
    /// Checker of each NIC's write port (`None`: switched off for a test
    /// that breaks the protocol on purpose).
    pub chk_s: Vec<Option<AxiChecker>>,
    pub axil: AxilMaster,
    pub chk_axil: AxilChecker,
    pub subs: Vec<AxilSub>,
    pub chk_sub: Vec<AxilChecker>,
    pub mem: SharedMemory,
    pub bursts: BurstMap,
    pub irq_in: Port,
    pub irq: Port,
    pub wlast_error: Port,
    pub bid_error: Port,
    m_aw: HashMap<&'static str, Port>,
    /// m_axi W handshakes: (wvalid, wready, wlast) ports; AW handshakes and
    /// W bursts finished so far (W must never lead AW on the host side).
    m_w: (Port, Port, Port),
    m_aws: u64,
    m_wbursts: u64,
}

impl Bench {
    /// Build (or reuse) and load the arbiter, reset it, attach every model.
    pub fn new(p: &HostArbiterParams, test: &str, seed: u64) -> Bench {
        let mut design = hdl::Design::default();
        design
            .add(&elaborate(p).unwrap_or_else(|e| panic!("elaborate: {e}")))
            .unwrap();
        let mut m = testbench::dut::load(&design, &p.name, test).unwrap_or_else(|e| panic!("{e}"));
        let rst = m.port("rst").unwrap();
        m.set(rst, 1);
        m.step_n(2);
        m.set(rst, 0);
        let mem = hostmem::shared();
        let bursts: BurstMap = Rc::new(RefCell::new(HashMap::new()));
        let mut host = AxiWriteSlave::new(&m, "m_axi", mem.clone()).unwrap();
        let map = bursts.clone();
        host.set_writer_for(move |b| {
            let map = map.borrow();
            let x = map.get(&b.addr).unwrap_or_else(|| {
                panic!(
                    "SEED={seed} cycle {}: m_axi burst at {:#x} that no NIC sent",
                    b.cycle, b.addr
                )
            });
            let want = (x.nic as u64) << S_ID_BITS | x.id;
            assert_eq!(
                (b.id, b.len + 1),
                (want, x.beats),
                "SEED={seed} cycle {}: m_axi (awid, beats) of NIC {}'s burst at {:#x} (its id {:#x})",
                b.cycle,
                x.nic,
                b.addr,
                x.id
            );
            x.writer()
        });
        let map = bursts.clone();
        host.set_resp_for(move |b| map.borrow()[&b.addr].resp);
        let n = p.nics as usize;
        let bb = m.port("m_axi_wstrb").unwrap().width as usize;
        let m_aw = [
            "awvalid", "awready", "awaddr", "awlen", "awsize", "awburst", "awlock", "awcache",
            "awprot",
        ]
        .iter()
        .map(|f| (*f, m.port(&format!("m_axi_{f}")).unwrap()))
        .collect();
        let m_w = (
            m.port("m_axi_wvalid").unwrap(),
            m.port("m_axi_wready").unwrap(),
            m.port("m_axi_wlast").unwrap(),
        );
        Bench {
            m_w,
            m_aws: 0,
            m_wbursts: 0,
            nics: (0..n).map(|i| NicMaster::new(&m, i, seed)).collect(),
            gens: (0..n).map(|i| BurstGen::new(i, bb, p.addr_bits)).collect(),
            chk_m: AxiChecker::new(&m, "m_axi").unwrap(),
            chk_s: (0..n)
                .map(|i| Some(AxiChecker::new(&m, &format!("s{i}_axi")).unwrap()))
                .collect(),
            axil: AxilMaster::new(&m, "s_axil").unwrap(),
            chk_axil: AxilChecker::new(&m, "s_axil").unwrap(),
            subs: (0..n).map(|i| AxilSub::new(&m, i, p.window())).collect(),
            chk_sub: (0..n)
                .map(|i| AxilChecker::new(&m, &format!("m{i}_axil")).unwrap())
                .collect(),
            irq_in: m.port("irq_in").unwrap(),
            irq: m.port("irq").unwrap(),
            wlast_error: m.port("wlast_error").unwrap(),
            bid_error: m.port("bid_error").unwrap(),
            host,
            mem,
            bursts,
            m_aw,
            bb,
            m,
            seed,
            p: p.clone(),
        }
    }

    /// Queue `b` at its NIC.
    pub fn send(&mut self, b: Burst) {
        let b = Rc::new(b);
        self.bursts.borrow_mut().insert(b.addr, b.clone());
        self.nics[b.nic].todo.push_back(b);
    }

    /// One cycle of every model and checker; also checks that the host saw
    /// each AW's attributes as the NIC sent them.
    pub fn step(&mut self) -> u64 {
        let mut bfms: Vec<&mut dyn Bfm> = Vec::new();
        bfms.extend(self.nics.iter_mut().map(|x| x as &mut dyn Bfm));
        bfms.push(&mut self.host);
        bfms.push(&mut self.chk_m);
        bfms.extend(self.chk_s.iter_mut().flatten().map(|x| x as &mut dyn Bfm));
        bfms.push(&mut self.axil);
        bfms.push(&mut self.chk_axil);
        bfms.extend(self.subs.iter_mut().map(|x| x as &mut dyn Bfm));
        bfms.extend(self.chk_sub.iter_mut().map(|x| x as &mut dyn Bfm));
        let seed = self.seed;
        let cycle = step_all(&mut self.m, &mut bfms).unwrap_or_else(|e| panic!("SEED={seed}: {e}"));
        let (wv, wr, wl) = self.m_w;
        if self.m.get(wv) == 1 && self.m.get(wr) == 1 {
            assert!(
                self.m_wbursts < self.m_aws,
                "SEED={seed} cycle {cycle}: m_axi W beat of burst {} before its AW ({} AWs so far)",
                self.m_wbursts,
                self.m_aws
            );
            self.m_wbursts += self.m.get(wl);
        }
        let g = |f: &str| self.m.get(self.m_aw[f]);
        if g("awvalid") == 1 && g("awready") == 1 {
            self.m_aws += 1;
            let map = self.bursts.borrow();
            let b = &map[&g("awaddr")];
            let got = [
                g("awsize"),
                g("awburst"),
                g("awlock"),
                g("awcache"),
                g("awprot"),
            ];
            let want = [self.bb.trailing_zeros() as u64, 1, 0, b.cache, b.prot];
            assert_eq!(
                got, want,
                "SEED={seed} cycle {cycle}: m_axi (awsize, awburst, awlock, awcache, awprot) of \
                 NIC {}'s burst at {:#x}",
                b.nic, b.addr
            );
        }
        cycle
    }

    /// Step until every NIC, the host and the register port are idle;
    /// panics after `limit` cycles without a W beat or B anywhere.
    pub fn drain(&mut self, limit: u64) {
        let mut last = (0u64, 0u64, self.m.cycle());
        while !(self.nics.iter().all(NicMaster::idle) && self.host.idle() && self.axil.idle()) {
            let c = self.step();
            let progress = (
                self.nics.iter().map(|x| x.w_beats).sum::<u64>(),
                self.nics.iter().map(|x| x.bs).sum::<u64>(),
            );
            if progress != (last.0, last.1) {
                last = (progress.0, progress.1, c);
            }
            assert!(
                c - last.2 < limit,
                "SEED={}: no W beat or B for {limit} cycles at cycle {c}; NIC todo/open: {:?}, host {:?}",
                self.seed,
                self.nics
                    .iter()
                    .map(|x| (x.todo.len(), x.open))
                    .collect::<Vec<_>>(),
                self.host
            );
        }
    }

    /// Every checker's end-of-test rule: nothing outstanding.
    pub fn finish_checkers(&self) {
        let seed = self.seed;
        let all = std::iter::once(&self.chk_m).chain(self.chk_s.iter().flatten());
        for c in all {
            c.finish().unwrap_or_else(|e| panic!("SEED={seed}: {e}"));
        }
        for c in std::iter::once(&self.chk_axil).chain(&self.chk_sub) {
            c.finish().unwrap_or_else(|e| panic!("SEED={seed}: {e}"));
        }
    }

    /// Every byte of every burst: a strobed byte of a burst answered OKAY
    /// is written once, by that burst, with its data; every other byte of
    /// its bus words is untouched; nothing else was written.
    pub fn check_memory(&self) -> u64 {
        let mem = self.mem.borrow();
        let mut placed = 0u64;
        for b in self.bursts.borrow().values() {
            let got = mem.read(b.word_addr, b.data.len());
            for (i, byte) in got.iter().enumerate() {
                let a = b.word_addr + i as u64;
                let strobed = b.strb[i / self.bb] >> (i % self.bb) & 1 == 1;
                let rec = mem.record(a);
                let ctx = || {
                    format!(
                        "SEED={}: NIC {} burst {} (id {:#x}, awaddr {:#x}, {} beats, resp {}), byte at {a:#x}",
                        self.seed, b.nic, b.seq, b.id, b.addr, b.beats, b.resp
                    )
                };
                if strobed && b.resp == RESP_OKAY {
                    placed += 1;
                    match rec {
                        Some(r) if r.writer == b.writer() && r.count == 1 => {}
                        other => panic!("{}: expected written once by it, got {other:?}", ctx()),
                    }
                    assert_eq!(
                        *byte,
                        b.data[i],
                        "{}: expected {:#04x}, got {byte:#04x}",
                        ctx(),
                        b.data[i]
                    );
                } else {
                    assert!(
                        rec.is_none(),
                        "{}: not strobed (or errored) but written: {rec:?}",
                        ctx()
                    );
                }
            }
        }
        assert_eq!(
            mem.tracked_writes(),
            placed,
            "SEED={}: bytes the host wrote vs strobed bytes of OKAY bursts",
            self.seed
        );
        placed
    }

    /// Every AW handshake of every NIC, in cycle order.
    pub fn grants(&self) -> Vec<Grant> {
        let mut g: Vec<Grant> = self.nics.iter().flat_map(|x| x.grants.clone()).collect();
        g.sort_by_key(|x| x.cycle);
        g
    }
}

/// For each grant: beats granted to other NICs from its first valid cycle
/// to its handshake, both included. Returns (worst, the grant).
pub fn worst_others(grants: &[Grant]) -> (u64, Option<Grant>) {
    let mut prefix = vec![0u64];
    for g in grants {
        prefix.push(prefix.last().unwrap() + g.beats as u64);
    }
    let mut worst = (0, None);
    for g in grants {
        let lo = grants.partition_point(|x| x.cycle < g.first);
        let hi = grants.partition_point(|x| x.cycle <= g.cycle);
        let others = prefix[hi] - prefix[lo] - g.beats as u64;
        if others > worst.0 || worst.1.is_none() {
            worst = (others, Some(*g));
        }
    }
    worst
}

/// What a saturation run measured.
#[derive(Clone, Debug)]
pub struct Saturation {
    pub cycles: u64,
    /// W beats each NIC delivered in the window.
    pub beats: Vec<u64>,
    /// Longest AW wait (first valid cycle to handshake) of each NIC, cycles.
    pub worst_wait: Vec<u64>,
    /// Most beats granted to others while one AW waited.
    pub worst_others: u64,
}

impl Saturation {
    pub fn share(&self, i: usize) -> f64 {
        self.beats[i] as f64 / self.beats.iter().sum::<u64>() as f64
    }
}

/// Every NIC keeps `beats`-beat bursts (aligned, full strobes) pending for
/// `cycles` cycles; then the traffic drains. Waits count AWs granted
/// inside the window.
pub fn saturate(b: &mut Bench, r: &mut StdRng, cycles: u64, beats: u32) -> Saturation {
    let n = b.nics.len();
    let start = b.m.cycle();
    let w0: Vec<u64> = b.nics.iter().map(|x| x.w_beats).collect();
    for _ in 0..cycles {
        for i in 0..n {
            while b.nics[i].todo.len() < 2 {
                let burst = b.gens[i].next(r, beats, false, 0.0);
                b.send(burst);
            }
        }
        b.step();
    }
    let end = b.m.cycle();
    let beats_done: Vec<u64> = b.nics.iter().zip(&w0).map(|(x, w)| x.w_beats - w).collect();
    b.drain(10_000);
    let grants: Vec<Grant> = b
        .grants()
        .into_iter()
        .filter(|g| g.cycle > start && g.cycle <= end)
        .collect();
    let mut worst_wait = vec![0; n];
    for g in &grants {
        worst_wait[g.nic] = worst_wait[g.nic].max(g.cycle - g.first);
    }
    Saturation {
        cycles,
        beats: beats_done,
        worst_wait,
        worst_others: worst_others(&grants).0,
    }
}
