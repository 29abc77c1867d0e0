//! The driver model: the claims' "program component" (the host OS driver).
//!
//! Written only against the generated register constants ([`crate::regs`],
//! docs/registers.md): every action is a sequence of 32-bit AXI4-Lite reads
//! and writes through a [`HostBus`], so it drives the real RTL (the system
//! top in the test bench) exactly as a driver on a CPU would. The page for
//! humans is docs/driver.md; the claims' steps map onto [`Step`]s, which the
//! driver logs with the bus cycle at which each one happened.
//!
//! * NIC `i`'s register at offset `off` is at system address
//!   `(i << window_bits) | off` ([`DriverConfig::window_bits`], 16 by
//!   default).
//! * A STag's generating NIC is its top [`DriverConfig::nic_id_bits`] bits.
//! * Commands (`STAG`, `CONN`): load the `CMD_*` registers the operation
//!   uses, write `GO`, poll `STATUS` until `BUSY` is 0, check `DONE`, read
//!   `CODE` and the `RESP_*` registers the operation answers.
//! * Timing: before every register access the CPU spends
//!   [`DriverConfig::access_cost`] cycles ([`HostBus::wait`]); after the
//!   interrupt is seen, [`DriverConfig::irq_latency`] cycles pass before the
//!   handler's first access. The bus itself takes what the hardware takes.
//!
//! Nothing here panics on a hardware answer: an error response, a status
//! other than OK where OK is needed, a command that never finishes or a
//! misuse flag all come back as a [`DriverError`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::regs::{conn as C, events as E, stag as S};

// ---------------------------------------------------------------------------------
// The bus
// ---------------------------------------------------------------------------------

/// The host's view of the system: a cycle counter, idle time, 32-bit
/// register accesses and the interrupt line.
///
/// `read` and `write` block until the AXI4-Lite response: the implementer
/// steps the whole simulation meanwhile (all other traffic continues). An
/// error response is an `Err`.
pub trait HostBus {
    /// The current cycle.
    fn now(&self) -> u64;
    /// Let `cycles` cycles pass (the CPU busy elsewhere); 0 does nothing.
    fn wait(&mut self, cycles: u64);
    /// One 32-bit read at system address `addr`.
    fn read(&mut self, addr: u64) -> Result<u32, BusError>;
    /// One 32-bit write (all byte strobes) at system address `addr`.
    fn write(&mut self, addr: u64, v: u32) -> Result<(), BusError>;
    /// The interrupt line now (level).
    fn irq(&mut self) -> bool;
    /// The CPU reads `len` bytes of host memory at `addr` (what the NICs
    /// wrote there by DMA; coherent). Takes no bus cycles: the driver
    /// charges [`DriverConfig::record_cost`] per 64-byte record it reads.
    fn mem_read(&mut self, addr: u64, len: usize) -> Vec<u8>;
}

/// An access that did not complete with OKAY.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// SLVERR: the NIC has no such register, or it is read-only.
    #[error("{} at {addr:#x} answered SLVERR", access(*write))]
    SlvErr { addr: u64, write: bool },
    /// DECERR: no NIC at this address.
    #[error("{} at {addr:#x} answered DECERR", access(*write))]
    DecErr { addr: u64, write: bool },
    /// No response within the implementer's limit.
    #[error("{} at {addr:#x}: no response in {cycles} cycles", access(*write))]
    Timeout { addr: u64, write: bool, cycles: u64 },
}

fn access(write: bool) -> &'static str {
    if write {
        "write"
    } else {
        "read"
    }
}

impl BusError {
    /// The error for AXI response code `resp` (2 SLVERR, 3 DECERR); `None`
    /// for OKAY (0) and EXOKAY (1).
    pub fn from_resp(resp: u8, addr: u64, write: bool) -> Option<BusError> {
        match resp {
            2 => Some(BusError::SlvErr { addr, write }),
            3 => Some(BusError::DecErr { addr, write }),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------
// Codes and operations
// ---------------------------------------------------------------------------------

/// `STAG` block operations (`CMD_OP.OP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StagOp {
    Register,
    Invalidate,
    Deregister,
    Install,
    Query,
    List,
    /// LIST_DMA: the list written into a host buffer as 64-byte records.
    ListDma,
}

impl StagOp {
    pub fn raw(self) -> u32 {
        match self {
            StagOp::Register => S::CMD_OP_OP_REGISTER,
            StagOp::Invalidate => S::CMD_OP_OP_INVALIDATE,
            StagOp::Deregister => S::CMD_OP_OP_DEREGISTER,
            StagOp::Install => S::CMD_OP_OP_INSTALL,
            StagOp::Query => S::CMD_OP_OP_QUERY,
            StagOp::List => S::CMD_OP_OP_LIST,
            StagOp::ListDma => S::CMD_OP_OP_LIST_DMA,
        }
    }
}

/// `STAG` `STATUS.CODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StagCode {
    Ok,
    Full,
    Duplicate,
    Unknown,
    Malformed,
    NotForeign,
    NotOwn,
    BadOp,
}

impl StagCode {
    /// The code for a raw `STATUS.CODE` value (every 3-bit value is one).
    pub fn from_raw(v: u32) -> Option<StagCode> {
        Some(match v {
            S::STATUS_CODE_OK => StagCode::Ok,
            S::STATUS_CODE_FULL => StagCode::Full,
            S::STATUS_CODE_DUPLICATE => StagCode::Duplicate,
            S::STATUS_CODE_UNKNOWN => StagCode::Unknown,
            S::STATUS_CODE_MALFORMED => StagCode::Malformed,
            S::STATUS_CODE_NOT_FOREIGN => StagCode::NotForeign,
            S::STATUS_CODE_NOT_OWN => StagCode::NotOwn,
            S::STATUS_CODE_BAD_OP => StagCode::BadOp,
            _ => return None,
        })
    }
}

/// `CONN` block operations (`CMD_OP.OP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnOp {
    Create,
    Destroy,
    PostRecv,
    Export,
    ExportRq,
    Import,
    Recreate,
}

impl ConnOp {
    pub fn raw(self) -> u32 {
        match self {
            ConnOp::Create => C::CMD_OP_OP_CREATE,
            ConnOp::Destroy => C::CMD_OP_OP_DESTROY,
            ConnOp::PostRecv => C::CMD_OP_OP_POST_RECV,
            ConnOp::Export => C::CMD_OP_OP_EXPORT,
            ConnOp::ExportRq => C::CMD_OP_OP_EXPORT_RQ,
            ConnOp::Import => C::CMD_OP_OP_IMPORT,
            ConnOp::Recreate => C::CMD_OP_OP_RECREATE,
        }
    }
}

/// `CONN` `STATUS.CODE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnCode {
    Ok,
    Exists,
    Unknown,
    Full,
    Range,
    BadId,
    BadOp,
}

impl ConnCode {
    /// The code for a raw `STATUS.CODE` value (`None`: not a defined code).
    pub fn from_raw(v: u32) -> Option<ConnCode> {
        Some(match v {
            C::STATUS_CODE_OK => ConnCode::Ok,
            C::STATUS_CODE_EXISTS => ConnCode::Exists,
            C::STATUS_CODE_UNKNOWN => ConnCode::Unknown,
            C::STATUS_CODE_FULL => ConnCode::Full,
            C::STATUS_CODE_RANGE => ConnCode::Range,
            C::STATUS_CODE_BAD_ID => ConnCode::BadId,
            C::STATUS_CODE_BAD_OP => ConnCode::BadOp,
            _ => return None,
        })
    }
}

/// Everything a driver operation can fail with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    #[error("NIC {nic}: {source}")]
    Bus {
        nic: usize,
        #[source]
        source: BusError,
    },
    #[error("NIC {nic} does not exist (the driver knows {nics})")]
    NoSuchNic { nic: usize, nics: usize },
    #[error("NIC {nic}: STAG {op:?} of {stag:#010x} answered {code:?}")]
    Stag {
        nic: usize,
        op: StagOp,
        stag: u32,
        code: StagCode,
    },
    #[error("NIC {nic}: CONN {op:?} of connection {conn} answered {code:?}")]
    Conn {
        nic: usize,
        op: ConnOp,
        conn: u16,
        code: ConnCode,
    },
    #[error("NIC {nic}: {block} command still BUSY after {cycles} cycles")]
    Stuck {
        nic: usize,
        block: &'static str,
        cycles: u64,
    },
    #[error("NIC {nic}: {block} STATUS {status:#x} after a command: {why}")]
    BadStatus {
        nic: usize,
        block: &'static str,
        status: u32,
        why: &'static str,
    },
    #[error("NIC {nic}: LIST streamed {streamed} entries but RESP_COUNT says {count}")]
    ListCount {
        nic: usize,
        streamed: u32,
        count: u32,
    },
    #[error("NIC {nic}: LIST_DMA wrote {written} of {count} records{}", if *error { " and a write failed" } else { "" })]
    Export {
        nic: usize,
        written: u32,
        count: u32,
        error: bool,
    },
    #[error("resolve by DMA list needs DriverConfig::export_buffer")]
    NoExportBuffer,
    #[error("NIC {nic}: event queue head has undefined kind {kind}")]
    BadEvent { nic: usize, kind: u32 },
}

// ---------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------

/// Access-right bits of an entry (`CMD_ATTR.RIGHTS`).
pub mod rights {
    pub const LOCAL_READ: u8 = 1;
    pub const LOCAL_WRITE: u8 = 2;
    pub const REMOTE_READ: u8 = 4;
    pub const REMOTE_WRITE: u8 = 8;
    pub const ALL: u8 = 0xf;
}

/// A memory region: an entry's fields for REGISTER and INSTALL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Region {
    /// Host (DMA) address of the first byte.
    pub dma_base: u64,
    /// Tagged offset at which the region starts.
    pub va_base: u64,
    pub length: u64,
    pub pd: u32,
    /// [`rights`] bits.
    pub rights: u8,
    /// The peer may invalidate it (Send with Invalidate).
    pub remote_inv: bool,
}

impl Region {
    /// Every right, peer may invalidate.
    pub fn rw(dma_base: u64, va_base: u64, length: u64, pd: u32) -> Region {
        Region {
            dma_base,
            va_base,
            length,
            pd,
            rights: rights::ALL,
            remote_inv: true,
        }
    }

    fn attr(&self) -> u32 {
        (self.rights as u32) << S::CMD_ATTR_RIGHTS_SHIFT & S::CMD_ATTR_RIGHTS_MASK
            | (self.remote_inv as u32) << S::CMD_ATTR_REMOTE_INV_SHIFT
    }

    fn with_attr(mut self, attr: u32) -> Region {
        self.rights = ((attr & S::RESP_ATTR_RIGHTS_MASK) >> S::RESP_ATTR_RIGHTS_SHIFT) as u8;
        self.remote_inv = attr & S::RESP_ATTR_REMOTE_INV_MASK != 0;
        self
    }
}

/// One entry of a NIC's list (or a QUERY answer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    pub stag: u32,
    pub region: Region,
}

/// A connection's state as EXPORT / EXPORT_RQ answer it and IMPORT /
/// POST_RECV take it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ConnState {
    pub conn: u16,
    pub pd: u32,
    /// MSN of the next Send (queue 0), Read Request (1), Terminate this NIC sends (2).
    pub msn: [u32; 3],
    pub error: bool,
    /// Posted receive buffers, head first: (host address, length).
    pub rq: Vec<(u64, u32)>,
}

