//! A `metrics` recorder for tests: counts every counter by its name and labels, rendered as
//! `name{key=value,...}` with the labels sorted, and every histogram's observations the same
//! way. Installed once per test binary.

#![allow(dead_code, unreachable_pub)]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock, atomic::AtomicU64, atomic::Ordering},
};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

#[derive(Default)]
pub struct Counting(Mutex<HashMap<String, Arc<AtomicU64>>>);

fn render(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

impl Recorder for Counting {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let cell = self
            .0
            .lock()
            .expect("recorder")
            .entry(render(key))
            .or_default()
            .clone();
        Counter::from_arc(cell)
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let cell = self
            .0
            .lock()
            .expect("recorder")
            .entry(render(key))
            .or_default()
            .clone();
        Histogram::from_arc(Arc::new(Observations(cell)))
    }
}

/// A histogram that counts its observations.
struct Observations(Arc<AtomicU64>);

impl metrics::HistogramFn for Observations {
    fn record(&self, _: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The process's recorder, installed on first use.
pub fn recorder() -> &'static Counting {
    static R: OnceLock<&'static Counting> = OnceLock::new();
    R.get_or_init(|| {
        let r: &'static Counting = Box::leak(Box::default());
        metrics::set_global_recorder(r).expect("first recorder");
        r
    })
}

/// The count of one rendered counter (0 when it was never registered).
pub fn value(rendered: &str) -> u64 {
    recorder()
        .0
        .lock()
        .expect("recorder")
        .get(rendered)
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Every counter and histogram registered so far, rendered, with its count.
pub fn counters() -> Vec<(String, u64)> {
    let mut all: Vec<(String, u64)> = recorder()
        .0
        .lock()
        .expect("recorder")
        .iter()
        .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
        .collect();
    all.sort();
    all
}
