//! Per-cycle on/off patterns for pausing sources and back-pressuring sinks.
//!
//! Every bus functional model takes its stalls from a [`Pattern`], advanced exactly
//! once per [`drive`](crate::axis::AxisSource::drive) call (that is, once per clock
//! cycle). `true` means *pause this cycle*: a source keeps `valid` low (unless it is
//! already holding a beat, which AXI forbids it to withdraw), a sink keeps `ready` low.
//! This follows cocotbext-axi's `set_pause_generator`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// An infinite, deterministic sequence of booleans (`true` = pause this cycle).
#[derive(Clone, Debug)]
pub struct Pattern {
    kind: Kind,
    /// Cycles consumed so far (position for the periodic kinds).
    pos: u64,
}

#[derive(Clone, Debug)]
enum Kind {
    Const(bool),
    Random { p: f64, rng: Box<StdRng>, seed: u64 },
    Bursts { on: u64, off: u64 },
    Bits(Vec<bool>),
}

impl Pattern {
    /// `true` every cycle (always paused / never ready).
    pub fn always() -> Self {
        Self::from_kind(Kind::Const(true))
    }

    /// `false` every cycle: no pauses, full throughput. The default.
    pub fn never() -> Self {
        Self::from_kind(Kind::Const(false))
    }

    /// `true` with probability `p` each cycle, from a `StdRng` seeded with `seed`.
    ///
    /// # Panics
    /// If `p` is not within `0.0..=1.0`.
    pub fn random(p: f64, seed: u64) -> Self {
        assert!(
            (0.0..=1.0).contains(&p),
            "Pattern::random: probability {p} is not within 0.0..=1.0"
        );
        Self::from_kind(Kind::Random {
            p,
            rng: Box::new(StdRng::seed_from_u64(seed)),
            seed,
        })
    }

    /// `on` cycles of `true`, then `off` cycles of `false`, repeating.
    ///
    /// # Panics
    /// If `on + off == 0`.
    pub fn bursts(on: u64, off: u64) -> Self {
        assert!(on + off > 0, "Pattern::bursts: on + off must be at least 1");
        Self::from_kind(Kind::Bursts { on, off })
    }

    /// A fixed bit sequence, repeated forever.
    ///
    /// # Panics
    /// If `bits` is empty.
    pub fn bits(bits: &[bool]) -> Self {
        assert!(!bits.is_empty(), "Pattern::bits: empty pattern");
        Self::from_kind(Kind::Bits(bits.to_vec()))
    }

    /// A fixed sequence written as text: `'1'` = `true`, `'0'` = `false`; `'_'` and
    /// spaces are ignored (for readability, e.g. `"1100_0000"`), repeated forever.
    ///
    /// # Panics
    /// On any other character or when no bit is given.
    pub fn bit_str(s: &str) -> Self {
        let bits: Vec<bool> = s
            .chars()
            .filter(|c| !matches!(c, '_' | ' '))
            .map(|c| match c {
                '1' => true,
                '0' => false,
                _ => panic!("Pattern::bit_str: {c:?} in {s:?} is not 0, 1, _ or space"),
            })
            .collect();
        Self::bits(&bits)
    }

    fn from_kind(kind: Kind) -> Self {
        Pattern { kind, pos: 0 }
    }

    /// The value for the current cycle; advances the pattern by one cycle.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> bool {
        let pos = self.pos;
        self.pos += 1;
        match &mut self.kind {
            Kind::Const(v) => *v,
            Kind::Random { p, rng, .. } => rng.gen_bool(*p),
            Kind::Bursts { on, off } => pos % (*on + *off) < *on,
            Kind::Bits(b) => b[(pos % b.len() as u64) as usize],
        }
    }

    /// Restart from the first cycle (a random pattern replays its sequence).
    pub fn reset(&mut self) {
        self.pos = 0;
        if let Kind::Random { rng, seed, .. } = &mut self.kind {
            **rng = StdRng::seed_from_u64(*seed);
        }
    }

    /// `true` when every cycle is `false` (a [`Pattern::never`]).
    pub fn is_never(&self) -> bool {
        matches!(self.kind, Kind::Const(false))
    }
}

impl Default for Pattern {
    fn default() -> Self {
        Pattern::never()
    }
}

impl Iterator for Pattern {
    type Item = bool;
    fn next(&mut self) -> Option<bool> {
        Some(Pattern::next(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(p: &mut Pattern, n: usize) -> String {
        (0..n)
            .map(|_| if Pattern::next(p) { '1' } else { '0' })
            .collect()
    }

    #[test]
    fn fixed_kinds() {
        assert_eq!(take(&mut Pattern::always(), 4), "1111");
        assert_eq!(take(&mut Pattern::never(), 4), "0000");
        assert_eq!(take(&mut Pattern::bursts(2, 3), 11), "11000110001");
        assert_eq!(take(&mut Pattern::bursts(0, 1), 3), "000");
        assert_eq!(take(&mut Pattern::bit_str("10_0"), 7), "1001001");
        let mut p = Pattern::bits(&[false, true]);
        assert_eq!(take(&mut p, 3), "010");
        p.reset();
        assert_eq!(take(&mut p, 2), "01");
    }

    #[test]
    fn random_is_seeded_and_roughly_p() {
        let mut a = Pattern::random(0.25, 7);
        let s = take(&mut a, 4000);
        let ones = s.chars().filter(|&c| c == '1').count();
        assert!((800..1200).contains(&ones), "{ones} of 4000 at p = 0.25");
        a.reset();
        assert_eq!(take(&mut a, 4000), s, "reset replays the sequence");
        assert_eq!(
            take(&mut Pattern::random(0.25, 7), 4000),
            s,
            "same seed, same run"
        );
        assert_eq!(take(&mut Pattern::random(0.0, 1), 100), "0".repeat(100));
        assert_eq!(take(&mut Pattern::random(1.0, 1), 100), "1".repeat(100));
    }

    #[test]
    #[should_panic(expected = "Pattern::random: probability 1.5 is not within 0.0..=1.0")]
    fn random_rejects_bad_p() {
        Pattern::random(1.5, 0);
    }
}
