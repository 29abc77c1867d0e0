//! `rx_verdict` in Verilator against the reference model
//! (`testbench::models::rx_verdict`, written from SPEC's check table).
//!
//! * `spec_table_rows`: for each row of SPEC's table, segments built with
//!   `sim::iwarp::frames` that fail only that check, plus passing Write,
//!   Read Response, Send, Send SE, Send with Invalidate (and SE), Read
//!   Request, a zero-length Write and a peer Terminate, back to back. Each
//!   must give exactly the listed action / Terminate, and every output must
//!   equal the model's.
//! * `random_*`: >= 200,000 random vectors biased to the boundaries (TO at
//!   the region's edges and at the 64-bit wrap, MSN off by one, PD equal or
//!   not, rights, every opcode / version / T combination, every lookup
//!   status), a random `in_valid` pattern, every output compared with the
//!   model every cycle. The seed is printed; `SEED=` replays, `WAVES=1`
//!   writes `target/waves/<test>.vcd`.

use std::collections::VecDeque;

use hdl::blocks::rx_verdict::{elaborate, RxVerdictParams, LATENCY};
use hdl::design::Design;
use rand::Rng;
use sim::iwarp::frames::Terminate as TermBody;
use sim::iwarp::frames::{codes, Body, Control, DdpHeader, Opcode, ReadRequest, Segment, TermCode};
use sim::{Model, Port};
use testbench::models::rx_verdict::{from_segment, lk, verdict, Action, Inputs, Outputs, Widths};
use testbench::{rng, seed_from_env};

struct Dut {
    m: Model,
    rst: Port,
    in_valid: Port,
    ins: Vec<Port>,
    outs: Vec<Port>,
}

const IN_NAMES: [&str; 20] = [
    "desc_length_ok",
    "desc_crc_ok",
    "desc_mpa_len",
    "desc_hdr",
    "desc_count",
    "conn_known",
    "conn_error",
    "conn_pd",
    "conn_msn_send",
    "conn_msn_rreq",
    "conn_rq_valid",
    "conn_rq_addr",
    "conn_rq_len",
    "lk_status",
    "lk_dma_base",
    "lk_va_base",
    "lk_length",
    "lk_pd",
    "lk_remote_write",
    "lk_remote_inv",
];

const OUT_NAMES: [&str; 18] = [
    "out_valid",
    "action",
    "reason",
    "term_layer",
    "term_etype",
    "term_ecode",
    "term_with_hdr",
    "term_with_rreq",
    "term_seg_len",
    "term_hdr",
    "place_addr",
    "place_len",
    "invalidate_after",
    "msn_advance_send",
    "msn_advance_rreq",
    "set_conn_error",
    "hdr_tagged",
    "hdr_stag",
];

/// `desc_hdr` words: header byte j in bits 8(17-j)+7 : 8(17-j).
fn hdr_words(h: &[u8; 18]) -> [u64; 3] {
    let mut w = [0u64; 3];
    for (j, b) in h.iter().enumerate() {
        let bit = 8 * (17 - j);
        w[bit / 64] |= (*b as u64) << (bit % 64);
    }
    w
}

impl Dut {
    fn load(w: &Widths, test: &str) -> Dut {
        let params = RxVerdictParams {
            name: format!(
                "rx_verdict_p{}_l{}_a{}",
                w.pd_bits, w.len_bits, w.dma_addr_bits
            ),
            pd_bits: w.pd_bits,
            len_bits: w.len_bits,
            dma_addr_bits: w.dma_addr_bits,
        };
        let mut design = Design::default();
        design.add(&elaborate(&params).unwrap()).unwrap();
        let m = testbench::dut::load(&design, &params.name, test).unwrap();
        let p = |n: &str| m.port(n).unwrap();
        Dut {
            rst: p("rst"),
            in_valid: p("in_valid"),
            ins: IN_NAMES.iter().map(|n| p(n)).collect(),
            outs: OUT_NAMES.iter().map(|n| p(n)).collect(),
            m,
        }
    }

