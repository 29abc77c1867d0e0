//! `term_tx` in Verilator. The reference is `sim::iwarp::frames`, written
//! from RFC 5040/5041/5044 and checked against Linux siw and Wireshark:
//!
//! * every Terminate of SPEC's check table (each layer / type / code),
//!   without the offending header, with a tagged one, with an untagged one,
//!   and with an untagged Read Request header plus the R header, at 64, 128
//!   and 256 bits: the bytes equal `frames`' encoding, `Peer::on_tx`
//!   accepts them with the MSN in sequence per connection and decodes the
//!   same Terminate, `tuser` is the connection, and the beats come out at
//!   the documented cycles;
//! * random requests (any field values) with random request gaps and
//!   random `tready` back-pressure at every width, the stream protocol
//!   checked on every cycle;
//! * a pcap of the NIC's Terminates that tshark decodes without a
//!   malformed frame, a bad CRC or an error-level expert item.

use std::collections::VecDeque;
use std::path::PathBuf;

use hdl::blocks::term_tx::{elaborate, fpdu_len, TermTxParams};
use hdl::design::Design;
use rand::rngs::StdRng;
use rand::Rng;
use sim::axis::{AxisChecker, AxisSink, ReceivedFrame};
use sim::iwarp::frames::parse_fpdu;
use sim::iwarp::pcap::{tshark, tshark_clean_decode};
use sim::iwarp::{
    codes, fpdu, Capture, Control, DdpHeader, Header, MpaRev, Opcode, Peer, ReadRequest, Segment,
    TcpConn, TermCode, Terminate,
};
use sim::pattern::Pattern;
use sim::{Model, Port};
use testbench::{check_eq, rng, seed_from_env};

/// Every Terminate of SPEC's "Checks before any byte reaches host memory".
const SPEC_CODES: [(&str, TermCode); 17] = [
    ("LLP CRC", codes::LLP_CRC),
    ("LLP length", codes::LLP_LENGTH),
    ("DDP tagged invalid STag", codes::DDP_T_INVALID_STAG),
    ("DDP tagged base/bounds", codes::DDP_T_BASE_BOUNDS),
    ("DDP tagged not associated", codes::DDP_T_STAG_NOT_ASSOC),
    ("DDP tagged TO wrap", codes::DDP_T_TO_WRAP),
    ("DDP tagged version", codes::DDP_T_VERSION),
    ("DDP untagged QN", codes::DDP_UT_INVALID_QN),
    ("DDP untagged MSN no buffer", codes::DDP_UT_MSN_NOBUF),
    ("DDP untagged MSN range", codes::DDP_UT_MSN_RANGE),
    ("DDP untagged MO", codes::DDP_UT_INVALID_MO),
    ("DDP untagged too long", codes::DDP_UT_TOO_LONG),
    ("DDP untagged version", codes::DDP_UT_VERSION),
    ("RDMAP version", codes::RDMAP_VERSION),
    ("RDMAP opcode", codes::RDMAP_OPCODE),
    (
        "RDMAP cannot invalidate (protection)",
        codes::RDMAP_CANNOT_INVALIDATE_PROT,
    ),
    (
        "RDMAP cannot invalidate (operation)",
        codes::RDMAP_CANNOT_INVALIDATE_OP,
    ),
];

/// One request: the Terminate the block must send, and what to put on the
/// request ports the block must ignore (header bytes past the tagged
/// header's 14, the whole header without D, the Read Request without R).
#[derive(Clone, Debug)]
struct Request {
    conn: u16,
    msn: u32,
    term: Terminate,
    junk_hdr: [u8; 18],
    junk_rreq: [u8; 28],
}

impl Request {
    fn new(r: &mut StdRng, conn: u16, msn: u32, term: Terminate) -> Self {
        assert_eq!(term.m, term.d(), "the block sends M = D");
        Request {
            conn,
            msn,
            term,
            junk_hdr: r.gen(),
            junk_rreq: r.gen(),
        }
    }

    /// The FPDU the block must send.
    fn expected(&self) -> Vec<u8> {
        fpdu(&Segment::terminate(self.msn, self.term.clone()))
    }
}

/// Bytes to words, byte i in bits 8i+7:8i.
fn words(bytes: &[u8]) -> Vec<u64> {
    let mut w = vec![0u64; bytes.len().div_ceil(8)];
    for (i, b) in bytes.iter().enumerate() {
        w[i / 8] |= (*b as u64) << (8 * (i % 8));
    }
    w
}

