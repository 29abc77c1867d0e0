//! `rx_parse` in Verilator: real FPDUs from the iWARP peer model (RDMA
//! Writes, Sends, Read Requests, of random sizes) and broken ones
//! (truncated, extended, wrong length field, ULPDU shorter than its
//! header), at 64, 128 and 256 bits, with random source gaps and random
//! back-pressure on both outputs. For a well-formed FPDU the payload must
//! be exactly the ULPDU after the DDP header, packed from lane 0; for every
//! FPDU the descriptor must carry the connection, the verdict bits, the
//! length field, the raw header bytes, and the number of payload bytes
//! that actually came out (ending with tlast).
//!
//! The `max_payload_*` tests build the block with a small MAX_PAYLOAD and
//! send payloads just below, at and above it (by one byte and by several
//! beats) among ordinary and broken FPDUs: a longer one must emit exactly
//! its first MAX_PAYLOAD bytes, fail `length_ok` and leave the next FPDU
//! untouched.

use std::collections::VecDeque;

use hdl::blocks::rx_parse::{elaborate, RxParseParams, HDR_BYTES};
use hdl::design::Design;
use hdl::Params;
use rand::rngs::StdRng;
use rand::Rng;
use sim::iwarp::frames::mpa_frame;
use sim::iwarp::peer::Peer;
use sim::Model;
use testbench::{rng, seed_from_env};

/// One FPDU as sent: bytes, connection, the two verdict bits given in tuser.
struct Sent {
    bytes: Vec<u8>,
    conn: u64,
    len_ok: bool,
    crc_ok: bool,
    well_formed: bool,
}

/// The DDP header length the T bit asks for.
fn hdr_len(f: &[u8]) -> usize {
    if f[2] & 0x80 != 0 {
        14
    } else {
        18
    }
}

/// The payload length the MPA length field promises (0 if the ULPDU is
/// shorter than its header).
fn promised_payload(f: &[u8]) -> usize {
    (u16::from_be_bytes([f[0], f[1]]) as usize).saturating_sub(hdr_len(f))
}

/// The ULPDU payload after the DDP header, as RFC 5041 frames it.
fn expected_payload(f: &[u8]) -> Vec<u8> {
    let mpa_len = u16::from_be_bytes([f[0], f[1]]) as usize;
    let hdr = hdr_len(f);
    if mpa_len < hdr {
        return Vec::new();
    }
    f[2 + hdr..2 + mpa_len].to_vec()
}

/// One message from `peer` carrying `data` (or a Read Request).
fn message(r: &mut impl Rng, peer: &mut Peer, data: &[u8]) -> Vec<Vec<u8>> {
    match r.gen_range(0..4) {
        0 => peer.write(r.gen(), r.gen(), data),
        1 => peer.send(data),
        2 => peer.send_inv(r.gen(), data),
        _ => vec![peer.read_request(r.gen(), r.gen(), r.gen(), r.gen(), r.gen())],
    }
}

/// Random connection and verdict bits around each FPDU.
fn sent(r: &mut impl Rng, bytes: Vec<u8>, well_formed: bool) -> Sent {
    Sent {
        bytes,
        conn: r.gen_range(0..1 << 16),
        len_ok: r.gen(),
        crc_ok: r.gen(),
        well_formed,
    }
}

fn frames(r: &mut impl Rng, n: usize) -> Vec<Sent> {
    let mut peer = Peer::new(0).with_mulpdu(1 << 14);
    let mut out = Vec::new();
    while out.len() < n {
        let len = if r.gen_bool(0.3) {
            r.gen_range(0..40)
        } else {
            r.gen_range(0..3000)
        };
        let data: Vec<u8> = (0..len).map(|_| r.gen()).collect();
        let mut fs = message(r, &mut peer, &data);
        let mut well_formed = true;
        match r.gen_range(0..12) {
            0 => {
                let f = &mut fs[0];
                let cut = r.gen_range(1..f.len().min(24));
                f.truncate(f.len() - cut);
                well_formed = false;
            }
            1 => {
                fs[0].extend_from_slice(&[0xa5; 8]);
                well_formed = false;
            }
            2 => {
                fs[0][1] = fs[0][1].wrapping_add(r.gen_range(1..=60));
                well_formed = false;
            }
            3 => {
                // A ULPDU shorter than the header its T bit asks for.
                let mut u: Vec<u8> = (0..r.gen_range(0..14)).map(|_| r.gen()).collect();
                if !u.is_empty() {
                    u[0] = if r.gen() { 0xc1 } else { 0x41 };
                }
                fs = vec![mpa_frame(&u)];
                // Only the empty ULPDU is well formed (no payload).
                well_formed = u.is_empty();
            }
            _ => {}
        }
        for bytes in fs {
            if bytes.len() < 3 {
                continue; // the block needs the T bit; mpa_rx flags such runts
            }
            out.push(sent(r, bytes, well_formed));
        }
    }
    out
}

