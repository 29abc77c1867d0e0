//! One register description, many outputs.
//!
//! A NIC's host registers are described once, as data: blocks ([`RegBlock`],
//! one AXI4-Lite window each), their registers ([`Register`]: name, word
//! offset, description, side effects) and fields ([`Field`]: bit range,
//! [`Access`], reset value, description, optional named values). From that
//! one description come
//!
//! * the register block's RTL ([`axil_regs`]: the `s_axil_*` subordinate,
//!   address decode, storage, read mux, pulses, read strobes),
//! * `docs/registers.md` ([`markdown`]),
//! * the C header `include/stag_handoff_regs.h` ([`c_header`]),
//! * the Rust constants `sim/src/regs.rs` ([`rust_consts`]) that the driver
//!   model uses (`sim` does not depend on `hdl`, so that file is generated
//!   and committed; `tests/regmap_generated.rs` fails when it is stale).
//!
//! The map is the same for every generator parameter set: fields are laid
//! out for the widest value a parameter allows, and a block uses the low
//! bits it needs (the docs say so per field).
//!
//! Bus behaviour of every generated register block (also written into
//! `docs/registers.md` by [`markdown`], from [`BUS_RULES`]):
//! one read and one write outstanding; a write is taken when AW and W are
//! both valid; an unaligned or unmapped address, or a write to a register
//! with no writable field, answers SLVERR and changes nothing; `wstrb`
//! selects the bytes a write affects.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::iface::{AxilSpec, Bundle, Field as IfField, Side};
use crate::ir::{clog2, Block, Expr, ModuleBuilder};

/// Register width in bits (AXI4-Lite data width of every register block).
pub const DATA_BITS: u32 = 32;

/// Prefix of every C macro.
pub const C_PREFIX: &str = "STAG_HANDOFF";

/// How software may access a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read/write storage.
    Rw,
    /// Read-only: hardware drives the value; writes do not change it.
    Ro,
    /// Write-only storage: reads return 0.
    Wo,
    /// Hardware sets bits (sticky); writing 1 clears a bit, writing 0 keeps it.
    W1c,
    /// Command: writing 1 to a bit pulses it for one cycle; reads return 0.
    Cmd,
}

impl Access {
    /// The short name used in the docs.
    pub fn name(self) -> &'static str {
        match self {
            Access::Rw => "RW",
            Access::Ro => "RO",
            Access::Wo => "WO",
            Access::W1c => "W1C",
            Access::Cmd => "CMD",
        }
    }
    /// What the access type means (for the docs' legend).
    pub fn meaning(self) -> &'static str {
        match self {
            Access::Rw => "read/write; reads return what was last written",
            Access::Ro => "read-only; the hardware drives it, writes leave it unchanged",
            Access::Wo => "write-only; reads return 0",
            Access::W1c => {
                "set by the hardware and kept; writing 1 to a bit clears it, writing 0 leaves it"
            }
            Access::Cmd => {
                "command: writing 1 to a bit acts once (a one-cycle pulse); reads return 0"
            }
        }
    }
    /// A write can change something.
    pub fn writable(self) -> bool {
        self != Access::Ro
    }
    const ALL: [Access; 5] = [Access::Rw, Access::Ro, Access::Wo, Access::W1c, Access::Cmd];
}

/// A named value of a field (an opcode, a status code).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub name: String,
    pub value: u64,
    pub doc: String,
}

/// A bit field of a register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    /// Least significant bit.
    pub lo: u32,
    /// Bits (at least 1).
    pub width: u32,
    pub access: Access,
    /// Value after reset (for RO: what the hardware presents after reset).
    pub reset: u64,
    pub doc: String,
    pub values: Vec<Value>,
}

impl Field {
    /// Most significant bit.
    pub fn hi(&self) -> u32 {
        (self.lo + self.width).saturating_sub(1)
    }
    /// The field's bits in place (`((1 << width) - 1) << lo`).
    pub fn mask(&self) -> u64 {
        low_mask(self.width) << self.lo
    }
    /// `[hi:lo]`, or `[b]` for one bit.
    pub fn bits(&self) -> String {
        if self.width == 1 {
            format!("[{}]", self.lo)
        } else {
            format!("[{}:{}]", self.hi(), self.lo)
        }
    }
}

/// One 32-bit register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Register {
    pub name: String,
    /// Offset in 32-bit words inside the block's window.
    pub word: u32,
    pub doc: String,
    /// What a read does besides returning the value (the RTL gets a read
    /// strobe for such a register, see [`RegPorts::read_strobe`]).
    pub on_read: Option<String>,
    /// What a write does besides storing (for CMD fields: what the pulse starts).
    pub on_write: Option<String>,
    pub fields: Vec<Field>,
}

