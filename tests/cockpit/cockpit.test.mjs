// End-to-end tests of the baton cockpit: the real `baton serve` binary (BATON_BIN) on a free
// port with a fresh data dir, Debian's chromium driven headless by playwright-core.
//
// Scenario on the order example (examples/order/order.bpmn; tests/cockpit/fixtures/order.bpmn
// when the example is absent): deploy, start an instance, watch its token move on the diagram
// while a "worker" (REST calls from this test) completes the stock check, complete the
// approval through the tasklist's generated form, fail the payment into an incident and retry
// it from the instance page, finish the instance. Screenshots go to artifacts/cockpit/.
// Prints the instance page's weight (bytes transferred) and time to first render.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const artifacts = resolve(process.env.COCKPIT_ARTIFACTS || join(repo, 'artifacts/cockpit'));
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// The order example as the examples/ folder has it, or this folder's stand-in with the same
// shape (stock check → large-order approval by a group → payment → done).
const EXAMPLE = join(repo, 'examples/order/order.bpmn');
const MODEL = existsSync(EXAMPLE)
  ? { file: EXAMPLE, key: 'order', check: 'CheckStock', checkTopic: 'check-stock', checkVars: { available: { value: true, type: 'Boolean' } },
      approve: 'ApproveOrder', group: 'sales', pay: 'Payment', payTopic: 'payment', after: 'SendMail', afterTopic: 'send-mail' }
  : { file: join(here, 'fixtures/order.bpmn'), key: 'order', check: 'check_stock', checkTopic: 'check-stock', checkVars: {},
      approve: 'approve', group: 'managers', pay: 'charge', payTopic: 'charge-card', after: null, afterTopic: null };

let server; let base; let dataDir; let context; let profileDir;

async function rest(method, path, body) {
  const r = await fetch(`${base}/engine-rest${path}`, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A remote worker's fetchAndLock for one topic; returns the one locked task. */
async function fetchOne(topic) {
  const tasks = await rest('POST', '/external-task/fetchAndLock', {
    workerId: 'e2e-worker', maxTasks: 1, topics: [{ topicName: topic, lockDuration: 60000 }],
  });
  assert.equal(tasks.length, 1, `one ${topic} task`);
  return tasks[0];
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

before(async () => {
  const bin = process.env.BATON_BIN;
  assert.ok(bin && existsSync(bin), `BATON_BIN must name the baton binary (got ${bin})`);
  assert.ok(existsSync(chromiumPath), `${chromiumPath} missing: run tests/cockpit/run.sh`);
  mkdirSync(artifacts, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'baton-cockpit-'));
  server = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, '--durability', 'relaxed'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BATON_LOG: process.env.BATON_LOG || 'warn' },
  });
  base = await new Promise((ok, fail) => {
    let out = '';
    const t = setTimeout(() => fail(new Error(`baton did not start: ${out}`)), 30000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/baton listening on (http:\/\/[0-9.:]+)/);
      if (m) { clearTimeout(t); ok(m[1]); }
    });
    server.on('exit', (code) => fail(new Error(`baton exited with ${code}: ${out}`)));
  });
  profileDir = mkdtempSync(join(tmpdir(), 'baton-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await context?.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((ok) => { server.on('exit', ok); setTimeout(ok, 5000); });
  }
  for (const d of [dataDir, profileDir]) if (d) rmSync(d, { recursive: true, force: true });
});

test('cockpit: order example end to end', async () => {
  try { await scenario(); } catch (e) {
    for (const p of context.pages()) await shot(p, 'failure').catch(() => {});
    throw e;
  }
});

