//! WAVES=1 produces a VCD. Own test binary (= own process) because it sets an
//! environment variable, which must not race with other tests' getenv calls.
mod common;

use std::time::Instant;

use common::counter_spec;
use sim::{load_or_build, waves_path};

#[test]
fn waves_env_produces_vcd() {
    std::env::remove_var("WAVES");
    assert_eq!(waves_path("x"), None);
    std::env::set_var("WAVES", "1");
    let path = waves_path("sim::waves/counter").unwrap();
    assert!(
        path.ends_with("waves/sim__waves_counter.vcd"),
        "{}",
        path.display()
    );
    let _ = std::fs::remove_file(&path);

    // In a fresh process: the cache hit costs hashing, one `verilator --version` and dlopen.
    let t = Instant::now();
    let mut m = load_or_build(&counter_spec(1)).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "load_or_build in a new process (cached): {:.2?}",
        t.elapsed()
    );

    let en = m.port("en").unwrap();
    m.step_n(3); // trace can start mid-run
    assert_eq!(
        m.trace_if_requested("sim::waves/counter")
            .unwrap()
            .as_deref(),
        Some(path.as_path())
    );
    m.set(en, 1);
    m.step_n(20);
    drop(m); // closes the trace
    let vcd = std::fs::read_to_string(&path).unwrap();
    assert!(vcd.contains("$enddefinitions"), "{vcd}");
    assert!(vcd.contains(" cnt ") && vcd.contains(" wide_in "), "{vcd}");
    assert!(vcd.contains("\n#6\n") && vcd.contains("\n#45\n"), "{vcd}");

    // Re-open to a second file after closing.
    let mut m = load_or_build(&counter_spec(1)).unwrap();
    let p2 = path.with_file_name("sim_waves_second.vcd");
    m.trace_to(&p2).unwrap();
    m.step();
    m.trace_close();
    m.trace_to(&p2).unwrap();
    m.step();
    drop(m);
    assert!(std::fs::read_to_string(&p2)
        .unwrap()
        .contains("$enddefinitions"));
    let _ = std::fs::remove_file(&p2);

    assert!(load_or_build(&counter_spec(1))
        .unwrap()
        .trace_to("/nonexistent-dir/x.vcd")
        .is_err());
}
