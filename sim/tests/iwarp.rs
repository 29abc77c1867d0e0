//! iWARP remote-peer model: known answers, round trips, segmentation, MSNs, Terminate
//! read-back, and a pcap of every message type both ways checked by tshark.

use std::path::PathBuf;
use std::process::Command;

use sim::iwarp::crc32c::{crc32c, mpa_crc_bytes};
use sim::iwarp::frames::{
    check_mpa, fpdu_len, mpa_frame, pad_len, parse_ulpdu, segment_tagged, segment_untagged,
    MPA_FLAG_CRC, MPA_FLAG_ENHANCED, QN_READ_REQUEST, QN_SEND, QN_TERMINATE,
};
use sim::iwarp::pcap::{inet_checksum, tcp_checksum, tshark, tshark_clean_decode};
use sim::iwarp::{
    codes, fpdu, parse_fpdu, Body, Capture, Control, DdpHeader, Header, MpaFrame, MpaRev, Opcode,
    ParseError, Peer, PeerError, ReadRequest, Segment, TcpConn, Terminate,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn crc32c_known_answers_and_placement() {
    // RFC 3720 B.4.
    assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
    assert_eq!(crc32c(&(0u8..32).collect::<Vec<_>>()), 0x46DD_794E);
    assert_eq!(crc32c(&(0u8..32).rev().collect::<Vec<_>>()), 0x113F_DB5C);
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    // On the wire least significant byte first (RFC 3720 B.4 prints "aa 36 91 8a").
    assert_eq!(mpa_crc_bytes(&[0u8; 32]), [0xAA, 0x36, 0x91, 0x8A]);
    let f = mpa_frame(&[0u8; 30]); // 2 + 30 = 32 bytes covered, no pad
    assert_eq!(f.len(), 36);
    assert_eq!(&f[..2], &[0, 30]);
    assert_eq!(&f[32..], &crc32c(&f[..32]).to_le_bytes());
}

#[test]
fn write_fpdu_known_bytes() {
    let seg = Segment::write(0x1234_5678, 0x1122_3344_5566_7788, b"abc".to_vec());
    let f = fpdu(&seg);
    let body = hex("0011 c140 12345678 1122334455667788 616263 00");
    assert_eq!(&f[..body.len()], &body[..]);
    assert_eq!(f.len(), 24);
    assert_eq!(&f[20..], &crc32c(&f[..20]).to_le_bytes());
    assert_eq!(parse_fpdu(&f).unwrap(), seg);
}

#[test]
fn untagged_fpdus_known_bytes() {
    // Send with Invalidate, MSN 7, 2 bytes: ULPDU 20 -> pad 2.
    let f = fpdu(&Segment::send(
        Opcode::SendInv,
        0xAABB_CC01,
        7,
        vec![0xDE, 0xAD],
    ));
    let want = hex("0014 4144 aabbcc01 00000000 00000007 00000000 dead 0000");
    assert_eq!(&f[..want.len()], &want[..]);
    assert_eq!(f.len(), want.len() + 4);
    // Send, Send SE, Send SE with Invalidate control bytes.
    for (op, b1) in [
        (Opcode::Send, 0x43),
        (Opcode::SendSe, 0x45),
        (Opcode::SendSeInv, 0x46),
    ] {
        let f = fpdu(&Segment::send(op, 0, 1, vec![]));
        assert_eq!(&f[2..4], &[0x41, b1], "{op:?}");
    }
    // Read Response is tagged: 0xC1 0x42.
    assert_eq!(
        &fpdu(&Segment::read_response(1, 2, vec![1]))[2..4],
        &[0xC1, 0x42]
    );
    // Read Request: QN 1, 28-byte RDMAP header.
    let rr = ReadRequest {
        sink_stag: 0x0102_0304,
        sink_to: 0x10,
        size: 0x2000,
        src_stag: 0x0506_0708,
        src_to: 0x20,
    };
    let f = fpdu(&Segment::read_request(1, rr));
    let want = hex(
        "002e 4141 00000000 00000001 00000001 00000000 01020304 0000000000000010 00002000 05060708 0000000000000020",
    );
    assert_eq!(&f[..want.len()], &want[..]);
    assert_eq!(f.len(), 2 + 46 + 4); // no pad: 2 + 46 is a multiple of 4
                                     // Terminate, DDP tagged invalid STag with the offending tagged header (as siw sends).
    let off = Header {
        ctrl: Control::new(Opcode::Write, true),
        ddp: DdpHeader::Tagged {
            stag: 0xFEED_0001,
            to: 0x40,
        },
    };
    let t = Terminate {
        m: true,
        ddp: Some((64, off)),
        ..Terminate::new(codes::DDP_T_INVALID_STAG)
    };
    let f = fpdu(&Segment::terminate(1, t.clone()));
    let want = hex("0026 4147 00000000 00000002 00000001 00000000 1100c000 0040 c140 feed0001 0000000000000040");
    assert_eq!(&f[..want.len()], &want[..]);
    assert_eq!(f.len(), want.len() + 4);
    assert_eq!(parse_fpdu(&f).unwrap().body, Body::Terminate(t));
}

#[test]
fn round_trip_every_opcode() {
    let rr = ReadRequest {
        sink_stag: 9,
        sink_to: u64::MAX - 3,
        size: 77,
        src_stag: 0x8000_0011,
        src_to: 1 << 40,
    };
    let term = Terminate {
        m: true,
        ddp: Some((
            18,
            Header {
                ctrl: Control::new(Opcode::SendInv, true),
                ddp: DdpHeader::Untagged {
                    rsvd_ulp: 0x55,
                    qn: 0,
                    msn: 3,
                    mo: 0,
                },
            },
        )),
        rdma: Some(rr),
        ..Terminate::new(codes::RDMAP_CANNOT_INVALIDATE_OP)
    };
    let segs = vec![
        Segment::write(1, 2, (0..33).collect()),
        Segment::read_request(4, rr),
        Segment::read_response(3, 4, vec![]),
        Segment::send(Opcode::Send, 0, 1, vec![1, 2, 3, 4]),
        Segment::send(Opcode::SendInv, 0x77, 2, vec![5]),
        Segment::send(Opcode::SendSe, 0, 3, vec![6, 7]),
        Segment::send(Opcode::SendSeInv, 0x78, 4, vec![8, 9, 10]),
        Segment::terminate(1, term),
        Segment::terminate(2, Terminate::new(codes::LLP_CRC)),
    ];
    for s in segs {
        let f = fpdu(&s);
        assert_eq!(f.len() % 4, 0);
        assert_eq!(f.len(), fpdu_len(s.ulpdu().len()));
        assert_eq!(parse_fpdu(&f).as_ref(), Ok(&s));
        assert_eq!(parse_ulpdu(check_mpa(&f).unwrap()).as_ref(), Ok(&s));
    }
    assert_eq!(
        (0..8).map(pad_len).collect::<Vec<_>>(),
        vec![2, 1, 0, 3, 2, 1, 0, 3]
    );
}

#[test]
fn parse_errors_are_distinct_and_map_to_terminates() {
    let good = fpdu(&Segment::write(1, 0, vec![1, 2, 3, 4, 5]));
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 1;
    assert!(matches!(
        parse_fpdu(&bad_crc),
        Err(ParseError::BadCrc { .. })
    ));
    let mut bad_data = good.clone();
    bad_data[17] ^= 0x80;
    assert!(matches!(
        parse_fpdu(&bad_data),
        Err(ParseError::BadCrc { .. })
    ));
    assert_eq!(
        parse_fpdu(&bad_crc).unwrap_err().terminate_code(),
        Some(codes::LLP_CRC)
    );

    let short = &good[..good.len() - 4];
    assert!(matches!(
        parse_fpdu(short),
        Err(ParseError::LengthMismatch { .. })
    ));
    let mut long_len = good.clone();
    long_len[1] += 4;
    let e = parse_fpdu(&long_len).unwrap_err();
    assert!(matches!(e, ParseError::LengthMismatch { .. }));
    assert_eq!(e.terminate_code(), Some(codes::LLP_LENGTH));
    assert!(matches!(
        parse_fpdu(&[0, 0, 0]),
        Err(ParseError::TooShort { .. })
    ));

    let mut s = Segment::write(1, 0, vec![1]);
    s.ctrl.ddp_version = 0;
    let e = parse_fpdu(&fpdu(&s)).unwrap_err();
    assert_eq!(
        e,
        ParseError::BadDdpVersion {
            version: 0,
            tagged: true
        }
    );
    assert_eq!(e.terminate_code(), Some(codes::DDP_T_VERSION));
    let mut s = Segment::send(Opcode::Send, 0, 1, vec![1]);
    s.ctrl.ddp_version = 2;
    let e = parse_fpdu(&fpdu(&s)).unwrap_err();
    assert_eq!(
        e,
        ParseError::BadDdpVersion {
            version: 2,
            tagged: false
        }
    );
    assert_eq!(e.terminate_code(), Some(codes::DDP_UT_VERSION));

    let mut s = Segment::send(Opcode::Send, 0, 1, vec![1]);
    s.ctrl.rdmap_version = 0;
    let e = parse_fpdu(&fpdu(&s)).unwrap_err();
    assert_eq!(e, ParseError::BadRdmapVersion { version: 0 });
    assert_eq!(e.terminate_code(), Some(codes::RDMAP_VERSION));

    let mut s = Segment::send(Opcode::Send, 0, 1, vec![1]);
    s.ctrl.opcode = 9;
    assert_eq!(
        parse_fpdu(&fpdu(&s)),
        Err(ParseError::BadOpcode {
            opcode: 9,
            tagged: false
        })
    );
    // Tagged Send and untagged Write are illegal combinations of T and opcode.
    let mut s = Segment::write(1, 0, vec![1]);
    s.ctrl.opcode = Opcode::Send as u8;
    let e = parse_fpdu(&fpdu(&s)).unwrap_err();
    assert_eq!(
        e,
        ParseError::BadOpcode {
            opcode: 3,
            tagged: true
        }
    );
    assert_eq!(e.terminate_code(), Some(codes::RDMAP_OPCODE));
    let mut s = Segment::send(Opcode::Send, 0, 1, vec![1]);
    s.ctrl.opcode = Opcode::Write as u8;
    assert_eq!(
        parse_fpdu(&fpdu(&s)),
        Err(ParseError::BadOpcode {
            opcode: 0,
            tagged: false
        })
    );

    // Truncated DDP header: a 10-byte "tagged" ULPDU.
    let f = mpa_frame(&hex("c140 00000001 00000000"));
    assert!(matches!(
        parse_fpdu(&f),
        Err(ParseError::TruncatedHeader { need: 14, .. })
    ));
    // Read Request with a short body.
    let mut u = fpdu(&Segment::read_request(
        1,
        ReadRequest {
            sink_stag: 1,
            sink_to: 2,
            size: 3,
            src_stag: 4,
            src_to: 5,
        },
    ));
    u.truncate(2 + 18 + 20);
    u[1] = 38;
    let f = mpa_frame(&u[2..]);
    assert_eq!(
        parse_fpdu(&f),
        Err(ParseError::BadReadRequestLength { len: 20 })
    );
}

#[test]
fn segmentation_advances_to_mo_and_sets_last() {
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 31) as u8).collect();
    let segs = segment_tagged(Opcode::Write, 0xABCD, 0x1000, &data, 1000);
    assert_eq!(segs.len(), 6); // 986 payload bytes per segment
    let mut joined = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(s.ctrl.last, i == 5);
        assert_eq!(
            s.ddp,
            DdpHeader::Tagged {
                stag: 0xABCD,
                to: 0x1000 + (i * 986) as u64
            }
        );
        assert!(s.ulpdu().len() <= 1000);
        joined.extend_from_slice(s.data());
    }
    assert_eq!(joined, data);

    let segs = segment_untagged(Opcode::SendSeInv, 0x99, QN_SEND, 5, &data, 518); // 500 per segment
    assert_eq!(segs.len(), 10);
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(s.ctrl.last, i == 9);
        assert_eq!(
            s.ddp,
            DdpHeader::Untagged {
                rsvd_ulp: 0x99,
                qn: QN_SEND,
                msn: 5,
                mo: (i * 500) as u32
            }
        );
        assert_eq!(s.ulpdu().len(), 518);
    }
    // Zero-length message: one empty segment with L.
    let segs = segment_tagged(Opcode::ReadResponse, 1, 2, &[], 100);
    assert_eq!(segs.len(), 1);
    assert!(segs[0].ctrl.last && segs[0].data().is_empty());
    // TO wraps (so a TO-wrap test can be built), the NIC must reject it.
    let segs = segment_tagged(Opcode::Write, 1, u64::MAX - 9, &[0; 30], 14 + 10);
    assert_eq!(segs[1].ddp, DdpHeader::Tagged { stag: 1, to: 0 });
}