    fn drive(&mut self, valid: bool, i: &Inputs) {
        let m = &mut self.m;
        let p = &self.ins;
        m.set(self.in_valid, valid as u64);
        m.set(p[0], i.length_ok as u64);
        m.set(p[1], i.crc_ok as u64);
        m.set(p[2], i.mpa_len as u64);
        m.set_wide(p[3], &hdr_words(&i.hdr));
        m.set(p[4], i.count as u64);
        m.set(p[5], i.conn_known as u64);
        m.set(p[6], i.conn_error as u64);
        m.set(p[7], i.conn_pd as u64);
        m.set(p[8], i.conn_msn_send as u64);
        m.set(p[9], i.conn_msn_rreq as u64);
        m.set(p[10], i.conn_rq_valid as u64);
        m.set(p[11], i.conn_rq_addr);
        m.set(p[12], i.conn_rq_len as u64);
        m.set(p[13], i.lk_status as u64);
        m.set(p[14], i.lk_dma_base);
        m.set(p[15], i.lk_va_base);
        m.set(p[16], i.lk_length);
        m.set(p[17], i.lk_pd as u64);
        m.set(p[18], i.lk_remote_write as u64);
        m.set(p[19], i.lk_remote_inv as u64);
    }

    fn reset(&mut self) {
        self.m.set(self.rst, 1);
        self.m.step_n(2);
        self.m.set(self.rst, 0);
    }

    /// Each output as (name, value as up to 144 bits), in OUT_NAMES order.
    fn sample(&self) -> Vec<u128> {
        self.outs
            .iter()
            .map(|p| {
                let w = self.m.get_wide(*p);
                let lo = w[0] as u128 | (w.get(1).copied().unwrap_or(0) as u128) << 64;
                lo
            })
            .collect()
    }

    fn term_hdr(&self) -> [u8; 18] {
        let w = self.m.get_wide(self.outs[9]);
        let mut h = [0u8; 18];
        for (i, b) in h.iter_mut().enumerate() {
            *b = (w[i / 8] >> (8 * (i % 8))) as u8;
        }
        h
    }
}

/// The model's outputs as the DUT's values, in OUT_NAMES order (term_hdr
/// compared separately).
fn expected_values(o: &Outputs) -> Vec<u128> {
    vec![
        1,
        o.action as u128,
        o.reason as u128,
        o.term.0 as u128,
        o.term.1 as u128,
        o.term.2 as u128,
        o.term_with_hdr as u128,
        o.term_with_rreq as u128,
        o.term_seg_len as u128,
        0, // term_hdr
        o.place_addr as u128,
        o.place_len as u128,
        o.invalidate_after as u128,
        o.msn_advance_send as u128,
        o.msn_advance_rreq as u128,
        o.set_conn_error as u128,
        o.tagged as u128,
        o.stag as u128,
    ]
}

/// Compare the DUT's current outputs with `exp` (None: out_valid must be 0).
fn compare(d: &Dut, exp: &Option<(Inputs, Outputs)>, what: &dyn Fn() -> String) {
    let got = d.sample();
    match exp {
        None => assert_eq!(got[0], 0, "{}: out_valid without a segment", what()),
        Some((i, o)) => {
            let want = expected_values(o);
            for (k, name) in OUT_NAMES.iter().enumerate() {
                if k == 9 {
                    continue;
                }
                assert!(
                    got[k] == want[k],
                    "{}: port {name}: expected {:#x}, got {:#x}\n  inputs {i:x?}\n  model {o:x?}",
                    what(),
                    want[k],
                    got[k]
                );
            }
            assert_eq!(d.term_hdr(), o.term_hdr, "{}: term_hdr", what());
        }
    }
}

/// Run `vectors` (None: in_valid low that cycle, random inputs) through the
/// DUT; every cycle's outputs are compared with the model.
fn run_vectors(
    d: &mut Dut,
    w: &Widths,
    vectors: &[(bool, Inputs)],
    label: &dyn Fn(usize) -> String,
) {
    d.reset();
    let mut pipe: VecDeque<Option<(usize, Inputs, Outputs)>> = (0..LATENCY).map(|_| None).collect();
    let idle = Inputs::default();
    for k in 0..vectors.len() + LATENCY as usize {
        let (valid, i) = vectors
            .get(k)
            .map(|(v, i)| (*v, i))
            .unwrap_or((false, &idle));
        d.drive(valid, i);
        d.m.step();
        pipe.push_back(valid.then(|| (k, i.clone(), verdict(w, i))));
        let exp = pipe.pop_front().unwrap();
        let idx = exp.as_ref().map(|e| e.0);
        let e2 = exp.map(|(_, i, o)| (i, o));
        compare(d, &e2, &|| {
            format!(
                "cycle {k}, {}",
                idx.map(label).unwrap_or_else(|| "idle".into())
            )
        });
    }
}

