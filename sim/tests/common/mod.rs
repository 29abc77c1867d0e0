//! Shared fixtures: small hand-written designs and their build specs.
#![allow(dead_code)]

// `sim` must not depend on `hdl`, so the (std-only) shim generator is compiled in here.
#[path = "../../../hdl/src/emit/cpp_shim.rs"]
pub mod cpp_shim;

use cpp_shim::{cpp_shim, ShimPort};
use sim::{prefix_for, BuildSpec};

/// 8-bit counter with enable and sync reset, a 100-bit registered and a 100-bit
/// combinational path, and a combinational 8-bit output. `STEP` is the increment.
pub fn counter_verilog(step: u32) -> String {
    format!(
        r#"// test design
module counter #(parameter STEP = {step}) (
    input  wire        clk,
    input  wire        rst,
    input  wire        en,
    input  wire [7:0]  key,
    output reg  [7:0]  cnt,
    output wire [7:0]  cnt_plus_key,
    input  wire [99:0] wide_in,
    output reg  [99:0] wide_out,
    output wire [99:0] wide_not
);
    always @(posedge clk) begin
        if (rst) cnt <= 8'd0;
        else if (en) cnt <= cnt + STEP[7:0];
        wide_out <= wide_in;
    end
    assign cnt_plus_key = cnt + key;
    assign wide_not = ~wide_in;
endmodule
"#
    )
}

pub fn counter_ports() -> Vec<ShimPort<'static>> {
    let p = |name, width, is_input| ShimPort {
        name,
        width,
        is_input,
    };
    vec![
        p("clk", 1, true),
        p("rst", 1, true),
        p("en", 1, true),
        p("key", 8, true),
        p("cnt", 8, false),
        p("cnt_plus_key", 8, false),
        p("wide_in", 100, true),
        p("wide_out", 100, false),
        p("wide_not", 100, false),
    ]
}

/// Spec for a design: prefix first (from the Verilog), then the shim for that prefix.
pub fn spec(top: &str, verilog: Vec<(String, String)>, ports: &[ShimPort]) -> BuildSpec {
    let prefix = prefix_for(top, &verilog);
    let shim_cpp = cpp_shim(top, &prefix, ports);
    BuildSpec {
        top: top.to_string(),
        verilog,
        shim_cpp,
    }
}

pub fn counter_spec(step: u32) -> BuildSpec {
    spec(
        "counter",
        vec![("counter.v".into(), counter_verilog(step))],
        &counter_ports(),
    )
}

/// A private, initially empty cache dir under the target dir (for cold builds).
pub fn fresh_cache(tag: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = sim::target_dir()
        .join("sim-test-cache")
        .join(format!("{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The counter with STEP = 3 taken from an `` `include``d header: a second,
/// different configuration that also exercises include-only files.
pub fn counter3_spec() -> BuildSpec {
    let v = counter_verilog(0).replace("parameter STEP = 0", "parameter STEP = `STEP_VALUE");
    let v = format!("`include \"step.vh\"\n{v}");
    spec(
        "counter",
        vec![
            ("counter3.v".into(), v),
            ("step.vh".into(), "`define STEP_VALUE 3\n".into()),
        ],
        &counter_ports(),
    )
}
