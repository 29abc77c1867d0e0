//! Functional reference model of `nic_rx`, the receive path of one NIC,
//! written from its contract (`docs/nic_rx.md`) and the contracts it points
//! to (`docs/rx_verdict.md`, `docs/term_tx.md`, `docs/stag_table.md`,
//! `docs/conn_table.md`), not from the RTL.
//!
//! It composes the block models that already exist:
//!
//! * [`StagTable`] (`models::stag_table`): every STag lookup, the host's
//!   commands on `stag_cmd_*` (run through the model edge by edge until it
//!   answers), the INSTALL the driver sends for a foreign STag, and the
//!   INVALIDATE a Send with Invalidate sends once its data is placed;
//! * [`ConnTable`] (`models::conn_table`): the per-connection state, the
//!   host's commands on `conn_cmd_*` and the updates after each segment;
//! * [`rx_verdict::verdict`] (`models::rx_verdict`): SPEC's eleven checks.
//!
//! # What is deterministic, and what the model therefore says
//!
//! The hardware may judge segments of different connections in any
//! interleaving (a parked segment is judged again in a replay pass). The
//! model is therefore *per connection*: the segments of one connection, in
//! arrival order, give one sequence of outcomes, each judged against the
//! state the previous one left, provided that no STag is named by segments
//! of two connections and that host commands are only given while no
//! segment is in flight (between [`NicRx::segment`] calls of the test's
//! quiet points). Under those rules the outcome of every segment, and every
//! counter except `cnt_parked`, is the same whatever the interleaving.
//!
//! A segment whose verdict is `PARK` (a foreign STag not installed, check 5
//! or 11) is resolved at once with the driver's policy for its STag, set by
//! the test with [`NicRx::set_policy`]: [`Answer::Install`] runs the INSTALL
//! through the STag table model and judges the segment again;
//! [`Answer::Reject`] judges it again with the lookup reading `INVALID`, as
//! the contract says of a rejected STag. Each such segment raised exactly
//! one miss event `{stag, conn}` (no other segment can be waiting on that
//! STag, since only its connection names it, and later segments of the
//! connection queue behind it unjudged), and the outcome records it with the
//! answer the driver must give.
//!
//! `cnt_parked` also counts segments that entered the hold queue *unjudged*
//! because their connection had a parked segment at that moment, which
//! depends on when the driver answers. The model keeps the certain count
//! (segments whose verdict was `PARK`) and an upper bound (plus every later
//! segment of a connection with a park since the last [`NicRx::quiesce`]).
//!
//! The outcome of a segment: the final action and deciding check, the bytes
//! placed (host address and data), the exact Terminate FPDU the NIC must
//! send on `m_axis_tx` (connection in `tuser`), the STag invalidated after
//! placement, the miss event, and the counters (kept in [`Counters`]).
//!
//! Foreign-slot evictions (LRU) depend on the order of lookups across
//! connections, which the model does not know; an INSTALL that would evict
//! makes the model panic: a test that uses the model keeps the foreign STags
//! installed at once within `--foreign-entries`. A test that does know the
//! order (it runs one segment at a time and lets it finish) can turn on
//! [`NicRx::set_exact_lru`]: each judged segment's STag lookup then goes
//! through the STag table model too (a hit on a foreign slot is a use), so
//! the model follows the LRU order exactly, and an INSTALL answering a miss
//! may evict (the miss records which STag it evicts).
//!
//! Write responses are the host's: the test tells the model of a placement
//! whose write response was not OKAY with [`NicRx::dma_error`].

use std::collections::{HashMap, HashSet};

use hdl::params::Params;
use sim::iwarp::crc32c::crc32c;
use sim::iwarp::frames::{
    fpdu_len, mpa_frame, Control, DdpHeader, Header, Opcode, TermCode, QN_TERMINATE,
    TAGGED_HDR_LEN, UNTAGGED_HDR_LEN,
};

use super::conn_table::{self as ct, op as conn_op, status as conn_status, ConnTable};
use super::rx_verdict::{self, lk, Widths};
use super::stag_table::{
    self as st, CmdResp, Entry, ExpResp, ListBeat, LookupStatus, Op, StagConfig, StagTable, Status,
};

pub use super::rx_verdict::Action;

/// The parameters the model depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The STag table, with the `nic_id` strap.
    pub stag: StagConfig,
    /// The connection table.
    pub conn: ct::Config,
    /// `--max-payload`: a longer FPDU is cut and judged as an MPA length error.
    pub max_payload: u32,
    /// `--data-width` (only the bench uses it).
    pub data_width: u32,
}

