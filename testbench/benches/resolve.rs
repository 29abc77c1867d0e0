//! Handoff latency of the three ways to resolve a miss, on the real RTL
//! (`system`, 2 NICs) with the driver model `sim::driver`:
//! `cargo bench -p testbench --bench resolve`.
//!
//! For own-table sizes 16, 256 and 4096 entries (`--entries`), NIC 0's
//! table is filled with that many registered regions; the wanted STag is
//! the last one (the worst case for a LIST). The connection is moved to NIC
//! 1; a 64-byte RDMA Write to the wanted STag reaches NIC 1 and misses. Per
//! method (driver SingleQuery, driver CursorList, driver LIST_DMA export, direct
//! mode) and per
//! driver timing (`irq_latency` / `access_cost`), the bench prints:
//!
//! * cycles from the miss event's arrival (its `EVENT_CYCLE`) to the
//!   INSTALL's completion (driver: the `STATUS` read that saw it done;
//!   direct: `direct_installs` going up);
//! * cycles from the FPDU's last beat on `s1_axis_rx` to its first byte
//!   (the first W beat of its burst) on the host's `m_axi`;
//! * the driver's register accesses for the miss.
//!
//! Between measurements the copy at NIC 1 is removed (INVALIDATE there), so
//! every Write misses afresh. `RESOLVE_BENCH_ENTRIES=16,256` limits the
//! sizes.

use hdl::blocks::system::SystemParams;
use sim::driver::{Driver, DriverConfig, HostBus, Region, Resolve, StagCode, Step};
use sim::iwarp::frames::Segment;
use testbench::system_bench::SystemBench;

const PD: u32 = 0x42;
const CONN: u16 = 1;
const PAYLOAD: usize = 64;
/// The driver's LIST_DMA export buffer.
const EXPORT_BUF: u64 = 0x8000_0000;
/// CPU cycles per 64-byte record read from host memory in the slow timing
/// (a cache-line miss, against `access_cost` 100 for an uncached register
/// read).
const RECORD_COST: u64 = 10;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Method {
    Driver(Resolve),
    Direct,
}

fn params(entries: u64) -> SystemParams {
    testbench::system_bench::small_params(2, entries)
}

struct Row {
    miss_to_install: u64,
    last_beat_to_first_byte: u64,
    accesses: u64,
}

/// The first W beat of the first burst since `from` that writes at
/// `place` (LIST_DMA records go to the host too).
fn first_byte(b: &SystemBench, from: usize, place: u64) -> Option<u64> {
    b.bursts[from..]
        .iter()
        .find(|t| t.addr >= place && t.addr < place + PAYLOAD as u64)
        .and_then(|t| t.first_w)
}

/// One miss of `stag` at NIC 1, resolved by `method`.
fn measure(
    b: &mut SystemBench,
    d: &mut Driver,
    method: Method,
    stag: u32,
    region: &Region,
    round: u64,
) -> Row {
    let direct = method == Method::Direct;
    if d.is_direct(1) != direct {
        d.set_direct(b, 1, direct).unwrap();
    }
    if let Method::Driver(how) = method {
        d.set_resolve(how);
    }
    d.clear_log();
    let to = region.va_base + round * 0x80;
    let data: Vec<u8> = (0..PAYLOAD).map(|i| (i as u64 * 7 + round) as u8).collect();
    b.expect_place(
        region.dma_base + (to - region.va_base),
        PAYLOAD as u64,
        stag as u64,
        round,
    );
    let rx_before = b.rx_last_at[1].len();
    let bursts_before = b.bursts.len();
    let place = region.dma_base + (to - region.va_base);
    let inst_before = b.direct_install_at.len();
    let acc_before = d.accesses();
    b.send(1, CONN, &Segment::write(stag, to, data.clone()));
    // The driver's interrupt loop until the data is in host memory and the
    // event was handled.
    let start = b.m.cycle();
    loop {
        if b.irq() {
            d.service(b).unwrap();
            b.steps(2);
        } else {
            b.step();
        }
        let handled = d
            .log()
            .iter()
            .any(|e| matches!(e.step, Step::Installed { .. } | Step::DirectMiss { .. }));
        if handled && first_byte(b, bursts_before, place).is_some() {
            break;
        }
        assert!(b.m.cycle() - start < 5_000_000, "{method:?}: no placement");
    }
    let accesses = d.accesses() - acc_before;
    b.steps(50);
    b.assert_placed(
        region.dma_base + (to - region.va_base),
        &data,
        1,
        stag as u64,
        round,
    );
    let arrival = d
        .log()
        .iter()
        .find_map(|e| match e.step {
            Step::MissReceived { arrival, .. } | Step::DirectMiss { arrival, .. } => Some(arrival),
            _ => None,
        })
        .expect("a miss event");
    let arrival = b.nic_cycle_to_sim(arrival);
    let installed = if direct {
        b.direct_install_at[inst_before]
    } else {
        d.log()
            .iter()
            .find_map(|e| match e.step {
                Step::Installed {
                    code: StagCode::Ok, ..
                } => Some(e.cycle),
                _ => None,
            })
            .expect("an INSTALL OK")
    };
    let last_beat = b.rx_last_at[1][rx_before];
    let first_byte = first_byte(b, bursts_before, place).unwrap();
    // Remove the copy: the next round misses again.
    assert_eq!(d.invalidate_at(b, 1, stag).unwrap(), StagCode::Ok);
    Row {
        miss_to_install: installed - arrival,
        last_beat_to_first_byte: first_byte - last_beat,
        accesses,
    }
}

