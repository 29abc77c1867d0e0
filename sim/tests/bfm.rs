//! Bus functional models against small hand-written DUTs (sim/tests/verilog/), and the
//! protocol checkers against scripted signal sequences, with their exact error texts.
mod common;

use std::collections::HashMap;

use common::cpp_shim::ShimPort;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sim::axi::{
    AxiBurst, AxiChecker, AxiReadSlave, AxiWriteSlave, AxilChecker, AxilKind, AxilMaster,
    RESP_OKAY, RESP_SLVERR,
};
use sim::axis::{
    step_all, AxisChecker, AxisFrame, AxisMonitor, AxisSink, AxisSource, Bfm, ProtocolError, Rule,
};
use sim::hostmem::{self, Writer};
use sim::pattern::Pattern;
use sim::{load_or_build, Model};

// ---------------------------------------------------------------------------------
// Building the test designs
// ---------------------------------------------------------------------------------

fn verilog(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/verilog")
        .join(format!("{name}.v"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `a-1`, `a/8-1`, ... evaluated left to right after substituting parameters.
fn eval_width(expr: &str, params: &[(&str, u32)]) -> u32 {
    let mut e = expr.replace(' ', "");
    for (k, v) in params {
        e = e.replace(k, &v.to_string());
    }
    let mut acc: i64 = 0;
    let mut op = '+';
    let mut num = String::new();
    for c in e.chars().chain(std::iter::once('+')) {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num
            .parse()
            .unwrap_or_else(|_| panic!("cannot evaluate `{expr}`"));
        acc = match op {
            '+' => acc + n,
            '-' => acc - n,
            '*' => acc * n,
            '/' => acc / n,
            _ => unreachable!(),
        };
        num.clear();
        op = c;
    }
    acc as u32
}

/// Ports of a test module: one declaration per line, `input|output [wire|reg] [[msb:0]] name`.
fn ports_of(v: &str, params: &[(&str, u32)]) -> Vec<(String, u32, bool)> {
    v.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("input ") || l.starts_with("output "))
        .map(|l| {
            let is_input = l.starts_with("input");
            let width = match (l.find('['), l.find(":0]")) {
                (Some(a), Some(b)) => eval_width(&l[a + 1..b], params) + 1,
                _ => 1,
            };
            let name = l
                .trim_end_matches(',')
                .split_whitespace()
                .last()
                .unwrap()
                .to_string();
            (name, width, is_input)
        })
        .collect()
}

/// Build (cached) and load `top` from `tests/verilog/<top>.v` with parameter defaults
/// replaced by `params`.
fn load(top: &str, params: &[(&str, u32)], test: &str) -> Model {
    let mut v = verilog(top);
    for (k, val) in params {
        let re = format!("parameter {k} = ");
        let at = v
            .find(&re)
            .unwrap_or_else(|| panic!("{top}.v has no `{re}`"));
        let end = at
            + re.len()
            + v[at + re.len()..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap();
        v.replace_range(at + re.len()..end, &val.to_string());
    }
    let ports = ports_of(&v, params);
    let shim: Vec<ShimPort> = ports
        .iter()
        .map(|(n, w, i)| ShimPort {
            name: n,
            width: *w,
            is_input: *i,
        })
        .collect();
    let spec = common::spec(top, vec![(format!("{top}.v"), v)], &shim);
    let mut m = load_or_build(&spec).unwrap_or_else(|e| panic!("{e}"));
    if let Some(p) = m.trace_if_requested(test).unwrap() {
        eprintln!("[{test}] waveform: {}", p.display());
    }
    m
}

fn reset(m: &mut Model) {
    let rst = m.port("rst").unwrap();
    m.set(rst, 1);
    m.step_n(2);
    m.set(rst, 0);
}

fn ok<T>(r: Result<T, ProtocolError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------------
// AXI4-Stream through a register slice
// ---------------------------------------------------------------------------------

fn random_frames(rng: &mut StdRng, n: usize, bytes: usize) -> Vec<AxisFrame> {
    (0..n)
        .map(|_| {
            let len = rng.gen_range(0..=4 * bytes + 3);
            let data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            AxisFrame::with_user(data, rng.gen_range(0..1 << 16))
        })
        .collect()
}

fn axis_loopback(data_w: u32) {
    let test = format!("axis_loopback_{data_w}");
    let mut m = load("axis_reg", &[("DATA_W", data_w)], &test);
    let bytes = data_w as usize / 8;
    reset(&mut m);
    let mut src = AxisSource::new(&m, "s_axis").unwrap();
    let mut sink = AxisSink::new(&m, "m_axis").unwrap();
    let mut mon_in = AxisMonitor::new(&m, "s_axis").unwrap();
    let mut mon_out = AxisMonitor::new(&m, "m_axis").unwrap();
    let mut chk_in = AxisChecker::new(&m, "s_axis").unwrap();
    let mut chk_out = AxisChecker::new(&m, "m_axis").unwrap();
    assert_eq!(src.ports().bytes, bytes);

    // Phase 1, no pauses: full throughput, one cycle through the register.
    let mut rng = StdRng::seed_from_u64(u64::from(data_w));
    let frames = random_frames(&mut rng, 20, bytes);
    let beats: u64 = frames
        .iter()
        .map(|f| f.data.len().div_ceil(bytes).max(1) as u64)
        .sum();
    for f in &frames {
        src.send(f.clone());
    }
    let start = m.cycle();
    while !(src.idle() && sink.frames_received() == frames.len() as u64) {
        ok(step_all(
            &mut m,
            &mut [
                &mut src,
                &mut sink,
                &mut mon_in,
                &mut mon_out,
                &mut chk_in,
                &mut chk_out,
            ],
        ));
        assert!(m.cycle() - start < 10_000, "stuck");
    }
    assert_eq!(src.beats_sent(), beats);
    assert_eq!(
        m.cycle() - start,
        beats + 1,
        "one beat per cycle plus the register"
    );
    for f in &frames {
        let a = mon_in.recv_timed().unwrap();
        let b = mon_out.recv_timed().unwrap();
        assert_eq!(&a.frame, f);
        assert_eq!(b.frame, a.frame);
        assert_eq!(b.first_cycle, a.first_cycle + 1, "register latency");
        assert_eq!(b.last_cycle - b.first_cycle + 1, b.beats);
        assert_eq!(b.last_user, f.user);
        assert_eq!(sink.recv().as_ref(), Some(f));
    }

    // Phase 2: pauses and back-pressure of every kind.
    let patterns: Vec<(Pattern, Pattern)> = vec![
        (Pattern::random(0.3, 1), Pattern::random(0.5, 2)),
        (Pattern::bursts(3, 2), Pattern::bit_str("1101_0")),
        (Pattern::never(), Pattern::bursts(1, 4)),
        (Pattern::random(0.7, 3), Pattern::never()),
    ];
    for (k, (p_src, p_sink)) in patterns.into_iter().enumerate() {
        src.set_pause(p_src);
        sink.set_pause(p_sink);
        let frames = random_frames(&mut rng, 30, bytes);
        for f in &frames {
            src.send(f.clone());
        }
        let mut got = Vec::new();
        let start = m.cycle();
        while got.len() < frames.len() {
            ok(step_all(
                &mut m,
                &mut [
                    &mut src,
                    &mut sink,
                    &mut mon_in,
                    &mut mon_out,
                    &mut chk_in,
                    &mut chk_out,
                ],
            ));
            got.extend(std::iter::from_fn(|| sink.recv()));
            assert!(m.cycle() - start < 100_000, "pattern set {k} stuck");
        }
        assert_eq!(got, frames, "pattern set {k}");
        assert!(src.idle() && sink.idle() && mon_in.idle() && mon_out.idle());
        let seen: Vec<_> = std::iter::from_fn(|| mon_out.recv()).collect();
        assert_eq!(seen, frames);
        assert_eq!(mon_in.pending(), frames.len());
        while mon_in.recv().is_some() {}
    }
    assert_eq!(chk_in.beats(), chk_out.beats());
    assert_eq!(sink.pending(), 0, "nothing left unconsumed");
}

#[test]
fn axis_loopback_32() {
    axis_loopback(32);
}

#[test]
fn axis_loopback_128() {
    axis_loopback(128);
}

#[test]
fn axis_loopback_1024() {
    // tdata 16 words, tkeep 128 bits: both go through set_wide/get_wide.
    axis_loopback(1024);
}

#[test]
fn axis_source_holds_payload_while_not_ready() {
    let mut m = load("axis_reg", &[("DATA_W", 32)], "axis_hold");
    reset(&mut m);
    let mut src = AxisSource::new(&m, "s_axis").unwrap();
    let mut sink = AxisSink::new(&m, "m_axis").unwrap();
    let mut chk = AxisChecker::new(&m, "s_axis").unwrap();
    sink.set_pause(Pattern::always());
    src.send(AxisFrame::with_user(vec![1, 2, 3, 4, 5, 6], 0xbeef));
    let tdata = m.port("s_axis_tdata").unwrap();
    let tvalid = m.port("s_axis_tvalid").unwrap();
    let tkeep = m.port("s_axis_tkeep").unwrap();
    // First beat fills the register, the second stays on the bus.
    for _ in 0..5 {
        ok(step_all(&mut m, &mut [&mut src, &mut sink, &mut chk]));
    }
    assert_eq!(
        (m.get(tvalid), m.get(tdata), m.get(tkeep)),
        (1, 0x0000_0605, 0x3)
    );
    assert_eq!(src.beats_sent(), 1);
    sink.set_pause(Pattern::never());
    for _ in 0..3 {
        ok(step_all(&mut m, &mut [&mut src, &mut sink, &mut chk]));
    }
    assert_eq!(
        sink.recv(),
        Some(AxisFrame::with_user(vec![1, 2, 3, 4, 5, 6], 0xbeef))
    );
    assert!(src.idle());
    assert_eq!(m.get(tvalid), 0);
}

#[test]
fn axis_wrong_direction_is_a_clear_error() {
    let m = load("axis_reg", &[("DATA_W", 32)], "axis_dir");
    let e = AxisSource::new(&m, "m_axis").unwrap_err().to_string();
    assert!(
        e.ends_with(
            "AXI-Stream source `m_axis`: `m_axis_tdata` must be an input of the model \
             (the BFM drives it), but it is an output"
        ),
        "{e}"
    );
    let e = AxisSink::new(&m, "nope").unwrap_err().to_string();
    assert!(e.starts_with("no port named `nope_tdata`"), "{e}");
}

// ---------------------------------------------------------------------------------
// AXI4-Lite register file
// ---------------------------------------------------------------------------------

fn run_axil(m: &mut Model, bus: &mut AxilMaster, chk: &mut AxilChecker) {
    let start = m.cycle();
    while !bus.idle() {
        ok(step_all(m, &mut [bus, chk]));
        assert!(m.cycle() - start < 10_000, "AXI4-Lite stuck");
    }
}

#[test]
fn axil_register_file() {
    let mut m = load("axil_regs", &[], "axil_regs");
    reset(&mut m);
    let mut bus = AxilMaster::new(&m, "s_axil").unwrap();
    let mut chk = AxilChecker::new(&m, "s_axil").unwrap();
    for (k, (pause, ready)) in [
        (Pattern::never(), Pattern::never()),
        (Pattern::random(0.5, 11), Pattern::random(0.5, 12)),
        (Pattern::bursts(2, 1), Pattern::bit_str("110")),
    ]
    .into_iter()
    .enumerate()
    {
        bus.set_pause(pause);
        bus.set_ready_pause(ready);
        let base = 0x1000 * k as u64;
        let w: Vec<u64> = (0..3)
            .map(|r| bus.write(4 * r, base + 0x1111_0000 + r))
            .collect();
        let strobed = bus.write_strb(4, 0xAABB_CCDD, 0b0101);
        let ro = bus.write(0xc, 0xdead_beef); // read-only register: ignored, OKAY
        let bad_w = bus.write(0x10, 1);
        let reads: Vec<u64> = (0..4).map(|r| bus.read(4 * r)).collect();
        let bad_r = bus.read(0x14);
        run_axil(&mut m, &mut bus, &mut chk);

        for (r, t) in w.iter().enumerate() {
            let res = bus.take(*t).unwrap();
            assert_eq!(
                (res.kind, res.addr, res.resp),
                (AxilKind::Write, 4 * r as u64, RESP_OKAY)
            );
            assert!(res.end_cycle > res.start_cycle);
        }
        assert_eq!(bus.take(strobed).unwrap().resp, RESP_OKAY);
        assert_eq!(bus.take(ro).unwrap().resp, RESP_OKAY);
        assert_eq!(bus.take(bad_w).unwrap().resp, RESP_SLVERR);
        let data: Vec<u64> = reads.iter().map(|t| bus.take(*t).unwrap().data).collect();
        let writes_so_far = 6 * (k as u64 + 1);
        assert_eq!(
            data,
            [
                base + 0x1111_0000,
                (base + 0x1111_0001) & 0xff00_ff00 | 0x00bb_00dd,
                base + 0x1111_0002,
                0xc0ff_ee00 + writes_so_far,
            ],
            "pattern set {k}"
        );
        let r = bus.take(bad_r).unwrap();
        assert_eq!((r.kind, r.resp, r.data), (AxilKind::Read, RESP_SLVERR, 0));
        assert_eq!(bus.pop_result(), None, "every result taken");
    }
    chk.finish().unwrap();
}

// ---------------------------------------------------------------------------------
// AXI4 manager script: write slave, read slave, checker, host memory
// ---------------------------------------------------------------------------------

/// The script in axi_script.v: (id, addr, len, size) and per-beat strobes.
const BURSTS: [(u64, u64, u32, u32); 6] = [
    (1, 0x1000, 3, 3),
    (2, 0x2004, 1, 2),
    (1, 0x2ff8, 0, 3),
    (3, 0x3000, 15, 3),
    (2, 0x10_0000_0ff0, 1, 3),
    (0, 0x4003, 1, 3),
];

fn strobe(g: usize) -> u8 {
    match g {
        4 => 0xf0,
        5 => 0x0f,
        6 => 0x0f,
        25 => 0xf8,
        _ => 0xff,
    }
}

/// Expected bytes per burst: address -> value, from the script.
fn expected_writes() -> Vec<HashMap<u64, u8>> {
    let mut g = 0usize;
    BURSTS
        .iter()
        .enumerate()
        .map(|(i, &(id, addr, len, size))| {
            let b = AxiBurst {
                id,
                addr,
                len,
                size,
                burst: 1,
                user: 0,
                cycle: 0,
                index: i as u64,
            };
            let mut bytes = HashMap::new();
            for k in 0..=len {
                let base = b.beat_addr(k) & !7;
                for lane in 0..8 {
                    if strobe(g) >> lane & 1 == 1 {
                        bytes.insert(base + lane, (8 * g as u64 + lane) as u8);
                    }
                }
                g += 1;
            }
            bytes
        })
        .collect()
}

fn axi_script_run(seed: u64, patterns: bool) {
    let test = format!("axi_script_{seed}");
    let mut m = load("axi_script", &[], &test);
    reset(&mut m);
    let mem = hostmem::shared();
    let mut wr = AxiWriteSlave::new(&m, "m_axi", mem.clone()).unwrap();
    let mut rd = AxiReadSlave::new(&m, "m_axi", mem.clone()).unwrap();
    let mut chk = AxiChecker::new(&m, "m_axi").unwrap();
    wr.set_writer_for(|b| Writer::new(7, b.id, b.addr));
    let mut stall = Pattern::never();
    if patterns {
        wr.set_aw_pause(Pattern::random(0.5, seed));
        wr.set_w_pause(Pattern::random(0.4, seed + 1));
        wr.set_b_pause(Pattern::bursts(2, 3));
        wr.set_b_latency(4);
        wr.set_max_outstanding(2);
        rd.set_ar_pause(Pattern::bit_str("1110"));
        rd.set_r_pause(Pattern::random(0.3, seed + 2));
        rd.set_latency(6);
        stall = Pattern::random(0.3, seed + 3);
    }
    let (done, errors, stall_p) = (
        m.port("done").unwrap(),
        m.port("errors").unwrap(),
        m.port("stall").unwrap(),
    );
    let start = m.cycle();
    while m.get(done) == 0 {
        let s = stall.next();
        m.set(stall_p, s as u64);
        ok(step_all(&mut m, &mut [&mut wr, &mut rd, &mut chk]));
        assert!(m.cycle() - start < 20_000, "script stuck");
    }
    assert_eq!(m.get(errors), 0, "the DUT's own read-back check");
    assert!(wr.idle() && rd.idle());
    chk.finish().unwrap();
    assert_eq!((chk.writes_seen(), chk.reads_seen()), (6, 6));
    assert_eq!(wr.responses(), 6);

    let mem = mem.borrow();
    let expected = expected_writes();
    let mut granted = Vec::new();
    for (i, (log, want)) in wr.writes().iter().zip(&expected).enumerate() {
        let (id, addr, len, _) = BURSTS[i];
        assert_eq!(
            (log.burst.id, log.burst.addr, log.burst.len),
            (id, addr, len)
        );
        let writer = Writer::new(7, id, addr);
        assert_eq!(log.writer, writer);
        assert_eq!(log.bytes, want.len() as u64);
        let lo = *want.keys().min().unwrap();
        let hi = *want.keys().max().unwrap() + 1;
        assert_eq!(hi - lo, want.len() as u64, "burst {i} is contiguous");
        mem.assert_written_once_by(lo..hi, writer).unwrap();
        for (&a, &v) in want {
            assert_eq!(mem.read(a, 1)[0], v, "byte at {a:#x}");
        }
        granted.push(lo..hi);
    }
    assert_eq!(rd.reads().len(), 6);
    mem.assert_writes_within(&granted).unwrap();
    mem.assert_untouched(0x2000..0x2004).unwrap(); // narrow burst: lanes 0..3 of its first beat
    mem.assert_untouched(0x2ffc..0x3000).unwrap(); // partial strobe
    mem.assert_untouched(0x4000..0x4003).unwrap(); // unaligned start
}

#[test]
fn axi_script_full_speed() {
    axi_script_run(1, false);
}

#[test]
fn axi_script_with_back_pressure() {
    for seed in [10, 20, 30] {
        axi_script_run(seed, true);
    }
}

// ---------------------------------------------------------------------------------
// Checkers on scripted sequences
// ---------------------------------------------------------------------------------

fn probe() -> Model {
    load("bfm_probe", &[], "bfm_probe")
}

/// Each cycle: the BFM's `drive`, then the assignments (signals keep their value
/// otherwise), step, `sample`;
/// the result of the first failing sample (or Ok), cycles numbered from 1.
fn script(
    m: &mut Model,
    bfm: &mut dyn Bfm,
    cycles: &[&[(&str, u64)]],
) -> Result<(), ProtocolError> {
    for (i, sets) in cycles.iter().enumerate() {
        bfm.drive(m);
        for (name, v) in *sets {
            let p = m.port(name).unwrap();
            if p.words > 1 {
                m.set_wide(p, &[*v, *v >> 63]); // high word 1 when bit 63 set: a wide value
            } else {
                m.set(p, *v);
            }
        }
        m.step();
        bfm.sample(m, i as u64 + 1)?;
    }
    Ok(())
}

fn expect_err(r: Result<(), ProtocolError>, rule: Rule, text: &str) {
    let e = r.expect_err("the violation was not detected");
    assert_eq!(e.rule, rule);
    assert_eq!(e.to_string(), text);
}

#[test]
fn axis_checker_rules() {
    let mut m = probe();
    let mut c = AxisChecker::new(&m, "s_axis").unwrap();
    script(
        &mut m,
        &mut c,
        &[
            &[("s_axis_tvalid", 1), ("s_axis_tdata", 5)],
            &[],
            &[("s_axis_tready", 1)],
            &[("s_axis_tvalid", 0), ("s_axis_tdata", 6)],
        ],
    )
    .unwrap();
    assert_eq!(c.beats(), 1);
    let mut m = probe();
    let mut c = AxisChecker::new(&m, "s_axis").unwrap();
    expect_err(
        script(&mut m, &mut c, &[&[("s_axis_tvalid", 1)], &[("s_axis_tvalid", 0)]]),
        Rule::ValidDropped,
        "cycle 2: s_axis T: valid dropped before ready: s_axis_tvalid 1 -> 0 while s_axis_tready was 0",
    );
    let mut m = probe();
    let mut c = AxisChecker::new(&m, "s_axis").unwrap();
    expect_err(
        script(
            &mut m,
            &mut c,
            &[
                &[("s_axis_tvalid", 1), ("s_axis_tdata", 1)],
                &[("s_axis_tdata", 1 << 63)],
            ],
        ),
        Rule::PayloadChanged,
        "cycle 2: s_axis T: payload changed while valid && !ready: \
         s_axis_tdata 0x1 -> 0x1_8000000000000000 while s_axis_tready was 0",
    );
    let mut m = probe();
    let mut c = AxisChecker::new(&m, "s_axis").unwrap();
    expect_err(
        script(
            &mut m,
            &mut c,
            &[&[("s_axis_tvalid", 1)], &[], &[("s_axis_tuser", 3)]],
        ),
        Rule::PayloadChanged,
        "cycle 3: s_axis T: payload changed while valid && !ready: s_axis_tuser 0x0 -> 0x3 while s_axis_tready was 0",
    );
}

#[test]
fn axis_sink_rejects_bad_tkeep() {
    let mut m = probe();
    let mut s = AxisSink::new(&m, "m_axis").unwrap();
    expect_err(
        script(
            &mut m,
            &mut s,
            &[&[("x_tvalid", 1), ("x_tkeep", 0b1011), ("x_tlast", 1)]],
        ),
        Rule::KeepNotContiguous,
        "cycle 1: m_axis T: tkeep not contiguous: m_axis_tkeep 0xb",
    );
    let mut m = probe();
    let mut s = AxisSink::new(&m, "m_axis").unwrap();
    expect_err(
        script(
            &mut m,
            &mut s,
            &[&[("x_tvalid", 1), ("x_tkeep", 0b1110), ("x_tlast", 1)]],
        ),
        Rule::KeepNotContiguous,
        "cycle 1: m_axis T: tkeep not contiguous: m_axis_tkeep 0xe",
    );
    let mut m = probe();
    let mut s = AxisSink::new(&m, "m_axis").unwrap();
    expect_err(
        script(
            &mut m,
            &mut s,
            &[&[("x_tvalid", 1), ("x_tkeep", 0), ("x_tlast", 0)]],
        ),
        Rule::KeepZero,
        "cycle 1: m_axis T: tkeep zero on a non-last beat: m_axis_tkeep 0x0, tlast 0",
    );
    // Zero keep with tlast ends a frame (a null last beat is legal).
    let mut m = probe();
    let mut s = AxisSink::new(&m, "m_axis").unwrap();
    script(
        &mut m,
        &mut s,
        &[
            &[
                ("x_tvalid", 1),
                ("x_tkeep", 0xffff),
                ("x_tdata", 0x0807_0605_0403_0201),
            ],
            &[("x_tkeep", 0), ("x_tlast", 1)],
        ],
    )
    .unwrap();
    let f = s.recv().unwrap();
    assert_eq!(&f.data[..9], &[1, 2, 3, 4, 5, 6, 7, 8, 0]);
    assert_eq!(f.data.len(), 16);
}

/// AXI4 script helpers: one AW, W beats, B.
fn aw(id: u64, addr: u64, len: u64, size: u64) -> Vec<(&'static str, u64)> {
    vec![
        ("m_axi_awvalid", 1),
        ("m_axi_awready", 1),
        ("m_axi_awid", id),
        ("m_axi_awaddr", addr),
        ("m_axi_awlen", len),
        ("m_axi_awsize", size),
        ("m_axi_awburst", 1),
    ]
}
const AW_OFF: &[(&str, u64)] = &[("m_axi_awvalid", 0)];
const W_BEAT: &[(&str, u64)] = &[("m_axi_wvalid", 1), ("m_axi_wready", 1), ("m_axi_wlast", 0)];
const W_LAST: &[(&str, u64)] = &[("m_axi_wvalid", 1), ("m_axi_wready", 1), ("m_axi_wlast", 1)];
const W_OFF: &[(&str, u64)] = &[("m_axi_wvalid", 0), ("m_axi_wlast", 0)];

fn axi_probe() -> (Model, AxiChecker) {
    let m = probe();
    let c = AxiChecker::new(&m, "m_axi").unwrap();
    (m, c)
}

#[test]
fn axi_checker_accepts_a_legal_sequence() {
    let (mut m, mut c) = axi_probe();
    let a = aw(1, 0x1000, 1, 3);
    script(
        &mut m,
        &mut c,
        &[
            W_BEAT, // W ahead of its AW (legal)
            &[&a[..], W_LAST].concat(),
            &[AW_OFF, W_OFF, &[("m_axi_bvalid", 1), ("m_axi_bid", 1)]].concat(),
            &[("m_axi_bready", 1)],
            &[
                ("m_axi_bvalid", 0),
                ("m_axi_arvalid", 1),
                ("m_axi_arready", 1),
                ("m_axi_arid", 2),
                ("m_axi_arlen", 1),
                ("m_axi_arsize", 3),
                ("m_axi_arburst", 1),
            ],
            &[
                ("m_axi_arvalid", 0),
                ("m_axi_rvalid", 1),
                ("m_axi_rready", 1),
                ("m_axi_rid", 2),
            ],
            &[("m_axi_rlast", 1)],
            &[("m_axi_rvalid", 0)],
        ],
    )
    .unwrap();
    c.finish().unwrap();
}

#[test]
fn axi_checker_rules() {
    // valid dropped on AW
    let (mut m, mut c) = axi_probe();
    let mut a = aw(0, 0x40, 0, 3);
    a[1].1 = 0; // awready 0
    expect_err(
        script(&mut m, &mut c, &[&a, AW_OFF]),
        Rule::ValidDropped,
        "cycle 2: m_axi AW: valid dropped before ready: m_axi_awvalid 1 -> 0 while m_axi_awready was 0",
    );
    // payload change on W
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(
            &mut m,
            &mut c,
            &[&[("m_axi_wvalid", 1), ("m_axi_wstrb", 0xff)], &[("m_axi_wstrb", 0x0f)]],
        ),
        Rule::PayloadChanged,
        "cycle 2: m_axi W: payload changed while valid && !ready: m_axi_wstrb 0xff -> 0xf while m_axi_wready was 0",
    );
    // B for an id with nothing outstanding
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(
            &mut m,
            &mut c,
            &[
                &[&aw(1, 0x40, 0, 3)[..], W_LAST].concat(),
                &[AW_OFF, W_OFF, &[("m_axi_bvalid", 1), ("m_axi_bid", 2)]].concat(),
            ],
        ),
        Rule::NoOutstandingRequest,
        "cycle 2: m_axi B: response with no outstanding request: m_axi_bid 0x2: no write outstanding with that id",
    );
    // B before the last W beat
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(
            &mut m,
            &mut c,
            &[
                &[&aw(1, 0x40, 1, 3)[..], W_BEAT].concat(),
                &[AW_OFF, W_OFF, &[("m_axi_bvalid", 1), ("m_axi_bid", 1)]].concat(),
            ],
        ),
        Rule::ResponseBeforeData,
        "cycle 2: m_axi B: B response before the last W beat: m_axi_bid 0x1: the write to 0x40 (awlen 1) has not had its last W beat",
    );
    // R with nothing outstanding
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(&mut m, &mut c, &[&[("m_axi_rvalid", 1), ("m_axi_rid", 5)]]),
        Rule::NoOutstandingRequest,
        "cycle 1: m_axi R: response with no outstanding request: m_axi_rid 0x5: no read outstanding with that id",
    );
    // INCR burst across 4 KiB
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(&mut m, &mut c, &[&aw(0, 0xfc8, 7, 3)]),
        Rule::Crosses4k,
        "cycle 1: m_axi AW: INCR burst crosses a 4 KiB boundary: \
         m_axi_awaddr 0xfc8, awlen 7, awsize 3: bytes 0xfc8..=0x1007 cross 0x1000",
    );
    // ... and exactly up to the boundary is fine
    let (mut m, mut c) = axi_probe();
    script(&mut m, &mut c, &[&aw(0, 0xfc0, 7, 3)]).unwrap();
    // WLAST early
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(&mut m, &mut c, &[&[&aw(3, 0x80, 3, 3)[..], W_BEAT].concat(), &[AW_OFF, W_LAST].concat()]),
        Rule::WlastMismatch,
        "cycle 2: m_axi W: WLAST not on the awlen-th beat: m_axi_wlast 1 on beat 1 of a burst with awlen 3 (awid 0x3, awaddr 0x80)",
    );
    // WLAST missing on the last beat
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(&mut m, &mut c, &[&[&aw(3, 0x80, 1, 3)[..], W_BEAT].concat(), &[AW_OFF, W_BEAT].concat()]),
        Rule::WlastMismatch,
        "cycle 2: m_axi W: WLAST not on the awlen-th beat: m_axi_wlast 0 on beat 1 of a burst with awlen 1 (awid 0x3, awaddr 0x80)",
    );
    // W burst ahead of its AW, with the wrong length
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(&mut m, &mut c, &[W_BEAT, W_LAST, &[W_OFF, &aw(4, 0x100, 0, 3)[..]].concat()]),
        Rule::WlastMismatch,
        "cycle 3: m_axi W: WLAST not on the awlen-th beat: m_axi_wlast on beat 1 of a W burst sent before its AW, \
         which has awlen 0 (awid 0x4, awaddr 0x100)",
    );
    // awsize larger than the bus (8 bytes)
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(&mut m, &mut c, &[&aw(0, 0x0, 0, 4)]),
        Rule::SizeTooLarge,
        "cycle 1: m_axi AW: AxSIZE larger than the data bus: m_axi_awsize 4 (16 bytes) on a 8-byte bus",
    );
    // reserved burst type
    let (mut m, mut c) = axi_probe();
    let mut a = aw(0, 0x0, 0, 3);
    a[6].1 = 3;
    expect_err(
        script(&mut m, &mut c, &[&a]),
        Rule::BadBurst,
        "cycle 1: m_axi AW: illegal burst: m_axi_awburst 3 is reserved",
    );
    // RLAST on the wrong beat
    let (mut m, mut c) = axi_probe();
    expect_err(
        script(
            &mut m,
            &mut c,
            &[
                &[("m_axi_arvalid", 1), ("m_axi_arready", 1), ("m_axi_arid", 1), ("m_axi_arlen", 2), ("m_axi_arsize", 3)],
                &[("m_axi_arvalid", 0), ("m_axi_rvalid", 1), ("m_axi_rready", 1), ("m_axi_rid", 1), ("m_axi_rlast", 1)],
            ],
        ),
        Rule::RlastMismatch,
        "cycle 2: m_axi R: RLAST not on the arlen-th beat: m_axi_rlast 1 on beat 0 of a burst with arlen 2 (arid 0x1, araddr 0x0)",
    );
    // outstanding at the end
    let (mut m, mut c) = axi_probe();
    script(
        &mut m,
        &mut c,
        &[&aw(1, 0x40, 1, 3), &[AW_OFF, W_BEAT].concat(), W_OFF],
    )
    .unwrap();
    let e = c.finish().unwrap_err();
    assert_eq!(
        e.to_string(),
        "cycle 3: m_axi *: transactions outstanding at the end: 1 write(s) without B, \
         1 W beat(s) of an unfinished burst, 0 W burst(s) without AW, 0 read(s) unfinished"
    );
}