impl Config {
    /// The configuration of a `nic_rx` generated from `p`, with `nic_id` on
    /// its strap.
    pub fn from_params(p: &Params, nic_id: u32) -> Config {
        Config {
            stag: StagConfig {
                entries: p.get32("entries"),
                foreign_entries: p.get32("foreign-entries"),
                nic_id_bits: p.get32("nic-id-bits"),
                lookup_latency: p.get32("lookup-latency"),
                pd_bits: p.get32("pd-bits"),
                len_bits: p.get32("len-bits"),
                dma_addr_bits: p.get32("dma-addr-bits"),
                nic_id,
            },
            conn: ct::Config {
                connections: p.get32("connections"),
                rq_depth: p.get32("rq-depth"),
                pd_bits: p.get32("pd-bits"),
                dma_addr_bits: p.get32("dma-addr-bits"),
            },
            max_payload: p.get32("max-payload"),
            data_width: p.get32("data-width"),
        }
    }

    pub fn widths(&self) -> Widths {
        Widths {
            pd_bits: self.stag.pd_bits,
            len_bits: self.stag.len_bits,
            dma_addr_bits: self.stag.dma_addr_bits,
        }
    }
}

// ---------------------------------------------------------------------------
// The descriptor of one FPDU, as mpa_rx + rx_parse give it
// ---------------------------------------------------------------------------

/// What `mpa_rx` and `rx_parse` make of one packet on `s_axis_rx`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desc {
    /// The packet is exactly the FPDU its length field announces, and the
    /// payload after the header its T bit announces is at most
    /// `--max-payload` bytes.
    pub length_ok: bool,
    /// A whole number of 4-byte words whose last four are the CRC32c of the
    /// rest (as the wire carries it).
    pub crc_ok: bool,
    /// The ULPDU length field.
    pub mpa_len: u16,
    /// FPDU bytes 2..19 (zero past the packet's end).
    pub hdr: [u8; 18],
    /// Payload bytes: the ULPDU after the header. Meaningful only when the
    /// framing is right (a broken FPDU is never placed and its Terminate
    /// carries no header); then it is `mpa_len - header`.
    pub count: u32,
    /// The payload (`count` bytes).
    pub payload: Vec<u8>,
}

/// The header length the control field's T bit announces.
fn hdr_len(b0: u8) -> usize {
    if b0 & 0x80 != 0 {
        TAGGED_HDR_LEN
    } else {
        UNTAGGED_HDR_LEN
    }
}

/// Describe one packet (one FPDU, possibly broken) as the NIC's front end
/// does (`docs/nic_rx.md` step 1, `mpa_rx`, `rx_parse`).
pub fn describe(fpdu: &[u8], max_payload: u32) -> Desc {
    let n = fpdu.len();
    let mpa_len = if n >= 2 {
        u16::from_be_bytes([fpdu[0], fpdu[1]])
    } else {
        0
    };
    let mut hdr = [0u8; 18];
    for (i, h) in hdr.iter_mut().enumerate() {
        *h = fpdu.get(2 + i).copied().unwrap_or(0);
    }
    let hl = hdr_len(hdr[0]);
    let crc_ok = n >= 8 && n % 4 == 0 && {
        let t = &fpdu[n - 4..];
        crc32c(&fpdu[..n - 4]) == u32::from_le_bytes([t[0], t[1], t[2], t[3]])
    };
    let cut = (mpa_len as usize) > max_payload as usize + hl;
    let length_ok = n == fpdu_len(mpa_len as usize) && !cut;
    // The payload: the ULPDU after the header, as far as the packet goes.
    let start = (2 + hl).min(n);
    let end = (2 + mpa_len as usize).min(n.saturating_sub(4)).max(start);
    let mut payload = fpdu[start..end].to_vec();
    payload.truncate(max_payload as usize);
    Desc {
        length_ok,
        crc_ok,
        mpa_len,
        hdr,
        count: payload.len() as u32,
        payload,
    }
}

// ---------------------------------------------------------------------------
// Terminate bytes
// ---------------------------------------------------------------------------

