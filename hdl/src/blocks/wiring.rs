//! Wiring children of a top by port name (`nic`, `system`).
//!
//! A parent that only joins blocks lists, per child, which of its ports go
//! where; [`link`] joins two children's ports with a new wire after
//! checking that one drives and the other takes, at one width, and
//! [`expose`] makes a child's port a port of the parent. A port left out
//! stops elaboration in [`crate::ir::ModuleBuilder::instance`] with its
//! name, so a port added to a child without a home cannot go unnoticed.

use std::rc::Rc;

use crate::ir::{Dir, Expr, Module, ModuleBuilder};
use crate::Error;

/// A child being wired: its connections by port name.
pub(crate) struct Child {
    pub module: Rc<Module>,
    inst: String,
    conns: Vec<(String, Expr)>,
}

impl Child {
    /// A child instance `inst` with `clk` and `rst` connected.
    pub fn new(module: Rc<Module>, inst: &str, clk: &Expr, rst: &Expr) -> Child {
        Child {
            module,
            inst: inst.into(),
            conns: vec![("clk".into(), clk.clone()), ("rst".into(), rst.clone())],
        }
    }

    /// Width and direction of port `name`.
    pub fn port(&self, name: &str) -> Result<(u32, Dir), Error> {
        self.module
            .port(name)
            .map(|(s, d)| (s.width, d))
            .ok_or_else(|| {
                Error::Design(format!(
                    "instance `{}`: `{}` has no port `{name}`",
                    self.inst, self.module.name
                ))
            })
    }

    /// Names of the ports starting with `prefix`.
    pub fn ports_with(&self, prefix: &str) -> Vec<String> {
        self.module
            .ports()
            .map(|(s, _)| s.name.to_string())
            .filter(|n| n.starts_with(prefix))
            .collect()
    }

    /// Connect port `port` to `e`.
    pub fn connect(&mut self, port: &str, e: Expr) {
        self.conns.push((port.to_string(), e));
    }

    /// Instantiate it in `m`.
    pub fn place(self, m: &mut ModuleBuilder) {
        let conns: Vec<(&str, Expr)> = self
            .conns
            .iter()
            .map(|(n, e)| (n.as_str(), e.clone()))
            .collect();
        m.instance(&self.module, &self.inst, conns);
    }
}

/// Join port `pa` of `a` and port `pb` of `b` with a new wire `wire`: one
/// must be an output and the other an input, of one width.
pub(crate) fn link(
    m: &mut ModuleBuilder,
    wire: &str,
    a: &mut Child,
    pa: &str,
    b: &mut Child,
    pb: &str,
) -> Result<(), Error> {
    let (wa, da) = a.port(pa)?;
    let (wb, db) = b.port(pb)?;
    if wa != wb || da == db {
        return Err(Error::Design(format!(
            "`{}.{pa}` ({wa} bits, {da:?}) cannot drive or take `{}.{pb}` ({wb} bits, {db:?})",
            a.inst, b.inst
        )));
    }
    let w = m.signal(wire, wa, "");
    a.connect(pa, w.clone());
    b.connect(pb, w);
    Ok(())
}

/// Make port `port` of `c` a port of the parent with the name `top`.
pub(crate) fn expose(
    m: &mut ModuleBuilder,
    c: &mut Child,
    port: &str,
    top: &str,
) -> Result<(), Error> {
    let (w, d) = c.port(port)?;
    let e = match d {
        Dir::Input => m.input(top, w, ""),
        Dir::Output => m.output(top, w, ""),
    };
    c.connect(port, e);
    Ok(())
}
