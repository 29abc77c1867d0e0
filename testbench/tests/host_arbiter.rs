//! `host_arbiter` in Verilator at 2, 3 and 8 NICs, with an AXI protocol
//! checker on every port (`m_axi`, each `s{i}_axi`, `s_axil`, each
//! `m{i}_axil`) every cycle:
//!
//! * random DMA traffic from all NICs (1-16 beat bursts, random ids, unaligned
//!   starts, partial strobes, W before AW, host SLVERRs) under random host and
//!   NIC back-pressure: every byte checked in the host memory model, every B
//!   back at the right NIC with the right id and response, the AW wait bound
//!   in beats (docs/host_arbiter.md) on every grant;
//! * fairness: every NIC saturating with 16-beat bursts for 100,000 cycles:
//!   each NIC's share of W beats within 10 % of 1/N, worst AW wait at or under
//!   the documented cycle bound; and the same under random host back-pressure
//!   against the beat bound;
//! * register routing: reads and writes to every NIC's window land on that
//!   NIC at the window offset; accesses outside every window answer DECERR
//!   and reach no NIC; NIC responses (SLVERR) pass through; and `irq`;
//! * a NIC with a wrong `wlast`: the host still sees a well-formed burst and
//!   `wlast_error` names the NIC.
//!
//! Seeds are printed; `SEED=<n>` replays, `WAVES=1` writes
//! `target/waves/<test>.vcd`.

#[path = "host_arbiter_common/mod.rs"]
mod common;

use common::*;
use rand::Rng;
use sim::axi::{AxilKind, RESP_DECERR, RESP_OKAY, RESP_SLVERR};
use sim::pattern::Pattern;
use testbench::{rng, seed_from_env};

/// The configurations the tests simulate: (NICs, data width, address bits).
const CONFIGS: [(u32, u32, u32); 3] = [(2, 64, 64), (3, 128, 40), (8, 64, 64)];

fn config(nics: u32) -> (u32, u32, u32) {
    *CONFIGS.iter().find(|c| c.0 == nics).unwrap()
}

fn random_traffic(nics: u32) {
    let test = format!("host_arbiter_random_traffic_{nics}");
    let seed = seed_from_env(&test);
    let mut r = rng(seed);
    let (n, dw, ab) = config(nics);
    let p = params(n, dw, ab);
    let mut b = Bench::new(&p, &test, seed);
    b.host.set_aw_pause(maybe_pause(&mut r, 0.7));
    b.host.set_w_pause(maybe_pause(&mut r, 0.6));
    b.host.set_b_pause(maybe_pause(&mut r, 0.7));
    b.host.set_b_latency(r.gen_range(0..8));
    b.host.set_max_outstanding(r.gen_range(1..=8));
    let err = if r.gen_bool(0.5) { 0.05 } else { 0.0 };
    for x in &mut b.nics {
        x.aw_pause = maybe_pause(&mut r, 0.6);
        x.w_pause = maybe_pause(&mut r, 0.3);
        x.b_pause = maybe_pause(&mut r, 0.6);
        x.max_open = r.gen_range(1..=8);
        x.w_lead = r.gen_bool(0.5);
    }
    let per_nic = 2400 / n as usize;
    for _ in 0..per_nic {
        for i in 0..n as usize {
            let beats = r.gen_range(1..=16);
            let burst = b.gens[i].next(&mut r, beats, true, err);
            b.send(burst);
        }
    }
    let start = b.m.cycle();
    b.drain(5_000);
    let cycles = b.m.cycle() - start;
    b.finish_checkers();
    assert!(b.host.idle(), "SEED={seed}: host not idle");
    for x in &b.nics {
        assert_eq!(
            x.bs, per_nic as u64,
            "SEED={seed}: B responses at NIC {}",
            x.nic
        );
    }
    let placed = b.check_memory();
    let (worst, at) = worst_others(&b.grants());
    assert!(
        worst <= p.wait_bound_beats(),
        "SEED={seed}: {worst} beats granted to other NICs while {at:?} waited; the bound is {}",
        p.wait_bound_beats()
    );
    assert_eq!(b.m.get(b.wlast_error), 0, "SEED={seed}: wlast_error");
    assert_eq!(b.m.get(b.bid_error), 0, "SEED={seed}: bid_error");
    eprintln!(
        "[{test}] {} bursts, {placed} bytes placed in {cycles} cycles; most beats granted to \
         others during one AW wait: {worst} (bound {})",
        per_nic * n as usize,
        p.wait_bound_beats()
    );
}