// ---------------------------------------------------------------------------
// Directed: SPEC's table, row by row
// ---------------------------------------------------------------------------

const PD: u32 = 0x2a;
const STAG: u32 = 0x1000_0305;
const VA: u64 = 0x7000_0000_1000;
const LEN: u64 = 0x1_0000;
const DMA: u64 = 0x0000_0040_0000_0000;

fn healthy(mut i: Inputs) -> Inputs {
    i.conn_known = true;
    i.conn_pd = PD;
    i.conn_msn_send = 11;
    i.conn_msn_rreq = 3;
    i.conn_rq_valid = true;
    i.conn_rq_addr = 0x9_0000;
    i.conn_rq_len = 512;
    i.lk_status = lk::HIT_OWN;
    i.lk_dma_base = DMA;
    i.lk_va_base = VA;
    i.lk_length = LEN;
    i.lk_pd = PD;
    i.lk_remote_write = true;
    i.lk_remote_inv = true;
    i
}

fn seg(s: &Segment) -> Inputs {
    healthy(from_segment(s))
}

fn write(to: u64, n: usize) -> Inputs {
    seg(&Segment::write(STAG, to, vec![0x5a; n]))
}

fn send(op: Opcode, msn: u32, n: usize) -> Inputs {
    seg(&Segment::send(op, STAG, msn, vec![0xa5; n]))
}

fn rreq(msn: u32) -> Inputs {
    let rr = ReadRequest {
        sink_stag: 0x55,
        sink_to: 0x100,
        size: 4096,
        src_stag: STAG,
        src_to: VA,
    };
    seg(&Segment::read_request(msn, rr))
}

fn with_ctrl(s: Segment, f: impl FnOnce(&mut Control)) -> Inputs {
    let mut s = s;
    f(&mut s.ctrl);
    seg(&s)
}

struct Case {
    name: &'static str,
    i: Inputs,
    action: Action,
    reason: u8,
    term: Option<TermCode>,
    with_hdr: bool,
}

fn case(
    name: &'static str,
    i: Inputs,
    action: Action,
    reason: u8,
    term: Option<TermCode>,
    with_hdr: bool,
) -> Case {
    Case {
        name,
        i,
        action,
        reason,
        term,
        with_hdr,
    }
}

