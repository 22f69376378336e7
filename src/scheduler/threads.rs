//! The probe threads: each runs a single-threaded tokio runtime with its own
//! share of the transactions.
//!
//! A multi-threaded runtime lets idle workers steal tasks, and waking a
//! worker to steal costs a futex call and a context switch: with two workers
//! at 200 probes/s that was 0.4 futex calls and ~25 % more CPU per probe than
//! one worker (BENCHMARKS.md). Probes are many, small and independent, so
//! they are dealt out to one runtime per core instead, which never
//! hand work to each other. A transaction stays on its thread.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Environment variable: how many probe threads (default: one per core).
pub const ENV: &str = "MIMAMORI_WORKER_THREADS";

/// The number of probe threads from [`ENV`], or one per core.
pub fn configured() -> anyhow::Result<usize> {
    match std::env::var(ENV) {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("{ENV}={v}: expected a number ≥ 1")),
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
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
