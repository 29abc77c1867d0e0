//! Empty-cycle throughput of the executor: `cargo bench -p testbench`.
//! Measures scheduler overhead only (the DUT's `step` does nothing).

use std::time::Instant;
use testbench::{Clocked, Sim};

struct Empty;
impl Clocked for Empty {
    fn step(&mut self) {}
}

fn measure(label: &str, setup: impl Fn(&Sim<Empty>)) {
    const CYCLES: u64 = 20_000_000;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let mut sim = Sim::new(Empty);
        setup(&sim);
        let t = Instant::now();
        sim.run_cycles(CYCLES);
        best = best.min(t.elapsed().as_secs_f64());
    }
    println!("{label:<44} {:>6.1} M cycles/s", CYCLES as f64 / best / 1e6);
}

fn main() {
    measure("no tasks", |_| {});
    measure("4 tasks, each awaiting every edge", |sim| {
        for _ in 0..4 {
            let ctx = sim.ctx();
            sim.spawn(async move {
                loop {
                    ctx.edge().await;
                }
            });
        }
    });
    measure("1 task every edge + 3 sleeping 1000 cycles", |sim| {
        for i in 0..4 {
            let ctx = sim.ctx();
            let n = if i == 0 { 1 } else { 1000 };
            sim.spawn(async move {
                loop {
                    ctx.cycles(n).await;
                }
            });
        }
    });
}