fn untagged(seg: &Segment) -> (u32, u32, u32, u32) {
    match seg.ddp {
        DdpHeader::Untagged {
            rsvd_ulp,
            qn,
            msn,
            mo,
        } => (rsvd_ulp, qn, msn, mo),
        _ => panic!("tagged"),
    }
}

#[test]
fn peer_keeps_msn_per_queue() {
    let mut p = Peer::new(3).with_mulpdu(100);
    let w = p.write(0x100, 0, &[7; 250]);
    assert_eq!(w.len(), 3);
    let msgs = [
        (p.send(&[1; 10]), Opcode::Send, 0),
        (p.send_inv(0x4242, &[2; 200]), Opcode::SendInv, 0x4242),
        (p.send_se(&[]), Opcode::SendSe, 0),
        (p.send_se_inv(0x4343, &[4]), Opcode::SendSeInv, 0x4343),
    ];
    for (i, (fpdus, op, inv)) in msgs.iter().enumerate() {
        for f in fpdus {
            let s = parse_fpdu(f).unwrap();
            assert_eq!(s.opcode(), Some(*op));
            let (r, qn, msn, _) = untagged(&s);
            assert_eq!((r, qn, msn), (*inv, QN_SEND, i as u32 + 1));
        }
    }
    assert_eq!(msgs[1].0.len(), 3); // 200 bytes in 82-byte pieces
    for want in 1..=2 {
        let s = parse_fpdu(&p.read_request(1, 2, 3, 4, 5)).unwrap();
        assert_eq!(untagged(&s), (0, QN_READ_REQUEST, want, 0));
        assert_eq!(
            s.body,
            Body::ReadRequest(ReadRequest {
                sink_stag: 1,
                sink_to: 2,
                size: 3,
                src_stag: 4,
                src_to: 5
            })
        );
    }
    let s = parse_fpdu(&p.terminate(Terminate::new(codes::RDMAP_OPCODE))).unwrap();
    assert_eq!(untagged(&s), (0, QN_TERMINATE, 1, 0));
    assert_eq!((p.next_msn(0), p.next_msn(1), p.next_msn(2)), (5, 3, 2));
    let rr = p.read_response(0x200, 0x10, &[9; 90]);
    assert_eq!(rr.len(), 2);
    assert_eq!(
        parse_fpdu(&rr[1]).unwrap().ddp,
        DdpHeader::Tagged {
            stag: 0x200,
            to: 0x10 + 86
        }
    );
    p.reset();
    assert_eq!(p.next_msn(0), 1);
}

