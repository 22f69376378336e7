//! The probe threads: each runs a single-threaded tokio runtime with its own
//! share of the transactions.
//!
//! A multi-threaded runtime lets idle workers steal tasks, and waking a
//! worker to steal costs a futex call and a context switch: with two workers
//! at 200 probes/s that was 0.4 futex calls and ~25 % more CPU per probe than
//! one worker (BENCHMARKS.md). Probes are many, small and independent, so
//! they are dealt out to single-threaded runtimes instead, which never hand
//! work to each other; a transaction stays on its thread. As few threads as
//! the load needs (see [`configured`]): runs due together on one thread
//! share its wake-ups.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Environment variable: how many probe threads (default: see [`configured`]).
pub const ENV: &str = "MIMAMORI_WORKER_THREADS";

/// Runs per second one probe thread is given before another is started: a
/// plain-HTTP run costs about 0.1 ms of CPU and an HTTPS one 0.4 ms, so 500
/// runs/s keep a thread 5–20 % busy, little enough that probes seldom wait
/// for each other (which would add to the times they measure).
pub const RUNS_PER_THREAD: f64 = 500.0;

/// The number of probe threads from [`ENV`] if set, else one per 500 runs a
/// second that the configuration asks for (at least one, at most one per
/// core). Fewer threads are cheaper: runs due together on one thread share
/// its wake-ups, and nothing is shared between threads anyway.
pub fn configured(runs_per_second: f64) -> anyhow::Result<usize> {
    match std::env::var(ENV) {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("{ENV}={v}: expected a number ≥ 1")),
        Err(_) => Ok(for_load(
            runs_per_second,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        )),
    }
}

/// One thread per [`RUNS_PER_THREAD`] runs a second, at least one, at most `cores`.
pub fn for_load(runs_per_second: f64, cores: usize) -> usize {
    ((runs_per_second / RUNS_PER_THREAD).ceil() as usize).clamp(1, cores.max(1))
}

/// Where transaction tasks run.
pub enum Spawner {
    /// The caller's runtime (tests with paused time).
    Current,
    /// Dealt out in turn to the probe threads.
    Threads(ProbeThreads),
}

impl Spawner {
    pub fn spawn<F>(&self, f: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self {
            Spawner::Current => tokio::spawn(f),
            Spawner::Threads(t) => t.spawn(f),
        }
    }
}

/// The running probe threads; dropping this stops them and every task on them.
pub struct ProbeThreads {
    handles: Vec<Handle>,
    /// Dropped with `self`: each thread's runtime then returns and shuts down.
    _stop: Vec<oneshot::Sender<()>>,
    next: AtomicUsize,
}

impl ProbeThreads {
    pub fn start(n: usize) -> std::io::Result<Self> {
        let mut handles = Vec::with_capacity(n);
        let mut stop = Vec::with_capacity(n);
        for i in 0..n.max(1) {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            handles.push(rt.handle().clone());
            let (tx, rx) = oneshot::channel::<()>();
            stop.push(tx);
            std::thread::Builder::new()
                .name(format!("mimamori-probe-{i}"))
                .spawn(move || {
                    rt.block_on(async {
                        let _ = rx.await;
                    })
                })?;
        }
        Ok(ProbeThreads {
            handles,
            _stop: stop,
            next: AtomicUsize::new(0),
        })
    }

    fn spawn<F>(&self, f: F) -> JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        self.handles[i].spawn(f)
    }

    pub fn len(&self) -> usize {
        self.handles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }
}
