"""pytest fixtures for the Camunda-client compatibility tests.

- `baton`: one real `baton serve` per test module (127.0.0.1:0, fresh data dir).
- `api`: a thin REST helper used to *assert* outcomes (GET /incident, /history/..., ...).
- `stock_worker`: starts workers/stock_worker.py (the real camunda-external-task-client-python3)
  as a subprocess against the server and stops it afterwards.

When a test fails, the tail of the server log is attached to the report.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
from typing import Any, Optional

import pytest
import requests

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baton_server import BatonServer, deploy, wait_until  # noqa: E402


def describe(response: requests.Response) -> str:
    """`METHOD url body -> status body`, for assertion messages and bug reports."""
    req = response.request
    body = req.body
    if isinstance(body, bytes):
        body = body[:600].decode(errors="replace")
    return (f"{req.method} {req.url} {body or ''}\n  -> {response.status_code} "
            f"{response.headers.get('content-type')} {response.text[:1500]}")


class Api:
    """Minimal Camunda REST client for assertions (not the client under test)."""

    def __init__(self, engine_rest: str):
        self.base = engine_rest
        self.session = requests.Session()

    def request(self, method: str, path: str, expect: Optional[int] = None, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        response = self.session.request(method, self.base + path, **kwargs)
        if expect is not None:
            assert response.status_code == expect, f"expected {expect}: {describe(response)}"
        return response

    def get(self, path: str, expect: Optional[int] = 200, **params) -> Any:
        response = self.request("GET", path, expect=expect, params=params)
        if expect == 200:
            assert response.headers.get("content-type") == "application/json", describe(response)
            return response.json()
        return response

    def post(self, path: str, body: Any = None, expect: Optional[int] = 200) -> Any:
        response = self.request("POST", path, expect=expect, json=body)
        if expect == 200:
            return response.json()
        return response

    def deploy(self, name: str, *fixtures: str) -> dict:
        return deploy(self.base, name, *fixtures)

    def start(self, key: str, business_key: str, variables: dict) -> dict:
        return self.post(f"/process-definition/key/{key}/start",
                         {"businessKey": business_key, "variables": variables})

    def activity_ids(self, process_instance_id: str) -> list:
        """Activity ids from history, in start order (the usual "which path ran" assertion)."""
        rows = self.get("/history/activity-instance", processInstanceId=process_instance_id,
                        sortBy="startTime", sortOrder="asc")
        return [row["activityId"] for row in rows]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    server = item.funcargs.get("baton") if hasattr(item, "funcargs") else None
    if report.failed and isinstance(server, BatonServer):
        report.sections.append(("baton serve log (tail)", server.log_tail()))


@pytest.fixture(scope="module")
def baton():
    server = BatonServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def api(baton: BatonServer) -> Api:
    return Api(baton.engine_rest)


class WorkerProcess:
    """workers/stock_worker.py in a subprocess, with its JSON-lines event file."""

    def __init__(self, engine_rest: str, worker_id: str, topic: str, async_response_timeout: Optional[int]):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="stock-worker-"))
        self.events_path = self.dir / "events.jsonl"
        self.log_path = self.dir / "worker.log"
        self.worker_id = worker_id
        env = dict(os.environ, BATON_ENGINE_REST=engine_rest, WORKER_ID=worker_id,
                   WORKER_TOPIC=topic, WORKER_EVENTS=str(self.events_path))
        if async_response_timeout is not None:
            env["WORKER_ASYNC_RESPONSE_TIMEOUT"] = str(async_response_timeout)
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen([sys.executable, str(HERE / "workers" / "stock_worker.py")],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=env)
        finally:
            log.close()

    def events(self) -> list:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines() if line.strip()]

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def assert_alive(self) -> None:
        assert self.proc.poll() is None, f"stock_worker.py exited {self.proc.returncode}:\n{self.log_tail()}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


@pytest.fixture
def stock_worker(baton: BatonServer):
    """Factory: stock_worker(worker_id=..., async_response_timeout=...) -> WorkerProcess."""
    started: list = []

    def start(worker_id: str = "stock-worker-py", topic: str = "stock-check",
              async_response_timeout: Optional[int] = None) -> WorkerProcess:
        worker = WorkerProcess(baton.engine_rest, worker_id, topic, async_response_timeout)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


__all__ = ["Api", "BatonServer", "describe", "wait_until"]
