//! Checking helpers: an in-order scoreboard and a one-shot comparison.
//! Failures panic at once (inside a task, that ends the run with the message),
//! and every message starts with the cycle so it can be found in a waveform.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt::Debug;
use std::rc::Rc;

/// Panic with `cycle N: <what>: expected X, got Y` unless `expected == actual`.
#[track_caller]
pub fn check_eq<T: PartialEq + Debug>(cycle: u64, what: &str, expected: T, actual: T) {
    if expected != actual {
        panic!("cycle {cycle}: {what}: expected {expected:?}, got {actual:?}");
    }
}

/// In-order scoreboard for one stream: a driver (or model) `expect`s items,
/// a monitor `observe`s what the DUT produced, and the test ends with
/// [`Scoreboard::finish`] to assert nothing expected was left unconsumed.
///
/// Cloning gives another handle to the same scoreboard, so the driver and the
/// monitor task can each hold one.
pub struct Scoreboard<T> {
    inner: Rc<RefCell<Inner<T>>>,
}

struct Inner<T> {
    name: String,
    expected: VecDeque<T>,
    /// Items observed so far; the index of the next one.
    observed: usize,
}

impl<T> Clone for Scoreboard<T> {
    fn clone(&self) -> Self {
        Scoreboard {
            inner: self.inner.clone(),
        }
    }
}

impl<T: PartialEq + Debug> Scoreboard<T> {
    /// `name` names the stream in failure messages.
    pub fn new(name: impl Into<String>) -> Self {
        let inner = Inner {
            name: name.into(),
            expected: VecDeque::new(),
            observed: 0,
        };
        Scoreboard {
            inner: Rc::new(RefCell::new(inner)),
        }
    }

    /// Queue the next item the DUT should produce.
    pub fn expect(&self, item: T) {
        self.inner.borrow_mut().expected.push_back(item);
    }

    /// Check the next item the DUT produced, at `cycle`. Panics on the first
    /// mismatch with
    /// `cycle N: <name>[<index>]: expected X, got Y`, or, if nothing was
    /// expected, `cycle N: <name>[<index>]: unexpected item Y (nothing expected)`.
    #[track_caller]
    pub fn observe(&self, cycle: u64, item: T) {
        let mut s = self.inner.borrow_mut();
        let index = s.observed;
        s.observed += 1;
        let front = s.expected.pop_front();
        let name = std::mem::take(&mut s.name);
        drop(s); // release the borrow before user Debug/PartialEq code and panics
        let msg = match front {
            None => format!(
                "cycle {cycle}: {name}[{index}]: unexpected item {item:?} (nothing expected)"
            ),
            Some(exp) if exp != item => {
                format!("cycle {cycle}: {name}[{index}]: expected {exp:?}, got {item:?}")
            }
            Some(_) => String::new(),
        };
        self.inner.borrow_mut().name = name;
        if !msg.is_empty() {
            panic!("{msg}");
        }
    }

    /// Expected items not yet observed.
    pub fn pending(&self) -> usize {
        self.inner.borrow().expected.len()
    }

    /// Items observed (all matched, since a mismatch panics).
    pub fn observed(&self) -> usize {
        self.inner.borrow().observed
    }

    /// Assert every expected item was observed. Panics with
    /// `<name>: N expected item(s) never observed, next [<index>]: X`.
    #[track_caller]
    pub fn finish(&self) {
        let s = self.inner.borrow();
        if let Some(next) = s.expected.front() {
            panic!(
                "{}: {} expected item(s) never observed, next [{}]: {:?}",
                s.name,
                s.expected.len(),
                s.observed,
                next
            );
        }
    }
}
