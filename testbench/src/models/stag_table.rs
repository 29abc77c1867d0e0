//! Reference model of `stag_table`, written from its contract
//! (`docs/stag_table.md`), plus everything a test needs to hold the RTL to it:
//!
//! * [`StagTable`]: the table as the contract describes it (own entries with
//!   an allocation counter and a free list, foreign slots with exact LRU as a
//!   recency list, the evictions counter) and its cycle timing: what the
//!   block presents before each edge ([`StagTable::expected`]) and what each
//!   edge does ([`StagTable::clock`]).
//! * [`Ports`]: the DUT's ports looked up by name once, so a cycle costs no
//!   string lookups; drives [`Inputs`], samples [`Observed`].
//! * [`Checker`]: per edge, compares every output with the model (first
//!   mismatch panics with cycle, port, expected, actual), checks the list
//!   stream through a [`Scoreboard`], then clocks the model with the inputs
//!   the DUT saw at that edge. [`spawn_monitor`] runs it as a task.
//! * [`RandomDriver`] / [`run_random`]: the constrained-random bench.
//!
//! Conventions are the runtime's (`crate::sim`): after `edge().await` with
//! `cycle() == N`, outputs are what the DUT presented at edge N and inputs
//! still hold what it sampled at edge N, until a driver writes new ones.
//!
//! Command timing (accept edge a): the tag memory is read at a, registered
//! at a+1, and the command commits and raises `resp_valid` at a+2. A
//! successful INSTALL chooses its victim at a+1 ([`VICTIM_EDGE`]), clears it
//! (counting the eviction) at a+2 and writes its slot, raising `resp_valid`,
//! at a+3. A QUERY that finds a valid entry reads the payload memory at the
//! first edge e >= a+2 where the payload port is free and answers at e+1;
//! LIST reads its payloads the same way. The port is busy at edge e when
//! `lookup_valid` was sampled high at edge e-1 (LATENCY >= 3) or at edge e
//! (LATENCY 2) ([`StagTable::port_free`]).
//!
//! Where the contract leaves room, the model takes the reading written in
//! `docs/stag_table.md` ("Reading of the contract in the tests"): payload
//! outputs are only compared while their valid is high; the LIST response of
//! an empty table may come at any edge; the INSTALL victim is chosen from
//! the slots and recency as they stand before edge a+1. LIST beat timing is
//! the DUT's, bounded by the contract: the n-th beat can be presented only
//! after n payload reads, i.e. after n free-port edges from a+2 on; a LIST
//! (or an empty LIST's answer) that makes no progress for a table scan's
//! worth of free-port edges fails.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::Rng;
use sim::{Model, Port};

use crate::{check_eq, Ctx, JoinHandle, Scoreboard, Sim};
// The encodings are facts of the contract, written once in the generator;
// the model's behaviour is written from docs/stag_table.md.
use hdl::blocks::stag_table::{lookup_status, op, status};

/// Build (or take from the cache) and load the table of `cfg`; `WAVES=1`
/// traces it to `target/waves/<test>.vcd`.
pub fn load_dut(cfg: &StagConfig, test: &str) -> Model {
    let module = hdl::blocks::stag_table::elaborate(&cfg.params())
        .unwrap_or_else(|e| panic!("elaborate: {e}"));
    let mut design = hdl::Design::default();
    design.add(&module).unwrap_or_else(|e| panic!("{e}"));
    crate::dut::load(&design, "stag_table", test).unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------
// Encodings
// ---------------------------------------------------------------------------

/// `name()` from the generator's table of names, and a Debug that prints
/// it with the value, for a code newtype.
macro_rules! named_code {
    ($ty:ident, $names:expr) => {
        impl $ty {
            pub fn name(self) -> &'static str {
                $names.get(self.0 as usize).copied().unwrap_or("?")
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", self.name(), self.0)
            }
        }
    };
}

/// A command opcode (`cmd_op`); Debug prints the name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Op(pub u8);

impl Op {
    pub const REGISTER: Op = Op(op::REGISTER as u8);
    pub const INVALIDATE: Op = Op(op::INVALIDATE as u8);
    pub const DEREGISTER: Op = Op(op::DEREGISTER as u8);
    pub const INSTALL: Op = Op(op::INSTALL as u8);
    pub const QUERY: Op = Op(op::QUERY as u8);
    pub const LIST: Op = Op(op::LIST as u8);
}

named_code!(Op, op::NAMES);

/// A command status (`resp_status`); Debug prints the name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Status(pub u8);

impl Status {
    pub const OK: Status = Status(status::OK as u8);
    pub const FULL: Status = Status(status::FULL as u8);
    pub const DUPLICATE: Status = Status(status::DUPLICATE as u8);
    pub const UNKNOWN: Status = Status(status::UNKNOWN as u8);
    pub const MALFORMED: Status = Status(status::MALFORMED as u8);
    pub const NOT_FOREIGN: Status = Status(status::NOT_FOREIGN as u8);
    pub const NOT_OWN: Status = Status(status::NOT_OWN as u8);
    pub const BAD_OP: Status = Status(status::BAD_OP as u8);
}

named_code!(Status, status::NAMES);

/// A lookup status (`lookup_resp_status`); Debug prints the name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct LookupStatus(pub u8);

impl LookupStatus {
    pub const HIT_OWN: LookupStatus = LookupStatus(lookup_status::HIT_OWN as u8);
    pub const HIT_FOREIGN: LookupStatus = LookupStatus(lookup_status::HIT_FOREIGN as u8);
    pub const MISS_FOREIGN: LookupStatus = LookupStatus(lookup_status::MISS_FOREIGN as u8);
    pub const INVALID: LookupStatus = LookupStatus(lookup_status::INVALID as u8);
    pub const MALFORMED: LookupStatus = LookupStatus(lookup_status::MALFORMED as u8);
}

named_code!(LookupStatus, lookup_status::NAMES);

/// The fields of one entry (own or foreign).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct Entry {
    pub dma_base: u64,
    pub va_base: u64,
    pub length: u64,
    pub pd: u32,
    /// 4 bits: local read, local write, remote read, remote write.
    pub rights: u8,
    pub remote_inv: bool,
}

/// Hex for the STag in messages.
#[derive(Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Stag(pub u32);

impl fmt::Debug for Stag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

/// What the table answers a lookup with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct LookupResp {
    pub stag: Stag,
    pub status: LookupStatus,
    pub entry: Entry,
}

/// What the table answers a command with (`resp_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CmdResp {
    pub status: Status,
    pub stag: Stag,
    pub entry: Entry,
    pub evicted: bool,
    pub count: u32,
}

/// One beat of `m_axis_list`, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ListBeat {
    pub stag: Stag,
    pub entry: Entry,
    /// The zero padding above the packed fields (must be zero).
    pub pad: u64,
    pub last: bool,
}

/// Where an STag points, for this table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Spare index bits not zero.
    Malformed,
    Own {
        entry: u32,
        key: u8,
    },
    Foreign,
}

