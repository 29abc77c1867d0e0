//! The executor: [`Sim`] owns the DUT and the tasks, [`Ctx`] is what tasks use.
//!
//! Design notes (why it looks like this):
//!
//! * Tasks only ever suspend on futures from this module ([`Cycles`], which
//!   `edge()`/`cycles()` return, and [`JoinHandle`]). Those register the
//!   current task id directly with the scheduler instead of going through a
//!   `Waker`, which keeps the hot path free of reference counting; the
//!   executor polls with a no-op waker. A task returning `Pending` from any
//!   other future would never be woken, so that is caught and reported.
//! * Tasks waiting for the very next edge (the common case) go in a plain
//!   `Vec`; longer waits go in a min-heap keyed by wake cycle, so a task
//!   sleeping N cycles is not polled in between.
//! * Each batch of runnable tasks is sorted by task id (= spawn order) and
//!   deduplicated before polling, so runs are deterministic and a task woken
//!   twice for the same cycle is polled once.

use std::cell::{Cell, RefCell, RefMut};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A clocked model: the thing being simulated.
///
/// `step` is one rising edge. An implementation (e.g. a Verilator model
/// wrapper) must, in this order: apply the inputs the tasks wrote, settle and
/// **sample the outputs just before the edge** into what the tasks read, then
/// clock the edge. Reading the DUT after `edge().await` therefore shows what
/// it presented at that edge, and inputs written then are seen at the next.
pub trait Clocked {
    fn step(&mut self);
}

/// Cycles `run_until` allows before giving up (see [`Sim::run_until_with_limit`]).
pub const DEFAULT_RUN_LIMIT: u64 = 10_000_000;
/// Edges `Ctx::wait_until` waits before giving up.
pub const DEFAULT_WAIT_LIMIT: u64 = 100_000;

/// `Sim::run_until*` hit its cycle limit before the awaited task finished.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cycle {cycle}: awaited task not finished after {limit} cycles")]
pub struct SimTimeout {
    pub cycle: u64,
    pub limit: u64,
}

/// `Ctx::wait_until*` saw its condition false after `max_cycles` edges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cycle {cycle}: condition still false after {max_cycles} cycles")]
pub struct WaitTimeout {
    pub cycle: u64,
    pub max_cycles: u64,
}

type TaskId = u32;
type Task = Pin<Box<dyn Future<Output = ()>>>;

/// Scheduler state shared between the [`Sim`] and every [`Ctx`].
/// Not generic over the DUT, so it is compiled once.
#[derive(Default)]
struct Sched {
    cycle: Cell<u64>,
    /// Task being polled right now; futures register this id.
    current: Cell<TaskId>,
    /// Set by our futures when they return `Pending` (see module docs).
    suspended: Cell<bool>,
    next_id: Cell<TaskId>,
    /// Runnable in the current cycle (spawned or woken by a join).
    ready: RefCell<Vec<TaskId>>,
    /// Waiting for edge `cycle + 1`.
    next_edge: RefCell<Vec<TaskId>>,
    /// Waiting for a later edge: (wake cycle, task).
    timers: RefCell<BinaryHeap<Reverse<(u64, TaskId)>>>,
    /// Spawned but not yet moved into `Sim::tasks`.
    spawned: RefCell<Vec<Task>>,
}

impl Sched {
    /// Make the current task wake at edge `target` (> current cycle).
    fn wake_at(&self, target: u64) {
        let id = self.current.get();
        if target == self.cycle.get() + 1 {
            self.next_edge.borrow_mut().push(id);
        } else {
            self.timers.borrow_mut().push(Reverse((target, id)));
        }
    }

