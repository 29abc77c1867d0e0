//! AXI4-Stream bus functional models, and the pieces every BFM in this crate shares.
//!
//! [`AxisSource`], [`AxisSink`] and [`AxisMonitor`] are built on one base,
//! [`AxisPorts`] (port lookup once, beat packing for any `tdata` width, optional
//! `tkeep`/`tlast`/`tuser`), with [`Pattern`]s for pauses and back-pressure, as in
//! cocotbext-axi. [`AxisChecker`] is a passive protocol checker.
//!
//! # Calling convention (all BFMs in this crate)
//!
//! Once per clock cycle, for every BFM on the model:
//!
//! 1. `bfm.drive(&mut model)` sets the inputs the DUT sees at the coming edge;
//! 2. `model.step()`;
//! 3. `bfm.sample(&model, cycle)?` reads the pre-edge sample of that same cycle (what
//!    the DUT's flops captured) and detects the handshakes that happened at the edge.
//!
//! Inputs read with `Model::get` return the value driven, so passive models (monitors,
//! checkers) can watch a bus whichever side of the model drives it. A BFM must see
//! every cycle: skipping `sample` for a cycle loses that cycle's handshakes.

use std::collections::VecDeque;
use std::fmt;

use crate::pattern::Pattern;
use crate::{Model, Port, SimError};

/// What every BFM and checker in this crate has: one call before and one after each
/// clock edge. Lets a plain loop (or a coroutine) run a set of them together.
pub trait Bfm {
    /// Set this model's inputs for the coming edge.
    fn drive(&mut self, m: &mut Model);
    /// After `Model::step`: read the pre-edge sample of cycle `cycle`.
    fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError>;
}

/// One cycle for a set of BFMs: all `drive`, one `step`, all `sample` (in slice order)
/// with `cycle = m.cycle()` after the step. Returns that cycle number.
pub fn step_all(m: &mut Model, bfms: &mut [&mut dyn Bfm]) -> Result<u64, ProtocolError> {
    for b in bfms.iter_mut() {
        b.drive(m);
    }
    m.step();
    let cycle = m.cycle();
    for b in bfms.iter_mut() {
        b.sample(m, cycle)?;
    }
    Ok(cycle)
}

/// Implements [`Bfm`] by forwarding to the inherent `drive`/`sample`.
macro_rules! impl_bfm {
    ($($t:ty),*) => {$(
        impl $crate::axis::Bfm for $t {
            fn drive(&mut self, m: &mut $crate::Model) {
                <$t>::drive(self, m)
            }
            fn sample(&mut self, m: &$crate::Model, cycle: u64) -> Result<(), $crate::axis::ProtocolError> {
                <$t>::sample(self, m, cycle)
            }
        }
    )*};
}
pub(crate) use impl_bfm;

impl_bfm!(AxisSource, AxisSink, AxisMonitor, AxisChecker);

// ---------------------------------------------------------------------------------
// Shared: errors, port lookup, packing
// ---------------------------------------------------------------------------------

