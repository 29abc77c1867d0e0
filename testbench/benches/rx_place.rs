//! Placement rate of `rx_place` with no back-pressure anywhere: payload
//! bytes per clock for back-to-back descriptors of 64 B, 256 B, 1 KiB and
//! 4 KiB, aligned and unaligned, at 64, 128 and 256 bits (max burst 16,
//! queue depth 8, B response the cycle after the last W beat):
//! `cargo bench -p testbench --bench rx_place`. Prints a Markdown table.
//!
//! Cycles are counted from the first descriptor's handshake to the last
//! completion's, so per-descriptor start-up and the final B round trip are
//! included; `RX_PLACE_BENCH_DESCS` sets the descriptors per cell (default 200).

use hdl::blocks::rx_place::{elaborate, RxPlaceParams};
use hdl::design::Design;
use sim::axi::{step_all, AxiWriteSlave};
use sim::axis::{AxisFrame, AxisSource};
use sim::hostmem;

/// Cycles to place `n` descriptors of `len` bytes at `offset` past a bus
/// word, each on its own 64 KiB-aligned region.
fn measure(width: u32, len: u32, offset: u64, n: usize) -> u64 {
    let p = RxPlaceParams {
        name: format!("rx_place_w{width}_b16"),
        data_width: width,
        addr_bits: 64,
        max_burst: 16,
        queue_depth: 8,
    };
    let mut d = Design::default();
    d.add(&elaborate(&p).unwrap()).unwrap();
    let mut m = testbench::dut::load(&d, &p.name, "rx_place_bench").unwrap();
    let port = |n: &str| m.port(n).unwrap();
    let (rst, valid, ready, addr, dlen, drop, done_valid, done_ready) = (
        port("rst"),
        port("s_desc_valid"),
        port("s_desc_ready"),
        port("s_desc_addr"),
        port("s_desc_len"),
        port("s_desc_drop"),
        port("m_done_valid"),
        port("m_done_ready"),
    );
    m.set(rst, 1);
    m.step_n(2);
    m.set(rst, 0);
    let mut src = AxisSource::new(&m, "s_axis_data").unwrap();
    let mut wr = AxiWriteSlave::new(&m, "m_axi", hostmem::shared()).unwrap();
    for i in 0..n {
        src.send(AxisFrame::new(vec![i as u8; len as usize]));
    }
    m.set(done_ready, 1);
    m.set(drop, 0);
    m.set(dlen, len as u64);
    let (mut sent, mut done, mut first) = (0, 0, None);
    let mut cycle = 0;
    while done < n {
        m.set(valid, (sent < n) as u64);
        m.set(addr, 0x1_0000_0000 + ((sent as u64) << 16) + offset);
        cycle = step_all(&mut m, &mut [&mut src, &mut wr]).unwrap();
        if sent < n && m.get(ready) == 1 {
            first.get_or_insert(cycle);
            sent += 1;
        }
        done += m.get(done_valid) as usize;
        assert!(cycle < 10_000_000, "stuck");
    }
    cycle - first.unwrap() + 1
}

fn main() {
    let n: usize = std::env::var("RX_PLACE_BENCH_DESCS")
        .ok()
        .map_or(200, |v| v.parse().expect("RX_PLACE_BENCH_DESCS"));
    let sizes = [64u32, 256, 1024, 4096];
    println!(
        "\nrx_place: payload bytes per clock, {n} back-to-back descriptors, no back-pressure\n"
    );
    print!("| bus | start |");
    for s in sizes {
        print!(" {s} B |");
    }
    println!(" bus peak |");
    println!("|---|---|{}---:|", "---:|".repeat(sizes.len()));
    for width in [64u32, 128, 256] {
        for offset in [0u64, 3] {
            print!(
                "| {width}-bit | {} |",
                if offset == 0 {
                    "aligned"
                } else {
                    "addr % bus = 3"
                }
            );
            for len in sizes {
                let cycles = measure(width, len, offset, n);
                print!(" {:.2} |", (len as u64 * n as u64) as f64 / cycles as f64);
            }
            println!(" {} |", width / 8);
        }
    }
}