async function scenario() {
  // Deploy the model and create the approver.
  const form = new FormData();
  form.append('deployment-name', 'order');
  form.append('data', new Blob([readFileSync(MODEL.file)]), 'order.bpmn');
  const dep = await fetch(`${base}/engine-rest/deployment/create`, { method: 'POST', body: form });
  assert.equal(dep.status, 200, await dep.clone().text());
  const defId = Object.keys((await dep.json()).deployedProcessDefinitions)[0];
  await rest('POST', '/group/create', { id: MODEL.group, name: MODEL.group[0].toUpperCase() + MODEL.group.slice(1), type: 'WORKFLOW' });
  await rest('POST', '/user/create', { profile: { id: 'sam', firstName: 'Sam', lastName: 'Approver', email: 'sam@example.com' }, credentials: { password: 'sam' } });
  await rest('PUT', `/group/${MODEL.group}/members/sam`);

  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // Dashboard lists the definition.
  await page.goto(`${base}/`);
  await page.waitForSelector(`a[href="#/definition/${encodeURIComponent(defId)}"]`);
  await page.waitForSelector('#live.on');

  const started = await rest('POST', `/process-definition/key/${MODEL.key}/start`, {
    businessKey: 'order-4711',
    variables: {
      amount: { value: 2500, type: 'Long' },
      customer: { value: 'ACME Corp', type: 'String' },
      items: { value: JSON.stringify([{ sku: 'A-1', quantity: 3 }]), type: 'Json' },
    },
  });
  const pid = started.id;
  // Live: the running count on the dashboard updates through SSE.
  await page.waitForFunction(() => document.querySelector('.stat b')?.textContent === '1');
  await shot(page, 'dashboard');

  // Definition page: every DI element drawn, a token badge on the first task.
  await page.goto(`${base}/#/definition/${encodeURIComponent(defId)}`);
  await page.waitForSelector(`.diagram [data-element-id="${MODEL.check}"]`);
  const xml = readFileSync(MODEL.file, 'utf8');
  const diCount = (xml.match(/<bpmndi:BPMN(Shape|Edge)\b/g) || []).length;
  assert.equal(await page.locator('.diagram [data-element-id]').count(), diCount, 'one group per DI element');
  await page.waitForSelector('.diagram .overlays .badge');
  await page.waitForSelector(`text=order-4711`);
  // Filter by a variable value.
  await page.fill('input[name=variable]', 'customer');
  await page.fill('input[name=value]', 'ACME Corp');
  await page.click('form.filters button[type=submit]');
  await page.waitForFunction(() => location.hash.includes('variable=customer'));
  await page.waitForSelector('text=Instances (1)');
  await shot(page, 'definition');

  // No worker yet: the topics page says so at a glance.
  await page.goto(`${base}/#/topics`);
  await page.waitForSelector(`[data-topic="${MODEL.checkTopic}"] .alert >> text=No worker is working on this topic.`);
  await shot(page, 'topics-no-worker');

  // Instance page: the token is on the stock check; a worker completes it and the token moves.
  await page.goto(`${base}/#/instance/${pid}`);
  await page.waitForSelector(`[data-element-id="${MODEL.check}"].active`);
  const task1 = await fetchOne(MODEL.checkTopic);
  await rest('POST', `/external-task/${task1.id}/complete`, { workerId: 'e2e-worker', variables: MODEL.checkVars });
  await page.waitForSelector(`[data-element-id="${MODEL.approve}"].active`, { timeout: 10000 });
  await page.waitForSelector(`[data-element-id="${MODEL.check}"].done`);
  assert.ok(await page.locator('.el.edge.taken').count() >= 2, 'completed path marked');
  await page.waitForSelector('.tree b >> text=Approve order');
  await shot(page, 'instance-tokens');

  // Edit a variable (typed) from the instance page.
  const row = page.locator('#variables tr', { hasText: 'customer' });
  await row.locator('button', { hasText: 'Edit' }).click();
  await row.locator('input').fill('ACME Corporation');
  await row.locator('button', { hasText: 'Save' }).click();
  await page.waitForSelector('#variables td.val >> text=ACME Corporation');
  const v = await rest('GET', `/process-instance/${pid}/variables/customer`);
  assert.equal(v.value, 'ACME Corporation');

  // Tasklist: Sam (group) claims the approval and completes it through the generated form.
  await page.goto(`${base}/#/tasks?user=sam`);
  await page.click('#group-tasks li');
  await page.waitForSelector('#task-panel form.gen');
  assert.equal(await page.locator('#task-panel form.gen button[type=submit]').isDisabled(), true, 'claim first');
  await page.click('#task-panel button:has-text("Claim")');
  await page.waitForSelector('#task-panel button:has-text("Unclaim")');
  await page.check('#f-approved');
  const note = page.locator('#task-panel input[type=text]').first();
  await note.fill('Approved in the cockpit');
  await shot(page, 'tasklist-form');
  await page.click('#task-panel form.gen button[type=submit]');
  await page.waitForSelector('text=No tasks for you right now.');
  const approved = await rest('GET', `/process-instance/${pid}/variables/approved`);
  assert.equal(approved.value, true);

  // Payment fails with no retries left: an incident on the diagram; Retry resolves it.
  const pay = await fetchOne(MODEL.payTopic);
  await rest('POST', `/external-task/${pay.id}/failure`, {
    workerId: 'e2e-worker', errorMessage: 'payment provider unreachable', errorDetails: 'connect timeout', retries: 0, retryTimeout: 0,
  });
  await page.goto(`${base}/#/topics`);
  await page.waitForSelector(`[data-topic="${MODEL.payTopic}"] .alert.bad`);
  await shot(page, 'topics');
  await page.goto(`${base}/#/instance/${pid}`);
  await page.waitForSelector(`[data-element-id="${MODEL.pay}"].incident`);
  await page.waitForSelector('#incidents >> text=payment provider unreachable');
  await shot(page, 'instance-incident');
  await page.click('#incidents button:has-text("Retry")');
  await page.waitForSelector('#incidents >> text=No open incidents.');
  assert.equal((await rest('GET', `/incident?processInstanceId=${pid}`)).length, 0);

  // The worker now succeeds; the instance runs to its end and the page shows it.
  const pay2 = await fetchOne(MODEL.payTopic);
  await rest('POST', `/external-task/${pay2.id}/complete`, { workerId: 'e2e-worker', variables: {} });
  if (MODEL.afterTopic) {
    await page.waitForSelector(`[data-element-id="${MODEL.after}"].active`);
    const last = await fetchOne(MODEL.afterTopic);
    await rest('POST', `/external-task/${last.id}/complete`, { workerId: 'e2e-worker', variables: {} });
  }
  await page.waitForSelector('.pagehead .pill.ok >> text=completed', { timeout: 10000 });
  await shot(page, 'instance-completed');

  // Metrics and the event stream are served beside the pages.
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /baton_instances_completed_total 1/);
  assert.deepEqual(errors, [], 'no page errors');
  await page.close();

  // Page weight and time to first render of the instance page, cold cache.
  const cold = await context.newPage();
  const cdp = await context.newCDPSession(cold);
  await cdp.send('Network.enable');
  await cdp.send('Network.clearBrowserCache');
  let bytes = 0; let requests = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; requests += 1; });
  const t0 = Date.now();
  await cold.goto(`${base}/#/instance/${pid}`);
  await cold.waitForFunction(() => performance.getEntriesByName('baton:instance-rendered').length > 0);
  const wall = Date.now() - t0;
  const perf = await cold.evaluate(() => {
    const mark = performance.getEntriesByName('baton:instance-rendered')[0];
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    return { rendered: Math.round(mark.startTime), fcp: fcp ? Math.round(fcp.startTime) : null };
  });
  await new Promise((r) => setTimeout(r, 300));
  await shot(cold, 'instance-cold');
  console.log(`cockpit instance page: ${bytes} bytes transferred in ${requests} requests (cold cache, assets gzip-compressed, event stream excluded); ` +
    `first contentful paint ${perf.fcp} ms, diagram + panels rendered ${perf.rendered} ms after navigation start (wall ${wall} ms)`);
  await cold.close();
}