/// What one `STAG` command answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StagResp {
    pub code: StagCode,
    /// RESP_STAG: the generated STag (REGISTER OK), else the command's.
    pub stag: u32,
    /// QUERY OK: the entry.
    pub region: Option<Region>,
    /// INSTALL: an LRU foreign entry was evicted.
    pub evicted: bool,
}

/// Kinds of event in a NIC's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A segment parked on a foreign STag: answer with INSTALL or REJECT.
    Miss,
    /// The peer's Send with Invalidate invalidated the STag here.
    Inval,
}

/// One event popped from a NIC's queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    pub kind: EventKind,
    pub stag: u32,
    pub conn: u16,
    /// EVENT_CYCLE: the NIC's `CYCLE` counter when the event entered the queue.
    pub arrival: u32,
}

/// How the driver finds a missed STag at its generating NIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Resolve {
    /// `STAG` QUERY of the one STag at the NIC that generated it.
    SingleQuery,
    /// `STAG` LIST at that NIC, then the `LIST_NEXT` cursor until the STag
    /// or the end: the claims' "list of identifiers and associated memory
    /// locations".
    CursorList,
    /// `STAG` LIST_DMA at that NIC: the list written by the NIC into the
    /// driver's export buffer ([`DriverConfig::export_buffer`]), 64 bytes
    /// per entry, then scanned in host memory.
    DmaList,
}

impl fmt::Display for Resolve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resolve::SingleQuery => "single query",
            Resolve::CursorList => "cursor list",
            Resolve::DmaList => "DMA list",
        })
    }
}

/// Why a missed STag is not in any list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NotFound {
    /// Its NIC id names no NIC of this host.
    NoSuchNic,
    /// Its NIC id is the missing NIC itself (it cannot be foreign there).
    OwnStag,
    /// QUERY at the generating NIC answered this (UNKNOWN, MALFORMED, ...).
    Query(StagCode),
    /// LIST (or LIST_DMA) at the generating NIC ended without it
    /// (`scanned` entries).
    EndOfList { scanned: u32 },
    /// Found, but INSTALL at the missing NIC answered this.
    InstallFailed(StagCode),
}

/// A step of the claims (and the set-up around them), as the driver logs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    // ---- set-up ----
    Registered {
        stag: u32,
        region: Region,
    },
    /// A local INVALIDATE (the driver's own decision).
    Invalidated {
        stag: u32,
        code: StagCode,
    },
    Deregistered {
        stag: u32,
        code: StagCode,
    },
    Listed {
        entries: u32,
    },
    ConnCreated {
        conn: u16,
        pd: u32,
        msn: [u32; 3],
    },
    ConnDestroyed {
        conn: u16,
    },
    RecvPosted {
        conn: u16,
        addr: u64,
        len: u32,
    },
    ConnExported {
        state: ConnState,
    },
    ConnImported {
        state: ConnState,
    },
    ModeSet {
        direct: bool,
    },
    IrqEnabled {
        on: bool,
    },
    // ---- the claims ----
    /// The interrupt was seen; the handler starts `irq_latency` cycles later.
    IrqSeen,
    /// Claim 1 "receiving a message from the second network interface to a
    /// program component"; claim 8 "sending a message to a program component
    /// indicating the reception of the identifier".
    MissReceived {
        stag: u32,
        conn: u16,
        arrival: u32,
    },
    /// A miss event at a NIC in direct mode: the hardware resolves it; the
    /// driver only logs it (and notes the NIC as a possible copy holder).
    DirectMiss {
        stag: u32,
        conn: u16,
        arrival: u32,
    },
    /// Claim 1 "querying the first network interface to supply the program
    /// component with the list of identifiers ... and associated memory
    /// locations" (logged at the generating NIC, before its first access).
    QueryOrigin {
        stag: u32,
        how: Resolve,
    },
    /// Claim 8 "if the list of identifiers includes the identifier".
    Found {
        stag: u32,
        region: Region,
        scanned: u32,
    },
    /// Claim 8 "if the list of identifiers does not include the identifier".
    NotInList {
        stag: u32,
        reason: NotFound,
    },
    /// Claim 1 "transmitting a memory location associated with the
    /// identifier to the second network interface" (INSTALL answered).
    Installed {
        stag: u32,
        code: StagCode,
        evicted: bool,
    },
    /// Claim 8 "invalidating the identifier from the remote computer"
    /// (REJECT written: the parked data is discarded, a Terminate goes out).
    Rejected {
        stag: u32,
    },
    /// An INVAL event: the peer's Send with Invalidate removed the STag at
    /// this NIC.
    InvalReceived {
        stag: u32,
        conn: u16,
        arrival: u32,
    },
    /// Coherence: INVALIDATE of another copy of an invalidated STag.
    InvalRemovedCopy {
        stag: u32,
        code: StagCode,
    },
}

/// One line of the driver's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// [`HostBus::now`] when the step happened (after its last register
    /// access; for [`Step::QueryOrigin`], before its first).
    pub cycle: u64,
    /// The NIC whose registers the step used (`None`: the interrupt line).
    pub nic: Option<usize>,
    pub step: Step,
}

/// What [`Driver::service`] did with one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handled {
    pub nic: usize,
    pub event: Event,
    pub outcome: Outcome,
}

/// The answer to one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Miss resolved: the memory location installed at the missing NIC
    /// (`code` OK, or DUPLICATE when a copy was there already).
    Installed {
        origin: usize,
        region: Region,
        code: StagCode,
    },
    /// Miss rejected (REJECT written).
    Rejected(NotFound),
    /// Direct mode: logged, left to the hardware.
    Observed,
    /// Invalidation: the other copies removed (NIC, INVALIDATE's answer).
    CopiesRemoved(Vec<(usize, StagCode)>),
}

/// Where one group of the STAG block's entry registers is (system bus
/// offsets inside a NIC's window): (LO, HI) pairs, PD, ATTR.
struct EntryRegs {
    dma_base: (u64, u64),
    va_base: (u64, u64),
    length: (u64, u64),
    pd: u64,
    attr: u64,
}

/// The `CMD_*` entry registers (REGISTER, INSTALL).
const CMD_ENTRY: EntryRegs = EntryRegs {
    dma_base: (
        S::BASE + S::CMD_DMA_BASE_LO_OFFSET,
        S::BASE + S::CMD_DMA_BASE_HI_OFFSET,
    ),
    va_base: (
        S::BASE + S::CMD_VA_BASE_LO_OFFSET,
        S::BASE + S::CMD_VA_BASE_HI_OFFSET,
    ),
    length: (
        S::BASE + S::CMD_LENGTH_LO_OFFSET,
        S::BASE + S::CMD_LENGTH_HI_OFFSET,
    ),
    pd: S::BASE + S::CMD_PD_OFFSET,
    attr: S::BASE + S::CMD_ATTR_OFFSET,
};

/// The `RESP_*` entry registers (QUERY's answer).
const RESP_ENTRY: EntryRegs = EntryRegs {
    dma_base: (
        S::BASE + S::RESP_DMA_BASE_LO_OFFSET,
        S::BASE + S::RESP_DMA_BASE_HI_OFFSET,
    ),
    va_base: (
        S::BASE + S::RESP_VA_BASE_LO_OFFSET,
        S::BASE + S::RESP_VA_BASE_HI_OFFSET,
    ),
    length: (
        S::BASE + S::RESP_LENGTH_LO_OFFSET,
        S::BASE + S::RESP_LENGTH_HI_OFFSET,
    ),
    pd: S::BASE + S::RESP_PD_OFFSET,
    attr: S::BASE + S::RESP_ATTR_OFFSET,
};

/// The `LIST_*` cursor window's entry registers.
const LIST_ENTRY: EntryRegs = EntryRegs {
    dma_base: (
        S::BASE + S::LIST_DMA_BASE_LO_OFFSET,
        S::BASE + S::LIST_DMA_BASE_HI_OFFSET,
    ),
    va_base: (
        S::BASE + S::LIST_VA_BASE_LO_OFFSET,
        S::BASE + S::LIST_VA_BASE_HI_OFFSET,
    ),
    length: (
        S::BASE + S::LIST_LENGTH_LO_OFFSET,
        S::BASE + S::LIST_LENGTH_HI_OFFSET,
    ),
    pd: S::BASE + S::LIST_PD_OFFSET,
    attr: S::BASE + S::LIST_ATTR_OFFSET,
};

/// The driver's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverConfig {
    /// NICs 0 .. nics-1, NIC i's id is i.
    pub nics: usize,
    /// STag bits 31 down holding the generating NIC's id (`--nic-id-bits`).
    pub nic_id_bits: u32,
    /// log2 of each NIC's register window on the host bus.
    pub window_bits: u32,
    /// Cycles from the interrupt seen to the handler's first access.
    pub irq_latency: u64,
    /// Cycles the CPU spends before each register access.
    pub access_cost: u64,
    /// How a miss is looked up at the generating NIC.
    pub resolve: Resolve,
    /// Cycles a command may stay BUSY before [`DriverError::Stuck`].
    pub busy_limit: u64,
    /// Host buffer (address, bytes) for [`Resolve::DmaList`]: 64 bytes per
    /// own entry of the largest table.
    pub export_buffer: Option<(u64, u64)>,
    /// Cycles the CPU spends per 64-byte record it reads from host memory
    /// ([`Resolve::DmaList`]).
    pub record_cost: u64,
}

impl DriverConfig {
    /// `nics` NICs, 4 id bits, 64 KiB windows, no CPU costs, single query.
    pub fn new(nics: usize) -> DriverConfig {
        DriverConfig {
            nics,
            nic_id_bits: 4,
            window_bits: 16,
            irq_latency: 0,
            access_cost: 0,
            resolve: Resolve::SingleQuery,
            busy_limit: 1_000_000,
            export_buffer: None,
            record_cost: 0,
        }
    }
}

// ---------------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------------

/// The OS driver of a host with `nics` NICs.
#[derive(Clone, Debug)]
pub struct Driver {
    cfg: DriverConfig,
    log: Vec<LogEntry>,
    /// Per STag, the NICs where a copy was installed (by this driver, or
    /// possibly by the direct resolver: a miss seen at a NIC in direct mode).
    copies: BTreeMap<u32, BTreeSet<usize>>,
    /// Per NIC, MODE.DIRECT as last written.
    direct: Vec<bool>,
    /// Register accesses made.
    accesses: u64,
}

/// Which list entries [`Driver::list_walk`] reads whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walk {
    /// Every entry.
    All,
    /// Only this STag, and stop there.
    Find(u32),
    /// None: LIST_NEXT only (draining).
    Skip,
}

/// Command blocks, for messages.
const STAG_BLOCK: &str = "STAG";
const CONN_BLOCK: &str = "CONN";

impl Driver {
    pub fn new(cfg: DriverConfig) -> Driver {
        Driver {
            cfg,
            log: Vec::new(),
            copies: BTreeMap::new(),
            direct: vec![false; cfg.nics],
            accesses: 0,
        }
    }

    pub fn config(&self) -> &DriverConfig {
        &self.cfg
    }

    /// Change the timing or the resolve method (the NIC count stays).
    pub fn set_timing(&mut self, irq_latency: u64, access_cost: u64) {
        self.cfg.irq_latency = irq_latency;
        self.cfg.access_cost = access_cost;
    }

    /// CPU cycles per LIST_DMA record read ([`DriverConfig::record_cost`]).
    pub fn set_record_cost(&mut self, cycles: u64) {
        self.cfg.record_cost = cycles;
    }

    pub fn set_resolve(&mut self, how: Resolve) {
        self.cfg.resolve = how;
    }

