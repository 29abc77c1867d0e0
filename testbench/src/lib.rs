//! A small cocotb-style coroutine runtime for clocked simulation models.
//!
//! Test benches are written as `async` tasks that wait on clock edges, drive
//! inputs and check outputs of a device under test (DUT). Everything runs on
//! one thread with our own tiny executor ([`Sim`]): no threads, no locks, no
//! external async crates, so a run is fully deterministic given its seed.
//!
//! # Timing model
//!
//! The DUT implements [`Clocked`]; one [`Clocked::step`] is one rising edge.
//! A *cycle* of the simulation is:
//!
//! 1. poll every runnable task, in spawn order, until each one is waiting on a
//!    future edge (or finished);
//! 2. `dut.step()`; the cycle counter ([`Ctx::cycle`]) goes up by one.
//!
//! So after `ctx.edge().await` returns with `ctx.cycle() == N`:
//!
//! * reading the DUT shows what it presented at edge N (outputs sampled just
//!   before that edge, i.e. what a flop clocked at edge N captured);
//! * inputs written now are what the DUT sees at edge N+1.
//!
//! This is the "drive after the edge, sample before the next edge" discipline
//! of a synchronous test bench, and it is race-free by construction: all
//! tasks see the same sampled values within a cycle, whatever order they run.
//!
//! ```
//! use testbench::{Clocked, Sim};
//!
//! #[derive(Default)]
//! struct Counter { en: bool, count: u32, q: u32 }
//! impl Clocked for Counter {
//!     fn step(&mut self) {
//!         self.q = self.count; // pre-edge sample of the output
//!         if self.en { self.count += 1 } // the edge
//!     }
//! }
//!
//! let mut sim = Sim::new(Counter::default());
//! let ctx = sim.ctx();
//! let h = sim.spawn(async move {
//!     ctx.dut().en = true;
//!     ctx.cycles(3).await;
//!     (ctx.cycle(), ctx.dut().q)
//! });
//! // Edges 1, 2, 3 counted; the sample at edge 3 shows the count before it.
//! assert_eq!(sim.run_until(h).unwrap(), (3, 2));
//! ```

pub mod bad_segments;
mod check;
pub mod dut;
pub mod models;
pub mod nic_loop;
mod seed;
mod sim;
pub mod system_bench;

pub use check::{check_eq, Scoreboard};
pub use seed::{rng, seed_from_env, seed_from_value};
pub use sim::{
    join_all, reset, Clocked, Ctx, Cycles, JoinHandle, Sim, SimTimeout, WaitTimeout,
    DEFAULT_RUN_LIMIT, DEFAULT_WAIT_LIMIT,
};
