//! `axi_write_mux`: two AXI4 write managers that use one id share one AXI4
//! write port, a burst at a time.
//!
//! In a `nic`, the placement engine (`rx_place`, manager 0) and the STag
//! list export (`list_export`, manager 1) both write host memory with id 0.
//! AWs are granted a burst at a time, taking turns when both wait; an
//! offered AW stays offered, unchanged, until it is taken. Each granted
//! burst's manager enters an order queue (`DEPTH` entries): W beats come
//! from the manager at the head of the queue until its `wlast`, and B
//! responses, which AXI returns in order for one id, go back to the
//! managers in the same order through a second queue. When either queue is
//! full no AW is granted. W data never leads its AW here: a manager whose
//! AW is not granted sees `wready` = 0.
//!
//! Cost: none on AW (combinational select); W of a burst flows from the
//! cycle after its AW is taken.

use std::rc::Rc;

use crate::iface::{AxiSpec, Bundle, Side};
use crate::ir::{clog2, Expr, Module, ModuleBuilder};
use crate::Error;

/// Parameters of an `axi_write_mux`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AxiWriteMuxParams {
    pub name: String,
    pub addr_width: u32,
    pub data_width: u32,
    pub id_width: u32,
    /// Bursts granted and not yet answered: a power of two from 2 to 64.
    pub depth: u32,
}

impl AxiWriteMuxParams {
    pub fn validate(&self) -> Result<(), Error> {
        if !self.depth.is_power_of_two() || !(2..=64).contains(&self.depth) {
            return Err(Error::Design(format!(
                "axi_write_mux `{}`: depth {} must be a power of two from 2 to 64",
                self.name, self.depth
            )));
        }
        Ok(())
    }
}

/// An order queue of manager numbers (1 bit each) in flip-flops.
struct Queue {
    head: Expr,
    empty: Expr,
    full: Expr,
}

fn queue(
    m: &mut ModuleBuilder,
    name: &str,
    depth: u32,
    push: &Expr,
    who: &Expr,
    pop: &Expr,
) -> Queue {
    let a = clog2(depth as u64);
    let bits = m.reg(
        &format!("{name}_bits_reg"),
        depth,
        0,
        "manager of each queued burst",
    );
    let wr = m.reg(&format!("{name}_wr_reg"), a + 1, 0, "");
    let rd = m.reg(&format!("{name}_rd_reg"), a + 1, 0, "");
    let empty = m.signal(&format!("{name}_empty"), 1, "");
    let full = m.signal(&format!("{name}_full"), 1, "");
    let head = m.signal(
        &format!("{name}_head"),
        1,
        "manager of the oldest queued burst",
    );
    m.assign(&empty, wr.eq(&rd));
    m.assign(
        &full,
        wr.slice(a - 1, 0)
            .eq(rd.slice(a - 1, 0))
            .land(wr.bit(a).ne(rd.bit(a))),
    );
    // The head's manager: a mux over the queue slots by read pointer.
    let rd_at = rd.slice(a - 1, 0);
    let head_bit = (0..depth - 1).rev().fold(bits.bit(depth - 1), |acc, k| {
        Expr::mux(rd_at.eq_lit(k as u128), bits.bit(k), acc)
    });
    m.assign(&head, head_bit);
    let (push, who, pop) = (push.clone(), who.clone(), pop.clone());
    m.sync(&format!("{name} queue"), |b| {
        b.when(&push, |b| {
            for k in 0..depth {
                b.when(wr.slice(a - 1, 0).eq_lit(k as u128), |b| {
                    b.assign(&bits.bit(k), &who)
                });
            }
            b.assign(&wr, wr.inc());
        });
        b.when(&pop, |b| b.assign(&rd, rd.inc()));
    });
    Queue { head, empty, full }
}