    /// Everything logged so far, oldest first.
    pub fn log(&self) -> &[LogEntry] {
        &self.log
    }

    /// Forget the log (between phases of a test or a bench).
    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    /// Register accesses made since the driver was created.
    pub fn accesses(&self) -> u64 {
        self.accesses
    }

    /// The NICs holding (or, in direct mode, possibly holding) a migrated
    /// copy of `stag`.
    pub fn copies_of(&self, stag: u32) -> Vec<usize> {
        self.copies
            .get(&stag)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The NIC that generated `stag` (its top `nic_id_bits` bits), whether
    /// or not such a NIC exists.
    pub fn origin_of(&self, stag: u32) -> usize {
        if self.cfg.nic_id_bits == 0 {
            return 0;
        }
        (stag >> (32 - self.cfg.nic_id_bits.min(32))) as usize
    }

    /// System address of NIC `nic`'s register at byte `off` of its space.
    pub fn addr(&self, nic: usize, off: u64) -> u64 {
        (nic as u64) << self.cfg.window_bits | off
    }

    fn check_nic(&self, nic: usize) -> Result<(), DriverError> {
        if nic < self.cfg.nics {
            Ok(())
        } else {
            Err(DriverError::NoSuchNic {
                nic,
                nics: self.cfg.nics,
            })
        }
    }

    fn note(&mut self, bus: &dyn HostBus, nic: usize, step: Step) {
        self.log.push(LogEntry {
            cycle: bus.now(),
            nic: Some(nic),
            step,
        });
    }

    // ---- register accesses ----

    fn rd(&mut self, bus: &mut dyn HostBus, nic: usize, off: u64) -> Result<u32, DriverError> {
        bus.wait(self.cfg.access_cost);
        self.accesses += 1;
        let a = self.addr(nic, off);
        bus.read(a)
            .map_err(|source| DriverError::Bus { nic, source })
    }

    fn wr(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        off: u64,
        v: u32,
    ) -> Result<(), DriverError> {
        bus.wait(self.cfg.access_cost);
        self.accesses += 1;
        let a = self.addr(nic, off);
        bus.write(a, v)
            .map_err(|source| DriverError::Bus { nic, source })
    }

    /// Read an entry's registers (`RESP_*` or `LIST_*`): the region and the
    /// raw ATTR word (which also holds LIST_ATTR.LAST).
    fn read_region(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        at: &EntryRegs,
    ) -> Result<(Region, u32), DriverError> {
        let dma_base = self.rd64(bus, nic, at.dma_base.0, at.dma_base.1)?;
        let va_base = self.rd64(bus, nic, at.va_base.0, at.va_base.1)?;
        let length = self.rd64(bus, nic, at.length.0, at.length.1)?;
        let pd = self.rd(bus, nic, at.pd)?;
        let attr = self.rd(bus, nic, at.attr)?;
        let region = Region {
            dma_base,
            va_base,
            length,
            pd,
            ..Region::default()
        }
        .with_attr(attr);
        Ok((region, attr))
    }

    /// Write an entry's registers (`CMD_*`).
    fn write_region(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        at: &EntryRegs,
        r: &Region,
    ) -> Result<(), DriverError> {
        self.wr64(bus, nic, at.dma_base.0, at.dma_base.1, r.dma_base)?;
        self.wr64(bus, nic, at.va_base.0, at.va_base.1, r.va_base)?;
        self.wr64(bus, nic, at.length.0, at.length.1, r.length)?;
        self.wr(bus, nic, at.pd, r.pd)?;
        self.wr(bus, nic, at.attr, r.attr())
    }

    fn rd64(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        lo: u64,
        hi: u64,
    ) -> Result<u64, DriverError> {
        let l = self.rd(bus, nic, lo)? as u64;
        let h = self.rd(bus, nic, hi)? as u64;
        Ok(h << 32 | l)
    }

    fn wr64(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        lo: u64,
        hi: u64,
        v: u64,
    ) -> Result<(), DriverError> {
        self.wr(bus, nic, lo, v as u32)?;
        self.wr(bus, nic, hi, (v >> 32) as u32)
    }

    /// Poll a block's STATUS until BUSY is 0; check DONE and GO_WHILE_BUSY.
    #[allow(clippy::too_many_arguments)]
    fn wait_done(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        block: &'static str,
        status_off: u64,
        busy: u32,
        done: u32,
        go_while_busy: u32,
    ) -> Result<u32, DriverError> {
        let start = bus.now();
        loop {
            let s = self.rd(bus, nic, status_off)?;
            if s & busy == 0 {
                if s & go_while_busy != 0 {
                    // Clear the flag (W1C) so the next command starts clean.
                    self.wr(bus, nic, status_off, go_while_busy)?;
                    return Err(DriverError::BadStatus {
                        nic,
                        block,
                        status: s,
                        why: "GO_WHILE_BUSY: a GO was ignored",
                    });
                }
                if s & done == 0 {
                    return Err(DriverError::BadStatus {
                        nic,
                        block,
                        status: s,
                        why: "not DONE",
                    });
                }
                return Ok(s);
            }
            let waited = bus.now().saturating_sub(start);
            if waited > self.cfg.busy_limit {
                return Err(DriverError::Stuck {
                    nic,
                    block,
                    cycles: waited,
                });
            }
        }
    }

    // ---- STAG block ----

    /// One `STAG` command (any code comes back in the answer). `region` is
    /// written for REGISTER and INSTALL only; `stag` for every op but
    /// REGISTER and LIST. A LIST started here must be read to its end with
    /// the cursor ([`Driver::list`] does both).
    pub fn stag_command(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        op: StagOp,
        stag: u32,
        region: Region,
    ) -> Result<StagResp, DriverError> {
        self.check_nic(nic)?;
        let b = |o: u64| S::BASE + o;
        self.wr(bus, nic, b(S::CMD_OP_OFFSET), op.raw())?;
        if !matches!(op, StagOp::Register | StagOp::List | StagOp::ListDma) {
            self.wr(bus, nic, b(S::CMD_STAG_OFFSET), stag)?;
        }
        if matches!(op, StagOp::Register | StagOp::Install) {
            self.write_region(bus, nic, &CMD_ENTRY, &region)?;
        }
        if op == StagOp::ListDma {
            self.wr64(
                bus,
                nic,
                b(S::CMD_DMA_BASE_LO_OFFSET),
                b(S::CMD_DMA_BASE_HI_OFFSET),
                region.dma_base,
            )?;
            self.wr64(
                bus,
                nic,
                b(S::CMD_LENGTH_LO_OFFSET),
                b(S::CMD_LENGTH_HI_OFFSET),
                region.length,
            )?;
        }
        self.wr(bus, nic, b(S::GO_OFFSET), S::GO_GO_MASK)?;
        if op == StagOp::List {
            // BUSY stays 1 while the list FIFO is full: the caller reads it.
            return Ok(StagResp {
                code: StagCode::Ok,
                stag,
                region: None,
                evicted: false,
            });
        }
        let s = self.wait_done(
            bus,
            nic,
            STAG_BLOCK,
            b(S::STATUS_OFFSET),
            S::STATUS_BUSY_MASK,
            S::STATUS_DONE_MASK,
            S::STATUS_GO_WHILE_BUSY_MASK,
        )?;
        let code = self.stag_code(nic, s)?;
        let evicted = s & S::STATUS_EVICTED_MASK != 0;
        let resp_stag = if op == StagOp::Register {
            self.rd(bus, nic, b(S::RESP_STAG_OFFSET))?
        } else {
            stag
        };
        let region = if op == StagOp::Query && code == StagCode::Ok {
            Some(self.read_region(bus, nic, &RESP_ENTRY)?.0)
        } else {
            None
        };
        Ok(StagResp {
            code,
            stag: resp_stag,
            region,
            evicted,
        })
    }

    fn stag_code(&self, nic: usize, status: u32) -> Result<StagCode, DriverError> {
        let raw = (status & S::STATUS_CODE_MASK) >> S::STATUS_CODE_SHIFT;
        StagCode::from_raw(raw).ok_or(DriverError::BadStatus {
            nic,
            block: STAG_BLOCK,
            status,
            why: "undefined CODE",
        })
    }

    fn stag_ok(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        op: StagOp,
        stag: u32,
        region: Region,
    ) -> Result<StagResp, DriverError> {
        let r = self.stag_command(bus, nic, op, stag, region)?;
        if r.code != StagCode::Ok {
            return Err(DriverError::Stag {
                nic,
                op,
                stag,
                code: r.code,
            });
        }
        Ok(r)
    }

    /// REGISTER `region` at `nic`; the STag it generated.
    pub fn register_region(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        region: Region,
    ) -> Result<u32, DriverError> {
        let r = self.stag_ok(bus, nic, StagOp::Register, 0, region)?;
        self.note(
            bus,
            nic,
            Step::Registered {
                stag: r.stag,
                region,
            },
        );
        Ok(r.stag)
    }

    /// QUERY `stag` at `nic` (its generating NIC); the entry.
    pub fn query(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        stag: u32,
    ) -> Result<Region, DriverError> {
        let r = self.stag_ok(bus, nic, StagOp::Query, stag, Region::default())?;
        r.region.ok_or(DriverError::Stag {
            nic,
            op: StagOp::Query,
            stag,
            code: r.code,
        })
    }

    /// INSTALL `entry` (a STag of another NIC) at `nic`, and remember the
    /// copy. DUPLICATE is an error here.
    pub fn install(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        entry: Entry,
    ) -> Result<StagResp, DriverError> {
        let r = self.stag_ok(bus, nic, StagOp::Install, entry.stag, entry.region)?;
        self.copies.entry(entry.stag).or_default().insert(nic);
        self.note(
            bus,
            nic,
            Step::Installed {
                stag: entry.stag,
                code: r.code,
                evicted: r.evicted,
            },
        );
        Ok(r)
    }

    /// INVALIDATE `stag` at `nic` only (no coherence); the answer's code.
    pub fn invalidate_at(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        stag: u32,
    ) -> Result<StagCode, DriverError> {
        Ok(self
            .stag_command(bus, nic, StagOp::Invalidate, stag, Region::default())?
            .code)
    }

    /// A local invalidate of `stag` at `nic`, kept coherent: INVALIDATE at
    /// `nic` (must answer OK), then every other copy (the generating NIC's
    /// entry and every installed copy). Returns the other copies' answers.
    pub fn invalidate(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        stag: u32,
    ) -> Result<Vec<(usize, StagCode)>, DriverError> {
        let r = self.stag_ok(bus, nic, StagOp::Invalidate, stag, Region::default())?;
        self.note(bus, nic, Step::Invalidated { stag, code: r.code });
        self.remove_other_copies(bus, nic, stag)
    }

    /// DEREGISTER `stag` at its generating NIC `nic` (must answer OK), then
    /// INVALIDATE every installed copy (scenario 10). Returns the copies'
    /// answers.
    pub fn deregister(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        stag: u32,
    ) -> Result<Vec<(usize, StagCode)>, DriverError> {
        let r = self.stag_ok(bus, nic, StagOp::Deregister, stag, Region::default())?;
        self.note(bus, nic, Step::Deregistered { stag, code: r.code });
        self.remove_other_copies(bus, nic, stag)
    }

    /// INVALIDATE `stag` everywhere but at `except`: at its generating NIC
    /// (if it is a NIC of this host) and at every NIC holding a copy.
    fn remove_other_copies(
        &mut self,
        bus: &mut dyn HostBus,
        except: usize,
        stag: u32,
    ) -> Result<Vec<(usize, StagCode)>, DriverError> {
        let mut targets: BTreeSet<usize> = self.copies.remove(&stag).unwrap_or_default();
        let origin = self.origin_of(stag);
        if origin < self.cfg.nics {
            targets.insert(origin);
        }
        targets.remove(&except);
        let mut done = Vec::new();
        for y in targets {
            let code = self.invalidate_at(bus, y, stag)?;
            self.note(bus, y, Step::InvalRemovedCopy { stag, code });
            done.push((y, code));
        }
        Ok(done)
    }

    // ---- the list cursor ----

    /// Start a LIST at `nic`.
    fn list_start(&mut self, bus: &mut dyn HostBus, nic: usize) -> Result<(), DriverError> {
        self.stag_command(bus, nic, StagOp::List, 0, Region::default())?;
        Ok(())
    }

    /// Read the cursor window's entry (after a LIST_NEXT with VALID);
    /// `stag` read already. Returns the entry and LIST_ATTR.LAST.
    fn list_entry(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        stag: u32,
    ) -> Result<(Entry, bool), DriverError> {
        let (region, attr) = self.read_region(bus, nic, &LIST_ENTRY)?;
        Ok((Entry { stag, region }, attr & S::LIST_ATTR_LAST_MASK != 0))
    }

    /// Walk the cursor of a LIST started at `nic`, `seen0` entries read
    /// already. `want`: which entries to read whole ([`Walk`]). Reads to the
    /// end (docs/registers.md: LIST_NEXT while BUSY, then until VALID is 0)
    /// and checks RESP_COUNT, except that [`Walk::Find`] returns as soon as
    /// its STag was read (the list still open). Returns (entries read whole,
    /// entries seen in all, list finished).
    fn list_walk(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        want: Walk,
        seen0: u32,
    ) -> Result<(Vec<Entry>, u32, bool), DriverError> {
        let b = |o: u64| S::BASE + o;
        let start = bus.now();
        let mut busy = true;
        let mut seen = seen0;
        let mut got = Vec::new();
        loop {
            let n = self.rd(bus, nic, b(S::LIST_NEXT_OFFSET))?;
            if n & S::LIST_NEXT_VALID_MASK != 0 {
                seen += 1;
                if want == Walk::Skip {
                    continue;
                }
                let stag = self.rd(bus, nic, b(S::LIST_STAG_OFFSET))?;
                match want {
                    Walk::All => got.push(self.list_entry(bus, nic, stag)?.0),
                    Walk::Find(w) if w == stag => {
                        got.push(self.list_entry(bus, nic, stag)?.0);
                        return Ok((got, seen, false));
                    }
                    _ => {}
                }
                continue;
            }
            if !busy {
                break;
            }
            let s = self.rd(bus, nic, b(S::STATUS_OFFSET))?;
            busy = s & S::STATUS_BUSY_MASK != 0;
            if !busy {
                if s & S::STATUS_GO_WHILE_BUSY_MASK != 0 {
                    self.wr(bus, nic, b(S::STATUS_OFFSET), S::STATUS_GO_WHILE_BUSY_MASK)?;
                    return Err(DriverError::BadStatus {
                        nic,
                        block: STAG_BLOCK,
                        status: s,
                        why: "GO_WHILE_BUSY: a GO was ignored",
                    });
                }
                let code = self.stag_code(nic, s)?;
                if code != StagCode::Ok {
                    return Err(DriverError::Stag {
                        nic,
                        op: StagOp::List,
                        stag: 0,
                        code,
                    });
                }
            }
            let waited = bus.now().saturating_sub(start);
            if busy && waited > self.cfg.busy_limit {
                return Err(DriverError::Stuck {
                    nic,
                    block: STAG_BLOCK,
                    cycles: waited,
                });
            }
        }
        let count = self.rd(bus, nic, b(S::RESP_COUNT_OFFSET))? & S::RESP_COUNT_COUNT_MASK;
        if count != seen {
            return Err(DriverError::ListCount {
                nic,
                streamed: seen,
                count,
            });
        }
        Ok((got, seen, true))
    }

    /// LIST at `nic`: every valid own entry, through the cursor.
    pub fn list(&mut self, bus: &mut dyn HostBus, nic: usize) -> Result<Vec<Entry>, DriverError> {
        self.check_nic(nic)?;
        self.list_start(bus, nic)?;
        let (got, _, _) = self.list_walk(bus, nic, Walk::All, 0)?;
        self.note(
            bus,
            nic,
            Step::Listed {
                entries: got.len() as u32,
            },
        );
        Ok(got)
    }

    /// LIST_DMA at `nic` into [`DriverConfig::export_buffer`]: the records'
    /// base address and count (every listed entry must have been written).
    fn export_list(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
    ) -> Result<(u64, u32), DriverError> {
        let (buf, cap) = self.cfg.export_buffer.ok_or(DriverError::NoExportBuffer)?;
        self.stag_ok(
            bus,
            nic,
            StagOp::ListDma,
            0,
            Region {
                dma_base: buf,
                length: cap,
                ..Region::default()
            },
        )?;
        let b = |o: u64| S::BASE + o;
        let x = self.rd(bus, nic, b(S::EXPORT_STATUS_OFFSET))?;
        let count = self.rd(bus, nic, b(S::RESP_COUNT_OFFSET))? & S::RESP_COUNT_COUNT_MASK;
        let written = (x & S::EXPORT_STATUS_WRITTEN_MASK) >> S::EXPORT_STATUS_WRITTEN_SHIFT;
        let error = x & S::EXPORT_STATUS_ERROR_MASK != 0;
        if error || written != count {
            return Err(DriverError::Export {
                nic,
                written,
                count,
                error,
            });
        }
        Ok((buf & !63, written))
    }

    /// Record `k` of an exported list, read by the CPU
    /// ([`DriverConfig::record_cost`]).
    fn read_record(&mut self, bus: &mut dyn HostBus, base: u64, k: u32) -> Entry {
        bus.wait(self.cfg.record_cost);
        parse_record(&bus.mem_read(base + 64 * k as u64, 64))
    }

    /// LIST_DMA at `nic` into [`DriverConfig::export_buffer`], then every
    /// record read from host memory.
    pub fn list_dma(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
    ) -> Result<Vec<Entry>, DriverError> {
        self.check_nic(nic)?;
        let (base, n) = self.export_list(bus, nic)?;
        let out: Vec<Entry> = (0..n).map(|k| self.read_record(bus, base, k)).collect();
        self.note(
            bus,
            nic,
            Step::Listed {
                entries: out.len() as u32,
            },
        );
        Ok(out)
    }

    // ---- CONN block ----

    /// One `CONN` command; its code and, for EXPORT / EXPORT_RQ, the
    /// answer (EXPORT: `pd`, `msn`, `error`, and `rq` with one placeholder
    /// per posted buffer; EXPORT_RQ: `rq[0]`). Writes only the CMD_*
    /// registers `op` uses from `state` (`index` for EXPORT_RQ).
    pub fn conn_command(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        op: ConnOp,
        state: &ConnState,
        index: u32,
    ) -> Result<(ConnCode, ConnState), DriverError> {
        self.check_nic(nic)?;
        let b = |o: u64| C::BASE + o;
        self.wr(bus, nic, b(C::CMD_OP_OFFSET), op.raw())?;
        self.wr(bus, nic, b(C::CMD_CONN_OFFSET), state.conn as u32)?;
        if matches!(op, ConnOp::Create | ConnOp::Import) {
            self.wr(bus, nic, b(C::CMD_PD_OFFSET), state.pd)?;
        }
        if matches!(op, ConnOp::Create | ConnOp::Import | ConnOp::Recreate) {
            self.wr(bus, nic, b(C::CMD_MSN_SEND_OFFSET), state.msn[0])?;
            self.wr(bus, nic, b(C::CMD_MSN_RREQ_OFFSET), state.msn[1])?;
            self.wr(bus, nic, b(C::CMD_MSN_TERM_OFFSET), state.msn[2])?;
        }
        if op == ConnOp::Import {
            self.wr(bus, nic, b(C::CMD_ERROR_OFFSET), state.error as u32)?;
        }
        if op == ConnOp::PostRecv {
            let (addr, len) = state.rq.first().copied().unwrap_or_default();
            self.wr64(
                bus,
                nic,
                b(C::CMD_ADDR_LO_OFFSET),
                b(C::CMD_ADDR_HI_OFFSET),
                addr,
            )?;
            self.wr(bus, nic, b(C::CMD_LEN_OFFSET), len)?;
        }
        if op == ConnOp::ExportRq {
            self.wr(bus, nic, b(C::CMD_INDEX_OFFSET), index)?;
        }
        self.wr(bus, nic, b(C::GO_OFFSET), C::GO_GO_MASK)?;
        let s = self.wait_done(
            bus,
            nic,
            CONN_BLOCK,
            b(C::STATUS_OFFSET),
            C::STATUS_BUSY_MASK,
            C::STATUS_DONE_MASK,
            C::STATUS_GO_WHILE_BUSY_MASK,
        )?;
        let raw = (s & C::STATUS_CODE_MASK) >> C::STATUS_CODE_SHIFT;
        let code = ConnCode::from_raw(raw).ok_or(DriverError::BadStatus {
            nic,
            block: CONN_BLOCK,
            status: s,
            why: "undefined CODE",
        })?;
        let mut out = ConnState {
            conn: state.conn,
            ..ConnState::default()
        };
        if code == ConnCode::Ok && op == ConnOp::Export {
            out.error = self.rd(bus, nic, b(C::RESP_ERROR_OFFSET))? & C::RESP_ERROR_ERROR_MASK != 0;
            out.pd = self.rd(bus, nic, b(C::RESP_PD_OFFSET))?;
            out.msn = [
                self.rd(bus, nic, b(C::RESP_MSN_SEND_OFFSET))?,
                self.rd(bus, nic, b(C::RESP_MSN_RREQ_OFFSET))?,
                self.rd(bus, nic, b(C::RESP_MSN_TERM_OFFSET))?,
            ];
            let n = self.rd(bus, nic, b(C::RESP_RQ_COUNT_OFFSET))? & C::RESP_RQ_COUNT_COUNT_MASK;
            out.rq = vec![(0, 0); n as usize];
        }
        if code == ConnCode::Ok && op == ConnOp::ExportRq {
            let addr = self.rd64(
                bus,
                nic,
                b(C::RESP_RQ_ADDR_LO_OFFSET),
                b(C::RESP_RQ_ADDR_HI_OFFSET),
            )?;
            let len = self.rd(bus, nic, b(C::RESP_RQ_LEN_OFFSET))?;
            out.rq = vec![(addr, len)];
        }
        Ok((code, out))
    }

    fn conn_ok(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        op: ConnOp,
        state: &ConnState,
        index: u32,
    ) -> Result<ConnState, DriverError> {
        let (code, out) = self.conn_command(bus, nic, op, state, index)?;
        if code != ConnCode::Ok {
            return Err(DriverError::Conn {
                nic,
                op,
                conn: state.conn,
                code,
            });
        }
        Ok(out)
    }

    /// CREATE connection `conn` at `nic` with protection domain `pd` and
    /// the next MSNs `msn` (1, 1, 1 for a new stream).
    pub fn create_conn(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        conn: u16,
        pd: u32,
        msn: [u32; 3],
    ) -> Result<(), DriverError> {
        let st = ConnState {
            conn,
            pd,
            msn,
            ..ConnState::default()
        };
        self.conn_ok(bus, nic, ConnOp::Create, &st, 0)?;
        self.note(bus, nic, Step::ConnCreated { conn, pd, msn });
        Ok(())
    }

    /// DESTROY connection `conn` at `nic`.
    pub fn destroy_conn(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        conn: u16,
    ) -> Result<(), DriverError> {
        let st = ConnState {
            conn,
            ..ConnState::default()
        };
        self.conn_ok(bus, nic, ConnOp::Destroy, &st, 0)?;
        self.note(bus, nic, Step::ConnDestroyed { conn });
        Ok(())
    }

    /// POST_RECV a receive buffer for `conn` at `nic`.
    pub fn post_recv(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        conn: u16,
        addr: u64,
        len: u32,
    ) -> Result<(), DriverError> {
        let st = ConnState {
            conn,
            rq: vec![(addr, len)],
            ..ConnState::default()
        };
        self.conn_ok(bus, nic, ConnOp::PostRecv, &st, 0)?;
        self.note(bus, nic, Step::RecvPosted { conn, addr, len });
        Ok(())
    }

    /// EXPORT `conn` at `nic`, then EXPORT_RQ each posted buffer: its
    /// whole state. The connection stays at `nic`.
    pub fn export_conn(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        conn: u16,
    ) -> Result<ConnState, DriverError> {
        let q = ConnState {
            conn,
            ..ConnState::default()
        };
        let mut st = self.conn_ok(bus, nic, ConnOp::Export, &q, 0)?;
        for k in 0..st.rq.len() {
            let r = self.conn_ok(bus, nic, ConnOp::ExportRq, &q, k as u32)?;
            st.rq[k] = r.rq[0];
        }
        self.note(bus, nic, Step::ConnExported { state: st.clone() });
        Ok(st)
    }

    /// IMPORT `state` at `nic`, then POST_RECV its buffers in order.
    pub fn import_conn(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        state: &ConnState,
    ) -> Result<(), DriverError> {
        self.conn_ok(bus, nic, ConnOp::Import, state, 0)?;
        for &(addr, len) in &state.rq {
            let st = ConnState {
                conn: state.conn,
                rq: vec![(addr, len)],
                ..ConnState::default()
            };
            self.conn_ok(bus, nic, ConnOp::PostRecv, &st, 0)?;
        }
        self.note(
            bus,
            nic,
            Step::ConnImported {
                state: state.clone(),
            },
        );
        Ok(())
    }

    /// Move `conn` from NIC `from` to NIC `to`: export it at `from`,
    /// DESTROY it there (control transfers: a segment that still reaches
    /// `from` is dropped as for an unknown connection, never placed twice),
    /// IMPORT it into `to`. The STags `from` generated stay in `from`'s
    /// table: a later segment naming one at `to` misses and is resolved.
    /// The caller stops `from`'s traffic for `conn` first (as a link
    /// failure does). Returns the moved state.
    pub fn move_connection(
        &mut self,
        bus: &mut dyn HostBus,
        from: usize,
        to: usize,
        conn: u16,
    ) -> Result<ConnState, DriverError> {
        self.check_nic(to)?;
        let st = self.export_conn(bus, from, conn)?;
        self.destroy_conn(bus, from, conn)?;
        self.import_conn(bus, to, &st)?;
        Ok(st)
    }

    // ---- EVENTS block ----

    /// Write EVENTS.MODE.DIRECT at `nic`.
    pub fn set_direct(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        direct: bool,
    ) -> Result<(), DriverError> {
        self.check_nic(nic)?;
        self.wr(
            bus,
            nic,
            E::BASE + E::MODE_OFFSET,
            (direct as u32) << E::MODE_DIRECT_SHIFT,
        )?;
        self.direct[nic] = direct;
        self.note(bus, nic, Step::ModeSet { direct });
        Ok(())
    }

    /// MODE.DIRECT of `nic` as the driver last wrote it.
    pub fn is_direct(&self, nic: usize) -> bool {
        self.direct.get(nic).copied().unwrap_or(false)
    }

    /// Write EVENTS.IRQ_ENABLE.EN at `nic`.
    pub fn enable_irq(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        on: bool,
    ) -> Result<(), DriverError> {
        self.check_nic(nic)?;
        self.wr(
            bus,
            nic,
            E::BASE + E::IRQ_ENABLE_OFFSET,
            (on as u32) << E::IRQ_ENABLE_EN_SHIFT,
        )?;
        self.note(bus, nic, Step::IrqEnabled { on });
        Ok(())
    }

    /// Enable the interrupt of every NIC.
    pub fn init(&mut self, bus: &mut dyn HostBus) -> Result<(), DriverError> {
        for nic in 0..self.cfg.nics {
            self.enable_irq(bus, nic, true)?;
        }
        Ok(())
    }

    /// Events waiting at `nic` (EVENTS.COUNT).
    pub fn event_count(&mut self, bus: &mut dyn HostBus, nic: usize) -> Result<u32, DriverError> {
        self.check_nic(nic)?;
        Ok(self.rd(bus, nic, E::BASE + E::COUNT_OFFSET)? & E::COUNT_COUNT_MASK)
    }

    /// Read the head event of `nic` and POP it; `None` when the queue is
    /// empty.
    pub fn pop_event(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
    ) -> Result<Option<Event>, DriverError> {
        self.check_nic(nic)?;
        let b = |o: u64| E::BASE + o;
        let raw = self.rd(bus, nic, b(E::EVENT_KIND_OFFSET))? & E::EVENT_KIND_KIND_MASK;
        let kind = match raw {
            E::EVENT_KIND_KIND_NONE => return Ok(None),
            E::EVENT_KIND_KIND_MISS => EventKind::Miss,
            E::EVENT_KIND_KIND_INVAL => EventKind::Inval,
            kind => return Err(DriverError::BadEvent { nic, kind }),
        };
        let stag = self.rd(bus, nic, b(E::EVENT_STAG_OFFSET))?;
        let conn = (self.rd(bus, nic, b(E::EVENT_CONN_OFFSET))? & E::EVENT_CONN_CONN_MASK) as u16;
        let arrival = self.rd(bus, nic, b(E::EVENT_CYCLE_OFFSET))?;
        self.wr(bus, nic, b(E::POP_OFFSET), E::POP_POP_MASK)?;
        Ok(Some(Event {
            kind,
            stag,
            conn,
            arrival,
        }))
    }

    /// Write `stag` to `nic`'s EVENTS.REJECT (claim 8: invalidate it).
    pub fn reject(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        stag: u32,
    ) -> Result<(), DriverError> {
        self.check_nic(nic)?;
        self.wr(bus, nic, E::BASE + E::REJECT_OFFSET, stag)?;
        self.note(bus, nic, Step::Rejected { stag });
        Ok(())
    }

    /// The interrupt handler: if `irq` is up, wait `irq_latency`; then at
    /// every NIC, pop and handle events while COUNT > 0. Returns what was
    /// done, in order.
    pub fn service(&mut self, bus: &mut dyn HostBus) -> Result<Vec<Handled>, DriverError> {
        if bus.irq() {
            self.log.push(LogEntry {
                cycle: bus.now(),
                nic: None,
                step: Step::IrqSeen,
            });
            bus.wait(self.cfg.irq_latency);
        }
        let mut out = Vec::new();
        for nic in 0..self.cfg.nics {
            loop {
                let n = self.event_count(bus, nic)?;
                if n == 0 {
                    break;
                }
                for _ in 0..n {
                    match self.pop_event(bus, nic)? {
                        Some(ev) => out.push(self.handle(bus, nic, ev)?),
                        None => break,
                    }
                }
            }
        }
        Ok(out)
    }

    /// Pop and handle one event at `nic` (no interrupt wait): what a
    /// benchmark times. `None` when the queue is empty.
    pub fn resolve_one(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
    ) -> Result<Option<Handled>, DriverError> {
        match self.pop_event(bus, nic)? {
            Some(ev) => Ok(Some(self.handle(bus, nic, ev)?)),
            None => Ok(None),
        }
    }

    /// Handle one popped event of `nic`.
    pub fn handle(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        ev: Event,
    ) -> Result<Handled, DriverError> {
        let outcome = match ev.kind {
            EventKind::Miss if self.is_direct(nic) => {
                self.note(
                    bus,
                    nic,
                    Step::DirectMiss {
                        stag: ev.stag,
                        conn: ev.conn,
                        arrival: ev.arrival,
                    },
                );
                // The resolver may have installed a copy here.
                self.copies.entry(ev.stag).or_default().insert(nic);
                Outcome::Observed
            }
            EventKind::Miss => {
                self.note(
                    bus,
                    nic,
                    Step::MissReceived {
                        stag: ev.stag,
                        conn: ev.conn,
                        arrival: ev.arrival,
                    },
                );
                self.resolve_miss(bus, nic, ev.stag)?
            }
            EventKind::Inval => {
                self.note(
                    bus,
                    nic,
                    Step::InvalReceived {
                        stag: ev.stag,
                        conn: ev.conn,
                        arrival: ev.arrival,
                    },
                );
                Outcome::CopiesRemoved(self.remove_other_copies(bus, nic, ev.stag)?)
            }
        };
        Ok(Handled {
            nic,
            event: ev,
            outcome,
        })
    }

    /// Claims 1 and 8 for a STag that missed at `nic`: ask the NIC that
    /// generated it (its id in the STag), then INSTALL here or REJECT.
    pub fn resolve_miss(
        &mut self,
        bus: &mut dyn HostBus,
        nic: usize,
        stag: u32,
    ) -> Result<Outcome, DriverError> {
        let origin = self.origin_of(stag);
        let how = self.cfg.resolve;
        let found: Result<(Region, u32, bool), NotFound> = if origin >= self.cfg.nics {
            Err(NotFound::NoSuchNic)
        } else if origin == nic {
            Err(NotFound::OwnStag)
        } else {
            self.note(bus, origin, Step::QueryOrigin { stag, how });
            match how {
                Resolve::SingleQuery => {
                    let r =
                        self.stag_command(bus, origin, StagOp::Query, stag, Region::default())?;
                    match (r.code, r.region) {
                        (StagCode::Ok, Some(region)) => Ok((region, 1, true)),
                        (code, _) => Err(NotFound::Query(code)),
                    }
                }
                Resolve::DmaList => {
                    let (base, n) = self.export_list(bus, origin)?;
                    let mut found = Err(NotFound::EndOfList { scanned: n });
                    for k in 0..n {
                        let e = self.read_record(bus, base, k);
                        if e.stag == stag {
                            found = Ok((e.region, k + 1, true));
                            break;
                        }
                    }
                    found
                }
                Resolve::CursorList => {
                    self.list_start(bus, origin)?;
                    let (got, seen, finished) = self.list_walk(bus, origin, Walk::Find(stag), 0)?;
                    match got.first() {
                        Some(e) => Ok((e.region, seen, finished)),
                        None => Err(NotFound::EndOfList { scanned: seen }),
                    }
                }
            }
        };
        let (region, open_at) = match found {
            Ok((region, scanned, finished)) => {
                self.note(
                    bus,
                    origin,
                    Step::Found {
                        stag,
                        region,
                        scanned,
                    },
                );
                (region, (!finished).then_some(scanned))
            }
            Err(reason) => {
                let on = if origin < self.cfg.nics { origin } else { nic };
                self.note(bus, on, Step::NotInList { stag, reason });
                self.reject(bus, nic, stag)?;
                return Ok(Outcome::Rejected(reason));
            }
        };
        // Claim 1: transmit the memory location to the missing NIC.
        let r = self.stag_command(bus, nic, StagOp::Install, stag, region)?;
        self.note(
            bus,
            nic,
            Step::Installed {
                stag,
                code: r.code,
                evicted: r.evicted,
            },
        );
        let outcome = match r.code {
            StagCode::Ok | StagCode::Duplicate => {
                self.copies.entry(stag).or_default().insert(nic);
                Outcome::Installed {
                    origin,
                    region,
                    code: r.code,
                }
            }
            code => {
                let reason = NotFound::InstallFailed(code);
                self.note(bus, nic, Step::NotInList { stag, reason });
                self.reject(bus, nic, stag)?;
                Outcome::Rejected(reason)
            }
        };
        if let Some(seen) = open_at {
            // The LIST found the STag before its end: read the rest of the
            // cursor (after the INSTALL, off the miss's critical path) so
            // the generating NIC's STAG block is free for its next command.
            self.list_walk(bus, origin, Walk::Skip, seen)?;
        }
        Ok(outcome)
    }
}

/// One 64-byte LIST_DMA record (docs/registers.md, `STAG.EXPORT_STATUS`):
/// bytes 0-3 STag, 4-7 PD, 8-11 attributes, 16-23 DMA base, 24-31 VA base,
/// 32-39 length, little-endian.
pub fn parse_record(bytes: &[u8]) -> Entry {
    let mut rec = [0u8; 64];
    let n = bytes.len().min(64);
    rec[..n].copy_from_slice(&bytes[..n]);
    let w32 = |o: usize| u32::from_le_bytes(rec[o..o + 4].try_into().unwrap());
    let w64 = |o: usize| u64::from_le_bytes(rec[o..o + 8].try_into().unwrap());
    Entry {
        stag: w32(0),
        region: Region {
            dma_base: w64(16),
            va_base: w64(24),
            length: w64(32),
            pd: w32(4),
            ..Region::default()
        }
        .with_attr(w32(8)),
    }
}

#[cfg(test)]
mod tests {
    //! Against a small behavioural fake of the NIC's register blocks (a
    //! HashMap register file with the commands' effects): decoding, command
    //! sequences, the resolve and coherence logic, error surfacing. The
    //! real behaviour is tested against the RTL in `testbench/tests/system.rs`.

