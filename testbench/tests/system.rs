//! `system` (N NICs behind the host-bus arbiter, docs/system.md) driven by
//! the driver model `sim::driver` (the claims' program component, written
//! only against `sim::regs`) through `testbench::system_bench`: checkers on
//! every AXI4-Lite, AXI4 and AXI4-Stream port every cycle, real iWARP
//! FPDUs from `sim::iwarp::frames`, and host memory with per-byte writer
//! records (every granted byte written once, by the right NIC, for the
//! right STag and segment; nothing outside the granted regions).
//!
//! Each test checks the bytes and the driver log's claim steps (claims 1
//! and 8 of seed-claims.txt; SPEC "Handoff scenarios"). `SEED=<n>` replays
//! the random data; `WAVES=1` writes `target/waves/<test>.vcd`.

use std::ops::Range;

use hdl::blocks::system::SystemParams;
use rand::rngs::StdRng;
use rand::Rng;
use sim::axis::AxisFrame;
use sim::driver::{
    rights, ConnCode, ConnOp, ConnState, Driver, DriverConfig, HostBus, NotFound, Region, Resolve,
    StagCode, Step,
};
use sim::iwarp::frames::{codes, Opcode, Segment};
use sim::pattern::Pattern;
use sim::regs::counters as K;
use testbench::bad_segments::{
    self, decode_terminate, describe_terminate, DropConn, Row, Target, Targets,
};
use testbench::models::nic_rx::Counters;
use testbench::system_bench::SystemBench;

/// Protection domain of every region and connection.
const PD: u32 = 0x42;

/// The small configuration of every test (one Verilator build per NIC count).
fn params(nics: u64) -> SystemParams {
    testbench::system_bench::small_params(nics, 16)
}

/// The driver's LIST_DMA export buffer (16 records).
const EXPORT_BUF: Range<u64> = 0x7000_0000..0x7000_0400;

fn setup(test: &str, nics: u64, how: Resolve) -> (SystemBench, Driver, StdRng) {
    let seed = testbench::seed_from_env(test);
    let mut b = SystemBench::new(test, &params(nics));
    b.expect_export_buffer(EXPORT_BUF.start, EXPORT_BUF.end - EXPORT_BUF.start);
    let mut cfg = DriverConfig::new(nics as usize);
    cfg.resolve = how;
    cfg.export_buffer = Some((EXPORT_BUF.start, EXPORT_BUF.end - EXPORT_BUF.start));
    let mut d = Driver::new(cfg);
    d.init(&mut b).unwrap();
    (b, d, testbench::rng(seed))
}

fn data(r: &mut StdRng, n: usize) -> Vec<u8> {
    (0..n).map(|_| r.gen()).collect()
}

/// The driver's interrupt loop: serve every interrupt until the rx streams
/// are drained and `quiet` cycles passed without one.
fn drive(b: &mut SystemBench, d: &mut Driver, quiet: u64) {
    let start = b.m.cycle();
    let mut idle = 0;
    while idle < quiet {
        if b.irq() {
            d.service(b)
                .unwrap_or_else(|e| panic!("[{}] driver: {e}", b.test));
            b.steps(2); // the registered irq falls
            idle = 0;
            continue;
        }
        b.step();
        idle = if b.src.iter().all(|s| s.idle()) {
            idle + 1
        } else {
            0
        };
        assert!(
            b.m.cycle() - start < 1_000_000,
            "[{}] not quiet after 1000000 cycles",
            b.test
        );
    }
}

fn counter(b: &mut SystemBench, d: &mut Driver, nic: usize, off: u64) -> u32 {
    b.read(d.addr(nic, K::BASE + off)).unwrap()
}

/// The claim steps of the log: (NIC, step), without set-up steps and
/// interrupt marks.
fn claim_steps(d: &Driver) -> Vec<(usize, Step)> {
    d.log()
        .iter()
        .filter(|e| {
            matches!(
                e.step,
                Step::MissReceived { .. }
                    | Step::DirectMiss { .. }
                    | Step::QueryOrigin { .. }
                    | Step::Found { .. }
                    | Step::NotInList { .. }
                    | Step::Installed { .. }
                    | Step::Rejected { .. }
                    | Step::InvalReceived { .. }
                    | Step::InvalRemovedCopy { .. }
            )
        })
        .map(|e| (e.nic.expect("a NIC step"), e.step.clone()))
        .collect()
}

/// One Write of `len` random bytes at `to` in `region`, announced as
/// (`stag`, `seq`); returns the segment and its data.
fn write_seg(
    b: &mut SystemBench,
    r: &mut StdRng,
    region: &Region,
    stag: u32,
    to: u64,
    len: usize,
    seq: u64,
) -> (Segment, Vec<u8>) {
    let bytes = data(r, len);
    b.expect_place(
        region.dma_base + (to - region.va_base),
        len as u64,
        stag as u64,
        seq,
    );
    (Segment::write(stag, to, bytes.clone()), bytes)
}

fn granted(regions: &[&Region]) -> Vec<Range<u64>> {
    regions
        .iter()
        .map(|r| r.dma_base..r.dma_base + r.length)
        .collect()
}

// -------------------------------------------------------------------------
// 1. Claim 1, scenario 1: planned move
// -------------------------------------------------------------------------