impl Register {
    /// Byte offset inside the block's window.
    pub fn offset(&self) -> u64 {
        self.word as u64 * 4
    }
    /// Add a field `[hi:lo]`.
    pub fn field(
        &mut self,
        name: &str,
        hi: u32,
        lo: u32,
        access: Access,
        reset: u64,
        doc: &str,
    ) -> &mut Self {
        self.fields.push(Field {
            name: name.into(),
            lo,
            width: (hi + 1).saturating_sub(lo),
            access,
            reset,
            doc: doc.into(),
            values: Vec::new(),
        });
        self
    }
    /// Name values of the field added last: `(name, value, description)`.
    pub fn values(&mut self, values: &[(&str, u64, &str)]) -> &mut Self {
        let f = self
            .fields
            .last_mut()
            .expect("values() follows the field it names");
        f.values.extend(values.iter().map(|(n, v, d)| Value {
            name: (*n).into(),
            value: *v,
            doc: (*d).into(),
        }));
        self
    }
    /// Declare what a read does besides returning the value.
    pub fn on_read(&mut self, doc: &str) -> &mut Self {
        self.on_read = Some(doc.into());
        self
    }
    /// Declare what a write does besides storing.
    pub fn on_write(&mut self, doc: &str) -> &mut Self {
        self.on_write = Some(doc.into());
        self
    }
    /// The field named `name`.
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
    /// Some field can be written.
    pub fn writable(&self) -> bool {
        self.fields.iter().any(|f| f.access.writable())
    }
    /// The whole register's value after reset (WO and CMD fields read 0).
    pub fn reset(&self) -> u32 {
        self.fields
            .iter()
            .filter(|f| matches!(f.access, Access::Rw | Access::Ro | Access::W1c))
            .fold(0u64, |v, f| v | (f.reset << f.lo) & f.mask()) as u32
    }
    /// The access types of its fields, e.g. `RO, W1C`.
    pub fn access_summary(&self) -> String {
        Access::ALL
            .iter()
            .filter(|a| self.fields.iter().any(|f| f.access == **a))
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One register block: an AXI4-Lite window of the NIC's register space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegBlock {
    /// Upper-case name used in macro and constant names (`STAG`).
    pub name: String,
    /// The generated module that implements it.
    pub module: String,
    /// Byte address of the window in the NIC's register space.
    pub base: u64,
    pub doc: String,
    pub registers: Vec<Register>,
}

impl RegBlock {
    pub fn new(name: &str, module: &str, base: u64, doc: &str) -> Self {
        RegBlock {
            name: name.into(),
            module: module.into(),
            base,
            doc: doc.into(),
            registers: Vec::new(),
        }
    }
    /// The STATUS register every command window has (`stag_regs`,
    /// `conn_regs`): BUSY, DONE and CODE, the last response's status with
    /// `statuses` named. The caller adds the window's own fields.
    pub fn command_status(&mut self, word: u32, statuses: &[(&str, u64, &str)]) -> &mut Register {
        self.reg(
            "STATUS",
            word,
            "Command state and the last response's status.",
        )
        .field(
            "BUSY",
            0,
            0,
            Access::Ro,
            0,
            "a command was issued and its response has not come back",
        )
        .field(
            "DONE",
            1,
            1,
            Access::Ro,
            0,
            "the RESP_* registers and CODE hold the answer to the last GO",
        )
        .field("CODE", 6, 4, Access::Ro, 0, "status of the last response")
        .values(statuses)
    }

    /// Add a register at word offset `word`; add its fields to the result.
    pub fn reg(&mut self, name: &str, word: u32, doc: &str) -> &mut Register {
        self.registers.push(Register {
            name: name.into(),
            word,
            doc: doc.into(),
            on_read: None,
            on_write: None,
            fields: Vec::new(),
        });
        self.registers.last_mut().unwrap()
    }
    /// The register named `name`.
    pub fn get(&self, name: &str) -> Option<&Register> {
        self.registers.iter().find(|r| r.name == name)
    }
    /// Byte address bits of the window: enough for the highest register,
    /// at least 3 (two registers).
    pub fn addr_width(&self) -> u32 {
        let top = self
            .registers
            .iter()
            .map(|r| r.offset() + 4)
            .max()
            .unwrap_or(4);
        clog2(top).max(3)
    }
    /// Bytes in the window (`1 << addr_width`).
    pub fn size(&self) -> u64 {
        1 << self.addr_width()
    }
    /// Registers by increasing offset.
    pub fn by_offset(&self) -> Vec<&Register> {
        let mut v: Vec<&Register> = self.registers.iter().collect();
        v.sort_by_key(|r| r.word);
        v
    }

    /// Check the description; the first problem found is the error.
    pub fn validate(&self) -> Result<(), RegMapError> {
        let err = |problem: String| {
            Err(RegMapError {
                block: self.name.clone(),
                problem,
            })
        };
        if !is_upper_ident(&self.name) {
            return err("the block name is not an upper-case C identifier".into());
        }
        if self.registers.is_empty() {
            return err("the block has no registers".into());
        }
        let mut names: BTreeMap<&str, ()> = BTreeMap::new();
        let mut words: BTreeMap<u32, &str> = BTreeMap::new();
        for r in &self.registers {
            if !is_upper_ident(&r.name) {
                return err(format!(
                    "register name `{}` is not an upper-case C identifier",
                    r.name
                ));
            }
            if names.insert(&r.name, ()).is_some() {
                return err(format!("two registers are named `{}`", r.name));
            }
            if let Some(prev) = words.insert(r.word, &r.name) {
                return err(format!(
                    "registers `{prev}` and `{}` are both at offset {:#04x}",
                    r.name,
                    r.offset()
                ));
            }
            let at = format!("register `{}`", r.name);
            if r.fields.is_empty() {
                return err(format!("{at} has no fields"));
            }
            for (i, f) in r.fields.iter().enumerate() {
                if !is_upper_ident(&f.name) {
                    return err(format!(
                        "{at}: field name `{}` is not an upper-case C identifier",
                        f.name
                    ));
                }
                let fat = format!("{at} field `{}`", f.name);
                if f.width == 0 {
                    return err(format!("{fat} has no bits (hi below lo)"));
                }
                if f.lo + f.width > DATA_BITS {
                    return err(format!(
                        "{fat} {} lies outside the {DATA_BITS}-bit register",
                        f.bits()
                    ));
                }
                if f.reset > low_mask(f.width) {
                    return err(format!(
                        "{fat}: reset value {:#x} does not fit in {} bit{}",
                        f.reset,
                        f.width,
                        if f.width == 1 { "" } else { "s" }
                    ));
                }
                if f.access == Access::Cmd && f.reset != 0 {
                    return err(format!(
                        "{fat} is a CMD (pulse) field: its reset value must be 0, not {:#x}",
                        f.reset
                    ));
                }
                for g in &r.fields[..i] {
                    if g.name == f.name {
                        return err(format!("{at} has two fields named `{}`", f.name));
                    }
                    if g.mask() & f.mask() != 0 {
                        return err(format!(
                            "{at}: fields `{}` {} and `{}` {} overlap",
                            g.name,
                            g.bits(),
                            f.name,
                            f.bits()
                        ));
                    }
                }
                for (j, v) in f.values.iter().enumerate() {
                    if !is_upper_ident(&v.name) {
                        return err(format!(
                            "{fat}: value name `{}` is not an upper-case C identifier",
                            v.name
                        ));
                    }
                    if v.value > low_mask(f.width) {
                        return err(format!(
                            "{fat}: value `{}` = {:#x} does not fit in {} bits",
                            v.name, v.value, f.width
                        ));
                    }
                    if let Some(w) = f.values[..j].iter().find(|w| w.name == v.name) {
                        return err(format!("{fat} names two values `{}`", w.name));
                    }
                    if let Some(w) = f.values[..j].iter().find(|w| w.value == v.value) {
                        return err(format!(
                            "{fat}: values `{}` and `{}` are both {:#x}",
                            w.name, v.name, v.value
                        ));
                    }
                    if r.fields.iter().any(|g| g.name == v.name) {
                        return err(format!(
                            "{fat}: value `{}` has the name of a field (their macros would collide)",
                            v.name
                        ));
                    }
                }
            }
            if r.on_write.is_some() && !r.writable() {
                return err(format!(
                    "{at} has a write side effect but no writable field"
                ));
            }
        }
        if !self.base.is_multiple_of(self.size()) {
            return err(format!(
                "base {:#x} is not a multiple of the window size {:#x}",
                self.base,
                self.size()
            ));
        }
        Ok(())
    }
}

/// The register space of a NIC: its blocks' windows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegMap {
    pub blocks: Vec<RegBlock>,
}