fn mask64(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// `n <= 64` bits of a little-endian word vector from bit `lo`.
fn bits(words: &[u64], lo: u32, n: u32) -> u64 {
    if n == 0 {
        return 0;
    }
    let (w, b) = ((lo / 64) as usize, lo % 64);
    let mut v = words[w] >> b;
    if b != 0 && b + n > 64 {
        v |= words[w + 1] << (64 - b);
    }
    v & mask64(n)
}

fn put_bits(words: &mut [u64], lo: u32, n: u32, v: u64) {
    if n == 0 {
        return;
    }
    let v = v & mask64(n);
    let (w, b) = ((lo / 64) as usize, lo % 64);
    words[w] |= v << b;
    if b != 0 && b + n > 64 {
        words[w + 1] |= v >> (64 - b);
    }
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// The block's parameters (as in `StagTableParams`) plus the `nic_id` strap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagConfig {
    pub entries: u32,
    pub foreign_entries: u32,
    pub nic_id_bits: u32,
    pub lookup_latency: u32,
    pub pd_bits: u32,
    pub len_bits: u32,
    pub dma_addr_bits: u32,
    /// The value tied to the `nic_id` input.
    pub nic_id: u32,
}

impl StagConfig {
    /// The generator parameters of this configuration.
    pub fn params(&self) -> hdl::blocks::stag_table::StagTableParams {
        hdl::blocks::stag_table::StagTableParams {
            name: "stag_table".into(),
            entries: self.entries,
            foreign_entries: self.foreign_entries,
            nic_id_bits: self.nic_id_bits,
            lookup_latency: self.lookup_latency,
            pd_bits: self.pd_bits,
            len_bits: self.len_bits,
            dma_addr_bits: self.dma_addr_bits,
        }
    }

    /// The three parameter sets of the random tests and the bench: small
    /// at latency 2 (foreign fields in flip-flops), medium at 3, large at 6
    /// with one id bit, each with other field widths.
    pub fn random_sets() -> [(&'static str, StagConfig); 3] {
        let set = |entries,
                   foreign_entries,
                   nic_id_bits,
                   lookup_latency,
                   pd_bits,
                   len_bits,
                   dma_addr_bits,
                   nic_id| StagConfig {
            entries,
            foreign_entries,
            nic_id_bits,
            lookup_latency,
            pd_bits,
            len_bits,
            dma_addr_bits,
            nic_id,
        };
        [
            (
                "16 own / 8 foreign, latency 2, 4 id bits",
                set(16, 8, 4, 2, 16, 32, 64, 5),
            ),
            (
                "256 own / 16 foreign, latency 3, 8 id bits",
                set(256, 16, 8, 3, 8, 20, 48, 0xa7),
            ),
            (
                "4096 own / 64 foreign, latency 6, 1 id bit",
                set(4096, 64, 1, 6, 32, 64, 40, 1),
            ),
        ]
    }

    /// log2(ENTRIES).
    pub fn entry_bits(&self) -> u32 {
        self.entries.trailing_zeros()
    }
    /// Spare index bits between the entry and the NIC id.
    pub fn spare_bits(&self) -> u32 {
        24 - self.nic_id_bits - self.entry_bits()
    }
    /// Width of `resp_count`.
    pub fn count_bits(&self) -> u32 {
        self.entry_bits() + 1
    }
    /// Packed list fields without padding.
    pub fn list_payload_bits(&self) -> u32 {
        32 + self.dma_addr_bits + 64 + self.len_bits + self.pd_bits + 4 + 1
    }
    /// Width of `m_axis_list_tdata`.
    pub fn list_bits(&self) -> u32 {
        self.list_payload_bits().div_ceil(8) * 8
    }
    pub fn make_stag(&self, nic: u32, entry: u32, key: u8) -> u32 {
        (nic << (32 - self.nic_id_bits)) | (entry << 8) | key as u32
    }
    pub fn own_stag(&self, entry: u32, key: u8) -> u32 {
        self.make_stag(self.nic_id, entry, key)
    }
    pub fn nic_of(&self, stag: u32) -> u32 {
        stag >> (32 - self.nic_id_bits)
    }
    pub fn spare_of(&self, stag: u32) -> u32 {
        ((stag as u64 >> (8 + self.entry_bits())) & mask64(self.spare_bits())) as u32
    }
    /// Malformed first (whatever the NIC id), then own or foreign.
    pub fn classify(&self, stag: u32) -> Kind {
        if self.spare_of(stag) != 0 {
            Kind::Malformed
        } else if self.nic_of(stag) == self.nic_id {
            Kind::Own {
                entry: (stag >> 8) & (self.entries - 1),
                key: stag as u8,
            }
        } else {
            Kind::Foreign
        }
    }
    /// `e` cut to the port widths.
    pub fn fit(&self, e: Entry) -> Entry {
        Entry {
            dma_base: e.dma_base & mask64(self.dma_addr_bits),
            va_base: e.va_base,
            length: e.length & mask64(self.len_bits),
            pd: (e.pd as u64 & mask64(self.pd_bits)) as u32,
            rights: e.rights & 0xf,
            remote_inv: e.remote_inv,
        }
    }
    /// A random entry that fits the widths.
    pub fn random_entry(&self, rng: &mut impl Rng) -> Entry {
        self.fit(Entry {
            dma_base: rng.gen(),
            va_base: rng.gen(),
            length: rng.gen(),
            pd: rng.gen(),
            rights: rng.gen(),
            remote_inv: rng.gen(),
        })
    }

    /// Decode a list beat from `tdata` words.
    pub fn decode_list(&self, tdata: &[u64], last: bool) -> ListBeat {
        let (d, l, p) = (self.dma_addr_bits, self.len_bits, self.pd_bits);
        let mut lo = 0;
        let mut take = |n: u32| {
            let v = bits(tdata, lo, n);
            lo += n;
            v
        };
        let stag = Stag(take(32) as u32);
        let entry = Entry {
            dma_base: take(d),
            va_base: take(64),
            length: take(l),
            pd: take(p) as u32,
            rights: take(4) as u8,
            remote_inv: take(1) != 0,
        };
        let pad = take(self.list_bits() - self.list_payload_bits());
        ListBeat {
            stag,
            entry,
            pad,
            last,
        }
    }

    /// Encode a list beat as the contract packs it (for tests of the decoder).
    pub fn encode_list(&self, b: &ListBeat) -> [u64; 5] {
        let mut w = [0u64; 5];
        let mut lo = 0;
        for (n, v) in [
            (32, b.stag.0 as u64),
            (self.dma_addr_bits, b.entry.dma_base),
            (64, b.entry.va_base),
            (self.len_bits, b.entry.length),
            (self.pd_bits, b.entry.pd as u64),
            (4, b.entry.rights as u64),
            (1, b.entry.remote_inv as u64),
            (self.list_bits() - self.list_payload_bits(), b.pad),
        ] {
            put_bits(&mut w, lo, n, v);
            lo += n;
        }
        w
    }
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

/// Inputs as the DUT samples them at one edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    pub rst: bool,
    pub lookup_valid: bool,
    pub lookup_stag: u32,
    pub cmd_valid: bool,
    pub cmd_op: u8,
    pub cmd_stag: u32,
    pub cmd_entry: Entry,
    pub resp_ready: bool,
    pub list_tready: bool,
}

/// A command as accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cmd {
    pub op: Op,
    pub stag: Stag,
    pub entry: Entry,
}

/// The command response the model expects in the current cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpResp {
    /// `resp_valid` low.
    None,
    /// `resp_valid` high with this response.
    Some(CmdResp),
    /// LIST of an empty table: the contract does not say when it answers;
    /// either still low, or high with this response.
    NoneOr(CmdResp),
}

/// What the block should present in the current cycle (sampled at the next edge).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub cmd_ready: bool,
    pub resp: ExpResp,
    /// `lookup_resp_valid` and, when high, the answer.
    pub lookup: Option<LookupResp>,
    pub evictions: u32,
    /// A LIST is streaming: `m_axis_list_tvalid` may be high.
    pub list_open: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Own {
    allocated: bool,
    valid: bool,
    key: u8,
    entry: Entry,
}

#[derive(Clone, Copy, Debug)]
enum State {
    Idle,
    /// Accepted at edge a (tag memory read); registered at a+1.
    Read(Cmd),
    /// Registered at a+1; commits at a+2. For an INSTALL, the victim slot
    /// if it was chosen at a+1 (see [`VICTIM_EDGE`]).
    Commit(Cmd, Option<usize>),
    /// Successful install: victim cleared at a+2, slot written at a+3.
    Install2 {
        slot: usize,
        cmd: Cmd,
        evicted: bool,
    },
    /// QUERY of a valid entry, from edge a+2 on: the payload is read at the
    /// first edge with the payload port free.
    QueryWait {
        stag: Stag,
        entry: Entry,
    },
    /// The payload was read at the previous edge: answer at this one.
    QueryRead {
        stag: Stag,
        entry: Entry,
    },
    /// Streaming `left` of `total` beats; `age` edges since the accept,
    /// `reads` payload reads possible so far (free-port edges from a+2 on).
    List {
        stag: Stag,
        total: u32,
        left: u32,
        age: u32,
        reads: u32,
    },
    /// The last beat was taken at the previous edge: answer at this one.
    ListDone {
        stag: Stag,
        total: u32,
    },
    /// LIST of an empty table, answer not seen yet.
    ListEmpty {
        stag: Stag,
    },
    /// Holding a response until `resp_ready`.
    Resp(CmdResp),
}

/// The edge (a + this) of an INSTALL accepted at a whose pre-edge slots and
/// recency choose the victim. `docs/stag_table.md` ("LRU") says a+1: a lookup
/// hit at a-1 (use landing at a) saves its slot, one at a or later does not.
/// (The contract said a+2 in the first draft of the rework; 2 models that.)
pub const VICTIM_EDGE: u32 = 1;

/// The STag table of the contract.
#[derive(Clone, Debug)]
pub struct StagTable {
    cfg: StagConfig,
    /// Own entries, indexed by entry number; an entry at or above `counter`
    /// is empty whatever is stored here.
    own: Vec<Own>,
    /// Entries handed out since reset.
    counter: u32,
    /// Freed entries with their next key, oldest first.
    free: VecDeque<(u32, u8)>,
    /// Foreign slots: tag and entry, or empty.
    slots: Vec<Option<(u32, Entry)>>,
    /// Slot numbers, least recently used first (all slots, always).
    recency: Vec<usize>,
    evictions: u32,
    /// Lookup answers in flight; the front is presented now.
    pipe: VecDeque<Option<LookupResp>>,
    /// Slot hit by the lookup at the previous edge: made MRU at this one.
    pending_touch: Option<usize>,
    /// A lookup was requested at the previous edge (not across a reset).
    prev_lookup: bool,
    /// Edges at which a QUERY of a valid entry found the payload port busy
    /// (for coverage: the stall really happened).
    query_busy_edges: u64,
    state: State,
    /// Valid own entries allocated (for the driver).
    allocated: u32,
    /// Beats queued by a LIST accepted at the last edge (see `take_new_beats`).
    new_beats: Vec<ListBeat>,
    /// The command in flight (for messages and statistics).
    current: Option<Cmd>,
}

impl StagTable {
    /// The table right after a reset.
    pub fn new(cfg: StagConfig) -> Self {
        let f = cfg.foreign_entries as usize;
        let mut t = StagTable {
            own: vec![Own::default(); cfg.entries as usize],
            counter: 0,
            free: VecDeque::with_capacity(cfg.entries as usize),
            slots: vec![None; f],
            recency: (0..f).collect(),
            evictions: 0,
            pipe: VecDeque::with_capacity(cfg.lookup_latency as usize + 1),
            pending_touch: None,
            prev_lookup: false,
            query_busy_edges: 0,
            state: State::Idle,
            allocated: 0,
            new_beats: Vec::new(),
            current: None,
            cfg,
        };
        t.reset();
        t
    }

    /// Synchronous reset: empty table (the allocation counter and free list
    /// restart, so keys start at 0 again), no foreign entries, counters zero,
    /// nothing in flight.
    pub fn reset(&mut self) {
        self.counter = 0;
        self.free.clear();
        self.slots.iter_mut().for_each(|s| *s = None);
        self.recency = (0..self.slots.len()).collect();
        self.evictions = 0;
        self.pipe.clear();
        self.pipe
            .extend(std::iter::repeat_n(None, self.cfg.lookup_latency as usize));
        self.pending_touch = None;
        self.prev_lookup = false;
        self.state = State::Idle;
        self.allocated = 0;
        self.new_beats.clear();
        self.current = None;
    }

    pub fn cfg(&self) -> &StagConfig {
        &self.cfg
    }

    // --- read-only views (drivers use them to pick interesting STags) ------

