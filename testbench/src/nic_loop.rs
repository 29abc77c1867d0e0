//! A plain cycle loop around `nic_rx` (no coroutines, no back-pressure):
//! FPDUs in on `s_axis_rx`, an always-ready AXI4 write subordinate that
//! keeps the bytes, an always-ready Terminate sink and miss-event sink, and
//! blocking host commands. For smoke tests and the receive-path benchmark;
//! the full test bench with random back-pressure is `tests/nic_rx.rs`.

use std::collections::{HashMap, VecDeque};

use hdl::blocks::nic_rx::{elaborate, NicRxParams};
use hdl::design::Design;
use hdl::params::Params;
use sim::{Model, Port};

pub struct Nic {
    pub m: Model,
    pub ports: HashMap<String, Port>,
    pub bb: usize,
    /// FPDUs to send: (connection, bytes).
    pub rx: VecDeque<(u16, Vec<u8>)>,
    rx_off: usize,
    aw: VecDeque<(u64, u32)>,
    b_pending: u32,
    /// Host memory as written: address -> byte.
    pub mem: HashMap<u64, u8>,
    /// Terminates received, one FPDU each.
    pub tx: Vec<Vec<u8>>,
    tx_cur: Vec<u8>,
    /// Miss events taken: (STag, connection).
    pub misses: Vec<(u32, u16)>,
    /// Invalidation events taken: (STag, connection).
    pub invals: Vec<(u32, u16)>,
    /// Cycle numbers of each FPDU's last beat accepted, in order.
    pub rx_last_at: Vec<u64>,
    /// Cycle numbers of every AW handshake.
    pub aw_at: Vec<u64>,
    /// Cycle numbers of the first W beat of every burst.
    pub w_first_at: Vec<u64>,
    w_in_burst: bool,
}

impl Nic {
    pub fn new(params: &Params, test: &str) -> Nic {
        let top = elaborate(&NicRxParams::from_params(params)).unwrap();
        let mut d = Design::default();
        d.add(&top).unwrap();
        let m = crate::dut::load(&d, "nic_rx", test).unwrap();
        let ports = m
            .ports()
            .map(|(n, p)| (n.to_string(), p))
            .collect::<HashMap<_, _>>();
        Nic {
            m,
            ports,
            bb: params.get("data-width") as usize / 8,
            rx: VecDeque::new(),
            rx_off: 0,
            aw: VecDeque::new(),
            b_pending: 0,
            mem: HashMap::new(),
            tx: Vec::new(),
            tx_cur: Vec::new(),
            misses: Vec::new(),
            invals: Vec::new(),
            rx_last_at: Vec::new(),
            aw_at: Vec::new(),
            w_first_at: Vec::new(),
            w_in_burst: false,
        }
    }
    pub fn p(&self, n: &str) -> Port {
        *self.ports.get(n).unwrap_or_else(|| panic!("no port {n}"))
    }
    pub fn set(&mut self, n: &str, v: u64) {
        let p = self.p(n);
        self.m.set(p, v);
    }
    pub fn get(&self, n: &str) -> u64 {
        self.m.get(self.p(n))
    }
    pub fn set_wide(&mut self, n: &str, v: &[u64]) {
        let p = self.p(n);
        self.m.set_wide(p, v);
    }

