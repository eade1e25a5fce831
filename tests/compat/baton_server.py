"""Start and stop the real `baton serve` binary for the compatibility tests.

The server listens on 127.0.0.1 port 0 with a fresh temporary data directory; its address is read
from the line `baton listening on http://ADDR` that it prints on stdout. The server's stdout and
stderr go to a log file (never to a pipe nobody drains), whose tail is shown when something fails.

Used by the pytest fixtures (conftest.py) and by longpoll_latency.py.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Callable, Optional, TypeVar

import requests

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures"
LISTENING = re.compile(r"^baton listening on (http://\S+)\s*$", re.MULTILINE)

T = TypeVar("T")


def baton_bin() -> pathlib.Path:
    """The binary under test: $BATON_BIN (relative paths are taken from the repo root), else
    target/debug/baton."""
    raw = os.environ.get("BATON_BIN", "target/debug/baton")
    path = pathlib.Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def wait_until(predicate: Callable[[], Optional[T]], timeout: float = 10.0, interval: float = 0.02,
               what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds.

    Only for waiting on asynchronous outcomes (a server coming up, a worker process acting);
    never as a way to order steps the test itself performs."""
    deadline = time.monotonic() + timeout
    last_error: Optional[BaseException] = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (requests.RequestException, KeyError, IndexError, ValueError) as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


class BatonServer:
    """One `baton serve` process with its own temporary data directory."""

    def __init__(self, extra_env: Optional[dict] = None):
        self.binary = baton_bin()
        if not self.binary.is_file():
            raise RuntimeError(f"baton binary not found at {self.binary} "
                               "(set BATON_BIN or run `cargo build -p baton --bin baton`)")
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="baton-compat-"))
        self.log_path = self.tmp / "server.log"
        self.extra_env = extra_env or {}
        self.proc: Optional[subprocess.Popen] = None
        self.base_url = ""

    @property
    def engine_rest(self) -> str:
        """The Camunda REST root, e.g. http://127.0.0.1:PORT/engine-rest."""
        return self.base_url + "/engine-rest"

    def start(self, timeout: float = 60.0) -> "BatonServer":
        env = dict(os.environ)
        env.setdefault("BATON_LOG", "info")
        env["NO_COLOR"] = "1"
        env.update(self.extra_env)
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                [str(self.binary), "serve", "--listen", "127.0.0.1:0",
                 "--data-dir", str(self.tmp / "data")],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        finally:
            log.close()

        def address() -> Optional[str]:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"baton serve exited with {self.proc.returncode} before listening:\n"
                    + self.log_tail())
            match = LISTENING.search(self.log_path.read_text(errors="replace"))
            return match.group(1) if match else None

        self.base_url = wait_until(address, timeout=timeout, what="baton serve to print its address")
        return self

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "BatonServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def deploy(engine_rest: str, name: str, *fixtures: str) -> dict:
    """Deploy fixture files with a plain multipart POST (the Camunda docs' form: part `data`...).
    Returns the DeploymentWithDefinitionsDto."""
    files = {}
    for i, fixture in enumerate(fixtures):
        path = FIXTURES / fixture
        files[f"data{i}"] = (path.name, path.read_bytes(), "application/octet-stream")
    response = requests.post(f"{engine_rest}/deployment/create",
                             data={"deployment-name": name, "deployment-source": "compat-tests"},
                             files=files, timeout=30)
    assert response.status_code == 200, f"deploy {fixtures}: {response.status_code} {response.text}"
    return response.json()
