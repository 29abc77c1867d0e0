//! AXI4 and AXI4-Lite bus functional models and protocol checkers.
//!
//! * [`AxiWriteSlave`]: the host side of a DUT's `m_axi_*` write channels (AW, W, B):
//!   applies writes with `wstrb` into a [`HostMemory`](crate::hostmem::HostMemory), tagging each byte with the
//!   [`Writer`] a hook picks for the burst.
//! * [`AxiReadSlave`]: the host side of `m_axi_*` AR and R, reading from the memory.
//! * [`AxilMaster`]: drives a DUT's `s_axil_*` register port from a queue of reads
//!   and writes and returns the results with their response codes.
//! * [`AxiChecker`], [`AxilChecker`]: passive protocol checkers.
//!
//! Same calling convention as [`crate::axis`]: `drive`, `Model::step`, `sample`.
//! Latencies and patterns are counted in `drive` calls, i.e. cycles.

use std::collections::VecDeque;

use crate::axis::{byte_of, bytes_to_words, hex, impl_bfm, opt, perr, req, Channel, Need};
pub use crate::axis::{step_all, Bfm};
pub use crate::axis::{ProtocolError, Rule};
use crate::hostmem::{SharedMemory, Writer};
use crate::pattern::Pattern;
use crate::{Model, Port, SimError};

/// AXI burst types (AxBURST).
pub const BURST_FIXED: u8 = 0;
pub const BURST_INCR: u8 = 1;
pub const BURST_WRAP: u8 = 2;

/// Response codes (xRESP).
pub const RESP_OKAY: u8 = 0;
pub const RESP_EXOKAY: u8 = 1;
pub const RESP_SLVERR: u8 = 2;
pub const RESP_DECERR: u8 = 3;

/// One AW or AR request as accepted at a handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxiBurst {
    pub id: u64,
    pub addr: u64,
    /// AxLEN: beats - 1.
    pub len: u32,
    /// AxSIZE: log2(bytes per beat).
    pub size: u32,
    pub burst: u8,
    /// AxUSER (low 64 bits), 0 when absent.
    pub user: u64,
    /// Cycle of the address handshake.
    pub cycle: u64,
    /// Running number of accepted requests on this channel, from 0.
    pub index: u64,
}

impl AxiBurst {
    pub fn beats(&self) -> u32 {
        self.len + 1
    }

    /// Address of beat `k` (AXI4 A3.4.1).
    pub fn beat_addr(&self, k: u32) -> u64 {
        let n = 1u64 << self.size;
        let aligned = self.addr & !(n - 1);
        match self.burst {
            BURST_FIXED => self.addr,
            BURST_WRAP => {
                let total = n * self.beats() as u64;
                let base = self.addr & !(total - 1);
                base + ((self.addr - base) + k as u64 * n) % total
            }
            _ => {
                if k == 0 {
                    self.addr
                } else {
                    aligned.wrapping_add(k as u64 * n)
                }
            }
        }
    }

    /// Byte lanes `[lo, hi]` of beat `k` on a `bus_bytes`-wide bus.
    pub fn lanes(&self, k: u32, bus_bytes: usize) -> (usize, usize) {
        let a = self.beat_addr(k);
        let n = 1u64 << self.size;
        let bus = bus_bytes as u64;
        let lo = (a % bus) as usize;
        let hi = ((a & !(n - 1)) % bus + n - 1) as usize;
        (lo, hi)
    }

    /// Total bytes the burst spans from its (possibly unaligned) start address.
    pub fn end_addr(&self) -> u64 {
        let n = 1u64 << self.size;
        (self.addr & !(n - 1)).wrapping_add(n * self.beats() as u64)
    }
}

/// The address-channel ports of AW or AR.
#[derive(Clone, Debug)]
struct AxPorts {
    ch: &'static str, // "aw" / "ar"
    id: Option<Port>,
    addr: Port,
    len: Option<Port>,
    size: Option<Port>,
    burst: Option<Port>,
    user: Option<Port>,
}

impl AxPorts {
    fn new(
        m: &Model,
        what: &str,
        prefix: &str,
        ch: &'static str,
        need: Need,
    ) -> Result<Self, SimError> {
        let s = |sig: &str| format!("{ch}{sig}");
        Ok(AxPorts {
            ch,
            id: opt(m, what, prefix, &s("id"), need)?,
            addr: req(m, what, prefix, &s("addr"), need)?,
            len: opt(m, what, prefix, &s("len"), need)?,
            size: opt(m, what, prefix, &s("size"), need)?,
            burst: opt(m, what, prefix, &s("burst"), need)?,
            user: opt(m, what, prefix, &s("user"), need)?,
        })
    }

    fn read(&self, m: &Model, bus_bytes: usize, cycle: u64, index: u64) -> AxiBurst {
        let g = |p: Option<Port>, d: u64| p.map_or(d, |p| m.get(p));
        AxiBurst {
            id: g(self.id, 0),
            addr: m.get(self.addr),
            len: g(self.len, 0) as u32,
            size: g(self.size, bus_bytes.trailing_zeros() as u64) as u32,
            burst: g(self.burst, BURST_INCR as u64) as u8,
            user: g(self.user, 0),
            cycle,
            index,
        }
    }

    /// The AXI4 rules an address request can break by itself.
    fn check(&self, b: &AxiBurst, bus_bytes: usize, bus: &str) -> Result<(), (Rule, String)> {
        let ch = self.ch;
        if (1u64 << b.size.min(63)) > bus_bytes as u64 {
            return Err((
                Rule::SizeTooLarge,
                format!(
                    "{bus}_{ch}size {} ({} bytes) on a {bus_bytes}-byte bus",
                    b.size,
                    1u64 << b.size.min(63)
                ),
            ));
        }
        match b.burst {
            BURST_FIXED => {}
            BURST_WRAP => {
                if ![1, 3, 7, 15].contains(&b.len) {
                    return Err((
                        Rule::BadBurst,
                        format!(
                            "WRAP with {bus}_{ch}len {} ({} beats); must be 2, 4, 8 or 16 beats",
                            b.len,
                            b.beats()
                        ),
                    ));
                }
                if !b.addr.is_multiple_of(1u64 << b.size) {
                    return Err((
                        Rule::BadBurst,
                        format!(
                            "WRAP at {bus}_{ch}addr {:#x} not aligned to {}-byte transfers",
                            b.addr,
                            1u64 << b.size
                        ),
                    ));
                }
            }
            BURST_INCR => {
                let last = b.end_addr().wrapping_sub(1);
                if b.addr >> 12 != last >> 12 || last < b.addr {
                    return Err((
                        Rule::Crosses4k,
                        format!(
                            "{bus}_{ch}addr {:#x}, {ch}len {}, {ch}size {}: bytes {:#x}..={last:#x} cross {:#x}",
                            b.addr,
                            b.len,
                            b.size,
                            b.addr,
                            (b.addr | 0xfff).wrapping_add(1)
                        ),
                    ));
                }
            }
            other => {
                return Err((
                    Rule::BadBurst,
                    format!("{bus}_{ch}burst {other} is reserved"),
                ))
            }
        }
        Ok(())
    }
}

