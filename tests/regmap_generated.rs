//! The register map's committed outputs (`docs/registers.md`, the C header
//! `include/stag_handoff_regs.h`, the driver model's `sim/src/regs.rs`) are
//! exactly what the one description in the generator produces today, and
//! `stag-handoff emit` writes the same files beside the Verilog.

mod common;

use std::path::Path;
use std::process::Command;

const FIX: &str = "run `cargo run --release -- regs` to rewrite docs/registers.md, \
include/stag_handoff_regs.h and sim/src/regs.rs from hdl::regmap::nic_map()";

#[test]
fn committed_register_files_are_the_generated_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut stale = Vec::new();
    for (path, want) in hdl::regmap::generated_files() {
        let have = match std::fs::read_to_string(root.join(path)) {
            Ok(t) => t,
            Err(e) => {
                stale.push(format!("{path}: cannot read it ({e})"));
                continue;
            }
        };
        if have != want {
            let (n, h, w) = have
                .lines()
                .zip(want.lines())
                .enumerate()
                .find(|(_, (h, w))| h != w)
                .map(|(i, (h, w))| (i + 1, h.to_string(), w.to_string()))
                .unwrap_or_else(|| {
                    let n = have.lines().count().min(want.lines().count()) + 1;
                    (n, "(end of file)".into(), "(end of file)".into())
                });
            stale.push(format!(
                "{path} is stale; first difference at line {n}:\n    committed: {h}\n    generated: {w}"
            ));
        }
    }
    assert!(stale.is_empty(), "{}\n{FIX}", stale.join("\n"));
}

#[test]
fn the_c_header_compiles_and_its_values_match() {
    let dir = common::scratch("regs-h");
    let c = dir.join("t.c");
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    std::fs::write(
        &c,
        "#include \"stag_handoff_regs.h\"\n\
         #include \"stag_handoff_regs.h\" /* the guard works */\n\
         #include <stdio.h>\n\
         int main(void) {\n\
           printf(\"%u %u %u %u\\n\", (unsigned)STAG_HANDOFF_STAG_GO_OFFSET,\n\
                  (unsigned)STAG_HANDOFF_STAG_STATUS_CODE_SHIFT,\n\
                  (unsigned)STAG_HANDOFF_STAG_STATUS_CODE_MASK,\n\
                  (unsigned)STAG_HANDOFF_STAG_CMD_OP_OP_LIST);\n\
           return 0;\n\
         }\n",
    )
    .unwrap();
    let exe = dir.join("t");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
        .arg(&include)
        .arg(&c)
        .arg("-o")
        .arg(&exe);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    let map = hdl::regmap::nic_map();
    let stag = &map.blocks[0];
    let code = stag.get("STATUS").unwrap().get("CODE").unwrap();
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        format!(
            "{} {} {} {}\n",
            stag.get("GO").unwrap().offset(),
            code.lo,
            code.mask(),
            hdl::blocks::stag_table::op::LIST
        )
    );
}

#[test]
fn emit_writes_the_register_files_beside_the_verilog() {
    let dir = common::scratch("regs-emit").join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_stag-handoff"))
        .args(["emit", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (path, want) in hdl::regmap::generated_files() {
        let name = path.rsplit('/').next().unwrap();
        let have = std::fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(
            have, want,
            "{name} written by emit differs from {path}'s generator"
        );
    }
}
