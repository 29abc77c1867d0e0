//! A first light through `nic_rx`: one connection, one region, a Write, a
//! Send and a bad Write, with a cycle loop and no back-pressure. The full
//! directed and random tests are in `nic_rx.rs`.

use hdl::params::Params;
use sim::iwarp::frames::{self, Opcode, Segment};
use testbench::nic_loop::Nic;

#[test]
fn write_send_and_a_bad_write() {
    let (mut n, stag) = setup("nic_rx_smoke");
    let data: Vec<u8> = (0..100u32).map(|i| (i * 7 + 1) as u8).collect();
    n.rx.push_back((3, frames::fpdu(&Segment::write(stag, 0x5013, data.clone()))));
    let sdata: Vec<u8> = (0..40u32).map(|i| (i * 3 + 5) as u8).collect();
    n.rx.push_back((
        3,
        frames::fpdu(&Segment::send(Opcode::Send, 0, 1, sdata.clone())),
    ));
    // Out of bounds: one byte past the region.
    n.rx.push_back((
        3,
        frames::fpdu(&Segment::write(stag, 0x5000 + 4096 - 10, vec![1; 11])),
    ));
    for _ in 0..2000 {
        n.cycle();
    }
    for (i, b) in data.iter().enumerate() {
        assert_eq!(n.mem.get(&(0x1013 + i as u64)), Some(b), "write byte {i}");
    }
    for (i, b) in sdata.iter().enumerate() {
        assert_eq!(n.mem.get(&(0x9000 + i as u64)), Some(b), "send byte {i}");
    }
    assert_eq!(n.mem.len(), 140, "nothing else written");
    assert_eq!(n.get("cnt_placed"), 2);
    assert_eq!(n.get("cnt_check_9"), 1);
    assert_eq!(n.get("cnt_terminates"), 1);
    assert_eq!(n.tx.len(), 1);
    let t = frames::parse_fpdu(&n.tx[0]).expect("a Terminate FPDU");
    assert_eq!(t.opcode(), Some(Opcode::Terminate));
    assert!(n.misses.is_empty());
}

/// A NIC with connections 3 and 4 (PD 5), a 256-byte receive buffer
/// posted on 3 at 0x9000, and one region: DMA 0x1000, TO 0x5000, 4 KiB.
fn setup(test: &str) -> (Nic, u32) {
    let mut n = Nic::new(&Params::default(), test);
    n.reset(1);
    n.create_conn(3, 5);
    n.create_conn(4, 5);
    assert_eq!(n.conn_cmd(2, 3, &[("addr", 0x9000), ("len", 256)]), 0);
    let stag = n.register(0x1000, 0x5000, 4096, 5);
    (n, stag)
}

#[test]
fn park_install_release_in_order() {
    let (mut n, own) = setup("nic_rx_smoke_park");
    let foreign = (2u32 << 28) | (7 << 8) | 3;
    // conn 3: two Writes to the foreign STag, then one to its own region.
    n.rx.push_back((
        3,
        frames::fpdu(&Segment::write(foreign, 0x100, vec![0xaa; 50])),
    ));
    n.rx.push_back((
        3,
        frames::fpdu(&Segment::write(foreign, 0x132, vec![0xbb; 30])),
    ));
    n.rx.push_back((
        3,
        frames::fpdu(&Segment::write(own, 0x5000, vec![0xcc; 20])),
    ));
    // conn 4 keeps flowing.
    n.rx.push_back((
        4,
        frames::fpdu(&Segment::write(own, 0x5100, vec![0xdd; 20])),
    ));
    for _ in 0..1000 {
        n.cycle();
    }
    assert_eq!(n.misses, vec![(foreign, 3)]);
    assert_eq!(n.get("hold_count"), 3);
    assert_eq!(n.get("cnt_placed"), 1, "conn 4's Write only");
    assert_eq!(n.mem.len(), 20);
    let (st, _) = n.stag_cmd(
        3,
        foreign,
        &[
            ("dma_base", 0x20000),
            ("va_base", 0x100),
            ("length", 0x100),
            ("pd", 5),
            ("rights", 0xf),
            ("remote_inv", 1),
        ],
    );
    assert_eq!(st, 0);
    for _ in 0..1000 {
        n.cycle();
    }
    assert_eq!(n.get("hold_count"), 0);
    assert_eq!(n.get("cnt_placed"), 4);
    assert_eq!(n.mem.len(), 120);
    assert_eq!(n.mem.get(&0x20000), Some(&0xaa));
    assert_eq!(n.mem.get(&0x20032), Some(&0xbb));
    assert_eq!(n.mem.get(&0x1000), Some(&0xcc));
    assert_eq!(n.misses.len(), 1);
}