    /// Entries handed out by the allocation counter since reset.
    pub fn counter(&self) -> u32 {
        self.counter
    }
    /// Entries currently allocated (valid or invalidated).
    pub fn allocated(&self) -> u32 {
        self.allocated
    }
    /// No entry left for a REGISTER.
    pub fn is_full(&self) -> bool {
        self.free.is_empty() && self.counter == self.cfg.entries
    }
    /// `(valid, key)` of own entry `e` if allocated.
    pub fn own_entry(&self, e: u32) -> Option<(bool, u8)> {
        let o = self.own.get(e as usize)?;
        (e < self.counter && o.allocated).then_some((o.valid, o.key))
    }
    /// The key entry `e` had last (allocated or freed; 0 if never used).
    pub fn last_key(&self, e: u32) -> u8 {
        if e < self.counter {
            self.own[e as usize].key
        } else {
            0
        }
    }
    /// The key stored in the RAM word of entry `e`, whether or not the entry
    /// counts as allocated (after a reset the RAM keeps its old contents).
    pub fn ram_key(&self, e: u32) -> u8 {
        self.own[e as usize].key
    }
    /// Tag in foreign slot `s`, if any.
    pub fn slot_tag(&self, s: usize) -> Option<u32> {
        self.slots[s].map(|(t, _)| t)
    }
    /// Slot numbers, least recently used first.
    pub fn recency(&self) -> &[usize] {
        &self.recency
    }
    pub fn evictions(&self) -> u32 {
        self.evictions
    }
    /// No command in flight and no response held.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }
    /// The command in flight, if any.
    pub fn current(&self) -> Option<Cmd> {
        self.current
    }
    pub fn is_empty_list_pending(&self) -> bool {
        matches!(self.state, State::ListEmpty { .. })
    }
    /// Whether the payload read port is free for QUERY and LIST at the edge
    /// that samples `i`: busy when a lookup is requested at this edge
    /// (LATENCY 2) or was requested at the previous one (LATENCY >= 3; a
    /// request before a reset edge does not count).
    #[inline]
    pub fn port_free(&self, i: &Inputs) -> bool {
        if self.cfg.lookup_latency <= 2 {
            !i.lookup_valid
        } else {
            !self.prev_lookup
        }
    }
    /// A LIST streaming: `(beats taken, payload reads possible so far)`. The
    /// beat after the taken ones may be presented only while `taken < reads`.
    pub fn list_progress(&self) -> Option<(u32, u32)> {
        match self.state {
            State::List {
                total, left, reads, ..
            } => Some((total - left, reads)),
            _ => None,
        }
    }
    /// A QUERY of a valid entry is waiting for (or doing) its payload read.
    pub fn is_query_waiting(&self) -> bool {
        matches!(self.state, State::QueryWait { .. })
    }
    /// Edges (since the model was made, across resets) at which a waiting
    /// QUERY found the payload port busy.
    pub fn query_busy_edges(&self) -> u64 {
        self.query_busy_edges
    }
    /// Every valid own entry as list beats, in entry order.
    pub fn list(&self) -> Vec<ListBeat> {
        let mut v: Vec<ListBeat> = (0..self.counter)
            .filter(|&e| self.own[e as usize].allocated && self.own[e as usize].valid)
            .map(|e| {
                let o = &self.own[e as usize];
                ListBeat {
                    stag: Stag(self.cfg.own_stag(e, o.key)),
                    entry: o.entry,
                    pad: 0,
                    last: false,
                }
            })
            .collect();
        if let Some(b) = v.last_mut() {
            b.last = true;
        }
        v
    }

    // --- behaviour -----------------------------------------------------------

    fn find_slot(&self, stag: u32) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| matches!(s, Some((t, _)) if *t == stag))
    }

    fn own_valid(&self, e: u32, key: u8) -> Option<&Own> {
        let o = &self.own[e as usize];
        (e < self.counter && o.allocated && o.valid && o.key == key).then_some(o)
    }

    /// The answer to a lookup of `stag` against the current table, and the
    /// foreign slot it uses.
    pub fn lookup(&self, stag: u32) -> (LookupResp, Option<usize>) {
        let resp = |status, entry| LookupResp {
            stag: Stag(stag),
            status,
            entry,
        };
        match self.cfg.classify(stag) {
            Kind::Malformed => (resp(LookupStatus::MALFORMED, Entry::default()), None),
            Kind::Own { entry, key } => match self.own_valid(entry, key) {
                Some(o) => (resp(LookupStatus::HIT_OWN, o.entry), None),
                None => (resp(LookupStatus::INVALID, Entry::default()), None),
            },
            Kind::Foreign => match self.find_slot(stag) {
                Some(s) => (
                    resp(LookupStatus::HIT_FOREIGN, self.slots[s].unwrap().1),
                    Some(s),
                ),
                None => (resp(LookupStatus::MISS_FOREIGN, Entry::default()), None),
            },
        }
    }

    fn touch(&mut self, s: usize) {
        let i = self
            .recency
            .iter()
            .position(|&x| x == s)
            .expect("every slot is in the recency list");
        self.recency.remove(i);
        self.recency.push(s);
    }

    /// What the block presents now, i.e. what the next edge samples.
    pub fn expected(&self) -> Expected {
        let resp = match self.state {
            State::Resp(r) => ExpResp::Some(r),
            State::ListEmpty { stag } => ExpResp::NoneOr(CmdResp {
                status: Status::OK,
                stag,
                ..CmdResp::default()
            }),
            _ => ExpResp::None,
        };
        Expected {
            cmd_ready: matches!(self.state, State::Idle),
            resp,
            lookup: *self.pipe.front().expect("pipe holds LATENCY answers"),
            evictions: self.evictions,
            list_open: matches!(self.state, State::List { .. }),
        }
    }

    /// The DUT answered an empty LIST (allowed at any edge): hold its response.
    pub fn finish_empty_list(&mut self) {
        if let State::ListEmpty { stag } = self.state {
            self.state = State::Resp(CmdResp {
                status: Status::OK,
                stag,
                ..CmdResp::default()
            });
        }
    }

    /// Beats of a LIST accepted at the last edge, in order (empty otherwise).
    pub fn take_new_beats(&mut self) -> Vec<ListBeat> {
        std::mem::take(&mut self.new_beats)
    }

    /// One rising edge with inputs `i`. `beat_taken`: a list beat was
    /// transferred at this edge (`tvalid && tready`; its timing is the
    /// DUT's, its contents are checked by the caller's scoreboard).
    pub fn clock(&mut self, i: &Inputs, beat_taken: bool) {
        if i.rst {
            self.reset();
            return;
        }
        // 1. The lookup sees the table as committed before this edge.
        let (answer, touch) = if i.lookup_valid {
            let (r, t) = self.lookup(i.lookup_stag);
            (Some(r), t)
        } else {
            (None, None)
        };
        let port_free = self.port_free(i);
        // 2. The command side, reading the pre-edge table (incl. recency).
        let mut install_touch = None;
        match self.state {
            State::Idle => {
                if i.cmd_valid {
                    let cmd = Cmd {
                        op: Op(i.cmd_op & 7),
                        stag: Stag(i.cmd_stag),
                        entry: self.cfg.fit(i.cmd_entry),
                    };
                    self.current = Some(cmd);
                    self.state = if cmd.op == Op::LIST {
                        // Nothing changes the table while the LIST runs, so
                        // its contents are fixed here; only the timing waits.
                        let beats = self.list();
                        let total = beats.len() as u32;
                        self.new_beats = beats;
                        if total == 0 {
                            State::ListEmpty { stag: cmd.stag }
                        } else {
                            State::List {
                                stag: cmd.stag,
                                total,
                                left: total,
                                age: 0,
                                reads: 0,
                            }
                        }
                    } else {
                        State::Read(cmd)
                    };
                }
            }
            State::Read(cmd) => {
                let victim = (VICTIM_EDGE == 1 && cmd.op == Op::INSTALL).then(|| self.victim());
                self.state = State::Commit(cmd, victim);
            }
            State::Commit(cmd, victim) => self.state = self.commit(cmd, victim, port_free),
            State::Install2 { slot, cmd, evicted } => {
                self.slots[slot] = Some((cmd.stag.0, cmd.entry));
                install_touch = Some(slot);
                self.state = State::Resp(CmdResp {
                    status: Status::OK,
                    stag: cmd.stag,
                    evicted,
                    ..CmdResp::default()
                });
            }
            State::QueryWait { stag, entry } => {
                if port_free {
                    self.state = State::QueryRead { stag, entry };
                } else {
                    self.query_busy_edges += 1;
                }
            }
            State::QueryRead { stag, entry } => {
                self.state = State::Resp(CmdResp {
                    status: Status::OK,
                    stag,
                    entry,
                    ..CmdResp::default()
                });
            }
            State::List {
                stag,
                total,
                left,
                age,
                reads,
            } => {
                // This is edge a+age+1; payload reads from a+2 on.
                let age = age + 1;
                let reads = if age >= 2 && port_free && reads < total {
                    reads + 1
                } else {
                    reads
                };
                self.state = if beat_taken && left == 1 {
                    State::ListDone { stag, total }
                } else {
                    State::List {
                        stag,
                        total,
                        left: left - beat_taken as u32,
                        age,
                        reads,
                    }
                };
            }
            State::ListDone { stag, total } => {
                self.state = State::Resp(CmdResp {
                    status: Status::OK,
                    stag,
                    count: total,
                    ..CmdResp::default()
                });
            }
            State::ListEmpty { .. } => {}
            State::Resp(_) => {
                if i.resp_ready {
                    self.state = State::Idle;
                    self.current = None;
                }
            }
        }
        // 3. LRU: the previous edge's lookup hit, then this edge's install.
        if let Some(s) = self.pending_touch.take() {
            self.touch(s);
        }
        if let Some(s) = install_touch {
            self.touch(s);
        }
        self.pending_touch = touch;
        self.prev_lookup = i.lookup_valid;
        // 4. The lookup pipeline.
        self.pipe.pop_front();
        self.pipe.push_back(answer);
    }

    /// The slot an install would use now: the lowest-numbered empty slot,
    /// else the least recently used one (recency before this edge's touches).
    fn victim(&self) -> usize {
        self.slots
            .iter()
            .position(Option::is_none)
            .unwrap_or(self.recency[0])
    }

    /// Edge a+2 of a command (LIST never gets here); `victim`: an INSTALL's
    /// slot if chosen at a+1; `port_free`: the payload port is free at this edge.
    fn commit(&mut self, cmd: Cmd, victim: Option<usize>, port_free: bool) -> State {
        let resp = |status| {
            State::Resp(CmdResp {
                status,
                stag: cmd.stag,
                ..CmdResp::default()
            })
        };
        let kind = self.cfg.classify(cmd.stag.0);
        match cmd.op {
            Op::REGISTER => {
                let (e, key) = if let Some(x) = self.free.pop_front() {
                    x
                } else if self.counter < self.cfg.entries {
                    self.counter += 1;
                    (self.counter - 1, 0)
                } else {
                    return resp(Status::FULL);
                };
                self.own[e as usize] = Own {
                    allocated: true,
                    valid: true,
                    key,
                    entry: cmd.entry,
                };
                self.allocated += 1;
                State::Resp(CmdResp {
                    status: Status::OK,
                    stag: Stag(self.cfg.own_stag(e, key)),
                    ..CmdResp::default()
                })
            }
            Op::INVALIDATE => match kind {
                Kind::Malformed => resp(Status::MALFORMED),
                Kind::Own { entry, key } => {
                    if self.own_valid(entry, key).is_some() {
                        self.own[entry as usize].valid = false;
                        resp(Status::OK)
                    } else {
                        resp(Status::UNKNOWN)
                    }
                }
                Kind::Foreign => match self.find_slot(cmd.stag.0) {
                    Some(s) => {
                        self.slots[s] = None;
                        resp(Status::OK)
                    }
                    None => resp(Status::UNKNOWN),
                },
            },
            Op::DEREGISTER => match kind {
                Kind::Malformed => resp(Status::MALFORMED),
                Kind::Foreign => resp(Status::NOT_OWN),
                Kind::Own { entry, key } => match self.own_entry(entry) {
                    Some((_, k)) if k == key => {
                        let o = &mut self.own[entry as usize];
                        o.allocated = false;
                        o.valid = false;
                        self.free.push_back((entry, key.wrapping_add(1)));
                        self.allocated -= 1;
                        resp(Status::OK)
                    }
                    _ => resp(Status::UNKNOWN),
                },
            },
            Op::INSTALL => match kind {
                Kind::Malformed => resp(Status::MALFORMED),
                Kind::Own { .. } => resp(Status::NOT_FOREIGN),
                Kind::Foreign => {
                    if self.find_slot(cmd.stag.0).is_some() {
                        return resp(Status::DUPLICATE);
                    }
                    let slot = victim.unwrap_or_else(|| self.victim());
                    let evicted = self.slots[slot].take().is_some();
                    if evicted {
                        self.evictions = self.evictions.wrapping_add(1);
                    }
                    State::Install2 { slot, cmd, evicted }
                }
            },
            Op::QUERY => match kind {
                Kind::Malformed => resp(Status::MALFORMED),
                Kind::Foreign => resp(Status::NOT_OWN),
                Kind::Own { entry, key } => match self.own_valid(entry, key) {
                    // Payload read at the first free edge e >= a+2, answer at e+1.
                    Some(o) => {
                        let (stag, entry) = (cmd.stag, o.entry);
                        if port_free {
                            State::QueryRead { stag, entry }
                        } else {
                            self.query_busy_edges += 1;
                            State::QueryWait { stag, entry }
                        }
                    }
                    None => resp(Status::UNKNOWN),
                },
            },
            _ => resp(Status::BAD_OP),
        }
    }
}

