//! `synth_wrapper`: a registered scan wrapper that puts any generated module
//! on a few pins for synthesis measurements. Every input of the module is a
//! flip-flop output of one shift register fed by `scan_in`, and every output
//! bit is captured into a register and shifted out through `scan_out`, so
//! synthesis can neither tie an input to a constant nor drop logic whose
//! output nobody reads, and every path into and out of the module starts or
//! ends at a flip-flop (the module is timed, not the pads).
//!
//! Ports: `clk`, `rst` (only if the module has one), `scan_in`, `scan_en`,
//! `scan_out`. The module's `rst` comes from a flip-flop too (`rst_reg`, as
//! from a reset synchronizer in a real design), so that paths from reset
//! through the module's logic are timed rather than treated as pad paths.
//! One chain runs `scan_in -> in_sr -> out_sr -> scan_out`:
//!
//! - `scan_en` high: `in_sr` and `out_sr` both shift by one bit per clock
//!   (`in_sr` loads `scan_in` at bit 0, `out_sr` loads the top bit of
//!   `in_sr`; `scan_out` is the top bit of `out_sr`).
//! - `scan_en` low: `in_sr` holds (the module sees steady inputs) and
//!   `out_sr` captures every output of the module each cycle.
//!
//! Bit order: the module's inputs (except `clk`, `rst`) and outputs are
//! packed in port order, the first port in the most significant bits, so the
//! first input's MSB is shifted in first and the first output's MSB comes out
//! first. The wrapper costs exactly one flip-flop per input and output bit
//! (plus `rst_reg`) and a 2:1 multiplexer per output bit.

use std::rc::Rc;

use crate::ir::{Dir, ElabError, Expr, Module, ModuleBuilder};
use crate::Error;

/// Prefix of the wrapper's signal for each port of the wrapped module.
const PREFIX: &str = "dut_";

