//! `axis_fifo` in Verilator: random traffic with random source pauses and
//! sink back-pressure, every beat checked in order against a scoreboard,
//! at several widths and depths. Also: it holds DEPTH words while the sink
//! is stalled, and never asserts tready when full.

use hdl::blocks::axis_fifo::{elaborate, AxisFifoParams};
use hdl::design::Design;
use hdl::iface::AxisSpec;
use rand::Rng;
use sim::{Model, Port};
use testbench::{check_eq, reset, rng, seed_from_env, Scoreboard, Sim};

/// One beat: (tdata words, tkeep, tlast, tuser).
type Beat = (Vec<u64>, u64, u64, u64);

struct Ports {
    rst: Port,
    s: [Port; 6], // tdata tkeep tvalid tready tlast tuser
    m: [Port; 6],
}

fn ports(model: &Model) -> Ports {
    let p = |n: &str| model.port(n).unwrap();
    let side = |pre: &str| {
        ["tdata", "tkeep", "tvalid", "tready", "tlast", "tuser"].map(|f| p(&format!("{pre}_{f}")))
    };
    Ports {
        rst: p("rst"),
        s: side("s_axis"),
        m: side("m_axis"),
    }
}

fn fifo(data_width: u32, depth: u32) -> (Design, AxisFifoParams) {
    let params = AxisFifoParams {
        name: format!("axis_fifo_w{data_width}_d{depth}"),
        stream: AxisSpec {
            data_width,
            keep: true,
            last: true,
            user_width: 16,
        },
        depth,
    };
    let mut d = Design::default();
    d.add(&elaborate(&params).unwrap()).unwrap();
    (d, params)
}

fn random_traffic(data_width: u32, depth: u32, beats: usize, test: &str) {
    let (design, params) = fifo(data_width, depth);
    let model = testbench::dut::load(&design, &params.name, test).unwrap();
    let io = ports(&model);
    let seed = seed_from_env(test);
    let mut sim = Sim::new(model);
    let ctx = sim.ctx();
    let board: Scoreboard<Beat> = Scoreboard::new(format!("{}.m_axis", params.name));
    let words = data_width.div_ceil(64) as usize;
    let keep_mask = (1u64 << (data_width / 8)) - 1;

    let (c, b) = (ctx.clone(), board.clone());
    let source = async move {
        reset(&c, |m: &mut Model, v| m.set(io.rst, v as u64), 4).await;
        let mut r = rng(seed);
        let mut sent = 0;
        while sent < beats {
            let beat: Beat = (
                (0..words).map(|_| r.gen()).collect(),
                r.gen::<u64>() & keep_mask,
                r.gen_range(0..2),
                r.gen_range(0..1 << 16),
            );
            // Random pauses: valid low for a while.
            if r.gen_bool(0.3) {
                c.dut().set(io.s[2], 0);
                c.cycles(r.gen_range(1..4)).await;
            }
            {
                let mut m = c.dut();
                m.set_wide(io.s[0], &beat.0);
                m.set(io.s[1], beat.1);
                m.set(io.s[4], beat.2);
                m.set(io.s[5], beat.3);
                m.set(io.s[2], 1);
            }
            loop {
                c.edge().await;
                if c.dut().get(io.s[3]) == 1 {
                    break;
                }
            }
            b.expect(beat);
            sent += 1;
        }
        c.dut().set(io.s[2], 0);
    };
    let (c, b) = (ctx.clone(), board.clone());
    let sink = async move {
        let mut r = rng(seed ^ 0x5eed);
        let mut got = 0;
        while got < beats {
            // Back-pressure: tready random, sometimes stalled for long stretches.
            let ready = if r.gen_bool(0.05) {
                0
            } else {
                r.gen_bool(0.7) as u64
            };
            c.dut().set(io.m[3], ready);
            c.edge().await;
            let m = c.dut();
            if m.get(io.m[2]) == 1 && m.get(io.m[3]) == 1 {
                let beat = (
                    m.get_wide(io.m[0]).to_vec(),
                    m.get(io.m[1]),
                    m.get(io.m[4]),
                    m.get(io.m[5]),
                );
                drop(m);
                b.observe(c.cycle(), beat);
                got += 1;
            }
        }
    };
    let src = sim.spawn(source);
    let snk = sim.spawn(sink);
    sim.run_until(src).unwrap();
    sim.run_until(snk).unwrap();
    board.finish();
}

#[test]
fn random_traffic_64_bits_depth_16() {
    random_traffic(64, 16, 20_000, "axis_fifo_random_64_16");
}

#[test]
fn random_traffic_256_bits_depth_2() {
    random_traffic(256, 2, 20_000, "axis_fifo_random_256_2");
}

#[test]
fn random_traffic_128_bits_depth_512() {
    random_traffic(128, 512, 20_000, "axis_fifo_random_128_512");
}

#[test]
fn holds_depth_plus_two_beats_when_the_sink_stalls() {
    let depth = 8;
    let (design, params) = fifo(64, depth);
    let mut m = testbench::dut::load(&design, &params.name, "axis_fifo_capacity").unwrap();
    let io = ports(&m);
    m.set(io.rst, 1);
    m.step_n(2);
    m.set(io.rst, 0);
    m.set(io.m[3], 0);
    m.set(io.s[2], 1);
    let mut accepted = 0;
    for cycle in 0..50 {
        m.set(io.s[0], cycle);
        m.step();
        accepted += m.get(io.s[3]);
    }
    // DEPTH words in the memory, one in the read stage, and the output
    // register slice holds two (its output and its skid register).
    check_eq(
        50,
        "beats accepted with the sink stalled",
        depth as u64 + 3,
        accepted,
    );
    m.set(io.s[2], 0);
    m.set(io.m[3], 1);
    for expected in 0..accepted {
        m.step();
        check_eq(expected, "m_axis_tvalid", 1, m.get(io.m[2]));
        check_eq(expected, "m_axis_tdata", expected, m.get(io.m[0]));
    }
    m.step();
    check_eq(accepted, "m_axis_tvalid after draining", 0, m.get(io.m[2]));
}