/// The Terminate FPDU `term_tx` sends (`docs/term_tx.md`, "The frame"):
/// queue-2 MSN `msn`, code `code`, with D (= M) the DDP segment length and
/// the offending header as received (14 or 18 bytes by its own T bit), with
/// R the offending Read Request's 28 bytes. Built from the raw bytes, so a
/// header is echoed exactly as it arrived.
pub fn terminate_fpdu(
    msn: u32,
    code: TermCode,
    d: Option<(u16, &[u8; 18])>,
    r: Option<&[u8]>,
) -> Vec<u8> {
    let mut u = Vec::with_capacity(80);
    Header {
        ctrl: Control::new(Opcode::Terminate, true),
        ddp: DdpHeader::Untagged {
            rsvd_ulp: 0,
            qn: QN_TERMINATE,
            msn,
            mo: 0,
        },
    }
    .encode(&mut u);
    let (dbit, rbit) = (d.is_some() as u32, r.is_some() as u32);
    let w = ((code.0 as u32 & 0xF) << 28)
        | ((code.1 as u32 & 0xF) << 24)
        | ((code.2 as u32) << 16)
        | (dbit << 15)
        | (dbit << 14)
        | (rbit << 13);
    u.extend_from_slice(&w.to_be_bytes());
    if let Some((len, hdr)) = d {
        u.extend_from_slice(&len.to_be_bytes());
        u.extend_from_slice(&hdr[..hdr_len(hdr[0])]);
    }
    if let Some(rr) = r {
        assert!(rr.len() >= 28, "a Read Request carries 28 bytes");
        u.extend_from_slice(&rr[..28]);
    }
    mpa_frame(&u)
}

// ---------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------

/// The `cnt_*` outputs (`docs/nic_rx.md`, "Counters"), wrapping at 2^32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub placed: u32,
    pub placed_bytes: u32,
    pub delivered: u32,
    /// Segments certain to have entered the hold queue (verdict `PARK`).
    pub parked: u32,
    pub miss_events: u32,
    pub reject_unknown: u32,
    pub terminates: u32,
    pub dma_errors: u32,
    /// `check[k]` = `cnt_check_<k>` (index 0 unused).
    pub check: [u32; 12],
}

/// Names of the counter ports, in [`Counters::values`] order.
pub const COUNTER_NAMES: [&str; 19] = [
    "cnt_placed",
    "cnt_placed_bytes",
    "cnt_delivered",
    "cnt_parked",
    "cnt_miss_events",
    "cnt_reject_unknown",
    "cnt_terminates",
    "cnt_dma_errors",
    "cnt_check_1",
    "cnt_check_2",
    "cnt_check_3",
    "cnt_check_4",
    "cnt_check_5",
    "cnt_check_6",
    "cnt_check_7",
    "cnt_check_8",
    "cnt_check_9",
    "cnt_check_10",
    "cnt_check_11",
];

/// Index of `cnt_parked` in [`COUNTER_NAMES`].
pub const PARKED_INDEX: usize = 3;

impl Counters {
    /// The values in [`COUNTER_NAMES`] order.
    pub fn values(&self) -> [u32; 19] {
        let mut v = [0u32; 19];
        v[..8].copy_from_slice(&[
            self.placed,
            self.placed_bytes,
            self.delivered,
            self.parked,
            self.miss_events,
            self.reject_unknown,
            self.terminates,
            self.dma_errors,
        ]);
        v[8..].copy_from_slice(&self.check[1..]);
        v
    }

    pub fn from_values(v: &[u32; 19]) -> Counters {
        let mut check = [0u32; 12];
        check[1..].copy_from_slice(&v[8..]);
        Counters {
            placed: v[0],
            placed_bytes: v[1],
            delivered: v[2],
            parked: v[3],
            miss_events: v[4],
            reject_unknown: v[5],
            terminates: v[6],
            dma_errors: v[7],
            check,
        }
    }

    /// `self - before`, counter by counter (wrapping).
    pub fn since(&self, before: &Counters) -> Counters {
        let (a, b) = (self.values(), before.values());
        let mut d = [0u32; 19];
        for i in 0..19 {
            d[i] = a[i].wrapping_sub(b[i]);
        }
        Counters::from_values(&d)
    }

    /// The counters that are not zero, by port name (for messages).
    pub fn nonzero(&self) -> Vec<(&'static str, u32)> {
        COUNTER_NAMES
            .iter()
            .zip(self.values())
            .filter(|(_, v)| *v != 0)
            .map(|(n, v)| (*n, v))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Outcomes
// ---------------------------------------------------------------------------

/// How the driver answers a miss event on a STag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// INSTALL on `stag_cmd_*` with this entry.
    Install(Entry),
    /// `s_reject_*`.
    Reject,
}

/// A miss event the NIC raises, and how the driver answers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Miss {
    pub stag: u32,
    pub conn: u16,
    pub answer: Answer,
    /// The foreign STag the INSTALL answering it evicts (only with
    /// [`NicRx::set_exact_lru`]; otherwise an evicting INSTALL panics).
    pub evicted: Option<u32>,
}