fn spec_cases() -> Vec<Case> {
    use Action::*;
    let t = |name, i, reason, code, hdr| case(name, i, Terminate, reason, Some(code), hdr);
    let v = vec![
        // Passing segments.
        case("write", write(VA + 0x100, 64), Place, 0, None, false),
        case(
            "read response",
            seg(&Segment::read_response(STAG, VA + LEN - 100, vec![1; 100])),
            Place,
            0,
            None,
            false,
        ),
        case("send", send(Opcode::Send, 11, 200), Place, 0, None, false),
        case(
            "send SE",
            send(Opcode::SendSe, 11, 512),
            Place,
            0,
            None,
            false,
        ),
        case(
            "send with invalidate",
            send(Opcode::SendInv, 11, 1),
            Place,
            0,
            None,
            false,
        ),
        case(
            "send SE with invalidate",
            send(Opcode::SendSeInv, 11, 0),
            Place,
            0,
            None,
            false,
        ),
        case("read request", rreq(3), Deliver, 0, None, false),
        case(
            "zero-length write, unknown STag",
            {
                let mut i = write(0, 0);
                i.lk_status = lk::INVALID;
                i
            },
            Place,
            0,
            None,
            false,
        ),
        case(
            "terminate from the peer",
            seg(&Segment::terminate(
                77,
                TermBody::new(codes::DDP_T_INVALID_STAG),
            )),
            Deliver,
            0,
            None,
            false,
        ),
        // 1
        case(
            "1: unknown connection",
            {
                let mut i = write(VA, 8);
                i.conn_known = false;
                i.crc_ok = false;
                i
            },
            Drop,
            1,
            None,
            false,
        ),
        case(
            "1: connection in Error",
            {
                let mut i = send(Opcode::Send, 11, 8);
                i.conn_error = true;
                i
            },
            Drop,
            1,
            None,
            false,
        ),
        // 2
        t(
            "2: CRC",
            {
                let mut i = write(VA, 8);
                i.crc_ok = false;
                i
            },
            2,
            codes::LLP_CRC,
            false,
        ),
        t(
            "2: length",
            {
                let mut i = send(Opcode::Send, 11, 8);
                i.length_ok = false;
                i
            },
            2,
            codes::LLP_LENGTH,
            false,
        ),
        t(
            "2: both (CRC reported)",
            {
                let mut i = write(VA, 8);
                i.length_ok = false;
                i.crc_ok = false;
                i
            },
            2,
            codes::LLP_CRC,
            false,
        ),
        t(
            "2: ULPDU shorter than its header",
            {
                let mut i = send(Opcode::Send, 11, 0);
                i.mpa_len = 14;
                i
            },
            2,
            codes::LLP_LENGTH,
            false,
        ),
        // 3
        t(
            "3: DDP version, tagged",
            with_ctrl(Segment::write(STAG, VA, vec![0; 8]), |c| c.ddp_version = 0),
            3,
            codes::DDP_T_VERSION,
            false,
        ),
        t(
            "3: DDP version, untagged",
            with_ctrl(Segment::send(Opcode::Send, 0, 11, vec![0; 8]), |c| {
                c.ddp_version = 2
            }),
            3,
            codes::DDP_UT_VERSION,
            false,
        ),
        // 4
        t(
            "4: RDMAP version",
            with_ctrl(Segment::write(STAG, VA, vec![0; 8]), |c| {
                c.rdmap_version = 0
            }),
            4,
            codes::RDMAP_VERSION,
            false,
        ),
        t(
            "4: untagged opcode with T",
            seg(&Segment {
                ctrl: Control::new(Opcode::Send, true),
                ddp: DdpHeader::Tagged { stag: STAG, to: VA },
                body: Body::Data(vec![0; 8]),
            }),
            4,
            codes::RDMAP_OPCODE,
            false,
        ),
        t(
            "4: tagged opcode without T",
            seg(&Segment {
                ctrl: Control::new(Opcode::Write, true),
                ddp: DdpHeader::Untagged {
                    rsvd_ulp: 0,
                    qn: 0,
                    msn: 11,
                    mo: 0,
                },
                body: Body::Data(vec![0; 8]),
            }),
            4,
            codes::RDMAP_OPCODE,
            false,
        ),
        t(
            "4: opcode 9",
            with_ctrl(Segment::send(Opcode::Send, 0, 11, vec![0; 8]), |c| {
                c.opcode = 9
            }),
            4,
            codes::RDMAP_OPCODE,
            false,
        ),
        t(
            "4: Read Request without L",
            with_ctrl(
                Segment::read_request(
                    3,
                    ReadRequest {
                        sink_stag: 1,
                        sink_to: 0,
                        size: 1,
                        src_stag: 2,
                        src_to: 0,
                    },
                ),
                |c| c.last = false,
            ),
            4,
            codes::RDMAP_OPCODE,
            false,
        ),
        // 5
        case(
            "5: foreign STag not installed: park",
            {
                let mut i = write(VA, 8);
                i.lk_status = lk::MISS_FOREIGN;
                i
            },
            Park,
            5,
            None,
            false,
        ),
        t(
            "5: invalid STag",
            {
                let mut i = write(VA, 8);
                i.lk_status = lk::INVALID;
                i
            },
            5,
            codes::DDP_T_INVALID_STAG,
            true,
        ),
        t(
            "5: malformed STag",
            {
                let mut i = seg(&Segment::read_response(STAG, VA, vec![0; 8]));
                i.lk_status = lk::MALFORMED;
                i
            },
            5,
            codes::DDP_T_INVALID_STAG,
            true,
        ),
        // 6
        t(
            "6: PD",
            {
                let mut i = write(VA, 8);
                i.lk_pd = PD + 1;
                i
            },
            6,
            codes::DDP_T_STAG_NOT_ASSOC,
            true,
        ),
        // 7
        t(
            "7: no remote write right",
            {
                let mut i = write(VA, 8);
                i.lk_remote_write = false;
                i
            },
            7,
            codes::DDP_T_INVALID_STAG,
            true,
        ),
        // 8
        t(
            "8: TO wrap",
            {
                let mut i = write(u64::MAX - 6, 8);
                i.lk_va_base = u64::MAX - 0xFFF;
                i.lk_length = 0x1_0000;
                i
            },
            8,
            codes::DDP_T_TO_WRAP,
            true,
        ),
        // 9
        t(
            "9: below the base",
            write(VA - 1, 8),
            9,
            codes::DDP_T_BASE_BOUNDS,
            true,
        ),
        t(
            "9: past the end",
            write(VA + LEN - 7, 8),
            9,
            codes::DDP_T_BASE_BOUNDS,
            true,
        ),
        // 10
        t(
            "10: QN",
            seg(&Segment {
                ctrl: Control::new(Opcode::Send, true),
                ddp: DdpHeader::Untagged {
                    rsvd_ulp: 0,
                    qn: 1,
                    msn: 11,
                    mo: 0,
                },
                body: Body::Data(vec![0; 8]),
            }),
            10,
            codes::DDP_UT_INVALID_QN,
            true,
        ),
        t(
            "10: MSN",
            send(Opcode::Send, 12, 8),
            10,
            codes::DDP_UT_MSN_RANGE,
            true,
        ),
        t(
            "10: Read Request MSN",
            rreq(2),
            10,
            codes::DDP_UT_MSN_RANGE,
            true,
        ),
        t(
            "10: no buffer",
            {
                let mut i = send(Opcode::SendSe, 11, 8);
                i.conn_rq_valid = false;
                i
            },
            10,
            codes::DDP_UT_MSN_NOBUF,
            true,
        ),
        t(
            "10: MO",
            seg(&Segment {
                ctrl: Control::new(Opcode::Send, false),
                ddp: DdpHeader::Untagged {
                    rsvd_ulp: 0,
                    qn: 0,
                    msn: 11,
                    mo: 513,
                },
                body: Body::Data(vec![]),
            }),
            10,
            codes::DDP_UT_INVALID_MO,
            true,
        ),
        t(
            "10: too long",
            send(Opcode::Send, 11, 513),
            10,
            codes::DDP_UT_TOO_LONG,
            true,
        ),
        // 11
        case(
            "11: foreign STag to invalidate not installed: park",
            {
                let mut i = send(Opcode::SendInv, 11, 8);
                i.lk_status = lk::MISS_FOREIGN;
                i
            },
            Park,
            11,
            None,
            false,
        ),
        t(
            "11: no such STag",
            {
                let mut i = send(Opcode::SendInv, 11, 8);
                i.lk_status = lk::INVALID;
                i
            },
            11,
            codes::RDMAP_CANNOT_INVALIDATE_OP,
            true,
        ),
        t(
            "11: PD",
            {
                let mut i = send(Opcode::SendSeInv, 11, 8);
                i.lk_pd = 0;
                i
            },
            11,
            codes::RDMAP_CANNOT_INVALIDATE_PROT,
            true,
        ),
        t(
            "11: peer may not invalidate",
            {
                let mut i = send(Opcode::SendInv, 11, 8);
                i.lk_remote_inv = false;
                i
            },
            11,
            codes::RDMAP_CANNOT_INVALIDATE_PROT,
            true,
        ),
    ];
    v
}

