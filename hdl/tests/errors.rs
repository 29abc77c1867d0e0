//! The generator's error texts, exactly: a bad parameter names the
//! parameter, the value and the allowed range; a width mismatch names both
//! sides; a latch, a missing driver and an unused input are refused.

use hdl::ir::{Expr, ModuleBuilder};
use hdl::params::Params;

fn err(overrides: &[(&str, u64)]) -> String {
    Params::new(overrides.iter().copied())
        .unwrap_err()
        .to_string()
}

#[test]
fn out_of_range_values_name_the_parameter_value_and_range() {
    assert_eq!(
        err(&[("entries", 3)]),
        "invalid --entries 3: must be a power of two from 16 to 4096"
    );
    assert_eq!(
        err(&[("entries", 8192)]),
        "invalid --entries 8192: must be a power of two from 16 to 4096"
    );
    assert_eq!(
        err(&[("lookup-latency", 7)]),
        "invalid --lookup-latency 7: must be from 2 to 6"
    );
    assert_eq!(
        err(&[("lookup-latency", 1)]),
        "invalid --lookup-latency 1: must be from 2 to 6"
    );
    assert_eq!(err(&[("nics", 1)]), "invalid --nics 1: must be from 2 to 8");
    assert_eq!(
        err(&[("data-width", 96)]),
        "invalid --data-width 96: must be a power of two from 64 to 256"
    );
    assert_eq!(
        err(&[("foreign-entries", 65)]),
        "invalid --foreign-entries 65: must be from 2 to 64"
    );
    assert_eq!(err(&[("bogus", 1)]), "unknown parameter --bogus");
}

#[test]
fn too_many_nics_for_the_id_bits() {
    assert_eq!(
        err(&[("nics", 3), ("nic-id-bits", 1)]),
        "invalid combination: --nics 3 with --nic-id-bits 1: 1 id bits name at most 2 NICs"
    );
}

#[test]
fn defaults_are_valid() {
    assert!(Params::new([]).is_ok());
}

fn module_error(f: impl FnOnce(&mut ModuleBuilder)) -> String {
    let mut m = ModuleBuilder::new("t", "test");
    f(&mut m);
    m.finish().unwrap_err().to_string()
}

#[test]
fn width_mismatch_names_both_sides() {
    let e = module_error(|m| {
        let a = m.input("a", 8, "");
        let b = m.input("b", 4, "");
        let y = m.output("y", 8, "");
        m.assign(&y, a + b);
    });
    assert_eq!(
        e,
        "module `t`: assign y: width mismatch in `a + b`: left `a` is 8 bits, right `b` is 4 bits"
    );
}

#[test]
fn assignment_width_mismatch_names_both_sides() {
    let e = module_error(|m| {
        let a = m.input("a", 8, "");
        let y = m.output("y", 9, "");
        m.assign(&y, a);
    });
    assert_eq!(
        e,
        "module `t`: assign y: width mismatch: `y` is 9 bits, `a` is 8 bits"
    );
}

#[test]
fn a_comb_signal_without_default_missing_on_a_path_is_a_latch() {
    let e = module_error(|m| {
        let a = m.input("a", 1, "");
        let y = m.output("y", 1, "");
        m.comb("", |b| b.when(&a, |b| b.assign(&y, Expr::lit(1, 1))));
    });
    assert_eq!(
        e,
        "module `t`: `y` is not assigned on every path of a comb process and has no default (it would be a latch)"
    );
}

#[test]
fn undriven_unused_and_double_driven_signals_are_refused() {
    let e = module_error(|m| {
        let _a = m.input("a", 1, "");
        let _y = m.output("y", 1, "");
    });
    assert_eq!(
        e,
        "module `t`: input `a` is never used; output `y` is never driven"
    );
    let e = module_error(|m| {
        let a = m.input("a", 1, "");
        let y = m.output("y", 1, "");
        m.assign(&y, a.clone());
        m.comb("", |b| b.assign(&y, a.clone()));
    });
    assert_eq!(
        e,
        "module `t`: `y` has two drivers (a continuous assign and comb process #0)"
    );
}

#[test]
fn clocked_logic_needs_clk_and_rst_ports() {
    let e = module_error(|m| {
        let a = m.input("a", 1, "");
        let y = m.output_init("y", 1, 0, "");
        m.sync("", |b| b.assign(&y, a));
    });
    assert_eq!(
        e,
        "module `t`: clocked processes need a 1-bit input port `clk`; clocked processes need a 1-bit input port `rst`"
    );
}

#[test]
fn constants_must_fit() {
    let e = module_error(|m| {
        let y = m.output("y", 4, "");
        m.assign(&y, Expr::lit(16, 4));
    });
    assert_eq!(
        e,
        "module `t`: value 16 of `constant` does not fit in 4 bits"
    );
}

#[test]
fn reserved_words_are_refused() {
    let e = module_error(|m| {
        let a = m.input("tagged", 1, "");
        let y = m.output("y", 1, "");
        m.assign(&y, a);
    });
    assert_eq!(
        e,
        "module `t`: `tagged` is a reserved word in Verilog or SystemVerilog"
    );
}
