//! Simulation speed of the full `stag_table` random bench (Verilator model,
//! reference model, every output checked every cycle), at the three
//! parameter sets of `tests/stag_table.rs`:
//! `cargo bench -p testbench --bench stag_table`.
//!
//! `STAG_BENCH_CYCLES` sets the cycles per set (default 2,000,000), `SEED`
//! the seed (default fixed, so runs compare). Prints a Markdown table.

use std::time::Instant;

use testbench::models::stag_table::{load_dut, run_random, StagConfig};

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let cycles: u64 = std::env::var("STAG_BENCH_CYCLES")
        .ok()
        .map_or(2_000_000, |v| v.parse().expect("STAG_BENCH_CYCLES"));
    let seed: u64 = std::env::var("SEED")
        .ok()
        .map_or(1, |v| v.parse().expect("SEED"));
    let sets = StagConfig::random_sets();
    let mut rows = Vec::new();
    for (label, cfg) in &sets {
        let t = Instant::now();
        let dut = load_dut(cfg, "stag_table_bench");
        eprintln!(
            "{label}: model ready in {:.1?} (build or cache)",
            t.elapsed()
        );
        let r = run_random(dut, cfg, seed, cycles);
        rows.push((label, r));
    }
    println!("\nstag_table random bench, SEED={seed}, one core:\n");
    println!("| set | cycles | seconds | simulated cycles/s |");
    println!("|---|---:|---:|---:|");
    for (label, r) in &rows {
        println!(
            "| {label} | {} | {:.2} | {:.0} |",
            r.cycles,
            r.elapsed.as_secs_f64(),
            r.cycles_per_second()
        );
    }
}
