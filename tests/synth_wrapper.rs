//! The synthesis wrapper: clean in every tool around axis_fifo, its scan
//! chain carries every input in and every output out (simulated in Icarus),
//! the iCE40 flow keeps every wrapper and module flip-flop, and the CLI
//! prints the row.

mod common;

use std::path::Path;
use std::process::Command;
use std::rc::Rc;

use hdl::blocks::{axis_fifo, synth_wrapper};
use hdl::ir::{Dir, Module, ModuleBuilder};
use hdl::params::Params;

fn fifo() -> Rc<Module> {
    axis_fifo::elaborate(&axis_fifo::AxisFifoParams::from_params(&Params::default())).unwrap()
}

fn wrapped_design(inner: &Rc<Module>, name: &str) -> hdl::Design {
    let w = synth_wrapper::elaborate(inner, name).unwrap();
    let mut d = hdl::Design::default();
    d.add(&w).unwrap();
    d
}

/// Data ports (not clk/rst) of `dir`, in port order, with widths.
fn data_ports(m: &Module, dir: Dir) -> Vec<(String, u32)> {
    m.ports()
        .filter(|(s, d)| *d == dir && &*s.name != "clk" && &*s.name != "rst")
        .map(|(s, _)| (s.name.to_string(), s.width))
        .collect()
}

/// Pack `values` (by port name) in port order, first port in the MSBs.
fn pack(ports: &[(String, u32)], values: &[(&str, u128)]) -> u128 {
    ports.iter().fold(0, |acc, (name, w)| {
        let v = values
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no value for `{name}`"))
            .1;
        assert!(
            *w == 128 || v >> w == 0,
            "value {v:#x} does not fit port `{name}` ({w} bits)"
        );
        (acc << w) | v
    })
}

fn run(cmd: &mut Command) -> String {
    let line = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {line}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "command failed ({}): {line}\n{text}",
        out.status
    );
    text
}

#[test]
fn wrapper_has_five_one_bit_ports_and_counts_the_bits() {
    let inner = fifo();
    let w = synth_wrapper::elaborate(&inner, "axis_fifo_synth").unwrap();
    let ports: Vec<(String, Dir, u32)> = w
        .ports()
        .map(|(s, d)| (s.name.to_string(), d, s.width))
        .collect();
    let expected: Vec<(String, Dir, u32)> = [
        ("clk", Dir::Input),
        ("rst", Dir::Input),
        ("scan_in", Dir::Input),
        ("scan_en", Dir::Input),
        ("scan_out", Dir::Output),
    ]
    .iter()
    .map(|(n, d)| (n.to_string(), *d, 1))
    .collect();
    assert_eq!(ports, expected);
    let bits = |dir| {
        data_ports(&inner, dir)
            .iter()
            .map(|(_, w)| *w as u64)
            .sum::<u64>()
    };
    let param = |name: &str| w.params.iter().find(|p| p.name == name).unwrap().value;
    assert_eq!(param("IN_BITS"), bits(Dir::Input));
    assert_eq!(param("OUT_BITS"), bits(Dir::Output));
}

#[test]
fn wrapped_axis_fifo_passes_every_tool() {
    let d = wrapped_design(&fifo(), "axis_fifo_synth");
    if let Err(e) = common::check_design(&d, "synth_wrapper_tools") {
        panic!("{e}");
    }
}