/// A Terminate as the NIC would send it.
fn nic_terminate(msn: u32, t: Terminate) -> Vec<u8> {
    fpdu(&Segment::terminate(msn, t))
}

fn offending(seg: &Segment) -> Option<(u16, Header)> {
    Some((seg.data().len() as u16, seg.header()))
}

#[test]
fn peer_reads_back_terminates() {
    let mut p = Peer::new(0);
    let bad_write = Segment::write(0x0F00_0123, 0x40, vec![0; 64]);
    let t = Terminate {
        m: true,
        ddp: offending(&bad_write),
        ..Terminate::new(codes::DDP_T_INVALID_STAG)
    };
    let got = p.on_tx(&nic_terminate(1, t.clone())).unwrap();
    assert_eq!(got, t);
    assert_eq!(got.code(), (1, 1, 0));
    let (len, hdr) = got.ddp.unwrap();
    assert_eq!(len, 64);
    assert_eq!(
        hdr.ddp,
        DdpHeader::Tagged {
            stag: 0x0F00_0123,
            to: 0x40
        }
    );

    let t2 = Terminate::new(codes::LLP_CRC);
    assert_eq!(p.on_tx(&nic_terminate(2, t2.clone())), Ok(t2));
    // Out-of-sequence MSN.
    assert_eq!(
        p.on_tx(&nic_terminate(7, Terminate::new(codes::LLP_CRC))),
        Err(PeerError::BadTerminateMsn {
            expected: 3,
            got: 7
        })
    );
    // Not a Terminate.
    assert!(matches!(
        p.on_tx(&fpdu(&Segment::write(1, 2, vec![]))),
        Err(PeerError::NotTerminate(_))
    ));
    // Terminate on the wrong queue.
    let mut s = Segment::terminate(3, Terminate::new(codes::LLP_CRC));
    s.ddp = DdpHeader::Untagged {
        rsvd_ulp: 0,
        qn: 0,
        msn: 3,
        mo: 0,
    };
    assert!(matches!(
        p.on_tx(&fpdu(&s)),
        Err(PeerError::BadTerminateHeader(_))
    ));
    // Corrupt CRC from the NIC.
    let mut f = nic_terminate(3, Terminate::new(codes::LLP_CRC));
    f[5] ^= 1;
    assert!(matches!(
        p.on_tx(&f),
        Err(PeerError::Parse(ParseError::BadCrc { .. }))
    ));
    // R set without the 28 bytes (Linux siw does this for Send errors): reported, not guessed.
    let mut u = Segment::terminate(3, Terminate::new(codes::RDMAP_CANNOT_INVALIDATE_PROT)).ulpdu();
    u[20] |= 0x20;
    assert!(matches!(
        p.on_tx(&mpa_frame(&u)),
        Err(PeerError::Parse(ParseError::TerminateTruncated { .. }))
    ));
}

