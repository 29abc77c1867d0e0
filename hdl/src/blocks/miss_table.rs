//! `miss_table`: the foreign STags the hold queue is waiting on.
//!
//! One entry per STag with parked segments and no answer yet from the host
//! (`--hold-stags` entries, compared in parallel). An entry is allocated
//! when a segment parks on a STag that has none, which raises one miss event;
//! it is freed when the host installs the STag, or, after the host rejected
//! it, at the end of the first replay pass that started after the reject
//! (that pass has discarded every segment waiting on it). While rejected, the
//! STag reads INVALID to the pipeline. See docs/nic_rx.md "The hold queue".
//!
//! Per entry, in flip-flops: `stag`, `conn` (for the event), and a state
//! FREE / PENDING / REJECTED / RETIRING (rejected before the current pass
//! started), plus an `event` bit (raised and not yet handed out).

use std::rc::Rc;

use crate::ir::{Expr, Module, ModuleBuilder};
use crate::params::{self, Params};
use crate::Error;

/// Entry states.
const FREE: u128 = 0;
const PENDING: u128 = 1;
const REJECTED: u128 = 2;
const RETIRING: u128 = 3;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissTableParams {
    pub name: String,
    /// Entries (`--hold-stags`).
    pub entries: u32,
}

impl MissTableParams {
    pub fn from_params(p: &Params) -> Self {
        MissTableParams {
            name: "miss_table".into(),
            entries: p.get32("hold-stags"),
        }
    }
    pub fn validate(&self) -> Result<(), Error> {
        params::check("hold-stags", self.entries as u64)?;
        Ok(())
    }
}

/// The lowest set bit of `v` as a one-hot vector.
fn lowest_one(m: &mut ModuleBuilder, name: &str, v: &Expr) -> Expr {
    let n = v.width();
    let out = m.signal(name, n, "lowest set bit, one-hot");
    // v & -v
    m.assign(&out, v.clone() & (!v.clone()).inc());
    out
}