/// Build the module.
pub fn elaborate(p: &AxiWriteMuxParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let spec = AxiSpec {
        addr_width: p.addr_width,
        data_width: p.data_width,
        id_width: p.id_width,
        read: false,
    };
    let mut m = ModuleBuilder::new(
        &p.name,
        "Two AXI4 write managers (one id) share one write port, a burst at a time, in order",
    );
    m.param(
        "DEPTH",
        p.depth as u64,
        "bursts granted and not yet answered",
    );
    m.clock_and_reset();
    let s: Vec<Bundle> = (0..2)
        .map(|k| spec.ports(&mut m, &format!("s{k}_axi"), Side::Subordinate))
        .collect();
    let mx = spec.ports(&mut m, "m_axi", Side::Manager);
    let lit = |v: u128, w: u32| Expr::lit(v, w);

    // ---- AW: turns, an offered AW stays offered ----
    let locked = m.reg("locked_reg", 1, 0, "an AW was offered and not taken");
    let owner = m.reg("owner_reg", 1, 0, "whose AW is locked");
    let prefer1 = m.reg("prefer1_reg", 1, 0, "when both wait, manager 1 goes next");
    let pick = m.signal("pick", 1, "whose AW is offered");
    let (v0, v1) = (s[0].sig("awvalid").clone(), s[1].sig("awvalid").clone());
    m.assign(
        &pick,
        Expr::mux(&locked, owner.clone(), v1.land(v0.lnot().lor(&prefer1))),
    );
    let room = m.signal("room", 1, "both order queues have room");
    let aw_offer = room.land(Expr::mux(&pick, v1.clone(), v0.clone()));
    m.assign(mx.sig("awvalid"), &aw_offer);
    for (fd, e) in &mx.fields {
        let n: &str = &fd.name;
        if n.starts_with("aw") && n != "awvalid" && n != "awready" {
            m.assign(
                e,
                Expr::mux(&pick, s[1].sig(n).clone(), s[0].sig(n).clone()),
            );
        }
    }
    let aw_take = aw_offer.land(mx.sig("awready"));
    m.assign(
        s[0].sig("awready"),
        room.land(pick.lnot()).land(mx.sig("awready")),
    );
    m.assign(
        s[1].sig("awready"),
        room.land(&pick).land(mx.sig("awready")),
    );
    m.sync("AW turns", |b| {
        b.if_else(
            &aw_take,
            |b| {
                b.assign(&locked, lit(0, 1));
                b.assign(&prefer1, pick.lnot());
            },
            |b| {
                b.when(&aw_offer, |b| {
                    b.assign(&locked, lit(1, 1));
                    b.assign(&owner, &pick);
                })
            },
        );
    });

    // ---- W: from the manager at the head of the W queue ----
    let w_pop = m.signal("w_pop", 1, "the head burst's last W beat is taken");
    let wq = queue(&mut m, "w_order", p.depth, &aw_take, &pick, &w_pop);
    let w_owner = wq.head.clone();
    let w_active = wq.empty.lnot();
    m.assign(
        mx.sig("wvalid"),
        w_active.land(Expr::mux(
            &w_owner,
            s[1].sig("wvalid").clone(),
            s[0].sig("wvalid").clone(),
        )),
    );
    for n in ["wdata", "wstrb", "wlast"] {
        m.assign(
            mx.sig(n),
            Expr::mux(&w_owner, s[1].sig(n).clone(), s[0].sig(n).clone()),
        );
    }
    m.assign(
        s[0].sig("wready"),
        w_active.land(w_owner.lnot()).land(mx.sig("wready")),
    );
    m.assign(
        s[1].sig("wready"),
        w_active.land(&w_owner).land(mx.sig("wready")),
    );
    m.assign(
        &w_pop,
        mx.sig("wvalid")
            .land(mx.sig("wready"))
            .land(mx.sig("wlast")),
    );

    // ---- B: back in grant order ----
    let b_pop = m.signal("b_pop", 1, "a B response is handed back");
    let bq = queue(&mut m, "b_order", p.depth, &aw_take, &pick, &b_pop);
    m.assign(&room, wq.full.lnot().land(bq.full.lnot()));
    let b_owner = bq.head.clone();
    let b_active = bq.empty.lnot();
    for k in 0..2 {
        let mine = if k == 0 {
            b_owner.lnot()
        } else {
            b_owner.clone()
        };
        m.assign(
            s[k].sig("bvalid"),
            b_active.land(&mine).land(mx.sig("bvalid")),
        );
        m.assign(s[k].sig("bid"), mx.sig("bid"));
        m.assign(s[k].sig("bresp"), mx.sig("bresp"));
    }
    m.assign(
        mx.sig("bready"),
        b_active.land(Expr::mux(
            &b_owner,
            s[1].sig("bready").clone(),
            s[0].sig("bready").clone(),
        )),
    );
    m.assign(&b_pop, mx.sig("bvalid").land(mx.sig("bready")));
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elaborates_and_checks_depth() {
        let p = AxiWriteMuxParams {
            name: "mux".into(),
            addr_width: 40,
            data_width: 64,
            id_width: 4,
            depth: 4,
        };
        elaborate(&p).unwrap();
        let bad = AxiWriteMuxParams { depth: 3, ..p };
        assert_eq!(
            elaborate(&bad).unwrap_err().to_string(),
            "design: axi_write_mux `mux`: depth 3 must be a power of two from 2 to 64"
        );
    }
}
