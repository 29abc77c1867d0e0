//! The receive path of one NIC (`nic_rx`) with no back-pressure anywhere:
//! `cargo bench -p testbench --bench nic_rx`. Prints a Markdown table.
//!
//! For each data width and payload size (64 B, 256 B, 1 KiB, 4 KiB):
//!
//! * **bytes/clock**: RDMA Writes of that payload back to back into one
//!   registered region; payload bytes accepted on `s_axis_rx` per clock,
//!   counted over the last quarter of the FPDUs (by then the FIFOs in front
//!   of the judge are full and the rate is the steady one), every byte checked in host memory afterwards. The
//!   limit is the data width in bytes (the FPDU's own 20-24 bytes of MPA and
//!   DDP framing also cross the port).
//! * **latency**: one FPDU alone; cycles from the edge that accepts its last
//!   beat to the edge that accepts its first AW and its first W beat. The
//!   FPDU is store-and-forward (its CRC is only known at its end), so this is
//!   the time to judge it: descriptor FIFO, lookups, checks, placement start.
//!
//! `NIC_RX_BENCH_SEGMENTS` sets the segments per throughput cell (default 320).

use hdl::params::Params;
use sim::iwarp::frames::{self, Segment};
use testbench::nic_loop::Nic;

const REGION: u64 = 1 << 20;
const DMA_BASE: u64 = 0x4000_0000;

fn setup(width: u32) -> (Nic, u32) {
    let params = Params::new([("data-width", width as u64)]).unwrap();
    let mut n = Nic::new(&params, "nic_rx_bench");
    n.reset(1);
    n.create_conn(1, 9);
    let stag = n.register(DMA_BASE, 0, REGION, 9);
    (n, stag)
}

fn payload(seg: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + seg * 7 + 3) as u8).collect()
}

/// Payload bytes per clock for `count` back-to-back Writes of `len` bytes.
fn rate(width: u32, len: usize, count: usize) -> f64 {
    let (mut n, stag) = setup(width);
    for s in 0..count {
        let to = (s * len) as u64 % REGION;
        n.rx.push_back((1, frames::fpdu(&Segment::write(stag, to, payload(s, len)))));
    }
    let mut idle = 0;
    while !n.rx.is_empty() || idle < 2000 {
        n.cycle();
        idle = if n.rx.is_empty() { idle + 1 } else { 0 };
    }
    assert_eq!(n.get("cnt_placed") as usize, count, "every Write placed");
    for s in 0..count {
        let to = (s * len) as u64 % REGION;
        let want = payload(s, len);
        for (i, b) in want.iter().enumerate() {
            assert_eq!(
                n.mem.get(&(DMA_BASE + to + i as u64)),
                Some(b),
                "segment {s} byte {i}"
            );
        }
    }
    // The last quarter only: by then the FIFOs in front of the judge are
    // full and the port runs at the pipeline's steady rate.
    let from = count * 3 / 4;
    let cycles = n.rx_last_at[count - 1] - n.rx_last_at[from];
    ((count - 1 - from) * len) as f64 / cycles as f64
}

/// (last beat in -> first AW, -> first W) for one FPDU alone.
fn latency(width: u32, len: usize) -> (u64, u64) {
    let (mut n, stag) = setup(width);
    n.rx.push_back((
        1,
        frames::fpdu(&Segment::write(stag, 0x100, payload(0, len))),
    ));
    for _ in 0..(len / (width as usize / 8) + 400) {
        n.cycle();
    }
    assert_eq!(n.get("cnt_placed"), 1);
    let t = n.rx_last_at[0];
    (n.aw_at[0] - t, n.w_first_at[0] - t)
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: keep it quick then.
    let full = std::env::args().any(|a| a == "--bench");
    let count: usize = std::env::var("NIC_RX_BENCH_SEGMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 320 } else { 8 });
    println!("| data width | payload | bytes/clock | of the width | last beat in -> first AW | -> first W |");
    println!("|---|---|---|---|---|---|");
    for width in [64u32, 128, 256] {
        for len in [64usize, 256, 1024, 4096] {
            let r = rate(width, len, count);
            let (aw, w) = latency(width, len);
            println!(
                "| {width} | {len} B | {r:.2} | {:.0} % | {aw} | {w} |",
                100.0 * r / (width as f64 / 8.0)
            );
        }
    }
}
