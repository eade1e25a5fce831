//! The WASI p2 context a task sees: locked down (no files, env, args, network or inherited
//! stdio) and deterministic (clocks and random numbers derived from the task), plus the log
//! sink that collects `baton:task/log` lines and the guest's captured stdout/stderr.
//!
//! Must not: read the host clock or host entropy on behalf of the guest.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder};

use super::{LogLevel, LogLine, LogStream};

/// Each clock reading advances the guest's clocks by this much. Readings are deterministic
/// (the n-th reading of a task is always the same), yet time visibly passes, so guests that
/// measure elapsed time or wait for the clock to move do not divide by zero or spin forever.
const CLOCK_STEP_NANOS: u64 = 1_000;

/// Longest single log line kept, in bytes.
const MAX_LINE: usize = 4 << 10;
/// Most log bytes kept per execution; later lines are replaced by one truncation notice.
const MAX_LOG_BYTES: usize = 64 << 10;

/// Builds the locked-down, deterministic WASI context of one execution.
pub(crate) fn ctx(task_created_at_ms: i64, seed: u64, sink: &LogSink) -> WasiCtx {
    let start_nanos = u64::try_from(task_created_at_ms)
        .unwrap_or(0)
        .saturating_mul(1_000_000);
    let mut builder = WasiCtxBuilder::new();
    // The builder's defaults already grant nothing: closed stdin, no env, no args, no
    // preopens, and sockets with every address denied. Spelled out where it matters:
    builder
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .stdout(CapturedOutput {
            sink: sink.clone(),
            stream: LogStream::Stdout,
        })
        .stderr(CapturedOutput {
            sink: sink.clone(),
            stream: LogStream::Stderr,
        })
        .wall_clock(TaskWallClock(AtomicU64::new(start_nanos)))
        .monotonic_clock(TaskMonotonicClock(AtomicU64::new(0)))
        // Both generators come from the task's seed: a retry sees the same numbers. Distinct
        // streams so a guest mixing the two APIs cannot observe one through the other.
        .secure_random(StdRng::seed_from_u64(seed))
        .insecure_random(StdRng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15))
        .insecure_random_seed(u128::from(seed) << 64 | u128::from(seed.rotate_left(32)))
        // Bounds what one call can make the host allocate.
        .max_random_size(1 << 20);
    builder.build()
}

/// `wasi:clocks/wall-clock`: starts at the task's creation time, advances per reading.
struct TaskWallClock(AtomicU64);

impl HostWallClock for TaskWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(CLOCK_STEP_NANOS)
    }
    fn now(&self) -> Duration {
        Duration::from_nanos(self.0.fetch_add(CLOCK_STEP_NANOS, Ordering::Relaxed))
    }
}

/// `wasi:clocks/monotonic-clock`: starts at 0, advances per reading.
struct TaskMonotonicClock(AtomicU64);

impl HostMonotonicClock for TaskMonotonicClock {
    fn resolution(&self) -> u64 {
        CLOCK_STEP_NANOS
    }
    fn now(&self) -> u64 {
        self.0.fetch_add(CLOCK_STEP_NANOS, Ordering::Relaxed)
    }
}

/// The task's log: `log` import lines and captured stdout/stderr lines, in order, capped.
#[derive(Clone, Default)]
pub(crate) struct LogSink {
    inner: Arc<Mutex<SinkState>>,
}

#[derive(Default)]
struct SinkState {
    lines: Vec<LogLine>,
    bytes: usize,
    truncated: bool,
    partial_stdout: Vec<u8>,
    partial_stderr: Vec<u8>,
}

impl SinkState {
    fn push(&mut self, level: LogLevel, stream: LogStream, mut message: String) {
        if self.truncated {
            return;
        }
        if message.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("...");
        }
        if self.bytes + message.len() > MAX_LOG_BYTES {
            self.truncated = true;
            self.lines.push(LogLine {
                level: LogLevel::Warn,
                stream: LogStream::Log,
                message: format!("... log truncated at {} KiB", MAX_LOG_BYTES >> 10),
            });
            return;
        }
        self.bytes += message.len();
        self.lines.push(LogLine {
            level,
            stream,
            message,
        });
    }

    fn write(&mut self, stream: LogStream, bytes: &[u8]) {
        let level = match stream {
            LogStream::Stderr => LogLevel::Warn,
            _ => LogLevel::Info,
        };
        let mut partial = std::mem::take(match stream {
            LogStream::Stderr => &mut self.partial_stderr,
            _ => &mut self.partial_stdout,
        });
        for &b in bytes {
            if b == b'\n' {
                let line = String::from_utf8_lossy(&partial).into_owned();
                partial.clear();
                self.push(level, stream, line);
            } else if partial.len() <= MAX_LINE {
                partial.push(b);
            }
        }
        *match stream {
            LogStream::Stderr => &mut self.partial_stderr,
            _ => &mut self.partial_stdout,
        } = partial;
    }
}

impl LogSink {
    fn lock(&self) -> std::sync::MutexGuard<'_, SinkState> {
        // A panic while holding this lock cannot leave it inconsistent in a harmful way.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a `log` import line.
    pub(crate) fn log(&self, level: LogLevel, message: String) {
        self.lock().push(level, LogStream::Log, message);
    }

    /// Ends the execution: flushes unterminated stdout/stderr lines and returns the log.
    pub(crate) fn finish(&self) -> Vec<LogLine> {
        let mut state = self.lock();
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            let partial = std::mem::take(match stream {
                LogStream::Stderr => &mut state.partial_stderr,
                _ => &mut state.partial_stdout,
            });
            if !partial.is_empty() {
                let level = if stream == LogStream::Stderr {
                    LogLevel::Warn
                } else {
                    LogLevel::Info
                };
                state.push(
                    level,
                    stream,
                    String::from_utf8_lossy(&partial).into_owned(),
                );
            }
        }
        std::mem::take(&mut state.lines)
    }
}

/// stdout/stderr of the guest, split into lines into the [`LogSink`]. Writes never fail and
/// never block: past the cap, output is dropped.
#[derive(Clone)]
struct CapturedOutput {
    sink: LogSink,
    stream: LogStream,
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.sink.lock().write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.sink.lock().write(self.stream, buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