    fn spawn<F: Future + 'static>(self: &Rc<Self>, fut: F) -> JoinHandle<F::Output> {
        let slot = Rc::new(Slot {
            value: RefCell::new(None),
            done: Cell::new(false),
            waiters: RefCell::new(Vec::new()),
        });
        let (s, sched) = (slot.clone(), self.clone());
        let task = async move {
            let v = fut.await;
            *s.value.borrow_mut() = Some(v);
            s.done.set(true);
            // Joiners resume in this same cycle (a "delta cycle").
            sched.ready.borrow_mut().append(&mut s.waiters.borrow_mut());
        };
        let id = self.next_id.get();
        self.next_id.set(id.checked_add(1).expect("too many tasks"));
        self.spawned.borrow_mut().push(Box::pin(task));
        self.ready.borrow_mut().push(id);
        JoinHandle {
            slot,
            sched: self.clone(),
        }
    }
}

/// Owns the DUT and all tasks, and advances time. See the crate docs for the
/// order of events within a cycle.
///
/// A panic in a task unwinds out of the `run_*` call with the task's own
/// message (nothing is caught), so `#[should_panic]` and the test harness see
/// it as is. Do not keep running a `Sim` after one of its tasks panicked.
pub struct Sim<D: Clocked> {
    dut: Rc<RefCell<D>>,
    sched: Rc<Sched>,
    /// Indexed by task id; `None` once finished. Ids are never reused so that
    /// id order stays spawn order (costs 16 bytes per task ever spawned).
    tasks: Vec<Option<Task>>,
    /// Reused buffer for the batch being polled (no allocation per cycle).
    batch: Vec<TaskId>,
}

impl<D: Clocked> Sim<D> {
    pub fn new(dut: D) -> Self {
        Sim {
            dut: Rc::new(RefCell::new(dut)),
            sched: Rc::default(),
            tasks: Vec::new(),
            batch: Vec::new(),
        }
    }

    /// Shared handle to the DUT (for checks outside tasks, or for the caller
    /// to keep after the `Sim` is gone).
    pub fn dut(&self) -> Rc<RefCell<D>> {
        self.dut.clone()
    }

    /// A handle for tasks: time, waits, spawning and DUT access.
    pub fn ctx(&self) -> Ctx<D> {
        Ctx {
            sched: self.sched.clone(),
            dut: self.dut.clone(),
        }
    }

    /// Edges clocked so far.
    pub fn cycle(&self) -> u64 {
        self.sched.cycle.get()
    }