#[test]
fn mpa_start_frames() {
    let r = MpaFrame::v1(false, true, vec![]).encode();
    assert_eq!(
        r,
        [b"MPA ID Req Frame".as_slice(), &[0x40, 1, 0, 0]].concat()
    );
    let (req, rep) = MpaRev::V2 { ird: 16, ord: 8 }.frames();
    let r = req.encode();
    assert_eq!(
        r,
        [
            b"MPA ID Req Frame".as_slice(),
            &[MPA_FLAG_CRC | MPA_FLAG_ENHANCED, 2, 0, 4, 0, 16, 0, 8]
        ]
        .concat()
    );
    assert_eq!(MpaFrame::decode(&r), Some(req.clone()));
    assert_eq!(req.ird_ord(), Some((16, 8)));
    assert_eq!(rep.ird_ord(), Some((8, 16)));
    assert_eq!(&rep.encode()[..16], b"MPA ID Rep Frame");
    let p2p = MpaFrame::v2(false, false, 1, 1, true, b"x").encode();
    assert_eq!(&p2p[16..], &[0x10, 2, 0, 5, 0x80, 1, 0xC0, 1, b'x']);
}

#[test]
fn checksums_known_answers() {
    // RFC 1071-style example: IPv4 header from Wikipedia's "IPv4 header checksum" page.
    let h = hex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7");
    assert_eq!(inet_checksum(&h), 0xB861);
    let mut with = h.clone();
    with[10..12].copy_from_slice(&0xB861u16.to_be_bytes());
    assert_eq!(inet_checksum(&with), 0);
    // A TCP segment whose checksum is right sums to zero with the pseudo header.
    let mut conn = TcpConn::numbered(1);
    let f = conn.data(sim::iwarp::Dir::PeerToNic, b"hello").unwrap();
    let (ip, tcp) = (&f[14..34], &f[34..]);
    assert_eq!(inet_checksum(ip), 0);
    let src: [u8; 4] = ip[12..16].try_into().unwrap();
    let dst: [u8; 4] = ip[16..20].try_into().unwrap();
    assert_eq!(tcp_checksum(src, dst, tcp), 0);
}