// ---------------------------------------------------------------------------
// Port adapter
// ---------------------------------------------------------------------------

/// Every output of the block, as sampled at one edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    pub cmd_ready: bool,
    pub resp_valid: bool,
    pub resp: CmdResp,
    pub lookup_valid: bool,
    pub lookup: LookupResp,
    pub list_tvalid: bool,
    pub list_tlast: bool,
    pub list_tdata: [u64; 5],
    pub evictions: u32,
}

/// The DUT's ports, looked up once.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub rst: Port,
    pub nic_id: Port,
    pub lookup_valid: Port,
    pub lookup_stag: Port,
    pub lookup_resp_valid: Port,
    pub lookup_resp_stag: Port,
    pub lookup_resp_status: Port,
    pub lookup_resp_dma_base: Port,
    pub lookup_resp_va_base: Port,
    pub lookup_resp_length: Port,
    pub lookup_resp_pd: Port,
    pub lookup_resp_rights: Port,
    pub lookup_resp_remote_inv: Port,
    pub cmd_valid: Port,
    pub cmd_ready: Port,
    pub cmd_op: Port,
    pub cmd_stag: Port,
    pub cmd_dma_base: Port,
    pub cmd_va_base: Port,
    pub cmd_length: Port,
    pub cmd_pd: Port,
    pub cmd_rights: Port,
    pub cmd_remote_inv: Port,
    pub resp_valid: Port,
    pub resp_ready: Port,
    pub resp_status: Port,
    pub resp_stag: Port,
    pub resp_dma_base: Port,
    pub resp_va_base: Port,
    pub resp_length: Port,
    pub resp_pd: Port,
    pub resp_rights: Port,
    pub resp_remote_inv: Port,
    pub resp_evicted: Port,
    pub resp_count: Port,
    pub m_axis_list_tdata: Port,
    pub m_axis_list_tvalid: Port,
    pub m_axis_list_tready: Port,
    pub m_axis_list_tlast: Port,
    pub evictions: Port,
    nic: u64,
}

impl Ports {
    /// Look every port up and check its direction and width against the
    /// contract for `cfg`. The error lists every difference.
    pub fn new(m: &Model, cfg: &StagConfig) -> Result<Ports, String> {
        let (nib, d, l, p) = (
            cfg.nic_id_bits,
            cfg.dma_addr_bits,
            cfg.len_bits,
            cfg.pd_bits,
        );
        let mut errors = Vec::new();
        let mut get = |name: &str, input: bool, width: u32| -> Port {
            match m.port(name) {
                Ok(port) => {
                    if port.is_input != input || port.width != width {
                        errors.push(format!(
                            "port `{name}`: expected {} [{width}], got {} [{}]",
                            if input { "input" } else { "output" },
                            if port.is_input { "input" } else { "output" },
                            port.width
                        ));
                    }
                    port
                }
                Err(e) => {
                    errors.push(e.to_string());
                    Port {
                        index: 0,
                        width: 0,
                        is_input: input,
                        offset: 0,
                        words: 0,
                    }
                }
            }
        };
        let ports = Ports {
            rst: get("rst", true, 1),
            nic_id: get("nic_id", true, nib),
            lookup_valid: get("lookup_valid", true, 1),
            lookup_stag: get("lookup_stag", true, 32),
            lookup_resp_valid: get("lookup_resp_valid", false, 1),
            lookup_resp_stag: get("lookup_resp_stag", false, 32),
            lookup_resp_status: get("lookup_resp_status", false, 3),
            lookup_resp_dma_base: get("lookup_resp_dma_base", false, d),
            lookup_resp_va_base: get("lookup_resp_va_base", false, 64),
            lookup_resp_length: get("lookup_resp_length", false, l),
            lookup_resp_pd: get("lookup_resp_pd", false, p),
            lookup_resp_rights: get("lookup_resp_rights", false, 4),
            lookup_resp_remote_inv: get("lookup_resp_remote_inv", false, 1),
            cmd_valid: get("cmd_valid", true, 1),
            cmd_ready: get("cmd_ready", false, 1),
            cmd_op: get("cmd_op", true, 3),
            cmd_stag: get("cmd_stag", true, 32),
            cmd_dma_base: get("cmd_dma_base", true, d),
            cmd_va_base: get("cmd_va_base", true, 64),
            cmd_length: get("cmd_length", true, l),
            cmd_pd: get("cmd_pd", true, p),
            cmd_rights: get("cmd_rights", true, 4),
            cmd_remote_inv: get("cmd_remote_inv", true, 1),
            resp_valid: get("resp_valid", false, 1),
            resp_ready: get("resp_ready", true, 1),
            resp_status: get("resp_status", false, 3),
            resp_stag: get("resp_stag", false, 32),
            resp_dma_base: get("resp_dma_base", false, d),
            resp_va_base: get("resp_va_base", false, 64),
            resp_length: get("resp_length", false, l),
            resp_pd: get("resp_pd", false, p),
            resp_rights: get("resp_rights", false, 4),
            resp_remote_inv: get("resp_remote_inv", false, 1),
            resp_evicted: get("resp_evicted", false, 1),
            resp_count: get("resp_count", false, cfg.count_bits()),
            m_axis_list_tdata: get("m_axis_list_tdata", false, cfg.list_bits()),
            m_axis_list_tvalid: get("m_axis_list_tvalid", false, 1),
            m_axis_list_tready: get("m_axis_list_tready", true, 1),
            m_axis_list_tlast: get("m_axis_list_tlast", false, 1),
            evictions: get("evictions", false, 32),
            nic: cfg.nic_id as u64,
        };
        if errors.is_empty() {
            Ok(ports)
        } else {
            Err(format!(
                "stag_table ports differ from docs/stag_table.md:\n  {}",
                errors.join("\n  ")
            ))
        }
    }

    /// Drive all inputs (and the `nic_id` strap).
    #[inline]
    pub fn drive(&self, m: &mut Model, i: &Inputs) {
        m.set(self.nic_id, self.nic);
        m.set(self.rst, i.rst as u64);
        m.set(self.lookup_valid, i.lookup_valid as u64);
        m.set(self.lookup_stag, i.lookup_stag as u64);
        m.set(self.cmd_valid, i.cmd_valid as u64);
        m.set(self.cmd_op, i.cmd_op as u64);
        m.set(self.cmd_stag, i.cmd_stag as u64);
        m.set(self.cmd_dma_base, i.cmd_entry.dma_base);
        m.set(self.cmd_va_base, i.cmd_entry.va_base);
        m.set(self.cmd_length, i.cmd_entry.length);
        m.set(self.cmd_pd, i.cmd_entry.pd as u64);
        m.set(self.cmd_rights, i.cmd_entry.rights as u64);
        m.set(self.cmd_remote_inv, i.cmd_entry.remote_inv as u64);
        m.set(self.resp_ready, i.resp_ready as u64);
        m.set(self.m_axis_list_tready, i.list_tready as u64);
    }

    /// The inputs currently driven (after an edge: the ones it sampled).
    #[inline]
    pub fn inputs(&self, m: &Model) -> Inputs {
        Inputs {
            rst: m.get(self.rst) != 0,
            lookup_valid: m.get(self.lookup_valid) != 0,
            lookup_stag: m.get(self.lookup_stag) as u32,
            cmd_valid: m.get(self.cmd_valid) != 0,
            cmd_op: m.get(self.cmd_op) as u8,
            cmd_stag: m.get(self.cmd_stag) as u32,
            cmd_entry: Entry {
                dma_base: m.get(self.cmd_dma_base),
                va_base: m.get(self.cmd_va_base),
                length: m.get(self.cmd_length),
                pd: m.get(self.cmd_pd) as u32,
                rights: m.get(self.cmd_rights) as u8,
                remote_inv: m.get(self.cmd_remote_inv) != 0,
            },
            resp_ready: m.get(self.resp_ready) != 0,
            list_tready: m.get(self.m_axis_list_tready) != 0,
        }
    }