#[test]
fn random_traffic_2_nics() {
    random_traffic(2);
}

#[test]
fn random_traffic_3_nics() {
    random_traffic(3);
}

#[test]
fn random_traffic_8_nics() {
    random_traffic(8);
}

fn fairness(nics: u32) {
    let test = format!("host_arbiter_fairness_{nics}");
    let seed = seed_from_env(&test);
    let mut r = rng(seed);
    let (n, dw, ab) = config(nics);
    let p = params(n, dw, ab);
    let mut b = Bench::new(&p, &test, seed);
    let s = saturate(&mut b, &mut r, 100_000, p.max_burst);
    b.finish_checkers();
    b.check_memory();
    let ideal = 1.0 / n as f64;
    for i in 0..n as usize {
        let share = s.share(i);
        assert!(
            (share - ideal).abs() <= 0.1 * ideal,
            "SEED={seed}: NIC {i} got {share:.4} of the W beats ({} of {}), 1/N = {ideal:.4}",
            s.beats[i],
            s.beats.iter().sum::<u64>()
        );
    }
    let worst = *s.worst_wait.iter().max().unwrap();
    assert!(
        worst <= p.saturated_wait_bound_cycles(),
        "SEED={seed}: worst AW wait {worst} cycles ({:?}); the bound is {}",
        s.worst_wait,
        p.saturated_wait_bound_cycles()
    );
    assert!(
        s.worst_others <= p.wait_bound_beats(),
        "SEED={seed}: {} beats to others during one AW wait; the bound is {}",
        s.worst_others,
        p.wait_bound_beats()
    );
    let total: u64 = s.beats.iter().sum();
    eprintln!(
        "[{test}] {} cycles, {total} W beats ({:.3}/cycle); shares {:?}; worst AW wait {worst} \
         cycles (bound {}), most beats to others during one wait {} (bound {})",
        s.cycles,
        total as f64 / s.cycles as f64,
        (0..n as usize)
            .map(|i| format!("{:.4}", s.share(i)))
            .collect::<Vec<_>>(),
        p.saturated_wait_bound_cycles(),
        s.worst_others,
        p.wait_bound_beats()
    );

    // The same saturation under random host back-pressure: cycles are
    // the host's to take, so the bound is the one in beats.
    let mut b = Bench::new(&p, &format!("{test}_backpressure"), seed);
    b.host.set_aw_pause(Pattern::random(0.3, r.gen()));
    b.host.set_w_pause(Pattern::random(0.4, r.gen()));
    b.host.set_b_pause(Pattern::random(0.3, r.gen()));
    b.host.set_b_latency(4);
    let s = saturate(&mut b, &mut r, 30_000, p.max_burst);
    b.finish_checkers();
    b.check_memory();
    for i in 0..n as usize {
        let share = s.share(i);
        assert!(
            (share - ideal).abs() <= 0.1 * ideal,
            "SEED={seed}: with host back-pressure NIC {i} got {share:.4} of the W beats, 1/N = {ideal:.4}"
        );
    }
    assert!(
        s.worst_others <= p.wait_bound_beats(),
        "SEED={seed}: with host back-pressure {} beats to others during one AW wait; bound {}",
        s.worst_others,
        p.wait_bound_beats()
    );
    eprintln!(
        "[{test}] with host back-pressure: shares {:?}, worst wait {:?} cycles, most beats to \
         others during one wait {}",
        (0..n as usize)
            .map(|i| format!("{:.4}", s.share(i)))
            .collect::<Vec<_>>(),
        s.worst_wait,
        s.worst_others
    );
}

