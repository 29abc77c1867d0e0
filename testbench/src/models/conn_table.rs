//! Reference model of `conn_table`, written from its contract
//! (`docs/conn_table.md`), with the port adapter a test needs.
//!
//! * [`ConnTable`]: the state as the contract describes it (per connection:
//!   known, error, PD, three MSNs, a FIFO of posted buffers) and its cycle
//!   timing: what the block presents before an edge ([`ConnTable::expected`])
//!   and what the edge does ([`ConnTable::clock`]).
//! * [`Dut`]: the Verilator model's ports looked up once; drives
//!   [`Inputs`], samples [`Outputs`].
//! * [`compare`]: every output that the contract defines, at one edge.
//!
//! Conventions: `Model::step` samples the outputs the DUT presents at the
//! edge it then takes, so a bench drives inputs, takes `expected()`, steps
//! the DUT, compares, and clocks the model with the same inputs.

use std::collections::VecDeque;

use sim::{Model, Port};

pub use hdl::blocks::conn_table::{op, status, ConnTableParams, LATENCY};

/// Parameters of a table under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub connections: u32,
    pub rq_depth: u32,
    pub pd_bits: u32,
    pub dma_addr_bits: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            connections: 64,
            rq_depth: 8,
            pd_bits: 16,
            dma_addr_bits: 64,
        }
    }
}

impl Config {
    pub fn params(&self) -> ConnTableParams {
        ConnTableParams {
            name: format!(
                "conn_table_c{}_q{}_p{}_a{}",
                self.connections, self.rq_depth, self.pd_bits, self.dma_addr_bits
            ),
            connections: self.connections,
            rq_depth: self.rq_depth,
            pd_bits: self.pd_bits,
            dma_addr_bits: self.dma_addr_bits,
        }
    }
    pub fn pd_mask(&self) -> u32 {
        mask32(self.pd_bits)
    }
    pub fn addr_mask(&self) -> u64 {
        if self.dma_addr_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.dma_addr_bits) - 1
        }
    }
    pub fn index_bits(&self) -> u32 {
        self.rq_depth.trailing_zeros()
    }
}

fn mask32(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

/// Build (or take from the cache) and load the table of `cfg`; `WAVES=1`
/// traces it to `target/waves/<test>.vcd`.
pub fn load_dut(cfg: &Config, test: &str) -> Dut {
    let params = cfg.params();
    let module =
        hdl::blocks::conn_table::elaborate(&params).unwrap_or_else(|e| panic!("elaborate: {e}"));
    let mut design = hdl::Design::default();
    design.add(&module).unwrap_or_else(|e| panic!("{e}"));
    let m = crate::dut::load(&design, &params.name, test).unwrap_or_else(|e| panic!("{e}"));
    Dut::new(m)
}

/// Every input of the block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    pub rst: bool,
    pub rd_valid: bool,
    pub rd_conn: u16,
    pub up_valid: bool,
    pub up_conn: u16,
    pub up_msn_send: bool,
    pub up_msn_rreq: bool,
    pub up_msn_term: bool,
    pub up_set_error: bool,
    pub cmd_valid: bool,
    pub cmd: Cmd,
    pub resp_ready: bool,
}

/// A host command's fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cmd {
    pub op: u8,
    pub conn: u16,
    pub pd: u32,
    pub msn_send: u32,
    pub msn_rreq: u32,
    pub msn_term: u32,
    pub error: bool,
    pub addr: u64,
    pub len: u32,
    pub index: u32,
}

/// A lookup answer (`rd_*`, valid when `rd_out_valid`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    pub known: bool,
    pub error: bool,
    pub pd: u32,
    pub msn_send: u32,
    pub msn_rreq: u32,
    pub msn_term: u32,
    pub rq_valid: bool,
    pub rq_addr: u64,
    pub rq_len: u32,
}

/// A command response (`resp_*`, valid when `resp_valid`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resp {
    pub status: u8,
    pub conn: u16,
    pub error: bool,
    pub pd: u32,
    pub msn_send: u32,
    pub msn_rreq: u32,
    pub msn_term: u32,
    pub rq_count: u32,
    pub rq_addr: u64,
    pub rq_len: u32,
}

/// Every output of the block. Fields of an interface whose valid is low
/// are don't-care (the model leaves them at default).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outputs {
    pub rd_out_valid: bool,
    pub rd: Lookup,
    pub cmd_ready: bool,
    pub resp_valid: bool,
    pub resp: Resp,
}