#[test]
fn axil_checker_rules() {
    let new = || {
        let m = probe();
        let c = AxilChecker::new(&m, "s_axil").unwrap();
        (m, c)
    };
    // B after AW only (no W yet)
    let (mut m, mut c) = new();
    expect_err(
        script(
            &mut m,
            &mut c,
            &[
                &[("s_axil_awvalid", 1), ("s_axil_awready", 1)],
                &[("s_axil_awvalid", 0), ("s_axil_bvalid", 1)],
            ],
        ),
        Rule::NoOutstandingRequest,
        "cycle 2: s_axil B: response with no outstanding request: s_axil_bvalid 1 after 1 AW, 0 W and 0 B handshakes",
    );
    // R with no AR
    let (mut m, mut c) = new();
    expect_err(
        script(&mut m, &mut c, &[&[("s_axil_rvalid", 1)]]),
        Rule::NoOutstandingRequest,
        "cycle 1: s_axil R: response with no outstanding request: s_axil_rvalid 1 after 0 AR and 0 R handshakes",
    );
    // AR withdrawn
    let (mut m, mut c) = new();
    expect_err(
        script(&mut m, &mut c, &[&[("s_axil_arvalid", 1), ("s_axil_araddr", 4)], &[("s_axil_araddr", 8)]]),
        Rule::PayloadChanged,
        "cycle 2: s_axil AR: payload changed while valid && !ready: s_axil_araddr 0x4 -> 0x8 while s_axil_arready was 0",
    );
    // a legal write and read, then finish
    let (mut m, mut c) = new();
    script(
        &mut m,
        &mut c,
        &[
            &[
                ("s_axil_awvalid", 1),
                ("s_axil_awready", 1),
                ("s_axil_wvalid", 1),
            ],
            &[("s_axil_awvalid", 0), ("s_axil_wready", 1)],
            &[
                ("s_axil_wvalid", 0),
                ("s_axil_bvalid", 1),
                ("s_axil_bready", 1),
                ("s_axil_arvalid", 1),
                ("s_axil_arready", 1),
            ],
            &[
                ("s_axil_bvalid", 0),
                ("s_axil_arvalid", 0),
                ("s_axil_rvalid", 1),
                ("s_axil_rready", 1),
            ],
            &[("s_axil_rvalid", 0)],
        ],
    )
    .unwrap();
    c.finish().unwrap();
}