test('cockpit: notifications page lists rules and deliveries, sends a test, never shows the secret', async () => {
  // A real webhook receiver on 127.0.0.1:0.
  const received = [];
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { received.push(JSON.parse(body)); res.writeHead(200); res.end('ok'); });
  });
  await new Promise((ok) => hook.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${hook.address().port}/hook`;
  try {
    await rest('POST', '/notification-rule/create', {
      id: 'ops', name: 'Incidents to ops', condition: 'incidentCreated', url, secret: 'hunter2-secret', windowSeconds: 60,
    });
    // An incident: fail a stock check with no retries left.
    const started = await rest('POST', `/process-definition/key/${MODEL.key}/start`, { businessKey: 'notify-1' });
    const task = await fetchOne(MODEL.checkTopic);
    await rest('POST', `/external-task/${task.id}/failure`, { workerId: 'e2e-worker', errorMessage: 'stock service down', retries: 0, retryTimeout: 0 });
    for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(received[0]?.event, 'incidentCreated');
    assert.equal(received[0]?.processInstanceId, started.id);

    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/#/notifications`);
    await page.waitForSelector('[data-rule="ops"] h2 >> text=Incidents to ops');
    await page.waitForSelector('[data-rule="ops"] td >> text=delivered');
    assert.ok(!(await page.content()).includes('hunter2-secret'), 'the secret is never shown');
    await page.waitForSelector('[data-rule="ops"] >> text=signed (HMAC-SHA256)');
    await shot(page, 'notifications');
    await page.click('[data-rule="ops"] button:has-text("Send test")');
    await page.waitForSelector('#toast >> text=Test notification sent');
    assert.equal(received.at(-1).event, 'test');
    assert.deepEqual(errors, [], 'no page errors');
    await page.close();
  } finally {
    hook.close();
  }
});

