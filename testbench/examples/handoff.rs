//! The handoff demo: a connection moves from NIC 0 to NIC 1 of a 2-NIC
//! `system` (the generated Verilog, simulated by Verilator) while the peer
//! keeps writing to the STag NIC 0 gave it.
//!
//! `cargo run --release -p testbench --example handoff [-- --out DIR]`
//!
//! 1. emits the Verilog of the default design into DIR (build/verilog);
//! 2. builds a small 2-NIC `system` (16 STag entries, 16 connections);
//! 3. the driver model registers a region at NIC 0 and creates the
//!    connection there; the peer's Writes are placed through NIC 0;
//! 4. the driver moves the connection to NIC 1 (export, import);
//! 5. the peer's next Writes, still carrying NIC 0's STag, reach NIC 1,
//!    park, raise a miss event; the driver queries NIC 0 and installs the
//!    mapping at NIC 1 (claim 1), which places them; every step is printed
//!    with its cycle;
//! 6. a Write with a STag no NIC ever generated is rejected (claim 8): a
//!    Terminate goes back to the peer, nothing is written;
//! 7. the same kind of miss in direct mode, resolved by the hardware with
//!    no CPU.
//!
//! Every byte is checked against what the peer meant; the demo exits with
//! an error if one is wrong.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use hdl::params::Params;
use sim::driver::{
    ConnCode, ConnOp, ConnState, Driver, DriverConfig, HostBus, Region, Resolve, Step,
};
use sim::iwarp::frames::Segment;
use testbench::system_bench::{small_params, SystemBench};

const PD: u32 = 0x42;
const CONN: u16 = 3;

/// Serve interrupts until the rx streams are drained and 300 cycles pass
/// quietly.
fn run(b: &mut SystemBench, d: &mut Driver) -> Result<()> {
    let mut quiet = 0;
    while quiet < 300 {
        if b.irq() {
            d.service(b).context("driver")?;
            b.steps(2);
            quiet = 0;
        } else {
            b.step();
            quiet = if b.src.iter().all(|s| s.idle()) {
                quiet + 1
            } else {
                0
            };
        }
    }
    Ok(())
}

/// Print the claim steps logged since the last call.
fn print_log(d: &mut Driver) {
    for e in d.log() {
        if matches!(e.step, Step::IrqSeen) {
            continue;
        }
        let nic = e.nic.map_or("   ".into(), |n| format!("NIC {n}"));
        println!("    cycle {:>7}  {nic}  {:?}", e.cycle, e.step);
    }
    d.clear_log();
}

