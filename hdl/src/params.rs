//! Generator parameters: every run-time parameter with its default, range
//! and meaning, written once here. The CLI builds its options from this
//! table, blocks check their values against it, and the README's parameter
//! table is printed from it (`stag-handoff params`).

use std::collections::BTreeMap;
use std::fmt;

/// One generator parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// Command-line name, without the leading `--`.
    pub name: &'static str,
    pub default: u64,
    pub min: u64,
    pub max: u64,
    /// Value must be a power of two.
    pub pow2: bool,
    pub doc: &'static str,
}

impl ParamSpec {
    /// The allowed range in words, as used in error messages and docs.
    pub fn allowed(&self) -> String {
        if self.pow2 {
            format!("a power of two from {} to {}", self.min, self.max)
        } else {
            format!("from {} to {}", self.min, self.max)
        }
    }
}

const fn p(
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
    pow2: bool,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec {
        name,
        default,
        min,
        max,
        pow2,
        doc,
    }
}

/// Every generator parameter.
pub const PARAMS: &[ParamSpec] = &[
    p("nics", 2, 2, 8, false, "NICs in the system top"),
    p(
        "data-width",
        64,
        64,
        256,
        true,
        "network stream (AXI4-Stream) data width in bits",
    ),
    p(
        "fifo-depth",
        16,
        2,
        4096,
        true,
        "words of the AXI4-Stream FIFO",
    ),
    p(
        "entries",
        256,
        16,
        4096,
        true,
        "own STag table entries per NIC (block RAM)",
    ),
    p(
        "foreign-entries",
        16,
        2,
        64,
        false,
        "migrated-STag cache entries per NIC (associative, LRU)",
    ),
    p(
        "nic-id-bits",
        4,
        1,
        8,
        false,
        "top STag index bits holding the generating NIC's id",
    ),
    p(
        "lookup-latency",
        3,
        2,
        6,
        false,
        "STag table lookup latency in clock cycles",
    ),
    p(
        "pd-bits",
        16,
        1,
        32,
        false,
        "protection domain width in bits",
    ),
    p(
        "len-bits",
        32,
        8,
        64,
        false,
        "memory region length width in bits",
    ),
    p(
        "dma-addr-bits",
        64,
        32,
        64,
        false,
        "host (DMA) address width in bits",
    ),
    p(
        "connections",
        64,
        2,
        256,
        true,
        "connections per NIC (connection table, block RAM)",
    ),
    p(
        "rq-depth",
        8,
        2,
        256,
        true,
        "posted receive buffers per connection",
    ),
    p(
        "max-payload",
        4096,
        64,
        16384,
        true,
        "largest FPDU payload in bytes; a longer FPDU is cut and answered as an MPA length error",
    ),
    p(
        "hold-bytes",
        8192,
        64,
        32768,
        true,
        "hold queue data capacity in bytes (at least --max-payload)",
    ),
    p(
        "hold-segments",
        16,
        2,
        256,
        true,
        "segments the hold queue can park",
    ),
    p(
        "hold-stags",
        8,
        1,
        32,
        false,
        "foreign STags with an unanswered miss event at once (compared in parallel)",
    ),
];

/// Bits of the STag index (STag[31:8]).
pub const STAG_INDEX_BITS: u32 = 24;

/// A bad parameter value or combination.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("invalid --{name} {value}: must be {allowed}")]
    OutOfRange {
        name: &'static str,
        value: u64,
        allowed: String,
    },
    #[error("unknown parameter --{0}")]
    Unknown(String),
    #[error("invalid combination: {0}")]
    Combination(String),
}

/// The spec of parameter `name`.
pub fn spec(name: &str) -> Result<&'static ParamSpec, ParamError> {
    PARAMS
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| ParamError::Unknown(name.into()))
}

/// Check one value against its spec.
pub fn check(name: &str, value: u64) -> Result<(), ParamError> {
    let s = spec(name)?;
    if value < s.min || value > s.max || (s.pow2 && !value.is_power_of_two()) {
        return Err(ParamError::OutOfRange {
            name: s.name,
            value,
            allowed: s.allowed(),
        });
    }
    Ok(())
}

/// A full set of parameter values, every one checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<&'static str, u64>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            values: PARAMS.iter().map(|s| (s.name, s.default)).collect(),
        }
    }
}

impl Params {
    /// Defaults overridden by `overrides`; every value and the combinations
    /// are checked. The first problem is returned.
    pub fn new<'a>(
        overrides: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Result<Params, ParamError> {
        let mut p = Params::default();
        for (name, value) in overrides {
            check(name, value)?;
            let s = spec(name)?;
            p.values.insert(s.name, value);
        }
        p.check_combinations()?;
        Ok(p)
    }

    /// The value of `name`. Panics on an unknown name (a bug, not input).
    pub fn get(&self, name: &str) -> u64 {
        match self.values.get(name) {
            Some(v) => *v,
            None => panic!("no generator parameter `{name}`"),
        }
    }

    /// `get` for widths and counts that fit in u32 (all of ours do).
    pub fn get32(&self, name: &str) -> u32 {
        self.get(name) as u32
    }

    /// All values, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.values.iter().map(|(k, v)| (*k, *v))
    }

    fn check_combinations(&self) -> Result<(), ParamError> {
        // nic-id-bits (at most 8) + log2(entries) (at most 12) always fit
        // the 24-bit STag index, so that pair needs no check here.
        let id_bits = self.get("nic-id-bits");
        let nics = self.get("nics");
        if nics > 1 << id_bits {
            return Err(ParamError::Combination(format!(
                "--nics {nics} with --nic-id-bits {id_bits}: {id_bits} id bits name at most {} NICs",
                1u64 << id_bits
            )));
        }
        let (hold, max) = (self.get("hold-bytes"), self.get("max-payload"));
        if hold < max {
            return Err(ParamError::Combination(format!(
                "--hold-bytes {hold} with --max-payload {max}: the hold queue must hold one largest segment"
            )));
        }
        Ok(())
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.iter().map(|(k, v)| format!("--{k} {v}")).collect();
        f.write_str(&parts.join(" "))
    }
}

/// The parameter table as Markdown (for the README).
pub fn markdown_table() -> String {
    let mut s = String::from("| option | default | allowed | meaning |\n|---|---|---|---|\n");
    for p in PARAMS {
        s.push_str(&format!(
            "| `--{}` | {} | {} | {} |\n",
            p.name,
            p.default,
            p.allowed(),
            p.doc
        ));
    }
    s
}
