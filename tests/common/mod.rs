//! Runs the open tools on emitted Verilog: Verilator lint, Yosys synthesis
//! with check and latch assertions, and Icarus elaboration. A failure
//! message carries the full command and its output (the marlin habit).

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use hdl::design::Design;

/// A fresh directory under cargo's per-test temp dir.
pub fn scratch(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> Result<String, String> {
    let line = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {line}: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(format!("command failed ({}): {line}\n{text}", out.status))
    }
}

/// Write the files of `top` into `dir`; returns their paths.
pub fn write_files(design: &Design, top: &str, dir: &Path) -> Vec<PathBuf> {
    design
        .files_for(top)
        .into_iter()
        .map(|(name, text)| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect()
}

/// `verilator --lint-only -Wall`: any output at all is a failure.
pub fn lint(files: &[PathBuf], top: &str) -> Result<(), String> {
    let mut cmd = Command::new("verilator");
    cmd.args(["--lint-only", "-Wall", "--top-module", top])
        .args(files);
    let text = run(&mut cmd)?;
    if text.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("{cmd:?} printed warnings:\n{text}"))
    }
}

/// How far Yosys takes a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// `synth_ice40`: down to iCE40 cells (memories become block RAM).
    Ice40,
    /// `synth -run :fine`: generic coarse synthesis (processes, FSMs,
    /// memories inferred, arithmetic extracted) without technology mapping;
    /// about seven times quicker on the wide random configurations, whose
    /// mapping adds nothing the default set's full flow does not check.
    Coarse,
}

/// Yosys: no latch after `proc`, synthesis (`flow`), then `check -assert`
/// and no latch cell in the netlist (`check -assert` alone misses latches).
///
/// `files` are children first, `top` last (`Design::files_for`). The
/// children are read as black boxes (`-lib`): each is checked as a top of
/// its own by `check_design`, so synthesizing them again inside every
/// parent (the NIC top holds the whole receive path) would only cost time.
pub fn yosys(files: &[PathBuf], top: &str, flow: Flow) -> Result<(), String> {
    let last = files.len().saturating_sub(1);
    let reads: Vec<String> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let how = if i == last { "-defer" } else { "-lib" };
            format!("read_verilog {how} {};", f.display())
        })
        .collect();
    let latches = "t:$dlatch t:$adlatch t:$dlatchsr t:$_DLATCH_* t:$_DLATCHSR_*";
    let synth = match flow {
        Flow::Ice40 => format!("synth_ice40 -top {top}"),
        Flow::Coarse => format!("synth -top {top} -run :fine"),
    };
    let script = format!(
        "{} hierarchy -check -top {top}; proc; select -assert-none {latches}; {synth}; check -assert; select -assert-none {latches}",
        reads.join(" ")
    );
    run(Command::new("yosys").args(["-q", "-p", &script])).map(|_| ())
}

/// Icarus Verilog elaborates it as Verilog-2005.
pub fn iverilog(files: &[PathBuf], top: &str, dir: &Path) -> Result<(), String> {
    let out = dir.join(format!("{top}.vvp"));
    let mut cmd = Command::new("iverilog");
    cmd.args(["-g2005", "-Wall", "-s", top, "-o"])
        .arg(&out)
        .args(files);
    let text = run(&mut cmd)?;
    if text.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("{cmd:?} printed warnings:\n{text}"))
    }
}

/// Every check on every module of `design`; all problems in one message.
///
/// A module whose text equals one already checked but for its own name
/// (the NIC's prefixed copy of a block at the same parameters) is not
/// checked twice. The tools run on every core: this is the longest test
/// in CI.
pub fn check_design(design: &Design, tag: &str) -> Result<(), String> {
    check_design_with(design, tag, Flow::Ice40)
}

/// [`check_design`] with the Yosys flow chosen.
pub fn check_design_with(design: &Design, tag: &str, flow: Flow) -> Result<(), String> {
    let dir = scratch(tag);
    let mut seen = std::collections::HashSet::new();
    let mut jobs: Vec<(String, Vec<PathBuf>)> = Vec::new();
    for m in design.modules() {
        let files = design.files_for(&m.name);
        let own = &files.last().expect("a module has its own file").1;
        if !seen.insert(own.replace(m.name.as_str(), "\u{0}")) {
            continue;
        }
        jobs.push((m.name.clone(), write_files(design, &m.name, &dir)));
    }
    let next = AtomicU32::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut problems: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut found = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let Some((name, files)) = jobs.get(i) else {
                            return found;
                        };
                        let started = std::time::Instant::now();
                        for (tool, r) in [
                            ("verilator", lint(files, name)),
                            ("yosys", yosys(files, name, flow)),
                            ("iverilog", iverilog(files, name, &dir)),
                        ] {
                            if let Err(e) = r {
                                found.push(format!("module {name} ({tool}): {e}"));
                            }
                        }
                        eprintln!("[{tag}] {name}: {:.1} s", started.elapsed().as_secs_f64());
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a checker thread panicked"))
            .collect()
    });
    problems.sort();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n\n"))
    }
}