struct ReqPorts {
    valid: Port,
    ready: Port,
    conn: Port,
    msn: Port,
    layer: Port,
    etype: Port,
    ecode: Port,
    hdr_valid: Port,
    hdr_tagged: Port,
    seg_len: Port,
    hdr: Port,
    rreq_valid: Port,
    rreq: Port,
}

struct Bench {
    m: Model,
    rst: Port,
    req: ReqPorts,
    sink: AxisSink,
    checker: AxisChecker,
    lanes: usize,
}

impl Bench {
    fn new(width: u32, test: &str) -> Bench {
        let params = TermTxParams {
            name: format!("term_tx_w{width}"),
            data_width: width,
            conn_bits: 16,
        };
        let mut design = Design::default();
        design.add(&elaborate(&params).unwrap()).unwrap();
        let m: Model = testbench::dut::load(&design, &params.name, test).unwrap();
        let p = |n: &str| m.port(n).unwrap();
        let req = ReqPorts {
            valid: p("s_term_valid"),
            ready: p("s_term_ready"),
            conn: p("s_term_conn"),
            msn: p("s_term_msn"),
            layer: p("s_term_layer"),
            etype: p("s_term_etype"),
            ecode: p("s_term_ecode"),
            hdr_valid: p("s_term_hdr_valid"),
            hdr_tagged: p("s_term_hdr_tagged"),
            seg_len: p("s_term_seg_len"),
            hdr: p("s_term_hdr"),
            rreq_valid: p("s_term_rreq_valid"),
            rreq: p("s_term_rreq"),
        };
        let rst = p("rst");
        let sink = AxisSink::new(&m, "m_axis").unwrap();
        let checker = AxisChecker::new(&m, "m_axis").unwrap();
        let mut b = Bench {
            m,
            rst,
            req,
            sink,
            checker,
            lanes: (width / 8) as usize,
        };
        b.m.set(b.rst, 1);
        b.m.step_n(2);
        b.m.set(b.rst, 0);
        b
    }

    fn drive(&mut self, r: &Request) {
        let (m, p, t) = (&mut self.m, &self.req, &r.term);
        m.set(p.valid, 1);
        m.set(p.conn, r.conn as u64);
        m.set(p.msn, r.msn as u64);
        m.set(p.layer, t.layer as u64);
        m.set(p.etype, t.etype as u64);
        m.set(p.ecode, t.ecode as u64);
        let mut hdr = r.junk_hdr.to_vec();
        m.set(p.hdr_valid, t.d() as u64);
        match &t.ddp {
            Some((seg_len, h)) => {
                let mut b = Vec::new();
                h.encode(&mut b);
                hdr[..b.len()].copy_from_slice(&b);
                m.set(p.seg_len, *seg_len as u64);
                m.set(p.hdr_tagged, h.ddp.is_tagged() as u64);
            }
            None => {
                m.set(p.seg_len, u16::from_le_bytes([hdr[0], hdr[1]]) as u64);
                m.set(p.hdr_tagged, (hdr[2] & 1) as u64);
            }
        }
        m.set_wide(p.hdr, &words(&hdr));
        let mut rreq = r.junk_rreq.to_vec();
        if let Some(rr) = &t.rdma {
            rreq.clear();
            rr.encode(&mut rreq);
        }
        m.set(p.rreq_valid, t.r() as u64);
        m.set_wide(p.rreq, &words(&rreq));
    }

