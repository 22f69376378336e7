//! Runs each transaction on its own schedule, spread across its interval.
//!
//! Each transaction has a stable offset inside its interval (a hash of its
//! identity) plus a little jitter, so thousands of transactions do not fire
//! together. Inside that jitter a run starts on a 10 ms grid, so runs due
//! within the same few milliseconds share one wake-up of their thread (half
//! the `epoll_wait` calls per probe at 200 probes/s; see BENCHMARKS.md).
//! A transaction never runs twice at once: its next run waits for
//! the previous one, and a slot that cannot start on time is counted in
//! `mimamori_runs_skipped_total` instead of being silently lost.

use std::collections::BTreeMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::metrics::{Metrics, TxMetrics};
use crate::probe::plan::{TransactionPlan, TxKey};
use crate::probe::policy::{policy_loop, PolicyChecker, Verdict};
use crate::probe::{Outcome, ProbeContext};
pub use threads::ProbeThreads;
use threads::Spawner;

pub mod threads;

/// Executes one run of a plan. The HTTP engine in production; tests inject others.
pub trait Runner: Send + Sync + 'static {
    fn run(&self, plan: Arc<TransactionPlan>) -> Pin<Box<dyn Future<Output = Outcome> + Send>>;
}

/// The real runner: [`crate::probe::transaction::run`] in the app's probe context.
pub struct HttpRunner(pub Arc<ProbeContext>);

impl Runner for HttpRunner {
    fn run(&self, plan: Arc<TransactionPlan>) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
        let ctx = self.0.clone();
        #[cfg(feature = "browser")]
        if plan.browser.is_some() {
            return Box::pin(async move { crate::browser::run(&plan, &ctx).await });
        }
        Box::pin(async move { crate::probe::transaction::run(&plan, &ctx).await })
    }
}

/// A run may start this late (as a share of the interval) before its slot counts as skipped.
pub const LATE_TOLERANCE: f64 = 0.1;

/// Stable position of a transaction inside its interval.
pub fn offset(key: &TxKey, location: &str, interval: Duration) -> Duration {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (key, location).hash(&mut h);
    let frac = (h.finish() % 1_000_000) as f64 / 1_000_000.0;
    interval.mul_f64(frac)
}

/// Runs start on a grid of this step inside their jitter, so the runs of a
/// probe thread due within the same few milliseconds share one wake-up.
const GRID: Duration = Duration::from_millis(10);

/// When a run in `slot` starts: after a small random delay of at most 1 % of
/// the interval and at most 100 ms, moved to the nearest point of a
/// [`GRID`] (never outside that delay's range).
/// The grid starts at `origin`, the scheduler's start, so the runs of all its
/// threads share one grid.
fn due(origin: Instant, slot: Instant, interval: Duration) -> Instant {
    let max = interval.mul_f64(0.01).min(Duration::from_millis(100));
    let target = slot + max.mul_f64(fastrand::f64());
    let grid = GRID.min(max);
    if grid.is_zero() {
        return target;
    }
    if origin > target {
        return target;
    }
    let since = target.saturating_duration_since(origin).as_nanos();
    let step = grid.as_nanos();
    let down = origin + Duration::from_nanos(((since / step) * step) as u64);
    let up = down + grid;
    // The grid points around the target; a range of `max ≥ grid` holds one.
    if up <= slot + max && (up - target <= target - down || down < slot) {
        up
    } else if down >= slot {
        down
    } else {
        target
    }
}

struct Task {
    plan: Arc<TransactionPlan>,
    handle: JoinHandle<()>,
}

/// The set of running transaction loops.
pub struct Scheduler {
    metrics: Arc<Metrics>,
    runner: Arc<dyn Runner>,
    /// What the policy loops share.
    policy: Arc<PolicyChecker>,
    /// Where the start grid (see [`due`]) begins.
    origin: Instant,
    tasks: BTreeMap<TxKey, Task>,
    spawner: Spawner,
}

impl Scheduler {
    /// Runs the transactions on the caller's runtime.
    pub fn new(metrics: Arc<Metrics>, runner: Arc<dyn Runner>, policy: Arc<PolicyChecker>) -> Self {
        Scheduler {
            metrics,
            runner,
            policy,
            origin: Instant::now(),
            tasks: BTreeMap::new(),
            spawner: Spawner::Current,
        }
    }

    /// Runs the transactions on `threads` probe threads of their own.
    pub fn on_threads(
        metrics: Arc<Metrics>,
        runner: Arc<dyn Runner>,
        policy: Arc<PolicyChecker>,
        threads: usize,
    ) -> std::io::Result<Self> {
        Ok(Scheduler {
            metrics,
            runner,
            policy,
            origin: Instant::now(),
            tasks: BTreeMap::new(),
            spawner: Spawner::Threads(ProbeThreads::start(threads)?),
        })
    }