/// One connection's state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conn {
    pub known: bool,
    pub error: bool,
    pub pd: u32,
    pub msn_send: u32,
    pub msn_rreq: u32,
    pub msn_term: u32,
    /// Posted buffers, head first: (addr, len).
    pub rq: VecDeque<(u64, u32)>,
}

/// The model.
#[derive(Clone, Debug)]
pub struct ConnTable {
    pub cfg: Config,
    pub conns: Vec<Conn>,
    /// Lookup stage 1 (answer computed at the request edge).
    l1: Option<Lookup>,
    /// Lookup stage 2: the outputs.
    l2: Option<Lookup>,
    /// A command accepted at the previous edge, executing at the next.
    busy: Option<Cmd>,
    /// A command executed at the previous edge (its status and response
    /// decided), committing at the next.
    commit: Option<(Cmd, Resp)>,
    resp: Option<Resp>,
}

impl ConnTable {
    pub fn new(cfg: Config) -> Self {
        ConnTable {
            cfg,
            conns: vec![Conn::default(); cfg.connections as usize],
            l1: None,
            l2: None,
            busy: None,
            commit: None,
            resp: None,
        }
    }

    /// The connection an id names, if in range.
    fn index(&self, id: u16) -> Option<usize> {
        ((id as u32) < self.cfg.connections).then_some(id as usize)
    }

    /// The connection `id` (None when out of range or unknown).
    pub fn conn(&self, id: u16) -> Option<&Conn> {
        self.index(id).map(|i| &self.conns[i]).filter(|c| c.known)
    }

    fn lookup(&self, id: u16) -> Lookup {
        match self.conn(id) {
            None => Lookup::default(),
            Some(c) => {
                let head = c.rq.front().copied();
                Lookup {
                    known: true,
                    error: c.error,
                    pd: c.pd,
                    msn_send: c.msn_send,
                    msn_rreq: c.msn_rreq,
                    msn_term: c.msn_term,
                    rq_valid: head.is_some(),
                    rq_addr: head.map_or(0, |h| h.0),
                    rq_len: head.map_or(0, |h| h.1),
                }
            }
        }
    }

    /// What the block presents before the next edge.
    pub fn expected(&self) -> Outputs {
        Outputs {
            rd_out_valid: self.l2.is_some(),
            rd: self.l2.clone().unwrap_or_default(),
            cmd_ready: self.busy.is_none() && self.commit.is_none() && self.resp.is_none(),
            resp_valid: self.resp.is_some(),
            resp: self.resp.clone().unwrap_or_default(),
        }
    }

    /// The status and response of command `c` against the current state.
    fn execute(&self, c: &Cmd) -> Resp {
        let known = self.conn(c.conn);
        let depth = self.cfg.rq_depth as usize;
        let st = match c.op as u128 {
            op::CREATE | op::IMPORT => match (self.index(c.conn), known) {
                (None, _) => status::BAD_ID,
                (_, Some(_)) => status::EXISTS,
                _ => status::OK,
            },
            op::DESTROY | op::EXPORT | op::RECREATE => {
                if known.is_some() {
                    status::OK
                } else {
                    status::UNKNOWN
                }
            }
            op::POST_RECV => match known {
                None => status::UNKNOWN,
                Some(k) if k.rq.len() == depth => status::FULL,
                _ => status::OK,
            },
            op::EXPORT_RQ => match known {
                None => status::UNKNOWN,
                Some(k) if (c.index as usize) >= k.rq.len() => status::RANGE,
                _ => status::OK,
            },
            _ => status::BAD_OP,
        } as u8;
        let mut r = Resp {
            status: st,
            conn: c.conn,
            ..Resp::default()
        };
        if let (true, Some(k)) = (st == status::OK as u8, known) {
            if c.op as u128 == op::EXPORT {
                r.error = k.error;
                r.pd = k.pd;
                r.msn_send = k.msn_send;
                r.msn_rreq = k.msn_rreq;
                r.msn_term = k.msn_term;
                r.rq_count = k.rq.len() as u32;
            } else if c.op as u128 == op::EXPORT_RQ {
                let (a, l) = k.rq[c.index as usize];
                r.rq_addr = a;
                r.rq_len = l;
            }
        }
        r
    }

