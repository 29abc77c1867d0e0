//! End-to-end: Verilog -> cached .so -> Model, on a small hand-written design.
mod common;

use std::time::Instant;

use common::*;
use sim::{build, build_in, cache_dir, load_or_build, Model, SimError};

const MASK36: u64 = (1 << 36) - 1;

fn counter() -> Model {
    load_or_build(&counter_spec(1)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ports_are_listed_without_clock() {
    let m = counter();
    let names: Vec<&str> = m.ports().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "rst",
            "en",
            "key",
            "cnt",
            "cnt_plus_key",
            "wide_in",
            "wide_out",
            "wide_not"
        ]
    );
    let w = m.port("wide_in").unwrap();
    assert_eq!((w.width, w.is_input, w.offset, w.words), (100, true, 3, 2));
    let o = m.port("wide_not").unwrap();
    assert_eq!((o.width, o.is_input, o.offset, o.words), (100, false, 4, 2));

    let err = m.port("clk").unwrap_err();
    assert!(matches!(err, SimError::NoSuchPort { .. }));
    let text = err.to_string();
    assert!(
        text.contains("`clk`") && text.contains("cnt_plus_key") && text.contains("wide_in"),
        "{text}"
    );
}

#[test]
fn step_samples_outputs_before_the_edge() {
    let mut m = counter();
    let (rst, en, cnt) = (
        m.port("rst").unwrap(),
        m.port("en").unwrap(),
        m.port("cnt").unwrap(),
    );
    assert_eq!(m.cycle(), 0);
    m.set(rst, 1);
    m.step(); // reset edge
    m.set(rst, 0);
    m.set(en, 1);
    for k in 0..5u64 {
        m.step();
        // value during cycle k (before its edge) is k: the increment lands after the sample
        assert_eq!(m.get(cnt), k, "cycle {k}");
    }
    assert_eq!(m.cycle(), 6);
    m.eval(); // post-edge view
    assert_eq!(m.get(cnt), 5);
    m.set(en, 0);
    m.step_n(10);
    assert_eq!(m.get(cnt), 5);
    m.set(en, 1);
    m.step_n(300);
    assert_eq!(m.cycle(), 316);
    assert_eq!(
        m.get(cnt),
        (5 + 299) % 256,
        "last pre-edge sample of the stretch"
    );
    m.step_n(0);
    assert_eq!(m.cycle(), 316);
    assert_eq!(m.get(en), 1, "get on an input returns the driven value");
}

#[test]
fn eval_settles_combinational_outputs() {
    let mut m = counter();
    let (key, cpk, rst) = (
        m.port("key").unwrap(),
        m.port("cnt_plus_key").unwrap(),
        m.port("rst").unwrap(),
    );
    m.set(rst, 1);
    m.step();
    m.set(rst, 0);
    m.set(key, 0xF0);
    m.eval();
    assert_eq!(m.get(cpk), 0xF0);
    m.set(key, 0x20);
    m.step(); // combinational output is sampled with the new input
    assert_eq!(m.get(cpk), 0x20);
}

#[test]
fn wide_ports_round_trip() {
    let mut m = counter();
    let (wi, wo, wn) = (
        m.port("wide_in").unwrap(),
        m.port("wide_out").unwrap(),
        m.port("wide_not").unwrap(),
    );
    // Initial evaluation: inputs zero, so ~0 masked to 100 bits.
    assert_eq!(m.get_wide(wn), [u64::MAX, MASK36]);
    let v = [0x0123_4567_89AB_CDEF, 0xF_DEAD_BEEF];
    m.set_wide(wi, &v);
    m.step();
    assert_eq!(m.get_wide(wo), [0, 0], "register output is pre-edge");
    assert_eq!(m.get_wide(wn), [!v[0], !v[1] & MASK36]);
    m.step();
    assert_eq!(m.get_wide(wo), v);
    assert_eq!(m.get(wo), v[0]);
    m.set(wi, 7); // `set` zero-extends
    m.step();
    m.step();
    assert_eq!(m.get_wide(wo), [7, 0]);
    m.set_wide(wi, &[1]); // missing high words are zero
    m.step();
    m.step();
    assert_eq!(m.get_wide(wo), [1, 0]);
}

#[test]
fn two_configurations_live_side_by_side() {
    let mut a = load_or_build(&counter_spec(1)).unwrap();
    let mut b = load_or_build(&counter3_spec()).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(a.path(), b.path());
    let mut a2 = load_or_build(&counter_spec(1)).unwrap(); // second instance, same library
    for m in [&mut a, &mut b, &mut a2] {
        let (rst, en) = (m.port("rst").unwrap(), m.port("en").unwrap());
        m.set(rst, 1);
        m.step();
        m.set(rst, 0);
        m.set(en, 1);
    }
    for _ in 0..10 {
        a.step();
        b.step();
    }
    a2.step();
    let cnt = a.port("cnt").unwrap();
    a.eval();
    b.eval();
    a2.eval();
    assert_eq!(a.get(cnt), 10);
    assert_eq!(b.get(b.port("cnt").unwrap()), 30);
    assert_eq!(a2.get(cnt), 1);
}