#[test]
fn spec_table_rows() {
    let w = Widths::default();
    let mut d = Dut::load(&w, "rx_verdict_spec");
    let cases = spec_cases();
    // Hand-written expectations first (the model must agree with them).
    for c in &cases {
        let o = verdict(&w, &c.i);
        assert_eq!(
            (o.action, o.reason),
            (c.action, c.reason),
            "{}: action, reason",
            c.name
        );
        let code = (o.action == Action::Terminate).then_some(o.term);
        assert_eq!(code, c.term, "{}: Terminate", c.name);
        assert_eq!(o.term_with_hdr, c.with_hdr, "{}: offending header", c.name);
    }
    let mut vectors: Vec<(bool, Inputs)> = cases.iter().map(|c| (true, c.i.clone())).collect();
    // Once more with gaps.
    for c in &cases {
        vectors.push((true, c.i.clone()));
        vectors.push((false, c.i.clone()));
    }
    let names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    let n = names.len();
    run_vectors(&mut d, &w, &vectors, &|k| {
        format!("case `{}`", names[if k < n { k } else { (k - n) / 2 }])
    });
    // Specific values of the passing ones.
    let o = verdict(&w, &cases[0].i);
    assert_eq!((o.place_addr, o.place_len), (DMA + 0x100, 64));
    let o = verdict(&w, &cases[4].i);
    assert!(o.invalidate_after && o.msn_advance_send && o.place_addr == 0x9_0000);
    let o = verdict(&w, &cases[6].i);
    assert!(o.msn_advance_rreq);
    assert!(verdict(&w, &cases[8].i).set_conn_error);
}