    /// Start a task. It first runs in the next cycle's poll phase.
    pub fn spawn<F: Future + 'static>(&self, fut: F) -> JoinHandle<F::Output> {
        self.sched.spawn(fut)
    }

    /// Run exactly `n` cycles (poll tasks, then clock the DUT, `n` times).
    /// Tasks woken by the last edge run at the start of the next `run_*`.
    pub fn run_cycles(&mut self, n: u64) {
        for _ in 0..n {
            self.poll_tasks();
            self.step();
        }
    }

    /// Run until the task behind `handle` finishes, and return its value.
    /// Returns right after the poll phase in which it finished, without
    /// clocking that cycle. Gives up after [`DEFAULT_RUN_LIMIT`] cycles.
    pub fn run_until<T>(&mut self, handle: JoinHandle<T>) -> Result<T, SimTimeout> {
        self.run_until_with_limit(handle, DEFAULT_RUN_LIMIT)
    }

    /// Like [`Sim::run_until`], with at most `max_cycles` edges clocked.
    ///
    /// Panics if no task can ever run again while the awaited one is still
    /// pending (e.g. tasks joining each other): waiting more cannot help.
    /// A panic in any task propagates out of here with its own message.
    pub fn run_until_with_limit<T>(
        &mut self,
        handle: JoinHandle<T>,
        max_cycles: u64,
    ) -> Result<T, SimTimeout> {
        let mut clocked = 0;
        loop {
            self.poll_tasks();
            if let Some(v) = handle.slot.value.borrow_mut().take() {
                return Ok(v);
            }
            if clocked == max_cycles {
                return Err(SimTimeout {
                    cycle: self.cycle(),
                    limit: max_cycles,
                });
            }
            if self.sched.next_edge.borrow().is_empty() && self.sched.timers.borrow().is_empty() {
                panic!(
                    "cycle {}: awaited task can never finish: no task is waiting on a clock edge",
                    self.cycle()
                );
            }
            self.step();
            clocked += 1;
        }
    }

    /// Poll phase: run tasks until every one is waiting on a future edge.
    fn poll_tasks(&mut self) {
        let sched = &*self.sched;
        let mut waker_cx = Context::from_waker(Waker::noop());
        loop {
            adopt_spawned(&mut self.tasks, sched);
            let mut batch = std::mem::take(&mut self.batch);
            std::mem::swap(&mut batch, &mut *sched.ready.borrow_mut());
            if batch.is_empty() {
                self.batch = batch;
                return;
            }
            // Usually already strictly increasing (woken in the order polled).
            if !batch.windows(2).all(|w| w[0] < w[1]) {
                batch.sort_unstable();
                batch.dedup();
            }
            for &id in &batch {
                let slot = &mut self.tasks[id as usize];
                let Some(task) = slot else { continue };
                sched.current.set(id);
                sched.suspended.set(false);
                // A panic here unwinds out of run_* with the task's message.
                match task.as_mut().poll(&mut waker_cx) {
                    Poll::Ready(()) => *slot = None,
                    Poll::Pending if !sched.suspended.get() => panic!(
                        "cycle {}: task {id} is waiting on a future that is not from this Sim \
                         (only edge/cycles/wait_until/JoinHandle may suspend a task)",
                        sched.cycle.get()
                    ),
                    Poll::Pending => {}
                }
                // Newly spawned tasks must exist before anyone can wake them.
                adopt_spawned(&mut self.tasks, sched);
            }
            batch.clear();
            self.batch = batch;
        }
    }

    /// Clock one edge and wake the tasks waiting for it.
    fn step(&mut self) {
        self.dut.borrow_mut().step();
        let sched = &*self.sched;
        let now = sched.cycle.get() + 1;
        sched.cycle.set(now);
        let mut ready = sched.ready.borrow_mut();
        ready.append(&mut sched.next_edge.borrow_mut());
        let mut timers = sched.timers.borrow_mut();
        while let Some(&Reverse((t, id))) = timers.peek() {
            if t > now {
                break;
            }
            timers.pop();
            ready.push(id);
        }
    }
}

/// Move tasks spawned since the last call into `tasks` (index = id).
#[inline]
fn adopt_spawned(tasks: &mut Vec<Option<Task>>, sched: &Sched) {
    if tasks.len() != sched.next_id.get() as usize {
        tasks.extend(sched.spawned.borrow_mut().drain(..).map(Some));
    }
}

impl<D: Clocked> Drop for Sim<D> {
    fn drop(&mut self) {
        // Spawned-but-never-run tasks hold an Rc to the scheduler that holds
        // them; break that cycle.
        self.sched.spawned.borrow_mut().clear();
    }
}

/// Cheap cloneable handle given to tasks (two `Rc`s).
pub struct Ctx<D> {
    sched: Rc<Sched>,
    dut: Rc<RefCell<D>>,
}

impl<D> Clone for Ctx<D> {
    fn clone(&self) -> Self {
        Ctx {
            sched: self.sched.clone(),
            dut: self.dut.clone(),
        }
    }
}

