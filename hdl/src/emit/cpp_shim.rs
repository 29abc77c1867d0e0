//! C++ `extern "C"` shim around a Verilated model.
//!
//! Why a shim: Verilator emits a C++ class whose ports are typed struct members
//! (`CData`, `SData`, `IData`, `QData`, `VlWide<N>`). Rust cannot call that directly,
//! so every configuration gets a tiny generated C++ file that exposes a fixed C ABI
//! (`shim_new`, `shim_step`, ...) and packs all ports into flat `u64` buffers. The
//! `sim` crate compiles it into the model's shared library and talks only to that ABI.
//!
//! Buffer layout (shared contract with `sim`):
//! * the input port named `clk` (width 1) is the clock; the shim drives it and it is
//!   not in any buffer. Without a `clk` port the model is purely combinational and a
//!   step is just an evaluation.
//! * every other port, in port-list order, takes `ceil(width/64)` consecutive `u64`
//!   words of the `in` buffer (inputs) or the `out` buffer (outputs); word 0 holds
//!   bits 63..0; bits above the width are zero (inputs are masked when written,
//!   outputs when read).
//!
//! Plain std-only Rust so that it can be `#[path]`-included by crates that must not
//! depend on `hdl` (the `sim` tests do exactly that).

use std::fmt::Write as _;

/// One top-level port of the Verilated model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShimPort<'a> {
    /// Verilog port name (a plain, non-escaped identifier).
    pub name: &'a str,
    /// Width in bits (>= 1).
    pub width: u32,
    /// `true` for `input`, `false` for `output`.
    pub is_input: bool,
}

/// The port the shim drives as the clock.
const CLOCK: &str = "clk";

/// Words Verilator's C++ reserves: a port with one of these names becomes the member
/// `__SYM__<name>` (warning SYMRSVDWORD). Checked against Verilator 5.006.
#[rustfmt::skip]
const VERILATOR_RESERVED: &[&str] = &[
    "abort", "alignas", "alignof", "and", "and_eq", "asm", "atomic_cancel", "atomic_commit",
    "atomic_noexcept", "auto", "bit_vector", "bitand", "bitor", "bool", "break", "case", "catch",
    "cdecl", "char", "char16_t", "char32_t", "class", "compl", "complex", "concept", "const",
    "const_cast", "const_iterator", "constexpr", "continue", "decltype", "default", "delete",
    "deque", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern",
    "false", "far", "float", "for", "friend", "goto", "huge", "if", "import", "inline", "int",
    "interrupt", "iterator", "list", "long", "map", "module", "mutable", "namespace", "near",
    "new", "noexcept", "not", "not_eq", "nullptr", "operator", "or", "or_eq", "override",
    "pascal", "private", "protected", "public", "queue", "reference", "register", "requires",
    "restrict", "return", "set", "short", "signed", "sizeof", "stack", "static", "static_assert",
    "static_cast", "struct", "switch", "synchronized", "template", "this", "thread_local",
    "throw", "transaction_safe", "transaction_safe_dynamic", "true", "try", "type_info",
    "typedef", "typeid", "typename", "uint16_t", "uint32_t", "uint8_t", "union", "unsigned",
    "using", "vector", "virtual", "void", "volatile", "wchar_t", "while", "xor", "xor_eq",
    "sc_clock", "sc_in", "sc_inout", "sc_out", "sc_signal", "sensitive", "sensitive_neg",
    "sensitive_pos",
];

/// The C++ member name Verilator gives a top-level port called `name`.
///
/// Mirrors Verilator's `AstNode::encodeName` (`__` becomes `___05F`, other non-identifier
/// characters `__0XX`) and its reserved-word renaming. A mismatch is not silent: the
/// shim then fails to compile with "no member named ...".
pub fn verilator_member_name(name: &str) -> String {
    if VERILATOR_RESERVED.contains(&name) {
        return format!("__SYM__{name}");
    }
    let b = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = if i == 0 {
            c.is_ascii_alphabetic()
        } else {
            c.is_ascii_alphanumeric()
        };
        if ok {
            out.push(c as char);
        } else if c == b'_' {
            if b.get(i + 1) == Some(&b'_') {
                out.push_str("___05F");
                i += 1;
            } else {
                out.push('_');
            }
        } else {
            let _ = write!(out, "__0{c:02X}");
        }
        i += 1;
    }
    out
}

