//! `stag-handoff`: the command line. Thin: it parses options and calls the
//! crates. Generator options are built from `hdl::params::PARAMS`, so each
//! default and range is written once.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Arg, ArgMatches, Command};
use hdl::params::{Params, PARAMS};

mod synth;

fn param_args() -> Vec<Arg> {
    PARAMS
        .iter()
        .map(|p| {
            Arg::new(p.name)
                .long(p.name)
                .value_name("N")
                .value_parser(clap::value_parser!(u64))
                .help(format!(
                    "{} [default {}; {}]",
                    p.doc,
                    p.default,
                    p.allowed()
                ))
        })
        .collect()
}

fn cli() -> Command {
    Command::new("stag-handoff")
        .version(env!("CARGO_PKG_VERSION"))
        .about("RDMA NIC hardware that moves a connection between NICs without breaking the peer's STags")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("emit")
                .about("Write one Verilog file per module and manifest.json")
                .arg(
                    Arg::new("out")
                        .long("out")
                        .value_name("DIR")
                        .default_value("build/verilog")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("output directory (created if needed)"),
                )
                .args(param_args()),
        )
        .subcommand(Command::new("params").about("Print the generator parameters as a Markdown table"))
        .subcommand(
            Command::new("regs")
                .about("Rewrite the register map's generated files (docs/registers.md, the C header, sim/src/regs.rs)")
                .arg(
                    Arg::new("root")
                        .long("root")
                        .value_name("DIR")
                        .default_value(env!("CARGO_MANIFEST_DIR"))
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("repository root to write into"),
                ),
        )
        .subcommand(synth::command().args(param_args()))
}

/// The parameter values given on the command line (defaults elsewhere).
fn params_from(m: &ArgMatches) -> Result<Params, hdl::ParamError> {
    let given = PARAMS
        .iter()
        .filter_map(|p| m.get_one::<u64>(p.name).map(|v| (p.name, *v)));
    Params::new(given)
}

fn run() -> anyhow::Result<()> {
    let matches = cli().get_matches();
    match matches.subcommand() {
        Some(("emit", m)) => {
            let params = params_from(m)?;
            let design = hdl::design::standard(&params)?;
            let out = m.get_one::<PathBuf>("out").expect("has default");
            let files = design
                .write(out, &params)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} files to {} ({params})",
                files.len(),
                out.display()
            );
            for f in files {
                println!("  {f}");
            }
        }
        Some(("params", _)) => print!("{}", hdl::params::markdown_table()),
        Some(("regs", m)) => {
            let root = m.get_one::<PathBuf>("root").expect("has default");
            for (path, text) in hdl::regmap::generated_files() {
                let file = root.join(path);
                let old = std::fs::read_to_string(&file).ok();
                if old.as_deref() == Some(text.as_str()) {
                    println!("  {path} (unchanged)");
                    continue;
                }
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                std::fs::write(&file, text)
                    .with_context(|| format!("writing {}", file.display()))?;
                println!("  {path} (written)");
            }
        }
        Some(("synth", m)) => synth::run(m, &params_from(m)?)?,
        _ => unreachable!("subcommand required"),
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