    /// Makes the running set match `plans`: unchanged transactions keep running
    /// undisturbed, changed ones restart, removed ones stop and lose their series.
    pub fn apply(&mut self, plans: Vec<Arc<TransactionPlan>>) {
        let mut next = BTreeMap::new();
        for plan in plans {
            match self.tasks.remove(&plan.key) {
                // The same TLS settings, too: a CA file may have changed
                // under the same path.
                Some(t)
                    if t.plan.fingerprint == plan.fingerprint
                        && Arc::ptr_eq(&t.plan.tls, &plan.tls) =>
                {
                    next.insert(plan.key.clone(), t);
                }
                old => {
                    if let Some(t) = old {
                        t.handle.abort();
                        self.metrics.forget(&t.plan);
                    }
                    // The series exist from now on, not from when the task first runs.
                    let tx = self.metrics.transaction(&plan);
                    let handle = self.spawner.spawn(transaction_tasks(
                        plan.clone(),
                        tx,
                        self.metrics.clone(),
                        self.runner.clone(),
                        self.policy.clone(),
                        self.origin,
                    ));
                    next.insert(plan.key.clone(), Task { plan, handle });
                }
            }
        }
        for (_, t) in std::mem::take(&mut self.tasks) {
            t.handle.abort();
            self.metrics.forget(&t.plan);
        }
        self.tasks = next;
        self.metrics.transactions.set(self.tasks.len() as i64);
    }

    pub fn stop(&mut self) {
        for (_, t) in std::mem::take(&mut self.tasks) {
            t.handle.abort();
        }
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The run loop and the TLS policy loop of one transaction, stopped together.
async fn transaction_tasks(
    plan: Arc<TransactionPlan>,
    tx: TxMetrics,
    metrics: Arc<Metrics>,
    runner: Arc<dyn Runner>,
    policy: Arc<PolicyChecker>,
    origin: Instant,
) {
    // The policy is first checked soon after the first run.
    let first = offset(&plan.key, &plan.location, plan.interval) + Duration::from_secs(1);
    let report = {
        let (plan, metrics) = (plan.clone(), metrics.clone());
        move |v: Verdict<'_>| match v {
            Verdict::Legacy {
                step,
                version,
                accepted,
            } => metrics.set_legacy(&plan, step, version.as_str(), accepted),
            Verdict::PlainHttp { refused } => {
                metrics.set_plain_http(&plan.key.service, &plan.location, refused)
            }
        }
    };
    tokio::join!(
        run_loop(plan.clone(), tx, metrics, runner, origin),
        policy_loop(policy, plan, first, report)
    );
}

async fn run_loop(
    plan: Arc<TransactionPlan>,
    mut tx: TxMetrics,
    metrics: Arc<Metrics>,
    runner: Arc<dyn Runner>,
    origin: Instant,
) {
    let interval = plan.interval;
    let tolerance = interval.mul_f64(LATE_TOLERANCE);
    let mut slot = Instant::now() + offset(&plan.key, &plan.location, interval);
    loop {
        let due = due(origin, slot, interval);
        tokio::time::sleep_until(due).await;
        let lag = Instant::now().saturating_duration_since(due);
        metrics.scheduler_lag.observe(lag.as_secs_f64());
        // A panic inside a probe is reported as a failed run, never taking
        // the loop or the process down. Caught here rather than by running
        // each probe as its own task: a task per run costs an allocation and,
        // on a multi-threaded runtime, often a wake-up of another worker.
        let started = Instant::now();
        let run = std::panic::AssertUnwindSafe(runner.run(plan.clone()));
        let outcome = match run.catch_unwind().await {
            Ok(o) => o,
            Err(_) => {
                tracing::error!(service = %plan.key.service, transaction = %plan.key.transaction, "probe panicked");
                Outcome::internal("probe panicked", started.elapsed())
            }
        };
        if !outcome.success {
            tracing::debug!(service = %plan.key.service, transaction = %plan.key.transaction, reason = ?outcome.reason, message = ?outcome.message, "run failed");
        }
        tx.record(&outcome);
        slot += interval;
        let now = Instant::now();
        if now > slot + tolerance {
            // Every slot that could not start within its tolerance is skipped.
            let missed = ((now - slot - tolerance).as_nanos() / interval.as_nanos()) as u32 + 1;
            tx.skipped.inc_by(u64::from(missed));
            slot += interval * missed;
            tracing::warn!(service = %plan.key.service, transaction = %plan.key.transaction, missed, "runs skipped: previous run overran its slot");
        }
    }
}

#[cfg(test)]
mod tests;