    /// Every output as sampled at the last edge.
    #[inline]
    pub fn sample(&self, m: &Model) -> Observed {
        let mut tdata = [0u64; 5];
        let w = m.get_wide(self.m_axis_list_tdata);
        tdata[..w.len()].copy_from_slice(w);
        Observed {
            cmd_ready: m.get(self.cmd_ready) != 0,
            resp_valid: m.get(self.resp_valid) != 0,
            resp: CmdResp {
                status: Status(m.get(self.resp_status) as u8),
                stag: Stag(m.get(self.resp_stag) as u32),
                entry: Entry {
                    dma_base: m.get(self.resp_dma_base),
                    va_base: m.get(self.resp_va_base),
                    length: m.get(self.resp_length),
                    pd: m.get(self.resp_pd) as u32,
                    rights: m.get(self.resp_rights) as u8,
                    remote_inv: m.get(self.resp_remote_inv) != 0,
                },
                evicted: m.get(self.resp_evicted) != 0,
                count: m.get(self.resp_count) as u32,
            },
            lookup_valid: m.get(self.lookup_resp_valid) != 0,
            lookup: LookupResp {
                stag: Stag(m.get(self.lookup_resp_stag) as u32),
                status: LookupStatus(m.get(self.lookup_resp_status) as u8),
                entry: Entry {
                    dma_base: m.get(self.lookup_resp_dma_base),
                    va_base: m.get(self.lookup_resp_va_base),
                    length: m.get(self.lookup_resp_length),
                    pd: m.get(self.lookup_resp_pd) as u32,
                    rights: m.get(self.lookup_resp_rights) as u8,
                    remote_inv: m.get(self.lookup_resp_remote_inv) != 0,
                },
            },
            list_tvalid: m.get(self.m_axis_list_tvalid) != 0,
            list_tlast: m.get(self.m_axis_list_tlast) != 0,
            list_tdata: tdata,
            evictions: m.get(self.evictions) as u32,
        }
    }
}

// ---------------------------------------------------------------------------
// Checker
// ---------------------------------------------------------------------------

/// What the checker counted (coverage evidence for the tests).
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    /// Responses taken, by `[op][status]`.
    pub responses: [[u64; 8]; 8],
    /// Lookup answers, by status.
    pub lookups: [u64; 5],
    pub list_beats: u64,
    /// Evictions seen in INSTALL responses.
    pub evicted_installs: u64,
    pub resets: u64,
    /// Edges compared with the model.
    pub checked_edges: u64,
    /// Edges at which a QUERY of a valid entry waited for the payload port.
    pub query_busy_edges: u64,
    /// Edges at which a streaming LIST found the payload port busy.
    pub list_busy_edges: u64,
}

impl Coverage {
    /// `(op, status)` pairs the contract allows that were never answered.
    pub fn missing_responses(&self) -> Vec<(Op, Status)> {
        let allowed: [(Op, &[Status]); 8] = [
            (Op::REGISTER, &[Status::OK, Status::FULL]),
            (
                Op::INVALIDATE,
                &[Status::OK, Status::UNKNOWN, Status::MALFORMED],
            ),
            (
                Op::DEREGISTER,
                &[
                    Status::OK,
                    Status::UNKNOWN,
                    Status::NOT_OWN,
                    Status::MALFORMED,
                ],
            ),
            (
                Op::INSTALL,
                &[
                    Status::OK,
                    Status::DUPLICATE,
                    Status::NOT_FOREIGN,
                    Status::MALFORMED,
                ],
            ),
            (
                Op::QUERY,
                &[
                    Status::OK,
                    Status::UNKNOWN,
                    Status::NOT_OWN,
                    Status::MALFORMED,
                ],
            ),
            (Op::LIST, &[Status::OK]),
            (Op(6), &[Status::BAD_OP]),
            (Op(7), &[Status::BAD_OP]),
        ];
        let mut v = Vec::new();
        for (op, sts) in allowed {
            for &s in sts {
                if self.responses[op.0 as usize][s.0 as usize] == 0 {
                    v.push((op, s));
                }
            }
        }
        v
    }
}

/// Compares the DUT with the model at every edge; see the module docs.
pub struct Checker {
    ports: Ports,
    model: StagTable,
    sb: Scoreboard<ListBeat>,
    /// A reset edge has been seen (before it the DUT state is unknown).
    armed: bool,
    /// A beat presented but not taken at the last edge: it must stay.
    held: Option<([u64; 5], bool)>,
    /// Free-port edges a LIST waited without a beat (or an empty LIST
    /// without its answer).
    stall: u64,
    stall_limit: u64,
    /// Accept cycle of the command in flight.
    accepted_at: u64,
    cov: Coverage,
}

impl Checker {
    pub fn new(ports: Ports, cfg: StagConfig) -> Self {
        // A scan of the whole table with a little slack per entry, counted
        // in edges with the payload port free (lookups stall a LIST).
        let stall_limit = 4 * cfg.entries as u64 + 64;
        Checker {
            ports,
            model: StagTable::new(cfg),
            sb: Scoreboard::new("m_axis_list"),
            armed: false,
            held: None,
            stall: 0,
            stall_limit,
            accepted_at: 0,
            cov: Coverage::default(),
        }
    }

    pub fn model(&self) -> &StagTable {
        &self.model
    }
    pub fn ports(&self) -> &Ports {
        &self.ports
    }
    pub fn coverage(&self) -> &Coverage {
        &self.cov
    }
    /// Expected list beats not yet seen.
    pub fn pending_beats(&self) -> usize {
        self.sb.pending()
    }
    /// Assert every expected list beat was seen.
    pub fn finish(&self) {
        self.sb.finish()
    }

    /// The edge `cycle` just happened: check what the DUT presented at it,
    /// then clock the model with the inputs it sampled.
    pub fn on_edge(&mut self, dut: &Model, cycle: u64) {
        let i = self.ports.inputs(dut);
        if !self.armed {
            if i.rst {
                self.armed = true;
                self.model.reset();
            }
            return;
        }
        let o = self.ports.sample(dut);
        let beat = self.check(&o, &i, cycle);
        if !i.rst && i.cmd_valid && self.model.is_idle() {
            self.accepted_at = cycle;
        }
        self.model.clock(&i, beat);
        self.cov.query_busy_edges = self.model.query_busy_edges();
        if i.rst {
            self.cov.resets += 1;
            self.sb = Scoreboard::new("m_axis_list");
            self.held = None;
            self.stall = 0;
        } else {
            for b in self.model.take_new_beats() {
                self.sb.expect(b);
            }
        }
    }

    fn cmd_context(&self) -> String {
        match self.model.current() {
            Some(c) => format!(
                "{:?} {:?} accepted at cycle {}",
                c.op, c.stag, self.accepted_at
            ),
            None => "no command in flight".into(),
        }
    }

    /// Returns whether a list beat was transferred at this edge.
    fn check(&mut self, o: &Observed, i: &Inputs, cycle: u64) -> bool {
        self.cov.checked_edges += 1;
        let port_free = self.model.port_free(i);
        // The empty LIST answers whenever the DUT likes (within a scan time).
        if self.model.is_empty_list_pending() {
            if o.resp_valid {
                self.model.finish_empty_list();
                self.stall = 0;
            } else if port_free {
                self.stall += 1;
                if self.stall > self.stall_limit {
                    panic!(
                        "cycle {cycle}: resp_valid: LIST of an empty table not answered after {} cycles ({})",
                        self.stall_limit,
                        self.cmd_context()
                    );
                }
            }
        }
        let e = self.model.expected();
        if o.cmd_ready != e.cmd_ready {
            check_eq(
                cycle,
                &format!("cmd_ready ({})", self.cmd_context()),
                e.cmd_ready,
                o.cmd_ready,
            );
        }
        match e.resp {
            ExpResp::Some(r) | ExpResp::NoneOr(r) if o.resp_valid => {
                if o.resp != r {
                    self.resp_mismatch(cycle, &r, &o.resp);
                }
                if i.resp_ready {
                    let op = self.model.current().map_or(0, |c| c.op.0 as usize);
                    self.cov.responses[op][r.status.0 as usize] += 1;
                    self.cov.evicted_installs += r.evicted as u64;
                }
            }
            ExpResp::Some(_) => {
                check_eq(
                    cycle,
                    &format!("resp_valid ({})", self.cmd_context()),
                    true,
                    false,
                );
            }
            ExpResp::None | ExpResp::NoneOr(_) => {
                if o.resp_valid {
                    check_eq(
                        cycle,
                        &format!("resp_valid ({})", self.cmd_context()),
                        false,
                        true,
                    );
                }
            }
        }
        match e.lookup {
            Some(r) => {
                if !o.lookup_valid || o.lookup != r {
                    let ctx = format!(
                        "lookup of {:?} requested at cycle {}",
                        r.stag,
                        cycle - self.model.cfg().lookup_latency as u64
                    );
                    check_eq(
                        cycle,
                        &format!("lookup_resp_valid ({ctx})"),
                        true,
                        o.lookup_valid,
                    );
                    lookup_mismatch(cycle, &r, &o.lookup, &ctx);
                }
                self.cov.lookups[r.status.0 as usize] += 1;
            }
            None => {
                if o.lookup_valid {
                    check_eq(
                        cycle,
                        "lookup_resp_valid (no request LATENCY cycles earlier)",
                        false,
                        true,
                    );
                }
            }
        }
        if o.evictions != e.evictions {
            check_eq(
                cycle,
                &format!("evictions ({})", self.cmd_context()),
                e.evictions,
                o.evictions,
            );
        }
        // The list stream.
        if let Some((data, last)) = self.held.take() {
            if !o.list_tvalid || o.list_tdata != data || o.list_tlast != last {
                panic!(
                    "cycle {cycle}: m_axis_list: beat presented without tready changed or withdrawn: \
                     expected tvalid=1 tlast={last} tdata={data:x?}, got tvalid={} tlast={} tdata={:x?}",
                    o.list_tvalid as u8, o.list_tlast as u8, o.list_tdata
                );
            }
        }
        let mut beat = false;
        if e.list_open && !port_free {
            self.cov.list_busy_edges += 1;
        }
        if o.list_tvalid {
            if let Some((taken, reads)) = self.model.list_progress() {
                if taken >= reads {
                    panic!(
                        "cycle {cycle}: m_axis_list_tvalid: beat {} presented after only {reads} \
                         payload reads were possible (edges from a+2 with the payload port free; {})",
                        taken + 1,
                        self.cmd_context()
                    );
                }
            }
            if !e.list_open {
                check_eq(
                    cycle,
                    &format!(
                        "m_axis_list_tvalid (no LIST streaming; {})",
                        self.cmd_context()
                    ),
                    false,
                    true,
                );
            }
            if i.list_tready {
                let b = self.model.cfg().decode_list(&o.list_tdata, o.list_tlast);
                self.sb.observe(cycle, b);
                self.cov.list_beats += 1;
                beat = true;
                self.stall = 0;
            } else {
                self.held = Some((o.list_tdata, o.list_tlast));
            }
        } else if e.list_open && port_free {
            self.stall += 1;
            if self.stall > self.stall_limit {
                panic!(
                    "cycle {cycle}: m_axis_list_tvalid: LIST stalled: no beat for {} cycles, {} still expected ({})",
                    self.stall_limit,
                    self.sb.pending(),
                    self.cmd_context()
                );
            }
        }
        beat
    }