/// Bytes a placed segment writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub addr: u64,
    pub data: Vec<u8>,
}

/// What one segment does, after any hold-queue resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub conn: u16,
    /// The final action: `PLACE`, `DROP`, `TERMINATE` or `DELIVER` (never
    /// `PARK`: a parked segment is resolved with the driver's policy).
    pub action: Action,
    /// The check that decided (0 when every check passed).
    pub reason: u8,
    /// The verdict that parked the segment (5 or 11), if it was parked.
    pub parked_by: Option<u8>,
    /// The miss event the segment raised and its answer.
    pub miss: Option<Miss>,
    /// The Terminate code, when `TERMINATE`.
    pub term: Option<TermCode>,
    /// The Terminate FPDU expected on `m_axis_tx` (tuser = `conn`).
    pub terminate: Option<Vec<u8>>,
    /// Bytes written, when `PLACE` with a payload.
    pub place: Option<Placement>,
    /// The STag a Send with Invalidate invalidated after its placement.
    pub invalidated: Option<u32>,
    /// The final verdict, every output (for messages and finer checks).
    pub verdict: rx_verdict::Outputs,
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/// One NIC's receive path.
#[derive(Clone, Debug)]
pub struct NicRx {
    cfg: Config,
    stag: StagTable,
    conns: ConnTable,
    policy: HashMap<u32, Answer>,
    counters: Counters,
    /// Upper bound of `cnt_parked` minus `counters.parked`.
    parked_extra: u32,
    /// Connections with a `PARK` verdict since the last quiet point.
    parked_conns: HashSet<u16>,
    /// Segments judged so far.
    segments: u64,
    /// Follow the foreign cache's LRU order (see the module doc).
    exact_lru: bool,
}

fn stag_idle() -> st::Inputs {
    st::Inputs {
        resp_ready: true,
        list_tready: true,
        ..st::Inputs::default()
    }
}

impl NicRx {
    /// The NIC right after reset: empty tables, counters zero.
    pub fn new(cfg: Config) -> NicRx {
        NicRx {
            stag: StagTable::new(cfg.stag.clone()),
            conns: ConnTable::new(cfg.conn),
            cfg,
            policy: HashMap::new(),
            counters: Counters::default(),
            parked_extra: 0,
            parked_conns: HashSet::new(),
            segments: 0,
            exact_lru: false,
        }
    }

    pub fn cfg(&self) -> &Config {
        &self.cfg
    }

    /// The STag table as it stands.
    pub fn stag_table(&self) -> &StagTable {
        &self.stag
    }