// ---------------------------------------------------------------------------
// Random
// ---------------------------------------------------------------------------

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    }
}

fn near(r: &mut impl Rng, x: u64, spread: u64) -> u64 {
    x.wrapping_add(r.gen_range(0..=2 * spread))
        .wrapping_sub(spread)
}

fn random_inputs(r: &mut impl Rng, w: &Widths) -> Inputs {
    let mut i = Inputs::default();
    // Opcode / T / versions: mostly legal, every combination reachable.
    let op: u8 = if r.gen_bool(0.85) {
        r.gen_range(0..8)
    } else {
        r.gen_range(0..16)
    };
    let legal_t = op == 0 || op == 2;
    let tagged = if r.gen_bool(0.9) { legal_t } else { r.gen() };
    let last = r.gen_bool(0.8) || op == 1;
    let dv = if r.gen_bool(0.95) {
        1
    } else {
        r.gen_range(0..4)
    };
    let rv = if r.gen_bool(0.95) {
        1
    } else {
        r.gen_range(0..4)
    };
    i.hdr[0] = (tagged as u8) << 7 | (last as u8) << 6 | r.gen_range(0..16) << 2 | dv;
    i.hdr[1] = rv << 6 | r.gen_range(0..4) << 4 | op;
    r.fill(&mut i.hdr[2..]);
    // Payload count.
    i.count = match r.gen_range(0..10) {
        0 => 0,
        1 => 28,
        2 => r.gen_range(1..4),
        3 => r.gen_range(0..1 << 17),
        _ => r.gen_range(0..4096),
    };
    if op == 1 && !tagged && r.gen_bool(0.8) {
        i.count = 28;
    }
    let hl = if tagged { 14 } else { 18 };
    i.mpa_len = if r.gen_bool(0.93) {
        (i.count + hl).min(0xFFFF) as u16
    } else if r.gen() {
        r.gen_range(0..20)
    } else {
        r.gen()
    };
    i.length_ok = r.gen_bool(0.95);
    i.crc_ok = r.gen_bool(0.95);
    i.conn_known = r.gen_bool(0.97);
    i.conn_error = r.gen_bool(0.03);
    let pdm = mask(w.pd_bits) as u32;
    i.conn_pd = r.gen::<u32>() & pdm;
    i.lk_pd = match r.gen_range(0..10) {
        0 => r.gen::<u32>() & pdm,
        1 => i.conn_pd ^ (1 << r.gen_range(0..w.pd_bits)),
        _ => i.conn_pd,
    };
    i.lk_status = match r.gen_range(0..100) {
        0..=39 => lk::HIT_OWN,
        40..=64 => lk::HIT_FOREIGN,
        65..=76 => lk::MISS_FOREIGN,
        77..=86 => lk::INVALID,
        87..=94 => lk::MALFORMED,
        _ => r.gen_range(5..8),
    };
    i.lk_remote_write = r.gen_bool(0.9);
    i.lk_remote_inv = r.gen_bool(0.85);
    let am = mask(w.dma_addr_bits);
    i.lk_dma_base = match r.gen_range(0..4) {
        0 => am - r.gen_range(0..0x1000),
        _ => r.gen::<u64>() & am,
    };
    // The region: VA base anywhere, near 0 or near the top; length of
    // any size the width allows.
    let lm = mask(w.len_bits);
    i.lk_va_base = match r.gen_range(0..5) {
        0 => r.gen_range(0..0x100),
        1 => u64::MAX - r.gen_range(0..0x10000),
        _ => r.gen(),
    };
    i.lk_length = match r.gen_range(0..5) {
        0 => lm,
        1 => r.gen_range(0..0x100) & lm,
        _ => r.gen::<u64>() & lm,
    };
    // TO: at the region's edges, at the 64-bit top, or anywhere.
    let c = i.count as u64;
    let to = match r.gen_range(0..7) {
        0 => near(r, i.lk_va_base, 2),
        1 => near(r, i.lk_va_base.wrapping_add(i.lk_length).wrapping_sub(c), 2),
        2 => near(r, 0u64.wrapping_sub(c), 2),
        3 => i.lk_va_base.wrapping_add(r.gen_range(0..=i.lk_length)),
        4 => u64::MAX - r.gen_range(0..0x10),
        _ => r.gen(),
    };
    // Untagged: queue, MSN, buffer, MO.
    i.conn_msn_send = if r.gen_bool(0.1) {
        u32::MAX - r.gen_range(0..2)
    } else {
        r.gen()
    };
    i.conn_msn_rreq = if r.gen_bool(0.1) {
        u32::MAX - r.gen_range(0..2)
    } else {
        r.gen()
    };
    i.conn_rq_valid = r.gen_bool(0.92);
    i.conn_rq_addr = r.gen::<u64>() & am;
    i.conn_rq_len = match r.gen_range(0..5) {
        0 => r.gen(),
        1 => u32::MAX - r.gen_range(0..4),
        2 => r.gen_range(0..64),
        _ => r.gen_range(0..8192),
    };
    let want_qn: u32 = match op {
        1 => 1,
        7 => 2,
        _ => 0,
    };
    let qn = match r.gen_range(0..12) {
        0 => r.gen(),
        1 => r.gen_range(0..4),
        _ => want_qn,
    };
    let want_msn = if op == 1 {
        i.conn_msn_rreq
    } else {
        i.conn_msn_send
    };
    let msn = match r.gen_range(0..10) {
        0 => want_msn.wrapping_add(1),
        1 => want_msn.wrapping_sub(1),
        2 => r.gen(),
        _ => want_msn,
    };
    let room = i.conn_rq_len as u64;
    let mo = match r.gen_range(0..8) {
        0 => near(r, room.saturating_sub(c), 2) as u32,
        1 => near(r, room, 1) as u32,
        2 => r.gen(),
        3 => r.gen_range(0..4),
        _ => 0,
    };
    if tagged {
        i.hdr[6..14].copy_from_slice(&to.to_be_bytes());
    } else {
        i.hdr[6..10].copy_from_slice(&qn.to_be_bytes());
        i.hdr[10..14].copy_from_slice(&msn.to_be_bytes());
        i.hdr[14..18].copy_from_slice(&mo.to_be_bytes());
    }
    i
}

