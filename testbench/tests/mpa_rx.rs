//! `mpa_rx` in Verilator: random FPDUs, good and broken (CRC, length field,
//! truncated, padded wrong), at 64, 128 and 256 bits, with random source
//! gaps and sink back-pressure. Every beat must pass through unchanged and
//! the verdict on the last beat must match a software check written from
//! RFC 5044 (CRC32c from `hdl::blocks::crc32c::software_update`, whose
//! known answers are tested there).

use std::collections::VecDeque;

use hdl::blocks::crc32c::software_update;
use hdl::blocks::mpa_rx::{elaborate, MpaRxParams};
use hdl::design::Design;
use rand::Rng;
use sim::Model;
use testbench::{check_eq, rng, seed_from_env};

/// An FPDU around `ulpdu`: length, ULPDU, pad, CRC (complemented, LSB first).
fn fpdu(ulpdu: &[u8]) -> Vec<u8> {
    let mut f = (ulpdu.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(ulpdu);
    while f.len() % 4 != 0 {
        f.push(0);
    }
    let crc = !software_update(!0, &f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

/// What RFC 5044 says about `bytes`: (length ok, crc ok). The two are
/// independent facts: the CRC is checked on the last four bytes against
/// all bytes before them, whatever the length field says.
fn verdict(bytes: &[u8]) -> (bool, bool) {
    if bytes.len() < 4 || bytes.len() % 4 != 0 {
        return (false, false);
    }
    let len = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
    let length_ok = (2 + len).div_ceil(4) * 4 + 4 == bytes.len();
    let n = bytes.len();
    let crc_ok = !software_update(!0, &bytes[..n - 4])
        == u32::from_le_bytes(bytes[n - 4..].try_into().unwrap());
    (length_ok, crc_ok)
}

fn run(width: u32, frames: usize, test: &str) {
    let params = MpaRxParams {
        name: format!("mpa_rx_w{width}"),
        data_width: width,
        conn_bits: 16,
    };
    let mut design = Design::default();
    design.add(&elaborate(&params).unwrap()).unwrap();
    let mut m: Model = testbench::dut::load(&design, &params.name, test).unwrap();
    let p = |n: &str| m.port(n).unwrap();
    let (rst, sd, sk, sv, sr, sl, su) = (
        p("rst"),
        p("s_axis_tdata"),
        p("s_axis_tkeep"),
        p("s_axis_tvalid"),
        p("s_axis_tready"),
        p("s_axis_tlast"),
        p("s_axis_tuser"),
    );
    let (md, mk, mv, mr, ml, mu) = (
        p("m_axis_tdata"),
        p("m_axis_tkeep"),
        p("m_axis_tvalid"),
        p("m_axis_tready"),
        p("m_axis_tlast"),
        p("m_axis_tuser"),
    );
    let seed = seed_from_env(test);
    let mut r = rng(seed);
    let lanes = (width / 8) as usize;

    // Frames to send, each as beats; expected output beats in order.
    let mut beats: VecDeque<(Vec<u64>, u64, u64, u64)> = VecDeque::new();
    let mut expected: VecDeque<(Vec<u64>, u64, u64, u64)> = VecDeque::new();
    let (mut good, mut bad) = (0, 0);
    for i in 0..frames {
        let len = if r.gen_bool(0.2) {
            r.gen_range(0..8)
        } else {
            r.gen_range(0..600)
        };
        let ulpdu: Vec<u8> = (0..len).map(|_| r.gen()).collect();
        let mut f = fpdu(&ulpdu);
        match r.gen_range(0..10) {
            0 => {
                let k = r.gen_range(0..f.len());
                f[k] ^= 1 << r.gen_range(0..8);
            }
            1 => f[1] = f[1].wrapping_add(r.gen_range(1..9)),
            2 => {
                let cut = r.gen_range(1..=4.min(f.len() - 1));
                f.truncate(f.len() - cut);
            }
            3 => f.extend_from_slice(&[0, 0, 0, 0]),
            _ => {}
        }
        let (lok, cok) = verdict(&f);
        if lok && cok {
            good += 1
        } else {
            bad += 1
        }
        let conn = i as u64 & 0xffff;
        let chunks: Vec<&[u8]> = f.chunks(lanes).collect();
        for (j, c) in chunks.iter().enumerate() {
            let mut words = vec![0u64; lanes.div_ceil(8)];
            for (k, b) in c.iter().enumerate() {
                words[k / 8] |= (*b as u64) << (8 * (k % 8));
            }
            let keep = if c.len() == 64 {
                u64::MAX
            } else {
                (1u64 << c.len()) - 1
            };
            let last = (j + 1 == chunks.len()) as u64;
            beats.push_back((words.clone(), keep, last, conn));
            let flags = if last == 1 {
                (lok as u64) << 17 | (cok as u64) << 16
            } else {
                0
            };
            expected.push_back((words, keep, last, conn | flags));
        }
    }
    assert!(
        good > frames / 3 && bad > frames / 10,
        "mix: {good} good, {bad} bad"
    );

    m.set(rst, 1);
    m.step_n(2);
    m.set(rst, 0);
    let mut cycle = 0u64;
    let mut valid = false;
    while !expected.is_empty() {
        cycle += 1;
        assert!(
            cycle < 10_000_000,
            "stuck with {} beats left",
            expected.len()
        );
        if !valid && !beats.is_empty() && r.gen_bool(0.8) {
            let b = &beats[0];
            m.set_wide(sd, &b.0);
            m.set(sk, b.1);
            m.set(sl, b.2);
            m.set(su, b.3);
            valid = true;
        }
        m.set(sv, valid as u64);
        m.set(mr, r.gen_bool(0.7) as u64);
        m.step();
        if m.get(mv) == 1 && m.get(mr) == 1 {
            let e = expected.pop_front().unwrap();
            let got = (m.get_wide(md).to_vec(), m.get(mk), m.get(ml), m.get(mu));
            check_eq(
                cycle,
                "m_axis beat (data, keep, last, {len_ok, crc_ok, conn})",
                e,
                got,
            );
        }
        if valid && m.get(sr) == 1 {
            beats.pop_front();
            valid = false;
        }
    }
}

#[test]
fn random_fpdus_64_bits() {
    run(64, 3000, "mpa_rx_random_64");
}

#[test]
fn random_fpdus_128_bits() {
    run(128, 3000, "mpa_rx_random_128");
}

#[test]
fn random_fpdus_256_bits() {
    run(256, 3000, "mpa_rx_random_256");
}
