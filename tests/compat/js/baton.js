// Start and stop the real `baton serve` for the JS compatibility tests, and a tiny REST helper
// used only to set up and assert (the client under test is camunda-external-task-client-js).
//
// The server listens on 127.0.0.1:0 with a fresh data dir; its stdout/stderr go to a log file and
// the address is read from the line `baton listening on http://ADDR`.

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, "..", "..", "..");
export const FIXTURES = path.resolve(HERE, "..", "fixtures");

/** Poll `predicate` until it returns a truthy value; only for asynchronous outcomes. */
export async function waitUntil(predicate, { timeout = 10000, interval = 20, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await predicate();
      if (value) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}` +
        (lastError ? ` (last error: ${lastError.message})` : ""));
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

export function batonBin() {
  const raw = process.env.BATON_BIN || "target/debug/baton";
  return path.isAbsolute(raw) ? raw : path.join(REPO_ROOT, raw);
}

export async function startBaton() {
  const bin = batonBin();
  if (!fs.existsSync(bin)) throw new Error(`baton binary not found at ${bin} (set BATON_BIN)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "baton-compat-js-"));
  const logPath = path.join(dir, "server.log");
  const log = fs.openSync(logPath, "w");
  const child = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", path.join(dir, "data")], {
    stdio: ["ignore", log, log],
    env: { ...process.env, NO_COLOR: "1", BATON_LOG: process.env.BATON_LOG || "info" },
  });
  fs.closeSync(log);
  let exited = null;
  const exitPromise = new Promise((resolve) => child.on("exit", (code, signal) => {
    exited = { code, signal };
    resolve();
  }));
  const logTail = () => {
    try {
      return fs.readFileSync(logPath, "utf8").split("\n").slice(-60).join("\n");
    } catch {
      return "(no server log)";
    }
  };
  const baseUrl = await waitUntil(() => {
    if (exited) throw new Error(`baton serve exited (${JSON.stringify(exited)}):\n${logTail()}`);
    const m = /^baton listening on (http:\/\/\S+)\s*$/m.exec(fs.readFileSync(logPath, "utf8"));
    return m && m[1];
  }, { timeout: 60000, what: "baton serve to print its address" });
  return {
    engineRest: `${baseUrl}/engine-rest`,
    logTail,
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 15000);
        await exitPromise;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `METHOD url body -> status body` for assertion messages. */
function describe(method, url, body, status, text) {
  return `${method} ${url} ${body ? JSON.stringify(body) : ""}\n  -> ${status} ${text.slice(0, 1500)}`;
}

export function restClient(engineRest) {
  async function call(method, p, { body, query, expect = 200 } = {}) {
    const url = new URL(engineRest + p);
    for (const [k, v] of Object.entries(query || {})) url.searchParams.set(k, String(v));
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(url, init);
    const text = await res.text();
    if (expect !== null && res.status !== expect) {
      throw new Error(`expected ${expect}: ${describe(method, url, body, res.status, text)}`);
    }
    if (res.status === 200) {
      const ct = res.headers.get("content-type");
      if (ct !== "application/json") {
        throw new Error(`content-type must be exactly application/json, got ${ct}: ${describe(method, url, body, res.status, text)}`);
      }
      return JSON.parse(text);
    }
    return { status: res.status, text };
  }
  return {
    get: (p, query, opts = {}) => call("GET", p, { query, ...opts }),
    post: (p, body, opts = {}) => call("POST", p, { body, ...opts }),
    put: (p, body, opts = {}) => call("PUT", p, { body, ...opts }),
    async deploy(name, ...fixtures) {
      const form = new FormData();
      form.set("deployment-name", name);
      fixtures.forEach((f, i) => {
        form.set(`data${i}`, new Blob([fs.readFileSync(path.join(FIXTURES, f))]), f);
      });
      const res = await fetch(`${engineRest}/deployment/create`, { method: "POST", body: form });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`deploy ${fixtures}: ${res.status} ${text}`);
      return JSON.parse(text);
    },
    start(key, businessKey, variables) {
      return call("POST", `/process-definition/key/${key}/start`, { body: { businessKey, variables } });
    },
    async activityIds(pid) {
      const rows = await call("GET", "/history/activity-instance", {
        query: { processInstanceId: pid, sortBy: "startTime", sortOrder: "asc" },
      });
      return rows.map((r) => r.activityId);
    },
  };
}