    /// One clock with the bus models.
    pub fn cycle(&mut self) {
        let bb = self.bb;
        // rx source
        if let Some((conn, f)) = self.rx.front() {
            let chunk = &f[self.rx_off..(self.rx_off + bb).min(f.len())];
            let mut words = vec![0u64; bb.div_ceil(8)];
            for (i, b) in chunk.iter().enumerate() {
                words[i / 8] |= (*b as u64) << (8 * (i % 8));
            }
            let keep = if chunk.len() == 64 {
                u64::MAX
            } else {
                (1u64 << chunk.len()) - 1
            };
            let last = self.rx_off + bb >= f.len();
            let conn = *conn;
            self.set_wide("s_axis_rx_tdata", &words);
            self.set("s_axis_rx_tkeep", keep);
            self.set("s_axis_rx_tlast", last as u64);
            self.set("s_axis_rx_tuser", conn as u64);
            self.set("s_axis_rx_tvalid", 1);
        } else {
            self.set("s_axis_rx_tvalid", 0);
        }
        self.set("m_axi_awready", 1);
        self.set("m_axi_wready", 1);
        self.set("m_axi_bvalid", (self.b_pending > 0) as u64);
        self.set("m_axi_bid", 0);
        self.set("m_axi_bresp", 0);
        self.set("m_axis_tx_tready", 1);
        self.set("m_miss_ready", 1);
        self.set("m_inval_ready", 1);
        self.m.step();
        if self.get("s_axis_rx_tvalid") == 1 && self.get("s_axis_rx_tready") == 1 {
            let len = self.rx.front().unwrap().1.len();
            self.rx_off += bb;
            if self.rx_off >= len {
                self.rx_last_at.push(self.m.cycle());
                self.rx.pop_front();
                self.rx_off = 0;
            }
        }
        if self.get("m_axi_awvalid") == 1 {
            self.aw_at.push(self.m.cycle());
            let a = self.get("m_axi_awaddr") & !(bb as u64 - 1);
            self.aw.push_back((a, self.get("m_axi_awlen") as u32 + 1));
        }
        if self.b_pending > 0 {
            self.b_pending -= 1;
        }
        if self.get("m_axi_wvalid") == 1 {
            let strb = self.get("m_axi_wstrb");
            let data = self.m.get_wide(self.p("m_axi_wdata")).to_vec();
            let last = self.get("m_axi_wlast") == 1;
            if !self.w_in_burst {
                self.w_first_at.push(self.m.cycle());
            }
            self.w_in_burst = !last;
            let (addr, left) = self.aw.front_mut().expect("W before AW");
            for i in 0..bb {
                if strb >> i & 1 == 1 {
                    self.mem
                        .insert(*addr + i as u64, (data[i / 8] >> (8 * (i % 8))) as u8);
                }
            }
            *addr += bb as u64;
            *left -= 1;
            assert_eq!(last, *left == 0, "wlast");
            if last {
                self.aw.pop_front();
                self.b_pending += 1;
            }
        }
        if self.get("m_axis_tx_tvalid") == 1 {
            let keep = self.get("m_axis_tx_tkeep");
            let data = self.m.get_wide(self.p("m_axis_tx_tdata")).to_vec();
            for i in 0..bb {
                if keep >> i & 1 == 1 {
                    self.tx_cur.push((data[i / 8] >> (8 * (i % 8))) as u8);
                }
            }
            if self.get("m_axis_tx_tlast") == 1 {
                self.tx.push(std::mem::take(&mut self.tx_cur));
            }
        }
        if self.get("m_inval_valid") == 1 {
            self.invals.push((
                self.get("m_inval_stag") as u32,
                self.get("m_inval_conn") as u16,
            ));
        }
        if self.get("m_miss_valid") == 1 {
            self.misses.push((
                self.get("m_miss_stag") as u32,
                self.get("m_miss_conn") as u16,
            ));
        }
    }

    /// Reset for a few cycles with `nic_id` strapped.
    pub fn reset(&mut self, nic_id: u64) {
        self.set("rst", 1);
        self.set("nic_id", nic_id);
        for _ in 0..4 {
            self.cycle();
        }
        self.set("rst", 0);
        self.cycle();
    }

    /// CREATE connection `conn` in protection domain `pd`, every MSN 1
    /// (RFC 5041: the first message of each queue carries MSN 1).
    pub fn create_conn(&mut self, conn: u16, pd: u64) {
        let st = self.conn_cmd(
            0,
            conn,
            &[
                ("pd", pd),
                ("msn_send", 1),
                ("msn_rreq", 1),
                ("msn_term", 1),
            ],
        );
        assert_eq!(st, 0, "CREATE {conn}");
    }

    /// REGISTER a region with every right; returns its STag.
    pub fn register(&mut self, dma_base: u64, va_base: u64, length: u64, pd: u64) -> u32 {
        let (st, stag) = self.stag_cmd(
            0,
            0,
            &[
                ("dma_base", dma_base),
                ("va_base", va_base),
                ("length", length),
                ("pd", pd),
                ("rights", 0xf),
                ("remote_inv", 1),
            ],
        );
        assert_eq!(st, 0, "REGISTER");
        stag
    }

    /// One STag table command; (status, STag) of its response.
    pub fn stag_cmd(&mut self, op: u64, stag: u32, f: &[(&str, u64)]) -> (u64, u32) {
        self.set("stag_cmd_valid", 1);
        self.set("stag_cmd_op", op);
        self.set("stag_cmd_stag", stag as u64);
        for (n, v) in f {
            self.set(&format!("stag_cmd_{n}"), *v);
        }
        self.set("stag_resp_ready", 1);
        loop {
            self.cycle();
            if self.get("stag_cmd_ready") == 1 {
                break;
            }
        }
        self.set("stag_cmd_valid", 0);
        loop {
            self.cycle();
            if self.get("stag_resp_valid") == 1 {
                return (
                    self.get("stag_resp_status"),
                    self.get("stag_resp_stag") as u32,
                );
            }
        }
    }

    /// One connection table command; its status.
    pub fn conn_cmd(&mut self, op: u64, conn: u16, f: &[(&str, u64)]) -> u64 {
        self.set("conn_cmd_valid", 1);
        self.set("conn_cmd_op", op);
        self.set("conn_cmd_conn", conn as u64);
        for (n, v) in f {
            self.set(&format!("conn_cmd_{n}"), *v);
        }
        self.set("conn_resp_ready", 1);
        loop {
            self.cycle();
            if self.get("conn_cmd_ready") == 1 {
                break;
            }
        }
        self.set("conn_cmd_valid", 0);
        loop {
            self.cycle();
            if self.get("conn_resp_valid") == 1 {
                return self.get("conn_resp_status");
            }
        }
    }
}