fn get_bit(m: &Model, p: Port) -> bool {
    m.get(p) & 1 == 1
}

// ---------------------------------------------------------------------------------
// AXI4 write subordinate
// ---------------------------------------------------------------------------------

type WriterFn = Box<dyn FnMut(&AxiBurst) -> Writer>;
type RespFn = Box<dyn FnMut(&AxiBurst) -> u8>;

/// A completed write burst (last W beat taken), for the test's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteDone {
    pub burst: AxiBurst,
    pub writer: Writer,
    /// Cycle of the last W handshake.
    pub data_cycle: u64,
    /// Bytes written (strobes set).
    pub bytes: u64,
}

/// The host memory side of a DUT's AXI4 write manager port (`m_axi_aw*`, `w*`, `b*`).
///
/// Required ports: `awaddr awvalid awready wdata wvalid wready bvalid bready`;
/// optional: `awid awlen awsize awburst awuser wstrb wlast bid bresp` (defaults: id 0,
/// single beat, full bus size, INCR, all strobes, no last check). Behaviour:
///
/// * accepts up to `max_outstanding` AWs (default 8) whose data is not complete;
///   `awready` also follows the AW pause pattern;
/// * accepts W beats only for an already accepted AW (AXI4 lets a subordinate wait
///   for AW), in AW order; `wready` follows the W pause pattern;
/// * writes each strobed byte into the memory, tagged with the burst's [`Writer`];
/// * after the last W beat, the B response (the AW's id, `bresp` from the hook,
///   default OKAY) becomes valid `b_latency` cycles later at the earliest (0 = the
///   next cycle), in completion order, subject to the B pause pattern.
///
/// `sample` returns an error on AXI4 rules it cannot serve: awsize wider than the bus,
/// illegal burst, INCR crossing 4 KiB, `wlast` not on beat `awlen`, strobes outside the
/// beat's lanes.
pub struct AxiWriteSlave {
    prefix: String,
    mem: SharedMemory,
    bus_bytes: usize,
    aw: AxPorts,
    awvalid: Port,
    awready: Port,
    wdata: Port,
    wstrb: Option<Port>,
    wlast: Option<Port>,
    wvalid: Port,
    wready: Port,
    bid: Option<Port>,
    bresp: Option<Port>,
    bvalid: Port,
    bready: Port,
    aw_pause: Pattern,
    w_pause: Pattern,
    b_pause: Pattern,
    b_latency: u64,
    max_outstanding: usize,
    writer_for: WriterFn,
    resp_for: RespFn,
    /// Accepted AWs whose data is incomplete: (burst, writer, resp, beats done, bytes).
    pending: VecDeque<(AxiBurst, Writer, u8, u32, u64)>,
    /// Responses to give: (id, resp, cycles still to wait).
    b_queue: VecDeque<(u64, u8, u64)>,
    aw_rdy: bool,
    w_rdy: bool,
    b_holding: bool,
    aw_count: u64,
    done: Vec<WriteDone>,
    responses: u64,
}

impl std::fmt::Debug for AxiWriteSlave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxiWriteSlave")
            .field("prefix", &self.prefix)
            .field("bus_bytes", &self.bus_bytes)
            .field("pending", &self.pending.len())
            .field("b_queue", &self.b_queue.len())
            .finish()
    }
}

impl AxiWriteSlave {
    pub fn new(m: &Model, prefix: &str, mem: SharedMemory) -> Result<Self, SimError> {
        const W: &str = "AXI4 write subordinate";
        let wdata = req(m, W, prefix, "wdata", Need::Read)?;
        let bus_bytes = crate::axis::data_bytes(m, W, prefix, "wdata", wdata)?;
        let wstrb = opt(m, W, prefix, "wstrb", Need::Read)?;
        if let Some(s) = wstrb {
            crate::axis::expect_width(m, W, prefix, "wstrb", s, bus_bytes as u32)?;
        }
        Ok(AxiWriteSlave {
            prefix: prefix.to_string(),
            mem,
            bus_bytes,
            aw: AxPorts::new(m, W, prefix, "aw", Need::Read)?,
            awvalid: req(m, W, prefix, "awvalid", Need::Read)?,
            awready: req(m, W, prefix, "awready", Need::Drive)?,
            wdata,
            wstrb,
            wlast: opt(m, W, prefix, "wlast", Need::Read)?,
            wvalid: req(m, W, prefix, "wvalid", Need::Read)?,
            wready: req(m, W, prefix, "wready", Need::Drive)?,
            bid: opt(m, W, prefix, "bid", Need::Drive)?,
            bresp: opt(m, W, prefix, "bresp", Need::Drive)?,
            bvalid: req(m, W, prefix, "bvalid", Need::Drive)?,
            bready: req(m, W, prefix, "bready", Need::Read)?,
            aw_pause: Pattern::never(),
            w_pause: Pattern::never(),
            b_pause: Pattern::never(),
            b_latency: 0,
            max_outstanding: 8,
            writer_for: Box::new(|b| Writer {
                source: 0,
                tag: b.id,
                seq: b.index,
            }),
            resp_for: Box::new(|_| RESP_OKAY),
            pending: VecDeque::new(),
            b_queue: VecDeque::new(),
            aw_rdy: false,
            w_rdy: false,
            b_holding: false,
            aw_count: 0,
            done: Vec::new(),
            responses: 0,
        })
    }