/// The rule a [`ProtocolError`] reports. `Display` gives the exact text used in
/// error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `valid` went low in the cycle after `valid && !ready`.
    ValidDropped,
    /// A payload signal changed in the cycle after `valid && !ready`.
    PayloadChanged,
    /// A B or R beat whose id has no outstanding request.
    NoOutstandingRequest,
    /// A B response before the last W beat of its burst was transferred.
    ResponseBeforeData,
    /// An INCR burst whose bytes do not stay inside one 4 KiB page.
    Crosses4k,
    /// `wlast` high before, or low on, beat `awlen` (counting from 0) of a burst.
    WlastMismatch,
    /// `rlast` high before, or low on, beat `arlen` of a burst.
    RlastMismatch,
    /// `1 << AxSIZE` is more bytes than the data bus carries.
    SizeTooLarge,
    /// AxBURST = 3 (reserved), or a WRAP burst whose length is not 2, 4, 8 or 16, or
    /// whose address is not aligned to the transfer size.
    BadBurst,
    /// A strobe bit set for a byte lane outside the beat's address window.
    StrobeOutsideLanes,
    /// `tkeep` is not a run of ones from lane 0 (`0..01..1`).
    KeepNotContiguous,
    /// `tkeep` all zero on a beat without `tlast`.
    KeepZero,
    /// Transactions still outstanding when the test said it was done.
    Outstanding,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::ValidDropped => "valid dropped before ready",
            Rule::PayloadChanged => "payload changed while valid && !ready",
            Rule::NoOutstandingRequest => "response with no outstanding request",
            Rule::ResponseBeforeData => "B response before the last W beat",
            Rule::Crosses4k => "INCR burst crosses a 4 KiB boundary",
            Rule::WlastMismatch => "WLAST not on the awlen-th beat",
            Rule::RlastMismatch => "RLAST not on the arlen-th beat",
            Rule::SizeTooLarge => "AxSIZE larger than the data bus",
            Rule::BadBurst => "illegal burst",
            Rule::StrobeOutsideLanes => "WSTRB outside the beat's byte lanes",
            Rule::KeepNotContiguous => "tkeep not contiguous",
            Rule::KeepZero => "tkeep zero on a non-last beat",
            Rule::Outstanding => "transactions outstanding at the end",
        })
    }
}

/// A protocol violation seen by a BFM or checker: when, where, which rule, the values.
///
/// Displays as `cycle <n>: <bus> <channel>: <rule>: <detail>`, e.g.
/// `cycle 7: m_axi AW: valid dropped before ready: m_axi_awvalid 1 -> 0 while m_axi_awready was 0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    /// The cycle number passed to `sample` when the violation was seen.
    pub cycle: u64,
    /// The port-name prefix of the bus (`m_axi`, `s_axis_rx`, ...).
    pub bus: String,
    /// `AW`, `W`, `B`, `AR`, `R` or `T` (stream).
    pub channel: &'static str,
    pub rule: Rule,
    /// The signal names and values involved.
    pub detail: String,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cycle {}: {} {}: {}: {}",
            self.cycle, self.bus, self.channel, self.rule, self.detail
        )
    }
}

impl std::error::Error for ProtocolError {}

pub(crate) fn perr(
    cycle: u64,
    bus: &str,
    channel: &'static str,
    rule: Rule,
    detail: String,
) -> ProtocolError {
    ProtocolError {
        cycle,
        bus: bus.to_string(),
        channel,
        rule,
        detail,
    }
}

fn config_err(m: &Model, message: String) -> SimError {
    SimError::Load {
        path: m.path().to_path_buf(),
        message,
    }
}

/// Direction a BFM needs a port to have, seen from the test (`Drive` = a model input).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Need {
    Drive,
    Read,
    /// Passive: either direction.
    Any,
}

/// Look up `<prefix>_<sig>`; `Ok(None)` when absent and optional.
pub(crate) fn lookup(
    m: &Model,
    what: &str,
    prefix: &str,
    sig: &str,
    need: Need,
    required: bool,
) -> Result<Option<Port>, SimError> {
    let name = format!("{prefix}_{sig}");
    let p = match m.port(&name) {
        Ok(p) => p,
        Err(e) if required => return Err(e),
        Err(_) => return Ok(None),
    };
    let bad = match need {
        Need::Drive => !p.is_input,
        Need::Read => p.is_input,
        Need::Any => false,
    };
    if bad {
        let (want, role, is) = if p.is_input {
            ("an output", "reads", "an input")
        } else {
            ("an input", "drives", "an output")
        };
        return Err(config_err(
            m,
            format!("{what} `{prefix}`: `{name}` must be {want} of the model (the BFM {role} it), but it is {is}"),
        ));
    }
    Ok(Some(p))
}

pub(crate) fn req(
    m: &Model,
    what: &str,
    prefix: &str,
    sig: &str,
    need: Need,
) -> Result<Port, SimError> {
    Ok(lookup(m, what, prefix, sig, need, true)?.expect("required port"))
}

pub(crate) fn opt(
    m: &Model,
    what: &str,
    prefix: &str,
    sig: &str,
    need: Need,
) -> Result<Option<Port>, SimError> {
    lookup(m, what, prefix, sig, need, false)
}

