//! `conn_regs`: the connection table's host register window (block `CONN`).
//! An AXI4-Lite subordinate (`s_axil_*`) generated from the register
//! description [`regmap`] in front of `conn_table`'s command port
//! (docs/conn_table.md): software loads a command's fields, writes `GO`,
//! polls `STATUS`, and reads the `RESP_*` registers.
//!
//! Its table-facing ports are the table's command port flipped (`cmd_*`
//! out, `resp_*` in), so a parent connects them by name (`nic` prefixes
//! them `conn_` to meet `nic_rx`'s ports).
//!
//! A `GO` written while a command is in flight is ignored and flagged in
//! `STATUS.GO_WHILE_BUSY` (as `stag_regs` does): a command never hangs
//! the bus, and the table answers every command (reserved opcode 7:
//! `BAD_OP`; unknown connection: `UNKNOWN`).

use std::rc::Rc;

use crate::blocks::conn_table::{op, status, ConnTableParams};
use crate::ir::{Expr, Module, ModuleBuilder};
use crate::params::Params;
use crate::regmap::{self, Access, RegBlock};
use crate::Error;

/// Byte address of the `CONN` window in the NIC's register space.
pub const BASE: u64 = 0x100;

/// Word offsets of the groups: command at 0x00, control at 0x30, response at 0x40.
const CMD_WORD: u32 = 0;
const GO_WORD: u32 = 0x30 / 4;
const RESP_WORD: u32 = 0x40 / 4;

/// Widest `cmd_index` (`--rq-depth` up to 256).
const INDEX_BITS_MAX: u32 = 8;