fn main() {
    let sizes: Vec<u64> = std::env::var("RESOLVE_BENCH_ENTRIES")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().parse().unwrap()).collect())
        .unwrap_or_else(|| vec![16, 256, 4096]);
    let timings = [(0u64, 0u64), (2000, 100)];
    println!(
        "\nresolve: 2-NIC system, 64-bit data, a {PAYLOAD}-byte RDMA Write to NIC 0's last \
registered STag arriving at NIC 1 after the connection moved\n"
    );
    println!("| own entries (NIC 0 full) | driver timing | method | miss event -> INSTALL done, cycles | FPDU last beat -> first byte in host memory, cycles | driver register accesses |");
    println!("|---:|---|---|---:|---:|---:|");
    for &entries in &sizes {
        let t = std::time::Instant::now();
        let mut b = SystemBench::new(&format!("resolve_bench_{entries}"), &params(entries));
        let mut cfg = DriverConfig::new(2);
        cfg.export_buffer = Some((EXPORT_BUF, 64 * entries));
        let mut d = Driver::new(cfg);
        b.expect_export_buffer(EXPORT_BUF, 64 * entries);
        d.init(&mut b).unwrap();
        let mut last = None;
        for k in 0..entries {
            let r = Region::rw(0x1000_0000 + k * 0x1_0000, k << 20, 0x1_0000, PD);
            last = Some((d.register_region(&mut b, 0, r).unwrap(), r));
        }
        let (stag, region) = last.unwrap();
        let fill_cycles = b.m.cycle();
        d.create_conn(&mut b, 0, CONN, PD, [1, 1, 1]).unwrap();
        d.move_connection(&mut b, 0, 1, CONN).unwrap();
        let mut round = 0;
        for &(irq_latency, access_cost) in &timings {
            d.set_timing(irq_latency, access_cost);
            d.set_record_cost(if access_cost == 0 { 0 } else { RECORD_COST });
            for method in [
                Method::Driver(Resolve::SingleQuery),
                Method::Driver(Resolve::CursorList),
                Method::Driver(Resolve::DmaList),
                Method::Direct,
            ] {
                let row = measure(&mut b, &mut d, method, stag, &region, round);
                round += 1;
                let name = match method {
                    Method::Driver(Resolve::SingleQuery) => "driver, single QUERY",
                    Method::Driver(Resolve::CursorList) => "driver, LIST cursor",
                    Method::Driver(Resolve::DmaList) => "driver, LIST_DMA export",
                    Method::Direct => "direct mode (no CPU)",
                };
                let timing = match method {
                    Method::Direct => "- (driver only logs)".to_string(),
                    Method::Driver(Resolve::DmaList) => format!(
                        "irq_latency {irq_latency}, access_cost {access_cost}, record_cost {}",
                        if access_cost == 0 { 0 } else { RECORD_COST }
                    ),
                    _ => format!("irq_latency {irq_latency}, access_cost {access_cost}"),
                };
                println!(
                    "| {entries} | {timing} | {name} | {} | {} | {} |",
                    row.miss_to_install, row.last_beat_to_first_byte, row.accesses
                );
            }
        }
        b.finish();
        eprintln!(
            "[resolve_bench] entries {entries}: fill {fill_cycles} cycles, total {} cycles, {:.1} s",
            b.m.cycle(),
            t.elapsed().as_secs_f64()
        );
    }
    println!(
        "\nDriver timing: `irq_latency` = cycles from the interrupt seen to the handler's first \
register access; `access_cost` = CPU cycles before each register access (docs/driver.md). \
`record_cost` = CPU cycles per 64-byte LIST_DMA record read from host memory. \
Direct mode rows do not depend on them (the driver only logs the event afterwards). \
EVENT_CYCLE is converted to simulation cycles from the reset edge (within one cycle)."
    );
}