/// Wrap `inner` as module `name` (see the module documentation).
///
/// `inner` must have a 1-bit input `clk` and at least one output; a 1-bit
/// input `rst`, if present, is driven by the wrapper's `rst` through one
/// flip-flop.
pub fn elaborate(inner: &Rc<Module>, name: &str) -> Result<Rc<Module>, Error> {
    let problems = check(inner, name);
    if !problems.is_empty() {
        return Err(ElabError {
            module: name.into(),
            problems,
        }
        .into());
    }
    let has_rst = inner.port("rst").is_some();
    let data_inputs: Vec<(Rc<str>, u32)> = inner
        .ports()
        .filter(|(s, d)| *d == Dir::Input && !is_clock_or_reset(&s.name))
        .map(|(s, _)| (s.name.clone(), s.width))
        .collect();
    let outputs: Vec<(Rc<str>, u32)> = inner
        .ports()
        .filter(|(_, d)| *d == Dir::Output)
        .map(|(s, _)| (s.name.clone(), s.width))
        .collect();
    let in_bits: u32 = data_inputs.iter().map(|(_, w)| w).sum();
    let out_bits: u32 = outputs.iter().map(|(_, w)| w).sum();

    let mut m = ModuleBuilder::new(
        name,
        &format!(
            "registered scan wrapper around `{}` for synthesis measurements",
            inner.name
        ),
    );
    m.param(
        "IN_BITS",
        in_bits as u64,
        "input bits of the wrapped module (the input shift register)",
    );
    m.param(
        "OUT_BITS",
        out_bits as u64,
        "output bits of the wrapped module (the capture register)",
    );
    let clk = m.input("clk", 1, "");
    let rst = has_rst.then(|| {
        m.input(
            "rst",
            1,
            "synchronous, active high; drives the wrapped module only",
        )
    });
    let rst_reg = rst
        .as_ref()
        .map(|_| m.signal("rst_reg", 1, "rst, registered: the wrapped module's reset"));
    let scan_in = m.input(
        "scan_in",
        1,
        "serial input: shifted into in_sr while scan_en",
    );
    let scan_en = m.input(
        "scan_en",
        1,
        "1: shift both registers; 0: hold in_sr, capture the outputs into out_sr",
    );
    let scan_out = m.output("scan_out", 1, "serial output: the top bit of out_sr");

    let in_sr = (in_bits > 0).then(|| {
        m.signal(
            "in_sr",
            in_bits,
            "the wrapped module's inputs, first port in the MSBs",
        )
    });
    let out_sr = m.signal(
        "out_sr",
        out_bits,
        "the wrapped module's outputs, first port in the MSBs",
    );
    let out_sigs: Vec<Expr> = outputs
        .iter()
        .map(|(n, w)| {
            m.signal(
                &format!("{PREFIX}{n}"),
                *w,
                &format!("output `{n}` of the wrapped module"),
            )
        })
        .collect();

    // Connections: clk/rst straight through, inputs from slices of in_sr
    // (first port at the top), outputs to plain signals.
    let mut conns: Vec<(&str, Expr)> = Vec::new();
    let mut hi = in_bits;
    for (sig, dir) in inner.ports() {
        let e = match (&*sig.name, dir) {
            ("clk", _) => clk.clone(),
            ("rst", _) => rst_reg.clone().expect("has_rst"),
            (_, Dir::Input) => {
                let sr = in_sr.as_ref().expect("an input makes in_bits > 0");
                hi -= sig.width;
                sr.slice(hi + sig.width - 1, hi)
            }
            (n, Dir::Output) => {
                out_sigs[outputs.iter().position(|(o, _)| &**o == n).expect("listed")].clone()
            }
        };
        conns.push((&sig.name, e));
    }
    m.instance(inner, "dut", conns);

    // The serial bit that enters out_sr: from in_sr, or straight from
    // scan_in when the module has no data inputs.
    let chain_mid = match &in_sr {
        Some(sr) => sr.bit(in_bits - 1),
        None => scan_in.clone(),
    };
    let captured = Expr::concat(out_sigs.iter().cloned());
    if let (Some(rst), Some(rst_reg)) = (&rst, &rst_reg) {
        m.sync("reset of the wrapped module, from a flip-flop", |b| {
            b.assign(rst_reg, rst)
        });
    }
    m.sync(
        "scan chain: shift while scan_en, else hold the inputs and capture the outputs",
        |b| {
            b.if_else(
                &scan_en,
                |b| {
                    if let Some(sr) = &in_sr {
                        b.assign(sr, shift_in(sr, &scan_in));
                    }
                    b.assign(&out_sr, shift_in(&out_sr, &chain_mid));
                },
                |b| b.assign(&out_sr, &captured),
            );
        },
    );
    m.assign(&scan_out, out_sr.bit(out_bits - 1));
    Ok(m.finish()?)
}

/// `{sr[w-2:0], bit}` (just `bit` for a 1-bit register).
fn shift_in(sr: &Expr, bit: &Expr) -> Expr {
    let w = sr.width();
    if w == 1 {
        bit.clone()
    } else {
        Expr::concat([sr.slice(w - 2, 0), bit.clone()])
    }
}

fn is_clock_or_reset(name: &str) -> bool {
    name == "clk" || name == "rst"
}

/// Everything that stops wrapping `inner`, each problem named.
fn check(inner: &Module, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if inner.name == name {
        problems.push(format!(
            "the wrapper cannot have the name of the module it wraps (`{name}`)"
        ));
    }
    for port in ["clk", "rst"] {
        match inner.port(port) {
            Some((s, Dir::Input)) if s.width == 1 => {}
            None if port == "rst" => {}
            _ => problems.push(format!(
                "`{}` needs a 1-bit input `{port}` to be wrapped",
                inner.name
            )),
        }
    }
    if !inner.ports().any(|(_, d)| d == Dir::Output) {
        problems.push(format!(
            "`{}` has no output: there would be nothing to observe",
            inner.name
        ));
    }
    problems
}