pub fn elaborate(p: &MissTableParams) -> Result<Rc<Module>, Error> {
    p.validate()?;
    let n = p.entries;
    let mut m = ModuleBuilder::new(
        &p.name,
        "Foreign STags with parked segments: one miss event each, install and reject",
    );
    m.param(
        "ENTRIES",
        n as u64,
        "STags waited on at once (--hold-stags)",
    );
    let (_clk, _rst) = m.clock_and_reset();

    let q_stag = m.input("q_stag", 32, "STag to look for (the segment being judged)");
    let q_hit = m.output("q_hit", 1, "q_stag has an entry");
    let q_rejected = m.output(
        "q_rejected",
        1,
        "... and the host rejected it: read INVALID",
    );
    let has_free = m.output("has_free", 1, "an entry is free for alloc");
    let has_retiring = m.output(
        "has_retiring",
        1,
        "an entry will be freed at the end of this pass",
    );
    let alloc = m.input(
        "alloc_valid",
        1,
        "allocate q_stag (caller checks !q_hit and has_free); raises its event",
    );
    let alloc_conn = m.input("alloc_conn", 16, "connection of the segment that missed");
    let install = m.input(
        "install_valid",
        1,
        "the host installed install_stag: free its entry",
    );
    let install_stag = m.input("install_stag", 32, "");
    let reject = m.input("reject_valid", 1, "the host rejected reject_stag");
    let reject_stag = m.input("reject_stag", 32, "");
    let reject_unknown = m.output_init(
        "reject_unknown",
        1,
        0,
        "pulse: a reject named no entry (ignored)",
    );
    let pass_start = m.input(
        "pass_start",
        1,
        "a replay pass starts: rejected entries will retire",
    );
    let pass_end = m.input(
        "pass_end",
        1,
        "the replay pass ended: free retiring entries",
    );
    let ev_valid = m.output_init("m_event_valid", 1, 0, "a miss event");
    let ev_ready = m.input("m_event_ready", 1, "");
    let ev_stag = m.output("m_event_stag", 32, "");
    let ev_conn = m.output("m_event_conn", 16, "");

    let state: Vec<Expr> = (0..n)
        .map(|i| m.reg(&format!("state_{i}_reg"), 2, FREE, ""))
        .collect();
    let stag: Vec<Expr> = (0..n)
        .map(|i| m.signal(&format!("stag_{i}_reg"), 32, ""))
        .collect();
    let conn: Vec<Expr> = (0..n)
        .map(|i| m.signal(&format!("conn_{i}_reg"), 16, ""))
        .collect();
    let event: Vec<Expr> = (0..n)
        .map(|i| {
            m.reg(
                &format!("event_{i}_reg"),
                1,
                0,
                "event raised, not handed out",
            )
        })
        .collect();

    let used = |i: usize| state[i].ne(Expr::lit(FREE, 2));
    let vec_of = |f: &dyn Fn(usize) -> Expr| Expr::concat((0..n as usize).rev().map(f));
    let q_match = m.signal("q_match", n, "entries holding q_stag");
    m.assign(&q_match, vec_of(&|i| used(i).land(stag[i].eq(&q_stag))));
    let q_rej = m.signal("q_rej_match", n, "... rejected");
    m.assign(
        &q_rej,
        vec_of(&|i| {
            stag[i]
                .eq(&q_stag)
                .land(state[i].eq_lit(REJECTED).lor(state[i].eq_lit(RETIRING)))
        }),
    );
    m.assign(&q_hit, q_match.red_or());
    m.assign(&q_rejected, q_rej.red_or());
    let free_vec = m.signal("free_vec", n, "free entries");
    m.assign(&free_vec, vec_of(&|i| state[i].eq_lit(FREE)));
    m.assign(&has_free, free_vec.red_or());
    m.assign(
        &has_retiring,
        vec_of(&|i| state[i].eq_lit(RETIRING)).red_or(),
    );
    let alloc_at = lowest_one(&mut m, "alloc_onehot", &free_vec);
    let inst_match = m.signal("install_match", n, "");
    m.assign(
        &inst_match,
        vec_of(&|i| used(i).land(stag[i].eq(&install_stag))),
    );
    let rej_match = m.signal("reject_match", n, "pending entries holding reject_stag");
    m.assign(
        &rej_match,
        vec_of(&|i| state[i].eq_lit(PENDING).land(stag[i].eq(&reject_stag))),
    );

    // Event output register: loads the lowest raised event when empty.
    let ev_vec = m.signal("event_vec", n, "entries with an event to hand out");
    m.assign(&ev_vec, Expr::concat(event.iter().rev().cloned()));
    let ev_pick = lowest_one(&mut m, "event_onehot", &ev_vec);
    let ev_load = m.signal("event_load", 1, "");
    m.assign(
        &ev_load,
        ev_vec.red_or().land(ev_valid.lnot().lor(&ev_ready)),
    );
    let ev_stag_reg = m.signal("event_stag_reg", 32, "");
    let ev_conn_reg = m.signal("event_conn_reg", 16, "");
    let pick = |vals: &[Expr]| {
        (0..n as usize)
            .map(|i| ev_pick.bit(i as u32).gate(&vals[i]))
            .reduce(|a, b| a | b)
            .expect("at least one entry")
    };
    let ev_stag_next = pick(&stag);
    let ev_conn_next = pick(&conn);
    m.assign(&ev_stag, &ev_stag_reg);
    m.assign(&ev_conn, &ev_conn_reg);

    m.sync(
        "entries: pass end, install, reject, then alloc (a free entry: no conflict)",
        |b| {
            for i in 0..n as usize {
                let iu = i as u32;
                b.when(pass_end.land(state[i].eq_lit(RETIRING)), |b| {
                    b.assign(&state[i], Expr::lit(FREE, 2));
                });
                b.when(pass_start.land(state[i].eq_lit(REJECTED)), |b| {
                    b.assign(&state[i], Expr::lit(RETIRING, 2));
                });
                b.when(install.land(inst_match.bit(iu)), |b| {
                    b.assign(&state[i], Expr::lit(FREE, 2));
                    b.assign(&event[i], Expr::lit(0, 1));
                });
                b.when(reject.land(rej_match.bit(iu)), |b| {
                    b.assign(&state[i], Expr::lit(REJECTED, 2));
                    b.assign(&event[i], Expr::lit(0, 1));
                });
                b.when(ev_load.land(ev_pick.bit(iu)), |b| {
                    b.assign(&event[i], Expr::lit(0, 1));
                });
                b.when(alloc.land(alloc_at.bit(iu)), |b| {
                    b.assign(&state[i], Expr::lit(PENDING, 2));
                    b.assign(&stag[i], &q_stag);
                    b.assign(&conn[i], &alloc_conn);
                    b.assign(&event[i], Expr::lit(1, 1));
                });
            }
        },
    );
    m.sync("event output register", |b| {
        b.when(&ev_ready, |b| b.assign(&ev_valid, Expr::lit(0, 1)));
        b.when(&ev_load, |b| {
            b.assign(&ev_valid, Expr::lit(1, 1));
            b.assign(&ev_stag_reg, ev_stag_next.clone());
            b.assign(&ev_conn_reg, ev_conn_next.clone());
        });
        b.assign(&reject_unknown, reject.land(rej_match.red_or().lnot()));
    });
    Ok(m.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elaborates_at_the_range_ends() {
        for n in [1, 8, 32] {
            let mut p = MissTableParams::from_params(&Params::default());
            p.entries = n;
            elaborate(&p).unwrap();
        }
    }
}
