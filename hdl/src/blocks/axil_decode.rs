//! `axil_decode`: one AXI4-Lite subordinate port (`s_axil_*`) routed by
//! address to several AXI4-Lite managers (`m_axil_<target>_*`), one per
//! register window.
//!
//! One write and one read in flight (each channel pair answers before it
//! takes the next request, as the register blocks do). A write is taken
//! when AW and W are both valid; its address picks the target whose window
//! `[base, base + 2^addr_width)` holds it; the target gets the address's low
//! `addr_width` bits, the data and the strobes, and its B answer is handed
//! back. An address in no window answers SLVERR at once (reads return 0)
//! and no target sees it, so no address can hang the bus. Reads likewise.
//! Every access costs two cycles more than the target's own latency (the
//! request and the answer are registered here).

use std::rc::Rc;

use crate::iface::{AxilSpec, Bundle, Field as IfField, Side};
use crate::ir::{Expr, Module, ModuleBuilder};
use crate::regmap::DATA_BITS;
use crate::Error;

/// One target window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Lower-case name: the manager port is `m_axil_<name>_*`.
    pub name: String,
    /// Byte address of the window; a multiple of its size.
    pub base: u64,
    /// Address bits of the window (its size is `1 << addr_width`).
    pub addr_width: u32,
}

/// Parameters of an `axil_decode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AxilDecodeParams {
    pub name: String,
    /// Address bits of `s_axil_*`.
    pub addr_width: u32,
    pub targets: Vec<Target>,
}

impl AxilDecodeParams {
    pub fn validate(&self) -> Result<(), Error> {
        let err = |s: String| Err(Error::Design(format!("axil_decode `{}`: {s}", self.name)));
        if self.targets.is_empty() {
            return err("no targets".into());
        }
        if !(3..=32).contains(&self.addr_width) {
            return err(format!(
                "address width {} must be from 3 to 32",
                self.addr_width
            ));
        }
        for (i, t) in self.targets.iter().enumerate() {
            if t.addr_width < 2 || t.addr_width > self.addr_width {
                return err(format!(
                    "target `{}`: address width {} must be from 2 to {}",
                    t.name, t.addr_width, self.addr_width
                ));
            }
            let size = 1u64 << t.addr_width;
            if !t.base.is_multiple_of(size) || t.base + size > 1u64 << self.addr_width {
                return err(format!(
                    "target `{}`: window {:#x}..{:#x} is not aligned to its size or lies outside {} address bits",
                    t.name,
                    t.base,
                    t.base + size,
                    self.addr_width
                ));
            }
            for o in &self.targets[..i] {
                if o.name == t.name {
                    return err(format!("two targets are named `{}`", t.name));
                }
                let osize = 1u64 << o.addr_width;
                if o.base < t.base + size && t.base < o.base + osize {
                    return err(format!(
                        "target `{}` at {:#x}..{:#x} overlaps `{}` at {:#x}..{:#x}",
                        t.name,
                        t.base,
                        t.base + size,
                        o.name,
                        o.base,
                        o.base + osize
                    ));
                }
            }
        }
        Ok(())
    }
}

/// AXI4-Lite fields without `*prot` (the register blocks do not take them).
fn fields(addr_width: u32) -> Vec<IfField> {
    AxilSpec {
        addr_width,
        data_width: DATA_BITS,
    }
    .fields()
    .into_iter()
    .filter(|f| !f.name.ends_with("prot"))
    .collect()
}

/// Which target's window holds `addr` (a one-bit expression per target).
fn hits(p: &AxilDecodeParams, addr: &Expr) -> Vec<Expr> {
    let aw = p.addr_width;
    p.targets
        .iter()
        .map(|t| {
            if t.addr_width == aw {
                Expr::lit(1, 1)
            } else {
                addr.slice(aw - 1, t.addr_width)
                    .eq_lit((t.base >> t.addr_width) as u128)
            }
        })
        .collect()
}