    /// One rising edge with inputs `i`.
    pub fn clock(&mut self, i: &Inputs) {
        if i.rst {
            for c in &mut self.conns {
                c.known = false;
            }
            self.l1 = None;
            self.l2 = None;
            self.busy = None;
            self.commit = None;
            self.resp = None;
            return;
        }
        // Lookup: sampled against the state before this edge.
        self.l2 = self.l1.take();
        self.l1 = i.rd_valid.then(|| self.lookup(i.rd_conn));
        // The command accepted at the previous edge executes now, against
        // the state before this edge (it commits at the next edge); the one
        // executed at the previous edge commits now.
        let exec = self.busy.take().map(|c| {
            let r = self.execute(&c);
            (c, r)
        });
        let done = self.commit.take();
        // Updates first...
        if i.up_valid {
            if let Some(x) = self.index(i.up_conn) {
                let c = &mut self.conns[x];
                if c.known {
                    if i.up_msn_send {
                        c.msn_send = c.msn_send.wrapping_add(1);
                        c.rq.pop_front();
                    }
                    if i.up_msn_rreq {
                        c.msn_rreq = c.msn_rreq.wrapping_add(1);
                    }
                    if i.up_msn_term {
                        c.msn_term = c.msn_term.wrapping_add(1);
                    }
                    if i.up_set_error {
                        c.error = true;
                    }
                }
            }
        }
        // ... then the command's commit.
        let was_resp = self.resp.is_some();
        let was_busy = exec.is_some() || done.is_some();
        if was_resp && i.resp_ready {
            self.resp = None;
        }
        self.commit = exec;
        if let Some((cmd, r)) = done {
            if r.status == status::OK as u8 {
                let x = cmd.conn as usize;
                let c = &mut self.conns[x];
                match cmd.op as u128 {
                    op::CREATE | op::IMPORT => {
                        *c = Conn {
                            known: true,
                            error: cmd.op as u128 == op::IMPORT && cmd.error,
                            pd: cmd.pd,
                            msn_send: cmd.msn_send,
                            msn_rreq: cmd.msn_rreq,
                            msn_term: cmd.msn_term,
                            rq: VecDeque::new(),
                        }
                    }
                    op::RECREATE => {
                        c.error = false;
                        c.msn_send = cmd.msn_send;
                        c.msn_rreq = cmd.msn_rreq;
                        c.msn_term = cmd.msn_term;
                        c.rq.clear();
                    }
                    op::DESTROY => {
                        c.known = false;
                        c.rq.clear();
                    }
                    op::POST_RECV => c.rq.push_back((cmd.addr, cmd.len)),
                    _ => {}
                }
            }
            self.resp = Some(r);
        }
        // Accept: ready is the pre-edge value.
        let ready = !was_resp && !was_busy;
        if i.cmd_valid && ready {
            self.busy = Some(i.cmd.clone());
        }
    }
}

/// The DUT's ports, looked up once.
pub struct Dut {
    pub m: Model,
    ins: Vec<Port>,
    outs: Vec<Port>,
}

const IN_NAMES: [&str; 22] = [
    "rst",
    "rd_valid",
    "rd_conn",
    "up_valid",
    "up_conn",
    "up_msn_send",
    "up_msn_rreq",
    "up_msn_term",
    "up_set_error",
    "cmd_valid",
    "cmd_op",
    "cmd_conn",
    "cmd_pd",
    "cmd_msn_send",
    "cmd_msn_rreq",
    "cmd_msn_term",
    "cmd_error",
    "cmd_addr",
    "cmd_len",
    "cmd_index",
    "resp_ready",
    "clk",
];

const OUT_NAMES: [&str; 22] = [
    "rd_out_valid",
    "rd_known",
    "rd_error",
    "rd_pd",
    "rd_msn_send",
    "rd_msn_rreq",
    "rd_msn_term",
    "rd_rq_valid",
    "rd_rq_addr",
    "rd_rq_len",
    "cmd_ready",
    "resp_valid",
    "resp_status",
    "resp_conn",
    "resp_error",
    "resp_pd",
    "resp_msn_send",
    "resp_msn_rreq",
    "resp_msn_term",
    "resp_rq_count",
    "resp_rq_addr",
    "resp_rq_len",
];

impl Dut {
    pub fn new(m: Model) -> Dut {
        let ins = IN_NAMES[..21]
            .iter()
            .map(|n| m.port(n).unwrap_or_else(|e| panic!("{n}: {e}")))
            .collect();
        let outs = OUT_NAMES
            .iter()
            .map(|n| m.port(n).unwrap_or_else(|e| panic!("{n}: {e}")))
            .collect();
        Dut { m, ins, outs }
    }

