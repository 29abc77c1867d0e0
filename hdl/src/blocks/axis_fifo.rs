//! `axis_fifo`: a synchronous AXI4-Stream FIFO. The words sit in a memory
//! that Yosys maps to block RAM (write port plus registered read); an
//! `axis_register` instance on the output keeps every output registered.
//! Capacity is `depth` words plus three beats in flight: the read stage and
//! the register slice's output and skid registers.

use std::rc::Rc;

use crate::blocks::axis_register::{self, AxisRegisterParams};
use crate::iface::{AxisSpec, Side};
use crate::ir::{clog2, Expr, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Parameters of an `axis_fifo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AxisFifoParams {
    pub name: String,
    pub stream: AxisSpec,
    /// Memory words; a power of two (`--fifo-depth`).
    pub depth: u32,
}

impl AxisFifoParams {
    /// The FIFO the CLI emits: `--data-width` bits with tkeep, tlast and a
    /// 16-bit tuser (the connection id of the receive stream), `--fifo-depth` words.
    pub fn from_params(p: &Params) -> Self {
        AxisFifoParams {
            name: "axis_fifo".into(),
            stream: AxisSpec {
                data_width: p.get32("data-width"),
                keep: true,
                last: true,
                user_width: 16,
            },
            depth: p.get32("fifo-depth"),
        }
    }

    /// Check the values against the parameter table.
    /// Any stream shape (the NIC also queues descriptors in one), a depth in
    /// `--fifo-depth`'s range.
    pub fn validate(&self) -> Result<(), Error> {
        if self.stream.data_width == 0 {
            return Err(Error::Design(format!(
                "axis_fifo `{}`: data width must be at least 1",
                self.name
            )));
        }
        params::check("fifo-depth", self.depth as u64)?;
        Ok(())
    }
}

/// Build the module and the register slice it instantiates.
pub fn elaborate(p: &AxisFifoParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let out_reg = axis_register::elaborate(&AxisRegisterParams {
        name: format!("{}_out_reg", p.name),
        stream: p.stream,
    })?;

    let aw = clog2(p.depth as u64);
    let pw = p.stream.payload_width();
    let mut m = ModuleBuilder::new(&p.name, "synchronous AXI4-Stream FIFO in block RAM");
    m.param(
        "DATA_WIDTH",
        p.stream.data_width as u64,
        "tdata width in bits",
    );
    m.param(
        "USER_WIDTH",
        p.stream.user_width as u64,
        "tuser width in bits",
    );
    m.param("DEPTH", p.depth as u64, "memory words");
    let (clk, rst) = m.clock_and_reset();
    let s = p.stream.ports(&mut m, "s_axis", Side::Subordinate);
    let mo = p.stream.ports(&mut m, "m_axis", Side::Manager);

    let mem = m.memory(
        "mem",
        pw,
        p.depth,
        "payload words: {tuser, tlast, tkeep, tdata}",
    );
    // Pointers carry one extra bit so that full and empty differ.
    let wr_ptr = m.reg("wr_ptr_reg", aw + 1, 0, "next word to write");
    let rd_ptr = m.reg("rd_ptr_reg", aw + 1, 0, "next word to read");
    let full = m.signal("full", 1, "");
    let empty = m.signal("empty", 1, "");
    let rd_valid = m.reg("rd_valid_reg", 1, 0, "read stage holds a word");
    let rd_data = m.signal(
        "rd_data_reg",
        pw,
        "read stage (the block RAM output register)",
    );
    let rd_ready = m.signal("rd_ready", 1, "read stage can take a word this cycle");
    let out_tready = m.signal("out_tready", 1, "");
    let write = m.signal("write", 1, "");

    m.assign(
        &full,
        wr_ptr
            .bit(aw)
            .ne(rd_ptr.bit(aw))
            .land(wr_ptr.slice(aw - 1, 0).eq(rd_ptr.slice(aw - 1, 0))),
    );
    m.assign(&empty, wr_ptr.eq(&rd_ptr));
    m.assign(&write, s.sig("tvalid").clone() & !full.clone());
    m.assign(s.sig("tready"), !full.clone());
    m.assign(&rd_ready, out_tready.clone() | !rd_valid.clone());

    m.sync("write side", |b| {
        b.when(&write, |b| {
            b.mem_write(&mem, wr_ptr.slice(aw - 1, 0), s.payload());
            b.assign(&wr_ptr, wr_ptr.inc());
        });
    });
    m.sync(
        "read side: registered read, so the memory maps to block RAM",
        |b| {
            b.when(&rd_ready, |b| {
                b.assign(&rd_valid, !empty.clone());
                b.when(!empty.clone(), |b| {
                    b.assign(&rd_data, mem.read(rd_ptr.slice(aw - 1, 0)));
                    b.assign(&rd_ptr, rd_ptr.inc());
                });
            });
        },
    );

    // The slice's unpacked outputs are this module's outputs, one by one.
    let mut conns: Vec<(&str, Expr)> = vec![("clk", clk), ("rst", rst)];
    let mut lo = 0;
    let names_in: Vec<String> = s
        .fields
        .iter()
        .map(|(fd, _)| format!("s_axis_{}", fd.name))
        .collect();
    for (i, (fd, _)) in s.fields.iter().enumerate() {
        let name = names_in[i].as_str();
        let e = match fd.name {
            "tvalid" => rd_valid.clone(),
            "tready" => out_tready.clone(),
            _ => {
                let e = rd_data.slice(lo + fd.width - 1, lo);
                lo += fd.width;
                e
            }
        };
        conns.push((name, e));
    }
    let names_out: Vec<String> = mo
        .fields
        .iter()
        .map(|(fd, _)| format!("m_axis_{}", fd.name))
        .collect();
    for (i, (_, e)) in mo.fields.iter().enumerate() {
        conns.push((names_out[i].as_str(), e.clone()));
    }
    m.instance(&out_reg, "out_reg", conns);
    Ok(m.finish()?)
}