#[test]
fn fairness_2_nics() {
    fairness(2);
}

#[test]
fn fairness_3_nics() {
    fairness(3);
}

#[test]
fn fairness_8_nics() {
    fairness(8);
}

/// Bursts of different lengths are shared by beats, not by bursts: NIC 0
/// sends 16-beat bursts, the others 1-, 4- or 10-beat ones.
#[test]
fn fairness_counts_beats_not_bursts() {
    let test = "host_arbiter_fairness_mixed_lengths";
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    let p = params(3, 128, 40);
    let mut b = Bench::new(&p, test, seed);
    let lens = [16u32, 1, 10];
    let w0: Vec<u64> = b.nics.iter().map(|x| x.w_beats).collect();
    for _ in 0..40_000 {
        for (i, len) in lens.iter().enumerate() {
            while b.nics[i].todo.len() < 2 {
                let burst = b.gens[i].next(&mut r, *len, false, 0.0);
                b.send(burst);
            }
        }
        b.step();
    }
    let beats: Vec<u64> = b.nics.iter().zip(&w0).map(|(x, w)| x.w_beats - w).collect();
    b.drain(10_000);
    b.finish_checkers();
    b.check_memory();
    let total: u64 = beats.iter().sum();
    for (i, got) in beats.iter().enumerate() {
        let share = *got as f64 / total as f64;
        assert!(
            (share - 1.0 / 3.0).abs() <= 0.1 / 3.0,
            "SEED={seed}: NIC {i} ({}-beat bursts) got {share:.4} of the W beats {beats:?}",
            lens[i]
        );
    }
    let (worst, at) = worst_others(&b.grants());
    assert!(
        worst <= p.wait_bound_beats(),
        "SEED={seed}: {worst} beats to others while {at:?} waited; bound {}",
        p.wait_bound_beats()
    );
    eprintln!("[{test}] W beats per NIC {beats:?}; most beats to others during one wait {worst}");
}