/// The register map of the connection table's window (block `CONN`).
pub fn regmap() -> RegBlock {
    let mut b = RegBlock::new(
        "CONN",
        "conn_regs",
        BASE,
        "The connection table's commands (docs/conn_table.md): load the `CMD_*` registers the \
command uses, write `GO`, poll `STATUS` until `BUSY` is 0, then read `STATUS.CODE` and the \
`RESP_*` registers. Every command answers within a few cycles (none waits on the receive \
pipeline). Moving a connection: `EXPORT`, then `EXPORT_RQ` with `CMD_INDEX` 0 .. \
`RESP_RQ_COUNT`-1 on the old NIC; `IMPORT`, then one `POST_RECV` per buffer in that order on \
the new one.",
    );
    let ops: Vec<(&str, u64, &str)> = vec![
        (
            "CREATE",
            op::CREATE as u64,
            "new connection: CMD_PD, the three MSNs, not in Error, no buffers",
        ),
        (
            "DESTROY",
            op::DESTROY as u64,
            "forget the connection and its buffers",
        ),
        (
            "POST_RECV",
            op::POST_RECV as u64,
            "append the buffer CMD_ADDR / CMD_LEN to its receive queue",
        ),
        (
            "EXPORT",
            op::EXPORT as u64,
            "answer its state (RESP_ERROR, RESP_PD, RESP_MSN_*, RESP_RQ_COUNT)",
        ),
        (
            "EXPORT_RQ",
            op::EXPORT_RQ as u64,
            "answer posted buffer CMD_INDEX (0 = the head) in RESP_RQ_*",
        ),
        (
            "IMPORT",
            op::IMPORT as u64,
            "CREATE that also sets the Error bit from CMD_ERROR",
        ),
        (
            "RECREATE",
            op::RECREATE as u64,
            "leave Error: MSNs reloaded from the command, queue emptied, PD kept",
        ),
    ];
    b.reg(
        "CMD_OP",
        CMD_WORD,
        "Operation of the next command. 7 is reserved: the table answers BAD_OP.",
    )
    .field("OP", 2, 0, Access::Rw, 0, "opcode")
    .values(&ops);
    b.reg(
        "CMD_CONN",
        CMD_WORD + 1,
        "Connection id the command is about (every op). Ids at or above --connections are \
unknown (CREATE / IMPORT: BAD_ID).",
    )
    .field("CONN", 15, 0, Access::Rw, 0, "connection id");
    b.reg(
        "CMD_PD",
        CMD_WORD + 2,
        "Protection domain for CREATE and IMPORT. Bits at and above --pd-bits are kept but not \
used.",
    )
    .field("VALUE", 31, 0, Access::Rw, 0, "protection domain");
    for (i, (name, what)) in [
        ("SEND", "the MSN the next Send must carry (queue 0)"),
        ("RREQ", "the MSN of the next Read Request (queue 1)"),
        (
            "TERM",
            "the MSN of the next Terminate this NIC sends (queue 2)",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        b.reg(
            &format!("CMD_MSN_{name}"),
            CMD_WORD + 3 + i as u32,
            &format!("For CREATE, IMPORT and RECREATE: {what}."),
        )
        .field("VALUE", 31, 0, Access::Rw, 0, "MSN");
    }
    b.reg(
        "CMD_ERROR",
        CMD_WORD + 6,
        "For IMPORT: the imported connection's Error bit (a connection exported in Error stays \
in Error).",
    )
    .field("ERROR", 0, 0, Access::Rw, 0, "in Error");
    for (half, hi, lo, w) in [("LO", 31, 0, 7), ("HI", 63, 32, 8)] {
        b.reg(
            &format!("CMD_ADDR_{half}"),
            CMD_WORD + w,
            &format!(
                "For POST_RECV: host (DMA) address of the receive buffer, bits {hi}:{lo}. Bits \
at and above --dma-addr-bits are kept but not used."
            ),
        )
        .field("VALUE", 31, 0, Access::Rw, 0, &format!("bits {hi}:{lo}"));
    }
    b.reg(
        "CMD_LEN",
        CMD_WORD + 9,
        "For POST_RECV: length of the receive buffer in bytes.",
    )
    .field("VALUE", 31, 0, Access::Rw, 0, "bytes");
    b.reg(
        "CMD_INDEX",
        CMD_WORD + 10,
        "For EXPORT_RQ: which posted buffer, counted from the head (0). An index at or above \
--rq-depth is answered RANGE by the register block itself (the table is not asked, whether or \
not the connection exists).",
    )
    .field(
        "INDEX",
        INDEX_BITS_MAX - 1,
        0,
        Access::Rw,
        0,
        "buffer index",
    );
    b.reg(
        "GO",
        GO_WORD,
        "Issue the command loaded in the CMD_* registers.",
    )
    .field("GO", 0, 0, Access::Cmd, 0, "write 1 to issue the command")
    .on_write(
        "while `STATUS.BUSY` is 0: sets `BUSY`, clears `DONE` and hands the CMD_* values to the \
connection table (an EXPORT_RQ whose CMD_INDEX is at or above --rq-depth is answered at once: \
`DONE` 1, `CODE` RANGE, `RESP_CONN` = CMD_CONN, the other RESP_* 0). While `BUSY` is 1 the GO \
is ignored (the command in flight is not disturbed) and `STATUS.GO_WHILE_BUSY` is set.",
    );
    let statuses: Vec<(&str, u64, &str)> = vec![
        ("OK", status::OK as u64, "done"),
        (
            "EXISTS",
            status::EXISTS as u64,
            "CREATE / IMPORT of a known connection",
        ),
        (
            "UNKNOWN",
            status::UNKNOWN as u64,
            "no such connection (including ids at or above --connections)",
        ),
        (
            "FULL",
            status::FULL as u64,
            "POST_RECV: --rq-depth buffers posted",
        ),
        (
            "RANGE",
            status::RANGE as u64,
            "EXPORT_RQ: CMD_INDEX not below the buffer count",
        ),
        (
            "BAD_ID",
            status::BAD_ID as u64,
            "CREATE / IMPORT of an id at or above --connections",
        ),
        ("BAD_OP", status::BAD_OP as u64, "reserved opcode 7"),
    ];
    b.command_status(GO_WORD + 1, &statuses).field(
        "GO_WHILE_BUSY",
        16,
        16,
        Access::W1c,
        0,
        "a GO was written while BUSY was 1 and ignored (misuse)",
    );
    let resp = |doc: &str| format!("{doc} (0 after other commands and after an error status).");
    b.reg(
        "RESP_CONN",
        RESP_WORD,
        "The connection id of the last command (every status).",
    )
    .field("CONN", 15, 0, Access::Ro, 0, "connection id");
    b.reg(
        "RESP_ERROR",
        RESP_WORD + 1,
        &resp("EXPORT's answer: the connection's Error bit"),
    )
    .field("ERROR", 0, 0, Access::Ro, 0, "in Error");
    b.reg(
        "RESP_PD",
        RESP_WORD + 2,
        &resp("EXPORT's answer: the protection domain. Bits at and above --pd-bits read 0"),
    )
    .field("VALUE", 31, 0, Access::Ro, 0, "protection domain");
    for (i, name) in ["SEND", "RREQ", "TERM"].into_iter().enumerate() {
        b.reg(
            &format!("RESP_MSN_{name}"),
            RESP_WORD + 3 + i as u32,
            &resp(&format!("EXPORT's answer: the {} MSN", name.to_lowercase())),
        )
        .field("VALUE", 31, 0, Access::Ro, 0, "MSN");
    }
    b.reg(
        "RESP_RQ_COUNT",
        RESP_WORD + 6,
        &resp("EXPORT's answer: receive buffers posted"),
    )
    .field("COUNT", INDEX_BITS_MAX, 0, Access::Ro, 0, "buffers");
    for (half, hi, lo, w) in [("LO", 31, 0, 7), ("HI", 63, 32, 8)] {
        b.reg(
            &format!("RESP_RQ_ADDR_{half}"),
            RESP_WORD + w,
            &resp(&format!(
                "EXPORT_RQ's answer: the buffer's host address, bits {hi}:{lo}"
            )),
        )
        .field("VALUE", 31, 0, Access::Ro, 0, &format!("bits {hi}:{lo}"));
    }
    b.reg(
        "RESP_RQ_LEN",
        RESP_WORD + 9,
        &resp("EXPORT_RQ's answer: the buffer's length in bytes"),
    )
    .field("VALUE", 31, 0, Access::Ro, 0, "bytes");
    b
}

/// Parameters of a `conn_regs` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnRegsParams {
    pub name: String,
    /// The table it fronts (field widths).
    pub table: ConnTableParams,
}

