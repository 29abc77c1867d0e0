//! Simulation speed of the full `stag_table` random bench (Verilator model,
//! reference model, every output checked every cycle), at the three
//! parameter sets of `tests/stag_table.rs`:
//! `cargo bench -p testbench --bench stag_table`.
//!
//! `STAG_BENCH_CYCLES` sets the cycles per set (default 2,000,000), `SEED`
//! the seed (default fixed, so runs compare). Prints a Markdown table.

use std::time::Instant;

use hdl::blocks::stag_table::{elaborate, StagTableParams};
use hdl::Design;
use testbench::models::stag_table::{run_random, StagConfig};

/// `(label, config)` from the values in table order.
fn set(label: &'static str, v: [u32; 8]) -> (&'static str, StagConfig) {
    let [entries, foreign_entries, nic_id_bits, lookup_latency, pd_bits, len_bits, dma_addr_bits, nic_id] =
        v;
    let cfg = StagConfig {
        entries,
        foreign_entries,
        nic_id_bits,
        lookup_latency,
        pd_bits,
        len_bits,
        dma_addr_bits,
        nic_id,
    };
    (label, cfg)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let cycles: u64 = std::env::var("STAG_BENCH_CYCLES")
        .ok()
        .map_or(2_000_000, |v| v.parse().expect("STAG_BENCH_CYCLES"));
    let seed: u64 = std::env::var("SEED")
        .ok()
        .map_or(1, |v| v.parse().expect("SEED"));
    // The same sets as tests/stag_table.rs: entries, foreign entries,
    // nic-id bits, lookup latency, pd/len/dma-addr bits, nic_id.
    let sets = [
        set(
            "16 own / 8 foreign, latency 2, 4 id bits",
            [16, 8, 4, 2, 16, 32, 64, 5],
        ),
        set(
            "256 own / 16 foreign, latency 3, 8 id bits",
            [256, 16, 8, 3, 8, 20, 48, 0xa7],
        ),
        set(
            "4096 own / 64 foreign, latency 6, 1 id bit",
            [4096, 64, 1, 6, 32, 64, 40, 1],
        ),
    ];
    let mut rows = Vec::new();
    for (label, cfg) in &sets {
        let p = StagTableParams {
            name: "stag_table".into(),
            entries: cfg.entries,
            foreign_entries: cfg.foreign_entries,
            nic_id_bits: cfg.nic_id_bits,
            lookup_latency: cfg.lookup_latency,
            pd_bits: cfg.pd_bits,
            len_bits: cfg.len_bits,
            dma_addr_bits: cfg.dma_addr_bits,
        };
        let mut d = Design::default();
        d.add(&elaborate(&p).expect("elaborate")).expect("design");
        let t = Instant::now();
        let dut = testbench::dut::load(&d, "stag_table", "stag_table_bench")
            .unwrap_or_else(|e| panic!("{e}"));
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