/// Check that `p` is exactly `width` bits (message names the BFM and the port).
pub(crate) fn expect_width(
    m: &Model,
    what: &str,
    prefix: &str,
    sig: &str,
    p: Port,
    width: u32,
) -> Result<(), SimError> {
    if p.width != width {
        return Err(config_err(
            m,
            format!(
                "{what} `{prefix}`: `{prefix}_{sig}` is {} bits, expected {width}",
                p.width
            ),
        ));
    }
    Ok(())
}

pub(crate) fn data_bytes(
    m: &Model,
    what: &str,
    prefix: &str,
    sig: &str,
    p: Port,
) -> Result<usize, SimError> {
    if !p.width.is_multiple_of(8) {
        return Err(config_err(
            m,
            format!(
                "{what} `{prefix}`: `{prefix}_{sig}` is {} bits, not a whole number of bytes",
                p.width
            ),
        ));
    }
    Ok(p.width as usize / 8)
}

/// Little-endian bytes into `u64` words (byte 0 = bits 7..0 of word 0); `words` long.
pub(crate) fn bytes_to_words(bytes: &[u8], words: usize) -> Vec<u64> {
    let mut w = vec![0u64; words];
    for (i, &b) in bytes.iter().enumerate() {
        w[i / 8] |= (b as u64) << ((i % 8) * 8);
    }
    w
}

/// Byte `i` of a little-endian word vector.
#[inline]
pub(crate) fn byte_of(words: &[u64], i: usize) -> u8 {
    (words[i / 8] >> ((i % 8) * 8)) as u8
}

/// Low `n` bits set, as `words` words.
pub(crate) fn low_mask(n: usize, words: usize) -> Vec<u64> {
    let mut w = vec![0u64; words];
    for (k, word) in w.iter_mut().enumerate() {
        let lo = k * 64;
        if n >= lo + 64 {
            *word = u64::MAX;
        } else if n > lo {
            *word = (1u64 << (n - lo)) - 1;
        }
    }
    w
}

/// Hex text of a value given as little-endian words (no leading zero words).
pub(crate) fn hex(words: &[u64]) -> String {
    let top = words.iter().rposition(|&w| w != 0).unwrap_or(0);
    let mut s = format!("{:#x}", words.get(top).copied().unwrap_or(0));
    for k in (0..top).rev() {
        s.push_str(&format!("_{:016x}", words[k]));
    }
    s
}

/// One valid/ready channel watched for the stability rules: once `valid && !ready`,
/// the next cycle must still have `valid` and an unchanged payload.
#[derive(Debug)]
pub(crate) struct Channel {
    pub name: &'static str,
    pub valid: Port,
    pub valid_name: String,
    /// `None`: always ready.
    pub ready: Option<Port>,
    pub ready_name: String,
    pub payload: Vec<(String, Port)>,
    /// Payload of the previous cycle if it was `valid && !ready`.
    stalled: Option<Vec<Vec<u64>>>,
}

/// What a channel did this cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChanState {
    pub valid: bool,
    pub fire: bool,
    /// `valid` this cycle and not a continuation of a stalled beat.
    pub new_beat: bool,
}

impl Channel {
    /// A channel `<prefix>_<ch>valid`/`ready` whose payload is every other port named
    /// `<prefix>_<ch>*`.
    pub fn discover(
        m: &Model,
        prefix: &str,
        name: &'static str,
        ch: &str,
        ready_optional: bool,
    ) -> Result<Channel, SimError> {
        let valid_name = format!("{prefix}_{ch}valid");
        let ready_name = format!("{prefix}_{ch}ready");
        let valid = m.port(&valid_name)?;
        let ready = if ready_optional {
            m.port(&ready_name).ok()
        } else {
            Some(m.port(&ready_name)?)
        };
        let stem = format!("{prefix}_{ch}");
        let payload = m
            .ports()
            .filter(|(n, _)| n.starts_with(&stem) && *n != valid_name && *n != ready_name)
            .map(|(n, p)| (n.to_string(), p))
            .collect();
        Ok(Channel {
            name,
            valid,
            valid_name,
            ready,
            ready_name,
            payload,
            stalled: None,
        })
    }

