//! `stag_regs`: the STag table's host register window. An AXI4-Lite
//! subordinate (`s_axil_*`) generated from the register description
//! [`regmap`] (through [`crate::regmap::axil_regs`]) in front of the
//! table's command port: software loads a command's fields, writes `GO`,
//! polls `STATUS`, reads the response registers, and reads a `LIST`'s
//! entries one at a time through a cursor with a small FIFO in front.
//!
//! Its table-facing ports are the table's own, flipped (`cmd_*` out,
//! `resp_*` and `evictions` in, the list stream as `s_axis_list_*`), so a
//! parent connects them by name; [`elaborate_top`] does that for one table.
//!
//! The register map (offsets, fields, access, reset values, side effects)
//! is written here once, in [`regmap`]; the RTL, `docs/registers.md`, the
//! C header and `sim/src/regs.rs` all come from it.

use std::rc::Rc;

use crate::blocks::stag_table::{self, op, status, StagTableParams};
use crate::iface::{AxisSpec, Side};
use crate::ir::{clog2, Expr, Module, ModuleBuilder};
use crate::params::Params;
use crate::regmap::{self, Access, RegBlock, RegPorts};
use crate::Error;

/// Entries the list FIFO in front of the cursor holds.
pub const LIST_FIFO_DEPTH: u32 = 4;

/// `CMD_OP` value of LIST_DMA: `stag_regs` sends the table a LIST and
/// hands the stream to `list_export` (the table itself answers 6 BAD_OP).
pub const OP_LIST_DMA: u128 = 6;

/// The ports to a `list_export` (`export_*`, `m_axis_export_*`), named as
/// that block's inputs and outputs with `export_` / `m_axis_export_`.
struct ExportPorts {
    start: Expr,
    base: Expr,
    capacity: Expr,
    idle: Expr,
    written: Expr,
    error: Expr,
    tvalid: Expr,
    tready: Expr,
    tdata: Expr,
    tlast: Expr,
}

impl ExportPorts {
    fn new(m: &mut ModuleBuilder, tp: &StagTableParams, lw: u32) -> ExportPorts {
        ExportPorts {
            start: m.output("export_start", 1, "a LIST_DMA's GO (one cycle)"),
            base: m.output("export_base", tp.dma_addr_bits, "CMD_DMA_BASE: the buffer"),
            capacity: m.output(
                "export_capacity",
                tp.len_bits,
                "CMD_LENGTH: its size in bytes",
            ),
            idle: m.input(
                "export_idle",
                1,
                "every record taken is written and answered",
            ),
            written: m.input("export_written", 16, "records written since the GO"),
            error: m.input("export_error", 1, "an error response since the GO"),
            tvalid: m.output("m_axis_export_tvalid", 1, "a LIST_DMA's list stream"),
            tready: m.input("m_axis_export_tready", 1, ""),
            tdata: m.output("m_axis_export_tdata", lw, ""),
            tlast: m.output("m_axis_export_tlast", 1, ""),
        }
    }
}

