//! The intermediate representation: modules, ports, registers, memories,
//! instances and width-carrying expressions.
//!
//! Building is infallible and cheap; [`ModuleBuilder::finish`] then checks the
//! whole module at once (widths, drivers, latches, unused names) and returns
//! every problem it found, each naming both sides of the mismatch. This keeps
//! block code free of `?` on every operator while still refusing to emit a
//! module that Verilator or Yosys would have to guess about.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops;
use std::rc::Rc;

use serde::Serialize;

/// Direction of a port, seen from inside the module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    Input,
    Output,
}

/// What a signal is in its module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigKind {
    Port(Dir),
    Internal,
}

/// Reset behaviour of a signal driven by a clocked process, or the default
/// of a signal driven by a combinational process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Reset (sync) or default (comb) to this value.
    Value(u128),
    /// No reset: a datapath register, or a comb signal assigned on every path.
    None,
}

/// A memory (an array of registers): block RAM when read through a register.
#[derive(Clone, Debug)]
pub struct Memory {
    pub name: Rc<str>,
    pub width: u32,
    pub depth: u32,
    pub comment: String,
}

impl Memory {
    /// Address width: log2 of the depth (depths are powers of two).
    pub fn addr_width(&self) -> u32 {
        clog2(self.depth as u64)
    }
    /// Read the word at `addr` (combinational; register it for block RAM).
    pub fn read(self: &Rc<Self>, addr: impl Into<Expr>) -> Expr {
        Expr::new(E::MemRead(self.clone(), addr.into()))
    }
}

/// Binary operators. Bitwise and arithmetic operators need equal widths and
/// keep them (arithmetic wraps: widen an operand explicitly with
/// [`Expr::zext`] to keep the carry); comparisons need equal widths and give
/// one bit; shifts keep the width of the left side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    And,
    Or,
    Xor,
    Add,
    Sub,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    LogAnd,
    LogOr,
    Shl,
    Shr,
}

impl BinOp {
    fn verilog(self) -> &'static str {
        match self {
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::LogAnd => "&&",
            BinOp::LogOr => "||",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Not,
    LogNot,
    RedOr,
    RedAnd,
    RedXor,
}

/// The node of an expression tree.
#[derive(Debug)]
pub enum E {
    Const {
        value: u128,
        width: u32,
    },
    /// A signal of the module (port, wire or register).
    Sig {
        name: Rc<str>,
        width: u32,
    },
    /// A named constant, emitted as a sized `localparam`.
    Param {
        name: Rc<str>,
        value: u128,
        width: u32,
    },
    Slice {
        e: Expr,
        hi: u32,
        lo: u32,
    },
    /// Most significant part first, as in Verilog.
    Concat(Vec<Expr>),
    Repl {
        count: u32,
        e: Expr,
    },
    Unary(UnOp, Expr),
    Binary(BinOp, Expr, Expr),
    Mux {
        sel: Expr,
        then: Expr,
        els: Expr,
    },
    MemRead(Rc<Memory>, Expr),
}

/// A hardware expression with a known width. Cloning is cheap.
#[derive(Clone, Debug)]
pub struct Expr(Rc<E>);

impl Expr {
    fn new(e: E) -> Expr {
        Expr(Rc::new(e))
    }

    /// The expression node.
    pub fn node(&self) -> &E {
        &self.0
    }

    /// A constant of `width` bits. Values that do not fit are reported by
    /// [`ModuleBuilder::finish`].
    pub fn lit(value: u128, width: u32) -> Expr {
        Expr::new(E::Const { value, width })
    }

    /// All zeros, `width` bits.
    pub fn zero(width: u32) -> Expr {
        Expr::lit(0, width)
    }

    /// All ones, `width` bits.
    pub fn ones(width: u32) -> Expr {
        Expr::lit(1, 1).repl(width)
    }

    /// The width in bits. Invalid trees (found by `finish`) still report a
    /// best-effort width so that one error does not cascade.
    pub fn width(&self) -> u32 {
        match &*self.0 {
            E::Const { width, .. } | E::Sig { width, .. } | E::Param { width, .. } => *width,
            E::Slice { hi, lo, .. } => hi.saturating_sub(*lo) + 1,
            E::Concat(parts) => parts.iter().map(Expr::width).sum(),
            E::Repl { count, e } => count * e.width(),
            E::Unary(UnOp::Not, e) => e.width(),
            E::Unary(..) => 1,
            E::Binary(op, a, _) => match op {
                BinOp::And
                | BinOp::Or
                | BinOp::Xor
                | BinOp::Add
                | BinOp::Sub
                | BinOp::Shl
                | BinOp::Shr => a.width(),
                _ => 1,
            },
            E::Mux { then, .. } => then.width(),
            E::MemRead(m, _) => m.width,
        }
    }