    use std::collections::{HashMap, VecDeque};

    use super::*;
    use crate::regs::counters as K;

    const ENTRIES: u32 = 16;

    #[derive(Default)]
    struct FakeNic {
        id: u32,
        regs: HashMap<u64, u32>,
        /// Own entries by index: (key, valid, region).
        own: Vec<(u8, bool, Region)>,
        foreign: BTreeMap<u32, Region>,
        /// STATUS reads that still answer BUSY.
        busy_reads: u32,
        stuck: bool,
        status: u32,
        list: VecDeque<Entry>,
        listed: u32,
        events: VecDeque<(u32, u32, u32, u32)>,
        rejected: Vec<u32>,
        conns: BTreeMap<u32, ConnState>,
        /// LIST_DMA records to write into host memory: (address, bytes).
        dma_out: Vec<(u64, Vec<u8>)>,
    }

    impl FakeNic {
        fn new(id: u32) -> FakeNic {
            FakeNic {
                id,
                ..FakeNic::default()
            }
        }

        fn reg(&self, off: u64) -> u32 {
            self.regs.get(&off).copied().unwrap_or(0)
        }

        fn cmd_region(&self) -> Region {
            let r = |o| self.reg(S::BASE + o) as u64;
            Region {
                dma_base: r(S::CMD_DMA_BASE_HI_OFFSET) << 32 | r(S::CMD_DMA_BASE_LO_OFFSET),
                va_base: r(S::CMD_VA_BASE_HI_OFFSET) << 32 | r(S::CMD_VA_BASE_LO_OFFSET),
                length: r(S::CMD_LENGTH_HI_OFFSET) << 32 | r(S::CMD_LENGTH_LO_OFFSET),
                pd: r(S::CMD_PD_OFFSET) as u32,
                ..Region::default()
            }
            .with_attr(r(S::CMD_ATTR_OFFSET) as u32)
        }