/// FPDUs around `max` payload bytes: just below, at, one above, several
/// beats above, far above, among ordinary ones; some of them broken.
fn long_frames(r: &mut impl Rng, n: usize, max: usize, lanes: usize) -> Vec<Sent> {
    let mut peer = Peer::new(0).with_mulpdu(1 << 14);
    let mut out = Vec::new();
    while out.len() < n {
        let len = match r.gen_range(0..9) {
            0 => max - 1,
            1 => max,
            2 => max + 1,
            3 => max + lanes * r.gen_range(2..=5) + r.gen_range(0..lanes),
            4 => max - r.gen_range(1..=2 * lanes),
            5 => max + r.gen_range(1..=2 * lanes),
            6 => r.gen_range(max..4 * max),
            7 => r.gen_range(0..40),
            _ => r.gen_range(0..max),
        };
        let data: Vec<u8> = (0..len).map(|_| r.gen()).collect();
        let mut fs = message(r, &mut peer, &data);
        let mut well_formed = true;
        match r.gen_range(0..10) {
            0 => {
                // Truncated, perhaps to below MAX_PAYLOAD while the length
                // field still says more.
                let f = &mut fs[0];
                let cut = r.gen_range(1..f.len().min(3 * lanes + 24));
                f.truncate(f.len() - cut);
                well_formed = false;
            }
            1 => {
                fs[0].extend_from_slice(&[0xa5; 8]);
                well_formed = false;
            }
            2 => {
                fs[0][1] = fs[0][1].wrapping_add(r.gen_range(1..=60));
                well_formed = false;
            }
            _ => {}
        }
        for bytes in fs {
            if bytes.len() < 3 {
                continue;
            }
            out.push(sent(r, bytes, well_formed));
        }
    }
    out
}

/// The block as the standard design builds it, at `width` bits.
fn default_params(width: u32) -> RxParseParams {
    RxParseParams {
        name: format!("rx_parse_w{width}"),
        data_width: width,
        ..RxParseParams::from_params(&Params::default())
    }
}

fn run(width: u32, count: usize, test: &str) {
    let params = default_params(width);
    let stats = simulate(params, test, |r| frames(r, count));
    // The defaults never cut these (payloads below 3,100 bytes).
    assert_eq!(stats.cut, 0);
}

/// What `simulate` saw, for coverage checks.
#[derive(Debug, Default)]
struct Stats {
    /// Well-formed FPDUs cut to MAX_PAYLOAD.
    cut: usize,
    /// Well-formed FPDUs with exactly MAX_PAYLOAD payload bytes.
    at_max: usize,
    /// Well-formed FPDUs one byte over MAX_PAYLOAD.
    one_over: usize,
    /// Broken FPDUs whose length field asks for more than MAX_PAYLOAD.
    broken_cut: usize,
}

fn run_max(width: u32, max_payload: u32, count: usize, test: &str) {
    let params = RxParseParams {
        name: format!("rx_parse_w{width}_max{max_payload}"),
        max_payload,
        ..default_params(width)
    };
    let lanes = (width / 8) as usize;
    let stats = simulate(params, test, |r| {
        long_frames(r, count, max_payload as usize, lanes)
    });
    assert!(
        stats.cut > 50 && stats.at_max > 10 && stats.one_over > 10 && stats.broken_cut > 5,
        "too few FPDUs near MAX_PAYLOAD: {stats:?}"
    );
}