    /// Connection `id`, when known.
    pub fn conn(&self, id: u16) -> Option<&ct::Conn> {
        self.conns.conn(id)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The largest `cnt_parked` can be (see the module doc).
    pub fn parked_max(&self) -> u32 {
        self.counters.parked.wrapping_add(self.parked_extra)
    }

    /// The test saw the hold queue empty with nothing in flight: later
    /// segments cannot queue behind earlier parks.
    pub fn quiesce(&mut self) {
        self.parked_conns.clear();
    }

    /// Follow the foreign cache's LRU order exactly: every judged segment's
    /// STag lookup is clocked through the STag table model (a hit on a
    /// foreign slot makes it the most recently used, as `docs/stag_table.md`
    /// says), and an INSTALL answering a miss may evict. Only right when
    /// the test knows the DUT looks up in the model's order: one segment in
    /// flight at a time, or segments whose lookups cannot hit a foreign slot.
    pub fn set_exact_lru(&mut self, on: bool) {
        self.exact_lru = on;
    }

    /// A placement got a write response other than OKAY (the host's answer;
    /// the model cannot know it): `cnt_dma_errors` + 1.
    pub fn dma_error(&mut self) {
        self.counters.dma_errors = self.counters.dma_errors.wrapping_add(1);
    }

    /// A lookup of `stag` as the judge issues it, through the STag table
    /// model so that a foreign hit counts as a use (exact-LRU mode only).
    fn use_lookup(&mut self, stag: u32) {
        if !self.exact_lru {
            return;
        }
        let t = &mut self.stag;
        assert!(t.is_idle(), "STag table model busy during a lookup");
        t.clock(
            &st::Inputs {
                lookup_valid: true,
                lookup_stag: stag,
                ..stag_idle()
            },
            false,
        );
        // The use lands at the next edge; let the answer leave the pipe.
        for _ in 0..=t.cfg().lookup_latency {
            t.clock(&stag_idle(), false);
        }
    }

    /// The foreign STag an INSTALL would evict now, if the cache is full.
    fn install_victim(&self) -> Option<u32> {
        let t = &self.stag;
        let n = t.cfg().foreign_entries as usize;
        if (0..n).any(|s| t.slot_tag(s).is_none()) {
            return None;
        }
        t.slot_tag(t.recency()[0])
    }

    /// How the driver answers the next miss event on `stag`.
    pub fn set_policy(&mut self, stag: u32, answer: Answer) {
        self.policy.insert(stag, answer);
    }

    pub fn policy(&self, stag: u32) -> Option<Answer> {
        self.policy.get(&stag).copied()
    }

    /// A host command on `stag_cmd_*`: its response (and, for LIST, the
    /// entries streamed). Run through the table model edge by edge.
    pub fn stag_cmd(&mut self, op: Op, stag: u32, entry: Entry) -> (CmdResp, Vec<ListBeat>) {
        let t = &mut self.stag;
        assert!(t.expected().cmd_ready, "STag table model busy");
        t.clock(
            &st::Inputs {
                cmd_valid: true,
                cmd_op: op.0,
                cmd_stag: stag,
                cmd_entry: entry,
                ..stag_idle()
            },
            false,
        );
        let mut beats = t.take_new_beats();
        for _ in 0..(4 * t.cfg().entries as usize + 100) {
            let e = t.expected();
            let beat = e.list_open;
            if let ExpResp::Some(r) | ExpResp::NoneOr(r) = e.resp {
                t.finish_empty_list();
                t.clock(&stag_idle(), false);
                return (r, beats);
            }
            beats.extend(t.take_new_beats());
            t.clock(&stag_idle(), beat);
        }
        panic!("STag table model: no response to {op:?} {stag:#x}");
    }

    /// A host command on `conn_cmd_*`: its response.
    pub fn conn_cmd(&mut self, cmd: &ct::Cmd) -> ct::Resp {
        let c = &mut self.conns;
        assert!(c.expected().cmd_ready, "connection table model busy");
        c.clock(&ct::Inputs {
            cmd_valid: true,
            cmd: cmd.clone(),
            resp_ready: false,
            ..ct::Inputs::default()
        });
        for _ in 0..8 {
            let e = c.expected();
            if e.resp_valid {
                c.clock(&ct::Inputs {
                    resp_ready: true,
                    ..ct::Inputs::default()
                });
                return e.resp;
            }
            c.clock(&ct::Inputs::default());
        }
        panic!("connection table model: no response to {cmd:?}");
    }

    /// A reject on `s_reject_*` while nothing waits on `stag` (the model
    /// resolves every park at once): ignored and counted.
    pub fn reject_unknown(&mut self, _stag: u32) {
        self.counters.reject_unknown = self.counters.reject_unknown.wrapping_add(1);
    }

    /// `rx_verdict`'s inputs for `d` on connection `conn`, looking up the
    /// header's STag (or reading `lk_override`).
    fn inputs(&self, conn: u16, d: &Desc, lk_override: Option<u8>) -> rx_verdict::Inputs {
        let mut i = rx_verdict::Inputs {
            length_ok: d.length_ok,
            crc_ok: d.crc_ok,
            mpa_len: d.mpa_len,
            hdr: d.hdr,
            count: d.count,
            ..rx_verdict::Inputs::default()
        };
        if let Some(c) = self.conns.conn(conn) {
            i.conn_known = true;
            i.conn_error = c.error;
            i.conn_pd = c.pd;
            i.conn_msn_send = c.msn_send;
            i.conn_msn_rreq = c.msn_rreq;
            if let Some(&(a, l)) = c.rq.front() {
                i.conn_rq_valid = true;
                i.conn_rq_addr = a;
                i.conn_rq_len = l;
            }
        }
        let stag = u32::from_be_bytes([d.hdr[2], d.hdr[3], d.hdr[4], d.hdr[5]]);
        let (r, _) = self.stag.lookup(stag);
        i.lk_status = r.status.0;
        if r.status == LookupStatus::HIT_OWN || r.status == LookupStatus::HIT_FOREIGN {
            i.lk_dma_base = r.entry.dma_base;
            i.lk_va_base = r.entry.va_base;
            i.lk_length = r.entry.length;
            i.lk_pd = r.entry.pd;
            i.lk_remote_write = r.entry.rights & 8 != 0;
            i.lk_remote_inv = r.entry.remote_inv;
        }
        if let Some(s) = lk_override {
            i.lk_status = s;
        }
        i
    }

    fn update(&mut self, conn: u16, send: bool, rreq: bool, term: bool, error: bool) {
        if !(send || rreq || term || error) {
            return;
        }
        self.conns.clock(&ct::Inputs {
            up_valid: true,
            up_conn: conn,
            up_msn_send: send,
            up_msn_rreq: rreq,
            up_msn_term: term,
            up_set_error: error,
            ..ct::Inputs::default()
        });
        self.conns.clock(&ct::Inputs::default());
        self.conns.clock(&ct::Inputs::default());
    }

    /// One packet arriving on `s_axis_rx` with `tuser` = `conn`.
    pub fn segment(&mut self, conn: u16, fpdu: &[u8]) -> Outcome {
        let d = describe(fpdu, self.cfg.max_payload);
        self.segment_desc(conn, &d)
    }

    /// [`NicRx::segment`] from a descriptor.
    pub fn segment_desc(&mut self, conn: u16, d: &Desc) -> Outcome {
        self.segments += 1;
        let w = self.cfg.widths();
        if self.parked_conns.contains(&conn) {
            self.parked_extra = self.parked_extra.wrapping_add(1);
        }
        let hdr_stag = u32::from_be_bytes([d.hdr[2], d.hdr[3], d.hdr[4], d.hdr[5]]);
        self.use_lookup(hdr_stag);
        let mut v = rx_verdict::verdict(&w, &self.inputs(conn, d, None));
        let mut miss = None;
        let mut parked_by = None;
        if v.action == Action::Park {
            let stag = v.stag;
            let answer = self.policy(stag).unwrap_or_else(|| {
                panic!(
                    "nic_rx model: segment {} on connection {conn} parks on foreign STag {stag:#010x} \
                     and the test set no driver policy for it",
                    self.segments
                )
            });
            let c = &mut self.counters;
            c.parked = c.parked.wrapping_add(1);
            c.miss_events = c.miss_events.wrapping_add(1);
            self.parked_conns.insert(conn);
            parked_by = Some(v.reason);
            let mut evicted = None;
            v = match answer {
                Answer::Install(e) => {
                    evicted = self.install_victim();
                    let (r, _) = self.stag_cmd(Op::INSTALL, stag, e);
                    assert_eq!(
                        r.status,
                        Status::OK,
                        "nic_rx model: INSTALL of {stag:#010x} after its miss"
                    );
                    assert!(
                        !r.evicted || self.exact_lru,
                        "nic_rx model: INSTALL of {stag:#010x} evicts a foreign entry; the model \
                         cannot know the LRU order across connections (keep the installed foreign \
                         STags within --foreign-entries)"
                    );
                    assert_eq!(r.evicted, evicted.is_some(), "nic_rx model: victim");
                    // Judged again in the replay: looked up again.
                    self.use_lookup(hdr_stag);
                    rx_verdict::verdict(&w, &self.inputs(conn, d, None))
                }
                Answer::Reject => {
                    self.use_lookup(hdr_stag);
                    rx_verdict::verdict(&w, &self.inputs(conn, d, Some(lk::INVALID)))
                }
            };
            miss = Some(Miss {
                stag,
                conn,
                answer,
                evicted,
            });
            assert_ne!(v.action, Action::Park, "resolved STag parks again");
        }
        let c = &mut self.counters;
        let mut out = Outcome {
            conn,
            action: v.action,
            reason: v.reason,
            parked_by,
            miss,
            term: None,
            terminate: None,
            place: None,
            invalidated: None,
            verdict: v.clone(),
        };
        match v.action {
            Action::Place => {
                c.placed = c.placed.wrapping_add(1);
                c.placed_bytes = c.placed_bytes.wrapping_add(v.place_len);
                if v.place_len > 0 {
                    out.place = Some(Placement {
                        addr: v.place_addr,
                        data: d.payload[..v.place_len as usize].to_vec(),
                    });
                }
                self.update(conn, v.msn_advance_send, false, false, false);
                if v.invalidate_after {
                    let (r, _) = self.stag_cmd(Op::INVALIDATE, v.stag, Entry::default());
                    assert_eq!(
                        r.status,
                        Status::OK,
                        "nic_rx model: Send with Invalidate of {:#010x} passed check 11",
                        v.stag
                    );
                    out.invalidated = Some(v.stag);
                }
            }
            Action::Drop => {
                c.check[1] = c.check[1].wrapping_add(1);
            }
            Action::Terminate => {
                c.check[v.reason as usize] = c.check[v.reason as usize].wrapping_add(1);
                c.terminates = c.terminates.wrapping_add(1);
                let msn = self.conns.conn(conn).expect("judged: known").msn_term;
                let dpart = v.term_with_hdr.then_some((v.term_seg_len, &v.term_hdr));
                let rpart = v.term_with_rreq.then(|| &d.payload[..28]);
                out.term = Some(v.term);
                out.terminate = Some(terminate_fpdu(msn, v.term, dpart, rpart));
                self.update(conn, false, false, true, true);
            }
            Action::Deliver => {
                c.delivered = c.delivered.wrapping_add(1);
                self.update(conn, false, v.msn_advance_rreq, false, v.set_conn_error);
            }
            Action::Park => unreachable!(),
        }
        out
    }
}

/// A `conn_cmd_*` command.
pub fn conn_command(op: u128, conn: u16) -> ct::Cmd {
    ct::Cmd {
        op: op as u8,
        conn,
        ..ct::Cmd::default()
    }
}

/// CREATE of `conn` with `pd` and the three MSNs.
pub fn create(conn: u16, pd: u32, msn_send: u32, msn_rreq: u32, msn_term: u32) -> ct::Cmd {
    ct::Cmd {
        pd,
        msn_send,
        msn_rreq,
        msn_term,
        ..conn_command(conn_op::CREATE, conn)
    }
}

/// RECREATE of `conn` with the three MSNs.
pub fn recreate(conn: u16, msn_send: u32, msn_rreq: u32, msn_term: u32) -> ct::Cmd {
    ct::Cmd {
        msn_send,
        msn_rreq,
        msn_term,
        ..conn_command(conn_op::RECREATE, conn)
    }
}

/// POST_RECV of a buffer on `conn`.
pub fn post_recv(conn: u16, addr: u64, len: u32) -> ct::Cmd {
    ct::Cmd {
        addr,
        len,
        ..conn_command(conn_op::POST_RECV, conn)
    }
}

/// `conn_table`'s OK status as `resp_status` carries it.
pub const CONN_OK: u8 = conn_status::OK as u8;

#[cfg(test)]
mod tests {
    use super::*;
    use sim::iwarp::frames::{codes, fpdu, parse_fpdu, Body, ReadRequest, Segment, Terminate};