    pub fn check(&mut self, m: &Model, cycle: u64, bus: &str) -> Result<ChanState, ProtocolError> {
        let valid = m.get(self.valid) & 1 == 1;
        let ready = self.ready.is_none_or(|r| m.get(r) & 1 == 1);
        let was_stalled = self.stalled.take();
        if let Some(prev) = &was_stalled {
            if !valid {
                return Err(perr(
                    cycle,
                    bus,
                    self.name,
                    Rule::ValidDropped,
                    format!("{} 1 -> 0 while {} was 0", self.valid_name, self.ready_name),
                ));
            }
            for ((n, p), old) in self.payload.iter().zip(prev) {
                let now = m.get_wide(*p);
                if now != old.as_slice() {
                    return Err(perr(
                        cycle,
                        bus,
                        self.name,
                        Rule::PayloadChanged,
                        format!(
                            "{n} {} -> {} while {} was 0",
                            hex(old),
                            hex(now),
                            self.ready_name
                        ),
                    ));
                }
            }
        }
        if valid && !ready {
            self.stalled = Some(
                self.payload
                    .iter()
                    .map(|(_, p)| m.get_wide(*p).to_vec())
                    .collect(),
            );
        }
        Ok(ChanState {
            valid,
            fire: valid && ready,
            new_beat: valid && was_stalled.is_none(),
        })
    }
}

// ---------------------------------------------------------------------------------
// AXI4-Stream
// ---------------------------------------------------------------------------------

/// A frame: payload bytes and the sideband `tuser` (driven on every beat by a source;
/// taken from the first beat by a sink).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AxisFrame {
    pub data: Vec<u8>,
    pub user: u64,
}

impl AxisFrame {
    pub fn new(data: impl Into<Vec<u8>>) -> Self {
        AxisFrame {
            data: data.into(),
            user: 0,
        }
    }
    pub fn with_user(data: impl Into<Vec<u8>>, user: u64) -> Self {
        AxisFrame {
            data: data.into(),
            user,
        }
    }
}

/// A frame as a sink or monitor saw it, with the cycles of its first and last beat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedFrame {
    pub frame: AxisFrame,
    /// `tuser` of the last beat (some designs flag errors there).
    pub last_user: u64,
    pub first_cycle: u64,
    pub last_cycle: u64,
    pub beats: u64,
}

/// The shared base: the ports of one AXI4-Stream interface, looked up once.
///
/// `<prefix>_tdata` and `<prefix>_tvalid` are required; `tready`, `tkeep`, `tlast` and
/// `tuser` are optional (absent `tready` = always ready, absent `tkeep` = all bytes
/// valid, absent `tlast` = every beat ends a frame). `tdata` may be any whole number
/// of bytes wide (> 64 bits goes through `set_wide`/`get_wide`); `tkeep` must then be
/// one bit per byte. Only the low 64 bits of `tuser` are modelled.
#[derive(Clone, Debug)]
pub struct AxisPorts {
    pub prefix: String,
    pub tdata: Port,
    pub tvalid: Port,
    pub tready: Option<Port>,
    pub tkeep: Option<Port>,
    pub tlast: Option<Port>,
    pub tuser: Option<Port>,
    /// Bytes per beat (`tdata` width / 8).
    pub bytes: usize,
}

impl AxisPorts {
    /// `payload`: direction of tdata/tvalid/tkeep/tlast/tuser; `ready`: of tready.
    fn new(
        m: &Model,
        what: &str,
        prefix: &str,
        payload: Need,
        ready: Need,
    ) -> Result<Self, SimError> {
        let tdata = req(m, what, prefix, "tdata", payload)?;
        let bytes = data_bytes(m, what, prefix, "tdata", tdata)?;
        let tkeep = opt(m, what, prefix, "tkeep", payload)?;
        if let Some(k) = tkeep {
            expect_width(m, what, prefix, "tkeep", k, bytes as u32)?;
        }
        Ok(AxisPorts {
            prefix: prefix.to_string(),
            tdata,
            tvalid: req(m, what, prefix, "tvalid", payload)?,
            tready: opt(m, what, prefix, "tready", ready)?,
            tkeep,
            tlast: opt(m, what, prefix, "tlast", payload)?,
            tuser: opt(m, what, prefix, "tuser", payload)?,
            bytes,
        })
    }