    /// Bytes per beat of the data bus.
    pub fn bus_bytes(&self) -> usize {
        self.bus_bytes
    }

    /// `true` = hold `awready` low this cycle.
    pub fn set_aw_pause(&mut self, p: Pattern) {
        self.aw_pause = p;
    }
    /// `true` = hold `wready` low this cycle.
    pub fn set_w_pause(&mut self, p: Pattern) {
        self.w_pause = p;
    }
    /// `true` = do not start a B response this cycle.
    pub fn set_b_pause(&mut self, p: Pattern) {
        self.b_pause = p;
    }
    /// Minimum cycles between the last W handshake and `bvalid` (0 = next cycle).
    pub fn set_b_latency(&mut self, cycles: u64) {
        self.b_latency = cycles;
    }
    /// AWs accepted but not yet fully written before `awready` goes low (>= 1).
    pub fn set_max_outstanding(&mut self, n: usize) {
        self.max_outstanding = n.max(1);
    }
    /// Who writes the bytes of a burst; called once at its AW handshake. Default:
    /// `Writer { source: 0, tag: awid, seq: burst index }`.
    pub fn set_writer_for(&mut self, f: impl FnMut(&AxiBurst) -> Writer + 'static) {
        self.writer_for = Box::new(f);
    }
    /// The `bresp` of a burst (called at its AW handshake; default OKAY). A burst
    /// with a non-OKAY response writes nothing.
    pub fn set_resp_for(&mut self, f: impl FnMut(&AxiBurst) -> u8 + 'static) {
        self.resp_for = Box::new(f);
    }

    /// Completed bursts so far, in completion order.
    pub fn writes(&self) -> &[WriteDone] {
        &self.done
    }
    /// B responses accepted by the DUT.
    pub fn responses(&self) -> u64 {
        self.responses
    }
    /// No burst in progress and no response owed.
    pub fn idle(&self) -> bool {
        self.pending.is_empty() && self.b_queue.is_empty()
    }

    pub fn drive(&mut self, m: &mut Model) {
        let aw_pause = self.aw_pause.next();
        let w_pause = self.w_pause.next();
        let b_pause = self.b_pause.next();
        self.aw_rdy = !aw_pause && self.pending.len() < self.max_outstanding;
        self.w_rdy = !w_pause && !self.pending.is_empty();
        m.set(self.awready, self.aw_rdy as u64);
        m.set(self.wready, self.w_rdy as u64);
        if !self.b_holding {
            match self.b_queue.front() {
                Some(&(id, resp, 0)) if !b_pause => {
                    if let Some(p) = self.bid {
                        m.set(p, id);
                    }
                    if let Some(p) = self.bresp {
                        m.set(p, resp as u64);
                    }
                    m.set(self.bvalid, 1);
                    self.b_holding = true;
                }
                _ => m.set(self.bvalid, 0),
            }
        }
        for (_, _, wait) in self.b_queue.iter_mut().skip(self.b_holding as usize) {
            *wait = wait.saturating_sub(1);
        }
    }

    pub fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        let bus = self.prefix.clone();
        // W before AW: a W beat only ever belongs to an AW accepted in an earlier cycle.
        if self.w_rdy && get_bit(m, self.wvalid) {
            let (b, writer, resp, k, bytes) = self
                .pending
                .front_mut()
                .expect("wready only with a pending AW");
            let last = *k == b.len;
            if let Some(l) = self.wlast {
                let wlast = get_bit(m, l);
                if wlast != last {
                    return Err(perr(
                        cycle,
                        &bus,
                        "W",
                        Rule::WlastMismatch,
                        format!(
                            "{bus}_wlast {} on beat {} of a burst with awlen {} (awid {:#x}, awaddr {:#x})",
                            wlast as u8, k, b.len, b.id, b.addr
                        ),
                    ));
                }
            }
            let (lo, hi) = b.lanes(*k, self.bus_bytes);
            let strb = self.wstrb.map(|s| m.get_wide(s).to_vec());
            let data = m.get_wide(self.wdata);
            let strobed = |i: usize| {
                strb.as_ref()
                    .is_none_or(|s| (s[i / 64] >> (i % 64)) & 1 == 1)
            };
            let base = b.beat_addr(*k) & !(self.bus_bytes as u64 - 1);
            if self.wstrb.is_some() {
                if let Some(i) = (0..self.bus_bytes).find(|&i| strobed(i) && (i < lo || i > hi)) {
                    return Err(perr(
                        cycle,
                        &bus,
                        "W",
                        Rule::StrobeOutsideLanes,
                        format!(
                            "{bus}_wstrb {} sets lane {i}; beat {k} at {:#x} may use lanes {lo}..={hi}",
                            hex(strb.as_ref().unwrap()),
                            b.beat_addr(*k)
                        ),
                    ));
                }
            }
            if *resp == RESP_OKAY {
                let mut mem = self.mem.borrow_mut();
                let mut i = lo;
                while i <= hi {
                    if !strobed(i) {
                        i += 1;
                        continue;
                    }
                    let start = i;
                    while i <= hi && strobed(i) {
                        i += 1;
                    }
                    let run: Vec<u8> = (start..i).map(|j| byte_of(data, j)).collect();
                    mem.write_by(base + start as u64, &run, *writer);
                    *bytes += run.len() as u64;
                }
            }
            *k += 1;
            if last {
                let (b, writer, resp, _, bytes) = self.pending.pop_front().unwrap();
                self.b_queue.push_back((b.id, resp, self.b_latency));
                self.done.push(WriteDone {
                    burst: b,
                    writer,
                    data_cycle: cycle,
                    bytes,
                });
            }
        }
        if self.aw_rdy && get_bit(m, self.awvalid) {
            let b = self.aw.read(m, self.bus_bytes, cycle, self.aw_count);
            self.aw
                .check(&b, self.bus_bytes, &bus)
                .map_err(|(rule, d)| perr(cycle, &bus, "AW", rule, d))?;
            self.aw_count += 1;
            let writer = (self.writer_for)(&b);
            let resp = (self.resp_for)(&b);
            self.pending.push_back((b, writer, resp, 0, 0));
        }
        if self.b_holding && get_bit(m, self.bready) {
            self.b_holding = false;
            self.b_queue.pop_front();
            self.responses += 1;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// AXI4 read subordinate
// ---------------------------------------------------------------------------------

/// The host memory side of a DUT's AXI4 read manager port (`m_axi_ar*`, `r*`).
///
/// Required: `araddr arvalid arready rdata rvalid rready`; optional `arid arlen arsize
/// arburst aruser rid rresp rlast`. Accepts up to `max_outstanding` ARs; each burst's
/// first beat is valid `latency` cycles after its AR at the earliest; bursts are
/// answered in order, not interleaved; all lanes of the bus-aligned word carry memory
/// bytes. The R pause pattern stops a new beat from starting.
pub struct AxiReadSlave {
    prefix: String,
    mem: SharedMemory,
    bus_bytes: usize,
    ar: AxPorts,
    arvalid: Port,
    arready: Port,
    rid: Option<Port>,
    rdata: Port,
    rresp: Option<Port>,
    rlast: Option<Port>,
    rvalid: Port,
    rready: Port,
    ar_pause: Pattern,
    r_pause: Pattern,
    latency: u64,
    max_outstanding: usize,
    /// (burst, beats sent, wait)
    queue: VecDeque<(AxiBurst, u32, u64)>,
    ar_rdy: bool,
    r_holding: bool,
    ar_count: u64,
    done: Vec<AxiBurst>,
}

impl std::fmt::Debug for AxiReadSlave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxiReadSlave")
            .field("prefix", &self.prefix)
            .field("queue", &self.queue.len())
            .finish()
    }
}