    fn cfg() -> Config {
        let p = Params::new([("connections", 16), ("foreign-entries", 4)]).unwrap();
        Config::from_params(&p, 2)
    }

    const PD: u32 = 7;

    /// A NIC with connection 1 (PD 7, MSNs 1), one buffer of 256 bytes at
    /// 0x9000, and one own region [VA 0x1000, +0x1000) at DMA 0x8000_0000.
    fn nic() -> (NicRx, u32) {
        let mut m = NicRx::new(cfg());
        assert_eq!(m.conn_cmd(&create(1, PD, 1, 1, 1)).status, CONN_OK);
        assert_eq!(m.conn_cmd(&post_recv(1, 0x9000, 256)).status, CONN_OK);
        let e = Entry {
            dma_base: 0x8000_0000,
            va_base: 0x1000,
            length: 0x1000,
            pd: PD,
            rights: 0xf,
            remote_inv: true,
        };
        let (r, _) = m.stag_cmd(Op::REGISTER, 0, e);
        assert_eq!(r.status, Status::OK);
        (m, r.stag.0)
    }

    #[test]
    fn write_is_placed_and_counted() {
        let (mut m, s) = nic();
        let o = m.segment(1, &fpdu(&Segment::write(s, 0x1010, vec![3; 40])));
        assert_eq!((o.action, o.reason), (Action::Place, 0));
        assert_eq!(
            o.place,
            Some(Placement {
                addr: 0x8000_0010,
                data: vec![3; 40]
            })
        );
        assert_eq!((m.counters().placed, m.counters().placed_bytes), (1, 40));
    }