    #[cold]
    fn resp_mismatch(&self, cycle: u64, e: &CmdResp, o: &CmdResp) {
        let ctx = self.cmd_context();
        let w = |port: &str| format!("{port} ({ctx})");
        check_eq(cycle, &w("resp_status"), e.status, o.status);
        check_eq(cycle, &w("resp_stag"), e.stag, o.stag);
        check_eq(
            cycle,
            &w("resp_dma_base"),
            e.entry.dma_base,
            o.entry.dma_base,
        );
        check_eq(cycle, &w("resp_va_base"), e.entry.va_base, o.entry.va_base);
        check_eq(cycle, &w("resp_length"), e.entry.length, o.entry.length);
        check_eq(cycle, &w("resp_pd"), e.entry.pd, o.entry.pd);
        check_eq(cycle, &w("resp_rights"), e.entry.rights, o.entry.rights);
        check_eq(
            cycle,
            &w("resp_remote_inv"),
            e.entry.remote_inv,
            o.entry.remote_inv,
        );
        check_eq(cycle, &w("resp_evicted"), e.evicted, o.evicted);
        check_eq(cycle, &w("resp_count"), e.count, o.count);
    }
}

#[cold]
fn lookup_mismatch(cycle: u64, e: &LookupResp, o: &LookupResp, ctx: &str) {
    let w = |port: &str| format!("{port} ({ctx})");
    check_eq(cycle, &w("lookup_resp_stag"), e.stag, o.stag);
    check_eq(cycle, &w("lookup_resp_status"), e.status, o.status);
    check_eq(
        cycle,
        &w("lookup_resp_dma_base"),
        e.entry.dma_base,
        o.entry.dma_base,
    );
    check_eq(
        cycle,
        &w("lookup_resp_va_base"),
        e.entry.va_base,
        o.entry.va_base,
    );
    check_eq(
        cycle,
        &w("lookup_resp_length"),
        e.entry.length,
        o.entry.length,
    );
    check_eq(cycle, &w("lookup_resp_pd"), e.entry.pd, o.entry.pd);
    check_eq(
        cycle,
        &w("lookup_resp_rights"),
        e.entry.rights,
        o.entry.rights,
    );
    check_eq(
        cycle,
        &w("lookup_resp_remote_inv"),
        e.entry.remote_inv,
        o.entry.remote_inv,
    );
}

/// Start the monitor task: it calls [`Checker::on_edge`] after every edge.
/// Spawn it before any driver so that it reads the inputs of an edge before
/// a driver replaces them.
pub fn spawn_monitor(sim: &Sim<Model>, checker: Rc<RefCell<Checker>>) -> JoinHandle<()> {
    let ctx = sim.ctx();
    sim.spawn(async move {
        loop {
            ctx.edge().await;
            let cycle = ctx.cycle();
            checker.borrow_mut().on_edge(&ctx.dut(), cycle);
        }
    })
}

// ---------------------------------------------------------------------------
// Random driver
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Mostly REGISTER, until the table has been full for a while.
    Fill,
    /// Mostly DEREGISTER, until the table is nearly empty.
    Drain,
    /// Everything.
    Mixed,
}

/// Kinds of STag the driver aims at the table.
#[derive(Clone, Copy, Debug)]
enum Pick {
    /// An entry below the counter with its current key (valid, invalidated or freed).
    OwnCurrent,
    /// An entry below the counter with another key.
    OwnStale,
    /// An own entry never handed out (or any entry with a random key).
    OwnUnused,
    Malformed,
    /// The tag of an occupied foreign slot.
    ForeignInstalled,
    /// From the pool of foreign STags the installs use.
    ForeignPool,
    /// Anything at all.
    Random,
}

fn pick_weighted<T: Copy>(rng: &mut StdRng, table: &[(u32, T)]) -> T {
    let total: u32 = table.iter().map(|(w, _)| w).sum();
    let mut x = rng.gen_range(0..total);
    for &(w, t) in table {
        if x < w {
            return t;
        }
        x -= w;
    }
    unreachable!()
}

/// Constrained-random stimulus for the table (see [`run_random`]).
pub struct RandomDriver {
    cfg: StagConfig,
    /// None for [`RandomDriver::for_model`] (no DUT to drive).
    ports: Option<Ports>,
    rng: StdRng,
    inp: Inputs,
    mode: Mode,
    fulls_in_mode: u32,
    commands_in_mode: u64,
    /// Foreign STags the installs draw from (3x the slots: the cache churns).
    pool: Vec<u32>,
    // Per-epoch knobs (probabilities in 1/256).
    p_lookup: u32,
    p_cmd: u32,
    p_resp_ready: u32,
    p_tready: u32,
    /// With `p_lookup` = 256: a lookup at every edge except one in
    /// `gap_period` (periodic gaps, so QUERY and LIST progress).
    gap_period: u64,
    epoch_left: u64,
    /// Probability (in 1/2^20) of a LIST per command: rarer for big tables.
    p_list: u32,
    next_reset: u64,
}

impl RandomDriver {
    pub fn new(cfg: StagConfig, ports: Ports, rng: StdRng) -> Self {
        Self::with(cfg, Some(ports), rng)
    }

    /// A driver that only chooses inputs ([`RandomDriver::next_inputs`]),
    /// e.g. to run the model alone.
    pub fn for_model(cfg: StagConfig, rng: StdRng) -> Self {
        Self::with(cfg, None, rng)
    }

    fn with(cfg: StagConfig, ports: Option<Ports>, rng: StdRng) -> Self {
        let mut d = RandomDriver {
            p_list: ((1u32 << 20) / cfg.entries / 2).min(1 << 15),
            pool: Vec::new(),
            cfg,
            ports,
            rng,
            inp: Inputs::default(),
            mode: Mode::Fill,
            fulls_in_mode: 0,
            commands_in_mode: 0,
            p_lookup: 256,
            p_cmd: 256,
            p_resp_ready: 256,
            p_tready: 256,
            gap_period: 8,
            epoch_left: 0,
            next_reset: 0,
        };
        let n = 3 * d.cfg.foreign_entries as usize;
        d.pool = (0..n).map(|_| d.foreign_stag()).collect();
        d
    }

    fn chance(&mut self, p256: u32) -> bool {
        p256 >= 256 || self.rng.gen_range(0..256) < p256
    }

    fn foreign_stag(&mut self) -> u32 {
        let n_ids = 1u32 << self.cfg.nic_id_bits;
        let mut nic = self.rng.gen_range(0..n_ids - 1);
        if nic >= self.cfg.nic_id {
            nic += 1;
        }
        let e = self.rng.gen_range(0..self.cfg.entries);
        self.cfg.make_stag(nic, e, self.rng.gen())
    }

    fn pick(&mut self, model: &StagTable, how: Pick) -> u32 {
        let c = model.counter();
        match how {
            Pick::OwnCurrent if c > 0 => {
                let e = self.rng.gen_range(0..c);
                self.cfg.own_stag(e, model.last_key(e))
            }
            Pick::OwnStale if c > 0 => {
                let e = self.rng.gen_range(0..c);
                let k = model.last_key(e);
                let k = if self.rng.gen() {
                    k.wrapping_sub(1)
                } else {
                    k ^ self.rng.gen_range(1..=255)
                };
                self.cfg.own_stag(e, k)
            }
            Pick::OwnCurrent | Pick::OwnStale | Pick::OwnUnused => {
                if c < self.cfg.entries && self.rng.gen() {
                    // Above the counter: key 0, the key left in the RAM
                    // from before a reset, or any key.
                    let e = self.rng.gen_range(c..self.cfg.entries);
                    let k = match self.rng.gen_range(0..3) {
                        0 => 0,
                        1 => model.ram_key(e),
                        _ => self.rng.gen(),
                    };
                    self.cfg.own_stag(e, k)
                } else {
                    let e = self.rng.gen_range(0..self.cfg.entries);
                    self.cfg.own_stag(e, self.rng.gen())
                }
            }
            Pick::Malformed => {
                let sb = self.cfg.spare_bits();
                if sb == 0 {
                    return self.rng.gen();
                }
                let spare = self.rng.gen_range(1..(1u64 << sb)) as u32;
                (self.rng.gen::<u32>()
                    & !((((1u64 << sb) - 1) as u32) << (8 + self.cfg.entry_bits())))
                    | spare << (8 + self.cfg.entry_bits())
            }
            Pick::ForeignInstalled => {
                let s = self.rng.gen_range(0..self.cfg.foreign_entries as usize);
                match model.slot_tag(s) {
                    Some(t) => t,
                    None => self.pool[self.rng.gen_range(0..self.pool.len())],
                }
            }
            Pick::ForeignPool => {
                let i = self.rng.gen_range(0..self.pool.len());
                if self.rng.gen_range(0..32) == 0 {
                    self.pool[i] = self.foreign_stag(); // now and then a never-seen one
                }
                self.pool[i]
            }
            Pick::Random => self.rng.gen(),
        }
    }

    fn new_epoch(&mut self) {
        const P: [u32; 5] = [256, 256, 230, 128, 40];
        self.p_lookup = P[self.rng.gen_range(0..4)];
        // Saturated lookups stall QUERY and LIST until a gap: short and
        // long stalls, never forever.
        self.gap_period = [2, 3, 4, 7, 16, 61, 300][self.rng.gen_range(0..7)];
        self.p_cmd = [256, 256, 128, 20][self.rng.gen_range(0..4)];
        self.p_resp_ready = P[self.rng.gen_range(0..5)];
        self.p_tready = P[self.rng.gen_range(0..5)];
        self.epoch_left = self.rng.gen_range(500..20_000);
    }

