//! [`ThreadCpuTime`]: a criterion [`Measurement`] of the calling thread's CPU time, for a
//! shared, oversubscribed machine where wall time also counts the time other processes held
//! the core. Linux only (`/proc/thread-self/schedstat`).

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};

/// The CPU time of the calling thread (`/proc/thread-self/schedstat`, ns).
///
/// The kernel refreshes the counter of a running thread only at scheduler ticks (every few ms).
/// `start` waits for a refresh (the value is then exact); `end` takes the midpoint of the stale
/// value and the next refresh, which bracket the true value: the error of a sample is at most
/// half a tick, so samples should last ≳ 100 ms (flat sampling).
///
/// ```no_run
/// use criterion::Criterion;
/// use expgrad_testkit::ThreadCpuTime;
/// let mut c = Criterion::default().with_measurement(ThreadCpuTime);
/// c.bench_function("sum", |b| b.iter(|| (0..1000u64).sum::<u64>()));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadCpuTime;

fn schedstat_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat is readable (Linux with CONFIG_SCHED_INFO)")
}

/// `(stale, next)`: the counter now, and its value at the next refresh (spinning until then).
fn bracket() -> (u64, u64) {
    let v0 = schedstat_ns();
    loop {
        let v = schedstat_ns();
        if v != v0 {
            return (v0, v);
        }
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        bracket().1
    }
    fn end(&self, start: u64) -> u64 {
        let (stale, next) = bracket();
        (stale / 2 + next / 2).saturating_sub(start).max(1)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &NsFormatter
    }
}

/// The CPU time of one call of `f`, ns ([`ThreadCpuTime`]).
pub fn cpu_time(f: &mut dyn FnMut()) -> f64 {
    let m = ThreadCpuTime;
    let start = m.start();
    f();
    m.end(start) as f64
}

/// Nanoseconds, scaled like criterion's wall-time formatter.
struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = match ns {
            x if x < 1e3 => (1.0, "ns"),
            x if x < 1e6 => (1e-3, "µs"),
            x if x < 1e9 => (1e-6, "ms"),
            _ => (1e-9, "s"),
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }
    fn scale_throughputs(&self, _: f64, _: &Throughput, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|v| *v = f64::NAN);
        "(no throughput)"
    }
    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}