fn words_of(width: u32) -> u32 {
    width.div_ceil(64)
}

/// `u64` literal with the low `bits` bits set (1..=64).
fn mask_lit(bits: u32) -> String {
    debug_assert!((1..=64).contains(&bits));
    if bits == 64 {
        "0xFFFFFFFFFFFFFFFFULL".to_string()
    } else {
        format!("0x{:X}ULL", (1u64 << bits) - 1)
    }
}

/// Verilator's C++ storage type name for a port of `width` bits.
fn ctype(width: u32) -> String {
    match width {
        0..=8 => "CData".into(),
        9..=16 => "SData".into(),
        17..=32 => "IData".into(),
        33..=64 => "QData".into(),
        w => format!("VlWide<{}>", w.div_ceil(32)),
    }
}

/// C string literal (port names are identifiers, but be safe).
fn c_str_lit(s: &str) -> String {
    let mut o = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_ascii_graphic() || c == ' ' => o.push(c),
            c => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(o, "\\{byte:03o}");
                }
            }
        }
    }
    o.push('"');
    o
}

/// C++ source of the `extern "C"` shim for a Verilated model whose class is `prefix`
/// (the Verilator `--prefix`) and whose top module is `top`.
///
/// Panics on a malformed port list (empty name, zero width, duplicate name, a `clk`
/// that is not a 1-bit input): those are generator bugs, not run-time conditions.
pub fn cpp_shim(top: &str, prefix: &str, ports: &[ShimPort]) -> String {
    // ---- validate and lay out -------------------------------------------------------
    let mut seen = std::collections::HashSet::new();
    let mut has_clk = false;
    struct Laid<'a> {
        name: &'a str,
        member: String,
        width: u32,
        is_input: bool,
        offset: u32,
    }
    let mut laid: Vec<Laid> = Vec::new();
    let (mut in_words, mut out_words) = (0u32, 0u32);
    for p in ports {
        assert!(!p.name.is_empty(), "cpp_shim: empty port name");
        assert!(p.width >= 1, "cpp_shim: port `{}` has width 0", p.name);
        assert!(seen.insert(p.name), "cpp_shim: duplicate port `{}`", p.name);
        if p.name == CLOCK {
            assert!(
                p.is_input && p.width == 1,
                "cpp_shim: `{CLOCK}` must be a 1-bit input (got width {}, input {})",
                p.width,
                p.is_input
            );
            has_clk = true;
            continue;
        }
        let counter = if p.is_input {
            &mut in_words
        } else {
            &mut out_words
        };
        laid.push(Laid {
            name: p.name,
            member: verilator_member_name(p.name),
            width: p.width,
            is_input: p.is_input,
            offset: *counter,
        });
        *counter += words_of(p.width);
    }

    // ---- emit -----------------------------------------------------------------------
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "// GENERATED by hdl::emit::cpp_shim -- DO NOT EDIT.");
    let _ = writeln!(
        w,
        "// extern \"C\" shim for the Verilated model of top module `{top}` (class {prefix})."
    );
    let _ = writeln!(
        w,
        "// Ports: {} ({} input words, {} output words); clock: {}.",
        laid.len(),
        in_words,
        out_words,
        if has_clk {
            CLOCK
        } else {
            "none (combinational)"
        }
    );
    let _ = writeln!(w, "#include <cstdint>");
    let _ = writeln!(w, "#include <cstdlib>");
    let _ = writeln!(w, "#include \"verilated.h\"");
    let _ = writeln!(w, "#if VM_TRACE");
    let _ = writeln!(w, "#include \"verilated_vcd_c.h\"");
    let _ = writeln!(w, "#endif");
    let _ = writeln!(w, "#include \"{prefix}.h\"");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "// Everything else is built with -fvisibility=hidden; only the ABI is exported."
    );
    let _ = writeln!(
        w,
        "#define SHIM_API extern \"C\" __attribute__((visibility(\"default\")))"
    );
    let _ = writeln!(w);
    let _ = writeln!(w, "namespace {{");
    let _ = writeln!(w, "struct Shim {{");
    let _ = writeln!(w, "    VerilatedContext* ctx;");
    let _ = writeln!(w, "    {prefix}* m;");
    let _ = writeln!(w, "#if VM_TRACE");
    let _ = writeln!(w, "    VerilatedVcdC* tfp;");
    let _ = writeln!(w, "#endif");
    let _ = writeln!(w, "    uint64_t cycle;");
    let _ = writeln!(w, "}};");
    let _ = writeln!(w, "struct PortInfo {{ const char* name; uint32_t width; uint32_t is_input; uint32_t offset; }};");
    let _ = writeln!(w, "const PortInfo PORTS[] = {{");
    for p in &laid {
        let _ = writeln!(
            w,
            "    {{{}, {}u, {}u, {}u}},",
            c_str_lit(p.name),
            p.width,
            p.is_input as u32,
            p.offset
        );
    }
    let _ = writeln!(
        w,
        "    {{nullptr, 0u, 0u, 0u}}  // sentinel: keeps the array non-empty"
    );
    let _ = writeln!(w, "}};");
    let _ = writeln!(w, "constexpr uint32_t NUM_PORTS = {}u;", laid.len());
    let _ = writeln!(w, "constexpr uint32_t IN_WORDS = {in_words}u;");
    let _ = writeln!(w, "constexpr uint32_t OUT_WORDS = {out_words}u;");
    let _ = writeln!(w);

    // write_inputs
    let _ = writeln!(
        w,
        "inline void write_inputs({prefix}* m, const uint64_t* in) {{"
    );
    let _ = writeln!(w, "    (void)m; (void)in;");
    for p in laid.iter().filter(|p| p.is_input) {
        let _ = writeln!(
            w,
            "    // {} : input [{}:0] ({})",
            p.name,
            p.width - 1,
            ctype(p.width)
        );
        if p.width <= 64 {
            let _ = writeln!(
                w,
                "    m->{} = ({})(in[{}] & {});",
                p.member,
                ctype(p.width),
                p.offset,
                mask_lit(p.width)
            );
        } else {
            let n32 = p.width.div_ceil(32);
            for k in 0..n32 {
                let word = p.offset + k / 2;
                let shift = if k % 2 == 1 { " >> 32" } else { "" };
                let top_bits = p.width - 32 * k; // bits left from this EData upwards
                if top_bits >= 32 {
                    let _ = writeln!(w, "    m->{}[{k}] = (EData)(in[{word}]{shift});", p.member);
                } else {
                    let _ = writeln!(
                        w,
                        "    m->{}[{k}] = (EData)((in[{word}]{shift}) & {});",
                        p.member,
                        mask_lit(top_bits)
                    );
                }
            }
        }
    }
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);

    // read_outputs
    let _ = writeln!(
        w,
        "inline void read_outputs(const {prefix}* m, uint64_t* out) {{"
    );
    let _ = writeln!(w, "    (void)m; (void)out;");
    for p in laid.iter().filter(|p| !p.is_input) {
        let _ = writeln!(
            w,
            "    // {} : output [{}:0] ({})",
            p.name,
            p.width - 1,
            ctype(p.width)
        );
        if p.width <= 64 {
            let _ = writeln!(
                w,
                "    out[{}] = (uint64_t)m->{} & {};",
                p.offset,
                p.member,
                mask_lit(p.width)
            );
        } else {
            let n32 = p.width.div_ceil(32);
            for word in 0..words_of(p.width) {
                let lo = 2 * word;
                let hi = lo + 1;
                let mut expr = format!("(uint64_t)m->{}[{lo}]", p.member);
                if hi < n32 {
                    let _ = write!(expr, " | ((uint64_t)m->{}[{hi}] << 32)", p.member);
                }
                let bits = (p.width - 64 * word).min(64);
                let _ = writeln!(
                    w,
                    "    out[{}] = ({expr}) & {};",
                    p.offset + word,
                    mask_lit(bits)
                );
            }
        }
    }
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);

    // tracing helpers
    let _ = writeln!(w, "inline void dump(Shim* s) {{");
    let _ = writeln!(w, "#if VM_TRACE");
    let _ = writeln!(w, "    if (s->tfp) s->tfp->dump(s->ctx->time());");
    let _ = writeln!(w, "#else");
    let _ = writeln!(w, "    (void)s;");
    let _ = writeln!(w, "#endif");
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);

    // one cycle
    let set_clk = |w: &mut String, v: u32| {
        if has_clk {
            let _ = writeln!(w, "    s->m->{} = {v};", verilator_member_name(CLOCK));
        }
    };
    let _ = writeln!(
        w,
        "// One cycle. Inputs change while clk is low; `out` samples the settled"
    );
    let _ = writeln!(
        w,
        "// pre-edge values (what the flops see at the coming edge); then the rising edge."
    );
    let _ = writeln!(
        w,
        "// Trace time advances 1 unit per half cycle: t=2c low phase, t=2c+1 high phase."
    );
    let _ = writeln!(
        w,
        "inline void one_cycle(Shim* s, const uint64_t* in, uint64_t* out, bool sample) {{"
    );
    let _ = writeln!(w, "    write_inputs(s->m, in);");
    set_clk(w, 0);
    let _ = writeln!(w, "    s->m->eval();");
    let _ = writeln!(w, "    if (sample) read_outputs(s->m, out);");
    let _ = writeln!(w, "    dump(s);");
    let _ = writeln!(w, "    s->ctx->timeInc(1);");
    set_clk(w, 1);
    let _ = writeln!(w, "    s->m->eval();");
    let _ = writeln!(w, "    dump(s);");
    let _ = writeln!(w, "    s->ctx->timeInc(1);");
    let _ = writeln!(w, "    s->cycle++;");
    let _ = writeln!(w, "}}");
    let _ = writeln!(w, "}}  // namespace");
    let _ = writeln!(w);

    // ABI
    let _ = writeln!(w, "SHIM_API void* shim_new(void) {{");
    let _ = writeln!(w, "    Shim* s = new Shim();");
    let _ = writeln!(
        w,
        "    s->ctx = new VerilatedContext;  // one per model: models never share state"
    );
    let _ = writeln!(
        w,
        "    // Initial values of un-reset state (--x-initial unique): 0 by default so runs are"
    );
    let _ = writeln!(
        w,
        "    // deterministic; STAG_SIM_RAND_RESET=2 (+ STAG_SIM_RAND_SEED) randomizes them to"
    );
    let _ = writeln!(w, "    // flush out missing resets.");
    let _ = writeln!(
        w,
        "    const char* rr = std::getenv(\"STAG_SIM_RAND_RESET\");"
    );
    let _ = writeln!(w, "    s->ctx->randReset(rr ? std::atoi(rr) : 0);");
    let _ = writeln!(
        w,
        "    const char* rs = std::getenv(\"STAG_SIM_RAND_SEED\");"
    );
    let _ = writeln!(w, "    if (rs) s->ctx->randSeed(std::atoi(rs));");
    let _ = writeln!(w, "#if VM_TRACE");
    let _ = writeln!(
        w,
        "    s->ctx->traceEverOn(true);  // must precede model construction"
    );
    let _ = writeln!(w, "    s->tfp = nullptr;");
    let _ = writeln!(w, "#endif");
    let _ = writeln!(w, "    s->m = new {prefix}(s->ctx, \"TOP\");");
    set_clk(w, 0);
    let _ = writeln!(w, "    s->m->eval();");
    let _ = writeln!(w, "    s->cycle = 0;");
    let _ = writeln!(w, "    return s;");
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);
    let _ = writeln!(w, "SHIM_API void shim_trace_close(void* h) {{");
    let _ = writeln!(w, "#if VM_TRACE");
    let _ = writeln!(w, "    Shim* s = static_cast<Shim*>(h);");
    let _ = writeln!(
        w,
        "    if (s->tfp) {{ s->tfp->close(); delete s->tfp; s->tfp = nullptr; }}"
    );
    let _ = writeln!(w, "#else");
    let _ = writeln!(w, "    (void)h;");
    let _ = writeln!(w, "#endif");
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);
    let _ = writeln!(w, "SHIM_API void shim_delete(void* h) {{");
    let _ = writeln!(w, "    if (!h) return;");
    let _ = writeln!(w, "    Shim* s = static_cast<Shim*>(h);");
    let _ = writeln!(w, "    shim_trace_close(h);");
    let _ = writeln!(w, "    s->m->final();");
    let _ = writeln!(w, "    delete s->m;  // the model before its context");
    let _ = writeln!(w, "    delete s->ctx;");
    let _ = writeln!(w, "    delete s;");
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "SHIM_API uint32_t shim_num_ports(void) {{ return NUM_PORTS; }}"
    );
    let _ = writeln!(w, "SHIM_API const char* shim_port_name(uint32_t i) {{ return i < NUM_PORTS ? PORTS[i].name : nullptr; }}");
    let _ = writeln!(w, "SHIM_API uint32_t shim_port_width(uint32_t i) {{ return i < NUM_PORTS ? PORTS[i].width : 0u; }}");
    let _ = writeln!(w, "SHIM_API uint32_t shim_port_is_input(uint32_t i) {{ return i < NUM_PORTS ? PORTS[i].is_input : 0u; }}");
    let _ = writeln!(w, "SHIM_API uint32_t shim_port_word_offset(uint32_t i) {{ return i < NUM_PORTS ? PORTS[i].offset : 0u; }}");
    let _ = writeln!(
        w,
        "SHIM_API uint32_t shim_in_words(void) {{ return IN_WORDS; }}"
    );
    let _ = writeln!(
        w,
        "SHIM_API uint32_t shim_out_words(void) {{ return OUT_WORDS; }}"
    );
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "SHIM_API void shim_step(void* h, const uint64_t* in, uint64_t* out) {{"
    );
    let _ = writeln!(w, "    one_cycle(static_cast<Shim*>(h), in, out, true);");
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "// n cycles with the same inputs; `out` gets the last pre-edge sample. n == 0: no-op."
    );
    let _ = writeln!(
        w,
        "SHIM_API void shim_step_n(void* h, const uint64_t* in, uint64_t* out, uint64_t n) {{"
    );
    let _ = writeln!(w, "    Shim* s = static_cast<Shim*>(h);");
    let _ = writeln!(
        w,
        "    for (uint64_t i = 0; i < n; ++i) one_cycle(s, in, out, i + 1 == n);"
    );
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "// Inputs + settle without a clock edge; not dumped (the next step dumps the result)."
    );
    let _ = writeln!(
        w,
        "SHIM_API void shim_eval(void* h, const uint64_t* in, uint64_t* out) {{"
    );
    let _ = writeln!(w, "    Shim* s = static_cast<Shim*>(h);");
    let _ = writeln!(w, "    write_inputs(s->m, in);");
    let _ = writeln!(w, "    s->m->eval();");
    let _ = writeln!(w, "    read_outputs(s->m, out);");
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "// 0 ok; -1 model built without --trace; -2 file could not be opened."
    );
    let _ = writeln!(
        w,
        "SHIM_API int shim_trace_open(void* h, const char* vcd_path) {{"
    );
    let _ = writeln!(w, "#if VM_TRACE");
    let _ = writeln!(w, "    Shim* s = static_cast<Shim*>(h);");
    let _ = writeln!(w, "    shim_trace_close(h);");
    let _ = writeln!(w, "    s->tfp = new VerilatedVcdC;");
    let _ = writeln!(w, "    s->m->trace(s->tfp, 99);");
    let _ = writeln!(w, "    s->tfp->open(vcd_path);");
    let _ = writeln!(
        w,
        "    if (!s->tfp->isOpen()) {{ delete s->tfp; s->tfp = nullptr; return -2; }}"
    );
    let _ = writeln!(w, "    return 0;");
    let _ = writeln!(w, "#else");
    let _ = writeln!(w, "    (void)h; (void)vcd_path;");
    let _ = writeln!(w, "    return -1;");
    let _ = writeln!(w, "#endif");
    let _ = writeln!(w, "}}");
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "SHIM_API uint64_t shim_cycle(void* h) {{ return static_cast<Shim*>(h)->cycle; }}"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(name: &str, width: u32, is_input: bool) -> ShimPort<'_> {
        ShimPort {
            name,
            width,
            is_input,
        }
    }

    fn sample() -> String {
        cpp_shim(
            "counter",
            "Vdeadbeef",
            &[
                p("clk", 1, true),
                p("rst", 1, true),
                p("en", 1, true),
                p("cnt", 8, false),
                p("wide_in", 100, true),
                p("wide_out", 100, false),
                p("q", 64, false),
                p("h", 16, true),
                p("i", 20, true),
            ],
        )
    }

    #[test]
    fn header_names_generator_and_top() {
        let s = sample();
        assert!(s.starts_with("// GENERATED by hdl::emit::cpp_shim"));
        assert!(s.contains("top module `counter`"));
        assert!(s.contains("#include \"Vdeadbeef.h\""));
        assert!(s.contains("new Vdeadbeef(s->ctx, \"TOP\")"));
    }

    #[test]
    fn layout_excludes_clk_and_packs_words() {
        let s = sample();
        // inputs: rst@0, en@1, wide_in@2..4, h@4, i@5 -> 6 words; outputs: cnt@0, wide_out@1..3, q@3
        assert!(s.contains("constexpr uint32_t NUM_PORTS = 8u;"));
        assert!(s.contains("constexpr uint32_t IN_WORDS = 6u;"));
        assert!(s.contains("constexpr uint32_t OUT_WORDS = 4u;"));
        assert!(!s.contains("{\"clk\""));
        assert!(s.contains("{\"rst\", 1u, 1u, 0u},"));
        assert!(s.contains("{\"wide_in\", 100u, 1u, 2u},"));
        assert!(s.contains("{\"h\", 16u, 1u, 4u},"));
        assert!(s.contains("{\"i\", 20u, 1u, 5u},"));
        assert!(s.contains("{\"cnt\", 8u, 0u, 0u},"));
        assert!(s.contains("{\"wide_out\", 100u, 0u, 1u},"));
        assert!(s.contains("{\"q\", 64u, 0u, 3u},"));
    }

    #[test]
    fn narrow_types_and_masks() {
        let s = sample();
        assert!(s.contains("m->rst = (CData)(in[0] & 0x1ULL);"));
        assert!(s.contains("m->h = (SData)(in[4] & 0xFFFFULL);"));
        assert!(s.contains("m->i = (IData)(in[5] & 0xFFFFFULL);"));
        assert!(s.contains("out[0] = (uint64_t)m->cnt & 0xFFULL;"));
        assert!(s.contains("out[3] = (uint64_t)m->q & 0xFFFFFFFFFFFFFFFFULL;"));
    }

    #[test]
    fn wide_ports_use_edata_words() {
        let s = sample();
        // 100 bits = 4 EData words; top word keeps 4 bits.
        assert!(s.contains("(VlWide<4>)"));
        assert!(s.contains("m->wide_in[0] = (EData)(in[2]);"));
        assert!(s.contains("m->wide_in[1] = (EData)(in[2] >> 32);"));
        assert!(s.contains("m->wide_in[2] = (EData)(in[3]);"));
        assert!(s.contains("m->wide_in[3] = (EData)((in[3] >> 32) & 0xFULL);"));
        assert!(s.contains(
            "out[1] = ((uint64_t)m->wide_out[0] | ((uint64_t)m->wide_out[1] << 32)) & 0xFFFFFFFFFFFFFFFFULL;"
        ));
        assert!(s.contains(
            "out[2] = ((uint64_t)m->wide_out[2] | ((uint64_t)m->wide_out[3] << 32)) & 0xFFFFFFFFFULL;"
        ));
    }

    #[test]
    fn odd_wide_width_has_half_top_word() {
        // 65 bits = 3 EData words: word 1 of the buffer holds only EData[2] (1 bit).
        let s = cpp_shim("t", "Vx", &[p("a", 65, true), p("b", 65, false)]);
        assert!(s.contains("m->a[2] = (EData)((in[1]) & 0x1ULL);"));
        assert!(s.contains("out[1] = ((uint64_t)m->b[2]) & 0x1ULL;"));
        assert!(!s.contains("m->b[3]"));
    }

    #[test]
    fn clock_is_driven_by_shim() {
        let s = sample();
        let body = s.split("inline void one_cycle").nth(1).unwrap();
        let low = body.find("s->m->clk = 0;").unwrap();
        let sample_at = body.find("read_outputs(s->m, out)").unwrap();
        let high = body.find("s->m->clk = 1;").unwrap();
        assert!(
            low < sample_at && sample_at < high,
            "sample must be taken before the edge"
        );
    }

    #[test]
    fn combinational_top_has_no_clock() {
        let s = cpp_shim("comb", "Vc", &[p("a", 4, true), p("y", 4, false)]);
        assert!(!s.contains("->clk"));
        assert!(s.contains("clock: none"));
    }

    #[test]
    fn empty_port_list_is_valid_cpp_shape() {
        let s = cpp_shim("e", "Ve", &[p("clk", 1, true)]);
        assert!(s.contains("constexpr uint32_t NUM_PORTS = 0u;"));
        assert!(s.contains("{nullptr, 0u, 0u, 0u}"));
    }

    #[test]
    fn exported_abi_is_complete() {
        let s = sample();
        for f in [
            "void* shim_new(void)",
            "void shim_delete(void* h)",
            "uint32_t shim_num_ports(void)",
            "const char* shim_port_name(uint32_t i)",
            "uint32_t shim_port_width(uint32_t i)",
            "uint32_t shim_port_is_input(uint32_t i)",
            "uint32_t shim_port_word_offset(uint32_t i)",
            "uint32_t shim_in_words(void)",
            "uint32_t shim_out_words(void)",
            "void shim_step(void* h, const uint64_t* in, uint64_t* out)",
            "void shim_step_n(void* h, const uint64_t* in, uint64_t* out, uint64_t n)",
            "void shim_eval(void* h, const uint64_t* in, uint64_t* out)",
            "int shim_trace_open(void* h, const char* vcd_path)",
            "void shim_trace_close(void* h)",
            "uint64_t shim_cycle(void* h)",
        ] {
            assert!(s.contains(&format!("SHIM_API {f}")), "missing {f}");
        }
    }

    #[test]
    fn member_names_follow_verilator() {
        assert_eq!(verilator_member_name("cnt"), "cnt");
        assert_eq!(verilator_member_name("a__b"), "a___05Fb");
        assert_eq!(verilator_member_name("c___d"), "c___05F_d");
        assert_eq!(verilator_member_name("_x"), "_x");
        assert_eq!(verilator_member_name("esc$x"), "esc__024x");
        assert_eq!(verilator_member_name("switch"), "__SYM__switch");
        assert_eq!(verilator_member_name("override"), "__SYM__override");
        assert_eq!(verilator_member_name("NULL"), "NULL");
        let s = cpp_shim("t", "Vk", &[p("new", 2, true), p("a__b", 3, false)]);
        assert!(s.contains("m->__SYM__new = (CData)(in[0] & 0x3ULL);"));
        assert!(s.contains("{\"new\", 2u, 1u, 0u},"));
        assert!(s.contains("out[0] = (uint64_t)m->a___05Fb & 0x7ULL;"));
    }

    #[test]
    #[should_panic(expected = "duplicate port")]
    fn duplicate_port_panics() {
        cpp_shim("t", "V", &[p("a", 1, true), p("a", 1, false)]);
    }

    #[test]
    #[should_panic(expected = "1-bit input")]
    fn wide_clk_panics() {
        cpp_shim("t", "V", &[p("clk", 2, true)]);
    }
}