    /// The signal name if this is a plain signal.
    pub fn sig_name(&self) -> Option<&Rc<str>> {
        match &*self.0 {
            E::Sig { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Bits `hi` down to `lo`, inclusive.
    pub fn slice(&self, hi: u32, lo: u32) -> Expr {
        // The whole of a value is the value: a 1-bit signal is declared
        // without a range and cannot be indexed (`x[0]`), which a block with
        // one entry (e.g. --hold-stags 1) would otherwise emit.
        if lo == 0 && hi + 1 == self.width() {
            return self.clone();
        }
        // A slice of a slice of a signal is one slice of the signal (Verilog
        // can only slice a name); bounds are still checked by finish().
        if let E::Slice { e, hi: h0, lo: l0 } = self.node() {
            if matches!(e.node(), E::Sig { .. }) && hi >= lo && l0 + hi <= *h0 {
                return e.slice(l0 + hi, l0 + lo);
            }
        }
        Expr::new(E::Slice {
            e: self.clone(),
            hi,
            lo,
        })
    }

    /// One bit.
    pub fn bit(&self, i: u32) -> Expr {
        self.slice(i, i)
    }

    /// Zero-extend to `width` (which must not be narrower).
    pub fn zext(&self, width: u32) -> Expr {
        let w = self.width();
        if width == w {
            self.clone()
        } else if width > w {
            Expr::concat([Expr::zero(width - w), self.clone()])
        } else {
            // Let finish() report it: a narrowing zext is a bug in the block.
            Expr::new(E::Slice {
                e: self.clone(),
                hi: width - 1,
                lo: w,
            })
        }
    }

    /// Concatenation, most significant first. Zero-width constants (an
    /// empty pad) are dropped, so a block need not special-case them.
    pub fn concat(parts: impl IntoIterator<Item = Expr>) -> Expr {
        let parts: Vec<Expr> = parts
            .into_iter()
            .filter(|p| !matches!(p.node(), E::Const { width: 0, .. }))
            .collect();
        if parts.len() == 1 {
            return parts.into_iter().next().unwrap();
        }
        Expr::new(E::Concat(parts))
    }

    /// `count` copies side by side.
    pub fn repl(&self, count: u32) -> Expr {
        if count == 1 {
            return self.clone();
        }
        Expr::new(E::Repl {
            count,
            e: self.clone(),
        })
    }

    fn bin(&self, op: BinOp, other: impl Into<Expr>) -> Expr {
        Expr::new(E::Binary(op, self.clone(), other.into()))
    }

    pub fn eq(&self, o: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Eq, o)
    }
    pub fn ne(&self, o: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Ne, o)
    }
    pub fn lt(&self, o: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Lt, o)
    }
    pub fn le(&self, o: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Le, o)
    }
    pub fn gt(&self, o: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Gt, o)
    }
    pub fn ge(&self, o: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Ge, o)
    }
    /// Compare with a constant of this expression's width.
    pub fn eq_lit(&self, v: u128) -> Expr {
        self.eq(Expr::lit(v, self.width()))
    }
    pub fn land(&self, o: impl Into<Expr>) -> Expr {
        self.bin(BinOp::LogAnd, o)
    }
    pub fn lor(&self, o: impl Into<Expr>) -> Expr {
        self.bin(BinOp::LogOr, o)
    }
    pub fn shl(&self, by: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Shl, by)
    }
    pub fn shr(&self, by: impl Into<Expr>) -> Expr {
        self.bin(BinOp::Shr, by)
    }
    /// `self + 1`, wrapping, same width.
    pub fn inc(&self) -> Expr {
        self.clone() + Expr::lit(1, self.width())
    }
    /// `self - 1`, wrapping, same width.
    pub fn dec(&self) -> Expr {
        self.clone() - Expr::lit(1, self.width())
    }
    pub fn lnot(&self) -> Expr {
        Expr::new(E::Unary(UnOp::LogNot, self.clone()))
    }
    pub fn red_or(&self) -> Expr {
        Expr::new(E::Unary(UnOp::RedOr, self.clone()))
    }
    pub fn red_and(&self) -> Expr {
        Expr::new(E::Unary(UnOp::RedAnd, self.clone()))
    }
    pub fn red_xor(&self) -> Expr {
        Expr::new(E::Unary(UnOp::RedXor, self.clone()))
    }
    /// `sel ? then : els`.
    pub fn mux(sel: impl Into<Expr>, then: impl Into<Expr>, els: impl Into<Expr>) -> Expr {
        Expr::new(E::Mux {
            sel: sel.into(),
            then: then.into(),
            els: els.into(),
        })
    }
    /// This value where `self` is 1-bit true, else zero (an AND-OR mux leg).
    pub fn gate(&self, value: &Expr) -> Expr {
        value.clone() & self.repl(value.width())
    }
}

impl From<&Expr> for Expr {
    fn from(e: &Expr) -> Expr {
        e.clone()
    }
}

macro_rules! binop_impl {
    ($tr:ident, $f:ident, $op:expr) => {
        impl<T: Into<Expr>> ops::$tr<T> for Expr {
            type Output = Expr;
            fn $f(self, rhs: T) -> Expr {
                self.bin($op, rhs)
            }
        }
        impl<T: Into<Expr>> ops::$tr<T> for &Expr {
            type Output = Expr;
            fn $f(self, rhs: T) -> Expr {
                self.bin($op, rhs)
            }
        }
    };
}
binop_impl!(BitAnd, bitand, BinOp::And);
binop_impl!(BitOr, bitor, BinOp::Or);
binop_impl!(BitXor, bitxor, BinOp::Xor);
binop_impl!(Add, add, BinOp::Add);
binop_impl!(Sub, sub, BinOp::Sub);

impl ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::new(E::Unary(UnOp::Not, self))
    }
}
impl ops::Not for &Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::new(E::Unary(UnOp::Not, self.clone()))
    }
}

/// A statement inside a process.
#[derive(Clone, Debug)]
pub enum Stmt {
    /// `target = value` (comb) or `target <= value` (sync). The target is a
    /// signal or a constant slice of one.
    Assign { target: Expr, value: Expr },
    If {
        cond: Expr,
        then: Vec<Stmt>,
        els: Vec<Stmt>,
    },
    /// Case on `sel`; every arm lists its labels: constants or named
    /// localparams of `sel`'s width.
    Case {
        sel: Expr,
        arms: Vec<(Vec<Expr>, Vec<Stmt>)>,
        default: Vec<Stmt>,
    },
    /// Memory write (clocked processes only).
    MemWrite {
        mem: Rc<Memory>,
        addr: Expr,
        data: Expr,
    },
}

/// Builds the statement list of one process.
#[derive(Default)]
pub struct Block {
    stmts: Vec<Stmt>,
}