impl RegMap {
    /// Byte address bits of the whole register space: enough for the end
    /// of the highest window.
    pub fn addr_width(&self) -> u32 {
        let top = self
            .blocks
            .iter()
            .map(|b| b.base + b.size())
            .max()
            .unwrap_or(4);
        clog2(top).max(3)
    }
    /// The block named `name`.
    pub fn get(&self, name: &str) -> Option<&RegBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }
    /// Check every block, distinct block names and non-overlapping windows.
    pub fn validate(&self) -> Result<(), RegMapError> {
        for (i, b) in self.blocks.iter().enumerate() {
            b.validate()?;
            for a in &self.blocks[..i] {
                let err = |problem: String| {
                    Err(RegMapError {
                        block: b.name.clone(),
                        problem,
                    })
                };
                if a.name == b.name {
                    return err("two blocks have this name".into());
                }
                if a.base < b.base + b.size() && b.base < a.base + a.size() {
                    return err(format!(
                        "window {:#x}..{:#x} overlaps block `{}` at {:#x}..{:#x}",
                        b.base,
                        b.base + b.size(),
                        a.name,
                        a.base,
                        a.base + a.size()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A mistake in a register description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("register map `{block}`: {problem}")]
pub struct RegMapError {
    pub block: String,
    pub problem: String,
}

impl From<RegMapError> for crate::Error {
    fn from(e: RegMapError) -> Self {
        crate::Error::Design(e.to_string())
    }
}

fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

fn is_upper_ident(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(x) if x.is_ascii_uppercase())
        && c.all(|x| x.is_ascii_uppercase() || x.is_ascii_digit() || x == '_')
}

// ---------------------------------------------------------------------------
// The NIC's map and the generated files
// ---------------------------------------------------------------------------

/// The NIC's register space: every register block's window. A new block
/// adds its description here, and all outputs follow.
pub fn nic_map() -> RegMap {
    RegMap {
        blocks: vec![
            crate::blocks::stag_regs::regmap(),
            crate::blocks::conn_regs::regmap(),
            crate::blocks::event_regs::regmap(),
            crate::blocks::counter_regs::regmap(),
        ],
    }
}

/// Where the generated files live in the repository, and their text.
pub fn generated_files() -> Vec<(&'static str, String)> {
    let map = nic_map();
    map.validate().expect("the NIC register map is valid");
    vec![
        ("docs/registers.md", markdown(&map)),
        ("include/stag_handoff_regs.h", c_header(&map)),
        ("sim/src/regs.rs", rust_consts(&map)),
    ]
}

/// Write the generated files into `dir` by file name (`stag-handoff emit`
/// puts them beside the Verilog). Returns the names written.
pub fn write_generated(dir: &std::path::Path) -> std::io::Result<Vec<String>> {
    let mut written = Vec::new();
    for (path, text) in generated_files() {
        let name = path.rsplit('/').next().unwrap_or(path);
        std::fs::write(dir.join(name), text)?;
        written.push(name.to_string());
    }
    Ok(written)
}

/// How the generated files say where they come from.
const GENERATED_BY: &str =
    "Generated by `stag-handoff regs` from hdl::regmap::nic_map(); do not edit.";

/// The bus rules every generated register block follows (also in the docs).
pub const BUS_RULES: &[&str] = &[
    "Registers are 32 bits wide at byte offsets that are multiples of 4; the offsets below are inside the block's window, whose base is given per block.",
    "One read and one write may be outstanding (each channel answers before it takes the next request). A write is taken in the cycle that AW and W are both valid.",
    "An address that is not a multiple of 4, or at which no register is, answers SLVERR (reads return 0) and changes nothing. A write to a register with no writable field also answers SLVERR.",
    "`wstrb` selects the bytes a write affects, for every access type (a CMD or W1C bit acts only if its byte is strobed).",
    "Bits that no field covers read as 0 and ignore writes.",
];

/// `docs/registers.md`.
pub fn markdown(map: &RegMap) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "<!-- {GENERATED_BY} -->\n");
    let _ = writeln!(s, "# Register map\n");
    let _ = writeln!(
        s,
        "Each NIC's host registers, as the generator describes them once (`hdl/src/regmap.rs`) \
and builds them into the RTL, this page, the C header \
[`include/stag_handoff_regs.h`](../include/stag_handoff_regs.h) and the Rust constants \
[`sim/src/regs.rs`](../sim/src/regs.rs). The layout is the same for every generator parameter \
set.\n"
    );
    let _ = writeln!(s, "## Bus rules (every block)\n");
    for r in BUS_RULES {
        let _ = writeln!(s, "* {r}");
    }
    let _ = writeln!(s, "\n## Access types\n");
    let _ = writeln!(s, "| access | meaning |\n|---|---|");
    for a in Access::ALL {
        let _ = writeln!(s, "| {} | {} |", a.name(), a.meaning());
    }
    let _ = writeln!(s, "\n## Blocks\n");
    let _ = writeln!(s, "| block | module | base | size |\n|---|---|---:|---:|");
    for b in &map.blocks {
        let _ = writeln!(
            s,
            "| [`{}`](#block-{}) | `{}` | {:#06x} | {:#x} |",
            b.name,
            b.name.to_lowercase(),
            b.module,
            b.base,
            b.size()
        );
    }
    let _ = writeln!(
        s,
        "\nThe NIC's register port `s_axil_*` (module `nic`) has {} address bits: its space is \
{:#06x}..{:#06x}. An address in no block's window answers SLVERR from the NIC's address \
decoder (`axil_decode`; reads return 0) and reaches no block; an access through the decoder \
takes two cycles more than the block's own.",
        map.addr_width(),
        0,
        1u64 << map.addr_width()
    );
    for b in &map.blocks {
        let _ = writeln!(s, "\n## Block {}\n", b.name);
        let _ = writeln!(
            s,
            "Module `{}`, window {:#06x}..{:#06x} ({} address bits). {}\n",
            b.module,
            b.base,
            b.base + b.size(),
            b.addr_width(),
            b.doc
        );
        let _ = writeln!(
            s,
            "| offset | register | access | reset | description |\n|---:|---|---|---:|---|"
        );
        for r in b.by_offset() {
            let _ = writeln!(
                s,
                "| {:#04x} | [`{}`](#{}) | {} | {:#010x} | {} |",
                r.offset(),
                r.name,
                anchor(&b.name, &r.name),
                r.access_summary(),
                r.reset(),
                first_sentence(&r.doc)
            );
        }
        for r in b.by_offset() {
            let _ = writeln!(
                s,
                "\n### {}_{}\n\nOffset {:#04x} (address {:#06x}), reset {:#010x}. {}\n",
                b.name,
                r.name,
                r.offset(),
                b.base + r.offset(),
                r.reset(),
                r.doc
            );
            if let Some(e) = &r.on_read {
                let _ = writeln!(s, "* **Side effect of a read:** {e}");
            }
            if let Some(e) = &r.on_write {
                let _ = writeln!(s, "* **Side effect of a write:** {e}");
            }
            if r.on_read.is_some() || r.on_write.is_some() {
                s.push('\n');
            }
            let _ = writeln!(
                s,
                "| bits | field | access | reset | description |\n|---|---|---|---:|---|"
            );
            let mut fields: Vec<&Field> = r.fields.iter().collect();
            fields.sort_by_key(|f| std::cmp::Reverse(f.lo));
            for f in fields {
                let mut doc = f.doc.clone();
                for v in &f.values {
                    let _ = write!(doc, "<br>{} `{}`: {}", v.value, v.name, v.doc);
                }
                let _ = writeln!(
                    s,
                    "| {} | `{}` | {} | {:#x} | {} |",
                    &f.bits()[1..f.bits().len() - 1],
                    f.name,
                    f.access.name(),
                    f.reset,
                    doc
                );
            }
        }
    }
    s
}

fn anchor(block: &str, reg: &str) -> String {
    format!("{}_{}", block, reg).to_lowercase()
}

fn first_sentence(doc: &str) -> &str {
    match doc.find(". ") {
        Some(i) => &doc[..=i],
        None => doc,
    }
}

/// `include/stag_handoff_regs.h`: offsets, shifts, masks (in place), reset
/// values and named values, `STAG_HANDOFF_<BLOCK>_<REG>_<FIELD>_*`.
pub fn c_header(map: &RegMap) -> String {
    let mut s = String::new();
    let guard = format!("{C_PREFIX}_REGS_H");
    let _ = writeln!(s, "/*\n * {GENERATED_BY}\n *");
    let _ = writeln!(
        s,
        " * Register map of one stag-handoff NIC (docs/registers.md). Per block:\n \
* <P>_<BLOCK>_BASE / _SIZE       the block's window in the NIC's register space;\n \
* <P>_<BLOCK>_<REG>_OFFSET       byte offset of a register inside the window;\n \
* <P>_<BLOCK>_<REG>_RESET        the register's value after reset;\n \
* <P>_<BLOCK>_<REG>_<FIELD>_SHIFT, _WIDTH, _MASK (in place), _RESET;\n \
* <P>_<BLOCK>_<REG>_<FIELD>_<VALUE>  a named value of the field (not shifted).\n \
* <P> is {C_PREFIX}.\n */"
    );
    let _ = writeln!(s, "#ifndef {guard}\n#define {guard}\n");
    let _ = writeln!(
        s,
        "/* One NIC's register space (all blocks; unmapped addresses answer SLVERR) */\n#define {C_PREFIX}_NIC_REGS_SIZE 0x{:x}u\n",
        1u64 << map.addr_width()
    );
    for b in &map.blocks {
        let p = format!("{C_PREFIX}_{}", b.name);
        let _ = writeln!(s, "/* Block {} (module {}) */", b.name, b.module);
        let _ = writeln!(s, "#define {p}_BASE 0x{:04x}u", b.base);
        let _ = writeln!(s, "#define {p}_SIZE 0x{:x}u", b.size());
        for r in b.by_offset() {
            let rp = format!("{p}_{}", r.name);
            let _ = writeln!(
                s,
                "\n/* {}: {} */",
                r.name,
                c_comment(first_sentence(&r.doc))
            );
            let _ = writeln!(s, "#define {rp}_OFFSET 0x{:03x}u", r.offset());
            let _ = writeln!(s, "#define {rp}_RESET 0x{:08x}u", r.reset());
            for f in &r.fields {
                let fp = format!("{rp}_{}", f.name);
                let _ = writeln!(s, "#define {fp}_SHIFT {}", f.lo);
                let _ = writeln!(s, "#define {fp}_WIDTH {}", f.width);
                let _ = writeln!(s, "#define {fp}_MASK 0x{:08x}u", f.mask());
                let _ = writeln!(s, "#define {fp}_RESET 0x{:x}u", f.reset);
                for v in &f.values {
                    let _ = writeln!(s, "#define {fp}_{} {}u", v.name, v.value);
                }
            }
        }
        s.push('\n');
    }
    let _ = writeln!(s, "#endif /* {guard} */");
    s
}

fn c_comment(text: &str) -> String {
    text.replace("*/", "* /").replace('`', "")
}

/// `sim/src/regs.rs`: the same constants as the C header, one module per
/// block (`regs::stag::CMD_OP_OFFSET`, ...).
pub fn rust_consts(map: &RegMap) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "//! NIC register map constants for the driver model.\n//!"
    );
    let _ = writeln!(s, "//! {GENERATED_BY}");
    let _ = writeln!(
        s,
        "//! `tests/regmap_generated.rs` fails when this file is stale. Offsets are\n\
//! bytes inside the block's window; masks are in place; named values are\n\
//! not shifted. The page for humans is `docs/registers.md`."
    );
    let _ = writeln!(
        s,
        "\n/// Bytes of one NIC's register space (every block's window; an address in\n\
/// none answers SLVERR).\npub const NIC_REGS_SIZE: u64 = {:#x};",
        1u64 << map.addr_width()
    );
    for b in &map.blocks {
        let _ = writeln!(s, "\n/// Block `{}` (module `{}`).", b.name, b.module);
        let _ = writeln!(s, "pub mod {} {{", b.name.to_lowercase());
        let _ = writeln!(s, "    /// Base of the window in the NIC's register space.");
        let _ = writeln!(s, "    pub const BASE: u64 = {:#06x};", b.base);
        let _ = writeln!(s, "    /// Bytes in the window.");
        let _ = writeln!(s, "    pub const SIZE: u64 = {:#x};", b.size());
        for r in b.by_offset() {
            let _ = writeln!(s, "\n    /// `{}`: {}", r.name, first_sentence(&r.doc));
            let _ = writeln!(
                s,
                "    pub const {}_OFFSET: u64 = {:#04x};",
                r.name,
                r.offset()
            );
            let _ = writeln!(
                s,
                "    pub const {}_RESET: u32 = {};",
                r.name,
                rust_hex32(r.reset() as u64)
            );
            for f in &r.fields {
                let fp = format!("{}_{}", r.name, f.name);
                let _ = writeln!(s, "    pub const {fp}_SHIFT: u32 = {};", f.lo);
                let _ = writeln!(s, "    pub const {fp}_WIDTH: u32 = {};", f.width);
                let _ = writeln!(
                    s,
                    "    pub const {fp}_MASK: u32 = {};",
                    rust_hex32(f.mask())
                );
                let _ = writeln!(s, "    pub const {fp}_RESET: u32 = {:#x};", f.reset);
                for v in &f.values {
                    let _ = writeln!(s, "    pub const {fp}_{}: u32 = {};", v.name, v.value);
                }
            }
        }
        let _ = writeln!(
            s,
            "\n    /// Every register: (name, byte offset), by offset.\n    pub const REGISTERS: &[(&str, u64)] = &["
        );
        for r in b.by_offset() {
            let _ = writeln!(s, "        (\"{}\", {}_OFFSET),", r.name, r.name);
        }
        let _ = writeln!(s, "    ];\n}}");
    }
    s
}