impl AxiReadSlave {
    pub fn new(m: &Model, prefix: &str, mem: SharedMemory) -> Result<Self, SimError> {
        const W: &str = "AXI4 read subordinate";
        let rdata = req(m, W, prefix, "rdata", Need::Drive)?;
        let bus_bytes = crate::axis::data_bytes(m, W, prefix, "rdata", rdata)?;
        Ok(AxiReadSlave {
            prefix: prefix.to_string(),
            mem,
            bus_bytes,
            ar: AxPorts::new(m, W, prefix, "ar", Need::Read)?,
            arvalid: req(m, W, prefix, "arvalid", Need::Read)?,
            arready: req(m, W, prefix, "arready", Need::Drive)?,
            rid: opt(m, W, prefix, "rid", Need::Drive)?,
            rdata,
            rresp: opt(m, W, prefix, "rresp", Need::Drive)?,
            rlast: opt(m, W, prefix, "rlast", Need::Drive)?,
            rvalid: req(m, W, prefix, "rvalid", Need::Drive)?,
            rready: req(m, W, prefix, "rready", Need::Read)?,
            ar_pause: Pattern::never(),
            r_pause: Pattern::never(),
            latency: 0,
            max_outstanding: 8,
            queue: VecDeque::new(),
            ar_rdy: false,
            r_holding: false,
            ar_count: 0,
            done: Vec::new(),
        })
    }

    pub fn set_ar_pause(&mut self, p: Pattern) {
        self.ar_pause = p;
    }
    pub fn set_r_pause(&mut self, p: Pattern) {
        self.r_pause = p;
    }
    /// Minimum cycles from the AR handshake to the first R beat (0 = next cycle).
    pub fn set_latency(&mut self, cycles: u64) {
        self.latency = cycles;
    }
    pub fn set_max_outstanding(&mut self, n: usize) {
        self.max_outstanding = n.max(1);
    }
    /// Bursts completely answered, in order.
    pub fn reads(&self) -> &[AxiBurst] {
        &self.done
    }
    pub fn idle(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn drive(&mut self, m: &mut Model) {
        let ar_pause = self.ar_pause.next();
        let r_pause = self.r_pause.next();
        self.ar_rdy = !ar_pause && self.queue.len() < self.max_outstanding;
        m.set(self.arready, self.ar_rdy as u64);
        if !self.r_holding {
            match self.queue.front() {
                Some(&(b, k, 0)) if !r_pause => {
                    let a = b.beat_addr(k) & !(self.bus_bytes as u64 - 1);
                    let bytes = self.mem.borrow().read(a, self.bus_bytes);
                    m.set_wide(self.rdata, &bytes_to_words(&bytes, self.rdata.words));
                    if let Some(p) = self.rid {
                        m.set(p, b.id);
                    }
                    if let Some(p) = self.rresp {
                        m.set(p, RESP_OKAY as u64);
                    }
                    if let Some(p) = self.rlast {
                        m.set(p, (k == b.len) as u64);
                    }
                    m.set(self.rvalid, 1);
                    self.r_holding = true;
                }
                _ => m.set(self.rvalid, 0),
            }
        }
        for (_, _, wait) in self.queue.iter_mut() {
            *wait = wait.saturating_sub(1);
        }
    }

    pub fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        let bus = self.prefix.clone();
        if self.r_holding && get_bit(m, self.rready) {
            self.r_holding = false;
            let (b, k, _) = self.queue.front_mut().expect("holding a beat");
            *k += 1;
            if *k == b.beats() {
                let b = *b;
                self.queue.pop_front();
                self.done.push(b);
            }
        }
        if self.ar_rdy && get_bit(m, self.arvalid) {
            let b = self.ar.read(m, self.bus_bytes, cycle, self.ar_count);
            self.ar
                .check(&b, self.bus_bytes, &bus)
                .map_err(|(rule, d)| perr(cycle, &bus, "AR", rule, d))?;
            self.ar_count += 1;
            self.queue.push_back((b, 0, self.latency));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// AXI4-Lite manager
// ---------------------------------------------------------------------------------

/// Kind of an AXI4-Lite operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxilKind {
    Read,
    Write,
}

/// A finished AXI4-Lite operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxilResult {
    /// As returned by [`AxilMaster::read`] / [`AxilMaster::write`].
    pub token: u64,
    pub kind: AxilKind,
    pub addr: u64,
    /// Read: the data returned; write: the data written.
    pub data: u64,
    /// `bresp` / `rresp` (0 = OKAY when the port is absent).
    pub resp: u8,
    /// First cycle the request was valid.
    pub start_cycle: u64,
    /// Cycle of the B or R handshake.
    pub end_cycle: u64,
}

#[derive(Clone, Copy, Debug)]
struct AxilOp {
    token: u64,
    kind: AxilKind,
    addr: u64,
    data: u64,
    strb: u64,
}

/// Drives a DUT's AXI4-Lite subordinate port (`s_axil_*`) from a queue of reads and
/// writes, one operation at a time, in order.
///
/// Write: `awvalid` and `wvalid` are raised together, each dropped after its own
/// handshake, then the B response completes the operation. Read: AR, then R. `bready`
/// and `rready` are high unless the ready pause pattern says otherwise; a B or R beat
/// with no operation waiting for it is an error. Either channel group may be absent
/// (a write-only or read-only port); `*prot`, `wstrb`, `bresp`, `rresp` are optional.
/// Data up to 64 bits.
pub struct AxilMaster {
    prefix: String,
    wr: Option<AxilWritePorts>,
    rd: Option<AxilReadPorts>,
    pause: Pattern,
    ready_pause: Pattern,
    queue: VecDeque<AxilOp>,
    /// Current operation: (op, address phase done, data phase done, start cycle).
    cur: Option<(AxilOp, bool, bool, Option<u64>)>,
    /// What was driven this cycle: (a valid, w valid, b/r ready).
    driven: (bool, bool, bool),
    results: VecDeque<AxilResult>,
    next_token: u64,
}

#[derive(Clone, Copy, Debug)]
struct AxilWritePorts {
    awaddr: Port,
    awprot: Option<Port>,
    awvalid: Port,
    awready: Port,
    wdata: Port,
    wstrb: Option<Port>,
    wvalid: Port,
    wready: Port,
    bresp: Option<Port>,
    bvalid: Port,
    bready: Port,
}

#[derive(Clone, Copy, Debug)]
struct AxilReadPorts {
    araddr: Port,
    arprot: Option<Port>,
    arvalid: Port,
    arready: Port,
    rdata: Port,
    rresp: Option<Port>,
    rvalid: Port,
    rready: Port,
}

impl std::fmt::Debug for AxilMaster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AxilMaster")
            .field("prefix", &self.prefix)
            .field("queued", &self.queue.len())
            .field("results", &self.results.len())
            .finish()
    }
}