#[test]
fn park_reject_discard() {
    let (mut n, _own) = setup("nic_rx_smoke_reject");
    let foreign = (2u32 << 28) | (7 << 8) | 3;
    n.rx.push_back((
        3,
        frames::fpdu(&Segment::write(foreign, 0x100, vec![0xaa; 50])),
    ));
    n.rx.push_back((
        3,
        frames::fpdu(&Segment::write(foreign, 0x132, vec![0xbb; 30])),
    ));
    for _ in 0..500 {
        n.cycle();
    }
    assert_eq!(n.misses, vec![(foreign, 3)]);
    n.set("s_reject_valid", 1);
    n.set("s_reject_stag", foreign as u64);
    n.cycle();
    n.set("s_reject_valid", 0);
    for _ in 0..500 {
        n.cycle();
    }
    assert_eq!(n.get("hold_count"), 0);
    assert_eq!(n.mem.len(), 0);
    assert_eq!(n.get("cnt_check_5"), 1);
    assert_eq!(
        n.get("cnt_check_1"),
        1,
        "the second one: connection in Error"
    );
    assert_eq!(n.tx.len(), 1);
}

#[test]
fn send_with_invalidate_then_write_refused() {
    let (mut n, own) = setup("nic_rx_smoke_sinv");
    n.rx.push_back((
        3,
        frames::fpdu(&Segment::send(Opcode::SendInv, own, 1, vec![0x11; 16])),
    ));
    n.rx.push_back((3, frames::fpdu(&Segment::write(own, 0x5000, vec![0x22; 8]))));
    for _ in 0..1000 {
        n.cycle();
    }
    assert_eq!(n.get("cnt_placed"), 1);
    assert_eq!(
        n.get("cnt_check_5"),
        1,
        "the Write names an invalidated STag"
    );
    assert_eq!(n.mem.len(), 16);
    assert_eq!(
        n.invals,
        vec![(own, 3)],
        "one invalidation event for the driver"
    );
}

/// Frames both ways through the NIC into a pcap that tshark's iWARP
/// dissectors decode with no error: Writes, a Send, a multi-segment Write
/// and an out-of-bounds Write whose Terminate comes back.
#[test]
fn a_session_in_a_pcap_decodes_cleanly() {
    use sim::iwarp::pcap::{tshark, tshark_clean_decode};
    use sim::iwarp::{Capture, MpaRev, Peer, TcpConn};
    let (mut n, own) = setup("nic_rx_smoke_pcap");
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("nic_rx")
        .join("session.pcap");
    let cap = Capture::create(&path).unwrap().shared();
    let mut peer = Peer::new(3).with_mulpdu(512);
    peer.attach_capture(
        cap.clone(),
        TcpConn::numbered(3),
        MpaRev::V2 { ird: 16, ord: 16 },
    );
    let mut fpdus = Vec::new();
    fpdus.extend(peer.write(own, 0x5000, &[0x11; 100]));
    fpdus.extend(peer.send(&[0x22; 60]));
    fpdus.extend(peer.write(own, 0x5100, &[0x33; 1500]));
    fpdus.extend(peer.write(own, 0x5000 + 4090, &[0x44; 7]));
    let sent = fpdus.len();
    for f in fpdus {
        n.rx.push_back((3, f));
    }
    for _ in 0..3000 {
        n.cycle();
    }
    assert_eq!(n.tx.len(), 1, "one Terminate");
    let t = peer.on_tx(&n.tx[0]).expect("a Terminate the peer accepts");
    assert_eq!(t.code(), (1, 1, 0x01), "DDP base or bounds");
    assert_eq!(n.mem.len(), 100 + 60 + 1500);
    cap.lock().unwrap().flush().unwrap();
    tshark_clean_decode(&path, sent + 1);
    let codes = tshark(
        &[
            "-Y",
            "iwarp_rdma.opcode == 7",
            "-T",
            "fields",
            "-e",
            "iwarp_rdma.term_layer",
            "-e",
            "iwarp_rdma.term_etype_ddp",
            "-e",
            "iwarp_rdma.term_errcode_ddp_tagged",
        ],
        &path,
    );
    assert_eq!(
        codes.trim(),
        "0x01\t0x01\t0x01",
        "tshark reads the Terminate's layer, type and code"
    );
}