/// Runs `make`'s FPDUs through the block with random source gaps and
/// back-pressure on both outputs; checks every descriptor and payload.
fn simulate(
    params: RxParseParams,
    test: &str,
    make: impl FnOnce(&mut StdRng) -> Vec<Sent>,
) -> Stats {
    let width = params.data_width;
    let max = params.max_payload as usize;
    let mut design = Design::default();
    design.add(&elaborate(&params).unwrap()).unwrap();
    let mut m: Model = testbench::dut::load(&design, &params.name, test).unwrap();
    let p = |n: &str| m.port(n).unwrap();
    let (rst, sd, sv, sr, sl, su) = (
        p("rst"),
        p("s_axis_tdata"),
        p("s_axis_tvalid"),
        p("s_axis_tready"),
        p("s_axis_tlast"),
        p("s_axis_tuser"),
    );
    let (md, mk, mv, mr, ml) = (
        p("m_axis_payload_tdata"),
        p("m_axis_payload_tkeep"),
        p("m_axis_payload_tvalid"),
        p("m_axis_payload_tready"),
        p("m_axis_payload_tlast"),
    );
    let (dv, dr, dconn, dlen, dcrc, dmpa, dhdr, dcount) = (
        p("m_desc_valid"),
        p("m_desc_ready"),
        p("m_desc_conn"),
        p("m_desc_length_ok"),
        p("m_desc_crc_ok"),
        p("m_desc_mpa_len"),
        p("m_desc_hdr"),
        p("m_desc_count"),
    );
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    let lanes = (width / 8) as usize;
    let sent = make(&mut r);

    let mut beats: VecDeque<(Vec<u64>, u64, u64)> = VecDeque::new();
    for s in &sent {
        let chunks: Vec<&[u8]> = s.bytes.chunks(lanes).collect();
        for (j, c) in chunks.iter().enumerate() {
            let mut words = vec![0u64; lanes.div_ceil(8)];
            for (k, b) in c.iter().enumerate() {
                words[k / 8] |= (*b as u64) << (8 * (k % 8));
            }
            let user = s.conn | (s.crc_ok as u64) << 16 | (s.len_ok as u64) << 17;
            beats.push_back((words, (j + 1 == chunks.len()) as u64, user));
        }
    }

    m.set(rst, 1);
    m.step_n(2);
    m.set(rst, 0);
    let mut packets: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut descs: Vec<(u64, u64, u64, u64, Vec<u64>, u64)> = Vec::new();
    let mut cycle = 0u64;
    let mut valid = false;
    // Run until every descriptor is in and the payload stream has drained
    // (a descriptor may be taken before its payload's last beat).
    let mut idle = 0;
    while descs.len() < sent.len() || idle < 4 {
        idle = if descs.len() == sent.len() && m.get(mv) == 0 {
            idle + 1
        } else {
            0
        };
        cycle += 1;
        assert!(
            cycle < 20_000_000,
            "stuck: {} of {} descriptors",
            descs.len(),
            sent.len()
        );
        if !valid && !beats.is_empty() && r.gen_bool(0.85) {
            let b = &beats[0];
            m.set_wide(sd, &b.0);
            m.set(sl, b.1);
            m.set(su, b.2);
            valid = true;
        }
        m.set(sv, valid as u64);
        m.set(mr, r.gen_bool(0.75) as u64);
        m.set(dr, r.gen_bool(0.75) as u64);
        m.step();
        if m.get(mv) == 1 && m.get(mr) == 1 {
            let keep = m.get(mk);
            let data = m.get_wide(md).to_vec();
            for k in 0..lanes {
                if keep >> k & 1 == 1 {
                    current.push((data[k / 8] >> (8 * (k % 8))) as u8);
                }
            }
            if m.get(ml) == 1 {
                packets.push(std::mem::take(&mut current));
            }
        }
        if m.get(dv) == 1 && m.get(dr) == 1 {
            descs.push((
                m.get(dconn),
                m.get(dlen),
                m.get(dcrc),
                m.get(dmpa),
                m.get_wide(dhdr).to_vec(),
                m.get(dcount),
            ));
        }
        if valid && m.get(sr) == 1 {
            beats.pop_front();
            valid = false;
        }
    }
    assert!(current.is_empty(), "payload bytes after the last tlast");
    let mut stats = Stats::default();
    let mut packets = packets.into_iter();
    for (i, (s, d)) in sent.iter().zip(&descs).enumerate() {
        let what = |f: &str| {
            format!(
                "SEED={seed} FPDU {i} ({} bytes, well formed: {}): {f}",
                s.bytes.len(),
                s.well_formed
            )
        };
        let check = |f: &str, expected: u64, actual: u64| {
            assert!(
                expected == actual,
                "{}: expected {expected}, got {actual}",
                what(f)
            );
        };
        let promised = promised_payload(&s.bytes);
        let cut = promised > max;
        check("conn", s.conn, d.0);
        // A payload longer than MAX_PAYLOAD fails the length check.
        check("length_ok", (s.len_ok && !cut) as u64, d.1);
        check("crc_ok", s.crc_ok as u64, d.2);
        check(
            "mpa_len",
            u16::from_be_bytes([s.bytes[0], s.bytes[1]]) as u64,
            d.3,
        );
        // Header bytes that exist: FPDU byte 2 + j is hdr byte j, on top.
        for j in 0..(HDR_BYTES as usize).min(s.bytes.len() - 2) {
            let bit = 8 * (HDR_BYTES as usize - 1 - j);
            let got = (d.4[bit / 64] >> (bit % 64)) as u8;
            check(&format!("hdr byte {j}"), s.bytes[2 + j] as u64, got as u64);
        }
        let payload = if d.5 > 0 {
            packets.next().expect("a payload packet per nonzero count")
        } else {
            Vec::new()
        };
        check("count (payload bytes out)", d.5, payload.len() as u64);
        // Never more than the length field promises, nor than MAX_PAYLOAD.
        assert!(
            payload.len() <= promised.min(max),
            "{}: {} payload bytes, length field says {promised}, MAX_PAYLOAD {max}",
            what("count"),
            payload.len()
        );
        // Whatever came out is the FPDU's bytes after the header, as far as
        // the FPDU goes (a truncated one may add the rest of its last beat).
        let body = s.bytes.get(2 + hdr_len(&s.bytes)..).unwrap_or(&[]);
        if let Some(k) = (0..payload.len().min(body.len())).find(|&k| body[k] != payload[k]) {
            panic!(
                "{}: payload byte {k}: expected {:#04x}, got {:#04x}",
                what("payload"),
                body[k],
                payload[k]
            );
        }
        if cut && !s.well_formed {
            stats.broken_cut += 1;
        }
        if s.well_formed {
            let mut expected = expected_payload(&s.bytes);
            if cut {
                stats.cut += 1;
                stats.one_over += (expected.len() == max + 1) as usize;
                // Only the first MAX_PAYLOAD bytes come out.
                expected.truncate(max);
            }
            stats.at_max += (expected.len() == max && !cut) as usize;
            check(
                "payload length",
                expected.len() as u64,
                payload.len() as u64,
            );
            if let Some(k) = (0..expected.len()).find(|&k| expected[k] != payload[k]) {
                panic!(
                    "{}: payload byte {k}: expected {:#04x}, got {:#04x}",
                    what("payload"),
                    expected[k],
                    payload[k]
                );
            }
        }
    }
    assert!(
        packets.next().is_none(),
        "more payload packets than descriptors"
    );
    stats
}

#[test]
fn fpdus_64_bits() {
    run(64, 1500, "rx_parse_64");
}

#[test]
fn fpdus_128_bits() {
    run(128, 1500, "rx_parse_128");
}

#[test]
fn fpdus_256_bits() {
    run(256, 1500, "rx_parse_256");
}

#[test]
fn max_payload_64_bits() {
    run_max(64, 64, 1200, "rx_parse_max_64");
}

#[test]
fn max_payload_128_bits() {
    run_max(128, 128, 1200, "rx_parse_max_128");
}

#[test]
fn max_payload_256_bits() {
    run_max(256, 64, 1200, "rx_parse_max_256");
}
