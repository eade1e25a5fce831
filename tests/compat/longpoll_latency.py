#!/usr/bin/env python3
"""Long-poll latency: how fast does a parked fetchAndLock deliver a newly created external task?

For each of N runs:
  1. a worker thread POSTs /external-task/fetchAndLock (topic "ping", asyncResponseTimeout 10 s)
     and the request parks because no task exists;
  2. once it is parked, the main thread starts an instance of fixtures/ping.bpmn (t0 = just
     before the start request is sent);
  3. the worker thread notes when the response with the task arrives (t1), then completes it.
create-to-delivery = t1 - t0: the whole path a real worker sees (start request, commit, wake-up,
lock, response). "after start returned" = t1 minus the moment the start call returned (negative
when the task arrived before the start call's own response did).

"Parked" is read from the server's /metrics (a line whose name contains "parked") when baton
serves it; otherwise the script waits --settle-ms after sending the request and says so.

Usage (from the repo root):
  tests/compat/.venv/bin/python tests/compat/longpoll_latency.py [-n 200] [--engine-rest URL]
Without --engine-rest it starts its own `baton serve` ($BATON_BIN, default target/debug/baton).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baton_server import BatonServer, deploy, wait_until  # noqa: E402

PARKED = re.compile(r"^(\S*parked\S*)\s+(\d+(?:\.\d+)?)\s*$", re.MULTILINE)


def percentile(sorted_values: list, p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


class ParkProbe:
    """Reads the number of parked long polls from /metrics, if the server exposes it."""

    def __init__(self, base_url: str):
        self.url = base_url + "/metrics"
        self.session = requests.Session()
        self.available = self.read() is not None

    def read(self):
        try:
            r = self.session.get(self.url, timeout=5)
        except requests.RequestException:
            return None
        if r.status_code != 200:
            return None
        m = PARKED.search(r.text)
        return float(m.group(2)) if m else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--runs", type=int, default=200)
    ap.add_argument("--engine-rest", help="use a running server instead of starting one")
    ap.add_argument("--settle-ms", type=float, default=25.0,
                    help="wait after sending fetchAndLock when /metrics cannot confirm it is parked")
    ap.add_argument("--durability", choices=["fsync", "relaxed"], default="fsync",
                    help="BATON_DURABILITY of the server this script starts (default fsync)")
    args = ap.parse_args()

    server = None
    if args.engine_rest:
        engine_rest = args.engine_rest.rstrip("/")
    else:
        server = BatonServer(extra_env={"BATON_DURABILITY": args.durability}).start()
        engine_rest = server.engine_rest
    try:
        deploy(engine_rest, "longpoll-latency", "ping.bpmn")
        probe = ParkProbe(engine_rest.rsplit("/engine-rest", 1)[0])
        fetch_session = requests.Session()
        start_session = requests.Session()
        latencies, after_start, not_parked = [], [], 0

        for i in range(args.runs):
            result: dict = {}
            sent = threading.Event()

            def fetch() -> None:
                sent.set()
                r = fetch_session.post(f"{engine_rest}/external-task/fetchAndLock", json={
                    "workerId": "latency-probe", "maxTasks": 1, "asyncResponseTimeout": 10000,
                    "topics": [{"topicName": "ping", "lockDuration": 30000}],
                }, timeout=30)
                result["t1"] = time.perf_counter()
                result["status"] = r.status_code
                result["body"] = r.json() if r.status_code == 200 else r.text

            parked_before = probe.read() if probe.available else None
            thread = threading.Thread(target=fetch)
            thread.start()
            sent.wait()
            if probe.available:
                wait_until(lambda: (probe.read() or 0) > (parked_before or 0), timeout=10,
                           interval=0.001, what="the fetchAndLock request to park")
            else:
                time.sleep(args.settle_ms / 1000.0)  # measurement script only: cannot observe parking
            if "t1" in result:
                not_parked += 1  # answered before any task existed: that is a server bug
            t0 = time.perf_counter()
            started = start_session.post(f"{engine_rest}/process-definition/key/compat_ping/start",
                                         json={"businessKey": f"ping-{i}"}, timeout=30)
            t_start_returned = time.perf_counter()
            if started.status_code != 200:
                print(f"start failed: {started.status_code} {started.text}", file=sys.stderr)
                return 1
            thread.join(timeout=30)
            body = result.get("body")
            if result.get("status") != 200 or not isinstance(body, list) or len(body) != 1:
                print(f"run {i}: fetchAndLock answered {result.get('status')} {body!r} "
                      "instead of delivering the new task", file=sys.stderr)
                return 1
            latencies.append((result["t1"] - t0) * 1000.0)
            after_start.append((result["t1"] - t_start_returned) * 1000.0)
            done = start_session.post(f"{engine_rest}/external-task/{body[0]['id']}/complete",
                                      json={"workerId": "latency-probe"}, timeout=30)
            if done.status_code != 204:
                print(f"complete failed: {done.status_code} {done.text}", file=sys.stderr)
                return 1

        latencies.sort()
        after_start.sort()
        mode = "parked confirmed via /metrics" if probe.available else f"settle {args.settle_ms:g} ms (no /metrics)"
        if server is not None:
            mode += f", durability {args.durability}"
        print(f"long-poll create-to-delivery over {len(latencies)} runs ({mode}):")
        print(f"  start request sent -> task delivered: p50 {percentile(latencies, 50):.2f} ms, "
              f"p99 {percentile(latencies, 99):.2f} ms, max {latencies[-1]:.2f} ms, "
              f"mean {statistics.fmean(latencies):.2f} ms")
        print(f"  start response received -> task delivered: p50 {percentile(after_start, 50):.2f} ms, "
              f"p99 {percentile(after_start, 99):.2f} ms")
        if not_parked:
            print(f"  warning: {not_parked} fetches returned before the instance was started", file=sys.stderr)
        return 0
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