    #[test]
    fn terminate_bytes_match_frames_and_error_follows() {
        let (mut m, s) = nic();
        let seg = Segment::write(s, 0x1ff0, vec![1; 17]);
        let o = m.segment(1, &fpdu(&seg));
        assert_eq!((o.action, o.reason), (Action::Terminate, 9));
        let want = fpdu(&Segment::terminate(
            1,
            Terminate {
                m: true,
                ddp: Some((17, seg.header())),
                ..Terminate::new(codes::DDP_T_BASE_BOUNDS)
            },
        ));
        assert_eq!(o.terminate.as_deref(), Some(&want[..]));
        assert_eq!(m.conn(1).unwrap().msn_term, 2);
        assert!(m.conn(1).unwrap().error);
        let o = m.segment(1, &fpdu(&Segment::write(s, 0x1000, vec![1; 4])));
        assert_eq!((o.action, o.reason), (Action::Drop, 1));
        assert_eq!(m.counters().check[9], 1);
        assert_eq!(m.counters().check[1], 1);
        assert_eq!(m.counters().terminates, 1);
    }

    #[test]
    fn read_request_error_carries_r() {
        let (mut m, _) = nic();
        let rr = ReadRequest {
            sink_stag: 1,
            sink_to: 2,
            size: 3,
            src_stag: 4,
            src_to: 5,
        };
        let seg = Segment::read_request(2, rr);
        let o = m.segment(1, &fpdu(&seg));
        assert_eq!(o.term, Some(codes::DDP_UT_MSN_RANGE));
        let want = fpdu(&Segment::terminate(
            1,
            Terminate {
                m: true,
                ddp: Some((0, seg.header())),
                rdma: Some(rr),
                ..Terminate::new(codes::DDP_UT_MSN_RANGE)
            },
        ));
        assert_eq!(o.terminate.unwrap(), want);
        let t = parse_fpdu(&want).unwrap();
        assert!(matches!(t.body, Body::Terminate(_)));
    }