impl Block {
    /// Assign `value` to `target` (a signal or a constant slice of one).
    pub fn assign(&mut self, target: &Expr, value: impl Into<Expr>) {
        self.stmts.push(Stmt::Assign {
            target: target.clone(),
            value: value.into(),
        });
    }
    /// `if (cond) { then }`.
    pub fn when(&mut self, cond: impl Into<Expr>, then: impl FnOnce(&mut Block)) {
        self.if_else(cond, then, |_| {});
    }
    /// `if (cond) { then } else { els }`.
    pub fn if_else(
        &mut self,
        cond: impl Into<Expr>,
        then: impl FnOnce(&mut Block),
        els: impl FnOnce(&mut Block),
    ) {
        let mut t = Block::default();
        then(&mut t);
        let mut e = Block::default();
        els(&mut e);
        self.stmts.push(Stmt::If {
            cond: cond.into(),
            then: t.stmts,
            els: e.stmts,
        });
    }
    /// `case (sel)`: `arms` gives each arm's constant labels and body builder.
    pub fn case(
        &mut self,
        sel: impl Into<Expr>,
        arms: Vec<(Vec<u128>, Box<dyn FnOnce(&mut Block) + '_>)>,
        default: impl FnOnce(&mut Block),
    ) {
        let sel = sel.into();
        let w = sel.width();
        let arms = arms
            .into_iter()
            .map(|(labels, f)| (labels.into_iter().map(|v| Expr::lit(v, w)).collect(), f))
            .collect();
        self.case_named(sel, arms, default);
    }

    /// `case (sel)` whose labels are expressions: named localparams (a
    /// state machine's states read far better as `STATE_IDLE:` than `4'd0:`)
    /// or constants.
    pub fn case_named(
        &mut self,
        sel: impl Into<Expr>,
        arms: Vec<(Vec<Expr>, Box<dyn FnOnce(&mut Block) + '_>)>,
        default: impl FnOnce(&mut Block),
    ) {
        let arms = arms
            .into_iter()
            .map(|(labels, f)| {
                let mut b = Block::default();
                f(&mut b);
                (labels, b.stmts)
            })
            .collect();
        let mut d = Block::default();
        default(&mut d);
        self.stmts.push(Stmt::Case {
            sel: sel.into(),
            arms,
            default: d.stmts,
        });
    }
    /// `mem[addr] <= data` (clocked processes only).
    pub fn mem_write(&mut self, mem: &Rc<Memory>, addr: impl Into<Expr>, data: impl Into<Expr>) {
        self.stmts.push(Stmt::MemWrite {
            mem: mem.clone(),
            addr: addr.into(),
            data: data.into(),
        });
    }
}

/// A process: `always @*` or `always @(posedge clk)` with synchronous reset.
#[derive(Clone, Debug)]
pub struct Process {
    pub kind: ProcessKind,
    pub comment: String,
    pub body: Vec<Stmt>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessKind {
    Comb,
    Sync,
}

/// A declared signal.
#[derive(Clone, Debug)]
pub struct Signal {
    pub name: Rc<str>,
    pub width: u32,
    pub kind: SigKind,
    pub init: Init,
    pub comment: String,
}

/// A named constant, emitted as a sized `localparam`.
#[derive(Clone, Debug)]
pub struct LocalParam {
    pub name: Rc<str>,
    pub value: u128,
    pub width: u32,
    pub comment: String,
}

/// A generator parameter as documented in the module header and manifest.
#[derive(Clone, Debug, Serialize)]
pub struct ParamDoc {
    pub name: String,
    pub value: u64,
    pub doc: String,
}

/// An instance of another generated module.
#[derive(Clone, Debug)]
pub struct Instance {
    pub module: Rc<Module>,
    pub name: String,
    /// Port name to expression, in the child's port order.
    pub conns: Vec<(Rc<str>, Expr)>,
}

/// A continuous assignment.
#[derive(Clone, Debug)]
pub struct ContAssign {
    pub target: Expr,
    pub value: Expr,
}

/// A finished, checked module.
#[derive(Debug)]
pub struct Module {
    pub name: String,
    pub description: String,
    pub params: Vec<ParamDoc>,
    pub signals: Vec<Signal>,
    pub localparams: Vec<LocalParam>,
    pub memories: Vec<Rc<Memory>>,
    pub assigns: Vec<ContAssign>,
    pub processes: Vec<Process>,
    pub instances: Vec<Instance>,
    /// Signals assigned in processes: emitted as `reg`.
    pub regs: BTreeSet<Rc<str>>,
}

impl Module {
    /// The ports, in declaration order.
    pub fn ports(&self) -> impl Iterator<Item = (&Signal, Dir)> {
        self.signals.iter().filter_map(|s| match s.kind {
            SigKind::Port(d) => Some((s, d)),
            SigKind::Internal => None,
        })
    }
    /// Port by name.
    pub fn port(&self, name: &str) -> Option<(&Signal, Dir)> {
        self.ports().find(|(s, _)| &*s.name == name)
    }
    /// This module and every module it instantiates, children first, each once.
    pub fn hierarchy(self: &Rc<Self>) -> Vec<Rc<Module>> {
        let mut out: Vec<Rc<Module>> = Vec::new();
        fn walk(m: &Rc<Module>, out: &mut Vec<Rc<Module>>) {
            for i in &m.instances {
                walk(&i.module, out);
            }
            if !out.iter().any(|o| o.name == m.name) {
                out.push(m.clone());
            }
        }
        walk(self, &mut out);
        out
    }
}

/// An elaboration error: what is wrong, in which module, naming both sides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("module `{module}`: {}", .problems.join("; "))]
pub struct ElabError {
    pub module: String,
    pub problems: Vec<String>,
}

/// Builds one module; [`ModuleBuilder::finish`] checks it.
pub struct ModuleBuilder {
    m: Module,
    names: BTreeMap<Rc<str>, &'static str>,
    problems: Vec<String>,
}

impl ModuleBuilder {
    /// A new module. `description` is the one-line summary that heads the file.
    pub fn new(name: &str, description: &str) -> Self {
        ModuleBuilder {
            m: Module {
                name: name.to_string(),
                description: description.to_string(),
                params: Vec::new(),
                signals: Vec::new(),
                localparams: Vec::new(),
                memories: Vec::new(),
                assigns: Vec::new(),
                processes: Vec::new(),
                instances: Vec::new(),
                regs: BTreeSet::new(),
            },
            names: BTreeMap::new(),
            problems: Vec::new(),
        }
    }

    fn claim(&mut self, name: &str, what: &'static str) -> Rc<str> {
        let rc: Rc<str> = Rc::from(name);
        if !is_identifier(name) {
            self.problems
                .push(format!("`{name}` is not a plain Verilog identifier"));
        } else if RESERVED.contains(&name) {
            self.problems.push(format!(
                "`{name}` is a reserved word in Verilog or SystemVerilog"
            ));
        }
        if let Some(prev) = self.names.insert(rc.clone(), what) {
            self.problems
                .push(format!("`{name}` declared twice (as {prev} and as {what})"));
        }
        rc
    }

    /// Document a generator parameter in the header and the manifest.
    pub fn param(&mut self, name: &str, value: u64, doc: &str) {
        self.m.params.push(ParamDoc {
            name: name.into(),
            value,
            doc: doc.into(),
        });
    }

    /// A sized named constant (`localparam [w-1:0] NAME = value`).
    pub fn localparam(&mut self, name: &str, value: u128, width: u32, comment: &str) -> Expr {
        let name = self.claim(name, "localparam");
        self.m.localparams.push(LocalParam {
            name: name.clone(),
            value,
            width,
            comment: comment.into(),
        });
        Expr::new(E::Param { name, value, width })
    }

    fn declare(
        &mut self,
        name: &str,
        width: u32,
        kind: SigKind,
        init: Init,
        comment: &str,
    ) -> Expr {
        let n = self.claim(
            name,
            if kind == SigKind::Internal {
                "signal"
            } else {
                "port"
            },
        );
        if width == 0 {
            self.problems.push(format!("`{name}` has width 0"));
        }
        self.m.signals.push(Signal {
            name: n.clone(),
            width,
            kind,
            init,
            comment: comment.into(),
        });
        Expr::new(E::Sig { name: n, width })
    }

    /// The `clk` and `rst` inputs every clocked block starts with (rising
    /// edge; synchronous, active-high reset).
    pub fn clock_and_reset(&mut self) -> (Expr, Expr) {
        let clk = self.input("clk", 1, "");
        let rst = self.input("rst", 1, "synchronous, active high");
        (clk, rst)
    }

    /// An input port.
    pub fn input(&mut self, name: &str, width: u32, comment: &str) -> Expr {
        self.declare(name, width, SigKind::Port(Dir::Input), Init::None, comment)
    }
    /// An output port driven by a continuous assignment, an instance or a
    /// process without reset.
    pub fn output(&mut self, name: &str, width: u32, comment: &str) -> Expr {
        self.declare(name, width, SigKind::Port(Dir::Output), Init::None, comment)
    }
    /// An output port driven by a process, with a reset value (sync) or
    /// default (comb).
    pub fn output_init(&mut self, name: &str, width: u32, init: u128, comment: &str) -> Expr {
        self.declare(
            name,
            width,
            SigKind::Port(Dir::Output),
            Init::Value(init),
            comment,
        )
    }
    /// An internal signal with no reset value (a wire, or a datapath register).
    pub fn signal(&mut self, name: &str, width: u32, comment: &str) -> Expr {
        self.declare(name, width, SigKind::Internal, Init::None, comment)
    }
    /// An internal signal with a reset value (sync) or default (comb).
    pub fn reg(&mut self, name: &str, width: u32, init: u128, comment: &str) -> Expr {
        self.declare(name, width, SigKind::Internal, Init::Value(init), comment)
    }
    /// A memory of `depth` words of `width` bits. `depth` must be a power of two.
    pub fn memory(&mut self, name: &str, width: u32, depth: u32, comment: &str) -> Rc<Memory> {
        let n = self.claim(name, "memory");
        if !depth.is_power_of_two() {
            self.problems.push(format!(
                "memory `{name}` depth {depth} is not a power of two"
            ));
        }
        let mem = Rc::new(Memory {
            name: n,
            width,
            depth,
            comment: comment.into(),
        });
        self.m.memories.push(mem.clone());
        mem
    }

    /// Mark bits this module receives but deliberately does not use (an
    /// instance output nobody needs here, the spare bits of a field): they
    /// are XOR-reduced into one wire `unused_<what>`, which Verilator's
    /// default `--unused-regexp` (`*unused*`) exempts from UNUSED warnings,
    /// and which synthesis removes. No lint waiver is involved, and the
    /// reason is written next to the wire.
    pub fn unused(&mut self, what: &str, bits: Vec<Expr>, why: &str) {
        let name = format!("{UNUSED_PREFIX}{what}");
        let w = self.signal(&name, 1, why);
        self.assign(&w, Expr::concat(bits).red_xor());
    }

    /// `assign target = value;`
    pub fn assign(&mut self, target: &Expr, value: impl Into<Expr>) {
        self.m.assigns.push(ContAssign {
            target: target.clone(),
            value: value.into(),
        });
    }

    /// `always @*`: every signal it assigns takes its default first (its
    /// [`Init::Value`]); one without a default must be assigned on every path.
    pub fn comb(&mut self, comment: &str, f: impl FnOnce(&mut Block)) {
        let mut b = Block::default();
        f(&mut b);
        self.m.processes.push(Process {
            kind: ProcessKind::Comb,
            comment: comment.into(),
            body: b.stmts,
        });
    }

    /// `always @(posedge clk)`, with `if (rst)` loading the reset values of
    /// the signals it assigns that have one (the Forencich style: the reset
    /// clause comes last and overrides).
    pub fn sync(&mut self, comment: &str, f: impl FnOnce(&mut Block)) {
        let mut b = Block::default();
        f(&mut b);
        self.m.processes.push(Process {
            kind: ProcessKind::Sync,
            comment: comment.into(),
            body: b.stmts,
        });
    }

    /// Instantiate `module` as `name`; `conns` maps every port to an
    /// expression (outputs to a plain signal of this module).
    pub fn instance(&mut self, module: &Rc<Module>, name: &str, conns: Vec<(&str, Expr)>) {
        self.claim(name, "instance");
        let mut ordered = Vec::new();
        let mut given: BTreeMap<&str, Expr> = BTreeMap::new();
        for (p, e) in conns {
            if given.insert(p, e).is_some() {
                self.problems
                    .push(format!("instance `{name}`: port `{p}` connected twice"));
            }
        }
        for (sig, _) in module.ports() {
            match given.remove(&*sig.name) {
                Some(e) => ordered.push((sig.name.clone(), e)),
                None => self.problems.push(format!(
                    "instance `{name}` of `{}`: port `{}` is not connected",
                    module.name, sig.name
                )),
            }
        }
        for p in given.keys() {
            self.problems.push(format!(
                "instance `{name}`: `{}` has no port `{p}`",
                module.name
            ));
        }
        self.m.instances.push(Instance {
            module: module.clone(),
            name: name.into(),
            conns: ordered,
        });
    }

    /// Check the module and freeze it.
    pub fn finish(self) -> Result<Rc<Module>, ElabError> {
        let ModuleBuilder {
            mut m, problems, ..
        } = self;
        let mut c = Checker {
            m: &m,
            problems,
            driven: BTreeMap::new(),
            read: BTreeSet::new(),
        };
        c.check_all();
        let regs = c.regs();
        // One mistake in a loop repeats: report each problem once.
        let mut problems: Vec<String> = Vec::new();
        for p in c.problems {
            if !problems.contains(&p) {
                problems.push(p);
            }
        }
        if !problems.is_empty() {
            return Err(ElabError {
                module: m.name.clone(),
                problems,
            });
        }
        m.regs = regs;
        Ok(Rc::new(m))
    }
}

/// Named fields packed into one word, the first field least significant
/// (a descriptor or queue entry kept in one memory or FIFO word).
pub struct Layout(pub Vec<(&'static str, u32)>);

impl Layout {
    /// Bits of the whole word.
    pub fn width(&self) -> u32 {
        self.0.iter().map(|(_, w)| w).sum()
    }
    /// The word holding `values`, one per field, in field order.
    pub fn pack(&self, values: Vec<Expr>) -> Expr {
        assert_eq!(values.len(), self.0.len(), "one value per field");
        Expr::concat(values.into_iter().rev())
    }
    /// Field `name` of `word`.
    pub fn field(&self, word: &Expr, name: &str) -> Expr {
        let mut lo = 0;
        for (n, w) in &self.0 {
            if *n == name {
                return word.slice(lo + w - 1, lo);
            }
            lo += w;
        }
        panic!("no field `{name}`");
    }
}

/// Name prefix of the wires made by `ModuleBuilder::unused`.
pub const UNUSED_PREFIX: &str = "unused_";

/// Where a signal is driven from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Driver {
    Assign,
    Process(usize, ProcessKind),
    Instance,
}

struct Checker<'a> {
    m: &'a Module,
    problems: Vec<String>,
    driven: BTreeMap<Rc<str>, Driver>,
    read: BTreeSet<Rc<str>>,
}

impl Checker<'_> {
    fn check_all(&mut self) {
        let m = self.m;
        for a in &m.assigns {
            let ctx = format!("assign {}", render(&a.target));
            self.target(&a.target, Driver::Assign, &ctx);
            self.expr(&a.value, &ctx);
            self.same_width(&ctx, &a.target, &a.value);
        }
        let mut sync = false;
        let mut has_reset = false;
        for (i, p) in m.processes.iter().enumerate() {
            let mut assigned = BTreeSet::new();
            self.stmts(&p.body, i, p.kind, &mut assigned);
            if p.kind == ProcessKind::Sync {
                sync = true;
                has_reset |= assigned.iter().any(|n| {
                    m.signals
                        .iter()
                        .any(|s| &s.name == n && s.init != Init::None)
                });
            } else {
                let mut definite = BTreeSet::new();
                definitely_assigned(&p.body, &mut definite);
                for name in &assigned {
                    let sig = m.signals.iter().find(|s| &s.name == name);
                    if let Some(sig) = sig {
                        if sig.init == Init::None && !definite.contains(name) {
                            self.problems.push(format!(
                                "`{name}` is not assigned on every path of a comb process and has no default (it would be a latch)"
                            ));
                        }
                    }
                }
            }
        }
        for (clock_or_reset, needed) in [("clk", sync), ("rst", has_reset)] {
            if !needed {
                continue;
            }
            match m.signals.iter().find(|s| &*s.name == clock_or_reset) {
                Some(s) if s.kind == SigKind::Port(Dir::Input) && s.width == 1 => {
                    self.read.insert(s.name.clone());
                }
                _ => self.problems.push(format!(
                    "clocked processes need a 1-bit input port `{clock_or_reset}`"
                )),
            }
        }
        for inst in &m.instances {
            for (port, e) in &inst.conns {
                let (psig, dir) = inst.module.port(port).expect("connected ports exist");
                let ctx = format!("instance `{}` port `{port}`", inst.name);
                if psig.width != e.width() {
                    self.problems.push(format!(
                        "{ctx}: port is {} bits, connection `{}` is {} bits",
                        psig.width,
                        render(e),
                        e.width()
                    ));
                }
                match dir {
                    Dir::Input => self.expr(e, &ctx),
                    Dir::Output => {
                        if e.sig_name().is_none() {
                            self.problems.push(format!(
                                "{ctx}: an output must connect to a plain signal, not `{}`",
                                render(e)
                            ));
                        }
                        self.target(e, Driver::Instance, &ctx);
                    }
                }
            }
        }
        for p in &m.localparams {
            self.const_fits(&p.name, p.value, p.width);
        }
        // Every non-input must be driven; every signal must be read (outputs
        // are read by the parent). Verilator -Wall would say the same later.
        for s in &m.signals {
            let driven = self.driven.contains_key(&s.name);
            match s.kind {
                SigKind::Port(Dir::Input) => {
                    if driven {
                        self.problems
                            .push(format!("input `{}` is driven inside the module", s.name));
                    }
                    if !self.read.contains(&s.name) {
                        self.problems
                            .push(format!("input `{}` is never used", s.name));
                    }
                }
                SigKind::Port(Dir::Output) => {
                    if !driven {
                        self.problems
                            .push(format!("output `{}` is never driven", s.name));
                    }
                }
                SigKind::Internal => {
                    if !driven {
                        self.problems.push(format!("`{}` is never driven", s.name));
                    }
                    // `unused_*` (see `ModuleBuilder::unused`) is meant to be unread.
                    if !self.read.contains(&s.name) && !s.name.starts_with(UNUSED_PREFIX) {
                        self.problems.push(format!("`{}` is never read", s.name));
                    }
                }
            }
            if let Some(Driver::Process(_, ProcessKind::Sync)) = self.driven.get(&s.name) {
                // fine: reset value or datapath register
            } else if let (Init::Value(v), Some(Driver::Assign | Driver::Instance)) =
                (s.init, self.driven.get(&s.name))
            {
                self.problems.push(format!(
                    "`{}` has an initial value {v} but is driven by an assign or an instance",
                    s.name
                ));
            }
            if let Init::Value(v) = s.init {
                self.const_fits(&s.name, v, s.width);
            }
        }
        for p in &m.localparams {
            if !self.read.contains(&p.name) {
                self.problems
                    .push(format!("localparam `{}` is never used", p.name));
            }
        }
        for mem in &m.memories {
            if !self.read.contains(&mem.name) {
                self.problems
                    .push(format!("memory `{}` is never read", mem.name));
            }
        }
    }

    fn regs(&self) -> BTreeSet<Rc<str>> {
        self.driven
            .iter()
            .filter(|(_, d)| matches!(d, Driver::Process(..)))
            .map(|(n, _)| n.clone())
            .collect()
    }

    fn const_fits(&mut self, name: &str, value: u128, width: u32) {
        if width < 128 && value >> width != 0 {
            self.problems.push(format!(
                "value {value} of `{name}` does not fit in {width} bits"
            ));
        }
    }

    fn same_width(&mut self, ctx: &str, a: &Expr, b: &Expr) {
        if a.width() != b.width() {
            self.problems.push(format!(
                "{ctx}: width mismatch: `{}` is {} bits, `{}` is {} bits",
                render(a),
                a.width(),
                render(b),
                b.width()
            ));
        }
    }

    fn target(&mut self, t: &Expr, d: Driver, ctx: &str) {
        let name = match t.node() {
            E::Sig { name, .. } => name.clone(),
            E::Slice { e, hi, lo } => {
                if let (E::Sig { name, width }, Driver::Process(_, ProcessKind::Sync)) =
                    (e.node(), d)
                {
                    if hi < lo || *hi >= *width {
                        self.problems.push(format!(
                            "{ctx}: slice [{hi}:{lo}] outside `{name}` ({width} bits)"
                        ));
                    }
                    name.clone()
                } else {
                    self.problems.push(format!(
                        "{ctx}: only clocked processes may assign a slice of a signal (`{}`)",
                        render(t)
                    ));
                    return;
                }
            }
            _ => {
                self.problems
                    .push(format!("{ctx}: `{}` cannot be assigned", render(t)));
                return;
            }
        };
        let Some(sig) = self.m.signals.iter().find(|s| s.name == name) else {
            self.problems
                .push(format!("{ctx}: `{name}` is not a signal of this module"));
            return;
        };
        if sig.kind == SigKind::Port(Dir::Input) {
            self.problems
                .push(format!("{ctx}: input `{name}` cannot be assigned"));
            return;
        }
        match self.driven.get(&name) {
            Some(prev) if *prev != d => self.problems.push(format!(
                "`{name}` has two drivers ({} and {})",
                describe(*prev),
                describe(d)
            )),
            Some(Driver::Assign | Driver::Instance) => self
                .problems
                .push(format!("`{name}` is driven twice ({ctx})")),
            _ => {
                self.driven.insert(name, d);
            }
        }
    }

    fn stmts(
        &mut self,
        body: &[Stmt],
        pi: usize,
        kind: ProcessKind,
        assigned: &mut BTreeSet<Rc<str>>,
    ) {
        let ctx_kind = if kind == ProcessKind::Comb {
            "comb process"
        } else {
            "clocked process"
        };
        for s in body {
            match s {
                Stmt::Assign { target, value } => {
                    let ctx = format!("{ctx_kind}, {} = {}", render(target), render(value));
                    self.target(target, Driver::Process(pi, kind), &ctx);
                    if let Some(n) = base_name(target) {
                        assigned.insert(n);
                    }
                    self.expr(value, &ctx);
                    self.same_width(&ctx, target, value);
                }
                Stmt::If { cond, then, els } => {
                    let ctx = format!("if ({})", render(cond));
                    self.expr(cond, &ctx);
                    self.one_bit(&ctx, cond);
                    self.stmts(then, pi, kind, assigned);
                    self.stmts(els, pi, kind, assigned);
                }
                Stmt::Case { sel, arms, default } => {
                    let ctx = format!("case ({})", render(sel));
                    self.expr(sel, &ctx);
                    for (labels, b) in arms {
                        for l in labels {
                            if !matches!(l.node(), E::Const { .. } | E::Param { .. }) {
                                self.problems.push(format!(
                                    "{ctx}: label `{}` is not a constant or a localparam",
                                    render(l)
                                ));
                            }
                            self.expr(l, &ctx);
                            if l.width() != sel.width() {
                                self.problems.push(format!(
                                    "{ctx}: label `{}` is {} bits, the selector is {}",
                                    render(l),
                                    l.width(),
                                    sel.width()
                                ));
                            }
                        }
                        self.stmts(b, pi, kind, assigned);
                    }
                    self.stmts(default, pi, kind, assigned);
                }
                Stmt::MemWrite { mem, addr, data } => {
                    let ctx = format!("{}[{}] <= {}", mem.name, render(addr), render(data));
                    if kind != ProcessKind::Sync {
                        self.problems.push(format!(
                            "{ctx}: memories are written in clocked processes only"
                        ));
                    }
                    self.expr(addr, &ctx);
                    self.expr(data, &ctx);
                    if addr.width() != mem.addr_width() {
                        self.problems.push(format!(
                            "{ctx}: address `{}` is {} bits, memory `{}` needs {}",
                            render(addr),
                            addr.width(),
                            mem.name,
                            mem.addr_width()
                        ));
                    }
                    if data.width() != mem.width {
                        self.problems.push(format!(
                            "{ctx}: data `{}` is {} bits, memory `{}` is {} bits wide",
                            render(data),
                            data.width(),
                            mem.name,
                            mem.width
                        ));
                    }
                }
            }
        }
    }

    fn one_bit(&mut self, ctx: &str, e: &Expr) {
        if e.width() != 1 {
            self.problems.push(format!(
                "{ctx}: condition `{}` is {} bits, not 1",
                render(e),
                e.width()
            ));
        }
    }

    fn expr(&mut self, e: &Expr, ctx: &str) {
        match e.node() {
            E::Const { value, width } => {
                if *width == 0 {
                    self.problems.push(format!("{ctx}: zero-width constant"));
                }
                self.const_fits("constant", *value, *width);
            }
            E::Sig { name, width } => {
                match self.m.signals.iter().find(|s| &s.name == name) {
                    None => self
                        .problems
                        .push(format!("{ctx}: `{name}` is not a signal of this module")),
                    Some(s) if s.width != *width => {
                        self.problems.push(format!("{ctx}: `{name}` width changed"))
                    }
                    Some(_) => {}
                }
                self.read.insert(name.clone());
            }
            E::Param { name, .. } => {
                self.read.insert(name.clone());
            }
            E::Slice { e: inner, hi, lo } => {
                self.expr(inner, ctx);
                if hi < lo || *hi >= inner.width() {
                    self.problems.push(format!(
                        "{ctx}: slice [{hi}:{lo}] outside `{}` ({} bits)",
                        render(inner),
                        inner.width()
                    ));
                }
                if !matches!(inner.node(), E::Sig { .. } | E::MemRead(..)) {
                    self.problems.push(format!(
                        "{ctx}: Verilog-2005 can only slice a signal, not `{}`",
                        render(inner)
                    ));
                }
            }
            E::Concat(parts) => parts.iter().for_each(|p| self.expr(p, ctx)),
            E::Repl { count, e: inner } => {
                if *count == 0 {
                    self.problems.push(format!("{ctx}: zero replication"));
                }
                self.expr(inner, ctx)
            }
            E::Unary(_, inner) => self.expr(inner, ctx),
            E::Binary(op, a, b) => {
                self.expr(a, ctx);
                self.expr(b, ctx);
                match op {
                    BinOp::Shl | BinOp::Shr => {}
                    BinOp::LogAnd | BinOp::LogOr => {
                        self.one_bit(ctx, a);
                        self.one_bit(ctx, b);
                    }
                    _ => {
                        if a.width() != b.width() {
                            self.problems.push(format!(
                                "{ctx}: width mismatch in `{}`: left `{}` is {} bits, right `{}` is {} bits",
                                render(e),
                                render(a),
                                a.width(),
                                render(b),
                                b.width()
                            ));
                        }
                    }
                }
            }
            E::Mux { sel, then, els } => {
                self.expr(sel, ctx);
                self.expr(then, ctx);
                self.expr(els, ctx);
                self.one_bit(ctx, sel);
                if then.width() != els.width() {
                    self.problems.push(format!(
                        "{ctx}: width mismatch in `{}`: `{}` is {} bits, `{}` is {} bits",
                        render(e),
                        render(then),
                        then.width(),
                        render(els),
                        els.width()
                    ));
                }
            }
            E::MemRead(mem, addr) => {
                self.expr(addr, ctx);
                self.read.insert(mem.name.clone());
                if addr.width() != mem.addr_width() {
                    self.problems.push(format!(
                        "{ctx}: address `{}` is {} bits, memory `{}` needs {}",
                        render(addr),
                        addr.width(),
                        mem.name,
                        mem.addr_width()
                    ));
                }
            }
        }
    }
}

fn describe(d: Driver) -> String {
    match d {
        Driver::Assign => "a continuous assign".into(),
        Driver::Instance => "an instance output".into(),
        Driver::Process(i, k) => format!(
            "{} process #{i}",
            if k == ProcessKind::Comb {
                "comb"
            } else {
                "clocked"
            }
        ),
    }
}

fn base_name(t: &Expr) -> Option<Rc<str>> {
    match t.node() {
        E::Sig { name, .. } => Some(name.clone()),
        E::Slice { e, .. } => base_name(e),
        _ => None,
    }
}

/// Signals assigned on every path through `body`.
fn definitely_assigned(body: &[Stmt], out: &mut BTreeSet<Rc<str>>) {
    for s in body {
        match s {
            Stmt::Assign { target, .. } => {
                if let E::Sig { name, .. } = target.node() {
                    out.insert(name.clone());
                }
            }
            Stmt::If { then, els, .. } => {
                let mut a = BTreeSet::new();
                let mut b = BTreeSet::new();
                definitely_assigned(then, &mut a);
                definitely_assigned(els, &mut b);
                out.extend(a.intersection(&b).cloned());
            }
            Stmt::Case { arms, default, .. } => {
                let mut all = BTreeSet::new();
                definitely_assigned(default, &mut all);
                for (_, b) in arms {
                    let mut x = BTreeSet::new();
                    definitely_assigned(b, &mut x);
                    all = all.intersection(&x).cloned().collect();
                }
                out.extend(all);
            }
            Stmt::MemWrite { .. } => {}
        }
    }
}

/// Verilog text of an expression (also used in error messages).
pub fn render(e: &Expr) -> String {
    let mut s = String::new();
    write_expr(&mut s, e, false);
    s
}

/// A sized Verilog constant: decimal up to 32 bits, hexadecimal beyond.
pub fn literal(value: u128, width: u32) -> String {
    if width > 128 && value == 0 {
        format!("{{{width}{{1'b0}}}}")
    } else if width == 1 {
        format!("1'b{value}")
    } else if width <= 32 {
        format!("{width}'d{value}")
    } else {
        format!("{width}'h{value:x}")
    }
}

fn atomic(e: &Expr) -> bool {
    matches!(
        e.node(),
        E::Const { .. }
            | E::Sig { .. }
            | E::Param { .. }
            | E::Slice { .. }
            | E::Concat(_)
            | E::Repl { .. }
            | E::MemRead(..)
    ) || matches!(e.node(), E::Unary(op, _) if *op != UnOp::Not)
}

fn write_expr(s: &mut String, e: &Expr, paren: bool) {
    use std::fmt::Write;
    let wrap = paren && !atomic(e);
    if wrap {
        s.push('(');
    }
    match e.node() {
        E::Const { value, width } => s.push_str(&literal(*value, *width)),
        E::Sig { name, .. } | E::Param { name, .. } => s.push_str(name),
        E::Slice { e: inner, hi, lo } => {
            write_expr(s, inner, true);
            if hi == lo {
                let _ = write!(s, "[{hi}]");
            } else {
                let _ = write!(s, "[{hi}:{lo}]");
            }
        }
        E::Concat(parts) => {
            s.push('{');
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    s.push_str(", ");
                }
                write_expr(s, p, false);
            }
            s.push('}');
        }
        E::Repl { count, e: inner } => {
            let _ = write!(s, "{{{count}{{");
            write_expr(s, inner, false);
            s.push_str("}}");
        }
        E::Unary(op, inner) => {
            s.push_str(match op {
                UnOp::Not => "~",
                UnOp::LogNot => "!",
                UnOp::RedOr => "|",
                UnOp::RedAnd => "&",
                UnOp::RedXor => "^",
            });
            // `!|x` does not parse everywhere and `~|x` is another operator:
            // a unary operand of a unary operator is always parenthesized.
            if matches!(inner.node(), E::Unary(..)) {
                s.push('(');
                write_expr(s, inner, false);
                s.push(')');
            } else {
                write_expr(s, inner, true);
            }
        }
        E::Binary(op, a, b) => {
            write_expr(s, a, true);
            let _ = write!(s, " {} ", op.verilog());
            write_expr(s, b, true);
        }
        E::Mux { sel, then, els } => {
            write_expr(s, sel, true);
            s.push_str(" ? ");
            write_expr(s, then, true);
            s.push_str(" : ");
            write_expr(s, els, true);
        }
        E::MemRead(mem, addr) => {
            s.push_str(&mem.name);
            s.push('[');
            write_expr(s, addr, false);
            s.push(']');
        }
    }
    if wrap {
        s.push(')');
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(self))
    }
}