/// Where an entry field of the table lives in the register map.
#[derive(Clone, Copy)]
enum Place {
    /// Two registers `<P>_<STEM>_LO` / `_HI` (bits 31:0 and 63:32).
    Wide(&'static str),
    /// One register `<P>_<STEM>`, field `VALUE`.
    Word(&'static str),
    /// A field of `<P>_ATTR`, at this bit.
    Attr(&'static str, u32),
}

/// The table's entry fields (as `StagTableParams::fields` orders them),
/// their place in the map, the widest value, the parameter that sets the
/// width (if any) and what they mean.
const ENTRY: [(&str, Place, u32, &str, &str); 6] = [
    (
        "dma_base",
        Place::Wide("DMA_BASE"),
        64,
        "--dma-addr-bits",
        "host (DMA) address of the region's first byte",
    ),
    (
        "va_base",
        Place::Wide("VA_BASE"),
        64,
        "",
        "tagged offset (TO) at which the region starts",
    ),
    (
        "length",
        Place::Wide("LENGTH"),
        64,
        "--len-bits",
        "region length in bytes",
    ),
    (
        "pd",
        Place::Word("PD"),
        32,
        "--pd-bits",
        "protection domain",
    ),
    (
        "rights",
        Place::Attr("RIGHTS", 0),
        4,
        "",
        "access rights: bit 0 local read, 1 local write, 2 remote read, 3 remote write",
    ),
    (
        "remote_inv",
        Place::Attr("REMOTE_INV", 4),
        1,
        "",
        "the peer may invalidate it (Send with Invalidate)",
    ),
];

/// The three register groups that hold an entry.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Cmd,
    Resp,
    List,
}

impl Group {
    fn prefix(self) -> &'static str {
        match self {
            Group::Cmd => "CMD",
            Group::Resp => "RESP",
            Group::List => "LIST",
        }
    }
}

/// `<P>_STAG`, then the entry registers of [`ENTRY`], from word `word0`.
fn entry_regs(b: &mut RegBlock, g: Group, word0: u32) {
    let p = g.prefix();
    let access = if g == Group::Cmd {
        Access::Rw
    } else {
        Access::Ro
    };
    let stag_doc = match g {
        Group::Cmd => "STag the command is about (INVALIDATE, DEREGISTER, INSTALL, QUERY; returned by LIST). REGISTER ignores it.",
        Group::Resp => "STag of the last response: the generated one (REGISTER OK), else the command's.",
        Group::List => "STag of the entry in the cursor window.",
    };
    b.reg(&format!("{p}_STAG"), word0, stag_doc).field(
        "VALUE",
        31,
        0,
        access,
        0,
        "STag: index (NIC id, spare, entry) in 31:8, key in 7:0",
    );
    let what = |doc: &str, part: &str, param: &str| -> String {
        let unused = if param.is_empty() {
            String::new()
        } else if g == Group::Cmd {
            format!(" Bits at and above {param} are kept but not used.")
        } else {
            format!(" Bits at and above {param} read 0.")
        };
        match g {
            Group::Cmd => format!("Entry field for REGISTER and INSTALL: {doc}{part}.{unused}"),
            Group::Resp => format!("QUERY's answer (0 after other commands): {doc}{part}.{unused}"),
            Group::List => format!("The cursor window's entry: {doc}{part}.{unused}"),
        }
    };
    let mut word = word0 + 1;
    let mut attr: Vec<(&str, u32, u32, String)> = Vec::new();
    for (_, place, widest, param, doc) in ENTRY {
        match place {
            Place::Wide(stem) => {
                for (half, hi, lo) in [("LO", 31, 0), ("HI", 63, 32)] {
                    let part = format!(", bits {hi}:{lo}");
                    b.reg(
                        &format!("{p}_{stem}_{half}"),
                        word,
                        &what(doc, &part, param),
                    )
                    .field(
                        "VALUE",
                        31,
                        0,
                        access,
                        0,
                        &format!("bits {hi}:{lo}"),
                    );
                    word += 1;
                }
            }
            Place::Word(stem) => {
                b.reg(&format!("{p}_{stem}"), word, &what(doc, "", param))
                    .field("VALUE", widest - 1, 0, access, 0, doc);
                word += 1;
            }
            Place::Attr(name, bit) => attr.push((name, bit, widest, doc.to_string())),
        }
    }
    let attr_doc = match g {
        Group::Cmd => "Entry attributes for REGISTER and INSTALL.",
        Group::Resp => "QUERY's answer: the entry's attributes (0 after other commands).",
        Group::List => "The cursor window's entry: attributes, and whether it is the list's last.",
    };
    let r = b.reg(&format!("{p}_ATTR"), word, attr_doc);
    for (name, bit, width, doc) in attr {
        r.field(name, bit + width - 1, bit, access, 0, &doc);
    }
    if g == Group::List {
        r.field(
            "LAST",
            8,
            8,
            Access::Ro,
            0,
            "the entry is the last of its LIST (tlast)",
        );
    }
}

/// Word offsets of the groups: command at 0x00, control at 0x30, response
/// at 0x40, list cursor at 0x80.
const CMD_WORD: u32 = 0;
const GO_WORD: u32 = 0x30 / 4;
const RESP_WORD: u32 = 0x40 / 4;
const LIST_WORD: u32 = 0x80 / 4;

/// The register map of the STag table's window (block `STAG`).
pub fn regmap() -> RegBlock {
    let mut b = RegBlock::new(
        "STAG",
        "stag_regs",
        0x0000,
        "The STag table's commands (docs/stag_table.md): load `CMD_*`, write `GO`, poll \
`STATUS` until `BUSY` is 0, then read `STATUS.CODE` and the `RESP_*` registers. A LIST \
streams the valid own entries into a FIFO of the `stag_regs` block; read `LIST_NEXT` to move \
the next one into the `LIST_*` window (`VALID` says whether one was there), then read its \
words. The table waits while that FIFO is full, so `BUSY` stays 1 until all but the last few \
entries were read: keep reading `LIST_NEXT` while `BUSY` is 1, and after it drops, until \
`VALID` is 0 (or `LIST_ATTR.LAST` was 1).",
    );
    let ops: Vec<(&str, u64, &str)> = vec![
        (
            "REGISTER",
            op::REGISTER as u64,
            "allocate an entry, answer its new STag",
        ),
        (
            "INVALIDATE",
            op::INVALIDATE as u64,
            "mark the STag's entry not valid (own) or remove it (foreign)",
        ),
        (
            "DEREGISTER",
            op::DEREGISTER as u64,
            "free an own entry (valid or invalidated)",
        ),
        (
            "INSTALL",
            op::INSTALL as u64,
            "install a foreign STag (may evict the LRU one)",
        ),
        ("QUERY", op::QUERY as u64, "answer an own STag's entry"),
        (
            "LIST",
            op::LIST as u64,
            "stream every valid own entry to the list cursor",
        ),
        (
            "LIST_DMA",
            OP_LIST_DMA as u64,
            "write every valid own entry as a 64-byte record into the host buffer at \
CMD_DMA_BASE (low 6 bits ignored) of CMD_LENGTH bytes (EXPORT_STATUS)",
        ),
    ];
    b.reg(
        "CMD_OP",
        CMD_WORD,
        "Operation of the next command. 7 is reserved: the table answers BAD_OP. LIST_DMA needs \
the NIC's DMA port (the `nic`'s `stag_regs`); a lone `stag_regs` answers it BAD_OP.",
    )
    .field("OP", 2, 0, Access::Rw, 0, "opcode")
    .values(&ops);
    entry_regs(&mut b, Group::Cmd, CMD_WORD + 1);
    b.reg(
        "GO",
        GO_WORD,
        "Issue the command loaded in the CMD_* registers.",
    )
    .field("GO", 0, 0, Access::Cmd, 0, "write 1 to issue the command")
    .on_write(
        "while `STATUS.BUSY` is 0: sets `BUSY`, clears `DONE` and hands the CMD_* values to the \
table (a LIST also discards entries left in the list FIFO). While `BUSY` is 1 the GO is ignored \
and `STATUS.GO_WHILE_BUSY` is set.",
    );
    let statuses: Vec<(&str, u64, &str)> = vec![
        ("OK", status::OK as u64, "done"),
        ("FULL", status::FULL as u64, "no free own entry (REGISTER)"),
        (
            "DUPLICATE",
            status::DUPLICATE as u64,
            "that foreign STag is installed already",
        ),
        ("UNKNOWN", status::UNKNOWN as u64, "no such valid STag here"),
        (
            "MALFORMED",
            status::MALFORMED as u64,
            "spare index bits not zero",
        ),
        (
            "NOT_FOREIGN",
            status::NOT_FOREIGN as u64,
            "INSTALL of this NIC's own STag",
        ),
        (
            "NOT_OWN",
            status::NOT_OWN as u64,
            "DEREGISTER or QUERY of another NIC's STag",
        ),
        ("BAD_OP", status::BAD_OP as u64, "reserved opcode"),
    ];
    b.command_status(GO_WORD + 1, &statuses)
        .field(
            "EVICTED",
            8,
            8,
            Access::Ro,
            0,
            "the last response was an INSTALL that evicted the LRU foreign entry",
        )
        .field(
            "GO_WHILE_BUSY",
            16,
            16,
            Access::W1c,
            0,
            "a GO was written while BUSY was 1 and ignored (misuse)",
        );
    b.reg(
        "EVICTIONS",
        GO_WORD + 2,
        "Foreign entries evicted since reset (wraps).",
    )
    .field("COUNT", 31, 0, Access::Ro, 0, "evictions");
    entry_regs(&mut b, Group::Resp, RESP_WORD);
    b.reg(
        "RESP_COUNT",
        RESP_WORD + 9,
        "Entries the last LIST or LIST_DMA streamed (0 after other commands).",
    )
    .field("COUNT", 15, 0, Access::Ro, 0, "entries");
    b.reg(
        "EXPORT_STATUS",
        RESP_WORD + 10,
        "What the last LIST_DMA wrote (0 until the first). Record k of the list is at buffer + \
64 k: bytes 0-3 STag, 4-7 PD, 8-11 attributes (rights 3:0, remote-invalidate 4), 16-23 DMA \
base, 24-31 VA base, 32-39 length, the rest 0, little-endian. Records that do not fit in \
CMD_LENGTH bytes are counted in RESP_COUNT but not written.",
    )
    .field(
        "WRITTEN",
        15,
        0,
        Access::Ro,
        0,
        "records written into the buffer",
    )
    .field(
        "ERROR",
        16,
        16,
        Access::Ro,
        0,
        "a record's write was answered with an error (SLVERR or DECERR): the buffer is not \
complete",
    );
    b.reg(
        "LIST_NEXT",
        LIST_WORD,
        "List cursor: move the next listed entry into the LIST_* window.",
    )
    .field(
        "VALID",
        0,
        0,
        Access::Ro,
        0,
        "an entry was in the FIFO: this read moved it into the window",
    )
    .on_read(
        "if the list FIFO holds an entry, it leaves the FIFO and becomes the LIST_* window's \
entry (the read returns VALID 1); otherwise nothing changes (VALID 0).",
    );
    entry_regs(&mut b, Group::List, LIST_WORD + 1);
    b
}

/// Parameters of a `stag_regs` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagRegsParams {
    pub name: String,
    /// The table it fronts (widths of the entry fields and the list beat).
    pub table: StagTableParams,
    /// Entries of the list FIFO: a power of two from 2 to 64.
    pub list_fifo_depth: u32,
    /// LIST_DMA: ports to a `list_export` (the `nic` has one); without
    /// them LIST_DMA goes to the table as a reserved opcode (BAD_OP).
    pub export: bool,
}