    /// Send `reqs` in order (a request is offered in a cycle with
    /// probability `offer`; once offered it stays until taken), with the
    /// sink's `tready` pattern `pause`. Returns, per request, the cycle it
    /// was taken and the frame received.
    fn run(
        &mut self,
        reqs: &[Request],
        offer: f64,
        pause: Pattern,
        r: &mut StdRng,
    ) -> Vec<(u64, ReceivedFrame)> {
        self.sink.set_pause(pause);
        let mut queue: VecDeque<&Request> = reqs.iter().collect();
        let mut taken = Vec::new();
        let mut frames = Vec::new();
        let mut offered = false;
        let start = self.m.cycle();
        let before = self.sink.frames_received();
        while frames.len() < reqs.len() {
            let cycle = self.m.cycle();
            assert!(
                cycle - start < 200 * reqs.len() as u64 + 1000,
                "cycle {cycle}: stuck with {} frames of {} received",
                frames.len(),
                reqs.len()
            );
            if !offered && !queue.is_empty() && r.gen_bool(offer) {
                self.drive(queue[0]);
                offered = true;
            }
            if !offered {
                self.m.set(self.req.valid, 0);
            }
            self.sink.drive(&mut self.m);
            self.m.step();
            let cycle = self.m.cycle();
            self.sink.sample(&self.m, cycle).unwrap();
            self.checker.sample(&self.m, cycle).unwrap();
            if offered && self.m.get(self.req.ready) == 1 {
                queue.pop_front();
                taken.push(cycle);
                offered = false;
            }
            while let Some(f) = self.sink.recv_timed() {
                frames.push(f);
            }
        }
        assert!(queue.is_empty() && self.sink.idle());
        // Nothing more comes out.
        self.m.set(self.req.valid, 0);
        for _ in 0..20 {
            self.sink.drive(&mut self.m);
            self.m.step();
            let cycle = self.m.cycle();
            self.sink.sample(&self.m, cycle).unwrap();
            self.checker.sample(&self.m, cycle).unwrap();
        }
        assert_eq!(
            self.sink.frames_received() - before,
            reqs.len() as u64,
            "extra frames"
        );
        taken.into_iter().zip(frames).collect()
    }