// ---------------------------------------------------------------- operations (issue 18)

const OPS = join(here, 'fixtures/ops.bpmn');
async function deployShip(version) {
  const form = new FormData();
  form.append('deployment-name', `ship-${version}`);
  form.append('data', new Blob([readFileSync(OPS, 'utf8').replace('VERSION', version)]), 'ship.bpmn');
  const dep = await fetch(`${base}/engine-rest/deployment/create`, { method: 'POST', body: form });
  assert.equal(dep.status, 200, await dep.clone().text());
  return Object.keys((await dep.json()).deployedProcessDefinitions)[0];
}
/** Lock the `topic` task of one instance for the e2e worker. */
async function lockTaskOf(pid, topic) {
  const [task] = await rest('GET', `/external-task?processInstanceId=${pid}&topicName=${topic}`);
  assert.ok(task, `a ${topic} task in ${pid}`);
  await rest('POST', `/external-task/${task.id}/lock`, { workerId: 'e2e-worker', lockDuration: 60000 });
  return task;
}
const opsErrors = [];
async function opsPage() {
  const page = await context.newPage();
  page.on('pageerror', (e) => opsErrors.push(e.message));
  page.on('dialog', (d) => d.accept('send'));
  return page;
}

test('cockpit: incidents page filters, sorts, pages, shows the stack trace and retries a selection', async () => {
  const v1 = await deployShip('v1');
  const pids = [];
  for (let i = 0; i < 23; i++) pids.push((await rest('POST', '/process-definition/key/ship/start', { businessKey: `ship-${i}` })).id);
  // Two instances fail their packing with no retries left: two incidents with error details.
  for (const pid of pids.slice(0, 2)) {
    const t = await lockTaskOf(pid, 'ship-pack');
    await rest('POST', `/external-task/${t.id}/failure`, { workerId: 'e2e-worker', errorMessage: `label printer jammed ${pid.slice(0, 4)}`,
      errorDetails: 'java.lang.IllegalStateException: printer offline\n\tat Packer.print(Packer.java:42)', retries: 0, retryTimeout: 0 });
  }
  const page = await opsPage();
  await page.goto(`${base}/#/incidents`);
  await page.waitForSelector('#incident-table tbody tr[data-incident]');
  // Filter: type and message text; the order incident of the first test stays out.
  await page.selectOption('form.filters select[name=type]', 'failedExternalTask');
  await page.selectOption('form.filters select[name=definition]', v1);
  await page.fill('form.filters input[name=message]', 'printer jammed');
  await page.click('form.filters button[type=submit]');
  await page.waitForFunction(() => location.hash.includes('message=printer'));
  await page.waitForFunction(() => document.querySelectorAll('#incident-table tbody tr[data-incident]').length === 2);
  // Sortable: by message, both directions.
  await page.click('th[data-sort=incidentMessage]');
  await page.waitForFunction(() => location.hash.includes('sortBy=incidentMessage') && location.hash.includes('sortOrder=desc'));
  await page.waitForSelector('th[data-sort=incidentMessage].on');
  const msgs = await page.locator('#incident-table td.msg').allTextContents();
  assert.deepEqual(msgs, [...msgs].sort().reverse(), 'sorted by message, descending');
  // The stack trace of the failed external task.
  await page.locator('#incident-table tr[data-incident] button[data-trace]').first().click();
  await page.waitForSelector('#incident-table pre.stack >> text=IllegalStateException: printer offline');
  await shot(page, 'incidents');
  // Bulk retry of the selection resolves both incidents.
  await page.check('th.sel input[data-select-all]');
  await page.waitForSelector('.bulk [data-selected] >> text=2 selected');
  await page.click('#bulk-retry');
  await page.waitForSelector('text=No incident matches.');
  assert.equal((await rest('GET', `/incident/count?processDefinitionId=${v1}`)).count, 0);

  // The definition's instance table is paged on the server: 20 of 23, then the last 3.
  await page.goto(`${base}/#/definition/${encodeURIComponent(v1)}`);
  await page.waitForSelector('.pager [data-range] >> text=1–20 of 23');
  assert.equal(await page.locator('#instance-table tbody tr').count(), 20);
  await page.click('.pager button[data-next]');
  await page.waitForSelector('.pager [data-range] >> text=21–23 of 23');
  assert.equal(await page.locator('#instance-table tbody tr').count(), 3);
  assert.ok(!(await page.locator('#instance-bulk').textContent()).includes('null'), 'no stray text in the bulk bar');
  // Sorted by business key ascending: ship-0, ship-1, ship-10, ...
  await page.click('th[data-sort=businessKey]');
  await page.waitForFunction(() => location.hash.includes('sortBy=businessKey') && location.hash.includes('sortOrder=desc'));
  await page.waitForSelector('th[data-sort=businessKey].on');
  await page.click('th[data-sort=businessKey]');
  await page.waitForFunction(() => location.hash.includes('sortBy=businessKey') && location.hash.includes('sortOrder=asc'));
  await page.waitForSelector('#instance-table tbody tr:first-child >> text=ship-0');
  assert.deepEqual(opsErrors, [], 'no page errors');
  await page.close();
});

