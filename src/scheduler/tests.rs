use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use super::*;
use crate::probe::adhoc_plan;

/// Records when each run starts and how many run at once; each run takes `took`.
struct FakeRunner {
    took: Duration,
    origin: Instant,
    starts: Mutex<Vec<(String, Duration)>>,
    running: AtomicUsize,
    max_running_same: Mutex<BTreeMap<String, usize>>,
    per_tx: Mutex<BTreeMap<String, usize>>,
}

impl Runner for Arc<FakeRunner> {
    fn run(&self, plan: Arc<TransactionPlan>) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
        let me = self.clone();
        Box::pin(async move {
            let name = plan.key.transaction.clone();
            me.starts
                .lock()
                .unwrap()
                .push((name.clone(), me.origin.elapsed()));
            {
                let mut per = me.per_tx.lock().unwrap();
                let n = per.entry(name.clone()).or_default();
                *n += 1;
                let mut max = me.max_running_same.lock().unwrap();
                let m = max.entry(name.clone()).or_default();
                *m = (*m).max(*n);
            }
            me.running.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(me.took).await;
            me.running.fetch_sub(1, Ordering::SeqCst);
            *me.per_tx.lock().unwrap().get_mut(&name).unwrap() -= 1;
            Outcome {
                success: true,
                reason: None,
                message: None,
                duration: me.took,
                steps: Vec::new(),
                ..Default::default()
            }
        })
    }
}

fn plans(n: usize, interval: Duration) -> Vec<Arc<TransactionPlan>> {
    let ctx = ProbeContext::default();
    (0..n)
        .map(|i| {
            let mut p = adhoc_plan(&ctx, "http://127.0.0.1:9/", interval, None).unwrap();
            p.key = TxKey {
                service: "svc".into(),
                transaction: format!("tx{i}"),
            };
            p.interval = interval;
            p.fingerprint = format!("{i}");
            Arc::new(p)
        })
        .collect()
}

fn fake(took: Duration) -> Arc<FakeRunner> {
    Arc::new(FakeRunner {
        took,
        origin: Instant::now(),
        starts: Mutex::default(),
        running: AtomicUsize::new(0),
        max_running_same: Mutex::default(),
        per_tx: Mutex::default(),
    })
}

fn metric_sum(m: &Metrics, name: &str) -> f64 {
    m.render()
        .lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(start_paused = true)]
async fn spreads_runs_across_the_interval_at_a_steady_pace() {
    let interval = Duration::from_secs(10);
    let runner = fake(Duration::from_millis(50));
    let metrics = Arc::new(Metrics::new(&[1.0]));
    let mut s = Scheduler::new(
        metrics.clone(),
        Arc::new(runner.clone()),
        PolicyChecker::new(ProbeContext::new()),
    );
    s.apply(plans(200, interval));
    tokio::time::sleep(Duration::from_secs(35)).await;
    let starts = runner.starts.lock().unwrap().clone();
    // First runs: spread over the interval, not bunched at the start.
    let mut per_second = [0usize; 10];
    let mut firsts = BTreeMap::new();
    for (tx, at) in &starts {
        firsts.entry(tx.clone()).or_insert(*at);
    }
    assert_eq!(firsts.len(), 200);
    for at in firsts.values() {
        assert!(*at < interval + Duration::from_millis(100), "{at:?}");
        per_second[(at.as_secs() as usize).min(9)] += 1;
    }
    assert!(
        per_second.iter().all(|&n| n <= 40),
        "bunched: {per_second:?}"
    );
    // Later runs of one transaction come one interval apart (± jitter).
    let tx0: Vec<Duration> = starts
        .iter()
        .filter(|(t, _)| t == "tx0")
        .map(|(_, a)| *a)
        .collect();
    assert!(tx0.len() >= 3, "{tx0:?}");
    for w in tx0.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap > Duration::from_millis(9_900) && gap < Duration::from_millis(10_100),
            "gap {gap:?}"
        );
    }
    assert_eq!(metric_sum(&metrics, "mimamori_runs_skipped_total"), 0.0);
    assert_eq!(metric_sum(&metrics, "mimamori_transactions"), 200.0);
}