impl StagRegsParams {
    pub fn from_params(p: &Params) -> Self {
        StagRegsParams {
            name: "stag_regs".into(),
            table: StagTableParams::from_params(p),
            list_fifo_depth: LIST_FIFO_DEPTH,
            export: false,
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        self.table.validate()?;
        let d = self.list_fifo_depth;
        if !(d.is_power_of_two() && (2..=64).contains(&d)) {
            return Err(Error::Design(format!(
                "stag_regs `{}`: list FIFO depth {d} must be a power of two from 2 to 64",
                self.name
            )));
        }
        Ok(())
    }
}

/// Bit offset and width of entry field `name` in the packed entry.
fn entry_field(tp: &StagTableParams, name: &str) -> (u32, u32) {
    let mut at = 0;
    for (n, w) in tp.fields() {
        if n == name {
            return (at, w);
        }
        at += w;
    }
    panic!("stag_table has no entry field `{name}`")
}

/// Drive group `g`'s RO registers from `stag` and a packed entry (fields
/// in `StagTableParams::fields` order) starting at bit `lo` of `packed`.
fn drive_entry(
    m: &mut ModuleBuilder,
    regs: &RegPorts,
    tp: &StagTableParams,
    g: Group,
    stag: Expr,
    packed: &Expr,
    lo: u32,
) {
    let p = g.prefix();
    m.assign(&regs.source(&format!("{p}_STAG"), "VALUE"), stag);
    for (name, place, widest, _, _) in ENTRY {
        let (off, w) = entry_field(tp, name);
        let at = lo + off;
        let bits = |hi: u32, lo: u32| packed.slice(hi, lo);
        match place {
            Place::Wide(stem) => {
                let low = if w >= 32 {
                    bits(at + 31, at)
                } else {
                    bits(at + w - 1, at).zext(32)
                };
                let high = if w > 32 {
                    bits(at + w - 1, at + 32).zext(32)
                } else {
                    Expr::zero(32)
                };
                m.assign(&regs.source(&format!("{p}_{stem}_LO"), "VALUE"), low);
                m.assign(&regs.source(&format!("{p}_{stem}_HI"), "VALUE"), high);
            }
            Place::Word(stem) => {
                m.assign(
                    &regs.source(&format!("{p}_{stem}"), "VALUE"),
                    bits(at + w - 1, at).zext(widest),
                );
            }
            Place::Attr(field, _) => {
                m.assign(
                    &regs.source(&format!("{p}_ATTR"), field),
                    bits(at + w - 1, at),
                );
            }
        }
    }
}

/// The low `w` bits of a value held in a LO/HI register pair.
fn low_bits(lo: &Expr, hi: &Expr, w: u32) -> Expr {
    match w {
        w if w < 32 => lo.slice(w - 1, 0),
        32 => lo.clone(),
        64 => Expr::concat([hi.clone(), lo.clone()]),
        w => Expr::concat([hi.slice(w - 33, 0), lo.clone()]),
    }
}

/// Build the module.
pub fn elaborate(p: &StagRegsParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let map = regmap();
    let tp = &p.table;
    let eb = tp.entry_bits();
    let pw = tp.payload_width();
    let lw = tp.list_width();
    let depth = p.list_fifo_depth;
    let fa = clog2(depth as u64);

    let mut m = ModuleBuilder::new(
        &p.name,
        "STag table register window: command, status, response, evictions, list cursor (AXI4-Lite)",
    );
    m.param(
        "ENTRIES",
        tp.entries as u64,
        "own entries of the table it fronts",
    );
    m.param("PD_BITS", tp.pd_bits as u64, "protection domain width");
    m.param("LEN_BITS", tp.len_bits as u64, "region length width");
    m.param(
        "DMA_ADDR_BITS",
        tp.dma_addr_bits as u64,
        "host address width",
    );
    m.param(
        "LIST_FIFO_DEPTH",
        depth as u64,
        "list entries buffered in front of the cursor",
    );
    m.clock_and_reset();
    let regs = regmap::axil_regs(&mut m, &map)?;

    // ---- the table's command port, flipped ----
    let cmd_valid = m.output("cmd_valid", 1, "");
    let cmd_ready = m.input("cmd_ready", 1, "");
    let cmd_op = m.output("cmd_op", 3, "");
    let cmd_stag = m.output("cmd_stag", 32, "");
    let cmd_fields: Vec<Expr> = tp
        .fields()
        .iter()
        .map(|(n, w)| m.output(&format!("cmd_{n}"), *w, ""))
        .collect();
    let resp_valid = m.input("resp_valid", 1, "");
    let resp_ready = m.output(
        "resp_ready",
        1,
        "always 1: a response is taken when it comes",
    );
    let resp_status = m.input("resp_status", 3, "");
    let resp_stag = m.input("resp_stag", 32, "");
    let resp_fields: Vec<Expr> = tp
        .fields()
        .iter()
        .map(|(n, w)| m.input(&format!("resp_{n}"), *w, ""))
        .collect();
    let resp_evicted = m.input("resp_evicted", 1, "");
    let resp_count = m.input("resp_count", eb + 1, "");
    let list = AxisSpec {
        data_width: lw,
        keep: false,
        last: true,
        user_width: 0,
    }
    .ports(&mut m, "s_axis_list", Side::Subordinate);
    let evictions = m.input("evictions", 32, "");
    let export = p.export.then(|| ExportPorts::new(&mut m, tp, lw));

    // ---- command fields to the table ----
    let v = |r: &str, f: &str| regs.value(r, f);
    let is_list_dma = if export.is_some() {
        let op_list_dma = m.localparam("OP_LIST_DMA", OP_LIST_DMA, 3, "the LIST_DMA opcode");
        v("CMD_OP", "OP").eq(&op_list_dma)
    } else {
        Expr::lit(0, 1)
    };
    // For a LIST_DMA the table lists; the stream goes to the export engine.
    m.assign(
        &cmd_op,
        Expr::mux(&is_list_dma, Expr::lit(op::LIST, 3), v("CMD_OP", "OP")),
    );
    m.assign(&cmd_stag, v("CMD_STAG", "VALUE"));
    for ((name, w), out) in tp.fields().iter().zip(&cmd_fields) {
        let place = ENTRY
            .iter()
            .find(|e| e.0 == *name)
            .expect("every entry field has a place")
            .1;
        let e = match place {
            Place::Wide(stem) => low_bits(
                &v(&format!("CMD_{stem}_LO"), "VALUE"),
                &v(&format!("CMD_{stem}_HI"), "VALUE"),
                *w,
            ),
            Place::Word(stem) => {
                let r = v(&format!("CMD_{stem}"), "VALUE");
                if r.width() == *w {
                    r
                } else {
                    r.slice(w - 1, 0)
                }
            }
            Place::Attr(field, _) => v("CMD_ATTR", field),
        };
        m.assign(out, e);
    }

    // ---- issue on GO, take the response ----
    let busy = m.reg(
        "busy_reg",
        1,
        0,
        "a command was issued; its response has not come back",
    );
    let cmd_valid_r = m.reg("cmd_valid_reg", 1, 0, "");
    let done = m.reg(
        "done_reg",
        1,
        0,
        "the response registers answer the last GO",
    );
    let code = m.reg("code_reg", 3, 0, "resp_status of the last response");
    let evicted = m.reg("evicted_reg", 1, 0, "");
    let r_stag = m.reg("resp_stag_reg", 32, 0, "");
    let r_payload = m.reg(
        "resp_payload_reg",
        pw,
        0,
        "the response's entry fields, packed as in the table",
    );
    let r_count = m.reg("resp_count_reg", eb + 1, 0, "");
    let go = regs.pulse("GO", "GO");
    let go_ok = m.signal("go_ok", 1, "GO while idle: issue the command");
    m.assign(&go_ok, go.land(busy.lnot()));
    m.assign(&regs.set("STATUS", "GO_WHILE_BUSY"), go.land(&busy));
    m.assign(&cmd_valid, &cmd_valid_r);
    m.assign(&resp_ready, Expr::lit(1, 1));
    let op_list = m.localparam("OP_LIST", op::LIST, 3, "the LIST opcode");
    // A LIST_DMA is done when the table has answered (after its last list
    // beat) AND the export engine has written and heard back every record.
    let (exporting, answered) = if export.is_some() {
        (
            m.reg(
                "exporting_reg",
                1,
                0,
                "the command in progress is a LIST_DMA",
            ),
            m.reg(
                "answered_reg",
                1,
                0,
                "the table answered a LIST_DMA whose records are still being written",
            ),
        )
    } else {
        (Expr::lit(0, 1), Expr::lit(0, 1))
    };
    let export_idle = export.as_ref().map_or(Expr::lit(1, 1), |x| x.idle.clone());
    let finish_export = answered.land(&export_idle);
    m.sync("command: issue on GO, take the response", |b| {
        b.when(&go_ok, |b| {
            b.assign(&busy, Expr::lit(1, 1));
            b.assign(&cmd_valid_r, Expr::lit(1, 1));
            b.assign(&done, Expr::lit(0, 1));
            if export.is_some() {
                b.assign(&exporting, &is_list_dma);
            }
        });
        b.when(cmd_valid_r.land(&cmd_ready), |b| {
            b.assign(&cmd_valid_r, Expr::lit(0, 1))
        });
        if export.is_some() {
            b.when(&finish_export, |b| {
                b.assign(&answered, Expr::lit(0, 1));
                b.assign(&busy, Expr::lit(0, 1));
                b.assign(&done, Expr::lit(1, 1));
            });
        }
        b.when(&resp_valid, |b| {
            if export.is_some() {
                b.if_else(
                    &exporting,
                    |b| b.assign(&answered, Expr::lit(1, 1)),
                    |b| {
                        b.assign(&busy, Expr::lit(0, 1));
                        b.assign(&done, Expr::lit(1, 1));
                    },
                );
            } else {
                b.assign(&busy, Expr::lit(0, 1));
                b.assign(&done, Expr::lit(1, 1));
            }
            b.assign(&code, &resp_status);
            b.assign(&evicted, &resp_evicted);
            b.assign(&r_stag, &resp_stag);
            b.assign(&r_payload, Expr::concat(resp_fields.iter().rev().cloned()));
            b.assign(&r_count, &resp_count);
        });
    });
    m.assign(&regs.source("STATUS", "BUSY"), &busy);
    m.assign(&regs.source("STATUS", "DONE"), &done);
    m.assign(&regs.source("STATUS", "CODE"), &code);
    m.assign(&regs.source("STATUS", "EVICTED"), &evicted);
    m.assign(&regs.source("EVICTIONS", "COUNT"), &evictions);
    m.assign(&regs.source("RESP_COUNT", "COUNT"), r_count.zext(16));
    drive_entry(
        &mut m,
        &regs,
        tp,
        Group::Resp,
        r_stag.clone(),
        &r_payload,
        0,
    );

    // ---- list FIFO and cursor ----
    let mem = m.memory("list_mem", lw + 1, depth, "list FIFO: {tlast, tdata}");
    let wr_ptr = m.reg("list_wr_ptr_reg", fa + 1, 0, "");
    let rd_ptr = m.reg("list_rd_ptr_reg", fa + 1, 0, "");
    let full = m.signal("list_full", 1, "");
    let empty = m.signal("list_empty", 1, "");
    m.assign(
        &full,
        wr_ptr
            .bit(fa)
            .ne(rd_ptr.bit(fa))
            .land(wr_ptr.slice(fa - 1, 0).eq(rd_ptr.slice(fa - 1, 0))),
    );
    m.assign(&empty, wr_ptr.eq(&rd_ptr));
    // The table's list stream: to the cursor FIFO, or in a LIST_DMA to the
    // export engine.
    let to_fifo = if export.is_some() {
        list.sig("tvalid").land(exporting.lnot())
    } else {
        list.sig("tvalid").clone()
    };
    match &export {
        Some(x) => {
            m.assign(
                list.sig("tready"),
                Expr::mux(&exporting, x.tready.clone(), full.lnot()),
            );
            m.assign(&x.tvalid, list.sig("tvalid").land(&exporting));
            m.assign(&x.tdata, list.sig("tdata"));
            m.assign(&x.tlast, list.sig("tlast"));
            m.assign(&x.start, go_ok.land(&is_list_dma));
            m.assign(
                &x.base,
                low_bits(
                    &v("CMD_DMA_BASE_LO", "VALUE"),
                    &v("CMD_DMA_BASE_HI", "VALUE"),
                    tp.dma_addr_bits,
                ),
            );
            m.assign(
                &x.capacity,
                low_bits(
                    &v("CMD_LENGTH_LO", "VALUE"),
                    &v("CMD_LENGTH_HI", "VALUE"),
                    tp.len_bits,
                ),
            );
            m.assign(&regs.source("EXPORT_STATUS", "WRITTEN"), &x.written);
            m.assign(&regs.source("EXPORT_STATUS", "ERROR"), &x.error);
        }
        None => {
            m.assign(list.sig("tready"), full.lnot());
            m.assign(&regs.source("EXPORT_STATUS", "WRITTEN"), Expr::zero(16));
            m.assign(&regs.source("EXPORT_STATUS", "ERROR"), Expr::zero(1));
        }
    }
    let pop = m.signal("list_pop", 1, "a LIST_NEXT read takes the FIFO's head");
    m.assign(&pop, regs.read_strobe("LIST_NEXT").land(empty.lnot()));
    let cur = m.reg(
        "list_cur_reg",
        32 + pw + 1,
        0,
        "the cursor window: {last, entry fields, stag}",
    );
    m.sync("list FIFO write", |b| {
        b.when(to_fifo.land(full.lnot()), |b| {
            b.mem_write(
                &mem,
                wr_ptr.slice(fa - 1, 0),
                Expr::concat([list.sig("tlast").clone(), list.sig("tdata").clone()]),
            );
            b.assign(&wr_ptr, wr_ptr.inc());
        });
    });
    m.sync(
        "list FIFO read: a LIST_NEXT read moves the head into the window; a LIST's GO discards what is left",
        |b| {
            b.when(&pop, |b| {
                let word = mem.read(rd_ptr.slice(fa - 1, 0));
                b.assign(&cur, Expr::concat([word.bit(lw), word.slice(32 + pw - 1, 0)]));
                b.assign(&rd_ptr, rd_ptr.inc());
            });
            b.when(go_ok.land(v("CMD_OP", "OP").eq(&op_list)), |b| b.assign(&rd_ptr, &wr_ptr));
        },
    );
    m.assign(&regs.source("LIST_NEXT", "VALID"), empty.lnot());
    m.assign(&regs.source("LIST_ATTR", "LAST"), cur.bit(32 + pw));
    drive_entry(&mut m, &regs, tp, Group::List, cur.slice(31, 0), &cur, 32);
    Ok(m.finish()?)
}

/// `<name>_top`: a `stag_table` and its `stag_regs` window, connected by
/// port name. Outside: `clk`, `rst`, the register port `s_axil_*`, the
/// table's `nic_id` strap and its lookup ports.
pub fn elaborate_top(p: &StagRegsParams) -> Result<Rc<Module>, Error> {
    let table = stag_table::elaborate(&p.table)?;
    let regs = elaborate(p)?;
    let mut m = ModuleBuilder::new(
        &format!("{}_top", p.name),
        "STag table behind its AXI4-Lite register window; lookups on ports",
    );
    m.param("ENTRIES", p.table.entries as u64, "own entries");
    m.param(
        "FOREIGN_ENTRIES",
        p.table.foreign_entries as u64,
        "migrated-entry cache slots",
    );
    m.param(
        "LOOKUP_LATENCY",
        p.table.lookup_latency as u64,
        "lookup request to answer, in cycles",
    );
    m.param(
        "LIST_FIFO_DEPTH",
        p.list_fifo_depth as u64,
        "list entries buffered in front of the cursor",
    );
    let (clk, rst) = m.clock_and_reset();
    let mut to_regs: Vec<(String, Expr)> =
        vec![("clk".into(), clk.clone()), ("rst".into(), rst.clone())];
    let mut to_table: Vec<(String, Expr)> = vec![("clk".into(), clk), ("rst".into(), rst)];
    for (s, d) in regs.ports() {
        if s.name.starts_with("s_axil_") {
            let e = match d {
                crate::ir::Dir::Input => m.input(&s.name, s.width, ""),
                crate::ir::Dir::Output => m.output(&s.name, s.width, ""),
            };
            to_regs.push((s.name.to_string(), e));
        }
    }
    for (s, d) in table.ports() {
        let name = s.name.to_string();
        if name == "clk" || name == "rst" {
            continue;
        }
        if name == "nic_id" || name.starts_with("lookup") {
            let e = match d {
                crate::ir::Dir::Input => m.input(&name, s.width, ""),
                crate::ir::Dir::Output => m.output(&name, s.width, ""),
            };
            to_table.push((name, e));
        } else {
            let w = m.signal(&name, s.width, "table <-> register window");
            to_table.push((name.clone(), w.clone()));
            to_regs.push((name.replace("m_axis_list_", "s_axis_list_"), w));
        }
    }
    m.instance(
        &table,
        "u_table",
        to_table
            .iter()
            .map(|(n, e)| (n.as_str(), e.clone()))
            .collect(),
    );
    m.instance(
        &regs,
        "u_regs",
        to_regs
            .iter()
            .map(|(n, e)| (n.as_str(), e.clone()))
            .collect(),
    );
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_list_fifo_depth_is_named() {
        let mut p = StagRegsParams::from_params(&Params::default());
        p.list_fifo_depth = 3;
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "design: stag_regs `stag_regs`: list FIFO depth 3 must be a power of two from 2 to 64"
        );
        p.list_fifo_depth = 128;
        assert!(elaborate(&p).is_err());
    }

    #[test]
    fn the_map_covers_every_entry_field_of_the_table() {
        let map = regmap();
        map.validate().unwrap();
        let tp = StagRegsParams::from_params(&Params::default()).table;
        for (name, _) in tp.fields() {
            assert!(
                ENTRY.iter().any(|e| e.0 == name),
                "entry field `{name}` has no register"
            );
        }
        assert_eq!(map.addr_width(), 8);
    }
}
