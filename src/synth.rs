//! `stag-handoff synth`: LUT, FF, block RAM and Fmax of one generated module
//! on an FPGA. The module is wrapped in `hdl::blocks::synth_wrapper` (few
//! pins, every input from a flip-flop, every output captured), its files go
//! to `<out>/<module>-<hash>/`, `synth/flow.sh` runs Yosys and nextpnr, and
//! one Markdown table row comes out on stdout.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{anyhow, bail, Context};
use clap::{Arg, ArgAction, ArgMatches};
use hdl::blocks::synth_wrapper;

/// The targets `synth/flow.sh` knows.
const TARGETS: &[&str] = &["ice40-hx8k", "ecp5-25k", "ecp5-85k"];

/// The table header matching [`run`]'s row.
pub const HEADER: &str =
    "| module | params | LUT | FF | BRAM | Fmax MHz | target | wrapped LUT/FF/BRAM |\n\
                          |---|---|---:|---:|---:|---:|---|---|";

/// The subcommand's own options (the generator options are added by main).
pub fn command() -> clap::Command {
    clap::Command::new("synth")
        .about("Synthesize and place one module in a scan wrapper; print LUT, FF, BRAM and Fmax as a Markdown row")
        .arg(Arg::new("top").long("top").value_name("MODULE").required(true).help("the generated module to measure"))
        .arg(
            Arg::new("target")
                .long("target")
                .value_name("TARGET")
                .default_value("ice40-hx8k")
                .value_parser(TARGETS.to_vec())
                .help("FPGA: iCE40 HX8K (Debian's tools) or ECP5 (PyPI's YoWASP tools, installed on first use)"),
        )
        .arg(
            Arg::new("freq")
                .long("freq")
                .value_name("MHZ")
                .default_value("100")
                .value_parser(clap::value_parser!(u32).range(1..=1000))
                .help("clock target given to place and route (Fmax is reported either way)"),
        )
        .arg(
            Arg::new("seed")
                .long("seed")
                .value_name("N")
                .default_value("1")
                .value_parser(clap::value_parser!(u32))
                .help("place-and-route seed (fixed, so runs repeat)"),
        )
        .arg(
            Arg::new("out")
                .long("out")
                .value_name("DIR")
                .default_value("build/synth")
                .value_parser(clap::value_parser!(PathBuf))
                .help("results go to DIR/<module>-<hash>/"),
        )
        .arg(Arg::new("header").long("header").action(ArgAction::SetTrue).help("print the table header first"))
}

/// Run the subcommand with the checked generator parameters.
pub fn run(m: &ArgMatches, params: &hdl::Params) -> anyhow::Result<()> {
    let top = m.get_one::<String>("top").expect("required");
    let target = m.get_one::<String>("target").expect("has default");
    let freq = *m.get_one::<u32>("freq").expect("has default");
    let seed = *m.get_one::<u32>("seed").expect("has default");
    let out = m.get_one::<PathBuf>("out").expect("has default");

    let design = hdl::design::standard(params)?;
    let Some(inner) = design.modules().find(|x| &x.name == top).cloned() else {
        let names: Vec<&str> = design.modules().map(|x| x.name.as_str()).collect();
        bail!(
            "no module `{top}` in the design; it has: {}",
            names.join(", ")
        );
    };
    let wrapper_name = format!("{top}_synth");
    let wrapper = synth_wrapper::elaborate(&inner, &wrapper_name)?;
    let mut wrapped = hdl::Design::default();
    wrapped.add(&wrapper)?;

    // The directory name hashes everything that changes the result.
    let mut key = format!("{target} {freq} {seed}\n");
    for (name, text) in wrapped.files() {
        key.push_str(&name);
        key.push_str(&text);
    }
    let dir = out.join(format!("{top}-{:016x}", fnv1a(key.as_bytes())));
    let _ = std::fs::remove_dir_all(&dir);
    wrapped
        .write(&dir, params)
        .with_context(|| format!("writing {}", dir.display()))?;

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("synth/flow.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .arg(&dir)
        .arg(&wrapper_name)
        .args(["--target", target, "--module", top]);
    cmd.args(["--freq", &freq.to_string(), "--seed", &seed.to_string()]);
    eprintln!("synth: {top} ({params}) in {}", dir.display());
    let line = format!("{cmd:?}");
    let output = cmd.output().with_context(|| format!("cannot run {line}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "command failed ({}): {line}\n{stdout}{stderr}",
            output.status
        );
    }
    let json = stdout.lines().last().unwrap_or("").to_string();
    std::fs::write(dir.join("result.json"), format!("{json}\n"))?;
    let num = |k: &str| -> anyhow::Result<String> {
        json_value(&json, k)
            .ok_or_else(|| anyhow!("no `{k}` in the last line of {line}:\n{stdout}{stderr}"))
    };

    let fmax = match json_value(&json, "fits").as_deref() {
        Some("true") => num("fmax_mhz")?,
        _ => format!(
            "does not fit ({}/{} logic cells)",
            num("logic")?,
            num("logic_available")?
        ),
    };
    // Distributed (LUT) RAM is shown beside block RAM where the target has it.
    let ram = |bram: &str, lutram: &str| -> anyhow::Result<String> {
        Ok(match num(lutram)?.as_str() {
            "0" => num(bram)?,
            n => format!("{} + {n} LUTRAM", num(bram)?),
        })
    };
    let module_params: Vec<String> = inner
        .params
        .iter()
        .map(|p| format!("{}={}", p.name, p.value))
        .collect();
    if m.get_flag("header") {
        println!("{HEADER}");
    }
    println!(
        "| {top} | {} | {} | {} | {} | {} | {target} | {}/{}/{} |",
        module_params.join(" "),
        num("module_lut4")?,
        num("module_ff")?,
        ram("module_bram", "module_lutram")?,
        fmax,
        num("lut4")?,
        num("ff")?,
        ram("bram", "lutram")?,
    );
    Ok(())
}

/// 64-bit FNV-1a: a stable hash for directory names (std's hasher is not
/// stable across releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The scalar value of `key` in the flat JSON object the flow script
/// prints last (`None` for null or absent).
fn json_value(json: &str, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    match v.get(key)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}
