//! Issue 20, point 2: the chaos run, short. `baton serve` under mixed REST load is SIGKILLed
//! at random moments and restarted; after every restart nothing acknowledged is lost, no
//! external task was delivered to two workers at once, no timer fired twice and history
//! matches runtime (`baton_tests::chaos` has the load and the checks). CI runs
//! `BATON_CHAOS_KILLS` kills (default 5); `tests/chaos/run.sh [kills]` runs 100.
//!
//! Needs `target/<profile>/baton`: `cargo build -p baton --bin baton`.

use baton_tests::chaos::{self, ChaosConfig};

/// Kills of the CI run: enough to restart in every phase of the model, short enough for the
/// suite (about 5 s per kill).
const CI_KILLS: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkills_under_mixed_load_lose_nothing_and_run_nothing_twice() {
    let kills = std::env::var("BATON_CHAOS_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(CI_KILLS);
    let mut config = ChaosConfig::new(kills);
    if let Some(seed) = std::env::var("BATON_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        config.seed = seed;
    }
    eprintln!("chaos: {kills} kills, seed {}", config.seed);
    let dir = tempfile::tempdir().expect("tempdir");
    let report = chaos::run(&dir.path().join("data"), &config)
        .await
        .unwrap_or_else(|e| panic!("chaos harness: {e:#}"));
    println!("{}", report.summary());
    assert!(
        report.clean(),
        "seed {}:\n{}",
        config.seed,
        report.summary()
    );
    assert_eq!(report.kills, kills);
    assert!(
        report.acknowledged.get("starts").is_some_and(|&n| n > 0),
        "nothing was started: {}",
        report.summary()
    );
}
