//! `axis_register`: a full-throughput AXI4-Stream register slice (skid
//! buffer). Every output, `s_axis_tready` included, comes from a flip-flop,
//! so it cuts both the forward and the backward timing path; it passes one
//! beat per clock with back-to-back traffic.

use std::rc::Rc;

use crate::iface::{AxisSpec, Side};
use crate::ir::{Expr, Module, ModuleBuilder};
use crate::Error;

/// Parameters of an `axis_register`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AxisRegisterParams {
    /// Module name (distinct names let one design hold several shapes).
    pub name: String,
    pub stream: AxisSpec,
}

/// Build the module.
pub fn elaborate(p: &AxisRegisterParams) -> Result<Rc<Module>, Error> {
    let mut m = ModuleBuilder::new(
        &p.name,
        "AXI4-Stream register slice (skid buffer), one beat per clock",
    );
    m.param(
        "DATA_WIDTH",
        p.stream.data_width as u64,
        "tdata width in bits",
    );
    m.param(
        "USER_WIDTH",
        p.stream.user_width as u64,
        "tuser width in bits (0: none)",
    );
    m.clock_and_reset();
    let s = p.stream.ports(&mut m, "s_axis", Side::Subordinate);
    let mo = p.stream.ports(&mut m, "m_axis", Side::Manager);
    let w = p.stream.payload_width();

    let s_ready = m.reg(
        "s_axis_tready_reg",
        1,
        0,
        "registered ready towards the source",
    );
    let m_valid = m.reg("m_axis_tvalid_reg", 1, 0, "output beat valid");
    let m_data = m.signal("m_axis_payload_reg", w, "output beat payload");
    let t_valid = m.reg("temp_tvalid_reg", 1, 0, "skid beat valid");
    let t_data = m.signal(
        "temp_payload_reg",
        w,
        "skid beat caught while the output stalled",
    );
    let ready_early = m.signal("s_axis_tready_early", 1, "ready for the next cycle");

    let s_valid = s.sig("tvalid").clone();
    let m_ready = mo.sig("tready").clone();
    // Accept next cycle if the output drains now, or if the skid register
    // stays empty even when this cycle's input lands in the output.
    m.assign(
        &ready_early,
        m_ready.clone() | (!t_valid.clone() & (!m_valid.clone() | !s_valid.clone())),
    );
    m.sync(
        "skid buffer: input to output, input to skid, or skid to output",
        |b| {
            b.assign(&s_ready, &ready_early);
            b.if_else(
                &s_ready,
                |b| {
                    b.if_else(
                        m_ready.clone() | !m_valid.clone(),
                        |b| {
                            b.assign(&m_valid, &s_valid);
                            b.assign(&m_data, s.payload());
                        },
                        |b| {
                            b.assign(&t_valid, &s_valid);
                            b.assign(&t_data, s.payload());
                        },
                    );
                },
                |b| {
                    b.when(&m_ready, |b| {
                        b.assign(&m_valid, &t_valid);
                        b.assign(&t_valid, Expr::zero(1));
                        b.assign(&m_data, &t_data);
                    });
                },
            );
        },
    );
    m.assign(s.sig("tready"), &s_ready);
    m.assign(mo.sig("tvalid"), &m_valid);
    mo.assign_payload(&mut m, &m_data);
    Ok(m.finish()?)
}
