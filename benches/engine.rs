//! Engine throughput over the labelled client messages, with the full shipped intent set compiled once.
//! Run: `cargo bench --bench engine`.

use aftercare::engine::{Clinic, Engine};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn messages() -> Vec<(String, Option<u32>)> {
    let text = include_str!("../tests/eval/clients.jsonl");
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|v| {
            let text = v["text"].as_str().unwrap_or_default().to_string();
            let day = v["day"].as_u64().map(|d| d as u32);
            (text, day)
        })
        .collect()
}

fn bench_engine(c: &mut Criterion) {
    let engine = Engine::embedded(&Clinic::default()).expect("shipped intents are valid");
    let messages = messages();
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("analyse all labelled messages", |b| {
        b.iter(|| {
            for (text, day) in &messages {
                black_box(engine.analyse(black_box(text), *day, None));
            }
        })
    });
    group.finish();
    let mut single = c.benchmark_group("engine-single");
    single.throughput(Throughput::Elements(1));
    single.bench_function("one message (mixed question and red flag)", |b| {
        b.iter(|| {
            black_box(engine.analyse(
                black_box("can i wear makeup tmrw? also theres yellow crust on my chin"),
                Some(1),
                None,
            ))
        })
    });
    single.finish();
    c.bench_function("engine load and compile (start-up)", |b| {
        b.iter(|| black_box(Engine::embedded(&Clinic::default()).expect("valid")))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench_engine
}
criterion_main!(benches);