    fn ready(&self, m: &Model) -> bool {
        self.tready.is_none_or(|r| m.get(r) & 1 == 1)
    }

    fn user_mask(&self) -> u64 {
        self.tuser.map_or(0, |u| {
            if u.width >= 64 {
                u64::MAX
            } else {
                (1u64 << u.width) - 1
            }
        })
    }
}

/// Collects beats into frames (shared by the sink and the monitor).
#[derive(Debug, Default)]
struct Reassembler {
    cur: Vec<u8>,
    cur_user: u64,
    first_cycle: u64,
    beats: u64,
    frames: VecDeque<ReceivedFrame>,
    total_frames: u64,
}

impl Reassembler {
    fn beat(&mut self, p: &AxisPorts, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        let last = p.tlast.is_none_or(|l| m.get(l) & 1 == 1);
        let data = m.get_wide(p.tdata);
        let n = match p.tkeep {
            None => p.bytes,
            Some(k) => {
                let keep = m.get_wide(k);
                let n: usize = keep.iter().map(|w| w.count_ones() as usize).sum();
                if keep != low_mask(n, keep.len()).as_slice() {
                    return Err(perr(
                        cycle,
                        &p.prefix,
                        "T",
                        Rule::KeepNotContiguous,
                        format!("{}_tkeep {}", p.prefix, hex(keep)),
                    ));
                }
                if n == 0 && !last {
                    return Err(perr(
                        cycle,
                        &p.prefix,
                        "T",
                        Rule::KeepZero,
                        format!("{}_tkeep 0x0, tlast 0", p.prefix),
                    ));
                }
                n
            }
        };
        let user = p.tuser.map_or(0, |u| m.get(u));
        if self.beats == 0 {
            self.first_cycle = cycle;
            self.cur_user = user;
        }
        self.beats += 1;
        self.cur.extend((0..n).map(|i| byte_of(data, i)));
        if last {
            self.frames.push_back(ReceivedFrame {
                frame: AxisFrame {
                    data: std::mem::take(&mut self.cur),
                    user: self.cur_user,
                },
                last_user: user,
                first_cycle: self.first_cycle,
                last_cycle: cycle,
                beats: self.beats,
            });
            self.beats = 0;
            self.total_frames += 1;
        }
        Ok(())
    }
}

/// Drives frames into a DUT's AXI4-Stream input (`s_axis_*`): the test drives
/// `tvalid`/`tdata`/..., the DUT drives `tready`.
///
/// Frames are split into beats of the data width, low byte in lane 0; the last beat
/// has `tlast` and `tkeep` covering only the bytes left. A beat, once `tvalid` is
/// high, is held unchanged until taken. The pause pattern is consulted once per cycle
/// and only stops a *new* beat from starting.
#[derive(Debug)]
pub struct AxisSource {
    ports: AxisPorts,
    pause: Pattern,
    queue: VecDeque<AxisFrame>,
    /// Offset of the next byte to send within `queue.front()`.
    offset: usize,
    /// A beat is on the bus (tvalid high) and not yet taken.
    holding: bool,
    beat_len: usize,
    frames_sent: u64,
    beats_sent: u64,
}

impl AxisSource {
    pub fn new(m: &Model, prefix: &str) -> Result<Self, SimError> {
        Ok(AxisSource {
            ports: AxisPorts::new(m, "AXI-Stream source", prefix, Need::Drive, Need::Any)?,
            pause: Pattern::never(),
            queue: VecDeque::new(),
            offset: 0,
            holding: false,
            beat_len: 0,
            frames_sent: 0,
            beats_sent: 0,
        })
    }

    pub fn ports(&self) -> &AxisPorts {
        &self.ports
    }

