//! The chaos run (issue 20, point 2): `baton serve` on one data directory, driven by mixed
//! REST load (starts, external-task completions, failures with retries and BPMN errors, user
//! tasks, message correlations, timers, an in-engine wasm task, deployments of new versions),
//! SIGKILLed at random moments and restarted, and checked after every restart:
//!
//! - every acknowledged command is there (`lost`): started instances exist in history,
//!   completed external and user tasks ended their activity, BPMN errors reached the boundary
//!   event, correlated messages ended the catch event, failures kept their retries,
//!   deployments exist;
//! - no external task was delivered to a second worker while a first one held its lock
//!   (`double deliveries`: every fetch is recorded with the lock expiry the server answered);
//! - no timer fired twice (`timers twice`: historic activity instances of the timer event per
//!   instance), and no other activity ran twice;
//! - history matches runtime (every running instance has an unfinished historic instance and
//!   every unfinished historic instance is running).
//!
//! After the last kill a final drain drives every instance to its end and checks that each
//! acknowledged start completed. The driver owns the load ([`load`]) and the checks
//! ([`check`]); the e2e test `engine_chaos` runs it with a few kills and
//! `tests/chaos/run.sh [kills]` with 100.

mod check;
mod load;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::BatonProcess;
use check::Findings;
use load::{Ledger, Load};

/// The process model every instance runs.
pub const PROCESS_KEY: &str = "chaos";
/// The external task topic workers fetch.
pub const WORK_TOPIC: &str = "chaos-work";
/// The topic bound to the in-engine `echo` component.
pub const WASM_TOPIC: &str = "chaos-echo";
/// The message the catch event waits for.
pub const MESSAGE: &str = "chaos-go";
/// The BPMN error code workers throw; caught by the boundary event `caught`.
pub const ERROR_CODE: &str = "REJECT";
/// External task lock duration: short, so tasks locked by a killed worker come back soon.
pub const LOCK_MS: i64 = 2_000;

/// A small xorshift generator: kill moments and worker decisions differ run to run, and the
/// seed is printed so a failing run can be repeated.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is replaced: xorshift would stay at 0).
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// A seed from the wall clock.
    pub fn clock_seed() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9)
            | 1
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct ChaosConfig {
    /// SIGKILLs of the server.
    pub kills: usize,
    /// Seed of the kill moments and worker decisions.
    pub seed: u64,
    /// The load runs for a random time in this range (ms) before each kill.
    pub load_ms: (u64, u64),
}

impl ChaosConfig {
    /// `kills` kills with a clock seed and 300-1500 ms of load before each.
    pub fn new(kills: usize) -> ChaosConfig {
        ChaosConfig {
            kills,
            seed: Rng::clock_seed(),
            load_ms: (300, 1_500),
        }
    }
}

/// The outcome of a run: what was acknowledged and every violation found.
#[derive(Debug, Default)]
pub struct ChaosReport {
    /// SIGKILLs done.
    pub kills: usize,
    /// Acknowledged commands by kind.
    pub acknowledged: BTreeMap<&'static str, usize>,
    /// Violations, by check.
    pub findings: Findings,
    /// Instances the final drain ran to their end.
    pub drained: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl ChaosReport {
    /// True when nothing was lost, delivered twice, fired twice or out of step.
    pub fn clean(&self) -> bool {
        !self.findings.failing()
    }

    /// The summary: kills, acknowledged commands by kind, and the count of each violation
    /// (with the first few of each, so a failure can be followed up).
    pub fn summary(&self) -> String {
        let mut out = format!("chaos: kills = {}\n", self.kills);
        let total: usize = self.acknowledged.values().sum();
        out.push_str(&format!("acknowledged commands = {total}\n"));
        for (kind, n) in &self.acknowledged {
            out.push_str(&format!("  {kind} = {n}\n"));
        }
        out.push_str(&format!(
            "instances drained to their end = {}\n",
            self.drained
        ));
        out.push_str(&self.findings.summary());
        out.push_str(&format!("elapsed = {:.1} s\n", self.elapsed.as_secs_f64()));
        out
    }
}

/// Runs the chaos test on `data_dir` (created if missing) and reports. Errors are failures of
/// the harness itself (the server does not come back, the REST API answers nonsense).
pub async fn run(data_dir: &Path, config: &ChaosConfig) -> Result<ChaosReport> {
    let started = Instant::now();
    let mut rng = Rng::new(config.seed);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut report = ChaosReport::default();
    let mut server = BatonProcess::spawn(data_dir, &[])?;
    load::deploy(&server.client, &ledger).await?;
    for round in 0..config.kills {
        let load = Load::start(&server.client, &ledger, rng.below(u64::MAX));
        let (low, high) = config.load_ms;
        let wait = low + rng.below(high.saturating_sub(low).max(1));
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill9()?;
        load.join().await;
        report.kills += 1;
        server = BatonProcess::spawn(data_dir, &[])?;
        let findings = check::after_restart(&server.client, &ledger).await?;
        eprintln!(
            "chaos round {round}: killed after {wait} ms; acknowledged so far {}; {}",
            ledger.lock().map(|l| l.total()).unwrap_or(0),
            findings.short()
        );
        if !findings.is_empty() {
            eprint!("{}", findings.summary());
        }
        report.findings.merge(findings);
    }
    report.drained = load::drain(&server.client, &ledger).await?;
    let mut findings = check::after_restart(&server.client, &ledger).await?;
    findings.merge(check::after_drain(&server.client, &ledger).await?);
    report.findings.merge(findings);
    let status = server.terminate()?;
    if !status.success() {
        bail!("graceful shutdown after the run failed: {status:?}");
    }
    report.acknowledged = match ledger.lock() {
        Ok(l) => l.counts(),
        Err(_) => bail!("the ledger's lock is poisoned"),
    };
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The chaos model: start → `work` (external task, error boundary `caught` → `rejected`) →
/// `approve` (user task) → `msg` (message catch) → `timer` (1 s) → `wasm` (in-engine echo)
/// → `end`. `version` goes into the documentation, so each deployment differs.
pub fn model(version: usize) -> String {
    crate::bpmn::definitions_with(
        PROCESS_KEY,
        &format!(
            r#"  <bpmn:error id="err" errorCode="{ERROR_CODE}" />
  <bpmn:message id="go" name="{MESSAGE}" />"#
        ),
        &format!(
            r#"    <bpmn:documentation>chaos model version {version}</bpmn:documentation>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="{WORK_TOPIC}" />
    <bpmn:boundaryEvent id="caught" attachedToRef="work">
      <bpmn:errorEventDefinition errorRef="err" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f_err" sourceRef="caught" targetRef="rejected" />
    <bpmn:endEvent id="rejected" />
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="approve" />
    <bpmn:userTask id="approve" />
    <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="msg" />
    <bpmn:intermediateCatchEvent id="msg">
      <bpmn:messageEventDefinition messageRef="go" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="msg" targetRef="timer" />
    <bpmn:intermediateCatchEvent id="timer">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="timer" targetRef="wasm" />
    <bpmn:serviceTask id="wasm" camunda:type="external" camunda:topic="{WASM_TOPIC}" />
    <bpmn:sequenceFlow id="f6" sourceRef="wasm" targetRef="end" />
    <bpmn:endEvent id="end" />"#
        ),
    )
}
