// camunda-external-task-client-js (npm, pinned in package.json) against the real `baton serve`.
//
// The stock scenario of fixtures/stock.bpmn with the client's Client/subscribe/taskService:
// complete (typed Variables), handleFailure with retries until an incident, handleBpmnError
// caught by the boundary event, extendLock; once with interval polling (the client's default: no
// asyncResponseTimeout) and once with long polling (asyncResponseTimeout).

import assert from "node:assert/strict";
import { test } from "node:test";

import { Client, Variables } from "camunda-external-task-client-js";

import { restClient, startBaton, waitUntil } from "../baton.js";

const FAILURE_MESSAGE = "barcode scanner offline";
const FAILURE_DETAILS = "ScannerError: bay 7 did not answer within 2s";
const CHECKED_AT = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678));

const ORDERS = {
  "js-order-1": ["widget", 3],
  "js-order-slow": ["slow-item", 5],
  "js-order-fail": ["broken-scanner", 1],
  "js-order-gone": ["discontinued", 2],
};

/** Camunda dates ("2026-01-02T03:04:05.678+0000") to epoch millis. */
function camundaDate(s) {
  assert.match(s, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$/, `Camunda date format: ${s}`);
  return Date.parse(s.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
}

async function runScenario(clientOptions) {
  const baton = await startBaton();
  const rest = restClient(baton.engineRest);
  const events = [];
  const handlerErrors = [];
  const pollErrors = [];
  const lockTimes = {};
  let client;
  try {
    await rest.deploy("compat-js-worker", "stock.bpmn");

    client = new Client({ baseUrl: baton.engineRest, workerId: "stock-worker-js", ...clientOptions });
    client.on("handler:error", (e) => handlerErrors.push(e));
    client.on("poll:error", (e) => pollErrors.push(e));
    client.subscribe("stock-check", { lockDuration: 10000 }, async ({ task, taskService }) => {
      const item = task.variables.get("item");
      events.push({
        taskId: task.id, pid: task.processInstanceId, item, retries: task.retries,
        businessKey: task.businessKey, workerId: task.workerId, activityId: task.activityId,
        variables: task.variables.getAllTyped(),
      });
      if (item === "broken-scanner") {
        await taskService.handleFailure(task, {
          errorMessage: FAILURE_MESSAGE, errorDetails: FAILURE_DETAILS,
          retries: task.retries == null ? 2 : task.retries - 1, retryTimeout: 0,
        });
        return;
      }
      if (item === "discontinued") {
        const vars = new Variables().set("reason", "discontinued");
        await taskService.handleBpmnError(task, "OUT_OF_STOCK", "item is discontinued", vars);
        return;
      }
      if (item === "slow-item") {
        const before = await rest.get(`/external-task/${task.id}`);
        await taskService.extendLock(task, 60000);
        const after = await rest.get(`/external-task/${task.id}`);
        lockTimes[task.id] = { before: before.lockExpirationTime, after: after.lockExpirationTime, workerId: after.workerId };
      }
      const vars = new Variables();
      vars.set("inStock", true);
      vars.set("reserved", task.variables.get("quantity"));
      vars.set("warehouse", "north");
      vars.set("unitPrice", 12.5);
      vars.set("serial", 2 ** 40);
      vars.set("details", { bay: 7, tags: ["fragile"] });
      vars.set("checkedAt", CHECKED_AT);
      await taskService.complete(task, vars);
    });

    // Start the instances while the client is already polling (with long polling it is parked).
    const instances = {};
    for (const [bk, [item, quantity]] of Object.entries(ORDERS)) {
      const started = await rest.start("compat_stock", bk, {
        item: { value: item, type: "String" }, quantity: { value: quantity, type: "Integer" },
      });
      instances[bk] = started.id;
    }
    const seen = (pid) => events.filter((e) => e.pid === pid);

    // complete + typed variables (and extendLock for the slow one)
    for (const bk of ["js-order-1", "js-order-slow"]) {
      const pid = instances[bk];
      const [item, quantity] = ORDERS[bk];
      const tasks = await waitUntil(async () => {
        const t = await rest.get("/task", { processInstanceId: pid });
        return t.length ? t : null;
      }, { timeout: 20000, what: `${bk} to reach packOrder` });
      assert.equal(tasks[0].taskDefinitionKey, "packOrder");
      const [ev] = seen(pid);
      assert.equal(seen(pid).length, 1);
      assert.equal(ev.retries, null, "retries are null until the first failure");
      assert.equal(ev.businessKey, bk);
      assert.equal(ev.workerId, "stock-worker-js");
      assert.equal(ev.activityId, "checkStock");
      assert.deepEqual(ev.variables.item, { type: "string", value: item, valueInfo: ev.variables.item.valueInfo });
      assert.equal(ev.variables.quantity.type, "integer");
      assert.equal(ev.variables.quantity.value, quantity);

      const vars = await rest.get(`/process-instance/${pid}/variables`);
      const typeValue = (n) => [vars[n]?.type, vars[n]?.value];
      assert.deepEqual(typeValue("inStock"), ["Boolean", true]);
      assert.deepEqual(typeValue("reserved"), ["Integer", quantity]);
      assert.deepEqual(typeValue("warehouse"), ["String", "north"]);
      assert.deepEqual(typeValue("unitPrice"), ["Double", 12.5]);
      assert.deepEqual(typeValue("serial"), ["Long", 2 ** 40]);
      assert.equal(vars.details?.type, "Json", JSON.stringify(vars.details));
      assert.equal(typeof vars.details.value, "string", "Json values are strings on the wire");
      assert.deepEqual(JSON.parse(vars.details.value), { bay: 7, tags: ["fragile"] });
      assert.equal(vars.checkedAt?.type, "Date", JSON.stringify(vars.checkedAt));
      assert.equal(camundaDate(vars.checkedAt.value), CHECKED_AT.getTime());
      assert.deepEqual(await rest.get("/external-task", { processInstanceId: pid }), []);
      assert.deepEqual(await rest.activityIds(pid), ["orderReceived", "checkStock", "packOrder"]);
    }
    const slowTask = seen(instances["js-order-slow"])[0].taskId;
    const lock = lockTimes[slowTask];
    assert.ok(lock, "extendLock ran");
    assert.equal(lock.workerId, "stock-worker-js");
    // lockDuration was 10 s; extendLock(60 s) sets the expiry to now + 60 s.
    assert.ok(camundaDate(lock.after) - camundaDate(lock.before) > 30000, JSON.stringify(lock));

    // handleFailure with retries until an incident
    const failPid = instances["js-order-fail"];
    const incident = await waitUntil(async () => (await rest.get("/incident", { processInstanceId: failPid }))[0],
      { timeout: 20000, what: "an incident for the failing task" });
    const attempts = seen(failPid);
    assert.deepEqual(attempts.map((e) => e.retries), [null, 2, 1]);
    const failTaskId = attempts[0].taskId;
    assert.equal(incident.incidentType, "failedExternalTask");
    assert.equal(incident.incidentMessage, FAILURE_MESSAGE);
    assert.equal(incident.configuration, failTaskId);
    assert.equal(incident.activityId, "checkStock");
    const failTask = await rest.get(`/external-task/${failTaskId}`);
    assert.equal(failTask.retries, 0);
    assert.equal(failTask.errorMessage, FAILURE_MESSAGE);
    const fetched = await rest.post("/external-task/fetchAndLock", {
      workerId: "compat-probe", maxTasks: 10,
      topics: [{ topicName: "stock-check", lockDuration: 1000, businessKey: "js-order-fail" }],
    });
    assert.deepEqual(fetched.map((t) => t.id).filter((id) => id === failTaskId), [], "no longer fetchable");
    assert.equal(seen(failPid).length, 3);

    // handleBpmnError caught by the boundary event
    const gonePid = instances["js-order-gone"];
    const hist = await waitUntil(async () => {
      const row = await rest.get(`/history/process-instance/${gonePid}`);
      return row.state === "COMPLETED" ? row : null;
    }, { timeout: 20000, what: "the discontinued order to complete via the boundary event" });
    assert.equal(hist.businessKey, "js-order-gone");
    const ran = await rest.activityIds(gonePid);
    assert.ok(ran.includes("outOfStock") && ran.includes("backordered"), ran.join(","));
    assert.ok(!ran.includes("packOrder") && !ran.includes("shipped"), ran.join(","));
    const hvars = await rest.get("/history/variable-instance", { processInstanceId: gonePid });
    const reason = hvars.find((v) => v.name === "reason");
    assert.equal(reason?.value, "discontinued", JSON.stringify(hvars));

    assert.deepEqual(handlerErrors.map(String), [], "taskService calls all succeeded");
    assert.deepEqual(pollErrors.map(String), [], "fetchAndLock never failed");
  } catch (e) {
    e.message += `\n--- baton serve log (tail) ---\n${baton.logTail()}`;
    throw e;
  } finally {
    if (client) client.stop();
    await baton.stop();
  }
}

test("JS client with interval polling (no asyncResponseTimeout)", { timeout: 120000 }, async () => {
  await runScenario({ interval: 100 });
});

test("JS client with long polling (asyncResponseTimeout)", { timeout: 120000 }, async () => {
  await runScenario({ asyncResponseTimeout: 5000, interval: 10 });
});