    fn new_command(&mut self, model: &StagTable) {
        use Pick::*;
        // Mode changes: fill until FULL was answered a few times, drain to
        // nearly empty, then a mixed stretch, and again.
        let e = self.cfg.entries;
        match self.mode {
            Mode::Fill if model.is_full() && self.fulls_in_mode >= 3 => self.set_mode(Mode::Drain),
            Mode::Drain if model.allocated() <= e / 16 => self.set_mode(Mode::Mixed),
            Mode::Mixed if self.commands_in_mode > 2 * e as u64 + 200 => self.set_mode(Mode::Fill),
            _ => {}
        }
        self.commands_in_mode += 1;
        if self.mode == Mode::Fill && model.is_full() {
            self.fulls_in_mode += 1;
        }
        let list = self.rng.gen_range(0..1u32 << 20) < self.p_list;
        let (reg, inv, dereg) = match self.mode {
            Mode::Fill => (60, 6, 4),
            Mode::Drain => (4, 10, 56),
            Mode::Mixed => (25, 12, 20),
        };
        let op = if list {
            Op::LIST
        } else {
            pick_weighted(
                &mut self.rng,
                &[
                    (reg, Op::REGISTER),
                    (inv, Op::INVALIDATE),
                    (dereg, Op::DEREGISTER),
                    (20, Op::INSTALL),
                    (14, Op::QUERY),
                    (1, Op(6)),
                    (1, Op(7)),
                ],
            )
        };
        let how = match op {
            Op::INVALIDATE => pick_weighted(
                &mut self.rng,
                &[
                    (50, OwnCurrent),
                    (20, ForeignInstalled),
                    (10, ForeignPool),
                    (6, OwnStale),
                    (6, Malformed),
                    (6, OwnUnused),
                ],
            ),
            Op::DEREGISTER => pick_weighted(
                &mut self.rng,
                &[
                    (70, OwnCurrent),
                    (8, OwnStale),
                    (8, ForeignPool),
                    (6, Malformed),
                    (6, OwnUnused),
                ],
            ),
            Op::INSTALL => pick_weighted(
                &mut self.rng,
                &[
                    (72, ForeignPool),
                    (14, ForeignInstalled),
                    (7, OwnCurrent),
                    (7, Malformed),
                ],
            ),
            Op::QUERY => pick_weighted(
                &mut self.rng,
                &[
                    (60, OwnCurrent),
                    (10, OwnStale),
                    (10, ForeignInstalled),
                    (6, Malformed),
                    (10, OwnUnused),
                ],
            ),
            _ => Random,
        };
        let stag = self.pick(model, how);
        self.inp.cmd_valid = true;
        self.inp.cmd_op = op.0;
        self.inp.cmd_stag = stag;
        self.inp.cmd_entry = self.cfg.random_entry(&mut self.rng);
    }

    fn set_mode(&mut self, m: Mode) {
        self.mode = m;
        self.fulls_in_mode = 0;
        self.commands_in_mode = 0;
    }

    fn lookup_stag(&mut self, model: &StagTable) -> u32 {
        use Pick::*;
        let how = pick_weighted(
            &mut self.rng,
            &[
                (36, OwnCurrent),
                (8, OwnStale),
                (6, OwnUnused),
                (5, Malformed),
                (25, ForeignInstalled),
                (18, ForeignPool),
                (2, Random),
            ],
        );
        self.pick(model, how)
    }

    /// Choose the inputs for the next edge, after edge `cycle` (the model
    /// has already been clocked through it) and drive them.
    pub fn step(&mut self, dut: &mut Model, model: &StagTable, cycle: u64) {
        let ports = self.ports.expect("RandomDriver::new: a driver with ports");
        let ready = dut.get(ports.cmd_ready) != 0;
        self.next_inputs(model, cycle, ready);
        ports.drive(dut, &self.inp);
    }

    /// The inputs for the edge after `cycle`; `cmd_ready`: what the block
    /// presented at edge `cycle`.
    pub fn next_inputs(&mut self, model: &StagTable, cycle: u64, cmd_ready: bool) -> Inputs {
        if self.epoch_left == 0 {
            self.new_epoch();
        }
        self.epoch_left -= 1;
        let accepted = self.inp.cmd_valid && !self.inp.rst && cmd_ready;
        if cycle >= self.next_reset {
            // A reset of 1 to 3 edges now and then, whatever is in flight;
            // the other inputs stay random (reset wins over them).
            if !self.inp.rst {
                self.inp.rst = true;
                self.next_reset = cycle + self.rng.gen_range(1..=3);
            } else {
                self.inp.rst = false;
                self.next_reset = cycle + self.rng.gen_range(100_000..400_000);
            }
        }
        if accepted {
            self.inp.cmd_valid = false;
        }
        if !self.inp.cmd_valid {
            // Mostly when the table is idle; sometimes early, so cmd_valid
            // also waits through busy cycles.
            let early = self.rng.gen_range(0..4) == 0;
            if (model.is_idle() || early) && self.chance(self.p_cmd) {
                self.new_command(model);
            } else if self.rng.gen_range(0..8) == 0 {
                // Junk on the idle command bus must be ignored.
                self.inp.cmd_op = self.rng.gen_range(0..8);
                self.inp.cmd_stag = self.rng.gen();
            }
        }
        self.inp.lookup_valid = if self.p_lookup >= 256 {
            !(cycle + 1).is_multiple_of(self.gap_period)
        } else {
            self.chance(self.p_lookup)
        };
        self.inp.lookup_stag = if self.inp.lookup_valid || self.rng.gen_range(0..8) == 0 {
            self.lookup_stag(model)
        } else {
            self.inp.lookup_stag
        };
        self.inp.resp_ready = self.chance(self.p_resp_ready);
        self.inp.list_tready = self.chance(self.p_tready);
        self.inp
    }
}

/// Result of [`run_random`].
#[derive(Clone, Debug)]
pub struct RandomReport {
    pub cycles: u64,
    pub elapsed: Duration,
    pub coverage: Coverage,
}

impl RandomReport {
    pub fn cycles_per_second(&self) -> f64 {
        self.cycles as f64 / self.elapsed.as_secs_f64()
    }
}