        fn own_stag(&self, ix: usize) -> u32 {
            self.id << 28 | (ix as u32) << 8 | self.own[ix].0 as u32
        }

        /// The own entry `stag` names, if valid with its key.
        fn own_ix(&self, stag: u32) -> Option<usize> {
            let ix = (stag >> 8 & 0xff_ffff & (ENTRIES - 1)) as usize;
            let (key, valid, _) = *self.own.get(ix)?;
            (valid && key == stag as u8).then_some(ix)
        }

        fn stag_go(&mut self) {
            let op = self.reg(S::BASE + S::CMD_OP_OFFSET);
            let stag = self.reg(S::BASE + S::CMD_STAG_OFFSET);
            let mine = stag >> 28 == self.id;
            let mut resp = [0u32; 9];
            resp[0] = stag;
            let code = match op {
                S::CMD_OP_OP_REGISTER => {
                    if self.own.len() as u32 == ENTRIES {
                        S::STATUS_CODE_FULL
                    } else {
                        self.own.push((0x40, true, self.cmd_region()));
                        resp[0] = self.own_stag(self.own.len() - 1);
                        S::STATUS_CODE_OK
                    }
                }
                S::CMD_OP_OP_INVALIDATE if mine => match self.own_ix(stag) {
                    Some(ix) => {
                        self.own[ix].1 = false;
                        S::STATUS_CODE_OK
                    }
                    None => S::STATUS_CODE_UNKNOWN,
                },
                S::CMD_OP_OP_INVALIDATE => match self.foreign.remove(&stag) {
                    Some(_) => S::STATUS_CODE_OK,
                    None => S::STATUS_CODE_UNKNOWN,
                },
                S::CMD_OP_OP_DEREGISTER | S::CMD_OP_OP_QUERY if !mine => S::STATUS_CODE_NOT_OWN,
                S::CMD_OP_OP_DEREGISTER => match self.own_ix(stag) {
                    Some(ix) => {
                        self.own[ix].1 = false;
                        S::STATUS_CODE_OK
                    }
                    None => S::STATUS_CODE_UNKNOWN,
                },
                S::CMD_OP_OP_QUERY => match self.own_ix(stag) {
                    Some(ix) => {
                        let r = self.own[ix].2;
                        resp[1] = r.dma_base as u32;
                        resp[2] = (r.dma_base >> 32) as u32;
                        resp[3] = r.va_base as u32;
                        resp[4] = (r.va_base >> 32) as u32;
                        resp[5] = r.length as u32;
                        resp[6] = (r.length >> 32) as u32;
                        resp[7] = r.pd;
                        resp[8] = r.attr();
                        S::STATUS_CODE_OK
                    }
                    None => S::STATUS_CODE_UNKNOWN,
                },
                S::CMD_OP_OP_INSTALL if mine => S::STATUS_CODE_NOT_FOREIGN,
                S::CMD_OP_OP_INSTALL => {
                    if self.foreign.insert(stag, self.cmd_region()).is_some() {
                        S::STATUS_CODE_DUPLICATE
                    } else {
                        S::STATUS_CODE_OK
                    }
                }
                S::CMD_OP_OP_LIST_DMA => {
                    let base = self.cmd_region().dma_base & !63;
                    let cap = self.cmd_region().length;
                    let mut k = 0u64;
                    for ix in 0..self.own.len() {
                        let (_, valid, r) = self.own[ix];
                        if !valid {
                            continue;
                        }
                        let mut rec = vec![0u8; 64];
                        rec[0..4].copy_from_slice(&self.own_stag(ix).to_le_bytes());
                        rec[4..8].copy_from_slice(&r.pd.to_le_bytes());
                        rec[8..12].copy_from_slice(&r.attr().to_le_bytes());
                        rec[16..24].copy_from_slice(&r.dma_base.to_le_bytes());
                        rec[24..32].copy_from_slice(&r.va_base.to_le_bytes());
                        rec[32..40].copy_from_slice(&r.length.to_le_bytes());
                        if 64 * (k + 1) <= cap {
                            self.dma_out.push((base + 64 * k, rec));
                        }
                        k += 1;
                    }
                    self.listed = k as u32;
                    let written = self.dma_out.len() as u32;
                    self.regs.insert(S::BASE + S::EXPORT_STATUS_OFFSET, written);
                    S::STATUS_CODE_OK
                }
                S::CMD_OP_OP_LIST => {
                    self.list = (0..self.own.len())
                        .filter(|&ix| self.own[ix].1)
                        .map(|ix| Entry {
                            stag: self.own_stag(ix),
                            region: self.own[ix].2,
                        })
                        .collect();
                    self.listed = self.list.len() as u32;
                    S::STATUS_CODE_OK
                }
                _ => S::STATUS_CODE_BAD_OP,
            };
            let offs = [
                S::RESP_STAG_OFFSET,
                S::RESP_DMA_BASE_LO_OFFSET,
                S::RESP_DMA_BASE_HI_OFFSET,
                S::RESP_VA_BASE_LO_OFFSET,
                S::RESP_VA_BASE_HI_OFFSET,
                S::RESP_LENGTH_LO_OFFSET,
                S::RESP_LENGTH_HI_OFFSET,
                S::RESP_PD_OFFSET,
                S::RESP_ATTR_OFFSET,
            ];
            for (o, v) in offs.iter().zip(resp) {
                self.regs.insert(S::BASE + o, v);
            }
            let count = if op == S::CMD_OP_OP_LIST || op == S::CMD_OP_OP_LIST_DMA {
                self.listed
            } else {
                0
            };
            self.regs.insert(S::BASE + S::RESP_COUNT_OFFSET, count);
            self.status = S::STATUS_DONE_MASK | code << S::STATUS_CODE_SHIFT;
            self.busy_reads = 2;
        }