/// Build the module.
pub fn elaborate(p: &AxilDecodeParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let aw = p.addr_width;
    let n = p.targets.len() as u32;
    // The low address bits any target uses.
    let lw = p.targets.iter().map(|t| t.addr_width).max().unwrap_or(2);
    let mut m = ModuleBuilder::new(
        &p.name,
        "AXI4-Lite address decoder: one subordinate port to one manager port per register window; unmapped addresses answer SLVERR",
    );
    m.param("ADDR_WIDTH", aw as u64, "address bits of s_axil");
    m.param("TARGETS", n as u64, "register windows");
    m.clock_and_reset();
    let s = Bundle::new(&mut m, "s_axil", Side::Subordinate, fields(aw));
    let ms: Vec<Bundle> = p
        .targets
        .iter()
        .map(|t| {
            Bundle::new(
                &mut m,
                &format!("m_axil_{}", t.name),
                Side::Manager,
                fields(t.addr_width),
            )
        })
        .collect();
    let sig = |b: &Bundle, f: &str| b.sig(f).clone();
    let or_all = |v: Vec<Expr>| v.into_iter().reduce(|a, b| a | b).expect("a target");

    // ---- write ----
    let wr_busy = m.reg(
        "wr_busy_reg",
        1,
        0,
        "a write was taken; its B is not yet given",
    );
    let wr_fwd = m.reg(
        "wr_fwd_reg",
        1,
        0,
        "the write is at its target (waiting for the target's B)",
    );
    let aw_pend = m.reg("aw_pending_reg", 1, 0, "AW not yet taken by the target");
    let w_pend = m.reg("w_pending_reg", 1, 0, "W not yet taken by the target");
    let bvalid = m.reg("bvalid_reg", 1, 0, "B held for s_axil");
    let bresp = m.signal("bresp_reg", 2, "");
    let wr_sel = m.reg("wr_sel_reg", n, 0, "the write's target, one-hot");
    let wr_addr = m.signal("wr_addr_reg", lw, "the write's address inside its window");
    let wr_data = m.signal("wr_data_reg", DATA_BITS, "");
    let wr_strb = m.signal("wr_strb_reg", DATA_BITS / 8, "");
    let wr_take = m.signal("wr_take", 1, "AW and W taken from s_axil at this edge");
    m.assign(
        &wr_take,
        sig(&s, "awvalid")
            .land(sig(&s, "wvalid"))
            .land(wr_busy.lnot()),
    );
    m.assign(&sig(&s, "awready"), &wr_take);
    m.assign(&sig(&s, "wready"), &wr_take);
    m.assign(&sig(&s, "bvalid"), &bvalid);
    m.assign(&sig(&s, "bresp"), &bresp);
    let awaddr = sig(&s, "awaddr");
    let wr_hit = m.signal("wr_hit", n, "targets whose window holds awaddr");
    m.assign(&wr_hit, Expr::concat(hits(p, &awaddr).into_iter().rev()));
    let mut t_bfire = Vec::new();
    let mut t_bresp = Vec::new();
    for (i, (t, b)) in p.targets.iter().zip(&ms).enumerate() {
        let sel = wr_sel.bit(i as u32);
        let addr = if t.addr_width == lw {
            wr_addr.clone()
        } else {
            wr_addr.slice(t.addr_width - 1, 0)
        };
        m.assign(&sig(b, "awaddr"), addr);
        m.assign(&sig(b, "awvalid"), sel.land(&aw_pend));
        m.assign(&sig(b, "wdata"), &wr_data);
        m.assign(&sig(b, "wstrb"), &wr_strb);
        m.assign(&sig(b, "wvalid"), sel.land(&w_pend));
        m.assign(&sig(b, "bready"), sel.land(&wr_fwd));
        t_bfire.push(sel.land(&wr_fwd).land(sig(b, "bvalid")));
        t_bresp.push(sel.repl(2) & sig(b, "bresp"));
    }
    let aw_taken = or_all(
        p.targets
            .iter()
            .enumerate()
            .map(|(i, _)| wr_sel.bit(i as u32).land(sig(&ms[i], "awready")))
            .collect(),
    );
    let w_taken = or_all(
        p.targets
            .iter()
            .enumerate()
            .map(|(i, _)| wr_sel.bit(i as u32).land(sig(&ms[i], "wready")))
            .collect(),
    );
    let b_fire = m.signal("wr_b_fire", 1, "the target's B is taken at this edge");
    m.assign(&b_fire, or_all(t_bfire));
    let b_resp = m.signal("wr_b_resp", 2, "the target's bresp");
    m.assign(&b_resp, or_all(t_bresp));
    m.sync("write: take, forward, answer", |b| {
        b.when(&wr_take, |b| {
            b.assign(&wr_busy, Expr::lit(1, 1));
            b.assign(&wr_sel, &wr_hit);
            b.assign(&wr_addr, awaddr.slice(lw - 1, 0));
            b.assign(&wr_data, sig(&s, "wdata"));
            b.assign(&wr_strb, sig(&s, "wstrb"));
            b.if_else(
                wr_hit.red_or(),
                |b| {
                    b.assign(&wr_fwd, Expr::lit(1, 1));
                    b.assign(&aw_pend, Expr::lit(1, 1));
                    b.assign(&w_pend, Expr::lit(1, 1));
                },
                |b| {
                    b.assign(&bvalid, Expr::lit(1, 1));
                    b.assign(&bresp, Expr::lit(2, 2));
                },
            );
        });
        b.when(aw_pend.land(&aw_taken), |b| {
            b.assign(&aw_pend, Expr::lit(0, 1))
        });
        b.when(w_pend.land(&w_taken), |b| {
            b.assign(&w_pend, Expr::lit(0, 1))
        });
        b.when(&b_fire, |b| {
            b.assign(&wr_fwd, Expr::lit(0, 1));
            b.assign(&bvalid, Expr::lit(1, 1));
            b.assign(&bresp, &b_resp);
        });
        b.when(bvalid.land(sig(&s, "bready")), |b| {
            b.assign(&bvalid, Expr::lit(0, 1));
            b.assign(&wr_busy, Expr::lit(0, 1));
        });
    });

    // ---- read ----
    let rd_busy = m.reg(
        "rd_busy_reg",
        1,
        0,
        "a read was taken; its R is not yet given",
    );
    let rd_fwd = m.reg(
        "rd_fwd_reg",
        1,
        0,
        "the read is at its target (waiting for the target's R)",
    );
    let ar_pend = m.reg("ar_pending_reg", 1, 0, "AR not yet taken by the target");
    let rvalid = m.reg("rvalid_reg", 1, 0, "R held for s_axil");
    let rdata = m.signal("rdata_reg", DATA_BITS, "");
    let rresp = m.signal("rresp_reg", 2, "");
    let rd_sel = m.reg("rd_sel_reg", n, 0, "the read's target, one-hot");
    let rd_addr = m.signal("rd_addr_reg", lw, "the read's address inside its window");
    let rd_take = m.signal("rd_take", 1, "AR taken from s_axil at this edge");
    m.assign(&rd_take, sig(&s, "arvalid").land(rd_busy.lnot()));
    m.assign(&sig(&s, "arready"), rd_busy.lnot());
    m.assign(&sig(&s, "rvalid"), &rvalid);
    m.assign(&sig(&s, "rdata"), &rdata);
    m.assign(&sig(&s, "rresp"), &rresp);
    let araddr = sig(&s, "araddr");
    let rd_hit = m.signal("rd_hit", n, "targets whose window holds araddr");
    m.assign(&rd_hit, Expr::concat(hits(p, &araddr).into_iter().rev()));
    let mut t_rfire = Vec::new();
    let mut t_rdata = Vec::new();
    let mut t_rresp = Vec::new();
    let mut t_artaken = Vec::new();
    for (i, (t, b)) in p.targets.iter().zip(&ms).enumerate() {
        let sel = rd_sel.bit(i as u32);
        let addr = if t.addr_width == lw {
            rd_addr.clone()
        } else {
            rd_addr.slice(t.addr_width - 1, 0)
        };
        m.assign(&sig(b, "araddr"), addr);
        m.assign(&sig(b, "arvalid"), sel.land(&ar_pend));
        m.assign(&sig(b, "rready"), sel.land(&rd_fwd));
        t_artaken.push(sel.land(sig(b, "arready")));
        t_rfire.push(sel.land(&rd_fwd).land(sig(b, "rvalid")));
        t_rdata.push(sel.gate(&sig(b, "rdata")));
        t_rresp.push(sel.repl(2) & sig(b, "rresp"));
    }
    let ar_taken = or_all(t_artaken);
    let r_fire = m.signal("rd_r_fire", 1, "the target's R is taken at this edge");
    m.assign(&r_fire, or_all(t_rfire));
    let r_data = m.signal("rd_r_data", DATA_BITS, "the target's rdata");
    m.assign(&r_data, or_all(t_rdata));
    let r_resp = m.signal("rd_r_resp", 2, "the target's rresp");
    m.assign(&r_resp, or_all(t_rresp));
    m.sync("read: take, forward, answer", |b| {
        b.when(&rd_take, |b| {
            b.assign(&rd_busy, Expr::lit(1, 1));
            b.assign(&rd_sel, &rd_hit);
            b.assign(&rd_addr, araddr.slice(lw - 1, 0));
            b.if_else(
                rd_hit.red_or(),
                |b| {
                    b.assign(&rd_fwd, Expr::lit(1, 1));
                    b.assign(&ar_pend, Expr::lit(1, 1));
                },
                |b| {
                    b.assign(&rvalid, Expr::lit(1, 1));
                    b.assign(&rdata, Expr::zero(DATA_BITS));
                    b.assign(&rresp, Expr::lit(2, 2));
                },
            );
        });
        b.when(ar_pend.land(&ar_taken), |b| {
            b.assign(&ar_pend, Expr::lit(0, 1))
        });
        b.when(&r_fire, |b| {
            b.assign(&rd_fwd, Expr::lit(0, 1));
            b.assign(&rvalid, Expr::lit(1, 1));
            b.assign(&rdata, &r_data);
            b.assign(&rresp, &r_resp);
        });
        b.when(rvalid.land(sig(&s, "rready")), |b| {
            b.assign(&rvalid, Expr::lit(0, 1));
            b.assign(&rd_busy, Expr::lit(0, 1));
        });
    });
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> AxilDecodeParams {
        AxilDecodeParams {
            name: "dec".into(),
            addr_width: 10,
            targets: vec![
                Target {
                    name: "a".into(),
                    base: 0,
                    addr_width: 8,
                },
                Target {
                    name: "b".into(),
                    base: 0x100,
                    addr_width: 7,
                },
            ],
        }
    }

    #[test]
    fn elaborates_and_checks_windows() {
        elaborate(&p()).unwrap();
        let mut q = p();
        q.targets[1].base = 0x80;
        assert_eq!(
            q.validate().unwrap_err().to_string(),
            "design: axil_decode `dec`: target `b` at 0x80..0x100 overlaps `a` at 0x0..0x100"
        );
        let mut q = p();
        q.targets[1].base = 0x140;
        assert!(q
            .validate()
            .unwrap_err()
            .to_string()
            .contains("not aligned"));
    }
}
