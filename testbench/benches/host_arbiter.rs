//! Fairness of `host_arbiter` at 2, 4 and 8 NICs: every NIC keeps 16-beat
//! bursts pending (64-bit bus, the host never stalls, then again with
//! random host back-pressure) and the bench prints each NIC's share of the
//! W beats, the worst AW wait in cycles and the most beats granted to other
//! NICs during one wait, against the bounds of docs/host_arbiter.md:
//! `cargo bench -p testbench --bench host_arbiter`. `HOST_ARBITER_BENCH_CYCLES`
//! sets the cycles per row (default 100000).

#[path = "../tests/host_arbiter_common/mod.rs"]
mod common;

use common::*;
use rand::Rng;
use sim::pattern::Pattern;

fn main() {
    let cycles: u64 = std::env::var("HOST_ARBITER_BENCH_CYCLES")
        .ok()
        .map_or(100_000, |v| v.parse().expect("HOST_ARBITER_BENCH_CYCLES"));
    let seed = testbench::seed_from_env("host_arbiter_bench");
    let mut r = testbench::rng(seed);
    println!(
        "\nhost_arbiter: all NICs saturating with 16-beat bursts, {cycles} cycles, 64-bit bus\n"
    );
    println!("| NICs | host | W beats/cycle | share per NIC (min - max) | worst AW wait, cycles | bound | most beats to others in one wait | bound |");
    println!("|---:|---|---:|---|---:|---:|---:|---:|");
    for nics in [2u32, 4, 8] {
        let p = params(nics, 64, 64);
        for stalls in [false, true] {
            let mut b = Bench::new(&p, "host_arbiter_bench", seed);
            if stalls {
                b.host.set_aw_pause(Pattern::random(0.3, r.gen()));
                b.host.set_w_pause(Pattern::random(0.4, r.gen()));
                b.host.set_b_pause(Pattern::random(0.3, r.gen()));
                b.host.set_b_latency(4);
            }
            let t = std::time::Instant::now();
            let s = saturate(&mut b, &mut r, cycles, p.max_burst);
            let secs = t.elapsed().as_secs_f64();
            let shares: Vec<f64> = (0..nics as usize).map(|i| s.share(i)).collect();
            let lo = shares.iter().cloned().fold(f64::MAX, f64::min);
            let hi = shares.iter().cloned().fold(0.0, f64::max);
            let total: u64 = s.beats.iter().sum();
            println!(
                "| {nics} | {} | {:.3} | {lo:.4} - {hi:.4} (1/N = {:.4}) | {} | {} | {} | {} |",
                if stalls {
                    "random stalls"
                } else {
                    "never stalls"
                },
                total as f64 / cycles as f64,
                1.0 / nics as f64,
                s.worst_wait.iter().max().unwrap(),
                if stalls {
                    "-".to_string()
                } else {
                    p.saturated_wait_bound_cycles().to_string()
                },
                s.worst_others,
                p.wait_bound_beats()
            );
            eprintln!(
                "  ({nics} NICs: {:.0} simulated cycles/s)",
                cycles as f64 / secs
            );
        }
    }
}