/// The peer writes `n` bytes at `to` of `region` through `nic`; the bench
/// is told where they must land.
fn write(
    b: &mut SystemBench,
    nic: usize,
    stag: u32,
    region: &Region,
    to: u64,
    seq: u64,
) -> Vec<u8> {
    let bytes: Vec<u8> = (0..64u64).map(|i| (i * 7 + seq * 13) as u8).collect();
    b.expect_place(
        region.dma_base + (to - region.va_base),
        64,
        stag as u64,
        seq,
    );
    b.send(nic, CONN, &Segment::write(stag, to, bytes.clone()));
    bytes
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out = PathBuf::from("build/verilog");
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().context("--out needs a directory")?.into(),
            other => bail!("unknown argument `{other}` (usage: handoff [--out DIR])"),
        }
    }
    let p = small_params(2, 16);
    let design = hdl::design::standard(&Params::default())?;
    let files = design
        .write(&out, &Params::default())
        .with_context(|| format!("writing {}", out.display()))?;
    println!(
        "1. emitted {} files (Verilog, manifest, register map; default parameters) into {}",
        files.len(),
        out.display()
    );

    if std::process::Command::new("verilator")
        .arg("--version")
        .output()
        .is_err()
    {
        bail!(
            "Verilator is not installed: run `bash scripts/test.sh` once (it installs what is \
missing) or `sudo apt-get install verilator`"
        );
    }
    println!(
        "2. building a small 2-NIC system (16 STag entries, 16 connections each) with Verilator"
    );
    let mut b = SystemBench::new("handoff_demo", &p);
    let mut cfg = DriverConfig::new(2);
    cfg.resolve = Resolve::SingleQuery;
    cfg.irq_latency = 200;
    cfg.access_cost = 4;
    let mut d = Driver::new(cfg);
    d.init(&mut b)?;

    println!("3. region and connection at NIC 0; the peer writes through NIC 0");
    let region = Region::rw(0x10_0000, 0x7000_0000, 0x1000, PD);
    let stag = d.register_region(&mut b, 0, region)?;
    d.create_conn(&mut b, 0, CONN, PD, [1, 1, 1])?;
    let mut placed = Vec::new();
    for k in 0..2u64 {
        let to = region.va_base + k * 0x100;
        placed.push((to, 0, k, write(&mut b, 0, stag, &region, to, k)));
    }
    run(&mut b, &mut d)?;
    print_log(&mut d);

    println!("4. the driver moves connection {CONN} from NIC 0 to NIC 1");
    d.move_connection(&mut b, 0, 1, CONN)?;
    print_log(&mut d);

    println!("5. the peer keeps writing to STag {stag:#010x} (NIC 0's), now at NIC 1");
    for k in 2..5u64 {
        let to = region.va_base + k * 0x100;
        placed.push((to, 1, k, write(&mut b, 1, stag, &region, to, k)));
    }
    run(&mut b, &mut d)?;
    print_log(&mut d);
    for (to, nic, k, bytes) in &placed {
        b.assert_placed(
            region.dma_base + (to - region.va_base),
            bytes,
            *nic,
            stag as u64,
            *k,
        );
    }
    println!(
        "    all {} Writes landed where the peer meant, each once",
        placed.len()
    );

    println!("6. a Write with a STag no NIC generated (NIC 0, entry 9) reaches NIC 1");
    let bogus = 0x0000_0900 | 0x77;
    b.send(1, CONN, &Segment::write(bogus, 0x7000_0000, vec![0xee; 64]));
    run(&mut b, &mut d)?;
    print_log(&mut d);
    let terms = b.terminates(1);
    println!(
        "    NIC 1 sent {} Terminate(s) to the peer: {:?}",
        terms.len(),
        terms
    );
    if terms.len() != 1 {
        bail!("expected one Terminate for the rejected STag, got {terms:?}");
    }
    // The connection is in Error after a Terminate (RDMA's rule): recreate it.
    let fresh = ConnState {
        conn: CONN,
        pd: PD,
        msn: [1, 1, 1],
        ..ConnState::default()
    };
    let (code, _) = d.conn_command(&mut b, 1, ConnOp::Recreate, &fresh, 0)?;
    if code != ConnCode::Ok {
        bail!("RECREATE at NIC 1 answered {code:?}");
    }

    println!("7. direct mode at NIC 1: a second region of NIC 0, resolved by the hardware");
    let region2 = Region::rw(0x30_0000, 0x8000_0000, 0x1000, PD);
    let stag2 = d.register_region(&mut b, 0, region2)?;
    d.set_direct(&mut b, 1, true)?;
    print_log(&mut d);
    let bytes = write(&mut b, 1, stag2, &region2, region2.va_base, 100);
    run(&mut b, &mut d)?;
    print_log(&mut d);
    b.assert_placed(region2.dma_base, &bytes, 1, stag2 as u64, 100);
    let (installs, rejects) = b.direct_counts();
    println!(
        "    direct resolver: {installs} install(s), {rejects} reject(s); the driver only logged the miss \
(cycle counts: cargo bench -p testbench --bench resolve)"
    );
    b.assert_writes_within(&[
        region.dma_base..region.dma_base + region.length,
        region2.dma_base..region2.dma_base + region2.length,
    ]);
    b.finish();
    println!("done: no byte outside a granted region, every granted byte placed once");
    Ok(())
}