/// Shift a beat into the FIFO's inputs, let it through with the output
/// stalled, capture, and shift the outputs out: every output field arrives
/// at its documented bit position.
#[test]
fn scan_chain_carries_inputs_in_and_outputs_out() {
    let inner = fifo();
    let d = wrapped_design(&inner, "axis_fifo_synth");
    let dir = common::scratch("synth_wrapper_scan");
    let mut files = common::write_files(&d, "axis_fifo_synth", &dir);
    let (data, keep, user) = (0x0123_4567_89ab_cdef_u128, 0xa5, 0xbeef);
    let ins = data_ports(&inner, Dir::Input);
    let outs = data_ports(&inner, Dir::Output);
    let vec = pack(
        &ins,
        &[
            ("s_axis_tdata", data),
            ("s_axis_tkeep", keep),
            ("s_axis_tvalid", 1),
            ("s_axis_tlast", 1),
            ("s_axis_tuser", user),
            ("m_axis_tready", 0),
        ],
    );
    // A few beats in, output stalled: not full, the first beat on the output.
    let exp = pack(
        &outs,
        &[
            ("s_axis_tready", 1),
            ("m_axis_tdata", data),
            ("m_axis_tkeep", keep),
            ("m_axis_tvalid", 1),
            ("m_axis_tlast", 1),
            ("m_axis_tuser", user),
        ],
    );
    let in_bits: u32 = ins.iter().map(|(_, w)| w).sum();
    let out_bits: u32 = outs.iter().map(|(_, w)| w).sum();
    let tb = format!(
        r#"`timescale 1ns / 1ps
`default_nettype none
module tb;
localparam [{ih}:0] VEC = {in_bits}'h{vec:x};
localparam [{oh}:0] EXP = {out_bits}'h{exp:x};
reg clk = 1'b0, rst = 1'b1, scan_in = 1'b0, scan_en = 1'b1;
wire scan_out;
reg [{oh}:0] got;
integer i;
axis_fifo_synth dut (.clk(clk), .rst(rst), .scan_in(scan_in), .scan_en(scan_en), .scan_out(scan_out));
always #5 clk = ~clk;
initial begin
    for (i = {ih}; i >= 0; i = i - 1) begin
        scan_in = VEC[i];
        @(posedge clk); #1;
    end
    scan_en = 1'b0;
    repeat (2) @(posedge clk);
    #1 rst = 1'b0;
    repeat (8) @(posedge clk);
    #1 scan_en = 1'b1;
    for (i = {oh}; i >= 0; i = i - 1) begin
        got[i] = scan_out;
        @(posedge clk); #1;
    end
    if (got === EXP) $display("PASS");
    else $display("FAIL: scanned out %h, expected %h", got, EXP);
    $finish;
end
endmodule
"#,
        ih = in_bits - 1,
        oh = out_bits - 1,
    );
    let tb_path = dir.join("tb.v");
    std::fs::write(&tb_path, tb).unwrap();
    files.push(tb_path);
    let vvp = dir.join("tb.vvp");
    run(Command::new("iverilog")
        .args(["-g2005", "-s", "tb", "-o"])
        .arg(&vvp)
        .args(&files));
    let text = run(Command::new("vvp").arg("-n").arg(&vvp));
    assert!(
        text.contains("PASS"),
        "simulation of {}:\n{text}",
        dir.display()
    );
}

#[test]
fn refuses_modules_it_cannot_wrap() {
    let inner = fifo();
    let e = synth_wrapper::elaborate(&inner, "axis_fifo").unwrap_err();
    assert_eq!(
        e.to_string(),
        "module `axis_fifo`: the wrapper cannot have the name of the module it wraps (`axis_fifo`)"
    );

    let mut m2 = ModuleBuilder::new("comb", "combinational");
    let x = m2.input("x", 1, "");
    let y = m2.output("y", 1, "");
    m2.assign(&y, x);
    let comb = m2.finish().unwrap();
    let e = synth_wrapper::elaborate(&comb, "comb_synth").unwrap_err();
    assert_eq!(
        e.to_string(),
        "module `comb_synth`: `comb` needs a 1-bit input `clk` to be wrapped"
    );
}

/// The iCE40 flow on the wrapped FIFO: it fits, every flip-flop of the
/// module and of the wrapper survives (nothing optimized away), block RAM
/// is used, five pins, and an Fmax comes out.
#[test]
fn ice40_flow_keeps_every_flip_flop() {
    let inner = fifo();
    let d = wrapped_design(&inner, "axis_fifo_synth");
    let dir = common::scratch("synth_wrapper_ice40");
    common::write_files(&d, "axis_fifo_synth", &dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("synth/flow.sh");
    let out = run(Command::new("bash").arg(&script).arg(&dir).args([
        "axis_fifo_synth",
        "--module",
        "axis_fifo",
    ]));
    let json: serde_json::Value =
        serde_json::from_str(out.lines().last().unwrap()).unwrap_or_else(|e| {
            panic!(
                "last line of {} is not JSON ({e}):\n{out}",
                script.display()
            )
        });
    let n = |k: &str| {
        json[k]
            .as_f64()
            .unwrap_or_else(|| panic!("no number `{k}` in {json}"))
    };
    let wrapper_bits = (data_ports(&inner, Dir::Input)
        .iter()
        .chain(&data_ports(&inner, Dir::Output)))
    .map(|(_, w)| *w as f64)
    .sum::<f64>()
        + 1.0; // rst_reg
    assert_eq!(json["fits"], true, "{json}");
    assert_eq!(
        n("ff"),
        n("module_ff") + wrapper_bits,
        "wrapped FFs = module FFs + one per wrapper bit and rst_reg: {json}"
    );
    assert_eq!(n("bram"), n("module_bram"), "{json}");
    assert!(
        n("module_bram") >= 1.0,
        "the FIFO memory is block RAM: {json}"
    );
    assert_eq!(n("io"), 5.0, "{json}");
    assert!(n("fmax_mhz") > 10.0, "{json}");
}

#[test]
fn cli_prints_a_markdown_row() {
    let dir = common::scratch("synth_cli");
    let out = run(Command::new(env!("CARGO_BIN_EXE_stag-handoff"))
        .args(["synth", "--top", "axis_fifo", "--fifo-depth", "32", "--out"])
        .arg(&dir));
    let row = out
        .lines()
        .find(|l| l.starts_with("| axis_fifo |"))
        .unwrap_or_else(|| panic!("no row in:\n{out}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(cells[2], "DATA_WIDTH=64 USER_WIDTH=16 DEPTH=32", "{row}");
    assert!(cells[6].parse::<f64>().is_ok(), "Fmax is a number: {row}");
    assert_eq!(cells[7], "ice40-hx8k", "{row}");
}