impl ConnRegsParams {
    pub fn from_params(p: &Params) -> Self {
        ConnRegsParams {
            name: "conn_regs".into(),
            table: ConnTableParams::from_params(p),
        }
    }

    pub fn validate(&self) -> Result<(), Error> {
        self.table.validate()?;
        if self.table.rq_bits() > INDEX_BITS_MAX {
            return Err(Error::Design(format!(
                "conn_regs `{}`: rq depth {} needs more than {INDEX_BITS_MAX} index bits",
                self.name, self.table.rq_depth
            )));
        }
        Ok(())
    }
}

/// `v`'s low `w` bits (`v` as it is when `w` is its width).
fn low(v: &Expr, w: u32) -> Expr {
    if v.width() == w {
        v.clone()
    } else {
        v.slice(w - 1, 0)
    }
}

/// The low `w` (32 to 64) bits of a value held in a LO/HI register pair.
fn addr_bits(lo: &Expr, hi: &Expr, w: u32) -> Expr {
    match w {
        32 => lo.clone(),
        64 => Expr::concat([hi.clone(), lo.clone()]),
        w => Expr::concat([hi.slice(w - 33, 0), lo.clone()]),
    }
}

/// Build the module.
pub fn elaborate(p: &ConnRegsParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let map = regmap();
    let tp = &p.table;
    let pb = tp.pd_bits;
    let ab = tp.dma_addr_bits;
    let qb = tp.rq_bits();

    let mut m = ModuleBuilder::new(
        &p.name,
        "Connection table register window: command, status, response (AXI4-Lite)",
    );
    m.param(
        "CONNECTIONS",
        tp.connections as u64,
        "connections of the table",
    );
    m.param(
        "RQ_DEPTH",
        tp.rq_depth as u64,
        "posted buffers per connection",
    );
    m.param("PD_BITS", pb as u64, "protection domain width");
    m.param("DMA_ADDR_BITS", ab as u64, "host address width");
    m.clock_and_reset();
    let regs = regmap::axil_regs(&mut m, &map)?;

    // ---- the table's command port, flipped ----
    let cmd_valid = m.output("cmd_valid", 1, "");
    let cmd_ready = m.input("cmd_ready", 1, "");
    let v = |r: &str, f: &str| regs.value(r, f);
    for (port, w, e) in [
        ("cmd_op", 3, v("CMD_OP", "OP")),
        ("cmd_conn", 16, v("CMD_CONN", "CONN")),
        ("cmd_pd", pb, low(&v("CMD_PD", "VALUE"), pb)),
        ("cmd_msn_send", 32, v("CMD_MSN_SEND", "VALUE")),
        ("cmd_msn_rreq", 32, v("CMD_MSN_RREQ", "VALUE")),
        ("cmd_msn_term", 32, v("CMD_MSN_TERM", "VALUE")),
        ("cmd_error", 1, v("CMD_ERROR", "ERROR")),
        (
            "cmd_addr",
            ab,
            addr_bits(&v("CMD_ADDR_LO", "VALUE"), &v("CMD_ADDR_HI", "VALUE"), ab),
        ),
        ("cmd_len", 32, v("CMD_LEN", "VALUE")),
        ("cmd_index", qb, low(&v("CMD_INDEX", "INDEX"), qb)),
    ] {
        let o = m.output(port, w, "");
        m.assign(&o, e);
    }
    let mut unused = Vec::new();
    if pb < 32 {
        unused.push(v("CMD_PD", "VALUE").slice(31, pb));
    }
    if ab < 64 {
        unused.push(v("CMD_ADDR_HI", "VALUE").slice(31, ab.max(32) - 32));
    }
    if !unused.is_empty() {
        m.unused(
            "cmd_spare",
            unused,
            "register bits above the parameter widths: kept, not used (docs/registers.md)",
        );
    }
    let resp_valid = m.input("resp_valid", 1, "");
    let resp_ready = m.output(
        "resp_ready",
        1,
        "always 1: a response is taken when it comes",
    );
    let resp_status = m.input("resp_status", 3, "");
    let resp_conn = m.input("resp_conn", 16, "");
    let resp_error = m.input("resp_error", 1, "");
    let resp_pd = m.input("resp_pd", pb, "");
    let resp_msn: Vec<Expr> = ["send", "rreq", "term"]
        .iter()
        .map(|n| m.input(&format!("resp_msn_{n}"), 32, ""))
        .collect();
    let resp_rq_count = m.input("resp_rq_count", qb + 1, "");
    let resp_rq_addr = m.input("resp_rq_addr", ab, "");
    let resp_rq_len = m.input("resp_rq_len", 32, "");

    // ---- issue on GO, take the response ----
    let busy = m.reg(
        "busy_reg",
        1,
        0,
        "a command was issued; its response has not come back",
    );
    let cmd_valid_r = m.reg("cmd_valid_reg", 1, 0, "");
    let done = m.reg(
        "done_reg",
        1,
        0,
        "the response registers answer the last GO",
    );
    let code = m.reg("code_reg", 3, 0, "resp_status of the last response");
    let r_conn = m.reg("resp_conn_reg", 16, 0, "");
    let r_error = m.reg("resp_error_reg", 1, 0, "");
    let r_pd = m.reg("resp_pd_reg", pb, 0, "");
    let r_msn: Vec<Expr> = ["send", "rreq", "term"]
        .iter()
        .map(|n| m.reg(&format!("resp_msn_{n}_reg"), 32, 0, ""))
        .collect();
    let r_count = m.reg("resp_rq_count_reg", qb + 1, 0, "");
    let r_addr = m.reg("resp_rq_addr_reg", ab, 0, "");
    let r_len = m.reg("resp_rq_len_reg", 32, 0, "");
    let go = regs.pulse("GO", "GO");
    let go_ok = m.signal("go_ok", 1, "GO while idle: issue the command");
    m.assign(&go_ok, go.land(busy.lnot()));
    let st_range = m.localparam("STATUS_RANGE", status::RANGE, 3, "the RANGE status");
    let index_over = m.signal(
        "index_over",
        1,
        "CMD_INDEX is at or above RQ_DEPTH: an EXPORT_RQ is answered RANGE here",
    );
    let over = if qb < INDEX_BITS_MAX {
        let op_rq = m.localparam("OP_EXPORT_RQ", op::EXPORT_RQ, 3, "the EXPORT_RQ opcode");
        v("CMD_INDEX", "INDEX")
            .slice(INDEX_BITS_MAX - 1, qb)
            .red_or()
            .land(v("CMD_OP", "OP").eq(&op_rq))
    } else {
        Expr::lit(0, 1)
    };
    m.assign(&index_over, over);
    m.assign(&regs.set("STATUS", "GO_WHILE_BUSY"), go.land(&busy));
    m.assign(&cmd_valid, &cmd_valid_r);
    m.assign(&resp_ready, Expr::lit(1, 1));
    m.sync("command: issue on GO, take the response", |b| {
        b.when(&go_ok, |b| {
            b.if_else(
                &index_over,
                |b| {
                    b.assign(&done, Expr::lit(1, 1));
                    b.assign(&code, &st_range);
                    b.assign(&r_conn, v("CMD_CONN", "CONN"));
                    b.assign(&r_error, Expr::zero(1));
                    b.assign(&r_pd, Expr::zero(pb));
                    for r in &r_msn {
                        b.assign(r, Expr::zero(32));
                    }
                    b.assign(&r_count, Expr::zero(qb + 1));
                    b.assign(&r_addr, Expr::zero(ab));
                    b.assign(&r_len, Expr::zero(32));
                },
                |b| {
                    b.assign(&busy, Expr::lit(1, 1));
                    b.assign(&cmd_valid_r, Expr::lit(1, 1));
                    b.assign(&done, Expr::lit(0, 1));
                },
            );
        });
        b.when(cmd_valid_r.land(&cmd_ready), |b| {
            b.assign(&cmd_valid_r, Expr::lit(0, 1))
        });
        b.when(&resp_valid, |b| {
            b.assign(&busy, Expr::lit(0, 1));
            b.assign(&done, Expr::lit(1, 1));
            b.assign(&code, &resp_status);
            b.assign(&r_conn, &resp_conn);
            b.assign(&r_error, &resp_error);
            b.assign(&r_pd, &resp_pd);
            for (r, i) in r_msn.iter().zip(&resp_msn) {
                b.assign(r, i);
            }
            b.assign(&r_count, &resp_rq_count);
            b.assign(&r_addr, &resp_rq_addr);
            b.assign(&r_len, &resp_rq_len);
        });
    });
    let src = |r: &str, f: &str| regs.source(r, f);
    m.assign(&src("STATUS", "BUSY"), &busy);
    m.assign(&src("STATUS", "DONE"), &done);
    m.assign(&src("STATUS", "CODE"), &code);
    m.assign(&src("RESP_CONN", "CONN"), &r_conn);
    m.assign(&src("RESP_ERROR", "ERROR"), &r_error);
    m.assign(&src("RESP_PD", "VALUE"), r_pd.zext(32));
    for (n, r) in ["SEND", "RREQ", "TERM"].iter().zip(&r_msn) {
        m.assign(&src(&format!("RESP_MSN_{n}"), "VALUE"), r);
    }
    m.assign(
        &src("RESP_RQ_COUNT", "COUNT"),
        r_count.zext(INDEX_BITS_MAX + 1),
    );
    m.assign(&src("RESP_RQ_ADDR_LO", "VALUE"), r_addr.slice(31, 0));
    m.assign(
        &src("RESP_RQ_ADDR_HI", "VALUE"),
        if ab > 32 {
            r_addr.slice(ab - 1, 32).zext(32)
        } else {
            Expr::zero(32)
        },
    );
    m.assign(&src("RESP_RQ_LEN", "VALUE"), &r_len);
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_is_valid_and_elaborates() {
        let map = regmap();
        map.validate().unwrap();
        assert_eq!(map.addr_width(), 7);
        let names: Vec<&str> = op::NAMES[..7].to_vec();
        let described: Vec<&str> = map
            .get("CMD_OP")
            .unwrap()
            .get("OP")
            .unwrap()
            .values
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        assert_eq!(described, names);
        for p in [
            Params::default(),
            Params::new([("pd-bits", 32), ("dma-addr-bits", 64), ("rq-depth", 256)]).unwrap(),
            Params::new([("pd-bits", 1), ("dma-addr-bits", 32), ("rq-depth", 2)]).unwrap(),
        ] {
            elaborate(&ConnRegsParams::from_params(&p)).unwrap();
        }
    }
}