        fn conn_go(&mut self) {
            let regs = self.regs.clone();
            let r = |o| regs.get(&(C::BASE + o)).copied().unwrap_or(0);
            let op = r(C::CMD_OP_OFFSET);
            let id = r(C::CMD_CONN_OFFSET);
            let mut resp = [0u32; 9];
            let code = match (op, self.conns.get_mut(&id)) {
                (C::CMD_OP_OP_CREATE | C::CMD_OP_OP_IMPORT, Some(_)) => C::STATUS_CODE_EXISTS,
                (C::CMD_OP_OP_CREATE | C::CMD_OP_OP_IMPORT, None) => {
                    let st = ConnState {
                        conn: id as u16,
                        pd: r(C::CMD_PD_OFFSET),
                        msn: [
                            r(C::CMD_MSN_SEND_OFFSET),
                            r(C::CMD_MSN_RREQ_OFFSET),
                            r(C::CMD_MSN_TERM_OFFSET),
                        ],
                        error: op == C::CMD_OP_OP_IMPORT && r(C::CMD_ERROR_OFFSET) & 1 != 0,
                        rq: vec![],
                    };
                    self.conns.insert(id, st);
                    C::STATUS_CODE_OK
                }
                (_, None) => C::STATUS_CODE_UNKNOWN,
                (C::CMD_OP_OP_DESTROY, Some(_)) => {
                    self.conns.remove(&id);
                    C::STATUS_CODE_OK
                }
                (C::CMD_OP_OP_POST_RECV, Some(c)) => {
                    let addr =
                        (r(C::CMD_ADDR_HI_OFFSET) as u64) << 32 | r(C::CMD_ADDR_LO_OFFSET) as u64;
                    c.rq.push((addr, r(C::CMD_LEN_OFFSET)));
                    C::STATUS_CODE_OK
                }
                (C::CMD_OP_OP_EXPORT, Some(c)) => {
                    resp = [
                        c.error as u32,
                        c.pd,
                        c.msn[0],
                        c.msn[1],
                        c.msn[2],
                        c.rq.len() as u32,
                        0,
                        0,
                        0,
                    ];
                    C::STATUS_CODE_OK
                }
                (C::CMD_OP_OP_EXPORT_RQ, Some(c)) => {
                    match c.rq.get(r(C::CMD_INDEX_OFFSET) as usize) {
                        Some(&(a, l)) => {
                            resp[6] = a as u32;
                            resp[7] = (a >> 32) as u32;
                            resp[8] = l;
                            C::STATUS_CODE_OK
                        }
                        None => C::STATUS_CODE_RANGE,
                    }
                }
                _ => C::STATUS_CODE_BAD_OP,
            };
            let offs = [
                C::RESP_ERROR_OFFSET,
                C::RESP_PD_OFFSET,
                C::RESP_MSN_SEND_OFFSET,
                C::RESP_MSN_RREQ_OFFSET,
                C::RESP_MSN_TERM_OFFSET,
                C::RESP_RQ_COUNT_OFFSET,
                C::RESP_RQ_ADDR_LO_OFFSET,
                C::RESP_RQ_ADDR_HI_OFFSET,
                C::RESP_RQ_LEN_OFFSET,
            ];
            for (o, v) in offs.iter().zip(resp) {
                self.regs.insert(C::BASE + o, v);
            }
            self.regs.insert(
                C::BASE + C::STATUS_OFFSET,
                C::STATUS_DONE_MASK | code << C::STATUS_CODE_SHIFT,
            );
        }

