//! Port bundles: AXI4-Stream, AXI4-Lite and AXI4, each described once as a
//! list of fields with their direction seen from the manager; a block asks
//! for the manager side (`m_axis_*`, `m_axi_*`) or the subordinate side
//! (`s_axis_*`, `s_axil_*`) and gets the flipped directions for free.

use crate::ir::{Expr, ModuleBuilder};

/// Which end of the interface this module is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Drives valid and payload (`m_` prefix).
    Manager,
    /// Drives ready and responses (`s_` prefix).
    Subordinate,
}

/// One wire of an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub width: u32,
    /// True when the manager drives it (valid, data); false for ready and responses.
    pub from_manager: bool,
}

const fn f(name: &'static str, width: u32, from_manager: bool) -> Field {
    Field {
        name,
        width,
        from_manager,
    }
}

/// An interface instantiated on a module: its ports by field name.
#[derive(Clone, Debug)]
pub struct Bundle {
    pub prefix: String,
    pub side: Side,
    pub fields: Vec<(Field, Expr)>,
}

impl Bundle {
    /// Create the ports `<prefix>_<field>` on `m`.
    pub fn new(m: &mut ModuleBuilder, prefix: &str, side: Side, fields: Vec<Field>) -> Bundle {
        let fields = fields
            .into_iter()
            .map(|fd| {
                let name = format!("{prefix}_{}", fd.name);
                let is_input = fd.from_manager == (side == Side::Subordinate);
                let e = if is_input {
                    m.input(&name, fd.width, "")
                } else {
                    m.output(&name, fd.width, "")
                };
                (fd, e)
            })
            .collect();
        Bundle {
            prefix: prefix.into(),
            side,
            fields,
        }
    }

    /// The port of field `name`. Panics on a name the interface does not
    /// have: that is a bug in the block, not a user error.
    pub fn sig(&self, name: &str) -> &Expr {
        match self.fields.iter().find(|(fd, _)| fd.name == name) {
            Some((_, e)) => e,
            None => panic!("interface `{}` has no field `{name}`", self.prefix),
        }
    }

    /// The stream payload: every manager-driven field but `tvalid`, packed
    /// with the first field (`tdata`) in the least significant bits.
    pub fn payload(&self) -> Expr {
        Expr::concat(self.payload_fields().into_iter().rev())
    }

    /// The ports that make up [`Bundle::payload`], least significant first.
    pub fn payload_fields(&self) -> Vec<Expr> {
        self.fields
            .iter()
            .filter(|(fd, _)| fd.from_manager && fd.name != "tvalid")
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// Drive this bundle's payload ports from a packed vector laid out as
    /// [`Bundle::payload`] (`assign` statements on `m`).
    pub fn assign_payload(&self, m: &mut ModuleBuilder, packed: &Expr) {
        let mut lo = 0;
        for e in self.payload_fields() {
            let w = e.width();
            m.assign(&e, packed.slice(lo + w - 1, lo));
            lo += w;
        }
    }

    /// True if the interface has field `name`.
    pub fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(fd, _)| fd.name == name)
    }
}

/// AXI4-Stream shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisSpec {
    pub data_width: u32,
    /// Carry `tkeep` (one bit per byte).
    pub keep: bool,
    /// Carry `tlast`.
    pub last: bool,
    /// Width of `tuser`, 0 for none.
    pub user_width: u32,
}

impl AxisSpec {
    pub fn fields(&self) -> Vec<Field> {
        let mut v = vec![f("tdata", self.data_width, true)];
        if self.keep {
            v.push(f("tkeep", self.data_width / 8, true));
        }
        v.push(f("tvalid", 1, true));
        v.push(f("tready", 1, false));
        if self.last {
            v.push(f("tlast", 1, true));
        }
        if self.user_width > 0 {
            v.push(f("tuser", self.user_width, true));
        }
        v
    }

    /// Bits of everything but valid/ready, in field order (for FIFOs).
    pub fn payload_width(&self) -> u32 {
        self.fields()
            .iter()
            .filter(|fd| fd.from_manager && fd.name != "tvalid")
            .map(|fd| fd.width)
            .sum()
    }

    /// Add a bundle of this shape to `m`.
    pub fn ports(&self, m: &mut ModuleBuilder, prefix: &str, side: Side) -> Bundle {
        Bundle::new(m, prefix, side, self.fields())
    }
}

/// AXI4-Lite (register access) shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxilSpec {
    pub addr_width: u32,
    pub data_width: u32,
}

impl AxilSpec {
    pub fn fields(&self) -> Vec<Field> {
        let (a, d) = (self.addr_width, self.data_width);
        vec![
            f("awaddr", a, true),
            f("awprot", 3, true),
            f("awvalid", 1, true),
            f("awready", 1, false),
            f("wdata", d, true),
            f("wstrb", d / 8, true),
            f("wvalid", 1, true),
            f("wready", 1, false),
            f("bresp", 2, false),
            f("bvalid", 1, false),
            f("bready", 1, true),
            f("araddr", a, true),
            f("arprot", 3, true),
            f("arvalid", 1, true),
            f("arready", 1, false),
            f("rdata", d, false),
            f("rresp", 2, false),
            f("rvalid", 1, false),
            f("rready", 1, true),
        ]
    }

    pub fn ports(&self, m: &mut ModuleBuilder, prefix: &str, side: Side) -> Bundle {
        Bundle::new(m, prefix, side, self.fields())
    }
}

/// AXI4 (DMA) shape. `read` adds the AR and R channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxiSpec {
    pub addr_width: u32,
    pub data_width: u32,
    pub id_width: u32,
    pub read: bool,
}

impl AxiSpec {
    pub fn fields(&self) -> Vec<Field> {
        let (a, d, i) = (self.addr_width, self.data_width, self.id_width);
        let mut v = vec![
            f("awid", i, true),
            f("awaddr", a, true),
            f("awlen", 8, true),
            f("awsize", 3, true),
            f("awburst", 2, true),
            f("awlock", 1, true),
            f("awcache", 4, true),
            f("awprot", 3, true),
            f("awvalid", 1, true),
            f("awready", 1, false),
            f("wdata", d, true),
            f("wstrb", d / 8, true),
            f("wlast", 1, true),
            f("wvalid", 1, true),
            f("wready", 1, false),
            f("bid", i, false),
            f("bresp", 2, false),
            f("bvalid", 1, false),
            f("bready", 1, true),
        ];
        if self.read {
            v.extend([
                f("arid", i, true),
                f("araddr", a, true),
                f("arlen", 8, true),
                f("arsize", 3, true),
                f("arburst", 2, true),
                f("arlock", 1, true),
                f("arcache", 4, true),
                f("arprot", 3, true),
                f("arvalid", 1, true),
                f("arready", 1, false),
                f("rid", i, false),
                f("rdata", d, false),
                f("rresp", 2, false),
                f("rlast", 1, false),
                f("rvalid", 1, false),
                f("rready", 1, true),
            ]);
        }
        v
    }

    pub fn ports(&self, m: &mut ModuleBuilder, prefix: &str, side: Side) -> Bundle {
        Bundle::new(m, prefix, side, self.fields())
    }
}