    /// Pause pattern on `tvalid` (`true` = do not start a beat this cycle).
    pub fn set_pause(&mut self, p: Pattern) {
        self.pause = p;
    }

    /// Queue a frame.
    ///
    /// # Panics
    /// Without a `tkeep` port, if the frame is empty or not a whole number of beats;
    /// without `tlast`, if it is longer than one beat (its end could not be marked).
    pub fn send(&mut self, frame: AxisFrame) {
        let p = &self.ports;
        if p.tkeep.is_none() {
            assert!(
                !frame.data.is_empty() && frame.data.len().is_multiple_of(p.bytes),
                "AXI-Stream source `{}` has no tkeep: a frame must be a non-zero multiple of {} bytes, got {}",
                p.prefix,
                p.bytes,
                frame.data.len()
            );
        }
        if p.tlast.is_none() {
            assert!(
                frame.data.len() <= p.bytes,
                "AXI-Stream source `{}` has no tlast: a frame must fit one {}-byte beat, got {}",
                p.prefix,
                p.bytes,
                frame.data.len()
            );
        }
        assert!(
            frame.user & !p.user_mask() == 0 || p.tuser.is_none_or(|u| u.width >= 64),
            "AXI-Stream source `{}`: tuser {:#x} does not fit the port",
            p.prefix,
            frame.user
        );
        self.queue.push_back(frame);
    }

    /// Queue a frame with `tuser = 0`.
    pub fn send_bytes(&mut self, data: impl Into<Vec<u8>>) {
        self.send(AxisFrame::new(data));
    }

    /// Frames not completely transferred yet (including one in flight).
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Nothing queued and nothing on the bus.
    pub fn idle(&self) -> bool {
        self.queue.is_empty() && !self.holding
    }

    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    pub fn beats_sent(&self) -> u64 {
        self.beats_sent
    }

    /// Set the inputs for this cycle.
    pub fn drive(&mut self, m: &mut Model) {
        let paused = self.pause.next();
        if self.holding {
            return; // the held beat stays on the bus, whatever the pattern says
        }
        let p = &self.ports;
        let Some(frame) = self.queue.front().filter(|_| !paused) else {
            m.set(p.tvalid, 0);
            return;
        };
        let n = (frame.data.len() - self.offset).min(p.bytes);
        let last = self.offset + n == frame.data.len();
        let chunk = &frame.data[self.offset..self.offset + n];
        m.set_wide(p.tdata, &bytes_to_words(chunk, p.tdata.words));
        if let Some(k) = p.tkeep {
            m.set_wide(k, &low_mask(n, k.words));
        }
        if let Some(l) = p.tlast {
            m.set(l, last as u64);
        }
        if let Some(u) = p.tuser {
            m.set(u, frame.user & p.user_mask());
        }
        m.set(p.tvalid, 1);
        self.holding = true;
        self.beat_len = n;
    }

    /// After `step`: was the beat taken?
    pub fn sample(&mut self, m: &Model, _cycle: u64) -> Result<(), ProtocolError> {
        if self.holding && self.ports.ready(m) {
            self.holding = false;
            self.beats_sent += 1;
            self.offset += self.beat_len;
            let len = self.queue.front().map_or(0, |f| f.data.len());
            if self.offset >= len {
                self.queue.pop_front();
                self.offset = 0;
                self.frames_sent += 1;
            }
        }
        Ok(())
    }
}

/// Receives frames from a DUT's AXI4-Stream output (`m_axis_*`): the DUT drives
/// `tvalid`/`tdata`/..., the test drives `tready` (high unless the pause pattern says
/// otherwise; absent `tready` = always ready).
///
/// `sample` returns an error for a `tkeep` that is not `0..01..1`, or zero on a beat
/// without `tlast`.
#[derive(Debug)]
pub struct AxisSink {
    ports: AxisPorts,
    pause: Pattern,
    ready: bool,
    rx: Reassembler,
}

impl AxisSink {
    pub fn new(m: &Model, prefix: &str) -> Result<Self, SimError> {
        Ok(AxisSink {
            ports: AxisPorts::new(m, "AXI-Stream sink", prefix, Need::Read, Need::Drive)?,
            pause: Pattern::never(),
            ready: false,
            rx: Reassembler::default(),
        })
    }

