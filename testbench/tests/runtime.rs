//! Runtime semantics, checked against pure-Rust fake DUTs.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use rand::Rng;
use testbench::*;

/// A counter with enable and synchronous reset; `q` is the pre-edge sample.
#[derive(Default)]
struct Counter {
    en: bool,
    rst: bool,
    count: u32,
    q: u32,
    /// Reset value seen at each edge, for the reset test.
    rst_log: Vec<bool>,
}

impl Clocked for Counter {
    fn step(&mut self) {
        self.q = self.count;
        self.rst_log.push(self.rst);
        if self.rst {
            self.count = 0;
        } else if self.en {
            self.count += 1;
        }
    }
}

/// Two register stages; `out` is the pre-edge sample of the second.
#[derive(Default)]
struct Pipe2 {
    input: Option<u32>,
    s1: Option<u32>,
    s2: Option<u32>,
    out: Option<u32>,
}

impl Clocked for Pipe2 {
    fn step(&mut self) {
        self.out = self.s2;
        self.s2 = self.s1;
        self.s1 = self.input;
    }
}

/// Message of a caught panic.
fn panic_msg(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    match err.downcast::<String>() {
        Ok(s) => *s,
        Err(e) => e
            .downcast::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

#[test]
fn edge_reads_pre_edge_sample_and_inputs_apply_at_next_edge() {
    let mut sim = Sim::new(Counter::default());
    let ctx = sim.ctx();
    let h = sim.spawn(async move {
        let mut log = vec![];
        assert_eq!(ctx.cycle(), 0);
        ctx.dut().en = true; // seen at edge 1
        for _ in 0..3 {
            ctx.edge().await;
            log.push((ctx.cycle(), ctx.dut().q));
        }
        ctx.dut().en = false; // seen at edge 4: no count at edge 4
        ctx.cycles(3).await;
        log.push((ctx.cycle(), ctx.dut().q));
        log
    });
    // Edge 1 samples count 0 then counts; edge 3 samples 2 then counts to 3.
    assert_eq!(
        sim.run_until(h).unwrap(),
        vec![(1, 0), (2, 1), (3, 2), (6, 3)]
    );
    assert_eq!(sim.cycle(), 6);
    assert_eq!(sim.dut().borrow().count, 3);
}

#[test]
fn two_stage_pipeline_latency() {
    let mut sim = Sim::new(Pipe2::default());
    let ctx = sim.ctx();
    let driver = ctx.clone();
    sim.spawn(async move {
        driver.cycles(2).await;
        driver.dut().input = Some(7); // captured by s1 at edge 3
        driver.edge().await;
        driver.dut().input = None;
    });
    let h = sim.spawn(async move {
        let c = ctx
            .wait_until_within(20, |d| d.out.is_some())
            .await
            .unwrap();
        (c, ctx.dut().out)
    });
    // s1 at edge 3, s2 at edge 4, sampled on out at edge 5.
    assert_eq!(sim.run_until(h).unwrap(), (5, Some(7)));
}

#[test]
fn tasks_run_in_spawn_order_and_forks_run_in_the_same_cycle() {
    let mut sim = Sim::new(Counter::default());
    let log = Rc::new(RefCell::new(Vec::new()));
    for name in ["a", "b", "c"] {
        let (ctx, log) = (sim.ctx(), log.clone());
        sim.spawn(async move {
            for _ in 0..2 {
                log.borrow_mut().push((ctx.cycle(), name.to_string()));
                if name == "a" && ctx.cycle() == 1 {
                    let (c2, l2) = (ctx.clone(), log.clone());
                    ctx.spawn(async move { l2.borrow_mut().push((c2.cycle(), "a.child".into())) });
                }
                ctx.edge().await;
            }
        });
    }
    sim.run_cycles(3);
    let got: Vec<_> = log
        .borrow()
        .iter()
        .map(|(c, n)| format!("{c}:{n}"))
        .collect();
    assert_eq!(got, ["0:a", "0:b", "0:c", "1:a", "1:b", "1:c", "1:a.child"]);
}

#[test]
fn join_resumes_in_the_cycle_the_child_finished() {
    let mut sim = Sim::new(Counter::default());
    let ctx = sim.ctx();
    let h = sim.spawn(async move {
        let c = ctx.clone();
        let child = ctx.spawn(async move {
            c.cycles(5).await;
            c.cycle() * 10
        });
        assert!(!child.is_finished());
        let v = child.await;
        (v, ctx.cycle())
    });
    assert_eq!(sim.run_until(h).unwrap(), (50, 5));
    assert_eq!(
        sim.cycle(),
        5,
        "run_until returns without clocking the final cycle"
    );
}

#[test]
fn join_all_returns_outputs_in_order_after_the_slowest() {
    let mut sim = Sim::new(Counter::default());
    let ctx = sim.ctx();
    let h = sim.spawn(async move {
        let futs = [4u64, 1, 3].map(|n| {
            let c = ctx.clone();
            async move {
                c.cycles(n).await;
                (n, c.cycle())
            }
        });
        let out = join_all(&ctx, futs).await;
        (out, ctx.cycle())
    });
    assert_eq!(sim.run_until(h).unwrap(), (vec![(4, 4), (1, 1), (3, 3)], 4));
}

#[test]
fn sleeping_task_is_not_polled_while_it_waits() {
    /// Counts polls of the whole task.
    struct Polls<F>(F, Rc<Cell<u32>>);
    impl<F: Future + Unpin> Future for Polls<F> {
        type Output = F::Output;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            self.1.set(self.1.get() + 1);
            Pin::new(&mut self.0).poll(cx)
        }
    }
    let mut sim = Sim::new(Counter::default());
    let (ctx, polls) = (sim.ctx(), Rc::new(Cell::new(0)));
    let h = sim.spawn(Polls(
        Box::pin(async move {
            ctx.cycles(0).await; // no wait at all
            ctx.cycles(1000).await;
            ctx.cycle()
        }),
        polls.clone(),
    ));
    assert_eq!(sim.run_until(h).unwrap(), 1000);
    assert_eq!(polls.get(), 2);
}

#[test]
fn wait_until_checks_after_each_edge_and_times_out() {
    let mut sim = Sim::new(Counter::default());
    let ctx = sim.ctx();
    let h = sim.spawn(async move {
        ctx.dut().en = true;
        // q == 3 is sampled at edge 4.
        let hit = ctx.wait_until(|d| d.q == 3).await;
        let miss = ctx.wait_until_within(10, |d| d.q == 0).await;
        (hit, miss)
    });
    let (hit, miss) = sim.run_until(h).unwrap();
    assert_eq!(hit, Ok(4));
    let err = miss.unwrap_err();
    assert_eq!(
        err,
        WaitTimeout {
            cycle: 14,
            max_cycles: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "cycle 14: condition still false after 10 cycles"
    );
}

#[test]
fn run_until_with_limit_times_out() {
    let mut sim = Sim::new(Counter::default());
    let ctx = sim.ctx();
    let h = sim.spawn(async move { ctx.cycles(100).await });
    let err = sim.run_until_with_limit(h, 10).unwrap_err();
    assert_eq!(
        err,
        SimTimeout {
            cycle: 10,
            limit: 10
        }
    );
    assert_eq!(
        err.to_string(),
        "cycle 10: awaited task not finished after 10 cycles"
    );
}

#[test]
fn reset_holds_for_n_edges() {
    let mut sim = Sim::new(Counter {
        count: 99,
        en: true,
        ..Default::default()
    });
    let ctx = sim.ctx();
    let h = sim.spawn(async move {
        ctx.edge().await;
        reset(&ctx, |d, on| d.rst = on, 3).await;
        ctx.cycles(2).await;
    });
    sim.run_until(h).unwrap();
    let dut = sim.dut();
    let dut = dut.borrow();
    assert_eq!(dut.rst_log, [false, true, true, true, false, false]);
    assert_eq!(dut.count, 2);
}

#[test]
fn scoreboard_passes_in_order_stream() {
    let mut sim = Sim::new(Pipe2::default());
    let sb = Scoreboard::new("pipe.out");
    let (ctx, drv_sb) = (sim.ctx(), sb.clone());
    let seed = seed_from_env("scoreboard_passes_in_order_stream");
    sim.spawn(async move {
        let mut rng = rng(seed);
        for _ in 0..50 {
            let v = rng.gen_range(0..1000);
            let valid = rng.gen_bool(0.7);
            ctx.dut().input = valid.then_some(v);
            if valid {
                drv_sb.expect(v);
            }
            ctx.edge().await;
        }
        ctx.dut().input = None;
    });
    let (ctx, mon_sb) = (sim.ctx(), sb.clone());
    sim.spawn(async move {
        loop {
            ctx.edge().await;
            let out = ctx.dut().out;
            if let Some(v) = out {
                mon_sb.observe(ctx.cycle(), v);
            }
        }
    });
    sim.run_cycles(60);
    assert!(sb.observed() > 0);
    sb.finish();
}

#[test]
fn scoreboard_mismatch_message() {
    let sb = Scoreboard::new("rx.payload");
    sb.expect(1u8);
    sb.expect(2);
    sb.observe(10, 1);
    let msg = panic_msg(|| sb.observe(12, 3));
    assert_eq!(msg, "cycle 12: rx.payload[1]: expected 2, got 3");
    let msg = panic_msg(|| sb.observe(13, 4));
    assert_eq!(
        msg,
        "cycle 13: rx.payload[2]: unexpected item 4 (nothing expected)"
    );
}

#[test]
fn scoreboard_finish_reports_leftovers() {
    let sb = Scoreboard::new("tx");
    sb.expect("a");
    sb.expect("b");
    sb.expect("c");
    sb.observe(1, "a");
    assert_eq!(sb.pending(), 2);
    let msg = panic_msg(|| sb.finish());
    assert_eq!(
        msg,
        r#"tx: 2 expected item(s) never observed, next [1]: "b""#
    );
}

#[test]
fn check_eq_message() {
    check_eq(3, "ok", 1, 1);
    let msg = panic_msg(|| check_eq(7, "counter.q", 5u32, 6));
    assert_eq!(msg, "cycle 7: counter.q: expected 5, got 6");
}

#[test]
fn panic_in_task_propagates_with_its_message() {
    let mut sim = Sim::new(Counter::default());
    let ctx = sim.ctx();
    sim.spawn(async move {
        ctx.cycles(3).await;
        check_eq(ctx.cycle(), "dut.q", 1, ctx.dut().q);
    });
    let msg = panic_msg(|| sim.run_cycles(10));
    assert_eq!(msg, "cycle 3: dut.q: expected 1, got 0");
}

#[test]
fn awaiting_a_foreign_future_is_reported() {
    let mut sim = Sim::new(Counter::default());
    let h = sim.spawn(std::future::pending::<()>());
    let msg = panic_msg(|| drop(sim.run_until(h)));
    assert!(msg.contains("not from this Sim"), "{msg}");
}

#[test]
fn stalled_run_is_reported() {
    // Nothing in `sim` can ever finish a task of `other`: fail at once rather
    // than clocking empty cycles up to the limit.
    let mut sim = Sim::new(Counter::default());
    let other = Sim::new(Counter::default());
    let ctx = sim.ctx();
    sim.spawn(async move { ctx.cycles(3).await });
    let h = other.spawn(async {});
    let msg = panic_msg(|| drop(sim.run_until(h)));
    assert_eq!(
        msg,
        "cycle 3: awaited task can never finish: no task is waiting on a clock edge"
    );
}

#[test]
fn seeds_are_deterministic() {
    assert_eq!(seed_from_value("t", Some("1234")), 1234);
    assert_eq!(seed_from_value("t", Some("0xff")), 255);
    let msg = panic_msg(|| {
        seed_from_value("t", Some("nope"));
    });
    assert!(msg.starts_with(r#"[t] bad SEED="nope""#), "{msg}");
    let a: Vec<u64> = rng(42)
        .sample_iter(rand::distributions::Standard)
        .take(8)
        .collect();
    let b: Vec<u64> = rng(42)
        .sample_iter(rand::distributions::Standard)
        .take(8)
        .collect();
    let c: Vec<u64> = rng(43)
        .sample_iter(rand::distributions::Standard)
        .take(8)
        .collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
    // Two random seeds colliding would be a 2^-64 event.
    assert_ne!(seed_from_value("t", None), seed_from_value("t", None));
}