    /// Check each frame against its request: bytes, tuser. Returns the bytes.
    fn check(&self, reqs: &[Request], got: &[(u64, ReceivedFrame)]) -> Vec<Vec<u8>> {
        reqs.iter()
            .zip(got)
            .map(|(req, (_, f))| {
                let exp = req.expected();
                check_eq(
                    f.last_cycle,
                    &format!("FPDU bytes of {:?} (MSN {})", req.term, req.msn),
                    hex(&exp),
                    hex(&f.frame.data),
                );
                check_eq(
                    f.first_cycle,
                    "tuser (connection)",
                    req.conn as u64,
                    f.frame.user,
                );
                check_eq(
                    f.last_cycle,
                    "tuser on the last beat",
                    req.conn as u64,
                    f.last_user,
                );
                check_eq(
                    f.last_cycle,
                    "beats",
                    exp.len().div_ceil(self.lanes) as u64,
                    f.beats,
                );
                f.frame.data.clone()
            })
            .collect()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The offending headers the table test uses.
fn write_header() -> (u16, Header) {
    let s = Segment::write(0x0F00_0123, 0x0000_7fff_ffff_ff40, vec![0; 64]);
    (64, s.header())
}
fn send_inv_header() -> (u16, Header) {
    let s = Segment::send(Opcode::SendInv, 0x0100_0207, 5, vec![0; 12]);
    (12, s.header())
}
fn read_request() -> (u16, Header, ReadRequest) {
    let rr = ReadRequest {
        sink_stag: 0x0900_0001,
        sink_to: 0x1234_5678_9abc_def0,
        size: 4096,
        src_stag: 0x0100_0207,
        src_to: 0x7000,
    };
    // As siw reports it: the DDP segment length is the payload after the
    // DDP header, 0 for a Read Request.
    (0, Segment::read_request(3, rr).header(), rr)
}

/// The four forms of one code: no header, tagged, untagged, Read Request.
fn forms(code: TermCode) -> Vec<Terminate> {
    let t = Terminate::new(code);
    let (rr_len, rr_hdr, rr) = read_request();
    vec![
        t.clone(),
        Terminate {
            m: true,
            ddp: Some(write_header()),
            ..t.clone()
        },
        Terminate {
            m: true,
            ddp: Some(send_inv_header()),
            ..t.clone()
        },
        Terminate {
            m: true,
            ddp: Some((rr_len, rr_hdr)),
            rdma: Some(rr),
            ..t
        },
    ]
}

/// Every SPEC Terminate in every form, spread over three connections, each
/// with its own MSN sequence from 1; no back-pressure, back to back.
fn spec_table(width: u32, test: &str) {
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    let mut b = Bench::new(width, test);
    let conns = [7u16, 0x1234, 0xffff];
    let mut peers: Vec<Peer> = conns.iter().map(|&c| Peer::new(c as u32)).collect();
    let mut msn = [0u32; 3];
    let mut reqs = Vec::new();
    for (_, code) in SPEC_CODES {
        for t in forms(code) {
            let i = reqs.len() % 3;
            msn[i] += 1;
            reqs.push(Request::new(&mut r, conns[i], msn[i], t));
        }
    }
    let got = b.run(&reqs, 1.0, Pattern::never(), &mut r);
    let bytes = b.check(&reqs, &got);
    for (k, (req, fpdu)) in reqs.iter().zip(&bytes).enumerate() {
        let i = k % 3;
        let t = peers[i]
            .on_tx(fpdu)
            .unwrap_or_else(|e| panic!("peer rejects {:?}: {e}", req.term));
        assert_eq!(t, req.term, "peer decodes what was asked");
        assert_eq!(t.code(), (req.term.layer, req.term.etype, req.term.ecode));
    }
    // Timing: taken at edge k, first beat at k + 2, one beat per cycle.
    let lanes = (width / 8) as u64;
    for (req, (taken, f)) in reqs.iter().zip(&got) {
        let t = &req.term;
        let tagged = t.ddp.as_ref().is_some_and(|(_, h)| h.ddp.is_tagged());
        let beats = (fpdu_len(t.d(), tagged, t.r()) as u64).div_ceil(lanes);
        check_eq(f.first_cycle, "first beat cycle", taken + 2, f.first_cycle);
        check_eq(
            f.last_cycle,
            "last beat cycle",
            taken + 1 + beats,
            f.last_cycle,
        );
    }
    for (name, code) in SPEC_CODES {
        assert!(
            reqs.iter().filter(|q| q.term.code() == code).count() == 4,
            "{name}"
        );
    }
}

#[test]
fn spec_terminates_64_bits() {
    spec_table(64, "term_tx_spec_64");
}

#[test]
fn spec_terminates_128_bits() {
    spec_table(128, "term_tx_spec_128");
}

#[test]
fn spec_terminates_256_bits() {
    spec_table(256, "term_tx_spec_256");
}

fn random_header(r: &mut StdRng) -> Header {
    let ctrl = Control {
        last: r.gen(),
        ddp_version: r.gen_range(0..4),
        rdmap_version: r.gen_range(0..4),
        opcode: r.gen_range(0..16),
    };
    let ddp = if r.gen() {
        DdpHeader::Tagged {
            stag: r.gen(),
            to: r.gen(),
        }
    } else {
        DdpHeader::Untagged {
            rsvd_ulp: r.gen(),
            qn: r.gen(),
            msn: r.gen(),
            mo: r.gen(),
        }
    };
    Header { ctrl, ddp }
}

fn random_terminate(r: &mut StdRng) -> Terminate {
    let d = r.gen_bool(0.6);
    Terminate {
        layer: r.gen_range(0..16),
        etype: r.gen_range(0..16),
        ecode: r.gen(),
        m: d,
        ddp: d.then(|| (r.gen(), random_header(r))),
        rdma: r.gen_bool(0.3).then(|| ReadRequest {
            sink_stag: r.gen(),
            sink_to: r.gen(),
            size: r.gen(),
            src_stag: r.gen(),
            src_to: r.gen(),
        }),
    }
}

/// Random requests, any field values, random gaps and back-pressure.
fn random(width: u32, n: usize, test: &str) {
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    let mut b = Bench::new(width, test);
    let reqs: Vec<Request> = (0..n)
        .map(|_| {
            let t = random_terminate(&mut r);
            let (conn, msn) = (r.gen(), r.gen());
            Request::new(&mut r, conn, msn, t)
        })
        .collect();
    // A few stretches with different pressure: a full-throughput run, then
    // random stalls on both sides.
    let (a, rest) = reqs.split_at(n / 4);
    let got = b.run(a, 1.0, Pattern::never(), &mut r);
    let mut bytes = b.check(a, &got);
    let got = b.run(rest, 0.6, Pattern::random(0.4, seed ^ 0x5eed), &mut r);
    bytes.extend(b.check(rest, &got));
    for (req, f) in reqs.iter().zip(&bytes) {
        let seg = parse_fpdu(f).unwrap_or_else(|e| panic!("{:?}: {e}", req.term));
        assert_eq!(seg, Segment::terminate(req.msn, req.term.clone()));
    }
}

#[test]
fn random_requests_64_bits() {
    random(64, 2000, "term_tx_random_64");
}

#[test]
fn random_requests_128_bits() {
    random(128, 2000, "term_tx_random_128");
}

#[test]
fn random_requests_256_bits() {
    random(256, 2000, "term_tx_random_256");
}

// ---------------------------------------------------------------------------------------
// tshark

/// The Terminates the receive pipeline sends, with the offending headers
/// Linux siw includes (none for LLP errors and for RDMAP version / opcode
/// errors, whose header layout is unknown), plus a Read Request error with
/// the R header.
fn siw_forms(code: TermCode) -> Vec<Terminate> {
    let t = Terminate::new(code);
    let with = |h: (u16, Header)| Terminate {
        m: true,
        ddp: Some(h),
        ..t.clone()
    };
    match code {
        (2, ..) | codes::RDMAP_VERSION | codes::RDMAP_OPCODE => vec![t.clone()],
        (1, 1, _) => vec![with(write_header())],
        _ => vec![with(send_inv_header())],
    }
}

#[test]
fn pcap_of_nic_terminates_decodes_cleanly_in_tshark() {
    let test = "term_tx_pcap";
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    let width = [64, 128, 256][r.gen_range(0..3)];
    eprintln!("[{test}] data width {width}");
    let mut b = Bench::new(width, test);
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("term_tx")
        .join("nic_terminates.pcap");
    let cap = Capture::create(&path).unwrap().shared();
    let mut peers = Vec::new();
    for (n, rev) in [(1u16, MpaRev::V1), (2, MpaRev::V2 { ird: 16, ord: 16 })] {
        let mut p = Peer::new(n as u32);
        p.attach_capture(cap.clone(), TcpConn::numbered(n), rev);
        peers.push(p);
    }
    let mut reqs = Vec::new();
    let mut msn = [0u32; 2];
    let mut terms: Vec<Terminate> = SPEC_CODES.iter().flat_map(|(_, c)| siw_forms(*c)).collect();
    let (rr_len, rr_hdr, rr) = read_request();
    terms.push(Terminate {
        m: true,
        ddp: Some((rr_len, rr_hdr)),
        rdma: Some(rr),
        ..Terminate::new((0, 1, 0x02))
    });
    for (k, t) in terms.into_iter().enumerate() {
        let i = k % 2;
        msn[i] += 1;
        reqs.push(Request::new(&mut r, i as u16 + 1, msn[i], t));
    }
    let got = b.run(&reqs, 0.7, Pattern::random(0.3, seed ^ 0xcafe), &mut r);
    let bytes = b.check(&reqs, &got);
    for (req, f) in reqs.iter().zip(&bytes) {
        let p = &mut peers[req.conn as usize - 1];
        assert_eq!(p.on_tx(f).unwrap(), req.term);
    }
    {
        let mut c = cap.lock().unwrap();
        c.flush().unwrap();
        assert_eq!(c.frames() as usize, 2 * 5 + reqs.len());
    }
    eprintln!("[{test}] pcap: {}", path.display());

    tshark_clean_decode(&path, reqs.len());

    // Per Terminate: DDP header (QN 2, MSN, MO 0, L) and layer / type / code.
    let t = tshark(
        &[
            "-Y",
            "iwarp_rdma.opcode == 7 && tcp.srcport == 7174",
            "-T",
            "fields",
            "-E",
            "occurrence=f",
            "-e",
            "tcp.dstport",
            "-e",
            "iwarp_ddp.last_flag",
            "-e",
            "iwarp_ddp.qn",
            "-e",
            "iwarp_ddp.msn",
            "-e",
            "iwarp_ddp.mo",
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
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), reqs.len(), "{t}");
    // tshark's order is the capture's: requests in the order sent.
    for (req, l) in reqs.iter().zip(lines) {
        let f: Vec<&str> = l.split('\t').collect();
        let port = 40000 + req.conn as u32;
        assert_eq!(f[0], port.to_string(), "{l}");
        let last = matches!(f[1], "1" | "True");
        assert!(last, "L flag: {l}");
        assert_eq!(
            (f[2], f[3], f[4]),
            ("2", req.msn.to_string().as_str(), "0"),
            "QN, MSN, MO: {l}"
        );
        let nums: Vec<u8> = f[5..]
            .iter()
            .filter(|x| !x.is_empty())
            .map(|x| u8::from_str_radix(x.trim_start_matches("0x"), 16).unwrap())
            .collect();
        let c = req.term.code();
        assert_eq!(nums, vec![c.0, c.1, c.2], "{l}");
    }
}