impl<D: 'static> Ctx<D> {
    /// Edges clocked so far.
    pub fn cycle(&self) -> u64 {
        self.sched.cycle.get()
    }

    /// Wait for the next rising edge.
    pub fn edge(&self) -> Cycles<'_> {
        self.cycles(1)
    }

    /// Wait for `n` rising edges (`n == 0` returns at once, in this cycle).
    pub fn cycles(&self, n: u64) -> Cycles<'_> {
        Cycles {
            sched: &self.sched,
            target: self.cycle() + n,
            registered: false,
        }
    }

    /// Fork a task; it runs later in this same cycle, after the current task
    /// yields. Dropping the handle does not cancel it.
    pub fn spawn<F: Future + 'static>(&self, fut: F) -> JoinHandle<F::Output> {
        self.sched.spawn(fut)
    }

    /// Borrow the DUT. Do not hold the borrow across an `.await`: the other
    /// tasks (and the clock) need it.
    pub fn dut(&self) -> RefMut<'_, D> {
        self.dut.borrow_mut()
    }

    /// Wait edge by edge until `cond` holds, checking after each edge (so at
    /// least one edge passes). Returns the cycle at which it held. Gives up
    /// after [`DEFAULT_WAIT_LIMIT`] edges.
    pub async fn wait_until(&self, cond: impl FnMut(&D) -> bool) -> Result<u64, WaitTimeout> {
        self.wait_until_within(DEFAULT_WAIT_LIMIT, cond).await
    }

    /// [`Ctx::wait_until`] with an explicit limit of `max_cycles` edges.
    pub async fn wait_until_within(
        &self,
        max_cycles: u64,
        mut cond: impl FnMut(&D) -> bool,
    ) -> Result<u64, WaitTimeout> {
        for _ in 0..max_cycles {
            self.edge().await;
            if cond(&self.dut.borrow()) {
                return Ok(self.cycle());
            }
        }
        Err(WaitTimeout {
            cycle: self.cycle(),
            max_cycles,
        })
    }
}

impl<D> fmt::Debug for Ctx<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("cycle", &self.sched.cycle.get())
            .finish()
    }
}

/// Future returned by [`Ctx::edge`] and [`Ctx::cycles`]: ready once the cycle
/// counter reaches its target. Borrows the `Ctx` so awaiting it costs no
/// reference counting.
#[must_use = "futures do nothing unless awaited"]
pub struct Cycles<'a> {
    sched: &'a Sched,
    target: u64,
    registered: bool,
}

impl Future for Cycles<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.sched.cycle.get() >= self.target {
            return Poll::Ready(());
        }
        if !self.registered {
            self.sched.wake_at(self.target);
            self.registered = true;
        }
        self.sched.suspended.set(true);
        Poll::Pending
    }
}

struct Slot<T> {
    value: RefCell<Option<T>>,
    done: Cell<bool>,
    waiters: RefCell<Vec<TaskId>>,
}

/// Await it to join the task (resumes in the cycle the task finished), or
/// pass it to [`Sim::run_until`]. Dropping it detaches the task (it still
/// runs), which is the usual way to start monitors and drivers.
pub struct JoinHandle<T> {
    slot: Rc<Slot<T>>,
    sched: Rc<Sched>,
}

impl<T> JoinHandle<T> {
    /// Whether the task has returned.
    pub fn is_finished(&self) -> bool {
        self.slot.done.get()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        if let Some(v) = self.slot.value.borrow_mut().take() {
            return Poll::Ready(v);
        }
        assert!(
            !self.slot.done.get(),
            "JoinHandle polled after its value was taken"
        );
        let me = self.sched.current.get();
        let mut waiters = self.slot.waiters.borrow_mut();
        if !waiters.contains(&me) {
            waiters.push(me);
        }
        self.sched.suspended.set(true);
        Poll::Pending
    }
}

/// Run all `futs` concurrently (each as its own task) and return their
/// outputs in order, once the last one finishes.
pub async fn join_all<D: 'static, F>(
    ctx: &Ctx<D>,
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F: Future + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(|f| ctx.spawn(f)).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await);
    }
    out
}

/// Hold reset for `cycles` edges, then release it. `set_rst(dut, true)`
/// asserts (the polarity is up to the closure). The DUT sees reset asserted
/// at edges `now+1 ..= now+cycles` and released from edge `now+cycles+1`.
pub async fn reset<D: 'static>(ctx: &Ctx<D>, set_rst: impl Fn(&mut D, bool), cycles: u64) {
    set_rst(&mut ctx.dut(), true);
    ctx.cycles(cycles).await;
    set_rst(&mut ctx.dut(), false);
}