fn rust_hex32(v: u64) -> String {
    format!("0x{:04x}_{:04x}", v >> 16, v & 0xffff)
}

// ---------------------------------------------------------------------------
// RTL
// ---------------------------------------------------------------------------

/// The `s_axil_*` fields of a block's port: AXI4-Lite with 32-bit data and
/// the block's address width, without `awprot`/`arprot` (the registers do
/// not distinguish access kinds; a manager's prot outputs stay unconnected).
pub fn axil_fields(block: &RegBlock) -> Vec<IfField> {
    AxilSpec {
        addr_width: block.addr_width(),
        data_width: DATA_BITS,
    }
    .fields()
    .into_iter()
    .filter(|f| !f.name.ends_with("prot"))
    .collect()
}

/// What a field is in the generated RTL.
#[derive(Clone, Debug)]
enum FieldSig {
    /// RW, WO: the storage register.
    Stored(Expr),
    /// RO: a wire the block must drive.
    Source(Expr),
    /// W1C: the sticky register and the wire of bits to set (block drives it).
    Sticky { value: Expr, set: Expr },
    /// CMD: the one-cycle pulse.
    Pulse(Expr),
}

/// The block-facing side of a generated register block.
pub struct RegPorts {
    block: String,
    fields: BTreeMap<(String, String), FieldSig>,
    read_strobes: BTreeMap<String, Expr>,
    write_strobes: BTreeMap<String, Expr>,
    /// The AXI4-Lite port bundle.
    pub axil: Bundle,
}