// ---------------------------------------------------------------------------------------
// tshark

struct Expected {
    term_codes: Vec<(u8, u8, u8)>,
    peer_to_nic: Vec<u8>,
    nic_to_peer: Vec<u8>,
    fpdus: usize,
}

/// One connection: every message type from the peer, Terminates of every layer back.
fn drive(p: &mut Peer, e: &mut Expected) {
    let tx = |e: &mut Expected, fs: Vec<Vec<u8>>| {
        for f in fs {
            e.peer_to_nic.push(parse_fpdu(&f).unwrap().ctrl.opcode);
            e.fpdus += 1;
        }
    };
    tx(
        e,
        p.write(
            0x0100_0207,
            0x7000,
            &(0..3000u32).map(|i| i as u8).collect::<Vec<_>>(),
        ),
    );
    tx(e, p.write(0x0100_0207, 0x0, &[0xAB; 5]));
    tx(e, p.read_response(0x0200_0301, 0x10, &[0x55; 1500]));
    tx(e, p.send(b"hello, nic"));
    tx(e, p.send_inv(0x0100_0207, b"done with it"));
    tx(e, p.send_se(&[1, 2, 3]));
    tx(e, p.send_se_inv(0x0300_0401, &[]));
    tx(
        e,
        vec![p.read_request(0x0900_0001, 0x1234_0000, 4096, 0x0100_0207, 0x7000)],
    );
    tx(e, vec![p.terminate(Terminate::new(codes::RDMAP_OPCODE))]);

    let write = Segment::write(0x0F00_0123, 0x40, vec![0; 64]);
    let send_inv = Segment::send(Opcode::SendInv, 0x0100_0207, 2, vec![0; 12]);
    let rr = ReadRequest {
        sink_stag: 0x0900_0001,
        sink_to: 0x1234_0000,
        size: 4096,
        src_stag: 0x0100_0207,
        src_to: 0x7000,
    };
    let terms = [
        Terminate {
            m: true,
            ddp: offending(&write),
            ..Terminate::new(codes::DDP_T_INVALID_STAG)
        },
        Terminate {
            m: true,
            ddp: offending(&write),
            ..Terminate::new(codes::DDP_T_BASE_BOUNDS)
        },
        Terminate {
            m: true,
            ddp: offending(&send_inv),
            ..Terminate::new(codes::DDP_UT_MSN_NOBUF)
        },
        Terminate {
            m: true,
            ddp: offending(&send_inv),
            ..Terminate::new(codes::RDMAP_CANNOT_INVALIDATE_OP)
        },
        Terminate {
            m: true,
            ddp: Some((0, Segment::read_request(1, rr).header())),
            rdma: Some(rr),
            ..Terminate::new((0, 1, 0x02))
        },
        Terminate::new(codes::LLP_CRC),
    ];
    for (i, t) in terms.into_iter().enumerate() {
        let got = p.on_tx(&nic_terminate(i as u32 + 1, t.clone())).unwrap();
        assert_eq!(got, t);
        e.nic_to_peer.push(Opcode::Terminate as u8);
        e.term_codes.push(t.code());
        e.fpdus += 1;
    }
}