        fn read(&mut self, off: u64) -> Option<u32> {
            Some(match off {
                o if o == S::BASE + S::STATUS_OFFSET => {
                    if self.stuck {
                        S::STATUS_BUSY_MASK
                    } else if self.busy_reads > 0 || self.list.len() > 2 {
                        self.busy_reads = self.busy_reads.saturating_sub(1);
                        S::STATUS_BUSY_MASK
                    } else {
                        self.status
                    }
                }
                o if o == S::BASE + S::LIST_NEXT_OFFSET => match self.list.pop_front() {
                    Some(e) => {
                        let r = e.region;
                        let last = self.list.is_empty() as u32;
                        let words = [
                            (S::LIST_STAG_OFFSET, e.stag),
                            (S::LIST_DMA_BASE_LO_OFFSET, r.dma_base as u32),
                            (S::LIST_DMA_BASE_HI_OFFSET, (r.dma_base >> 32) as u32),
                            (S::LIST_VA_BASE_LO_OFFSET, r.va_base as u32),
                            (S::LIST_VA_BASE_HI_OFFSET, (r.va_base >> 32) as u32),
                            (S::LIST_LENGTH_LO_OFFSET, r.length as u32),
                            (S::LIST_LENGTH_HI_OFFSET, (r.length >> 32) as u32),
                            (S::LIST_PD_OFFSET, r.pd),
                            (
                                S::LIST_ATTR_OFFSET,
                                r.attr() | last << S::LIST_ATTR_LAST_SHIFT,
                            ),
                        ];
                        for (o, v) in words {
                            self.regs.insert(S::BASE + o, v);
                        }
                        1
                    }
                    None => 0,
                },
                o if o == E::BASE + E::COUNT_OFFSET => self.events.len() as u32,
                o if o == E::BASE + E::EVENT_KIND_OFFSET => self.events.front().map_or(0, |e| e.0),
                o if o == E::BASE + E::EVENT_STAG_OFFSET => self.events.front().map_or(0, |e| e.1),
                o if o == E::BASE + E::EVENT_CONN_OFFSET => self.events.front().map_or(0, |e| e.2),
                o if o == E::BASE + E::EVENT_CYCLE_OFFSET => self.events.front().map_or(0, |e| e.3),
                o if o == K::BASE + K::FLAGS_OFFSET => 0,
                o if o >= 0x400 || o % 4 != 0 => return None,
                o if (0x180..0x200).contains(&o) => return None,
                o => self.reg(o),
            })
        }

        fn write(&mut self, off: u64, v: u32) -> bool {
            match off {
                o if o == S::BASE + S::GO_OFFSET => self.stag_go(),
                o if o == C::BASE + C::GO_OFFSET => self.conn_go(),
                o if o == E::BASE + E::POP_OFFSET => {
                    self.events.pop_front();
                }
                o if o == E::BASE + E::REJECT_OFFSET => self.rejected.push(v),
                o if o >= 0x400 || o % 4 != 0 => return false,
                o if (0x180..0x200).contains(&o) => return false,
                o => {
                    self.regs.insert(o, v);
                }
            }
            true
        }
    }

    struct FakeBus {
        window_bits: u32,
        nics: Vec<FakeNic>,
        cycle: u64,
        irq: bool,
        /// (address, written value) of every access.
        trace: Vec<(u64, Option<u32>)>,
        mem: HashMap<u64, u8>,
    }

    impl FakeBus {
        fn new(n: u32) -> FakeBus {
            FakeBus {
                window_bits: 16,
                nics: (0..n).map(FakeNic::new).collect(),
                cycle: 0,
                irq: false,
                trace: Vec::new(),
                mem: HashMap::new(),
            }
        }

        fn split(&self, addr: u64) -> (usize, u64) {
            (
                (addr >> self.window_bits) as usize,
                addr & ((1 << self.window_bits) - 1),
            )
        }
    }

    impl HostBus for FakeBus {
        fn now(&self) -> u64 {
            self.cycle
        }
        fn wait(&mut self, cycles: u64) {
            self.cycle += cycles;
        }
        fn read(&mut self, addr: u64) -> Result<u32, BusError> {
            self.cycle += 1;
            self.trace.push((addr, None));
            let (i, off) = self.split(addr);
            let nic = self
                .nics
                .get_mut(i)
                .ok_or(BusError::DecErr { addr, write: false })?;
            nic.read(off).ok_or(BusError::SlvErr { addr, write: false })
        }
        fn write(&mut self, addr: u64, v: u32) -> Result<(), BusError> {
            self.cycle += 1;
            self.trace.push((addr, Some(v)));
            let (i, off) = self.split(addr);
            let nic = self
                .nics
                .get_mut(i)
                .ok_or(BusError::DecErr { addr, write: true })?;
            if nic.write(off, v) {
                for (a, bytes) in std::mem::take(&mut nic.dma_out) {
                    for (k, x) in bytes.into_iter().enumerate() {
                        self.mem.insert(a + k as u64, x);
                    }
                }
                Ok(())
            } else {
                Err(BusError::SlvErr { addr, write: true })
            }
        }
        fn irq(&mut self) -> bool {
            self.irq
        }
        fn mem_read(&mut self, addr: u64, len: usize) -> Vec<u8> {
            (addr..addr + len as u64)
                .map(|a| self.mem.get(&a).copied().unwrap_or(0))
                .collect()
        }
    }

    fn miss(stag: u32, conn: u32, cycle: u32) -> (u32, u32, u32, u32) {
        (E::EVENT_KIND_KIND_MISS, stag, conn, cycle)
    }

    fn steps(d: &Driver) -> Vec<(Option<usize>, Step)> {
        d.log().iter().map(|e| (e.nic, e.step.clone())).collect()
    }

    #[test]
    fn addresses_are_nic_window_plus_offset() {
        let mut bus = FakeBus::new(3);
        let mut d = Driver::new(DriverConfig::new(3));
        assert_eq!(d.addr(2, E::BASE + E::COUNT_OFFSET), 0x2_0214);
        d.event_count(&mut bus, 1).unwrap();
        d.set_direct(&mut bus, 2, true).unwrap();
        assert_eq!(
            bus.trace,
            vec![(0x1_0214, None), (0x2_0228, Some(E::MODE_DIRECT_MASK))]
        );
        // Another window size.
        let mut cfg = DriverConfig::new(3);
        cfg.window_bits = 12;
        let mut bus = FakeBus::new(3);
        bus.window_bits = 12;
        let mut d = Driver::new(cfg);
        d.enable_irq(&mut bus, 2, true).unwrap();
        assert_eq!(bus.trace, vec![(0x221c, Some(1))]);
        // A NIC the driver does not know: no access at all.
        assert_eq!(
            d.event_count(&mut bus, 3),
            Err(DriverError::NoSuchNic { nic: 3, nics: 3 })
        );
        assert_eq!(bus.trace.len(), 1);
        // The origin of a STag is its top nic_id_bits bits.
        assert_eq!(d.origin_of(0x2000_0140), 2);
        assert_eq!(d.origin_of(0xf000_0000), 15);
    }

    #[test]
    fn bus_errors_and_statuses_come_back_as_errors() {
        let mut bus = FakeBus::new(2);
        let mut d = Driver::new(DriverConfig::new(2));
        // The bus error of one access ends the operation.
        bus.nics[1].stuck = true;
        let mut cfg = DriverConfig::new(2);
        cfg.busy_limit = 50;
        let mut d2 = Driver::new(cfg);
        assert!(matches!(
            d2.register_region(&mut bus, 1, Region::rw(0, 0, 64, 1)),
            Err(DriverError::Stuck {
                nic: 1,
                block: "STAG",
                ..
            })
        ));
        // DECERR from the fake's missing NIC 2 (driver configured for 3).
        let mut d3 = Driver::new(DriverConfig::new(3));
        assert_eq!(
            d3.event_count(&mut bus, 2),
            Err(DriverError::Bus {
                nic: 2,
                source: BusError::DecErr {
                    addr: 0x2_0214,
                    write: false
                }
            })
        );
        // Statuses: QUERY of another NIC's STag, of an unknown own STag.
        let s = d
            .register_region(&mut bus, 0, Region::rw(0x1000, 0, 64, 1))
            .unwrap();
        assert_eq!(s >> 28, 0);
        assert_eq!(
            d.query(&mut bus, 0, 0x1000_0040),
            Err(DriverError::Stag {
                nic: 0,
                op: StagOp::Query,
                stag: 0x1000_0040,
                code: StagCode::NotOwn
            })
        );
        assert!(matches!(
            d.query(&mut bus, 0, s + 1),
            Err(DriverError::Stag {
                code: StagCode::Unknown,
                ..
            })
        ));
        // Connection statuses.
        d.create_conn(&mut bus, 0, 3, 1, [1, 1, 1]).unwrap();
        assert_eq!(
            d.create_conn(&mut bus, 0, 3, 1, [1, 1, 1]),
            Err(DriverError::Conn {
                nic: 0,
                op: ConnOp::Create,
                conn: 3,
                code: ConnCode::Exists
            })
        );
        assert!(matches!(
            d.export_conn(&mut bus, 1, 3),
            Err(DriverError::Conn {
                code: ConnCode::Unknown,
                ..
            })
        ));
        // An error displays its NIC and cause.
        let e = DriverError::Bus {
            nic: 1,
            source: BusError::SlvErr {
                addr: 0x1_0180,
                write: true,
            },
        };
        assert_eq!(e.to_string(), "NIC 1: write at 0x10180 answered SLVERR");
    }