impl RegPorts {
    fn get(&self, reg: &str, field: &str) -> &FieldSig {
        self.fields
            .get(&(reg.to_string(), field.to_string()))
            .unwrap_or_else(|| panic!("register map `{}` has no field {reg}.{field}", self.block))
    }
    /// The stored value of an RW, WO or W1C field.
    pub fn value(&self, reg: &str, field: &str) -> Expr {
        match self.get(reg, field) {
            FieldSig::Stored(e) | FieldSig::Sticky { value: e, .. } => e.clone(),
            other => panic!("{reg}.{field} has no stored value ({other:?})"),
        }
    }
    /// The wire an RO field reads; the block must drive it.
    pub fn source(&self, reg: &str, field: &str) -> Expr {
        match self.get(reg, field) {
            FieldSig::Source(e) => e.clone(),
            other => panic!("{reg}.{field} is not read-only ({other:?})"),
        }
    }
    /// The bits a W1C field's hardware sets this cycle; the block must drive it.
    pub fn set(&self, reg: &str, field: &str) -> Expr {
        match self.get(reg, field) {
            FieldSig::Sticky { set, .. } => set.clone(),
            other => panic!("{reg}.{field} is not W1C ({other:?})"),
        }
    }
    /// The one-cycle pulse of a CMD field: high in the cycle of the write's
    /// handshake, so the block acts at that edge.
    pub fn pulse(&self, reg: &str, field: &str) -> Expr {
        match self.get(reg, field) {
            FieldSig::Pulse(e) => e.clone(),
            other => panic!("{reg}.{field} is not CMD ({other:?})"),
        }
    }
    /// High in the cycle a read of `reg` is taken (registers with a read side
    /// effect only); the read returns the value before the side effect.
    pub fn read_strobe(&self, reg: &str) -> Expr {
        self.read_strobes
            .get(reg)
            .unwrap_or_else(|| panic!("register `{reg}` declares no read side effect"))
            .clone()
    }
    /// High in the cycle a write of `reg` is taken (registers with a write
    /// side effect only); stored fields take the written value at that edge.
    pub fn write_strobe(&self, reg: &str) -> Expr {
        self.write_strobes
            .get(reg)
            .unwrap_or_else(|| panic!("register `{reg}` declares no write side effect"))
            .clone()
    }
}