#[test]
fn pcap_of_all_message_types_decodes_cleanly_in_tshark() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("iwarp");
    let path = dir.join("all_messages.pcap");
    let cap = Capture::create(&path).unwrap().shared();
    let mut e = Expected {
        term_codes: vec![],
        peer_to_nic: vec![],
        nic_to_peer: vec![],
        fpdus: 0,
    };
    for (n, rev) in [(1u16, MpaRev::V1), (2, MpaRev::V2 { ird: 16, ord: 16 })] {
        let mut p = Peer::new(n as u32).with_mulpdu(1024);
        p.attach_capture(cap.clone(), TcpConn::numbered(n), rev);
        drive(&mut p, &mut e);
    }
    {
        let mut c = cap.lock().unwrap();
        c.flush().unwrap();
        assert_eq!(c.frames() as usize, 2 * 5 + e.fpdus);
    }
    eprintln!("pcap: {}", path.display());

    // Full decode: nothing malformed, no error-level expert info, every checksum and CRC good.
    let v = tshark_clean_decode(&path, e.fpdus);
    // IPv4 header and TCP checksums verified good on every frame.
    let frames = 2 * 5 + e.fpdus;
    assert_eq!(v.matches("[Header checksum status: Good]").count(), frames);
    assert_eq!(v.matches("[Checksum Status: Good]").count(), frames);
    assert_eq!(v.matches("Request frame header").count(), 2);
    assert_eq!(v.matches("Reply frame header").count(), 2);

    // The MPA start frames were recognised, both revisions.
    let mpa = tshark(
        &[
            "-Y",
            "iwarp_mpa.req || iwarp_mpa.rep",
            "-T",
            "fields",
            "-e",
            "iwarp_mpa.rev",
            "-e",
            "iwarp_mpa.crc_flag",
        ],
        &path,
    );
    let lines: Vec<&str> = mpa.lines().collect();
    assert_eq!(lines.len(), 4, "{mpa}");
    assert!(
        lines[0].starts_with("1\t") && lines[2].starts_with("2\t"),
        "{mpa}"
    );

    // Every FPDU decoded to DDP/RDMAP with the opcodes we sent, in order, per direction.
    let ops = tshark(
        &[
            "-Y",
            "iwarp_ddp_rdmap",
            "-T",
            "fields",
            "-e",
            "tcp.srcport",
            "-e",
            "iwarp_rdma.opcode",
            "-e",
            "iwarp_ddp.dv",
            "-e",
            "iwarp_rdma.version",
        ],
        &path,
    );
    let mut to_nic = vec![];
    let mut to_peer = vec![];
    for l in ops.lines() {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f.len(), 4, "{l}");
        let op = u8::from_str_radix(f[1].trim_start_matches("0x"), 16).unwrap();
        assert_eq!((f[2], f[3]), ("1", "1"), "{l}");
        if f[0] == "7174" {
            to_peer.push(op)
        } else {
            to_nic.push(op)
        }
    }
    assert_eq!(to_nic, e.peer_to_nic);
    assert_eq!(to_peer, e.nic_to_peer);

    // Terminate fields decoded: layer / error type / error code as we built them. tshark
    // puts the type and code in per-layer fields; exactly one of each is filled.
    let t = tshark(
        &[
            "-Y",
            "iwarp_rdma.opcode == 7 && tcp.srcport == 7174",
            "-T",
            "fields",
            "-e",
            "iwarp_rdma.term_layer",
            "-e",
            "iwarp_rdma.term_etype_rdma",
            "-e",
            "iwarp_rdma.term_etype_ddp",
            "-e",
            "iwarp_rdma.term_etype_llp",
            "-e",
            "iwarp_rdma.term_errcode_rdma",
            "-e",
            "iwarp_rdma.term_errcode_ddp_tagged",
            "-e",
            "iwarp_rdma.term_errcode_ddp_untagged",
            "-e",
            "iwarp_rdma.term_errcode_llp",
        ],
        &path,
    );
    let got: Vec<Vec<u8>> = t
        .lines()
        .map(|l| {
            l.split('\t')
                .filter(|f| !f.is_empty())
                .map(|f| u8::from_str_radix(f.trim_start_matches("0x"), 16).unwrap())
                .collect()
        })
        .collect();
    let want: Vec<Vec<u8>> = e.term_codes.iter().map(|c| vec![c.0, c.1, c.2]).collect();
    assert_eq!(got, want, "{t}");
    // Field names the bench relies on exist in this tshark.
    let fields = Command::new("tshark")
        .args(["-G", "fields"])
        .output()
        .unwrap();
    let fields = String::from_utf8_lossy(&fields.stdout);
    for f in [
        "iwarp_rdma.opcode",
        "iwarp_ddp.stag",
        "iwarp_ddp.msn",
        "iwarp_mpa.crc_check",
        "iwarp_rdma.inval_stag",
    ] {
        assert!(fields.contains(&format!("\t{f}\t")), "{f} missing");
    }
}
