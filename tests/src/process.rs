//! The real `baton serve` binary as a child process (crash, chaos and disk tests; benches):
//! found next to the running test or bench, started on a data directory, killed or stopped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::RestClient;

/// The `baton` binary built in the same target directory as the running test or bench
/// (`target/<profile>/baton`, found from `current_exe`, which is `target/<profile>/deps/...`
/// for tests and `target/<profile>/...` for binaries).
pub fn baton_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let mut dir = exe.parent().context("executable without a folder")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().context("deps without a parent")?;
    }
    let path = dir.join("baton");
    if !path.exists() {
        bail!(
            "the baton binary is missing at {}: build it first with `cargo build -p baton --bin baton` \
             (add `--release` for release benches); .ci/run builds it",
            path.display()
        );
    }
    Ok(path)
}

/// A running `baton serve` child process. Dropping it kills the process.
pub struct BatonProcess {
    child: Child,
    /// A client for it.
    pub client: RestClient,
    /// `http://127.0.0.1:PORT`.
    pub root: String,
}

impl BatonProcess {
    /// Start `baton serve --listen 127.0.0.1:0 --data-dir DIR [extra...]` and wait (up to 60 s)
    /// for its `baton listening on http://ADDR` line.
    pub fn spawn(data_dir: &Path, extra: &[&str]) -> Result<BatonProcess> {
        let binary = baton_binary()?;
        BatonProcess::start(Command::new(&binary), data_dir, extra)
    }

    /// Like [`BatonProcess::spawn`], always on sled in the data directory, even when the
    /// suite runs against PostgreSQL (`BATON_TEST_DATABASE`): for tests of sled's own files
    /// (its log, torn writes, a full disk).
    pub fn spawn_on_sled(data_dir: &Path, extra: &[&str]) -> Result<BatonProcess> {
        let binary = baton_binary()?;
        let mut command = Command::new(&binary);
        command.env_remove("BATON_TEST_DATABASE");
        BatonProcess::start(command, data_dir, extra)
    }

    /// Like [`BatonProcess::spawn`], with a file-size limit (`RLIMIT_FSIZE`, set by the shell
    /// with `ulimit -f` before it execs baton) of `max_file_bytes`, and `SIGXFSZ` ignored, so a
    /// write past the limit fails with `EFBIG` instead of killing the process: a disk that is
    /// full for the data directory's files.
    pub fn spawn_with_file_limit(
        data_dir: &Path,
        extra: &[&str],
        max_file_bytes: u64,
    ) -> Result<BatonProcess> {
        let binary = baton_binary()?;
        let mut shell = Command::new("sh");
        // POSIX `ulimit -f` counts 512-byte blocks.
        shell.arg("-c").arg(format!(
            "trap '' XFSZ; ulimit -f {}; exec \"$0\" \"$@\"",
            max_file_bytes / 512
        ));
        shell.arg(&binary);
        // A full disk for the data directory's files: sled's, whatever the suite runs on.
        shell.env_remove("BATON_TEST_DATABASE");
        BatonProcess::start(shell, data_dir, extra)
    }

    fn start(mut command: Command, data_dir: &Path, extra: &[&str]) -> Result<BatonProcess> {
        let binary = baton_binary()?;
        let mut child = command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("BATON_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            while let Some(Ok(line)) = lines.next() {
                if !sent && let Some(rest) = line.strip_prefix("baton listening on ") {
                    let _ = tx.send(rest.trim().to_owned());
                    sent = true;
                }
            }
        });
        let root = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(root) => root,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                bail!("baton serve did not print its address within 60 s (exit: {status:?})");
            }
        };
        Ok(BatonProcess {
            child,
            client: RestClient::new(&root),
            root,
        })
    }

    /// Whether the process still runs (it did not exit or die).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL the process and reap it.
    pub fn kill9(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM (graceful shutdown) and wait for it to exit.
    pub fn terminate(mut self) -> Result<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        Ok(self.child.wait()?)
    }
}

impl Drop for BatonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