fn random_run(widths: Option<Widths>, n: usize, test: &str) {
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    // Without fixed widths, a random parameter set from the same seed.
    let w = widths.unwrap_or_else(|| Widths {
        pd_bits: r.gen_range(1..=32),
        len_bits: r.gen_range(8..=64),
        dma_addr_bits: r.gen_range(32..=64),
    });
    eprintln!("[{test}] widths {w:?}");
    let mut d = Dut::load(&w, test);
    let vectors: Vec<(bool, Inputs)> = (0..n)
        .map(|_| {
            let v = r.gen_bool(0.9);
            (v, random_inputs(&mut r, &w))
        })
        .collect();
    let mut hist = [0usize; 12];
    let mut acts = [0usize; 5];
    for (v, i) in &vectors {
        if *v {
            let o = verdict(&w, i);
            hist[o.reason as usize] += 1;
            acts[o.action as usize] += 1;
        }
    }
    eprintln!("[{test}] vectors by deciding check (0 = passed): {hist:?}; by action (place, park, drop, terminate, deliver): {acts:?}");
    // Every check must decide a fair share of the vectors.
    assert!(
        hist.iter().all(|&h| h >= n / 400),
        "a check is barely reached: {hist:?}"
    );
    run_vectors(&mut d, &w, &vectors, &|k| format!("SEED={seed} vector {k}"));
}

#[test]
fn random_default_widths() {
    random_run(
        Some(Widths::default()),
        250_000,
        "rx_verdict_random_default",
    );
}

#[test]
fn random_widths() {
    random_run(None, 200_000, "rx_verdict_random_widths");
}