impl AxilMaster {
    pub fn new(m: &Model, prefix: &str) -> Result<Self, SimError> {
        const W: &str = "AXI4-Lite manager";
        let wr = if m.port(&format!("{prefix}_awaddr")).is_ok() {
            Some(AxilWritePorts {
                awaddr: req(m, W, prefix, "awaddr", Need::Drive)?,
                awprot: opt(m, W, prefix, "awprot", Need::Drive)?,
                awvalid: req(m, W, prefix, "awvalid", Need::Drive)?,
                awready: req(m, W, prefix, "awready", Need::Read)?,
                wdata: req(m, W, prefix, "wdata", Need::Drive)?,
                wstrb: opt(m, W, prefix, "wstrb", Need::Drive)?,
                wvalid: req(m, W, prefix, "wvalid", Need::Drive)?,
                wready: req(m, W, prefix, "wready", Need::Read)?,
                bresp: opt(m, W, prefix, "bresp", Need::Read)?,
                bvalid: req(m, W, prefix, "bvalid", Need::Read)?,
                bready: req(m, W, prefix, "bready", Need::Drive)?,
            })
        } else {
            None
        };
        let rd = if m.port(&format!("{prefix}_araddr")).is_ok() || wr.is_none() {
            Some(AxilReadPorts {
                araddr: req(m, W, prefix, "araddr", Need::Drive)?,
                arprot: opt(m, W, prefix, "arprot", Need::Drive)?,
                arvalid: req(m, W, prefix, "arvalid", Need::Drive)?,
                arready: req(m, W, prefix, "arready", Need::Read)?,
                rdata: req(m, W, prefix, "rdata", Need::Read)?,
                rresp: opt(m, W, prefix, "rresp", Need::Read)?,
                rvalid: req(m, W, prefix, "rvalid", Need::Read)?,
                rready: req(m, W, prefix, "rready", Need::Drive)?,
            })
        } else {
            None
        };
        Ok(AxilMaster {
            prefix: prefix.to_string(),
            wr,
            rd,
            pause: Pattern::never(),
            ready_pause: Pattern::never(),
            queue: VecDeque::new(),
            cur: None,
            driven: (false, false, false),
            results: VecDeque::new(),
            next_token: 0,
        })
    }

    /// `true` = do not start the next operation this cycle.
    pub fn set_pause(&mut self, p: Pattern) {
        self.pause = p;
    }
    /// `true` = hold `bready`/`rready` low this cycle.
    pub fn set_ready_pause(&mut self, p: Pattern) {
        self.ready_pause = p;
    }