fn registers(nics: u32) {
    let test = format!("host_arbiter_registers_{nics}");
    let seed = seed_from_env(&test);
    let mut r = rng(seed);
    let (n, dw, ab) = config(nics);
    let p = params(n, dw, ab);
    let mut b = Bench::new(&p, &test, seed);
    b.axil.set_pause(maybe_pause(&mut r, 0.5));
    b.axil.set_ready_pause(maybe_pause(&mut r, 0.6));
    for s in &mut b.subs {
        s.pause = maybe_pause(&mut r, 0.6);
        s.resp_pause = maybe_pause(&mut r, 0.6);
    }
    let win = p.window();
    let windows = 1u64 << p.window_index_bits();
    let err_off = AxilSub::error_offset(win);
    // The reference: each NIC's register words.
    let mut model: Vec<std::collections::HashMap<u64, u32>> = vec![Default::default(); n as usize];
    let (mut hits, mut misses) = (0, 0);
    for op in 0..600 {
        let window = if r.gen_bool(0.8) {
            r.gen_range(0..n as u64)
        } else {
            r.gen_range(n as u64..windows)
        };
        let off = match r.gen_range(0..10) {
            0 => 0,
            1 => err_off,
            2 => win - 8,
            _ => r.gen_range(0..win / 4) * 4,
        };
        let addr = window * win + off;
        let write = r.gen_bool(0.5);
        let data: u32 = r.gen();
        let strb = if r.gen_bool(0.7) {
            0xf
        } else {
            r.gen_range(0..16)
        };
        let logs: Vec<usize> = b.subs.iter().map(|s| s.log.len()).collect();
        let t = if write {
            b.axil.write_strb(addr, data as u64, strb)
        } else {
            b.axil.read(addr)
        };
        let start = b.m.cycle();
        while !b.axil.idle() {
            let c = b.step();
            assert!(
                c - start < 1000,
                "SEED={seed}: access {op} to {addr:#x} not answered in 1000 cycles"
            );
        }
        let res = b.axil.take(t).unwrap();
        assert_eq!(
            res.kind,
            if write {
                AxilKind::Write
            } else {
                AxilKind::Read
            }
        );
        let ctx = format!(
            "SEED={seed}: access {op} ({} {addr:#x}, data {data:#x}, strb {strb:#x})",
            if write { "write" } else { "read" }
        );
        let grown: Vec<usize> = b
            .subs
            .iter()
            .zip(&logs)
            .filter(|(s, l)| s.log.len() != **l)
            .map(|(s, _)| s.nic)
            .collect();
        if window >= n as u64 {
            misses += 1;
            assert_eq!(res.resp, RESP_DECERR, "{ctx}: outside every window");
            if !write {
                assert_eq!(res.data, 0, "{ctx}: rdata of a DECERR");
            }
            assert!(
                grown.is_empty(),
                "{ctx}: outside every window, but NICs {grown:?} saw it"
            );
            continue;
        }
        hits += 1;
        let k = window as usize;
        assert_eq!(grown, vec![k], "{ctx}: NICs that saw the access");
        let seen = *b.subs[k].log.last().unwrap();
        assert_eq!(
            (seen.write, seen.offset, seen.prot),
            (write, off, 0),
            "{ctx}: what NIC {k} saw"
        );
        let want_resp = if off == err_off {
            RESP_SLVERR
        } else {
            RESP_OKAY
        };
        assert_eq!(res.resp, want_resp, "{ctx}: response");
        if write {
            assert_eq!(
                (seen.data, seen.strb),
                (data, strb),
                "{ctx}: data NIC {k} saw"
            );
            if off != err_off {
                let old = *model[k].get(&off).unwrap_or(&default_word(k, off));
                let mask = (0..4).fold(0u32, |a, i| {
                    a | if strb >> i & 1 == 1 {
                        0xff << (8 * i)
                    } else {
                        0
                    }
                });
                model[k].insert(off, (old & !mask) | (data & mask));
            }
        } else if off != err_off {
            let want = *model[k].get(&off).unwrap_or(&default_word(k, off));
            assert_eq!(res.data as u32, want, "{ctx}: rdata from NIC {k}");
        }
    }
    // Interrupts: irq is the OR of irq_in, one cycle later.
    let mut prev = 0u64;
    for c in 0..2000 {
        let v = if r.gen_bool(0.5) {
            0
        } else {
            r.gen_range(0..1u64 << n) & r.gen::<u64>()
        };
        b.m.set(b.irq_in, v);
        let cycle = b.step();
        if c > 0 {
            assert_eq!(
                b.m.get(b.irq),
                (prev != 0) as u64,
                "SEED={seed} cycle {cycle}: irq after irq_in {prev:#b}"
            );
        }
        prev = v;
    }
    b.drain(100);
    b.finish_checkers();
    eprintln!("[{test}] {hits} accesses routed to NICs, {misses} answered DECERR");
}

#[test]
fn registers_2_nics() {
    registers(2);
}

#[test]
fn registers_3_nics() {
    registers(3);
}

#[test]
fn registers_8_nics() {
    registers(8);
}

/// NIC 1 raises wlast on the first beat of a 4-beat burst: the host still
/// gets 4 beats with wlast on the fourth (its checker agrees), the data
/// lands, and `wlast_error` names NIC 1 only.
#[test]
fn wrong_wlast_is_flagged_and_contained() {
    let test = "host_arbiter_wrong_wlast";
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    let p = params(3, 128, 40);
    let mut b = Bench::new(&p, test, seed);
    b.chk_s[1] = None; // NIC 1 breaks the protocol on purpose
    for i in 0..3 {
        for k in 0..4 {
            let mut burst = b.gens[i].next(&mut r, 4, false, 0.0);
            if i == 1 && k == 2 {
                burst.bad_wlast_beat = Some(0);
            }
            b.send(burst);
        }
    }
    b.drain(1000);
    b.finish_checkers();
    b.check_memory();
    assert_eq!(b.m.get(b.wlast_error), 0b010, "SEED={seed}: wlast_error");
}
