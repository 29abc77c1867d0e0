//! The `stag-handoff` command line: `emit` writes the files and the
//! manifest; a bad parameter exits non-zero, names it, and writes nothing.

mod common;

use std::process::Command;

fn stag_handoff() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stag-handoff"))
}

#[test]
fn bad_parameter_exits_nonzero_names_it_and_writes_nothing() {
    let dir = common::scratch("cli-bad").join("out");
    let out = stag_handoff()
        .args(["emit", "--out"])
        .arg(&dir)
        .args(["--entries", "1000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: invalid --entries 1000: must be a power of two from 16 to 4096\n"
    );
    assert!(!dir.exists(), "nothing may be written on a bad parameter");
}

#[test]
fn emit_writes_verilog_and_a_manifest_of_modules_and_ports() {
    let dir = common::scratch("cli-ok").join("out");
    let out = stag_handoff()
        .args(["emit", "--out"])
        .arg(&dir)
        .args(["--fifo-depth", "64"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["generator"],
        format!("stag-handoff hdl {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(manifest["params"]["fifo-depth"], 64);
    let modules = manifest["modules"].as_array().unwrap();
    for m in modules {
        let file = dir.join(m["file"].as_str().unwrap());
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains(&format!("module {} (", m["name"].as_str().unwrap())));
        assert!(text.contains("`default_nettype none"));
        assert!(
            !text.contains('$'),
            "{} contains a `$` name",
            file.display()
        );
    }
    let fifo = modules
        .iter()
        .find(|m| m["name"] == "axis_fifo")
        .expect("axis_fifo in manifest");
    let depth = fifo["params"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "DEPTH")
        .unwrap();
    assert_eq!(depth["value"], 64);
    let tdata = fifo["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "s_axis_tdata")
        .unwrap();
    assert_eq!(tdata["direction"], "input");
    assert_eq!(tdata["width"], 64);
}

#[test]
fn readme_parameter_table_is_the_generated_one() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&hdl::params::markdown_table()),
        "README.md's parameter table is stale: paste the output of `stag-handoff params`"
    );
}