    #[test]
    fn register_writes_every_field_then_go_and_polls() {
        let mut bus = FakeBus::new(2);
        let mut d = Driver::new(DriverConfig::new(2));
        let r = Region {
            dma_base: 0x1_2345_6789,
            va_base: 0xaaaa_0000_0000_1000,
            length: 0x2_0000_0000,
            pd: 7,
            rights: rights::REMOTE_WRITE | rights::LOCAL_READ,
            remote_inv: true,
        };
        let stag = d.register_region(&mut bus, 1, r).unwrap();
        assert_eq!(stag, 0x1000_0040);
        let w: Vec<(u64, u32)> = bus
            .trace
            .iter()
            .filter_map(|&(a, v)| v.map(|v| (a, v)))
            .collect();
        let n = |o: u64| 0x1_0000 + S::BASE + o;
        assert_eq!(
            w,
            vec![
                (n(S::CMD_OP_OFFSET), S::CMD_OP_OP_REGISTER),
                (n(S::CMD_DMA_BASE_LO_OFFSET), 0x2345_6789),
                (n(S::CMD_DMA_BASE_HI_OFFSET), 1),
                (n(S::CMD_VA_BASE_LO_OFFSET), 0x1000),
                (n(S::CMD_VA_BASE_HI_OFFSET), 0xaaaa_0000),
                (n(S::CMD_LENGTH_LO_OFFSET), 0),
                (n(S::CMD_LENGTH_HI_OFFSET), 2),
                (n(S::CMD_PD_OFFSET), 7),
                (n(S::CMD_ATTR_OFFSET), 0x19),
                (n(S::GO_OFFSET), 1),
            ]
        );
        // Polled STATUS three times (two BUSY), then RESP_STAG.
        let reads: Vec<u64> = bus
            .trace
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(a, _)| *a)
            .collect();
        assert_eq!(
            reads,
            vec![
                n(S::STATUS_OFFSET),
                n(S::STATUS_OFFSET),
                n(S::STATUS_OFFSET),
                n(S::RESP_STAG_OFFSET)
            ]
        );
        assert_eq!(d.query(&mut bus, 1, stag).unwrap(), r);
        assert_eq!(
            d.list(&mut bus, 1).unwrap(),
            vec![Entry { stag, region: r }]
        );
    }

    #[test]
    fn miss_is_resolved_by_query_or_list_and_installed() {
        for how in [Resolve::SingleQuery, Resolve::CursorList, Resolve::DmaList] {
            let mut bus = FakeBus::new(2);
            let mut cfg = DriverConfig::new(2);
            cfg.resolve = how;
            cfg.export_buffer = Some((0x8000_0000, 64 * 16));
            let mut d = Driver::new(cfg);
            let mut stags = Vec::new();
            for k in 0..6u64 {
                let r = Region::rw(0x10_0000 + k * 0x1000, 0x5000, 0x1000, 3);
                stags.push(d.register_region(&mut bus, 0, r).unwrap());
            }
            let want = stags[3];
            d.clear_log();
            bus.nics[1].events.push_back(miss(want, 9, 1234));
            bus.irq = true;
            let h = d.service(&mut bus).unwrap();
            let region = Region::rw(0x10_3000, 0x5000, 0x1000, 3);
            assert_eq!(
                h,
                vec![Handled {
                    nic: 1,
                    event: Event {
                        kind: EventKind::Miss,
                        stag: want,
                        conn: 9,
                        arrival: 1234
                    },
                    outcome: Outcome::Installed {
                        origin: 0,
                        region,
                        code: StagCode::Ok
                    }
                }],
                "{how}"
            );
            assert_eq!(bus.nics[1].foreign.get(&want), Some(&region));
            assert!(bus.nics[1].events.is_empty());
            assert_eq!(d.copies_of(want), vec![1]);
            let scanned = if how == Resolve::SingleQuery { 1 } else { 4 };
            assert_eq!(
                steps(&d),
                vec![
                    (None, Step::IrqSeen),
                    (
                        Some(1),
                        Step::MissReceived {
                            stag: want,
                            conn: 9,
                            arrival: 1234
                        }
                    ),
                    (Some(0), Step::QueryOrigin { stag: want, how }),
                    (
                        Some(0),
                        Step::Found {
                            stag: want,
                            region,
                            scanned
                        }
                    ),
                    (
                        Some(1),
                        Step::Installed {
                            stag: want,
                            code: StagCode::Ok,
                            evicted: false
                        }
                    ),
                ],
                "{how}"
            );
            // The list cursor was drained: the next command at NIC 0 works.
            assert!(bus.nics[0].list.is_empty());
            assert_eq!(d.list(&mut bus, 0).unwrap().len(), 6);
            // Log cycles do not go backwards.
            assert!(d.log().windows(2).all(|w| w[0].cycle <= w[1].cycle));
        }
    }

    #[test]
    fn unknown_and_invalid_stags_are_rejected() {
        for how in [Resolve::SingleQuery, Resolve::CursorList, Resolve::DmaList] {
            let mut bus = FakeBus::new(2);
            let mut cfg = DriverConfig::new(2);
            cfg.resolve = how;
            cfg.export_buffer = Some((0x8000_0000, 64 * 16));
            let mut d = Driver::new(cfg);
            let s = d
                .register_region(&mut bus, 0, Region::rw(0x1000, 0, 64, 1))
                .unwrap();
            let dead = d
                .register_region(&mut bus, 0, Region::rw(0x2000, 0, 64, 1))
                .unwrap();
            // A local invalidate before the move: not in the list any more.
            assert_eq!(d.invalidate(&mut bus, 0, dead).unwrap(), vec![]);
            let never = 0x0000_0f40; // entry 15 of NIC 0, never registered
            let nowhere = 0x7000_0140; // NIC 7 does not exist
            for st in [dead, never, nowhere] {
                bus.nics[1].events.push_back(miss(st, 2, 10));
            }
            let h = d.service(&mut bus).unwrap();
            let outcomes: Vec<Outcome> = h.into_iter().map(|h| h.outcome).collect();
            let not_found = |scanned| match how {
                Resolve::SingleQuery => NotFound::Query(StagCode::Unknown),
                Resolve::CursorList | Resolve::DmaList => NotFound::EndOfList { scanned },
            };
            assert_eq!(
                outcomes,
                vec![
                    Outcome::Rejected(not_found(1)),
                    Outcome::Rejected(not_found(1)),
                    Outcome::Rejected(NotFound::NoSuchNic),
                ]
            );
            assert_eq!(bus.nics[1].rejected, vec![dead, never, nowhere]);
            assert!(bus.nics[1].foreign.is_empty());
            assert!(d
                .log()
                .iter()
                .any(|e| e.step == Step::Rejected { stag: nowhere } && e.nic == Some(1)));
            // The own STag still answers.
            assert!(d.query(&mut bus, 0, s).is_ok());
        }
    }

    #[test]
    fn invalidation_removes_every_other_copy() {
        let mut bus = FakeBus::new(3);
        let mut d = Driver::new(DriverConfig::new(3));
        let s = d
            .register_region(&mut bus, 0, Region::rw(0x1000, 0, 64, 1))
            .unwrap();
        for nic in [1, 2] {
            bus.nics[nic].events.push_back(miss(s, 4, 1));
        }
        d.service(&mut bus).unwrap();
        assert_eq!(d.copies_of(s), vec![1, 2]);
        // The peer's Send with Invalidate at NIC 2 removed NIC 2's copy.
        bus.nics[2].foreign.remove(&s);
        bus.nics[2]
            .events
            .push_back((E::EVENT_KIND_KIND_INVAL, s, 4, 99));
        d.clear_log();
        let h = d.service(&mut bus).unwrap();
        assert_eq!(
            h[0].outcome,
            Outcome::CopiesRemoved(vec![(0, StagCode::Ok), (1, StagCode::Ok)])
        );
        assert!(bus.nics[1].foreign.is_empty());
        assert!(
            bus.nics[0].own_ix(s).is_none(),
            "the origin's entry is invalid"
        );
        assert_eq!(d.copies_of(s), Vec::<usize>::new());
        assert_eq!(
            steps(&d),
            vec![
                (
                    Some(2),
                    Step::InvalReceived {
                        stag: s,
                        conn: 4,
                        arrival: 99
                    }
                ),
                (
                    Some(0),
                    Step::InvalRemovedCopy {
                        stag: s,
                        code: StagCode::Ok
                    }
                ),
                (
                    Some(1),
                    Step::InvalRemovedCopy {
                        stag: s,
                        code: StagCode::Ok
                    }
                ),
            ]
        );
        // Deregistration at the origin removes installed copies too.
        let t = d
            .register_region(&mut bus, 0, Region::rw(0x2000, 0, 64, 1))
            .unwrap();
        bus.nics[1].events.push_back(miss(t, 4, 1));
        d.service(&mut bus).unwrap();
        assert_eq!(
            d.deregister(&mut bus, 0, t).unwrap(),
            vec![(1, StagCode::Ok)]
        );
        assert!(bus.nics[1].foreign.is_empty());
    }

    #[test]
    fn direct_mode_only_logs() {
        let mut bus = FakeBus::new(2);
        let mut d = Driver::new(DriverConfig::new(2));
        let s = d
            .register_region(&mut bus, 0, Region::rw(0x1000, 0, 64, 1))
            .unwrap();
        d.set_direct(&mut bus, 1, true).unwrap();
        bus.nics[1].events.push_back(miss(s, 4, 1));
        let before = bus.trace.len();
        let h = d.service(&mut bus).unwrap();
        assert_eq!(h[0].outcome, Outcome::Observed);
        // COUNT, 4 event reads, POP, COUNT: nothing at NIC 0, no INSTALL.
        let at: Vec<usize> = bus.trace[before..]
            .iter()
            .map(|(a, _)| (a >> 16) as usize)
            .collect();
        assert_eq!(at, vec![0, 1, 1, 1, 1, 1, 1, 1]);
        assert!(bus.nics[1].foreign.is_empty());
        assert_eq!(d.copies_of(s), vec![1], "a possible copy");
    }

    #[test]
    fn timing_costs_are_spent() {
        let mut bus = FakeBus::new(2);
        let mut cfg = DriverConfig::new(2);
        cfg.irq_latency = 1000;
        cfg.access_cost = 10;
        let mut d = Driver::new(cfg);
        d.event_count(&mut bus, 0).unwrap();
        assert_eq!(bus.now(), 11);
        bus.irq = true;
        let t0 = bus.now();
        d.service(&mut bus).unwrap();
        // irq latency, then COUNT at each NIC.
        assert_eq!(bus.now() - t0, 1000 + 2 * 11);
        assert_eq!(d.accesses(), 3);
    }

    #[test]
    fn move_connection_exports_destroys_and_imports() {
        let mut bus = FakeBus::new(2);
        let mut d = Driver::new(DriverConfig::new(2));
        d.create_conn(&mut bus, 0, 5, 0x42, [1, 1, 1]).unwrap();
        d.post_recv(&mut bus, 0, 5, 0x9000, 256).unwrap();
        d.post_recv(&mut bus, 0, 5, 0x1_0000_a000, 128).unwrap();
        bus.nics[0].conns.get_mut(&5).unwrap().msn = [3, 1, 2];
        let st = d.move_connection(&mut bus, 0, 1, 5).unwrap();
        let want = ConnState {
            conn: 5,
            pd: 0x42,
            msn: [3, 1, 2],
            error: false,
            rq: vec![(0x9000, 256), (0x1_0000_a000, 128)],
        };
        assert_eq!(st, want);
        assert!(
            bus.nics[0].conns.is_empty(),
            "the origin's copy is destroyed"
        );
        assert_eq!(bus.nics[1].conns.get(&5), Some(&want));
        assert!(matches!(
            d.move_connection(&mut bus, 0, 1, 5),
            Err(DriverError::Conn {
                nic: 0,
                op: ConnOp::Export,
                code: ConnCode::Unknown,
                ..
            })
        ));
        assert_eq!(
            d.move_connection(&mut bus, 1, 2, 5),
            Err(DriverError::NoSuchNic { nic: 2, nics: 2 })
        );
    }
}