    pub fn drive(&mut self, i: &Inputs) {
        let p = &self.ins;
        let m = &mut self.m;
        m.set(p[0], i.rst as u64);
        m.set(p[1], i.rd_valid as u64);
        m.set(p[2], i.rd_conn as u64);
        m.set(p[3], i.up_valid as u64);
        m.set(p[4], i.up_conn as u64);
        m.set(p[5], i.up_msn_send as u64);
        m.set(p[6], i.up_msn_rreq as u64);
        m.set(p[7], i.up_msn_term as u64);
        m.set(p[8], i.up_set_error as u64);
        m.set(p[9], i.cmd_valid as u64);
        m.set(p[10], i.cmd.op as u64);
        m.set(p[11], i.cmd.conn as u64);
        m.set(p[12], i.cmd.pd as u64);
        m.set(p[13], i.cmd.msn_send as u64);
        m.set(p[14], i.cmd.msn_rreq as u64);
        m.set(p[15], i.cmd.msn_term as u64);
        m.set(p[16], i.cmd.error as u64);
        m.set(p[17], i.cmd.addr);
        m.set(p[18], i.cmd.len as u64);
        m.set(p[19], i.cmd.index as u64);
        m.set(p[20], i.resp_ready as u64);
    }

    /// The outputs presented at the edge the last `step` took.
    pub fn sample(&self) -> Outputs {
        let g = |k: usize| self.m.get(self.outs[k]);
        let b = |k: usize| g(k) != 0;
        Outputs {
            rd_out_valid: b(0),
            rd: Lookup {
                known: b(1),
                error: b(2),
                pd: g(3) as u32,
                msn_send: g(4) as u32,
                msn_rreq: g(5) as u32,
                msn_term: g(6) as u32,
                rq_valid: b(7),
                rq_addr: g(8),
                rq_len: g(9) as u32,
            },
            cmd_ready: b(10),
            resp_valid: b(11),
            resp: Resp {
                status: g(12) as u8,
                conn: g(13) as u16,
                error: b(14),
                pd: g(15) as u32,
                msn_send: g(16) as u32,
                msn_rreq: g(17) as u32,
                msn_term: g(18) as u32,
                rq_count: g(19) as u32,
                rq_addr: g(20),
                rq_len: g(21) as u32,
            },
        }
    }

    /// Drive `i` and take one edge; the outputs presented at it.
    pub fn step(&mut self, i: &Inputs) -> Outputs {
        self.drive(i);
        self.m.step();
        self.sample()
    }
}

/// Compare what the DUT presented at edge `cycle` with the model's
/// expectation; fields behind a low valid are not compared. Panics on the
/// first difference.
pub fn compare(cycle: u64, exp: &Outputs, got: &Outputs) {
    let fail = |what: &str, e: &dyn std::fmt::Debug, g: &dyn std::fmt::Debug| {
        panic!("cycle {cycle}: {what}: expected {e:?}, got {g:?}\n  expected {exp:?}\n  got      {got:?}")
    };
    if exp.rd_out_valid != got.rd_out_valid {
        fail("rd_out_valid", &exp.rd_out_valid, &got.rd_out_valid);
    }
    if exp.rd_out_valid && exp.rd != got.rd {
        fail("lookup answer", &exp.rd, &got.rd);
    }
    if exp.cmd_ready != got.cmd_ready {
        fail("cmd_ready", &exp.cmd_ready, &got.cmd_ready);
    }
    if exp.resp_valid != got.resp_valid {
        fail("resp_valid", &exp.resp_valid, &got.resp_valid);
    }
    if exp.resp_valid && exp.resp != got.resp {
        fail("response", &exp.resp, &got.resp);
    }
}

/// A bench: the DUT and the model in lock step, every output compared at
/// every edge.
pub struct Bench {
    pub dut: Dut,
    pub model: ConnTable,
    pub cycle: u64,
}

impl Bench {
    pub fn new(cfg: Config, test: &str) -> Bench {
        Bench {
            dut: load_dut(&cfg, test),
            model: ConnTable::new(cfg),
            cycle: 0,
        }
    }

    /// One edge with inputs `i`: compare, then clock the model. Returns what
    /// the DUT presented at the edge.
    pub fn step(&mut self, i: &Inputs) -> Outputs {
        let exp = self.model.expected();
        let got = self.dut.step(i);
        self.cycle += 1;
        compare(self.cycle, &exp, &got);
        self.model.clock(i);
        got
    }

    /// Two reset edges, inputs idle.
    pub fn reset(&mut self) {
        let r = Inputs {
            rst: true,
            ..Inputs::default()
        };
        // Before the first reset the outputs are unknown: do not compare.
        self.dut.step(&r);
        self.model.clock(&r);
        self.cycle += 1;
        self.step(&r);
    }
}