    #[test]
    fn send_with_invalidate_then_write_refused() {
        let (mut m, s) = nic();
        let o = m.segment(
            1,
            &fpdu(&Segment::send(Opcode::SendInv, s, 1, vec![5; 100])),
        );
        assert_eq!(o.action, Action::Place);
        assert_eq!(o.invalidated, Some(s));
        assert_eq!(o.place.unwrap().addr, 0x9000);
        assert_eq!(m.conn(1).unwrap().msn_send, 2);
        assert!(m.conn(1).unwrap().rq.is_empty());
        let o = m.segment(1, &fpdu(&Segment::write(s, 0x1000, vec![1; 4])));
        assert_eq!(
            (o.action, o.term),
            (Action::Terminate, Some(codes::DDP_T_INVALID_STAG))
        );
    }

    #[test]
    fn foreign_install_and_reject() {
        let (mut m, _) = nic();
        let f = m.cfg().stag.make_stag(9, 3, 1);
        let e = Entry {
            dma_base: 0x5_0000,
            va_base: 0,
            length: 0x100,
            pd: PD,
            rights: 8,
            remote_inv: false,
        };
        m.set_policy(f, Answer::Install(e));
        let o = m.segment(1, &fpdu(&Segment::write(f, 0x10, vec![2; 8])));
        assert_eq!(o.parked_by, Some(5));
        assert_eq!(o.miss.unwrap().conn, 1);
        assert_eq!(o.place.unwrap().addr, 0x5_0010);
        let o = m.segment(1, &fpdu(&Segment::write(f, 0x20, vec![2; 8])));
        assert_eq!((o.action, o.miss), (Action::Place, None));
        let c = *m.counters();
        assert_eq!((c.parked, c.miss_events, c.placed), (1, 1, 2));
        // Reject.
        let g = m.cfg().stag.make_stag(9, 4, 1);
        m.set_policy(g, Answer::Reject);
        let o = m.segment(1, &fpdu(&Segment::write(g, 0x10, vec![2; 8])));
        assert_eq!(
            (o.action, o.reason, o.parked_by),
            (Action::Terminate, 5, Some(5))
        );
        assert_eq!(o.term, Some(codes::DDP_T_INVALID_STAG));
        // A zero-length Write to a foreign STag does not park.
        let (mut m, _) = nic();
        let o = m.segment(1, &fpdu(&Segment::write(g, 0x10, vec![])));
        assert_eq!((o.action, o.miss), (Action::Place, None));
        assert_eq!(m.counters().placed_bytes, 0);
    }

    #[test]
    fn describe_broken_fpdus() {
        let seg = Segment::write(0x1000_0100, 0, vec![1; 10]);
        let mut b = fpdu(&seg);
        let d = describe(&b, 4096);
        assert!(d.length_ok && d.crc_ok && d.count == 10);
        let n = b.len();
        b[n - 1] ^= 1;
        let d = describe(&b, 4096);
        assert!(d.length_ok && !d.crc_ok);
        b.push(0);
        let d = describe(&b, 4096);
        assert!(!d.length_ok && !d.crc_ok);
        let big = fpdu(&Segment::write(0x1000_0100, 0, vec![1; 65]));
        assert!(!describe(&big, 64).length_ok);
        assert!(describe(&fpdu(&Segment::write(0x1000_0100, 0, vec![1; 64])), 64).length_ok);
    }
}