    fn push(&mut self, kind: AxilKind, addr: u64, data: u64, strb: u64) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        self.queue.push_back(AxilOp {
            token,
            kind,
            addr,
            data,
            strb,
        });
        token
    }

    /// Queue a full-width write; returns its token.
    ///
    /// # Panics
    /// If the port has no write channels.
    pub fn write(&mut self, addr: u64, data: u64) -> u64 {
        self.write_strb(addr, data, u64::MAX)
    }

    /// Queue a write with byte strobes (ignored when the port has no `wstrb`).
    pub fn write_strb(&mut self, addr: u64, data: u64, strb: u64) -> u64 {
        assert!(
            self.wr.is_some(),
            "AXI4-Lite manager `{}` has no write channels",
            self.prefix
        );
        self.push(AxilKind::Write, addr, data, strb)
    }

    /// Queue a read; returns its token.
    pub fn read(&mut self, addr: u64) -> u64 {
        assert!(
            self.rd.is_some(),
            "AXI4-Lite manager `{}` has no read channels",
            self.prefix
        );
        self.push(AxilKind::Read, addr, 0, 0)
    }

    /// The oldest result not yet taken.
    pub fn pop_result(&mut self) -> Option<AxilResult> {
        self.results.pop_front()
    }

    /// Take the result of `token` if it is done.
    pub fn take(&mut self, token: u64) -> Option<AxilResult> {
        let i = self.results.iter().position(|r| r.token == token)?;
        self.results.remove(i)
    }

    /// Nothing queued or in flight.
    pub fn idle(&self) -> bool {
        self.queue.is_empty() && self.cur.is_none()
    }

    fn mask(p: Port) -> u64 {
        if p.width >= 64 {
            u64::MAX
        } else {
            (1u64 << p.width) - 1
        }
    }

    pub fn drive(&mut self, m: &mut Model) {
        let paused = self.pause.next();
        let rdy = !self.ready_pause.next();
        if self.cur.is_none() && !paused {
            if let Some(op) = self.queue.pop_front() {
                self.cur = Some((op, false, false, None));
                match op.kind {
                    AxilKind::Write => {
                        let w = self.wr.expect("checked at queueing");
                        m.set(w.awaddr, op.addr & Self::mask(w.awaddr));
                        if let Some(p) = w.awprot {
                            m.set(p, 0);
                        }
                        m.set(w.wdata, op.data & Self::mask(w.wdata));
                        if let Some(p) = w.wstrb {
                            m.set(p, op.strb & Self::mask(p));
                        }
                    }
                    AxilKind::Read => {
                        let r = self.rd.expect("checked at queueing");
                        m.set(r.araddr, op.addr & Self::mask(r.araddr));
                        if let Some(p) = r.arprot {
                            m.set(p, 0);
                        }
                    }
                }
            }
        }
        let (a, w) = match self.cur {
            Some((op, a_done, w_done, _)) => match op.kind {
                AxilKind::Write => (!a_done, !w_done),
                AxilKind::Read => (!a_done, false),
            },
            None => (false, false),
        };
        let is_write = matches!(self.cur, Some((op, ..)) if op.kind == AxilKind::Write);
        if let Some(p) = self.wr {
            m.set(p.awvalid, (a && is_write) as u64);
            m.set(p.wvalid, w as u64);
            m.set(p.bready, rdy as u64);
        }
        if let Some(p) = self.rd {
            m.set(p.arvalid, (a && !is_write) as u64);
            m.set(p.rready, rdy as u64);
        }
        self.driven = (a, w, rdy);
    }

    pub fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        let (a, w, rdy) = self.driven;
        let bus = self.prefix.clone();
        if let Some((_, _, _, start)) = &mut self.cur {
            start.get_or_insert(cycle);
        }
        if let Some(p) = self.wr {
            let cur_write = match &mut self.cur {
                Some((op, a_done, w_done, _)) if op.kind == AxilKind::Write => {
                    if a && get_bit(m, p.awready) {
                        *a_done = true;
                    }
                    if w && get_bit(m, p.wready) {
                        *w_done = true;
                    }
                    true
                }
                _ => false,
            };
            if rdy && get_bit(m, p.bvalid) {
                let resp = p.bresp.map_or(0, |r| m.get(r)) as u8;
                match self.cur {
                    Some((op, true, true, start)) if cur_write => {
                        self.results.push_back(AxilResult {
                            token: op.token,
                            kind: op.kind,
                            addr: op.addr,
                            data: op.data,
                            resp,
                            start_cycle: start.unwrap_or(cycle),
                            end_cycle: cycle,
                        });
                        self.cur = None;
                    }
                    _ => {
                        return Err(perr(
                            cycle,
                            &bus,
                            "B",
                            Rule::NoOutstandingRequest,
                            format!(
                            "{bus}_bvalid 1 (bresp {resp}) with no write whose AW and W are done"
                        ),
                        ))
                    }
                }
            }
        }
        if let Some(p) = self.rd {
            let cur_read = match &mut self.cur {
                Some((op, a_done, _, _)) if op.kind == AxilKind::Read => {
                    if a && get_bit(m, p.arready) {
                        *a_done = true;
                    }
                    true
                }
                _ => false,
            };
            if rdy && get_bit(m, p.rvalid) {
                let resp = p.rresp.map_or(0, |r| m.get(r)) as u8;
                match self.cur {
                    Some((op, true, _, start)) if cur_read => {
                        self.results.push_back(AxilResult {
                            token: op.token,
                            kind: op.kind,
                            addr: op.addr,
                            data: m.get(p.rdata),
                            resp,
                            start_cycle: start.unwrap_or(cycle),
                            end_cycle: cycle,
                        });
                        self.cur = None;
                    }
                    _ => {
                        return Err(perr(
                            cycle,
                            &bus,
                            "R",
                            Rule::NoOutstandingRequest,
                            format!(
                                "{bus}_rvalid 1 (rdata {:#x}, rresp {resp}) with no read whose AR is done",
                                m.get(p.rdata)
                            ),
                        ))
                    }
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Checkers
// ---------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct WriteTx {
    id: u64,
    len: u32,
    addr: u64,
    data_done: bool,
}

#[derive(Clone, Copy, Debug)]
struct ReadTx {
    id: u64,
    len: u32,
    addr: u64,
    beats: u32,
}

/// The read half of an [`AxiChecker`].
#[derive(Debug)]
struct ReadChecks {
    ar: Channel,
    r: Channel,
    arp: AxPorts,
    rid: Option<Port>,
    rlast: Option<Port>,
}

/// Passive AXI4 protocol checker for one manager port (`m_axi_*`), write channels
/// and, when `<prefix>_arvalid` exists, read channels.
///
/// Rules: valid held and every payload signal of the channel (every other port named
/// `<prefix>_<ch>*`) stable from `valid && !ready` to the handshake; AxSIZE not wider
/// than the bus; AxBURST not reserved, WRAP lengths and alignment; INCR bursts inside
/// one 4 KiB page; `wlast` exactly on beat `awlen` (W bursts matched to AWs in order,
/// also when W runs ahead of AW); `bvalid` only for an id with an outstanding write
/// whose last W beat is done; `rvalid` only for an id with an outstanding read,
/// `rlast` exactly on beat `arlen`. `wlast` is required.
#[derive(Debug)]
pub struct AxiChecker {
    prefix: String,
    bus_bytes: usize,
    aw: Channel,
    w: Channel,
    b: Channel,
    awp: AxPorts,
    wlast: Port,
    bid: Option<Port>,
    read: Option<ReadChecks>,
    writes: Vec<WriteTx>,
    w_beats: u32,
    w_early: VecDeque<u32>,
    reads: Vec<ReadTx>,
    aw_count: u64,
    ar_count: u64,
    last_cycle: u64,
}

impl AxiChecker {
    pub fn new(m: &Model, prefix: &str) -> Result<Self, SimError> {
        const W: &str = "AXI4 checker";
        let wdata = req(m, W, prefix, "wdata", Need::Any)?;
        let bus_bytes = crate::axis::data_bytes(m, W, prefix, "wdata", wdata)?;
        let read = if m.port(&format!("{prefix}_arvalid")).is_ok() {
            Some(ReadChecks {
                ar: Channel::discover(m, prefix, "AR", "ar", false)?,
                r: Channel::discover(m, prefix, "R", "r", false)?,
                arp: AxPorts::new(m, W, prefix, "ar", Need::Any)?,
                rid: opt(m, W, prefix, "rid", Need::Any)?,
                rlast: opt(m, W, prefix, "rlast", Need::Any)?,
            })
        } else {
            None
        };
        Ok(AxiChecker {
            prefix: prefix.to_string(),
            bus_bytes,
            aw: Channel::discover(m, prefix, "AW", "aw", false)?,
            w: Channel::discover(m, prefix, "W", "w", false)?,
            b: Channel::discover(m, prefix, "B", "b", false)?,
            awp: AxPorts::new(m, W, prefix, "aw", Need::Any)?,
            wlast: req(m, W, prefix, "wlast", Need::Any)?,
            bid: opt(m, W, prefix, "bid", Need::Any)?,
            read,
            writes: Vec::new(),
            w_beats: 0,
            w_early: VecDeque::new(),
            reads: Vec::new(),
            aw_count: 0,
            ar_count: 0,
            last_cycle: 0,
        })
    }

    pub fn drive(&mut self, _m: &mut Model) {}

    pub fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        self.last_cycle = cycle;
        let bus = self.prefix.clone();
        let e = |ch, rule, d| perr(cycle, &bus, ch, rule, d);
        let aw = self.aw.check(m, cycle, &bus)?;
        let w = self.w.check(m, cycle, &bus)?;
        let b = self.b.check(m, cycle, &bus)?;
        if aw.fire {
            let ax = self.awp.read(m, self.bus_bytes, cycle, self.aw_count);
            self.aw_count += 1;
            self.awp
                .check(&ax, self.bus_bytes, &bus)
                .map_err(|(r, d)| e("AW", r, d))?;
            let mut tx = WriteTx {
                id: ax.id,
                len: ax.len,
                addr: ax.addr,
                data_done: false,
            };
            let first_open = !self.writes.iter().any(|t| !t.data_done);
            if let Some(n) = self.w_early.pop_front() {
                if n != ax.beats() {
                    return Err(e(
                        "W",
                        Rule::WlastMismatch,
                        format!(
                            "{bus}_wlast on beat {} of a W burst sent before its AW, which has awlen {} (awid {:#x}, awaddr {:#x})",
                            n - 1, ax.len, ax.id, ax.addr
                        ),
                    ));
                }
                tx.data_done = true;
            } else if first_open && self.w_beats > ax.len {
                return Err(e(
                    "W",
                    Rule::WlastMismatch,
                    format!(
                        "{bus}_wlast 0 on beat {} of a burst with awlen {} (awid {:#x}, awaddr {:#x})",
                        ax.len, ax.len, ax.id, ax.addr
                    ),
                ));
            }
            self.writes.push(tx);
        }
        if w.fire {
            let wlast = get_bit(m, self.wlast);
            let k = self.w_beats;
            self.w_beats += 1;
            if let Some(tx) = self.writes.iter_mut().find(|t| !t.data_done) {
                if wlast != (k == tx.len) {
                    return Err(e(
                        "W",
                        Rule::WlastMismatch,
                        format!(
                            "{bus}_wlast {} on beat {k} of a burst with awlen {} (awid {:#x}, awaddr {:#x})",
                            wlast as u8, tx.len, tx.id, tx.addr
                        ),
                    ));
                }
                if wlast {
                    tx.data_done = true;
                    self.w_beats = 0;
                }
            } else if wlast {
                self.w_early.push_back(self.w_beats);
                self.w_beats = 0;
            }
        }
        if b.new_beat || b.fire {
            let id = self.bid.map_or(0, |p| m.get(p));
            let pos = self.writes.iter().position(|t| t.id == id);
            match pos {
                None => {
                    return Err(e(
                        "B",
                        Rule::NoOutstandingRequest,
                        format!("{bus}_bid {id:#x}: no write outstanding with that id"),
                    ))
                }
                Some(i) if !self.writes[i].data_done => {
                    let t = self.writes[i];
                    return Err(e(
                        "B",
                        Rule::ResponseBeforeData,
                        format!(
                            "{bus}_bid {id:#x}: the write to {:#x} (awlen {}) has not had its last W beat",
                            t.addr, t.len
                        ),
                    ));
                }
                Some(i) => {
                    if b.fire {
                        self.writes.remove(i);
                    }
                }
            }
        }
        if let Some(ReadChecks {
            ar: arc,
            r: rc,
            arp,
            rid,
            rlast,
        }) = &mut self.read
        {
            let ar = arc.check(m, cycle, &bus)?;
            let r = rc.check(m, cycle, &bus)?;
            if ar.fire {
                let ax = arp.read(m, self.bus_bytes, cycle, self.ar_count);
                self.ar_count += 1;
                arp.check(&ax, self.bus_bytes, &bus)
                    .map_err(|(r, d)| e("AR", r, d))?;
                self.reads.push(ReadTx {
                    id: ax.id,
                    len: ax.len,
                    addr: ax.addr,
                    beats: 0,
                });
            }
            if r.new_beat || r.fire {
                let id = rid.map_or(0, |p| m.get(p));
                let Some(i) = self.reads.iter().position(|t| t.id == id) else {
                    return Err(e(
                        "R",
                        Rule::NoOutstandingRequest,
                        format!("{bus}_rid {id:#x}: no read outstanding with that id"),
                    ));
                };
                if r.fire {
                    let t = &mut self.reads[i];
                    let k = t.beats;
                    t.beats += 1;
                    let last = rlast.is_none_or(|p| get_bit(m, p));
                    let want = k == t.len;
                    if rlast.is_some() && last != want {
                        return Err(e(
                            "R",
                            Rule::RlastMismatch,
                            format!(
                                "{bus}_rlast {} on beat {k} of a burst with arlen {} (arid {id:#x}, araddr {:#x})",
                                last as u8, t.len, t.addr
                            ),
                        ));
                    }
                    if want {
                        self.reads.remove(i);
                    }
                }
            }
        }
        Ok(())
    }

    /// Call at the end of a test: every request answered, no W burst half done.
    pub fn finish(&self) -> Result<(), ProtocolError> {
        let bus = &self.prefix;
        if !self.writes.is_empty()
            || self.w_beats != 0
            || !self.w_early.is_empty()
            || !self.reads.is_empty()
        {
            return Err(perr(
                self.last_cycle,
                bus,
                "*",
                Rule::Outstanding,
                format!(
                    "{} write(s) without B, {} W beat(s) of an unfinished burst, {} W burst(s) without AW, {} read(s) unfinished",
                    self.writes.len(),
                    self.w_beats,
                    self.w_early.len(),
                    self.reads.len()
                ),
            ));
        }
        Ok(())
    }

    /// Write requests accepted so far.
    pub fn writes_seen(&self) -> u64 {
        self.aw_count
    }
    pub fn reads_seen(&self) -> u64 {
        self.ar_count
    }
}

/// Passive AXI4-Lite checker (`s_axil_*`): stability on all five channels; `bvalid`
/// only when a write has had both its AW and W handshakes and no B yet; `rvalid` only
/// when an AR is unanswered. Read channels are checked when `<prefix>_arvalid` exists,
/// write channels when `<prefix>_awvalid` exists.
#[derive(Debug)]
pub struct AxilChecker {
    prefix: String,
    wr: Option<(Channel, Channel, Channel)>,
    rd: Option<(Channel, Channel)>,
    aw: u64,
    w: u64,
    b: u64,
    ar: u64,
    r: u64,
    last_cycle: u64,
}

impl AxilChecker {
    pub fn new(m: &Model, prefix: &str) -> Result<Self, SimError> {
        let has = |s: &str| m.port(&format!("{prefix}_{s}")).is_ok();
        let wr = if has("awvalid") || !has("arvalid") {
            Some((
                Channel::discover(m, prefix, "AW", "aw", false)?,
                Channel::discover(m, prefix, "W", "w", false)?,
                Channel::discover(m, prefix, "B", "b", false)?,
            ))
        } else {
            None
        };
        let rd = if has("arvalid") {
            Some((
                Channel::discover(m, prefix, "AR", "ar", false)?,
                Channel::discover(m, prefix, "R", "r", false)?,
            ))
        } else {
            None
        };
        Ok(AxilChecker {
            prefix: prefix.to_string(),
            wr,
            rd,
            aw: 0,
            w: 0,
            b: 0,
            ar: 0,
            r: 0,
            last_cycle: 0,
        })
    }

    pub fn drive(&mut self, _m: &mut Model) {}

    pub fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        self.last_cycle = cycle;
        let bus = self.prefix.clone();
        if let Some((awc, wc, bc)) = &mut self.wr {
            let aw = awc.check(m, cycle, &bus)?;
            let w = wc.check(m, cycle, &bus)?;
            let b = bc.check(m, cycle, &bus)?;
            self.aw += aw.fire as u64;
            self.w += w.fire as u64;
            if b.new_beat && self.aw.min(self.w) <= self.b {
                return Err(perr(
                    cycle,
                    &bus,
                    "B",
                    Rule::NoOutstandingRequest,
                    format!(
                        "{bus}_bvalid 1 after {} AW, {} W and {} B handshakes",
                        self.aw, self.w, self.b
                    ),
                ));
            }
            self.b += b.fire as u64;
        }
        if let Some((arc, rc)) = &mut self.rd {
            let ar = arc.check(m, cycle, &bus)?;
            let r = rc.check(m, cycle, &bus)?;
            self.ar += ar.fire as u64;
            if r.new_beat && self.ar <= self.r {
                return Err(perr(
                    cycle,
                    &bus,
                    "R",
                    Rule::NoOutstandingRequest,
                    format!(
                        "{bus}_rvalid 1 after {} AR and {} R handshakes",
                        self.ar, self.r
                    ),
                ));
            }
            self.r += r.fire as u64;
        }
        Ok(())
    }

    /// Call at the end of a test: every request answered.
    pub fn finish(&self) -> Result<(), ProtocolError> {
        if self.aw != self.b || self.w != self.b || self.ar != self.r {
            return Err(perr(
                self.last_cycle,
                &self.prefix,
                "*",
                Rule::Outstanding,
                format!(
                    "{} AW, {} W, {} B, {} AR, {} R handshakes",
                    self.aw, self.w, self.b, self.ar, self.r
                ),
            ));
        }
        Ok(())
    }
}