    pub fn ports(&self) -> &AxisPorts {
        &self.ports
    }

    /// Back-pressure pattern on `tready` (`true` = not ready this cycle).
    pub fn set_pause(&mut self, p: Pattern) {
        self.pause = p;
    }

    pub fn drive(&mut self, m: &mut Model) {
        self.ready = !self.pause.next();
        if let Some(r) = self.ports.tready {
            m.set(r, self.ready as u64);
        } else {
            self.ready = true;
        }
    }

    pub fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        if self.ready && m.get(self.ports.tvalid) & 1 == 1 {
            self.rx.beat(&self.ports, m, cycle)?;
        }
        Ok(())
    }

    /// The oldest complete frame not yet taken.
    pub fn recv(&mut self) -> Option<AxisFrame> {
        self.rx.frames.pop_front().map(|f| f.frame)
    }

    /// Like [`AxisSink::recv`], with the beat timing.
    pub fn recv_timed(&mut self) -> Option<ReceivedFrame> {
        self.rx.frames.pop_front()
    }

    /// Complete frames waiting in [`AxisSink::recv`].
    pub fn pending(&self) -> usize {
        self.rx.frames.len()
    }

    /// Frames completed since creation (taken or not).
    pub fn frames_received(&self) -> u64 {
        self.rx.total_frames
    }

    /// No frame half received.
    pub fn idle(&self) -> bool {
        self.rx.beats == 0
    }
}

/// Passive: records every frame transferred on an AXI4-Stream interface, whichever
/// side of the model drives it. `drive` does nothing (there for a uniform loop).
#[derive(Debug)]
pub struct AxisMonitor {
    ports: AxisPorts,
    rx: Reassembler,
}

impl AxisMonitor {
    pub fn new(m: &Model, prefix: &str) -> Result<Self, SimError> {
        Ok(AxisMonitor {
            ports: AxisPorts::new(m, "AXI-Stream monitor", prefix, Need::Any, Need::Any)?,
            rx: Reassembler::default(),
        })
    }

    pub fn ports(&self) -> &AxisPorts {
        &self.ports
    }

    pub fn drive(&mut self, _m: &mut Model) {}

    pub fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        if m.get(self.ports.tvalid) & 1 == 1 && self.ports.ready(m) {
            self.rx.beat(&self.ports, m, cycle)?;
        }
        Ok(())
    }

    pub fn recv(&mut self) -> Option<AxisFrame> {
        self.rx.frames.pop_front().map(|f| f.frame)
    }

    pub fn recv_timed(&mut self) -> Option<ReceivedFrame> {
        self.rx.frames.pop_front()
    }

    pub fn pending(&self) -> usize {
        self.rx.frames.len()
    }

    pub fn frames_seen(&self) -> u64 {
        self.rx.total_frames
    }

    pub fn idle(&self) -> bool {
        self.rx.beats == 0
    }
}

/// Passive AXI4-Stream protocol checker: `tvalid` must stay high and every other
/// `<prefix>_t*` signal unchanged from a cycle with `tvalid && !tready` to the
/// handshake. (`tkeep` form is the sink's business.)
#[derive(Debug)]
pub struct AxisChecker {
    prefix: String,
    ch: Channel,
    beats: u64,
}

impl AxisChecker {
    pub fn new(m: &Model, prefix: &str) -> Result<Self, SimError> {
        Ok(AxisChecker {
            prefix: prefix.to_string(),
            ch: Channel::discover(m, prefix, "T", "t", true)?,
            beats: 0,
        })
    }

    pub fn drive(&mut self, _m: &mut Model) {}

    pub fn sample(&mut self, m: &Model, cycle: u64) -> Result<(), ProtocolError> {
        let s = self.ch.check(m, cycle, &self.prefix)?;
        self.beats += s.fire as u64;
        Ok(())
    }

    /// Beats transferred so far.
    pub fn beats(&self) -> u64 {
        self.beats
    }
}