fn planned_move(how: Resolve, test: &str) {
    let (mut b, mut d, mut r) = setup(test, 2, how);
    // Distractors first, so a LIST has entries before the wanted one.
    let mut regions = Vec::new();
    for k in 0..3u64 {
        let reg = Region::rw(0x20_0000 + k * 0x1_0000, 0x1000 * k, 0x1000, PD);
        d.register_region(&mut b, 0, reg).unwrap();
        regions.push(reg);
    }
    let region = Region::rw(0x10_0000, 0x7000_0000, 0x1000, PD);
    let stag = d.register_region(&mut b, 0, region).unwrap();
    assert_eq!(d.origin_of(stag), 0, "NIC 0's id in its STag");
    d.create_conn(&mut b, 0, 3, PD, [1, 1, 1]).unwrap();
    // Writes placed through NIC 0 (its own STag).
    let mut placed = Vec::new();
    for k in 0..4u64 {
        let (seg, bytes) = write_seg(
            &mut b,
            &mut r,
            &region,
            stag,
            region.va_base + k * 0x80,
            100,
            k,
        );
        b.send(0, 3, &seg);
        placed.push((k, 0usize, bytes));
    }
    drive(&mut b, &mut d, 300);
    assert!(claim_steps(&d).is_empty(), "own STag: no event");
    // The move: export at NIC 0, import at NIC 1.
    let st = d.move_connection(&mut b, 0, 1, 3).unwrap();
    assert_eq!((st.pd, st.msn, st.error), (PD, [1, 1, 1], false));
    d.clear_log();
    // Writes to NIC 0's STag now reach NIC 1, back to back.
    for k in 4..10u64 {
        let len = r.gen_range(1..=200usize);
        let (seg, bytes) = write_seg(
            &mut b,
            &mut r,
            &region,
            stag,
            region.va_base + k * 0x100,
            len,
            k,
        );
        b.send(1, 3, &seg);
        placed.push((k, 1usize, bytes));
    }
    drive(&mut b, &mut d, 500);
    for (k, nic, bytes) in &placed {
        let off = if *k < 4 { k * 0x80 } else { k * 0x100 };
        b.assert_placed(region.dma_base + off, bytes, *nic, stag as u64, *k);
    }
    let mut allowed = granted(&[&region]);
    allowed.push(EXPORT_BUF);
    b.assert_writes_within(&allowed);
    // The claim's steps, in order: the message (miss event at NIC 1), the
    // query of NIC 0, the memory location found and transmitted to NIC 1.
    let scanned = match how {
        Resolve::SingleQuery => 1,
        Resolve::CursorList | Resolve::DmaList => 4,
    };
    assert_eq!(
        claim_steps(&d),
        vec![
            (
                1,
                Step::MissReceived {
                    stag,
                    conn: 3,
                    arrival: match d.log().iter().find_map(|e| match e.step {
                        Step::MissReceived { arrival, .. } => Some(arrival),
                        _ => None,
                    }) {
                        Some(a) => a,
                        None => panic!("[{test}] no miss event"),
                    }
                }
            ),
            (0, Step::QueryOrigin { stag, how }),
            (
                0,
                Step::Found {
                    stag,
                    region,
                    scanned
                }
            ),
            (
                1,
                Step::Installed {
                    stag,
                    code: StagCode::Ok,
                    evicted: false
                }
            ),
        ],
        "[{test}]"
    );
    let cycles: Vec<u64> = d.log().iter().map(|e| e.cycle).collect();
    assert!(cycles.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(d.copies_of(stag), vec![1]);
    assert_eq!(counter(&mut b, &mut d, 1, K::CNT_PLACED_OFFSET), 6);
    assert_eq!(counter(&mut b, &mut d, 1, K::CNT_MISS_EVENTS_OFFSET), 1);
    assert_eq!(counter(&mut b, &mut d, 0, K::CNT_PLACED_OFFSET), 4);
    assert_eq!(b.terminates(0), vec![]);
    assert_eq!(b.terminates(1), vec![]);
    // NIC 0 still answers for its STag; NIC 1 holds a copy.
    assert_eq!(d.query(&mut b, 0, stag).unwrap(), region);
    b.finish();
}

#[test]
fn claim1_planned_move_single_query() {
    planned_move(Resolve::SingleQuery, "system_move_query");
}

#[test]
fn claim1_planned_move_cursor_list() {
    planned_move(Resolve::CursorList, "system_move_list");
}

#[test]
fn claim1_planned_move_dma_list() {
    planned_move(Resolve::DmaList, "system_move_dma_list");
}

// -------------------------------------------------------------------------
// 2. Claim 8, scenarios 3 and 4: not in the list -> rejected
// -------------------------------------------------------------------------

fn not_in_list(how: Resolve, test: &str) {
    let (mut b, mut d, mut r) = setup(test, 2, how);
    let good = Region::rw(0x10_0000, 0x1000, 0x1000, PD);
    let s_good = d.register_region(&mut b, 0, good).unwrap();
    let local = Region::rw(0x20_0000, 0x1000, 0x1000, PD);
    let s_local = d.register_region(&mut b, 0, local).unwrap();
    let peer = Region::rw(0x30_0000, 0x1000, 0x1000, PD);
    let s_peer = d.register_region(&mut b, 0, peer).unwrap();
    // Entry 9 of NIC 0 was never allocated; NIC 7 does not exist.
    let s_never = 9 << 8 | 0x33;
    let s_nowhere = 7 << 28 | 2 << 8;
    // Scenario 4, local invalidate at NIC 0 before the move.
    assert_eq!(d.invalidate(&mut b, 0, s_local).unwrap(), vec![]);
    // Scenario 4, the peer's Send with Invalidate at NIC 0 before the move.
    d.create_conn(&mut b, 0, 5, PD, [1, 1, 1]).unwrap();
    d.post_recv(&mut b, 0, 5, 0x40_0000, 256).unwrap();
    let sbytes = data(&mut r, 64);
    b.expect_place(0x40_0000, 64, 0x40_0000, 1);
    b.send(
        0,
        5,
        &Segment::send(Opcode::SendInv, s_peer, 1, sbytes.clone()),
    );
    for c in [3u16, 4, 6, 7] {
        d.create_conn(&mut b, 0, c, PD, [1, 1, 1]).unwrap();
    }
    drive(&mut b, &mut d, 300);
    assert!(
        claim_steps(&d).contains(&(
            0,
            Step::InvalReceived {
                stag: s_peer,
                conn: 5,
                arrival: match d.log().iter().find_map(|e| match e.step {
                    Step::InvalReceived { arrival, .. } => Some(arrival),
                    _ => None,
                }) {
                    Some(a) => a,
                    None => panic!("[{test}] no INVAL event"),
                }
            }
        )),
        "[{test}] {:?}",
        claim_steps(&d)
    );
    b.assert_placed(0x40_0000, &sbytes, 0, 0x40_0000, 1);
    for c in [3u16, 4, 5, 6, 7] {
        d.move_connection(&mut b, 0, 1, c).unwrap();
    }
    d.clear_log();
    // One bad STag per connection (each rejection puts its connection in
    // Error), and a good one on its own connection.
    let bad = [(3u16, s_never), (4, s_local), (5, s_peer), (7, s_nowhere)];
    for &(c, s) in &bad {
        b.send(1, c, &Segment::write(s, 0x1000, data(&mut r, 80)));
    }
    let (seg, gbytes) = write_seg(&mut b, &mut r, &good, s_good, 0x1000, 120, 0);
    b.send(1, 6, &seg);
    drive(&mut b, &mut d, 500);
    // Every bad STag: missed at NIC 1, not in NIC 0's list, rejected.
    let steps = claim_steps(&d);
    for &(c, s) in &bad {
        let reason = if s == s_nowhere {
            NotFound::NoSuchNic
        } else {
            match how {
                Resolve::SingleQuery => NotFound::Query(StagCode::Unknown),
                // The list holds s_good only.
                Resolve::CursorList | Resolve::DmaList => NotFound::EndOfList { scanned: 1 },
            }
        };
        let at = |want: &Step| steps.iter().position(|(_, st)| st == want);
        let miss = steps
            .iter()
            .position(|(n, st)| *n == 1 && matches!(st, Step::MissReceived { stag, conn, .. } if *stag == s && *conn == c))
            .unwrap_or_else(|| panic!("[{test}] no miss of {s:#x}: {steps:?}"));
        let nil = at(&Step::NotInList { stag: s, reason })
            .unwrap_or_else(|| panic!("[{test}] {s:#x} not NotInList({reason:?}): {steps:?}"));
        let rej = steps
            .iter()
            .position(|x| *x == (1, Step::Rejected { stag: s }))
            .unwrap_or_else(|| panic!("[{test}] {s:#x} not rejected: {steps:?}"));
        assert!(miss < nil && nil < rej, "[{test}] order for {s:#x}");
        assert!(
            !steps
                .iter()
                .any(|(_, st)| matches!(st, Step::Installed { stag, .. } if *stag == s)),
            "[{test}] {s:#x} installed"
        );
    }
    // A Terminate (DDP, tagged, invalid STag) per bad STag, on its connection.
    let mut terms = b.terminates(1);
    terms.sort();
    assert_eq!(
        terms,
        vec![
            (3, codes::DDP_T_INVALID_STAG),
            (4, codes::DDP_T_INVALID_STAG),
            (5, codes::DDP_T_INVALID_STAG),
            (7, codes::DDP_T_INVALID_STAG),
        ],
        "[{test}]"
    );
    assert_eq!(b.terminates(0), vec![]);
    // Memory: the good Write only; the invalidated regions untouched.
    b.assert_placed(good.dma_base, &gbytes, 1, s_good as u64, 0);
    b.assert_untouched(local.dma_base..local.dma_base + local.length);
    b.assert_untouched(peer.dma_base..peer.dma_base + peer.length);
    b.assert_writes_within(&[
        good.dma_base..good.dma_base + good.length,
        0x40_0000..0x40_0040,
        EXPORT_BUF,
    ]);
    assert_eq!(counter(&mut b, &mut d, 1, K::CNT_CHECK_5_OFFSET), 4);
    b.finish();
}

#[test]
fn claim8_unknown_and_invalidated_stags_rejected_single_query() {
    not_in_list(Resolve::SingleQuery, "system_reject_query");
}

#[test]
fn claim8_unknown_and_invalidated_stags_rejected_cursor_list() {
    not_in_list(Resolve::CursorList, "system_reject_list");
}

#[test]
fn claim8_unknown_and_invalidated_stags_rejected_dma_list() {
    not_in_list(Resolve::DmaList, "system_reject_dma_list");
}

// -------------------------------------------------------------------------
// 3. The connection moved mid-stream
// -------------------------------------------------------------------------

#[test]
fn connection_moved_mid_stream_loses_and_repeats_nothing() {
    let test = "system_mid_stream";
    let (mut b, mut d, mut r) = setup(test, 2, Resolve::SingleQuery);
    let region = Region::rw(0x10_0000, 0x9_0000, 0x2000, PD);
    let stag = d.register_region(&mut b, 0, region).unwrap();
    let conn = 2u16;
    d.create_conn(&mut b, 0, conn, PD, [1, 1, 1]).unwrap();
    let buf = |k: u64| 0x50_0000 + k * 0x1000;
    for k in 0..4 {
        d.post_recv(&mut b, 0, conn, buf(k), 256).unwrap();
    }
    // Sends (MSN 1, 2) and Writes through NIC 0.
    let mut sends = Vec::new();
    let mut writes = Vec::new();
    let mut seq = 0u64;
    for msn in 1..=2u32 {
        let n = r.gen_range(1..=256);
        let bytes = data(&mut r, n);
        b.expect_place(
            buf(msn as u64 - 1),
            bytes.len() as u64,
            buf(msn as u64 - 1),
            msn as u64,
        );
        b.send(0, conn, &Segment::send(Opcode::Send, 0, msn, bytes.clone()));
        sends.push((msn, 0usize, bytes));
        let (seg, wb) = write_seg(
            &mut b,
            &mut r,
            &region,
            stag,
            region.va_base + seq * 0x100,
            200,
            seq,
        );
        b.send(0, conn, &seg);
        writes.push((seq, 0usize, wb));
        seq += 1;
    }
    drive(&mut b, &mut d, 300);
    // The move: MSN 3 next, the two buffers not used yet go along.
    let st = d.move_connection(&mut b, 0, 1, conn).unwrap();
    assert_eq!(st.msn[0], 3, "[{test}] the next Send's MSN");
    assert_eq!(st.rq, vec![(buf(2), 256), (buf(3), 256)]);
    // Two more buffers posted at NIC 1.
    for k in 4..6 {
        d.post_recv(&mut b, 1, conn, buf(k), 256).unwrap();
    }
    // A stale copy of an old segment still reaching NIC 0: dropped there
    // (the connection is gone), never placed twice.
    b.send(
        0,
        conn,
        &Segment::write(stag, region.va_base, data(&mut r, 200)),
    );
    // The stream continues at NIC 1: Sends MSN 3..6 and Writes to NIC 0's STag.
    for msn in 3..=6u32 {
        let n = r.gen_range(1..=256);
        let bytes = data(&mut r, n);
        let k = msn as u64 - 1;
        b.expect_place(buf(k), bytes.len() as u64, buf(k), msn as u64);
        b.send(1, conn, &Segment::send(Opcode::Send, 0, msn, bytes.clone()));
        sends.push((msn, 1usize, bytes));
        let (seg, wb) = write_seg(
            &mut b,
            &mut r,
            &region,
            stag,
            region.va_base + seq * 0x100,
            150,
            seq,
        );
        b.send(1, conn, &seg);
        writes.push((seq, 1usize, wb));
        seq += 1;
    }
    drive(&mut b, &mut d, 500);
    for (msn, nic, bytes) in &sends {
        let k = *msn as u64 - 1;
        b.assert_placed(buf(k), bytes, *nic, buf(k), *msn as u64);
    }
    for (k, nic, bytes) in &writes {
        b.assert_placed(region.dma_base + k * 0x100, bytes, *nic, stag as u64, *k);
    }
    let mut allowed = granted(&[&region]);
    allowed.extend((0..6).map(|k| buf(k)..buf(k) + 256));
    b.assert_writes_within(&allowed);
    assert_eq!(
        counter(&mut b, &mut d, 0, K::CNT_CHECK_1_OFFSET),
        1,
        "[{test}] the stale segment dropped"
    );
    assert_eq!(counter(&mut b, &mut d, 1, K::CNT_PLACED_OFFSET), 8);
    assert_eq!(b.terminates(0), vec![]);
    assert_eq!(b.terminates(1), vec![]);
    let e = d.export_conn(&mut b, 1, conn).unwrap();
    assert_eq!((e.msn[0], e.rq.len(), e.error), (7, 0, false), "[{test}]");
    // One miss for the STag, resolved once.
    let installs = claim_steps(&d)
        .iter()
        .filter(|(_, s)| matches!(s, Step::Installed { .. }))
        .count();
    assert_eq!(installs, 1, "[{test}]");
    b.finish();
}

// -------------------------------------------------------------------------
// 4. Scenario 5: the peer's Send with Invalidate after the move
// -------------------------------------------------------------------------

#[test]
fn scenario5_send_with_invalidate_removes_every_copy() {
    let test = "system_inval_coherence";
    let (mut b, mut d, mut r) = setup(test, 2, Resolve::SingleQuery);
    let region = Region::rw(0x10_0000, 0x4000, 0x1000, PD);
    let stag = d.register_region(&mut b, 0, region).unwrap();
    let conn = 3u16;
    d.create_conn(&mut b, 0, conn, PD, [1, 1, 1]).unwrap();
    d.post_recv(&mut b, 0, conn, 0x60_0000, 128).unwrap();
    d.create_conn(&mut b, 0, 8, PD, [1, 1, 1]).unwrap(); // stays at NIC 0
    d.move_connection(&mut b, 0, 1, conn).unwrap();
    // The last Write (resolved: a copy at NIC 1), then the Send with Invalidate.
    let (seg, wb) = write_seg(&mut b, &mut r, &region, stag, 0x4000, 100, 0);
    b.send(1, conn, &seg);
    let sbytes = data(&mut r, 77);
    b.expect_place(0x60_0000, 77, 0x60_0000, 1);
    b.send(
        1,
        conn,
        &Segment::send(Opcode::SendInv, stag, 1, sbytes.clone()),
    );
    drive(&mut b, &mut d, 500);
    b.assert_placed(region.dma_base, &wb, 1, stag as u64, 0);
    b.assert_placed(0x60_0000, &sbytes, 1, 0x60_0000, 1);
    let steps = claim_steps(&d);
    let inval = steps
        .iter()
        .position(|(n, s)| {
            *n == 1 && matches!(s, Step::InvalReceived { stag: x, conn: 3, .. } if *x == stag)
        })
        .unwrap_or_else(|| panic!("[{test}] no INVAL at NIC 1: {steps:?}"));
    assert_eq!(
        steps[inval + 1..].to_vec(),
        vec![(
            0,
            Step::InvalRemovedCopy {
                stag,
                code: StagCode::Ok
            }
        )],
        "[{test}] the origin's entry removed, nothing else"
    );
    assert_eq!(d.copies_of(stag), Vec::<usize>::new());
    // Every copy is gone: NIC 0's entry, NIC 1's installed copy.
    assert!(d.query(&mut b, 0, stag).is_err());
    assert_eq!(d.invalidate_at(&mut b, 1, stag).unwrap(), StagCode::Unknown);
    d.clear_log();
    // A later Write at NIC 1: missed, not in NIC 0's list, rejected.
    b.send(1, conn, &Segment::write(stag, 0x4100, data(&mut r, 50)));
    // And at NIC 0 on its own connection: invalid own STag.
    b.send(0, 8, &Segment::write(stag, 0x4200, data(&mut r, 50)));
    drive(&mut b, &mut d, 500);
    assert!(
        claim_steps(&d).contains(&(1, Step::Rejected { stag })),
        "[{test}] {:?}",
        claim_steps(&d)
    );
    assert_eq!(b.terminates(1), vec![(3, codes::DDP_T_INVALID_STAG)]);
    assert_eq!(b.terminates(0), vec![(8, codes::DDP_T_INVALID_STAG)]);
    b.assert_writes_within(&[
        region.dma_base..region.dma_base + 100,
        0x60_0000..0x60_0000 + 77,
    ]);
    b.finish();
}

// -------------------------------------------------------------------------
// 5. Direct mode and driver mode place the same bytes
// -------------------------------------------------------------------------

/// What [`resolve_run`] leaves: the region's bytes, each byte's writer
/// (NIC, tag, seq; `u32::MAX` for never written), the bench and the driver.
type Run = (Vec<u8>, Vec<(u32, u64, u64)>, SystemBench, Driver);

/// The scenario of test 1 and an unknown STag, in driver or direct mode.
/// Returns the region's bytes and per-byte writers, the bench and driver.
fn resolve_run(direct: bool, test: &str, seed: u64) -> Run {
    let mut r = testbench::rng(seed);
    let mut b = SystemBench::new(test, &params(2));
    let mut d = Driver::new(DriverConfig::new(2));
    d.init(&mut b).unwrap();
    if direct {
        d.set_direct(&mut b, 1, true).unwrap();
    }
    let region = Region::rw(0x10_0000, 0x20_0000, 0x1000, PD);
    let stag = d.register_region(&mut b, 0, region).unwrap();
    for c in [3u16, 4] {
        d.create_conn(&mut b, 0, c, PD, [1, 1, 1]).unwrap();
        d.move_connection(&mut b, 0, 1, c).unwrap();
    }
    d.clear_log();
    for k in 0..5u64 {
        let len = r.gen_range(1..=256usize);
        let (seg, _) = write_seg(
            &mut b,
            &mut r,
            &region,
            stag,
            region.va_base + k * 0x100 + k,
            len,
            k,
        );
        b.send(1, 3, &seg);
    }
    b.send(1, 4, &Segment::write(9 << 8 | 0x77, 0, data(&mut r, 40)));
    drive(&mut b, &mut d, 500);
    let mem = b.mem.borrow();
    let bytes = mem.read(region.dma_base, region.length as usize);
    let who = (region.dma_base..region.dma_base + region.length)
        .map(|a| match mem.record(a) {
            Some(rec) => (rec.writer.source, rec.writer.tag, rec.writer.seq),
            None => (u32::MAX, 0, 0),
        })
        .collect();
    drop(mem);
    b.assert_writes_within(&granted(&[&region]));
    assert_eq!(
        b.terminates(1),
        vec![(4, codes::DDP_T_INVALID_STAG)],
        "[{test}]"
    );
    (bytes, who, b, d)
}

#[test]
fn direct_mode_places_what_the_driver_places() {
    let seed = testbench::seed_from_env("system_direct");
    let (dbytes, dwho, mut bd, dd) = resolve_run(false, "system_direct_driver", seed);
    let (xbytes, xwho, mut bx, dx) = resolve_run(true, "system_direct_hw", seed);
    assert!(dwho.iter().any(|w| w.0 == 1), "something was placed");
    assert_eq!(dbytes, xbytes, "same bytes at the same addresses");
    assert_eq!(dwho, xwho, "same writer (NIC 1, STag, segment) per byte");
    // Driver mode: the claims' steps, no hardware resolution.
    assert_eq!(bd.direct_counts(), (0, 0));
    let ds = claim_steps(&dd);
    assert!(ds
        .iter()
        .any(|(n, s)| *n == 1 && matches!(s, Step::Installed { .. })));
    assert!(ds
        .iter()
        .any(|(n, s)| *n == 1 && matches!(s, Step::Rejected { .. })));
    // Direct mode: the hardware installed and rejected; the driver only logged.
    assert_eq!(bx.direct_counts(), (1, 1));
    let xs = claim_steps(&dx);
    assert_eq!(xs.len(), 2, "two DirectMiss entries only: {xs:?}");
    assert!(xs
        .iter()
        .all(|(n, s)| *n == 1 && matches!(s, Step::DirectMiss { .. })));
    bd.finish();
    bx.finish();
}

// -------------------------------------------------------------------------
// 9. Three NICs: a STag of NIC 2 reaching NIC 1
// -------------------------------------------------------------------------

#[test]
fn scenario9_three_nics_stag_of_nic2_at_nic1() {
    let test = "system_three_nics";
    let (mut b, mut d, mut r) = setup(test, 3, Resolve::CursorList);
    let r0 = Region::rw(0x10_0000, 0x1000, 0x1000, PD);
    let s0 = d.register_region(&mut b, 0, r0).unwrap();
    let r2 = Region::rw(0x30_0000, 0x1000, 0x1000, PD);
    let s2 = d.register_region(&mut b, 2, r2).unwrap();
    assert_eq!((d.origin_of(s0), d.origin_of(s2)), (0, 2));
    d.create_conn(&mut b, 2, 5, PD, [1, 1, 1]).unwrap();
    d.move_connection(&mut b, 2, 1, 5).unwrap();
    d.clear_log();
    let mut placed = Vec::new();
    for k in 0..3u64 {
        let (seg, bytes) = write_seg(&mut b, &mut r, &r2, s2, 0x1000 + k * 0x100, 128, k);
        b.send(1, 5, &seg);
        placed.push((k, bytes));
    }
    drive(&mut b, &mut d, 500);
    for (k, bytes) in &placed {
        b.assert_placed(r2.dma_base + k * 0x100, bytes, 1, s2 as u64, *k);
    }
    let steps = claim_steps(&d);
    assert!(steps.contains(&(
        2,
        Step::QueryOrigin {
            stag: s2,
            how: Resolve::CursorList
        }
    )));
    assert!(steps.contains(&(
        1,
        Step::Installed {
            stag: s2,
            code: StagCode::Ok,
            evicted: false
        }
    )));
    assert!(
        steps.iter().all(|(n, _)| *n != 0),
        "NIC 0 not asked: {steps:?}"
    );
    b.assert_writes_within(&granted(&[&r2]));
    b.finish();
}

// -------------------------------------------------------------------------
// Scenarios 2 and 7: failover burst, host back-pressure, a slow driver
// -------------------------------------------------------------------------

#[test]
fn scenario2_7_failover_burst_with_backpressure_and_slow_driver() {
    let test = "system_burst";
    let (mut b, mut d, mut r) = setup(test, 2, Resolve::SingleQuery);
    let seed: u64 = r.gen();
    b.wr.set_aw_pause(Pattern::random(0.3, seed ^ 1));
    b.wr.set_w_pause(Pattern::random(0.4, seed ^ 2));
    b.wr.set_b_pause(Pattern::random(0.3, seed ^ 3));
    b.wr.set_b_latency(4);
    b.src[1].set_pause(Pattern::random(0.1, seed ^ 4));
    b.bus.set_pause(Pattern::random(0.2, seed ^ 5));
    d.set_timing(1500, 40);
    let regions: Vec<Region> = (0..4u64)
        .map(|k| Region::rw(0x100_0000 + k * 0x10_0000, 0x8000 * k, 0x2000, PD))
        .collect();
    let stags: Vec<u32> = regions
        .iter()
        .map(|reg| d.register_region(&mut b, 0, *reg).unwrap())
        .collect();
    for c in 0..4u16 {
        d.create_conn(&mut b, 0, c, PD, [1, 1, 1]).unwrap();
        d.move_connection(&mut b, 0, 1, c).unwrap();
    }
    d.clear_log();
    // Five segments per STag (one connection each), interleaved, back to
    // back: more than the hold queue's bytes, while the first query waits.
    let mut sent = Vec::new();
    for k in 0..5u64 {
        for (i, reg) in regions.iter().enumerate() {
            let len = r.gen_range(64..=200usize);
            let to = reg.va_base + k * 0x200;
            let (seg, bytes) = write_seg(&mut b, &mut r, reg, stags[i], to, len, k);
            b.send(1, i as u16, &seg);
            sent.push((i, k, bytes));
        }
    }
    drive(&mut b, &mut d, 3000);
    for (i, k, bytes) in &sent {
        b.assert_placed(
            regions[*i].dma_base + k * 0x200,
            bytes,
            1,
            stags[*i] as u64,
            *k,
        );
    }
    let refs: Vec<&Region> = regions.iter().collect();
    b.assert_writes_within(&granted(&refs));
    // Each STag's segments were placed in order.
    for s in &stags {
        let seqs: Vec<u64> =
            b.wr.writes()
                .iter()
                .filter(|w| w.writer.tag == *s as u64)
                .map(|w| w.writer.seq)
                .collect();
        assert!(
            seqs.windows(2).all(|w| w[0] <= w[1]),
            "[{test}] {s:#x} placed out of order: {seqs:?}"
        );
    }
    // One miss per STag, each resolved once.
    let steps = claim_steps(&d);
    for s in &stags {
        let n = |f: &dyn Fn(&Step) -> bool| steps.iter().filter(|(_, st)| f(st)).count();
        assert_eq!(
            n(&|st| matches!(st, Step::MissReceived { stag, .. } if stag == s)),
            1
        );
        assert_eq!(
            n(&|st| matches!(st, Step::Installed { stag, code: StagCode::Ok, .. } if stag == s)),
            1
        );
    }
    assert_eq!(counter(&mut b, &mut d, 1, K::CNT_PLACED_OFFSET), 20);
    assert_eq!(b.terminates(1), vec![]);
    b.finish();
}

// -------------------------------------------------------------------------
// Scenario 6: both directions at once
// -------------------------------------------------------------------------

#[test]
fn scenario6_both_directions_at_once() {
    let test = "system_swap";
    let (mut b, mut d, mut r) = setup(test, 2, Resolve::CursorList);
    let ra = Region::rw(0x10_0000, 0x1000, 0x2000, PD);
    let rb = Region::rw(0x20_0000, 0x1000, 0x2000, PD);
    let sa = d.register_region(&mut b, 0, ra).unwrap();
    let sb = d.register_region(&mut b, 1, rb).unwrap();
    d.create_conn(&mut b, 0, 3, PD, [1, 1, 1]).unwrap();
    d.create_conn(&mut b, 1, 4, PD, [1, 1, 1]).unwrap();
    // NIC 1 takes NIC 0's connection, NIC 0 takes NIC 1's.
    d.move_connection(&mut b, 0, 1, 3).unwrap();
    d.move_connection(&mut b, 1, 0, 4).unwrap();
    d.clear_log();
    let mut sent = Vec::new();
    for k in 0..6u64 {
        let (seg, bytes) = write_seg(&mut b, &mut r, &ra, sa, 0x1000 + k * 0x100, 200, k);
        b.send(1, 3, &seg);
        sent.push((ra, sa, 1usize, k, bytes));
        let (seg, bytes) = write_seg(&mut b, &mut r, &rb, sb, 0x1000 + k * 0x100, 200, k);
        b.send(0, 4, &seg);
        sent.push((rb, sb, 0usize, k, bytes));
    }
    drive(&mut b, &mut d, 1000);
    for (reg, s, nic, k, bytes) in &sent {
        b.assert_placed(reg.dma_base + k * 0x100, bytes, *nic, *s as u64, *k);
    }
    b.assert_writes_within(&granted(&[&ra, &rb]));
    assert_eq!(d.copies_of(sa), vec![1]);
    assert_eq!(d.copies_of(sb), vec![0]);
    let steps = claim_steps(&d);
    assert!(steps.contains(&(
        0,
        Step::QueryOrigin {
            stag: sa,
            how: Resolve::CursorList
        }
    )));
    assert!(steps.contains(&(
        1,
        Step::QueryOrigin {
            stag: sb,
            how: Resolve::CursorList
        }
    )));
    assert_eq!((b.terminates(0), b.terminates(1)), (vec![], vec![]));
    b.finish();
}

// -------------------------------------------------------------------------
// Scenario 10: deregistration at NIC 0 after the STag was installed at NIC 1
// -------------------------------------------------------------------------

#[test]
fn scenario10_deregistration_removes_the_installed_copy() {
    let test = "system_dereg";
    let (mut b, mut d, mut r) = setup(test, 2, Resolve::SingleQuery);
    let region = Region::rw(0x10_0000, 0x1000, 0x1000, PD);
    let stag = d.register_region(&mut b, 0, region).unwrap();
    d.create_conn(&mut b, 0, 3, PD, [1, 1, 1]).unwrap();
    d.move_connection(&mut b, 0, 1, 3).unwrap();
    let (seg, bytes) = write_seg(&mut b, &mut r, &region, stag, 0x1000, 128, 0);
    b.send(1, 3, &seg);
    drive(&mut b, &mut d, 300);
    b.assert_placed(region.dma_base, &bytes, 1, stag as u64, 0);
    assert_eq!(d.copies_of(stag), vec![1]);
    // DEREGISTER at NIC 0: the driver INVALIDATEs NIC 1's copy too.
    assert_eq!(
        d.deregister(&mut b, 0, stag).unwrap(),
        vec![(1, StagCode::Ok)]
    );
    d.clear_log();
    b.send(1, 3, &Segment::write(stag, 0x1100, data(&mut r, 64)));
    drive(&mut b, &mut d, 300);
    let steps = claim_steps(&d);
    assert!(steps.contains(&(
        0,
        Step::NotInList {
            stag,
            reason: NotFound::Query(StagCode::Unknown)
        }
    )));
    assert!(steps.contains(&(1, Step::Rejected { stag })));
    assert_eq!(b.terminates(1), vec![(3, codes::DDP_T_INVALID_STAG)]);
    let written = region.dma_base..region.dma_base + 128;
    b.assert_writes_within(std::slice::from_ref(&written));
    b.finish();
}

// -------------------------------------------------------------------------
// Scenario 11: more migrated STags than NIC 1's foreign cache holds
// -------------------------------------------------------------------------

#[test]
fn scenario11_foreign_cache_evictions_and_re_resolution() {
    let test = "system_evict";
    let (mut b, mut d, mut r) = setup(test, 3, Resolve::SingleQuery);
    // 12 STags of NIC 0 and 12 of NIC 2: 24 > 16 foreign slots at NIC 1.
    let mut regs = Vec::new();
    for (nic, base) in [(0usize, 0x100_0000u64), (2, 0x200_0000)] {
        for k in 0..12u64 {
            let reg = Region::rw(base + k * 0x1_0000, 0x10_0000 * k, 0x1000, PD);
            regs.push((d.register_region(&mut b, nic, reg).unwrap(), reg));
        }
    }
    d.create_conn(&mut b, 0, 1, PD, [1, 1, 1]).unwrap();
    d.move_connection(&mut b, 0, 1, 1).unwrap();
    d.clear_log();
    let mut sent = Vec::new();
    for round in 0..2u64 {
        for (i, (s, reg)) in regs.iter().enumerate() {
            let (seg, bytes) = write_seg(
                &mut b,
                &mut r,
                reg,
                *s,
                reg.va_base + round * 0x100,
                100,
                round,
            );
            b.send(1, 1, &seg);
            sent.push((i, round, bytes));
        }
        drive(&mut b, &mut d, 500);
    }
    for (i, round, bytes) in &sent {
        let (s, reg) = regs[*i];
        b.assert_placed(reg.dma_base + round * 0x100, bytes, 1, s as u64, *round);
    }
    let refs: Vec<&Region> = regs.iter().map(|(_, reg)| reg).collect();
    b.assert_writes_within(&granted(&refs));
    let steps = claim_steps(&d);
    let evicting = steps
        .iter()
        .filter(|(_, st)| matches!(st, Step::Installed { evicted: true, .. }))
        .count();
    let installs = steps
        .iter()
        .filter(|(_, st)| {
            matches!(
                st,
                Step::Installed {
                    code: StagCode::Ok,
                    ..
                }
            )
        })
        .count();
    // Round 1: 24 installs, the last 8 evict; round 2 misses again on
    // (at least) the evicted ones.
    assert!(evicting >= 8, "[{test}] {evicting} evicting installs");
    assert!(
        installs > 24,
        "[{test}] {installs} installs: no re-resolution"
    );
    let ev = b
        .read(d.addr(1, sim::regs::stag::BASE + sim::regs::stag::EVICTIONS_OFFSET))
        .unwrap();
    assert_eq!(ev as usize, evicting, "[{test}] EVICTIONS");
    assert_eq!(b.terminates(1), vec![]);
    b.finish();
}

// -------------------------------------------------------------------------
// Scenario 8: every bad input of SPEC's check table, on both NICs, before
// and after a move
// -------------------------------------------------------------------------

/// Scenario 8's connection (NIC 0's, then moved to NIC 1).
const S8_CONN: u16 = 3;
/// A connection that stays at NIC 0 (its good Write at the end).
const S8_STAYS: u16 = 4;
/// Scenario 8's receive buffer (one, reposted before each row).
const S8_BUF: u64 = 0x60_0000;
/// Below `--max-payload` (256), so "too long" fails check 10, not 2.
const S8_BUF_LEN: u32 = 128;

/// Scenario 8's bench: the system, the driver, what the rows name, and
/// which of NIC 0's STags NIC 1 holds a copy of.
struct Bad {
    test: String,
    b: SystemBench,
    d: Driver,
    t: Targets,
    /// NIC 0's registered STags and their regions.
    live: Vec<(u32, Region)>,
    /// NIC 0's STags installed at NIC 1 (by the driver, on a miss).
    at1: Vec<u32>,
    rows_run: [usize; 2],
}

impl Bad {
    /// Every COUNTERS counter of NIC `nic`, read through the bus.
    fn counters(&mut self, nic: usize) -> Counters {
        let mut v = [0u32; 19];
        for (i, x) in v.iter_mut().enumerate() {
            let off = K::BASE + K::CNT_PLACED_OFFSET + 4 * i as u64;
            *x = self.b.read(self.d.addr(nic, off)).unwrap();
        }
        Counters::from_values(&v)
    }

    /// RECREATE the connection at `nic` (out of Error, MSNs 1, queue
    /// emptied) and post its buffer if `buffer`.
    fn fresh_conn(&mut self, nic: usize, buffer: bool) {
        let st = ConnState {
            conn: S8_CONN,
            msn: [1, 1, 1],
            ..ConnState::default()
        };
        let (code, _) = self
            .d
            .conn_command(&mut self.b, nic, ConnOp::Recreate, &st, 0)
            .unwrap();
        assert_eq!(code, ConnCode::Ok, "[{}] RECREATE at NIC {nic}", self.test);
        if buffer {
            self.d
                .post_recv(&mut self.b, nic, S8_CONN, S8_BUF, S8_BUF_LEN)
                .unwrap();
        }
    }

    /// A spare index bit set (between the NIC id and the entry bits,
    /// `--entries` 16 in [`params`]): every table answers MALFORMED at
    /// once, whatever the NIC id, so no miss.
    fn malformed(&self, stag: u32) -> bool {
        let id_bits = self.d.config().nic_id_bits;
        stag << id_bits >> (id_bits + 8 + 4) != 0
    }

    /// Send `fpdu` on `conn` at NIC `nic`, serve the driver until quiet,
    /// and check what every bad segment must leave: nothing written to
    /// host memory (no AW burst, no byte recorded), `want` exactly as the
    /// counter increments of NIC `nic` and none at the other NIC, and the
    /// driver's claim steps `steps` (a miss resolved or rejected; none for
    /// a segment judged at once). Returns the frames each NIC sent.
    fn one(
        &mut self,
        nic: usize,
        conn: u16,
        fpdu: Vec<u8>,
        name: &str,
        want: Counters,
        steps: Vec<(usize, Step)>,
    ) -> [Vec<AxisFrame>; 2] {
        let other = 1 - nic;
        let before = (self.counters(nic), self.counters(other));
        let (writes, bursts) = (self.b.wr.writes().len(), self.b.bursts.len());
        self.d.clear_log();
        self.b.send_fpdu(nic, conn, fpdu);
        drive(&mut self.b, &mut self.d, 200);
        let test = self.test.clone();
        assert_eq!(
            (self.b.wr.writes().len(), self.b.bursts.len()),
            (writes, bursts),
            "[{test}] NIC {nic}, {name}: host memory written"
        );
        let got = self.counters(nic).since(&before.0);
        assert_eq!(
            got.nonzero(),
            want.nonzero(),
            "[{test}] NIC {nic}, {name}: counter increments"
        );
        let got = self.counters(other).since(&before.1);
        assert_eq!(
            got.nonzero(),
            vec![],
            "[{test}] NIC {nic}, {name}: NIC {other}'s counters"
        );
        let got_steps: Vec<(usize, Step)> = claim_steps(&self.d)
            .into_iter()
            .map(|(n, s)| match s {
                Step::MissReceived { stag, conn, .. } => (
                    n,
                    Step::MissReceived {
                        stag,
                        conn,
                        arrival: 0,
                    },
                ),
                s => (n, s),
            })
            .collect();
        assert_eq!(
            got_steps, steps,
            "[{test}] NIC {nic}, {name}: the driver's claim steps"
        );
        let mut frames = [Vec::new(), Vec::new()];
        for (k, f) in frames.iter_mut().enumerate() {
            while let Some(x) = self.b.sink[k].recv() {
                f.push(x);
            }
        }
        frames
    }

    /// One row of checks 2 to 11 at NIC `nic`: its exact Terminate out of
    /// `m{nic}_axis_tx` on the connection (layer / type / code, D and the
    /// echoed DDP header, R and the Read Request, MSN 1: the bytes), the
    /// counters (`cnt_check_<k>`, `cnt_terminates`, and at NIC 1 for a
    /// STag of NIC 0 it holds no copy of: `cnt_parked` and
    /// `cnt_miss_events`, the miss resolved through the driver first),
    /// nothing written, the connection in Error. `recreate`: the
    /// connection made fresh first (with the row's buffer).
    fn row(&mut self, nic: usize, row: &Row, recreate: bool) {
        let test = self.test.clone();
        let name = row.name;
        if recreate {
            self.fresh_conn(nic, row.buffer);
        }
        let max = self.t.max_payload;
        // At NIC 1 a STag of NIC 0 without a copy there parks the segment
        // and raises a miss; the driver QUERYs NIC 0 and INSTALLs the
        // entry (then the replay fails the row's check against the copy)
        // or, for a STag NIC 0 does not hold, REJECTs it (then the replay
        // fails check 5 or 11 as invalid: the same Terminate as at NIC 0).
        let miss = row.looked_up_stag(max).filter(|&s| {
            nic == 1 && self.d.origin_of(s) == 0 && !self.malformed(s) && !self.at1.contains(&s)
        });
        let mut want = Counters::default();
        want.check[row.check as usize] = 1;
        want.terminates = 1;
        let mut steps = Vec::new();
        if let Some(stag) = miss {
            want.parked = 1;
            want.miss_events = 1;
            steps.push((
                1,
                Step::MissReceived {
                    stag,
                    conn: S8_CONN,
                    arrival: 0,
                },
            ));
            steps.push((
                0,
                Step::QueryOrigin {
                    stag,
                    how: Resolve::SingleQuery,
                },
            ));
            match self.live.iter().find(|(s, _)| *s == stag) {
                Some(&(_, region)) => {
                    steps.push((
                        0,
                        Step::Found {
                            stag,
                            region,
                            scanned: 1,
                        },
                    ));
                    steps.push((
                        1,
                        Step::Installed {
                            stag,
                            code: StagCode::Ok,
                            evicted: false,
                        },
                    ));
                    self.at1.push(stag);
                }
                None => {
                    steps.push((
                        0,
                        Step::NotInList {
                            stag,
                            reason: NotFound::Query(StagCode::Unknown),
                        },
                    ));
                    steps.push((1, Step::Rejected { stag }));
                }
            }
        }
        let [mut f0, mut f1] = self.one(nic, S8_CONN, row.fpdu.clone(), name, want, steps);
        let (mine, theirs) = if nic == 0 {
            (&mut f0, &f1)
        } else {
            (&mut f1, &f0)
        };
        assert!(
            theirs.is_empty(),
            "[{test}] NIC {nic}, {name}: the other NIC sent {} frames",
            theirs.len()
        );
        assert_eq!(
            mine.len(),
            1,
            "[{test}] NIC {nic}, {name}: one Terminate expected, got {:?}",
            mine.iter()
                .map(|f| describe_terminate(&f.data))
                .collect::<Vec<_>>()
        );
        let f = mine.pop().unwrap();
        assert_eq!(f.user, S8_CONN as u64, "[{test}] NIC {nic}, {name}: tuser");
        let want_bytes = row.expected_terminate(1, max);
        let (msn, term) = decode_terminate(&f.data)
            .unwrap_or_else(|e| panic!("[{test}] NIC {nic}, {name}: {e}: {:02x?}", f.data));
        let (_, want_term) = decode_terminate(&want_bytes).unwrap();
        assert_eq!(
            term.code(),
            row.term,
            "[{test}] NIC {nic}, {name}: Terminate layer / type / code ({})",
            describe_terminate(&f.data)
        );
        assert_eq!(
            (term.d(), term.m, term.r()),
            (row.with_hdr, row.with_hdr, want_term.r()),
            "[{test}] NIC {nic}, {name}: D, M, R ({})",
            describe_terminate(&f.data)
        );
        assert_eq!(
            (msn, term.ddp, term.rdma),
            (1, want_term.ddp, want_term.rdma),
            "[{test}] NIC {nic}, {name}: MSN and echoed headers"
        );
        assert_eq!(
            f.data, want_bytes,
            "[{test}] NIC {nic}, {name}: Terminate bytes"
        );
        let e = self.d.export_conn(&mut self.b, nic, S8_CONN).unwrap();
        assert_eq!(
            (e.error, e.msn[2]),
            (true, 2),
            "[{test}] NIC {nic}, {name}: the connection in Error, one Terminate sent"
        );
        self.rows_run[nic] += 1;
    }

    /// A check-1 segment at NIC `nic` on `conn`: dropped, `cnt_check_1`
    /// only, no Terminate anywhere, nothing written.
    fn dropped(&mut self, nic: usize, conn: u16, fpdu: Vec<u8>, name: &str) {
        let mut want = Counters::default();
        want.check[1] = 1;
        let frames = self.one(nic, conn, fpdu, name, want, vec![]);
        assert_eq!(
            frames.iter().map(|f| f.len()).sum::<usize>(),
            0,
            "[{}] NIC {nic}, {name}: frames sent",
            self.test
        );
        self.rows_run[nic] += 1;
    }

    /// Every row of the table at NIC `nic`, then the check-1 rows.
    fn all_rows(&mut self, nic: usize) {
        for row in bad_segments::rows(&self.t) {
            self.row(nic, &row, true);
        }
        self.fresh_conn(nic, true);
        for row in bad_segments::drop_rows(&self.t) {
            let conn = match row.conn {
                DropConn::Unknown(c) => c,
                DropConn::InError => {
                    // Into Error by a check-2 row (its Terminate checked).
                    let into = Row {
                        name: "2: CRC, into Error",
                        fpdu: bad_segments::into_error(&self.t),
                        buffer: true,
                        check: 2,
                        term: codes::LLP_CRC,
                        with_hdr: false,
                    };
                    self.row(nic, &into, false);
                    S8_CONN
                }
            };
            self.dropped(nic, conn, row.fpdu, row.name);
        }
    }
}

/// Scenario 8: the rows of `testbench::bad_segments` (one failing segment
/// per way each check of SPEC's table can fail, the same rows as
/// `nic_rx.rs`'s `spec_table_rows`), each on a fresh connection, at NIC 0
/// where the connection and the regions live; then the connection moves to
/// NIC 1, one good Write resolves NIC 0's `main` STag there (driver mode,
/// single QUERY), and every row again at NIC 1. Each row: its exact
/// Terminate out of that NIC's `m_axis_tx` (layer / type / code, echoed
/// headers, MSN), that NIC's COUNTERS (`cnt_check_<k>` + 1 and nothing
/// else but what a miss adds), the other NIC silent, no DMA at all, the
/// connection in Error. At the end a good Write lands at each NIC and a
/// Send at NIC 1: nothing got stuck.
///
/// Rows adapted after the move (every row still runs at NIC 1):
/// * checks 5 to 11 name NIC 0's STags, foreign at NIC 1. A STag NIC 1
///   holds no copy of yet parks the segment and raises a miss; the driver
///   resolves it first: `other_pd` (row 6), `no_write` (7) and `top` (8)
///   are found at NIC 0 and INSTALLed at NIC 1, and the replay fails the
///   row's check against the migrated entry (its PD, rights, VA range
///   travelled with it); `main ^ 1` (a stale key: rows "5: invalid STag"
///   and "11: no such STag") is not in NIC 0's list and is REJECTed, so the
///   replay reads it invalid: the same Terminate as at NIC 0, reached
///   through the miss path (`cnt_parked`, `cnt_miss_events` + 1). The
///   malformed STag is refused at once at both NICs (no miss).
/// * check 1 at NIC 1 needs no connection of NIC 0's; NIC 0 after the move
///   gets one more check-1 row: a Write on the moved connection, which NIC
///   0 no longer knows (dropped, not placed twice).
#[test]
fn scenario8_every_bad_input_on_both_nics_before_and_after_a_move() {
    let test = "system_bad_inputs";
    let (mut b, mut d, mut r) = setup(test, 2, Resolve::SingleQuery);
    assert_eq!(
        (K::CNT_DMA_ERRORS_OFFSET, K::CNT_CHECK_11_OFFSET),
        (K::CNT_PLACED_OFFSET + 4 * 7, K::CNT_PLACED_OFFSET + 4 * 18),
        "COUNTERS in COUNTER_NAMES order"
    );
    let main = Region::rw(0x10_0000, 0x7000_0000_1000, 0x1000, PD);
    let other_pd = Region::rw(0x20_0000, 0x1000, 0x1000, PD + 1);
    let no_write = Region {
        rights: rights::LOCAL_READ | rights::LOCAL_WRITE | rights::REMOTE_READ,
        remote_inv: false,
        ..Region::rw(0x30_0000, 0x1000, 0x1000, PD)
    };
    let top = Region::rw(0x40_0000, u64::MAX - 0xfff, 0x2000, PD);
    let mut live = Vec::new();
    for reg in [main, other_pd, no_write, top] {
        live.push((d.register_region(&mut b, 0, reg).unwrap(), reg));
    }
    let target = |k: usize| Target {
        stag: live[k].0,
        va: live[k].1.va_base,
        len: live[k].1.length,
    };
    let t = Targets {
        main: target(0),
        other_pd: target(1),
        no_write: target(2),
        top: target(3),
        max_payload: b.params.nic.rx.max_payload,
        buf_len: S8_BUF_LEN,
    };
    let s_main = t.main.stag;
    d.create_conn(&mut b, 0, S8_CONN, PD, [1, 1, 1]).unwrap();
    d.create_conn(&mut b, 0, S8_STAYS, PD, [1, 1, 1]).unwrap();
    let mut x = Bad {
        test: test.to_string(),
        b,
        d,
        t,
        live,
        at1: Vec::new(),
        rows_run: [0, 0],
    };
    // Before the move: every row at NIC 0.
    x.all_rows(0);
    // The move, in a clean state: out of Error, MSNs 1, the buffer posted.
    x.fresh_conn(0, true);
    let st = x.d.move_connection(&mut x.b, 0, 1, S8_CONN).unwrap();
    assert_eq!(
        (st.pd, st.msn, st.error, st.rq.clone()),
        (PD, [1, 1, 1], false, vec![(S8_BUF, S8_BUF_LEN)]),
        "[{test}] the moved state"
    );
    // NIC 0 no longer knows the connection: a Write on it is check 1 there.
    let stale = sim::iwarp::frames::fpdu(&Segment::write(s_main, main.va_base, vec![1; 16]));
    x.dropped(0, S8_CONN, stale, "1: the moved connection at its old NIC");
    // NIC 0's STag resolved at NIC 1 once, by a good Write (driver mode).
    x.d.clear_log();
    let (seg, w0) = write_seg(&mut x.b, &mut r, &main, s_main, main.va_base, 64, 0);
    x.b.send(1, S8_CONN, &seg);
    drive(&mut x.b, &mut x.d, 300);
    x.b.assert_placed(main.dma_base, &w0, 1, s_main as u64, 0);
    let steps = claim_steps(&x.d);
    assert!(
        matches!(
            steps.as_slice(),
            [
                (1, Step::MissReceived { stag: a, conn: S8_CONN, .. }),
                (0, Step::QueryOrigin { stag: b, .. }),
                (0, Step::Found { stag: c, .. }),
                (1, Step::Installed { stag: e, code: StagCode::Ok, .. }),
            ] if [*a, *b, *c, *e] == [s_main; 4]
        ),
        "[{test}] resolving {s_main:#x} at NIC 1: {steps:?}"
    );
    x.at1.push(s_main);
    // After the move: every row at NIC 1.
    x.all_rows(1);
    assert_eq!(
        x.at1,
        vec![s_main, t.other_pd.stag, t.no_write.stag, t.top.stag],
        "[{test}] NIC 0's STags installed at NIC 1, in order"
    );
    // Nothing stuck: a good Write at each NIC, a Send at NIC 1.
    x.fresh_conn(1, true);
    let (seg, w1) = write_seg(
        &mut x.b,
        &mut r,
        &main,
        s_main,
        main.va_base + 0x100,
        100,
        1,
    );
    x.b.send(1, S8_CONN, &seg);
    let sbytes = data(&mut r, S8_BUF_LEN as usize);
    x.b.expect_place(S8_BUF, S8_BUF_LEN as u64, S8_BUF, 1);
    x.b.send(
        1,
        S8_CONN,
        &Segment::send(Opcode::Send, 0, 1, sbytes.clone()),
    );
    let (seg, w2) = write_seg(
        &mut x.b,
        &mut r,
        &main,
        s_main,
        main.va_base + 0x200,
        100,
        2,
    );
    x.b.send(0, S8_STAYS, &seg);
    x.d.clear_log();
    drive(&mut x.b, &mut x.d, 300);
    assert_eq!(
        claim_steps(&x.d),
        vec![],
        "[{test}] no miss: the copy is there"
    );
    x.b.assert_placed(main.dma_base + 0x100, &w1, 1, s_main as u64, 1);
    x.b.assert_placed(S8_BUF, &sbytes, 1, S8_BUF, 1);
    x.b.assert_placed(main.dma_base + 0x200, &w2, 0, s_main as u64, 2);
    assert_eq!((x.b.terminates(0), x.b.terminates(1)), (vec![], vec![]));
    // Host memory: the four good segments only.
    x.b.assert_writes_within(&[
        main.dma_base..main.dma_base + 64,
        main.dma_base + 0x100..main.dma_base + 0x164,
        main.dma_base + 0x200..main.dma_base + 0x264,
        S8_BUF..S8_BUF + S8_BUF_LEN as u64,
    ]);
    for reg in [other_pd, no_write, top] {
        x.b.assert_untouched(reg.dma_base..reg.dma_base + reg.length);
    }
    let placed = (
        counter(&mut x.b, &mut x.d, 0, K::CNT_PLACED_OFFSET),
        counter(&mut x.b, &mut x.d, 1, K::CNT_PLACED_OFFSET),
    );
    assert_eq!(placed, (1, 3), "[{test}] CNT_PLACED of NIC 0, NIC 1");
    eprintln!(
        "[{test}] rows checked: {} at NIC 0, {} at NIC 1; {} cycles",
        x.rows_run[0],
        x.rows_run[1],
        x.b.m.cycle()
    );
    x.b.finish();
}

// -------------------------------------------------------------------------
// Bus errors from the hardware come back as driver errors
// -------------------------------------------------------------------------

#[test]
fn driver_surfaces_bus_errors() {
    let test = "system_bus_errors";
    let mut b = SystemBench::new(test, &params(2));
    // A driver that believes in a third NIC: its window answers DECERR.
    let mut d = Driver::new(DriverConfig::new(3));
    let e = d.event_count(&mut b, 2).unwrap_err();
    assert_eq!(
        e,
        sim::driver::DriverError::Bus {
            nic: 2,
            source: sim::driver::BusError::DecErr {
                addr: 0x2_0214,
                write: false
            }
        },
        "[{test}]"
    );
    // Inside a NIC's window, above its register map: SLVERR.
    assert_eq!(
        b.read(0x1_0400),
        Err(sim::driver::BusError::SlvErr {
            addr: 0x1_0400,
            write: false
        })
    );
    // The NICs that exist still answer.
    assert_eq!(d.event_count(&mut b, 1), Ok(0));
    b.finish();
}