#[test]
fn model_can_move_to_another_thread() {
    let mut m = counter();
    let h = std::thread::spawn(move || {
        let en = m.port("en").unwrap();
        m.set(en, 1);
        m.step_n(42);
        m.eval();
        m.get(m.port("cnt").unwrap())
    });
    assert_eq!(h.join().unwrap(), 42);
}

#[test]
fn parallel_builds_of_one_config_build_once() {
    let cache = fresh_cache("parallel");
    let spec = counter_spec(5);
    let t0 = Instant::now();
    let paths: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..3)
            .map(|_| s.spawn(|| build_in(&spec, &cache)))
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    });
    eprintln!("cold build (3 threads racing): {:.2?}", t0.elapsed());
    assert!(paths.iter().all(|p| p == &paths[0]));
    assert!(paths[0].is_file());
    let leftovers: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp."))
        .collect();
    assert!(leftovers.is_empty(), "tmp dirs left: {leftovers:?}");
    let dir = paths[0].parent().unwrap();
    assert!(dir.join("build.log").is_file() && dir.join("shim.cpp").is_file());

    let t1 = Instant::now();
    let mut m = Model::load(&paths[0]).unwrap();
    eprintln!("load of a built model: {:.2?}", t1.elapsed());
    let en = m.port("en").unwrap();
    m.set(en, 1);
    m.step_n(4);
    m.eval();
    assert_eq!(m.get(m.port("cnt").unwrap()), 20);
    drop(m);
    std::fs::remove_dir_all(&cache).unwrap();
}

#[test]
fn broken_verilog_reports_command_and_diagnostic() {
    let cache = fresh_cache("broken");
    let verilog = "module broken(input clk, output o);\n  assign o = clk +;\nendmodule\n";
    let spec = spec(
        "broken",
        vec![("broken.v".into(), verilog.into())],
        &[
            cpp_shim::ShimPort {
                name: "clk",
                width: 1,
                is_input: true,
            },
            cpp_shim::ShimPort {
                name: "o",
                width: 1,
                is_input: false,
            },
        ],
    );
    let err = build_in(&spec, &cache).unwrap_err();
    let SimError::Build { command, output } = &err else {
        panic!("expected Build error, got {err}")
    };
    assert!(
        command.contains("verilator") && command.contains("--top-module broken"),
        "{command}"
    );
    assert!(
        output.contains("%Error") && output.contains("broken.v:2"),
        "{output}"
    );
    let text = err.to_string();
    assert!(
        text.contains(command.as_str()) && text.contains("%Error"),
        "{text}"
    );
    // nothing half-built is left behind
    let names: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".lock")), "{names:?}");
    std::fs::remove_dir_all(&cache).unwrap();
}

#[test]
fn cache_hit_is_fast() {
    let spec = counter_spec(1);
    let first = build(&spec).unwrap(); // may build (or wait for another test's build)
                                       // A differently spelled path to the same cache bypasses the in-process memo, so this
                                       // measures the real on-disk check (hash + stat), as a new process would see it.
    let t = Instant::now();
    let again = build_in(&spec, &cache_dir().join(".")).unwrap();
    let check = t.elapsed();
    let t = Instant::now();
    let memo = build(&spec).unwrap();
    let memo_t = t.elapsed();
    let t = Instant::now();
    let m = Model::load(&again).unwrap();
    let load = t.elapsed();
    eprintln!("cache check {check:.2?}, memo hit {memo_t:.2?}, load {load:.2?}");
    assert_eq!(
        std::fs::canonicalize(&first).unwrap(),
        std::fs::canonicalize(&again).unwrap()
    );
    assert_eq!(first, memo);
    assert!(check.as_millis() < 500, "cache check took {check:?}");
    drop(m);
}

#[test]
fn step_throughput() {
    let mut m = counter();
    let (en, key, cnt) = (
        m.port("en").unwrap(),
        m.port("key").unwrap(),
        m.port("cnt").unwrap(),
    );
    m.set(en, 1);
    let n = 1_000_000u64;
    let t = Instant::now();
    let mut acc = 0u64;
    for i in 0..n {
        m.set(key, i & 0xFF);
        m.step();
        acc = acc.wrapping_add(m.get(cnt));
    }
    let per_step = t.elapsed();
    let t = Instant::now();
    m.step_n(n);
    let batched = t.elapsed();
    eprintln!(
        "step(): {:.0} steps/s ({:.0} ns/step); step_n: {:.0} steps/s (acc {acc})",
        n as f64 / per_step.as_secs_f64(),
        per_step.as_nanos() as f64 / n as f64,
        n as f64 / batched.as_secs_f64()
    );
    assert!(per_step.as_secs_f64() < 20.0);
}