#[test]
fn slave_direction_errors_name_the_port() {
    let m = probe(); // all m_axi_* are inputs here: a write slave cannot read awvalid
    let e = AxiWriteSlave::new(&m, "m_axi", hostmem::shared())
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with(
            "AXI4 write subordinate `m_axi`: `m_axi_wdata` must be an output of the model \
             (the BFM reads it), but it is an input"
        ),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------
// The write subordinate on scripted manager sequences (axi_mirror.v)
// ---------------------------------------------------------------------------------

fn mirror() -> (Model, AxiWriteSlave, hostmem::SharedMemory) {
    let m = load("axi_mirror", &[], "axi_mirror");
    let mem = hostmem::shared();
    let wr = AxiWriteSlave::new(&m, "m_axi", mem.clone()).unwrap();
    (m, wr, mem)
}

fn maw(id: u64, addr: u64, len: u64, size: u64, burst: u64) -> Vec<(&'static str, u64)> {
    vec![
        ("i_awvalid", 1),
        ("i_awid", id),
        ("i_awaddr", addr),
        ("i_awlen", len),
        ("i_awsize", size),
        ("i_awburst", burst),
        ("i_bready", 1),
    ]
}

fn mw(data: u64, strb: u64, last: bool) -> Vec<(&'static str, u64)> {
    vec![
        ("i_awvalid", 0),
        ("i_wvalid", 1),
        ("i_wdata", data),
        ("i_wstrb", strb),
        ("i_wlast", last as u64),
    ]
}

const MW_OFF: &[(&str, u64)] = &[("i_awvalid", 0), ("i_wvalid", 0)];

#[test]
fn write_slave_wrap_fixed_and_narrow_bursts() {
    let (mut m, mut wr, mem) = mirror();
    wr.set_writer_for(|b| Writer::new(9, b.id, b.index));
    let d = |k: u64| 0x0101_0101_0101_0101 * (k + 1);
    script(
        &mut m,
        &mut wr,
        &[
            // WRAP, 4 x 8 bytes from 0x1018: beats at 0x1018, 0x1000, 0x1008, 0x1010
            &maw(1, 0x1018, 3, 3, 2),
            &mw(d(0), 0xff, false),
            &mw(d(1), 0xff, false),
            &mw(d(2), 0xff, false),
            &mw(d(3), 0xff, true),
            // FIXED, 2 x 4 bytes at 0x2000: the same lanes twice
            &maw(2, 0x2000, 1, 2, 0),
            &mw(0x1111_1111, 0x0f, false),
            &mw(0x2222, 0x03, true),
            MW_OFF,
            MW_OFF,
        ],
    )
    .unwrap();
    assert!(wr.idle(), "both B responses taken");
    assert_eq!(wr.responses(), 2);
    let mem = mem.borrow();
    assert_eq!(
        mem.read(0x1000, 32),
        [[2u8; 8], [3; 8], [4; 8], [1; 8]].concat()
    );
    let wrap = Writer::new(9, 1, 0);
    mem.assert_written_once_by(0x1000..0x1020, wrap).unwrap();
    let fixed = Writer::new(9, 2, 1);
    assert_eq!(mem.read(0x2000, 4), [0x22, 0x22, 0x11, 0x11]);
    assert_eq!(mem.record(0x2000).unwrap().count, 2);
    mem.assert_written_once_by(0x2002..0x2004, fixed).unwrap();
    mem.assert_untouched(0x2004..0x2008).unwrap();
    let log = wr.writes();
    assert_eq!((log[0].bytes, log[1].bytes), (32, 6));
}

#[test]
fn write_slave_b_latency_and_ids() {
    let (mut m, mut wr, _mem) = mirror();
    wr.set_b_latency(3);
    let (bvalid, bid) = (
        m.port("m_axi_bvalid").unwrap(),
        m.port("m_axi_bid").unwrap(),
    );
    let mut seen = Vec::new();
    let cycles: Vec<Vec<(&str, u64)>> = vec![
        maw(5, 0x40, 0, 3, 1),
        mw(1, 0xff, true), // last W beat at cycle 2
        [maw(6, 0x80, 0, 3, 1), vec![("i_wvalid", 0)]].concat(),
        mw(2, 0xff, true), // at cycle 4
        MW_OFF.to_vec(),
        MW_OFF.to_vec(),
        MW_OFF.to_vec(),
        MW_OFF.to_vec(),
        MW_OFF.to_vec(),
    ];
    for (i, sets) in cycles.iter().enumerate() {
        script(&mut m, &mut wr, &[sets]).unwrap();
        if m.get(bvalid) == 1 {
            seen.push((i + 1, m.get(bid)));
        }
    }
    // bvalid 3 cycles after the cycle after the last W beat: 2 + 1 + 3, 4 + 1 + 3
    assert_eq!(seen, [(6, 5), (8, 6)]);
}

#[test]
fn write_slave_rejects_what_it_cannot_serve() {
    let (mut m, mut wr, mem) = mirror();
    expect_err(
        script(
            &mut m,
            &mut wr,
            &[&maw(0, 0x3004, 0, 2, 1), &mw(0, 0x0f, true)],
        ),
        Rule::StrobeOutsideLanes,
        "cycle 2: m_axi W: WSTRB outside the beat's byte lanes: \
         m_axi_wstrb 0xf sets lane 0; beat 0 at 0x3004 may use lanes 4..=7",
    );
    mem.borrow().assert_untouched(0..u64::MAX).unwrap();
    let (mut m, mut wr, _) = mirror();
    expect_err(
        script(
            &mut m,
            &mut wr,
            &[&maw(7, 0x100, 1, 3, 1), &mw(0, 0xff, true)],
        ),
        Rule::WlastMismatch,
        "cycle 2: m_axi W: WLAST not on the awlen-th beat: \
         m_axi_wlast 1 on beat 0 of a burst with awlen 1 (awid 0x7, awaddr 0x100)",
    );
    let (mut m, mut wr, _) = mirror();
    expect_err(
        script(&mut m, &mut wr, &[&maw(0, 0x1ff8, 1, 3, 1)]),
        Rule::Crosses4k,
        "cycle 1: m_axi AW: INCR burst crosses a 4 KiB boundary: \
         m_axi_awaddr 0x1ff8, awlen 1, awsize 3: bytes 0x1ff8..=0x2007 cross 0x2000",
    );
    let (mut m, mut wr, _) = mirror();
    expect_err(
        script(&mut m, &mut wr, &[&maw(0, 0x1008, 2, 3, 2)]),
        Rule::BadBurst,
        "cycle 1: m_axi AW: illegal burst: WRAP with m_axi_awlen 2 (3 beats); must be 2, 4, 8 or 16 beats",
    );
}