/// The full random bench: `cycles` edges of random commands, lookups every
/// cycle and back-pressure on `dut`, every output checked every edge against
/// the model. The first edges hold reset. Panics at the first mismatch.
pub fn run_random(dut: Model, cfg: &StagConfig, seed: u64, cycles: u64) -> RandomReport {
    let ports = Ports::new(&dut, cfg).unwrap_or_else(|e| panic!("{e}"));
    let mut sim = Sim::new(dut);
    let checker = Rc::new(RefCell::new(Checker::new(ports, cfg.clone())));
    spawn_monitor(&sim, checker.clone());
    let mut driver = RandomDriver::new(cfg.clone(), ports, crate::rng(seed));
    let ctx: Ctx<Model> = sim.ctx();
    let chk = checker.clone();
    let h = sim.spawn(async move {
        // Reset at edges 1 and 2 (the driver's first step sees next_reset = 0).
        driver.inp = Inputs {
            rst: true,
            ..Inputs::default()
        };
        driver.next_reset = 2;
        ports.drive(&mut ctx.dut(), &driver.inp);
        while ctx.cycle() < cycles {
            ctx.edge().await;
            let c = ctx.cycle();
            driver.step(&mut ctx.dut(), chk.borrow().model(), c);
        }
    });
    let t = Instant::now();
    sim.run_until_with_limit(h, cycles + 1)
        .expect("driver ends after `cycles` edges");
    let elapsed = t.elapsed();
    let coverage = checker.borrow().coverage().clone();
    RandomReport {
        cycles: sim.cycle(),
        elapsed,
        coverage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> StagConfig {
        StagConfig {
            entries: 16,
            foreign_entries: 4,
            nic_id_bits: 4,
            lookup_latency: 3,
            pd_bits: 16,
            len_bits: 32,
            dma_addr_bits: 64,
            nic_id: 2,
        }
    }

    fn idle() -> Inputs {
        Inputs {
            resp_ready: true,
            list_tready: true,
            ..Inputs::default()
        }
    }

    /// Run one command to its response (resp_ready high), returning it and
    /// n such that it is first presented at edge a+n (a = the accept edge).
    fn run(t: &mut StagTable, op: Op, stag: u32, entry: Entry) -> (CmdResp, u32) {
        assert!(t.expected().cmd_ready);
        t.clock(
            &Inputs {
                cmd_valid: true,
                cmd_op: op.0,
                cmd_stag: stag,
                cmd_entry: entry,
                ..idle()
            },
            false,
        );
        for n in 1..100 {
            let e = t.expected();
            let beat = e.list_open;
            if let ExpResp::Some(r) | ExpResp::NoneOr(r) = e.resp {
                t.finish_empty_list();
                t.clock(&idle(), false);
                assert!(t.expected().cmd_ready);
                return (r, n);
            }
            t.take_new_beats();
            t.clock(&idle(), beat);
        }
        panic!("no response");
    }

    #[test]
    fn stag_layout_and_list_packing() {
        let c = cfg();
        assert_eq!((c.entry_bits(), c.spare_bits(), c.count_bits()), (4, 16, 5));
        assert_eq!(c.own_stag(5, 7), 0x2000_0507);
        assert_eq!(c.classify(0x2000_0507), Kind::Own { entry: 5, key: 7 });
        assert_eq!(c.classify(0x3000_0507), Kind::Foreign);
        assert_eq!(c.classify(0x2000_1507), Kind::Malformed);
        assert_eq!(c.list_bits(), 216);
        let b = ListBeat {
            stag: Stag(0x2000_0507),
            entry: Entry {
                dma_base: u64::MAX - 5,
                va_base: 0x1234_5678_9abc_def0,
                length: 0xffff_fff0,
                pd: 0xbeef,
                rights: 0xa,
                remote_inv: true,
            },
            pad: 0,
            last: true,
        };
        let w = c.encode_list(&b);
        assert_eq!(w[0] as u32, 0x2000_0507);
        assert_eq!(c.decode_list(&w, true), b);
    }

    #[test]
    fn commands_statuses_and_timing() {
        let c = cfg();
        let mut t = StagTable::new(c.clone());
        let e = Entry {
            length: 10,
            rights: 3,
            ..Entry::default()
        };
        let (r, n) = run(&mut t, Op::REGISTER, 0, e);
        assert_eq!(
            (r.status, r.stag, n),
            (Status::OK, Stag(c.own_stag(0, 0)), 3),
            "commit at a+2: first presented before edge a+3"
        );
        assert_eq!(t.lookup(c.own_stag(0, 0)).0.status, LookupStatus::HIT_OWN);
        // A QUERY that finds its entry reads the payload at a+2 (port free)
        // and answers at a+3; one that does not answers at a+2.
        assert_eq!(
            run(&mut t, Op::QUERY, c.own_stag(0, 0), e),
            (
                CmdResp {
                    stag: Stag(c.own_stag(0, 0)),
                    entry: e,
                    ..CmdResp::default()
                },
                4
            )
        );
        assert_eq!(
            run(&mut t, Op::QUERY, c.own_stag(0, 1), e),
            (
                CmdResp {
                    status: Status::UNKNOWN,
                    stag: Stag(c.own_stag(0, 1)),
                    ..CmdResp::default()
                },
                3
            )
        );
        assert_eq!(
            run(&mut t, Op::DEREGISTER, c.own_stag(0, 0), e).0.status,
            Status::OK
        );
        assert_eq!(
            run(&mut t, Op::DEREGISTER, c.own_stag(0, 0), e).0.status,
            Status::UNKNOWN
        );
        assert_eq!(
            run(&mut t, Op::REGISTER, 0, e).0.stag,
            Stag(c.own_stag(0, 1))
        );
        assert_eq!(t.lookup(c.own_stag(0, 0)).0.status, LookupStatus::INVALID);
        for i in 1..16 {
            assert_eq!(
                run(&mut t, Op::REGISTER, 0, e).0.stag,
                Stag(c.own_stag(i, 0))
            );
        }
        assert_eq!(run(&mut t, Op::REGISTER, 0, e).0.status, Status::FULL);
        let (l, _) = run(&mut t, Op::LIST, 0, e);
        assert_eq!((l.status, l.count), (Status::OK, 16));
        // Foreign: 4 slots; the 5th install evicts the LRU one at a+2, writes at a+3.
        let f = |i| c.make_stag(9, i, 1);
        for i in 0..4 {
            assert_eq!(
                run(&mut t, Op::INSTALL, f(i), e),
                (
                    CmdResp {
                        stag: Stag(f(i)),
                        ..CmdResp::default()
                    },
                    4
                )
            );
        }
        assert_eq!(
            run(&mut t, Op::INSTALL, f(0), e).0.status,
            Status::DUPLICATE
        );
        // A lookup hit on f(0) makes it MRU at the next edge.
        t.clock(
            &Inputs {
                lookup_valid: true,
                lookup_stag: f(0),
                ..idle()
            },
            false,
        );
        t.clock(&idle(), false);
        assert_eq!(t.recency(), &[1, 2, 3, 0]);
        let (r, _) = run(&mut t, Op::INSTALL, f(4), e);
        assert!(r.evicted);
        assert_eq!(t.evictions(), 1);
        assert_eq!(t.lookup(f(1)).0.status, LookupStatus::MISS_FOREIGN);
        assert_eq!(t.lookup(f(4)).0.status, LookupStatus::HIT_FOREIGN);
        assert_eq!(run(&mut t, Op::INVALIDATE, f(4), e).0.status, Status::OK);
        assert_eq!(
            run(&mut t, Op::INVALIDATE, f(4), e).0.status,
            Status::UNKNOWN
        );
        assert_eq!(
            run(&mut t, Op::INSTALL, c.own_stag(1, 0), e).0.status,
            Status::NOT_FOREIGN
        );
        assert_eq!(run(&mut t, Op::QUERY, f(0), e).0.status, Status::NOT_OWN);
        assert_eq!(run(&mut t, Op(7), f(0), e).0.status, Status::BAD_OP);
        assert_eq!(
            run(&mut t, Op::QUERY, 0x2010_0000, e).0.status,
            Status::MALFORMED
        );
    }

    #[test]
    fn lookup_sees_commits_before_its_edge_only() {
        let c = cfg();
        let mut t = StagTable::new(c.clone());
        let s = c.own_stag(0, 0);
        // Edge 1 accepts a REGISTER, which commits at edge 3; a lookup of
        // its STag at every edge 1..=5.
        let mut got = vec![];
        for k in 1..=5 + c.lookup_latency {
            let i = Inputs {
                cmd_valid: k == 1,
                lookup_valid: k <= 5,
                lookup_stag: s,
                ..idle()
            };
            t.clock(&i, false);
            if let Some(r) = t.expected().lookup {
                got.push(r.status);
            }
        }
        use LookupStatus as L;
        assert_eq!(
            got,
            [L::INVALID, L::INVALID, L::INVALID, L::HIT_OWN, L::HIT_OWN]
        );
    }

    /// Edge (relative to the accept edge a) before which a QUERY of a
    /// valid entry is first presented, when lookups are requested at every
    /// edge except `gaps` (relative to a); None within 100 edges.
    fn query_answer(latency: u32, gaps: &[i64]) -> Option<u32> {
        let c = StagConfig {
            lookup_latency: latency,
            ..cfg()
        };
        let mut t = StagTable::new(c.clone());
        run(&mut t, Op::REGISTER, 0, Entry::default());
        // Lookups from 4 edges before the accept on.
        for j in -4i64..0 {
            t.clock(
                &Inputs {
                    lookup_valid: !gaps.contains(&j),
                    ..idle()
                },
                false,
            );
        }
        for j in 0..100i64 {
            if let ExpResp::Some(r) = t.expected().resp {
                assert_eq!(r.status, Status::OK);
                return Some(j as u32);
            }
            t.clock(
                &Inputs {
                    cmd_valid: j == 0,
                    cmd_op: Op::QUERY.0,
                    cmd_stag: c.own_stag(0, 0),
                    lookup_valid: !gaps.contains(&j),
                    lookup_stag: c.own_stag(0, 0),
                    ..idle()
                },
                false,
            );
        }
        None
    }

    #[test]
    fn query_waits_for_a_free_payload_port() {
        // Answer raised at e+1 (first presented before edge e+2), where e is
        // the first edge >= a+2 with the payload port free.
        let none: Vec<i64> = (-4..100).collect();
        for lat in [2, 3, 6] {
            assert_eq!(
                query_answer(lat, &none),
                Some(4),
                "no lookups, latency {lat}"
            );
            assert_eq!(
                query_answer(lat, &[]),
                None,
                "lookups every edge, latency {lat}"
            );
            assert_eq!(query_answer(lat, &[-1]), None);
        }
        // Latency 2: busy at e when a lookup is requested at e.
        assert_eq!(query_answer(2, &[0, 1]), None);
        assert_eq!(query_answer(2, &[2]), Some(4));
        assert_eq!(query_answer(2, &[5, 9]), Some(7));
        // Latency 3 and up: busy at e when a lookup was requested at e-1.
        for lat in [3, 6] {
            assert_eq!(query_answer(lat, &[0]), None, "a gap at a frees a+1 only");
            assert_eq!(query_answer(lat, &[1]), Some(4));
            assert_eq!(query_answer(lat, &[2]), Some(5));
            assert_eq!(query_answer(lat, &[5, 9]), Some(8));
        }
    }

    /// The random driver against the model alone, with a DUT stand-in that
    /// presents each list beat as early as the contract allows and answers
    /// an empty LIST at once. Returns the coverage as the checker counts it.
    fn driver_coverage(c: &StagConfig, seed: u64, cycles: u64) -> Coverage {
        let mut t = StagTable::new(c.clone());
        let mut d = RandomDriver::for_model(c.clone(), crate::rng(seed));
        let mut cov = Coverage::default();
        d.inp = Inputs {
            rst: true,
            ..Inputs::default()
        };
        d.next_reset = 2;
        let mut inp = d.inp;
        for cycle in 1..=cycles {
            // What the stand-in presents before this edge.
            if t.is_empty_list_pending() {
                t.finish_empty_list();
            }
            let e = t.expected();
            let beat = matches!(t.list_progress(), Some((taken, reads)) if taken < reads)
                && inp.list_tready
                && !inp.rst;
            if let (ExpResp::Some(r), true, false) = (e.resp, inp.resp_ready, inp.rst) {
                let op = t.current().map_or(0, |c| c.op.0 as usize);
                cov.responses[op][r.status.0 as usize] += 1;
                cov.evicted_installs += r.evicted as u64;
            }
            if e.list_open && !t.port_free(&inp) {
                cov.list_busy_edges += 1;
            }
            cov.list_beats += beat as u64;
            cov.resets += inp.rst as u64;
            t.clock(&inp, beat);
            t.take_new_beats();
            inp = d.next_inputs(&t, cycle, e.cmd_ready);
        }
        cov.query_busy_edges = t.query_busy_edges();
        cov
    }

    /// The random tests' sets (as in tests/stag_table.rs).
    fn sets() -> [StagConfig; 3] {
        let s = |entries,
                 foreign_entries,
                 nic_id_bits,
                 lookup_latency,
                 pd_bits,
                 len_bits,
                 dma_addr_bits,
                 nic_id| StagConfig {
            entries,
            foreign_entries,
            nic_id_bits,
            lookup_latency,
            pd_bits,
            len_bits,
            dma_addr_bits,
            nic_id,
        };
        [
            s(16, 8, 4, 2, 16, 32, 64, 5),
            s(256, 16, 8, 3, 8, 20, 48, 0xa7),
            s(4096, 64, 1, 6, 32, 64, 40, 1),
        ]
    }

    /// The random stimulus reaches every (op, status) pair and really stalls
    /// QUERY and LIST on the payload port, at every set, within the random
    /// tests' 1M cycles, for a few seeds (the model alone is fast).
    #[test]
    fn random_driver_covers_every_response_under_the_new_timing() {
        for c in sets() {
            for seed in [1, 2, 3] {
                let cov = driver_coverage(&c, seed, 1_000_000);
                eprintln!(
                    "{}/{} seed {seed}: responses {:?}, {} list beats, {} list busy edges, {} query busy edges, {} evictions",
                    c.entries,
                    c.foreign_entries,
                    cov.responses,
                    cov.list_beats,
                    cov.list_busy_edges,
                    cov.query_busy_edges,
                    cov.evicted_installs
                );
                assert_eq!(
                    cov.missing_responses(),
                    [],
                    "{}/{} seed {seed}: {cov:?}",
                    c.entries,
                    c.foreign_entries
                );
                assert!(
                    cov.query_busy_edges > 0 && cov.list_busy_edges > 0 && cov.list_beats > 0,
                    "{}/{} seed {seed}: {cov:?}",
                    c.entries,
                    c.foreign_entries
                );
            }
        }
    }
}