impl_bfm!(
    AxiWriteSlave,
    AxiReadSlave,
    AxilMaster,
    AxiChecker,
    AxilChecker
);

#[cfg(test)]
mod tests {
    use super::*;

    fn burst(addr: u64, len: u32, size: u32, burst: u8) -> AxiBurst {
        AxiBurst {
            id: 0,
            addr,
            len,
            size,
            burst,
            user: 0,
            cycle: 0,
            index: 0,
        }
    }

    #[test]
    fn beat_addresses_and_lanes() {
        let b = burst(0x1003, 2, 2, BURST_INCR); // unaligned start, 4-byte beats, 8-byte bus
        let addrs: Vec<u64> = (0..3).map(|k| b.beat_addr(k)).collect();
        assert_eq!(addrs, [0x1003, 0x1004, 0x1008]);
        assert_eq!(
            [b.lanes(0, 8), b.lanes(1, 8), b.lanes(2, 8)],
            [(3, 3), (4, 7), (0, 3)]
        );
        assert_eq!(b.end_addr(), 0x100c);
        let w = burst(0x38, 3, 4, BURST_WRAP); // 4 x 16 bytes wrapping at 64
        let addrs: Vec<u64> = (0..4).map(|k| w.beat_addr(k)).collect();
        assert_eq!(addrs, [0x38, 0x08, 0x18, 0x28]);
        let f = burst(0x40, 3, 3, BURST_FIXED);
        assert!((0..4).all(|k| f.beat_addr(k) == 0x40));
    }
}