/// Bits needed to count `n` values (ceil(log2 n)), at least 1.
pub fn clog2(n: u64) -> u32 {
    if n <= 2 {
        1
    } else {
        64 - (n - 1).leading_zeros()
    }
}

/// Keywords of Verilog-2005 and SystemVerilog-2017 that a generated name
/// could plausibly collide with (tools parse our Verilog-2005 as SV too).
const RESERVED: &[&str] = &[
    "always",
    "and",
    "assign",
    "automatic",
    "begin",
    "bit",
    "break",
    "buf",
    "byte",
    "case",
    "casex",
    "casez",
    "class",
    "const",
    "continue",
    "default",
    "disable",
    "do",
    "edge",
    "else",
    "end",
    "endcase",
    "endfunction",
    "endmodule",
    "enum",
    "event",
    "export",
    "extern",
    "final",
    "for",
    "force",
    "forever",
    "fork",
    "function",
    "generate",
    "genvar",
    "if",
    "import",
    "initial",
    "inout",
    "input",
    "int",
    "integer",
    "interface",
    "join",
    "local",
    "localparam",
    "logic",
    "longint",
    "module",
    "nand",
    "negedge",
    "new",
    "nor",
    "not",
    "null",
    "or",
    "output",
    "package",
    "parameter",
    "posedge",
    "priority",
    "program",
    "property",
    "real",
    "reg",
    "release",
    "repeat",
    "return",
    "shortint",
    "signed",
    "static",
    "string",
    "struct",
    "super",
    "table",
    "tagged",
    "task",
    "this",
    "time",
    "type",
    "typedef",
    "union",
    "unique",
    "unsigned",
    "var",
    "virtual",
    "void",
    "wait",
    "while",
    "wire",
    "xnor",
    "xor",
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