test('cockpit: heatmap counts, modification from the diagram, suspension and the end event reached', async () => {
  const v1 = (await rest('GET', '/process-definition?key=ship&version=1'))[0].id;
  const pids = (await rest('GET', `/process-instance?processDefinitionId=${v1}&sortBy=businessKey&sortOrder=asc`)).map((p) => p.id);
  // One instance packs and sends: it completes at the end event.
  const done = pids[5];
  for (const topic of ['ship-pack', 'ship-send']) {
    const t = await lockTaskOf(done, topic);
    await rest('POST', `/external-task/${t.id}/complete`, { workerId: 'e2e-worker' });
  }
  const page = await opsPage();
  await page.goto(`${base}/#/definition/${encodeURIComponent(v1)}`);
  // Heatmap: badges per activity with the counts the engine reports.
  const heat = await (await fetch(`${base}/cockpit/api/definition/${v1}/heatmap`)).json();
  assert.equal(heat.activities.pack.completed, 1, 'only the finished instance left pack');
  assert.equal(heat.activities.pack.running, 22);
  await page.waitForSelector('.overlays .badge[data-activity=pack][data-kind=running]');
  assert.equal(await page.locator('.overlays .badge[data-activity=pack][data-kind=running] text').textContent(), String(heat.activities.pack.running));
  assert.equal(await page.locator('.overlays .badge[data-activity=send][data-kind=completed] text').textContent(), '1');
  assert.ok(await page.locator('.overlays rect.heat[data-heat=pack]').count() === 1, 'pack is coloured');
  await shot(page, 'heatmap');

  // Modification on the instance page: cancel the token at pack, start one before send.
  const pid = pids[7];
  await page.goto(`${base}/#/instance/${pid}`);
  await page.waitForSelector('[data-element-id="pack"].active');
  await page.click('.diagram [data-element-id="pack"]');
  await page.click('.diagram .menu button[data-op=cancel]');
  await page.click('.diagram [data-element-id="send"]');
  await page.click('.diagram .menu button[data-op=startBefore]');
  await page.waitForSelector('#modification li >> text=cancel every token in pack');
  await page.click('#apply-modification');
  await page.waitForSelector('dialog.confirm li >> text=start before send');
  await shot(page, 'modification-confirm');
  await page.click('dialog.confirm button[data-confirm]');
  await page.waitForSelector('[data-element-id="send"].active');
  assert.equal(await page.locator('[data-element-id="pack"].active').count(), 0);
  const tree = await rest('GET', `/process-instance/${pid}/activity-instances`);
  assert.deepEqual(tree.childActivityInstances.map((a) => a.activityId), ['send']);
  // A second token in send, then one of the two canceled by its activity instance.
  await page.click('.diagram [data-element-id="send"]');
  await page.click('.diagram .menu button[data-op=startBefore]');
  await page.click('#apply-modification');
  await page.click('dialog.confirm button[data-confirm]');
  await page.waitForFunction(() => [...document.querySelectorAll('.overlays .badge text')].some((t) => t.textContent === '2'));
  await page.click('.diagram [data-element-id="send"]');
  assert.equal(await page.locator('.diagram .menu button[data-op=cancel-one]').count(), 2);
  const victim = await page.locator('.diagram .menu button[data-op=cancel-one]').first().getAttribute('data-token');
  await page.locator('.diagram .menu button[data-op=cancel-one]').first().click();
  await page.click('#apply-modification');
  await page.waitForSelector(`dialog.confirm li >> text=cancel token ${victim} in send`);
  await page.click('dialog.confirm button[data-confirm]');
  await page.waitForFunction(() => ![...document.querySelectorAll('.overlays .badge text')].some((t) => t.textContent === '2'));
  const left = (await rest('GET', `/process-instance/${pid}/activity-instances`)).childActivityInstances;
  assert.equal(left.length, 1);
  assert.notEqual(left[0].id, victim);
  // The canceled token shows on the heatmap.
  const after = await (await fetch(`${base}/cockpit/api/definition/${v1}/heatmap`)).json();
  assert.equal(after.activities.pack.canceled, 1);
  assert.equal(after.activities.send.canceled, 1);

  // Suspend and activate the instance.
  await page.click('#instance-suspend');
  await page.waitForSelector('#instance-suspend >> text=Activate');
  assert.equal((await rest('GET', `/process-instance/${pid}`)).suspended, true);
  await page.click('#instance-suspend');
  await page.waitForSelector('#instance-suspend >> text=Suspend');
  assert.equal((await rest('GET', `/process-instance/${pid}`)).suspended, false);

  // The finished instance says which end event it reached.
  await page.goto(`${base}/#/instance/${done}`);
  await page.waitForSelector('#end-event >> text=reached end event shipped');
  await page.waitForSelector('[data-element-id="shipped"].end-reached');
  // External-task rows carry business key and instance.
  await page.goto(`${base}/#/topics`);
  await page.waitForSelector('[data-topic="ship-pack"] [data-business-key] >> text=ship-0');
  // The paged external-task table of the topic: business key, instance, error details.
  await page.click('[data-topic="ship-pack"] a[data-all-tasks]');
  const open = (await rest('GET', '/external-task/count?topicName=ship-pack')).count;
  assert.ok(open > 20, `${open} open pack tasks`);
  await page.waitForSelector(`.pager [data-range] >> text=1–20 of ${open}`);
  assert.equal(await page.locator('#external-task-table tbody tr[data-task]').count(), 20);
  await page.click('th[data-sort=processInstanceId]');
  await page.waitForFunction(() => location.hash.includes('sortBy=processInstanceId'));
  await page.waitForSelector('th[data-sort=processInstanceId].on');
  const first = await page.locator('#external-task-table tbody tr[data-task] a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(first, [...first].sort(), 'sorted by instance');
  const failed = page.locator('#external-task-table tr[data-task]', { hasText: 'label printer jammed' }).first();
  await failed.locator('button[data-details]').click();
  await page.waitForSelector('#external-task-table pre.stack >> text=IllegalStateException: printer offline');
  await shot(page, 'external-tasks');
  assert.deepEqual(opsErrors, [], 'no page errors');
  await page.close();
});

test('cockpit: migration with a plan preview, batch operations on a selection and their progress', async () => {
  const v1 = (await rest('GET', '/process-definition?key=ship&version=1'))[0].id;
  const v2 = await deployShip('v2');
  const page = await opsPage();
  await page.goto(`${base}/#/definition/${encodeURIComponent(v1)}?sortBy=businessKey&sortOrder=asc`);
  await page.waitForSelector('#instance-table');
  // Select two running instances (ship-0, ship-1) and migrate them to version 2.
  const rows = page.locator('#instance-table tbody tr');
  await rows.nth(0).locator('input[data-select]').check();
  await rows.nth(1).locator('input[data-select]').check();
  const chosen = [await rows.nth(0).getAttribute('data-instance'), await rows.nth(1).getAttribute('data-instance')];
  await page.waitForSelector('#instance-bulk [data-selected] >> text=2 selected');
  await page.click('#instance-bulk button[data-bulk=migrate]');
  await page.waitForSelector('#migration-plan tr[data-instruction=pack]');
  await page.waitForSelector('#migration-plan tr[data-instruction=send]');
  await page.waitForSelector('#validation >> text=The plan is valid.');
  await shot(page, 'migration');
  await page.click('#migrate-async');
  await page.waitForFunction(() => location.hash.startsWith('#/batches'));
  for (const pid of chosen) {
    for (let i = 0; i < 100 && (await rest('GET', `/process-instance/${pid}`)).definitionId !== v2; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await rest('GET', `/process-instance/${pid}`)).definitionId, v2, 'migrated');
  }
  await page.waitForSelector('#batch-history tr[data-history-batch]');
  await shot(page, 'batches');

  // Batch suspension and cancellation of a selection on version 1.
  await page.goto(`${base}/#/definition/${encodeURIComponent(v1)}?sortBy=businessKey&sortOrder=asc`);
  await page.waitForSelector('#instance-table');
  const target = await rows.nth(0).getAttribute('data-instance');
  await rows.nth(0).locator('input[data-select]').check();
  await page.click('#instance-bulk button[data-bulk=suspend]');
  await page.waitForFunction(() => location.hash.startsWith('#/batches'));
  for (let i = 0; i < 100 && !(await rest('GET', `/process-instance/${target}`)).suspended; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal((await rest('GET', `/process-instance/${target}`)).suspended, true, 'suspended by the batch');
  await page.goto(`${base}/#/definition/${encodeURIComponent(v1)}?sortBy=businessKey&sortOrder=asc`);
  await page.waitForSelector('#instance-table');
  const victim = await rows.nth(1).getAttribute('data-instance');
  assert.notEqual(victim, target);
  await rows.nth(1).locator('input[data-select]').check();
  await page.click('#instance-bulk button[data-bulk=cancel]');
  await page.waitForSelector(`dialog.confirm li >> text=cancel ${victim}`);
  await page.click('dialog.confirm button[data-confirm]');
  await page.waitForFunction(() => location.hash.startsWith('#/batches'));
  let hist;
  for (let i = 0; i < 100; i++) {
    hist = await rest('GET', `/history/process-instance/${victim}`);
    if (hist.endTime) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(hist.state, 'EXTERNALLY_TERMINATED');

  // The dashboard's definitions are paged and sorted on the server too.
  await page.goto(`${base}/#/`);
  await page.waitForSelector('#definition-table');
  await page.click('th[data-sort=version]');
  await page.waitForFunction(() => location.hash.includes('sortBy=version'));
  await page.waitForSelector('th[data-sort=version].on');
  const versions = (await page.locator('#definition-table tbody td .pill').allTextContents()).filter((t) => /^v\d+$/.test(t)).map((t) => Number(t.slice(1)));
  assert.ok(versions.length >= 3, `${versions}`);
  assert.deepEqual(versions, [...versions].sort((a, b) => b - a), 'versions descending');
  await page.waitForSelector('#definition-table ~ .pager [data-range]');

  // The tasklist pages my tasks on the server: 21 assigned, 20 on the first page.
  const review = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_review" targetNamespace="http://baton.example/cockpit">
  <bpmn:process id="review" isExecutable="true" camunda:historyTimeToLive="30">
    <bpmn:startEvent id="s" /><bpmn:sequenceFlow id="r1" sourceRef="s" targetRef="check" />
    <bpmn:userTask id="check" name="Check" camunda:assignee="pia" /><bpmn:sequenceFlow id="r2" sourceRef="check" targetRef="e" />
    <bpmn:endEvent id="e" />
  </bpmn:process>
</bpmn:definitions>`;
  const form = new FormData();
  form.append('deployment-name', 'review');
  form.append('data', new Blob([review]), 'review.bpmn');
  assert.equal((await fetch(`${base}/engine-rest/deployment/create`, { method: 'POST', body: form })).status, 200);
  await rest('POST', '/user/create', { profile: { id: 'pia', firstName: 'Pia' }, credentials: { password: 'pia' } });
  for (let i = 0; i < 21; i++) await rest('POST', '/process-definition/key/review/start', { businessKey: `review-${i}` });
  await page.goto(`${base}/#/tasks?user=pia`);
  await page.waitForSelector('.section-title >> text=Assigned to me (21)');
  assert.equal(await page.locator('.tasklist ul.tasks').first().locator('li').count(), 20);
  await page.click('.tasklist .pager button[data-next]');
  await page.waitForSelector('.tasklist .pager [data-range] >> text=21–21 of 21');
  assert.equal(await page.locator('.tasklist ul.tasks').first().locator('li').count(), 1);
  assert.deepEqual(opsErrors, [], 'no page errors');
  await page.close();
});
