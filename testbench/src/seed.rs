//! Reproducible randomness: every randomized test takes its seed from
//! [`seed_from_env`], which prints it, so any failure can be replayed with
//! `SEED=<seed> cargo test ...`.
//!
//! The generator is rand's `StdRng`, whose algorithm is *not* guaranteed to
//! stay the same across rand versions. That is fine here: the rand version is
//! pinned in `Cargo.lock`, so a seed replays exactly on this tree.

use rand::rngs::StdRng;
use rand::SeedableRng;

/// The seed for `test_name`: the `SEED` environment variable if set (decimal
/// or `0x` hex), else a fresh random one. Prints
/// `[<test_name>] SEED=<seed> (re-run with SEED=<seed>)` to stderr, which the
/// test harness shows for failing tests.
pub fn seed_from_env(test_name: &str) -> u64 {
    seed_from_value(test_name, std::env::var("SEED").ok().as_deref())
}

/// [`seed_from_env`] with the variable's value passed in (testable without
/// touching the process environment). Panics on an unparsable value rather
/// than silently running with another seed.
pub fn seed_from_value(test_name: &str, value: Option<&str>) -> u64 {
    let seed = match value.map(str::trim) {
        Some(v) => {
            let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|e| panic!("[{test_name}] bad SEED={v:?}: {e}"))
        }
        None => rand::random(),
    };
    eprintln!("[{test_name}] SEED={seed} (re-run with SEED={seed})");
    seed
}

/// The test's random generator for `seed`.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}