/// Build the AXI4-Lite subordinate `s_axil_*` of `block` into `m` (which
/// must have `clk` and `rst`): address decode, field storage with reset
/// values, W1C and CMD logic, the read mux, read strobes for registers with
/// a read side effect, and SLVERR for everything [`BUS_RULES`] says.
///
/// Names in the Verilog: `REG_<NAME>` localparams hold the word offsets;
/// `<reg>_<field>_reg` is a stored field, `<reg>_<field>` an RO field's
/// wire, `<reg>_<field>_set` a W1C field's set bits, `<reg>_<field>_pulse` a
/// CMD pulse, `<reg>_rd` a read strobe (all lower case).
pub fn axil_regs(m: &mut ModuleBuilder, block: &RegBlock) -> Result<RegPorts, RegMapError> {
    block.validate()?;
    let aw = block.addr_width();
    let ww = aw - 2;
    let axil = Bundle::new(m, "s_axil", Side::Subordinate, axil_fields(block));
    let sig = |n: &str| axil.sig(n).clone();
    let low = |s: &str| s.to_lowercase();

    let regs = block.by_offset();
    let label: BTreeMap<&str, Expr> = regs
        .iter()
        .map(|r| {
            let e = m.localparam(
                &format!("REG_{}", r.name),
                r.word as u128,
                ww,
                &format!("{} at byte offset {:#04x}", r.name, r.offset()),
            );
            (r.name.as_str(), e)
        })
        .collect();

    // ---- write channel: AW and W together, B held until taken ----
    let awaddr = sig("awaddr");
    let wdata = sig("wdata");
    let bvalid = m.reg("bvalid_reg", 1, 0, "a write response is held");
    let bresp = m.signal(
        "bresp_reg",
        2,
        "OKAY, or SLVERR (unmapped, unaligned, read-only)",
    );
    let wr_fire = m.signal(
        "wr_fire",
        1,
        "AW and W both valid and no response held: the write happens at this edge",
    );
    m.assign(
        &wr_fire,
        sig("awvalid").land(sig("wvalid")).land(bvalid.lnot()),
    );
    m.assign(&sig("awready"), &wr_fire);
    m.assign(&sig("wready"), &wr_fire);
    m.assign(&sig("bvalid"), &bvalid);
    m.assign(&sig("bresp"), &bresp);
    let wstrb = sig("wstrb");
    let wmask = m.signal(
        "wr_mask",
        DATA_BITS,
        "wstrb widened to one bit per data bit",
    );
    m.assign(
        &wmask,
        Expr::concat((0..DATA_BITS / 8).rev().map(|i| wstrb.bit(i).repl(8))),
    );
    let aw_aligned = awaddr.slice(1, 0).eq_lit(0);
    let mut wr_sel: BTreeMap<&str, Expr> = BTreeMap::new();
    for r in regs.iter().filter(|r| r.writable()) {
        let s = m.signal(
            &format!("wr_{}", low(&r.name)),
            1,
            &format!("write to {}", r.name),
        );
        m.assign(
            &s,
            wr_fire
                .land(&aw_aligned)
                .land(awaddr.slice(aw - 1, 2).eq(&label[r.name.as_str()])),
        );
        wr_sel.insert(&r.name, s);
    }
    if wr_sel.is_empty() {
        m.unused(
            "axil_write",
            vec![awaddr.clone(), wdata.clone(), wmask.clone()],
            "no register is writable: every write answers SLVERR and changes nothing",
        );
    }
    let wr_ok = m.signal(
        "wr_ok",
        1,
        "a writable register is at awaddr: OKAY, else SLVERR",
    );
    m.assign(
        &wr_ok,
        wr_sel
            .values()
            .cloned()
            .reduce(|a, b| a | b)
            .unwrap_or_else(|| Expr::zero(1)),
    );
    m.sync("write response", |b| {
        b.if_else(
            &wr_fire,
            |b| {
                b.assign(&bvalid, Expr::lit(1, 1));
                b.assign(&bresp, Expr::mux(&wr_ok, Expr::lit(0, 2), Expr::lit(2, 2)));
            },
            |b| b.when(sig("bready"), |b| b.assign(&bvalid, Expr::lit(0, 1))),
        );
    });

    // ---- fields ----
    let mut fields = BTreeMap::new();
    let mut stored: Vec<(Expr, Expr, u32, u32)> = Vec::new(); // (reg, select, hi, lo)
    let mut sticky: Vec<(Expr, Expr, Expr, u32, u32)> = Vec::new(); // (reg, set, select, hi, lo)
    for r in &regs {
        for f in &r.fields {
            let base = format!("{}_{}", low(&r.name), low(&f.name));
            let doc = format!("{}.{} {}", r.name, f.name, f.access.name());
            let (hi, lo) = (f.hi(), f.lo);
            let fs = match f.access {
                Access::Rw | Access::Wo => {
                    let e = m.reg(&format!("{base}_reg"), f.width, f.reset as u128, &doc);
                    stored.push((e.clone(), wr_sel[r.name.as_str()].clone(), hi, lo));
                    FieldSig::Stored(e)
                }
                Access::Ro => FieldSig::Source(m.signal(&base, f.width, &doc)),
                Access::W1c => {
                    let value = m.reg(&format!("{base}_reg"), f.width, f.reset as u128, &doc);
                    let set = m.signal(
                        &format!("{base}_set"),
                        f.width,
                        "bits the hardware sets now",
                    );
                    sticky.push((
                        value.clone(),
                        set.clone(),
                        wr_sel[r.name.as_str()].clone(),
                        hi,
                        lo,
                    ));
                    FieldSig::Sticky { value, set }
                }
                Access::Cmd => {
                    let p = m.signal(&format!("{base}_pulse"), f.width, &doc);
                    m.assign(
                        &p,
                        wr_sel[r.name.as_str()].repl(f.width)
                            & wdata.slice(hi, lo)
                            & wmask.slice(hi, lo),
                    );
                    FieldSig::Pulse(p)
                }
            };
            fields.insert((r.name.clone(), f.name.clone()), fs);
        }
    }
    if !stored.is_empty() || !sticky.is_empty() {
        m.sync(
            "register fields: written bytes (RW, WO), set and write-1-clear (W1C)",
            |b| {
                for (e, sel, hi, lo) in &stored {
                    b.when(sel, |b| {
                        b.assign(
                            e,
                            (e.clone() & !wmask.slice(*hi, *lo))
                                | (wdata.slice(*hi, *lo) & wmask.slice(*hi, *lo)),
                        )
                    });
                }
                for (e, set, sel, hi, lo) in &sticky {
                    let clear = sel.repl(e.width()) & wdata.slice(*hi, *lo) & wmask.slice(*hi, *lo);
                    b.assign(e, (e.clone() & !clear) | set.clone());
                }
            },
        );
    }

    // ---- read channel: AR, then R held until taken ----
    let araddr = sig("araddr");
    let rvalid = m.reg("rvalid_reg", 1, 0, "a read response is held");
    let rdata = m.signal("rdata_reg", DATA_BITS, "");
    let rresp = m.signal("rresp_reg", 2, "OKAY, or SLVERR (unmapped, unaligned)");
    let rd_fire = m.signal("rd_fire", 1, "the read is taken at this edge");
    m.assign(&rd_fire, sig("arvalid").land(rvalid.lnot()));
    m.assign(&sig("arready"), rvalid.lnot());
    m.assign(&sig("rvalid"), &rvalid);
    m.assign(&sig("rdata"), &rdata);
    m.assign(&sig("rresp"), &rresp);
    let ar_aligned = m.signal("rd_aligned", 1, "araddr is a multiple of 4");
    m.assign(&ar_aligned, araddr.slice(1, 0).eq_lit(0));
    let ar_word = m.signal("rd_word", ww, "araddr in words");
    m.assign(&ar_word, araddr.slice(aw - 1, 2));
    let mut read_strobes = BTreeMap::new();
    for r in regs.iter().filter(|r| r.on_read.is_some()) {
        let s = m.signal(
            &format!("{}_rd", low(&r.name)),
            1,
            &format!("read of {} taken now", r.name),
        );
        m.assign(
            &s,
            rd_fire
                .land(&ar_aligned)
                .land(ar_word.eq(&label[r.name.as_str()])),
        );
        read_strobes.insert(r.name.clone(), s);
    }
    let rd_value = m.reg("rd_value", DATA_BITS, 0, "the addressed register's value");
    let rd_ok = m.reg("rd_ok", 1, 0, "a register is at araddr");
    let values: Vec<(Expr, Expr)> = regs
        .iter()
        .map(|r| {
            let mut fs: Vec<&Field> = r.fields.iter().collect();
            fs.sort_by_key(|f| f.lo);
            let mut parts = Vec::new();
            let mut at = 0;
            for f in fs {
                if f.lo > at {
                    parts.push(Expr::zero(f.lo - at));
                }
                parts.push(match &fields[&(r.name.clone(), f.name.clone())] {
                    FieldSig::Stored(e) if f.access == Access::Rw => e.clone(),
                    FieldSig::Sticky { value, .. } => value.clone(),
                    FieldSig::Source(e) => e.clone(),
                    _ => Expr::zero(f.width),
                });
                at = f.lo + f.width;
            }
            if at < DATA_BITS {
                parts.push(Expr::zero(DATA_BITS - at));
            }
            parts.reverse();
            (label[r.name.as_str()].clone(), Expr::concat(parts))
        })
        .collect();
    m.comb("read mux", |b| {
        b.when(&ar_aligned, |b| {
            let arms = values
                .iter()
                .map(|(l, v)| {
                    let v = v.clone();
                    let (rd_value, rd_ok) = (rd_value.clone(), rd_ok.clone());
                    (
                        vec![l.clone()],
                        Box::new(move |b: &mut Block| {
                            b.assign(&rd_value, v);
                            b.assign(&rd_ok, Expr::lit(1, 1));
                        }) as Box<dyn FnOnce(&mut Block)>,
                    )
                })
                .collect();
            b.case_named(ar_word.clone(), arms, |_| {});
        });
    });
    m.sync("read response", |b| {
        b.if_else(
            &rd_fire,
            |b| {
                b.assign(&rvalid, Expr::lit(1, 1));
                b.assign(&rdata, &rd_value);
                b.assign(&rresp, Expr::mux(&rd_ok, Expr::lit(0, 2), Expr::lit(2, 2)));
            },
            |b| b.when(sig("rready"), |b| b.assign(&rvalid, Expr::lit(0, 1))),
        );
    });

    let write_strobes = regs
        .iter()
        .filter(|r| r.on_write.is_some())
        .map(|r| (r.name.clone(), wr_sel[r.name.as_str()].clone()))
        .collect();
    Ok(RegPorts {
        block: block.name.clone(),
        fields,
        read_strobes,
        write_strobes,
        axil,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> RegBlock {
        let mut b = RegBlock::new("T", "t_regs", 0, "test block");
        b.reg("CTRL", 0, "control")
            .field("EN", 0, 0, Access::Rw, 0, "enable");
        b.reg("STAT", 1, "status")
            .field("BUSY", 0, 0, Access::Ro, 0, "busy")
            .field("CODE", 7, 4, Access::Ro, 0, "code");
        b
    }

    fn err(b: &RegBlock) -> String {
        b.validate().unwrap_err().to_string()
    }

    #[test]
    fn a_good_block_validates() {
        block().validate().unwrap();
        assert_eq!(block().addr_width(), 3);
        assert_eq!(block().get("STAT").unwrap().access_summary(), "RO");
    }

    #[test]
    fn overlapping_fields() {
        let mut b = block();
        b.reg("X", 2, "")
            .field("A", 7, 0, Access::Rw, 0, "")
            .field("B", 4, 4, Access::Ro, 0, "");
        assert_eq!(
            err(&b),
            "register map `T`: register `X`: fields `A` [7:0] and `B` [4] overlap"
        );
    }

    #[test]
    fn field_outside_32_bits() {
        let mut b = block();
        b.reg("X", 2, "").field("A", 33, 30, Access::Rw, 0, "");
        assert_eq!(
            err(&b),
            "register map `T`: register `X` field `A` [33:30] lies outside the 32-bit register"
        );
    }

    #[test]
    fn field_without_bits() {
        let mut b = block();
        b.reg("X", 2, "").field("A", 3, 4, Access::Rw, 0, "");
        assert_eq!(
            err(&b),
            "register map `T`: register `X` field `A` has no bits (hi below lo)"
        );
    }

    #[test]
    fn duplicate_register_names() {
        let mut b = block();
        b.reg("CTRL", 2, "").field("A", 0, 0, Access::Rw, 0, "");
        assert_eq!(err(&b), "register map `T`: two registers are named `CTRL`");
    }

    #[test]
    fn duplicate_offsets() {
        let mut b = block();
        b.reg("X", 1, "").field("A", 0, 0, Access::Rw, 0, "");
        assert_eq!(
            err(&b),
            "register map `T`: registers `STAT` and `X` are both at offset 0x04"
        );
    }

    #[test]
    fn duplicate_field_names() {
        let mut b = block();
        b.reg("X", 2, "")
            .field("A", 0, 0, Access::Rw, 0, "")
            .field("A", 1, 1, Access::Rw, 0, "");
        assert_eq!(
            err(&b),
            "register map `T`: register `X` has two fields named `A`"
        );
    }

    #[test]
    fn reset_too_wide() {
        let mut b = block();
        b.reg("X", 2, "").field("A", 3, 0, Access::Rw, 0x10, "");
        assert_eq!(
            err(&b),
            "register map `T`: register `X` field `A`: reset value 0x10 does not fit in 4 bits"
        );
        let mut b = block();
        b.reg("X", 2, "").field("A", 3, 3, Access::Rw, 2, "");
        assert_eq!(
            err(&b),
            "register map `T`: register `X` field `A`: reset value 0x2 does not fit in 1 bit"
        );
    }

    #[test]
    fn cmd_fields_reset_to_zero() {
        let mut b = block();
        b.reg("GO", 2, "").field("GO", 0, 0, Access::Cmd, 1, "");
        assert_eq!(
            err(&b),
            "register map `T`: register `GO` field `GO` is a CMD (pulse) field: its reset value must be 0, not 0x1"
        );
    }

    #[test]
    fn names_are_upper_case_identifiers() {
        let mut b = block();
        b.reg("x-y", 2, "").field("A", 0, 0, Access::Rw, 0, "");
        assert_eq!(
            err(&b),
            "register map `T`: register name `x-y` is not an upper-case C identifier"
        );
        let mut b = block();
        b.reg("X", 2, "").field("a", 0, 0, Access::Rw, 0, "");
        assert_eq!(
            err(&b),
            "register map `T`: register `X`: field name `a` is not an upper-case C identifier"
        );
    }

    #[test]
    fn empty_register_and_bad_values() {
        let mut b = block();
        b.reg("X", 2, "");
        assert_eq!(err(&b), "register map `T`: register `X` has no fields");
        let mut b = block();
        b.reg("X", 2, "")
            .field("OP", 1, 0, Access::Rw, 0, "")
            .values(&[("A", 0, ""), ("B", 4, "")]);
        assert_eq!(
            err(&b),
            "register map `T`: register `X` field `OP`: value `B` = 0x4 does not fit in 2 bits"
        );
        let mut b = block();
        b.reg("X", 2, "")
            .field("OP", 1, 0, Access::Rw, 0, "")
            .values(&[("A", 1, ""), ("B", 1, "")]);
        assert_eq!(
            err(&b),
            "register map `T`: register `X` field `OP`: values `A` and `B` are both 0x1"
        );
    }

    #[test]
    fn write_side_effect_needs_a_writable_field() {
        let mut b = block();
        b.reg("X", 2, "")
            .field("A", 0, 0, Access::Ro, 0, "")
            .on_write("starts something");
        assert_eq!(
            err(&b),
            "register map `T`: register `X` has a write side effect but no writable field"
        );
    }

    #[test]
    fn overlapping_block_windows() {
        let mut other = block();
        other.name = "U".into();
        other.base = 0;
        let map = RegMap {
            blocks: vec![block(), other],
        };
        assert_eq!(
            map.validate().unwrap_err().to_string(),
            "register map `U`: window 0x0..0x8 overlaps block `T` at 0x0..0x8"
        );
        let mut b = block();
        b.base = 4;
        assert_eq!(
            err(&b),
            "register map `T`: base 0x4 is not a multiple of the window size 0x8"
        );
    }

    #[test]
    fn outputs_name_fields_by_block_register_and_field() {
        let map = RegMap {
            blocks: vec![block()],
        };
        let h = c_header(&map);
        assert!(
            h.contains("#define STAG_HANDOFF_T_STAT_CODE_SHIFT 4\n"),
            "{h}"
        );
        assert!(
            h.contains("#define STAG_HANDOFF_T_STAT_CODE_MASK 0x000000f0u\n"),
            "{h}"
        );
        assert!(
            h.contains("#define STAG_HANDOFF_T_STAT_OFFSET 0x004u\n"),
            "{h}"
        );
        assert!(h.starts_with("/*\n * Generated by"));
        assert!(h.contains("#ifndef STAG_HANDOFF_REGS_H\n#define STAG_HANDOFF_REGS_H\n"));
        let r = rust_consts(&map);
        assert!(r.contains("pub mod t {"), "{r}");
        assert!(
            r.contains("    pub const STAT_CODE_MASK: u32 = 0x0000_00f0;\n"),
            "{r}"
        );
        let md = markdown(&map);
        assert!(md.contains("| 7:4 | `CODE` | RO | 0x0 | code |"), "{md}");
    }

    #[test]
    fn every_access_type_elaborates() {
        let mut b = block();
        b.reg("W", 2, "")
            .field("SECRET", 7, 0, Access::Wo, 0x5a, "")
            .field("STICKY", 8, 8, Access::W1c, 0, "")
            .field("KICK", 9, 9, Access::Cmd, 0, "")
            .on_read("counts reads");
        let mut m = ModuleBuilder::new("t_regs", "test");
        m.clock_and_reset();
        let r = axil_regs(&mut m, &b).unwrap();
        let out = m.output("out", 11, "");
        m.assign(&r.source("STAT", "BUSY"), Expr::zero(1));
        m.assign(&r.source("STAT", "CODE"), Expr::zero(4));
        m.assign(&r.set("W", "STICKY"), r.pulse("W", "KICK"));
        m.assign(
            &out,
            Expr::concat([
                r.value("CTRL", "EN"),
                r.read_strobe("W"),
                r.value("W", "STICKY"),
                r.value("W", "SECRET"),
            ]),
        );
        let module = m.finish().unwrap();
        let v = crate::emit::verilog::emit_module(&module);
        assert!(v.contains("REG_W"), "{v}");
        assert_eq!(module.port("s_axil_awaddr").unwrap().0.width, 4);
        assert!(module.port("s_axil_awprot").is_none());
    }

    #[test]
    fn the_nic_map_is_valid() {
        nic_map().validate().unwrap();
    }
}