#[tokio::test(start_paused = true)]
async fn overrunning_runs_are_skipped_and_counted_never_overlapped() {
    let interval = Duration::from_secs(10);
    let runner = fake(Duration::from_secs(25));
    let metrics = Arc::new(Metrics::new(&[1.0]));
    let mut s = Scheduler::new(
        metrics.clone(),
        Arc::new(runner.clone()),
        PolicyChecker::new(ProbeContext::new()),
    );
    s.apply(plans(1, interval));
    tokio::time::sleep(Duration::from_secs(100)).await;
    let runs = runner.starts.lock().unwrap().len();
    let skipped = metric_sum(&metrics, "mimamori_runs_skipped_total");
    // Each 25 s run covers three 10 s slots: one run, two skips.
    assert!((3..=4).contains(&runs), "runs {runs}");
    assert!(
        skipped >= 2.0 * (runs as f64 - 1.0),
        "skipped {skipped} for {runs} runs"
    );
    assert_eq!(
        *runner.max_running_same.lock().unwrap().get("tx0").unwrap(),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn reload_keeps_unchanged_transactions_and_drops_removed_ones() {
    let interval = Duration::from_secs(10);
    let runner = fake(Duration::from_millis(10));
    let metrics = Arc::new(Metrics::new(&[1.0]));
    let mut s = Scheduler::new(
        metrics.clone(),
        Arc::new(runner.clone()),
        PolicyChecker::new(ProbeContext::new()),
    );
    let all = plans(3, interval);
    s.apply(all.clone());
    tokio::time::sleep(Duration::from_secs(11)).await;
    s.apply(all[..1].to_vec());
    assert_eq!(s.len(), 1);
    tokio::time::sleep(Duration::from_secs(20)).await;
    let text = metrics.render();
    assert!(text.contains("transaction=\"tx0\""));
    assert!(
        !text.contains("transaction=\"tx2\""),
        "removed transaction still exported"
    );
    let tx0_runs = runner
        .starts
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, _)| t == "tx0")
        .count();
    assert!(tx0_runs >= 3, "tx0 restarted or stalled: {tx0_runs} runs");
}

struct PanickyRunner(AtomicUsize);

impl Runner for Arc<PanickyRunner> {
    fn run(&self, _plan: Arc<TransactionPlan>) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
        let n = self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if n % 2 == 0 {
                panic!("bug in a probe");
            }
            Outcome {
                success: true,
                reason: None,
                message: None,
                duration: Duration::ZERO,
                steps: Vec::new(),
                ..Default::default()
            }
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_probe_is_a_failed_run_not_a_dead_loop() {
    let runner = Arc::new(PanickyRunner(AtomicUsize::new(0)));
    let metrics = Arc::new(Metrics::new(&[1.0]));
    let mut s = Scheduler::new(
        metrics.clone(),
        Arc::new(runner.clone()),
        PolicyChecker::new(ProbeContext::new()),
    );
    s.apply(plans(1, Duration::from_secs(10)));
    tokio::time::sleep(Duration::from_secs(45)).await;
    assert!(
        runner.0.load(Ordering::SeqCst) >= 4,
        "the loop died after a panic"
    );
    let text = metrics.render();
    assert!(
        text.contains("reason=\"internal\",service=\"svc\",transaction=\"tx0\"} 2"),
        "{text}"
    );
}

#[test]
fn probe_threads_share_the_transactions_and_stop_with_their_owner() {
    let spawner = Spawner::Threads(ProbeThreads::start(2).unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..4 {
        let tx = tx.clone();
        spawner.spawn(async move {
            let name = std::thread::current().name().map(str::to_string);
            tx.send(name).unwrap();
            // Runs until its thread stops; `tx` is dropped then.
            std::future::pending::<()>().await
        });
    }
    let mut names: Vec<_> = (0..4)
        .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "mimamori-probe-0",
            "mimamori-probe-0",
            "mimamori-probe-1",
            "mimamori-probe-1"
        ]
    );
    drop(tx);
    drop(spawner);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(5)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected),
        "every task ended with its thread"
    );
}

#[test]
fn runs_start_on_a_shared_grid_inside_their_jitter() {
    let base = Instant::now();
    let mut points = std::collections::BTreeSet::new();
    for i in 0..2_000u64 {
        let interval = Duration::from_millis([200, 1_000, 15_000, 3_600_000][i as usize % 4]);
        let max = interval.mul_f64(0.01).min(Duration::from_millis(100));
        let slot = base + Duration::from_micros(i * 797);
        let d = due(base, slot, interval);
        assert!(
            d >= slot && d <= slot + max,
            "{i}: {d:?} outside [{slot:?}, +{max:?}]"
        );
        if max >= GRID {
            points.insert(d);
        }
    }
    // 1,500 runs due over 1.6 s, with room for the grid, share under 200 start
    // times, 10 ms apart.
    let points: Vec<_> = points.into_iter().collect();
    assert!(points.len() < 200, "{} distinct start times", points.len());
    for w in points.windows(2) {
        let gap = (w[1] - w[0]).as_nanos();
        assert_eq!(
            gap % GRID.as_nanos(),
            0,
            "{:?} is off the grid",
            w[1] - w[0]
        );
    }
}

#[test]
fn probe_threads_follow_the_load_up_to_the_cores() {
    use threads::for_load;
    assert_eq!(for_load(0.0, 8), 1);
    assert_eq!(
        for_load(200.0, 8),
        1,
        "the 200 probes/s benchmark: one thread"
    );
    assert_eq!(for_load(500.0, 8), 1);
    assert_eq!(
        for_load(10_000.0 / 15.0, 8),
        2,
        "10,000 transactions at 15 s"
    );
    assert_eq!(for_load(10_000.0, 8), 8, "never more than the cores");
    assert_eq!(for_load(10_000.0, 0), 1);
}
