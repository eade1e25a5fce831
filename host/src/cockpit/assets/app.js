// baton cockpit: two small vanilla ES modules (this one: helpers, pages, router; ops.js:
// incidents, paged tables, heatmap, modification, migration, batches), hash routes, no
// dependencies. Reads /cockpit/api/* (aggregated views) and /engine-rest/* (Camunda REST,
// every change), refreshes on /engine-rest/events (server-sent events).

import { incidentsPage, externalTasksPage, migratePage, batchesPage, paintHeat, heatLegend, suspendButton, modificationCard,
  bulkBar, instanceSel, selectCell, selectAllTh, sortTh, pager, pageParams, goWith } from './ops.js';

const REST = '/engine-rest';
const app = document.getElementById('app');

// ---------------------------------------------------------------- helpers

/** Build a DOM element: h('a', {href: '#'}, 'text', child...). Text is never parsed as HTML. */
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

async function http(method, url, body) {
  const opts = { method, headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(url, opts);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) throw new Error((data && data.message) || `${method} ${url}: ${r.status}`);
  return data;
}
const get = (url) => http('GET', url);
const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v != null) s.set(k, v);
  const t = s.toString();
  return t ? `?${t}` : '';
};
const enc = encodeURIComponent;

function toast(msg, bad) {
  const t = h('div', { class: bad ? 'bad' : '' }, msg);
  document.getElementById('toast').append(t);
  setTimeout(() => t.remove(), bad ? 6000 : 2000);
}

async function act(label, fn) {
  try { await fn(); toast(label); render(); } catch (e) { toast(e.message, true); }
}

/** Camunda dates ("2024-01-31T10:00:00.000+0000") and epoch ms both become Date. */
function date(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return new Date(v);
  return new Date(String(v).replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
}
function fmt(v) {
  const d = date(v);
  if (!d || isNaN(d)) return '—';
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}
function ago(v) {
  const d = date(v);
  if (!d) return '';
  const s = Math.round((Date.now() - d) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
function dur(ms) {
  if (ms == null) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}
const short = (id) => (id && id.length > 13 ? id.slice(0, 8) + '…' : id || '');
function stateBadge(state) {
  const cls = { ACTIVE: 'run', COMPLETED: 'ok', SUSPENDED: 'warn', EXTERNALLY_TERMINATED: 'bad', INTERNALLY_TERMINATED: 'bad' }[state] || '';
  const label = { ACTIVE: 'running', COMPLETED: 'completed', SUSPENDED: 'suspended', EXTERNALLY_TERMINATED: 'canceled', INTERNALLY_TERMINATED: 'terminated' }[state] || state;
  return h('span', { class: `pill ${cls}` }, label);
}
const countCell = (n, bad) => h('td', { class: 'num' }, n ? h('span', { class: bad ? 'count-bad' : '' }, n) : h('span', { class: 'zero' }, '0'));
function pageHead(title, sub, actions, crumbs) {
  return h('div', { class: 'pagehead' },
    h('div', {}, crumbs ? h('div', { class: 'crumbs' }, crumbs) : null, h('h1', {}, title), sub ? h('div', { class: 'sub' }, sub) : null),
    actions ? h('div', { class: 'actions' }, actions) : null);
}

// ---------------------------------------------------------------- diagram

const svgNS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const el = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}
const svgCache = new Map();
async function diagram(definitionId) {
  let text = svgCache.get(definitionId);
  if (!text) {
    const r = await fetch(`/cockpit/api/definition/${enc(definitionId)}/diagram.svg`);
    if (!r.ok) return h('div', { class: 'empty' }, 'This model has no diagram (no BPMNDI).');
    text = await r.text();
    svgCache.set(definitionId, text);
  }
  const box = h('div', { class: 'diagram' });
  box.innerHTML = text; // server-rendered, every text node escaped by the renderer
  return box;
}
function badge(layer, x, y, n, color, title) {
  const label = String(n);
  const w = Math.max(20, 8 + label.length * 7);
  const g = s('g', { class: 'badge' });
  g.append(s('title', {}, title));
  g.append(s('rect', { x: x, y: y, width: w, height: 18, rx: 9, fill: color }));
  g.append(s('text', { x: x + w / 2, y: y + 13, 'text-anchor': 'middle' }, label));
  layer.append(g);
}
/** Paint tokens/incidents badges and state classes on a rendered diagram. */
function paint(box, { tokens = {}, incidents = {}, active = {}, completed = [], flows = [] }) {
  const svg = box.querySelector('svg');
  if (!svg) return;
  const layer = svg.querySelector('g.overlays');
  layer.replaceChildren();
  for (const el of svg.querySelectorAll('.el')) el.classList.remove('active', 'done', 'incident', 'taken');
  const find = (id) => svg.querySelector(`[data-element-id="${CSS.escape(id)}"]`);
  for (const id of completed) find(id)?.classList.add('done');
  for (const id of flows) find(id)?.classList.add('taken');
  for (const id of Object.keys(active)) { const el = find(id); el?.classList.remove('done'); el?.classList.add('active'); }
  for (const id of Object.keys(incidents)) find(id)?.classList.add('incident');
  const bounds = (el) => el.getAttribute('data-bounds').split(',').map(Number);
  for (const [id, n] of Object.entries(tokens)) {
    const el = find(id); if (!el || !n) continue;
    const [x, y, , hgt] = bounds(el);
    badge(layer, x - 8, y + hgt - 10, n, '#2563eb', `${n} running`);
  }
  for (const [id, n] of Object.entries(incidents)) {
    const el = find(id); if (!el || !n) continue;
    const [x, y, w, hgt] = bounds(el);
    badge(layer, x + w - 12, y + hgt - 10, n, '#dc2626', `${n} incident(s)`);
  }
}
function legend() {
  return h('div', { class: 'legend' }, h('span', {}, h('i', { class: 'l-active' }), 'active token'),
    h('span', {}, h('i', { class: 'l-done' }), 'completed'), h('span', {}, h('i', { class: 'l-inc' }), 'incident'));
}

// ---------------------------------------------------------------- pages

async function dashboard(params) {
  const sort = { sortBy: params.get('sortBy') || 'key', sortOrder: params.get('sortOrder') || 'asc' };
  const o = await get(`/cockpit/api/overview${q({ ...sort, ...pageParams(params) })}`);
  const t = o.totals;
  const stat = (n, label, bad) => h('div', { class: `stat ${bad && n ? 'bad' : ''}` }, h('b', {}, n), h('span', {}, label));
  const rows = o.definitions.map((d) => h('tr', {},
    h('td', {}, h('a', { href: `#/definition/${enc(d.id)}` }, d.name || d.key), h('div', { class: 'muted mono' }, d.key)),
    h('td', {}, h('span', { class: 'pill' }, `v${d.version}`), d.versionTag ? h('span', { class: 'muted' }, ` ${d.versionTag}`) : null,
      d.suspended ? h('span', { class: 'pill warn' }, ' suspended') : null),
    countCell(d.running), countCell(d.incidents, true), countCell(d.userTasks),
    h('td', { class: 'muted' }, fmt(d.deployedAt))));
  const feed = h('ul', { class: 'feed', id: 'feed' }, recent.length ? recent.map(feedItem) : h('li', { class: 'muted' }, 'Waiting for engine events…'));
  return [
    pageHead('Processes', [h('span', {}, `${o.definitionCount} definition version(s)`), h('span', {}, `${t.started} started, ${t.completed} completed since start`)]),
    h('div', { class: 'stats' }, stat(t.running, 'Running instances'), stat(t.incidents, 'Open incidents', true),
      stat(t.userTasks, 'Open user tasks'), stat(t.externalTasks, 'Open external tasks')),
    h('div', { class: 'grid2', style: 'grid-template-columns: 2fr 1fr' },
      h('div', { class: 'card flush' }, h('h2', {}, 'Deployed process definitions'),
        o.definitionCount
          ? [h('table', { id: 'definition-table' }, h('thead', {}, h('tr', {}, sortTh('Process', 'key', params, 'asc'), sortTh('Version', 'version', params), sortTh('Running', 'running', params, 'desc', 'num'),
            sortTh('Incidents', 'incidents', params, 'desc', 'num'), h('th', { class: 'num' }, 'User tasks'), sortTh('Deployed', 'deployedAt', params))), h('tbody', {}, rows)), pager(o.definitionCount, params)]
          : h('div', { class: 'empty' }, 'Nothing deployed yet. POST a BPMN file to /engine-rest/deployment/create.')),
      h('div', { class: 'card' }, h('h2', {}, 'Live events'), feed)),
  ];
}

async function definitionPage(id, params) {
  const [defs, heat, dg] = await Promise.all([get('/cockpit/api/overview'), get(`/cockpit/api/definition/${enc(id)}/heatmap`), diagram(id)]);
  const d = defs.definitions.find((x) => x.id === id);
  if (!d) return h('div', { class: 'empty' }, `No process definition ${id}.`);
  paintHeat(dg, heat);
  const versions = defs.definitions.filter((x) => x.key === d.key);
  const f = { state: params.get('state') || 'running', businessKey: params.get('businessKey') || '', variable: params.get('variable') || '', value: params.get('value') || '' };
  const sort = { sortBy: params.get('sortBy') || 'startTime', sortOrder: params.get('sortOrder') || 'desc' };
  const list = await get(`/cockpit/api/definition/${enc(id)}/instances${q({ ...f, ...sort, ...pageParams(params) })}`);
  const form = h('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    const fd = new FormData(e.target);
    location.hash = `#/definition/${enc(id)}${q(Object.fromEntries(fd))}`;
  } },
    h('label', {}, 'State', h('select', { name: 'state' }, ['running', 'completed', 'canceled', 'all'].map((v) => h('option', { value: v, selected: v === f.state }, v)))),
    h('label', {}, 'Business key', h('input', { name: 'businessKey', value: f.businessKey, placeholder: 'contains…' })),
    h('label', {}, 'Variable', h('input', { name: 'variable', value: f.variable, placeholder: 'name', size: 12 })),
    h('label', {}, 'Value', h('input', { name: 'value', value: f.value, placeholder: 'equals…', size: 12 })),
    h('button', { class: 'primary', type: 'submit' }, 'Filter'));
  const redraw = {};
  const running = list.items.filter((i) => !i.endTime).map((i) => i.id);
  for (const sel of [...instanceSel]) if (!running.includes(sel)) instanceSel.delete(sel);
  const rows = list.items.map((i) => h('tr', { 'data-instance': i.id },
    i.endTime ? h('td', {}) : selectCell(instanceSel, i.id, () => redraw.fn?.()),
    h('td', {}, h('a', { href: `#/instance/${enc(i.id)}`, class: 'mono' }, i.id)),
    h('td', {}, i.businessKey || h('span', { class: 'zero' }, '—')), h('td', {}, stateBadge(i.state)),
    h('td', { class: 'muted' }, fmt(i.startTime)), h('td', { class: 'muted' }, i.endTime ? fmt(i.endTime) : ''),
    h('td', { class: 'mono' }, i.endActivityId || ''), countCell(i.incidents, true)));
  return [
    pageHead(d.name || d.key, [h('span', { class: 'mono' }, d.key), h('span', {}, `version ${d.version}`), h('span', {}, `${d.running} running`), h('span', {}, `${d.incidents} incident(s)`),
      d.suspended ? h('span', { class: 'pill warn' }, 'suspended') : null],
      [versions.length > 1 ? h('select', { onchange: (e) => { location.hash = `#/definition/${enc(e.target.value)}`; } },
        versions.map((v) => h('option', { value: v.id, selected: v.id === id }, `version ${v.version}`))) : null, suspendButton('definition', id, d.suspended)],
      h('a', { href: '#/' }, 'Processes')),
    h('div', { class: 'card' }, dg, heatLegend()),
    h('div', { class: 'card flush' }, h('h2', {}, `Instances (${list.total})`), form, bulkBar(id, versions, redraw),
      list.items.length ? h('table', { id: 'instance-table' }, h('thead', {}, h('tr', {}, selectAllTh(instanceSel, running, () => redraw.fn?.()), sortTh('Instance', 'id', params),
        sortTh('Business key', 'businessKey', params), sortTh('State', 'state', params), sortTh('Started', 'startTime', params), sortTh('Ended', 'endTime', params),
        h('th', {}, 'End event'), h('th', { class: 'num' }, 'Incidents'))), h('tbody', {}, rows))
        : h('div', { class: 'empty' }, 'No instance matches.'),
      pager(list.total, params)),
  ];
}

function treeNode(n) {
  const kids = n.childActivityInstances || [];
  return h('li', {}, h('span', { class: 'node' }, h('b', {}, n.activityName || n.activityId), h('span', { class: 'type' }, n.activityType)),
    kids.length ? h('ul', { class: 'tree' }, kids.map(treeNode)) : null);
}

function valueText(v) {
  if (v.value === null || v.value === undefined) return 'null';
  if (typeof v.value === 'object') return JSON.stringify(v.value);
  return String(v.value);
}
const VAR_TYPES = ['String', 'Integer', 'Long', 'Double', 'Boolean', 'Date', 'Json', 'Null'];
function parseTyped(type, raw) {
  switch (type) {
    case 'Integer': case 'Long': { const n = Number(raw); if (!Number.isInteger(n)) throw new Error(`${raw} is not an integer`); return n; }
    case 'Double': { const n = Number(raw); if (Number.isNaN(n)) throw new Error(`${raw} is not a number`); return n; }
    case 'Boolean': if (raw !== 'true' && raw !== 'false') throw new Error('Boolean is true or false'); return raw === 'true';
    case 'Null': return null;
    case 'Json': JSON.parse(raw); return raw;
    default: return raw;
  }
}

function variablesCard(vars, save, title = 'Variables') {
  const rows = Object.entries(vars).sort(([a], [b]) => a.localeCompare(b)).map(([name, v]) => {
    const tr = h('tr', {});
    const show = () => tr.replaceChildren(h('td', {}, name), h('td', {}, h('span', { class: 'pill' }, v.type)),
      h('td', { class: 'val' }, valueText(v)), h('td', { class: 'num' }, save ? h('button', { class: 'small', onclick: edit }, 'Edit') : null));
    const edit = () => {
      const typeSel = h('select', {}, VAR_TYPES.map((t) => h('option', { selected: t === v.type }, t)));
      const input = h('input', { value: valueText(v), style: 'width:100%' });
      tr.replaceChildren(h('td', {}, name), h('td', {}, typeSel), h('td', {}, input),
        h('td', { class: 'num' }, h('div', { class: 'row', style: 'justify-content:flex-end' },
          h('button', { class: 'small primary', onclick: () => act(`Saved ${name}`, () => save(name, typeSel.value, parseTyped(typeSel.value, input.value))) }, 'Save'),
          h('button', { class: 'small', onclick: show }, 'Cancel'))));
      input.focus();
    };
    show();
    return tr;
  });
  const add = save ? h('form', { class: 'filters', style: 'padding-top:12px', onsubmit: (e) => {
    e.preventDefault();
    const fd = new FormData(e.target);
    const name = fd.get('name');
    act(`Added ${name}`, () => save(name, fd.get('type'), parseTyped(fd.get('type'), fd.get('value'))));
  } }, h('input', { name: 'name', placeholder: 'new variable', required: true, size: 12 }),
  h('select', { name: 'type' }, VAR_TYPES.map((t) => h('option', {}, t))), h('input', { name: 'value', placeholder: 'value', size: 14 }),
  h('button', { type: 'submit' }, 'Add')) : null;
  return h('div', { class: 'card flush', id: 'variables' }, h('h2', {}, title),
    rows.length ? h('table', { class: 'kv' }, h('tbody', {}, rows)) : h('div', { class: 'empty' }, 'No variables.'), add);
}

let firstRenderMarked = false;
async function instancePage(id) {
  const st = await get(`/cockpit/api/instance/${enc(id)}/state`);
  const running = !st.endTime;
  const [dg, tree, vars, hist, incidents, decided] = await Promise.all([
    diagram(st.definitionId),
    running ? get(`${REST}/process-instance/${enc(id)}/activity-instances`).catch(() => null) : null,
    running ? get(`${REST}/process-instance/${enc(id)}/variables`).catch(() => ({})) : Promise.resolve(null),
    get(`${REST}/history/activity-instance${q({ processInstanceId: id, sortBy: 'startTime', sortOrder: 'asc' })}`).catch(() => []),
    get(`${REST}/incident${q({ processInstanceId: id })}`).catch(() => []),
    decisionsCard(id),
  ]);
  paint(dg, { tokens: st.active, active: st.active, completed: st.completed, flows: st.flows, incidents: st.incidents });
  if (st.endActivityId) dg.querySelector(`[data-element-id="${CSS.escape(st.endActivityId)}"]`)?.classList.add('end-reached');
  const modify = running ? modificationCard(dg, id, st.active, tree) : null;
  let histVars = null;
  if (!running) {
    histVars = {};
    for (const v of await get(`${REST}/history/variable-instance${q({ processInstanceId: id })}`).catch(() => [])) histVars[v.name] = v;
  }
  const inc = incidents.length ? incidents.map((i) => h('div', { class: 'incident', 'data-incident': i.id },
    h('div', { class: 'msg' }, h('b', {}, i.incidentType), ' at ', h('span', { class: 'mono' }, i.activityId), h('div', {}, i.incidentMessage || '(no message)'),
      h('div', { class: 'muted' }, fmt(i.incidentTimestamp))),
    i.incidentType === 'failedExternalTask' && i.configuration
      ? h('button', { class: 'primary', onclick: () => act('Retry scheduled', () => http('PUT', `${REST}/external-task/${enc(i.configuration)}/retries`, { retries: 1 })) }, 'Retry')
      : h('button', { onclick: () => act('Incident resolved', () => http('DELETE', `${REST}/incident/${enc(i.id)}`)) }, 'Resolve')))
    : h('div', { class: 'muted' }, 'No open incidents.');
  const timeline = hist.length ? h('ul', { class: 'timeline' }, hist.map((a) => h('li', {},
    h('span', { class: 'when' }, fmt(a.startTime)), h('i', { class: `dot ${a.endTime ? (a.canceled ? 'cx' : '') : 'run'}` }),
    h('span', {}, h('b', {}, a.activityName || a.activityId), ' ', h('span', { class: 'muted' }, a.activityType), a.canceled ? h('span', { class: 'pill' }, ' canceled') : null),
    h('span', { class: 'muted' }, a.endTime ? dur(a.durationInMillis ?? (date(a.endTime) - date(a.startTime))) : h('span', { class: 'pill run' }, 'active')))))
    : h('div', { class: 'muted' }, 'No history.');
  const cancel = running ? h('button', { class: 'danger', onclick: () => {
    if (confirm('Cancel this process instance?')) act('Instance canceled', () => http('DELETE', `${REST}/process-instance/${enc(id)}`));
  } }, 'Cancel instance') : null;
  const save = running ? (name, type, value) => http('PUT', `${REST}/process-instance/${enc(id)}/variables/${enc(name)}`, { value, type }) : null;
  const out = [
    pageHead(st.definitionName || st.definitionKey, [h('span', { class: 'mono' }, id), st.businessKey ? h('span', {}, `business key ${st.businessKey}`) : null,
      h('span', {}, `started ${fmt(st.startTime)}`), st.endTime ? h('span', {}, `ended ${fmt(st.endTime)}`) : null,
      st.endActivityId ? h('span', { id: 'end-event' }, `reached end event ${st.endActivityId}`) : null],
    [st.suspended ? h('span', { class: 'pill warn' }, 'suspended') : stateBadge(st.state), running ? suspendButton('instance', id, st.suspended) : null, cancel],
    [h('a', { href: '#/' }, 'Processes'), ' / ', h('a', { href: `#/definition/${enc(st.definitionId)}` }, st.definitionName || st.definitionKey), ' / instance']),
    h('div', { class: 'card', id: 'diagram-card' }, dg, legend()),
    modify,
    h('div', { class: 'grid2' },
      h('div', { class: 'stack' },
        h('div', { class: 'card', id: 'incidents' }, h('h2', {}, `Incidents (${incidents.length})`), inc),
        h('div', { class: 'card' }, h('h2', {}, 'Activity instances'), tree ? h('ul', { class: 'tree root' }, treeNode(tree)) : h('div', { class: 'muted' }, 'The instance has ended.'))),
      h('div', { class: 'stack' }, variablesCard(vars || histVars || {}, save, running ? 'Variables' : 'Variables (final)'),
        decided,
        h('div', { class: 'card' }, h('h2', {}, 'Timeline'), timeline))),
  ];
  if (!firstRenderMarked) {
    firstRenderMarked = true;
    requestAnimationFrame(() => performance.mark('baton:instance-rendered'));
  }
  return out;
}

// ---------------------------------------------------------------- decisions

async function decisionsPage() {
  const list = await get('/cockpit/api/decisions');
  const rows = list.map((d) => h('tr', {},
    h('td', {}, h('a', { href: `#/decision/${enc(d.id)}` }, d.name || d.key), h('div', { class: 'muted mono' }, d.key)),
    h('td', {}, h('span', { class: 'pill' }, `v${d.version}`)), h('td', { class: 'muted' }, d.resource)));
  return [pageHead('Decisions', [h('span', {}, `${list.length} decision(s), latest versions`)]),
    h('div', { class: 'card flush' }, list.length
      ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Decision'), h('th', {}, 'Version'), h('th', {}, 'Resource'))), h('tbody', {}, rows))
      : h('div', { class: 'empty' }, 'No decisions deployed. Deploy a .dmn file with /engine-rest/deployment/create.'))];
}

/** A decision as a table; with ?instance=<historic decision instance id>, the rules it matched are marked. */
async function decisionPage(id, params) {
  const di = params.get('instance');
  const d = await get(`/cockpit/api/decision/${enc(id)}${q({ decisionInstanceId: di || undefined })}`);
  const ev = d.evaluation;
  const matched = new Set(ev ? ev.matchedRuleIds : []);
  let body;
  if (d.table) {
    const t = d.table;
    const head = h('tr', {}, h('th', { class: 'num' }, '#'),
      t.inputs.map((i) => h('th', { class: 'dmn-in' }, i.label || i.expression, h('div', { class: 'muted mono' }, i.expression, i.typeRef ? ` : ${i.typeRef}` : ''))),
      t.outputs.map((o) => h('th', { class: 'dmn-out' }, o.label || o.name, h('div', { class: 'muted mono' }, o.name, o.typeRef ? ` : ${o.typeRef}` : ''))),
      h('th', {}, 'Rule'));
    const rows = t.rules.map((r, n) => h('tr', { class: matched.has(r.id) ? 'dmn-hit' : null, 'data-rule': r.id },
      h('td', { class: 'num muted' }, n + 1), r.inputs.map((x) => h('td', { class: 'mono' }, x || '-')),
      r.outputs.map((x) => h('td', { class: 'mono' }, x)), h('td', { class: 'muted mono' }, r.id, matched.has(r.id) ? h('span', { class: 'pill run' }, ' matched') : null)));
    body = h('div', { class: 'card flush' }, h('h2', {}, `Hit policy ${t.hitPolicy.replace('_', ' ')}${t.aggregation ? ' ' + t.aggregation : ''}`),
      h('table', { class: 'dmn' }, h('thead', {}, head), h('tbody', {}, rows)));
  } else {
    body = h('div', { class: 'card' }, h('h2', {}, `Literal expression → ${d.literal.variable}`), h('pre', { class: 'mono' }, d.literal.expression));
  }
  const evCard = ev ? h('div', { class: 'card' }, h('h2', {}, `Evaluation of ${fmt(ev.evaluationTime)}`),
    h('div', {}, 'Inputs: ', ev.inputs.map((i) => h('span', { class: 'pill' }, `${i.clauseName || i.clauseId} = ${valueText(i)}`))),
    h('div', {}, 'Outputs: ', ev.outputs.map((o) => h('span', { class: 'pill' }, `${o.variableName} = ${valueText(o)}`))),
    ev.processInstanceId ? h('div', {}, h('a', { href: `#/instance/${enc(ev.processInstanceId)}` }, 'process instance')) : null) : null;
  return [pageHead(d.name || d.key, [h('span', { class: 'mono' }, d.id), h('span', {}, `version ${d.version}`),
    d.requiredDecisions.length ? h('span', {}, `requires ${d.requiredDecisions.join(', ')}`) : null], [],
    [h('a', { href: '#/decisions' }, 'Decisions'), ' / ', d.key]), evCard, body];
}

/** The decisions an instance evaluated, each linking to its table with the matched rules marked. */
async function decisionsCard(instanceId) {
  const rows = await get(`/cockpit/api/instance/${enc(instanceId)}/decisions`).catch(() => []);
  if (!rows.length) return null;
  return h('div', { class: 'card' }, h('h2', {}, `Decisions (${rows.length})`), h('ul', { class: 'timeline' }, rows.map((r) => h('li', {},
    h('span', { class: 'when' }, fmt(r.evaluationTime)),
    h('span', {}, h('a', { href: `#/decision/${enc(r.decisionDefinitionId)}?instance=${enc(r.id)}` }, r.decisionDefinitionName || r.decisionDefinitionKey),
      ' at ', h('span', { class: 'mono' }, r.activityId), ' matched ', h('span', { class: 'mono' }, r.matchedRuleIds.join(', ') || 'no rule'))))));
}

// ---------------------------------------------------------------- tasklist

function fieldInput(f) {
  const val = f.value !== null && f.value !== undefined ? f.value : f.defaultValue;
  const common = { name: f.id, id: `f-${f.id}`, required: f.required && f.type !== 'boolean', disabled: f.readonly };
  switch (f.type) {
    case 'boolean': return h('input', { ...common, type: 'checkbox', checked: val === true || val === 'true' });
    case 'long': return h('input', { ...common, type: 'number', step: '1', value: val ?? '' });
    case 'date': return h('input', { ...common, type: 'date', value: val ? String(val).slice(0, 10) : '' });
    case 'enum': return h('select', common, f.required ? null : h('option', { value: '' }, '—'),
      f.enumValues.map((e) => h('option', { value: e.id, selected: e.id === val }, e.name || e.id)));
    default: return h('input', { ...common, type: 'text', value: val ?? '' });
  }
}
function formValues(form, fields) {
  const vars = {};
  for (const f of fields) {
    if (f.readonly) continue;
    const el = form.elements[f.id];
    if (f.type === 'boolean') vars[f.id] = { value: el.checked, type: 'Boolean' };
    else if (el.value === '') continue;
    else if (f.type === 'long') vars[f.id] = { value: Number(el.value), type: 'Long' };
    else if (f.type === 'date') vars[f.id] = { value: `${el.value}T00:00:00.000+0000`, type: 'Date' };
    else vars[f.id] = { value: el.value, type: 'String' };
  }
  return vars;
}

async function taskPanel(task, user) {
  const form = await get(`/cockpit/api/task/${enc(task.id)}/form`);
  const mine = task.assignee === user;
  const claim = task.assignee
    ? (mine ? h('button', { onclick: () => act('Unclaimed', () => http('POST', `${REST}/task/${enc(task.id)}/unclaim`, {})) }, 'Unclaim') : h('span', { class: 'pill warn' }, `assigned to ${task.assignee}`))
    : h('button', { class: 'primary', onclick: () => act('Claimed', () => http('POST', `${REST}/task/${enc(task.id)}/claim`, { userId: user })) }, 'Claim');
  const done = async (variables) => {
    await http('POST', `${REST}/task/${enc(task.id)}/complete`, { variables });
    toast(`Completed “${task.name || task.taskDefinitionKey}”`);
    selectedTask = null;
    render();
  };
  let body;
  if (form.fields.length) {
    const f = h('form', { class: 'gen', id: 'task-form', onsubmit: (e) => { e.preventDefault(); done(formValues(e.target, form.fields)).catch((x) => toast(x.message, true)); } },
      form.fields.map((fd) => fd.type === 'boolean'
        ? h('label', { class: 'field check', for: `f-${fd.id}` }, fieldInput(fd), h('span', {}, fd.label || fd.id, fd.required ? h('span', { class: 'req' }, '*') : null))
        : h('label', { class: 'field', for: `f-${fd.id}` }, h('span', {}, fd.label || fd.id, fd.required ? h('span', { class: 'req' }, '*') : null, ' ', h('span', { class: 'hint' }, fd.type)), fieldInput(fd))),
      h('div', { class: 'row' }, h('button', { class: 'primary', type: 'submit', disabled: !mine, title: mine ? '' : 'Claim the task first' }, 'Complete'),
        mine ? null : h('span', { class: 'muted' }, 'Claim the task to complete it.')));
    body = f;
  } else {
    const vars = await get(`${REST}/task/${enc(task.id)}/variables`).catch(() => ({}));
    const pending = {};
    body = h('div', {}, variablesCard(vars, async (name, type, value) => { pending[name] = { value, type }; vars[name] = { value, type }; }, 'Variables to complete with'),
      h('button', { class: 'primary', disabled: !mine, onclick: () => done(pending).catch((x) => toast(x.message, true)) }, 'Complete'));
  }
  return h('div', { class: 'card', id: 'task-panel' },
    h('div', { class: 'pagehead', style: 'margin-bottom:14px' }, h('div', {}, h('h1', {}, task.name || task.taskDefinitionKey),
      h('div', { class: 'sub' }, h('a', { href: `#/instance/${enc(task.processInstanceId)}` }, form.processDefinitionName),
        form.businessKey ? h('span', {}, `business key ${form.businessKey}`) : null, h('span', {}, `created ${ago(task.created)}`),
        task.candidateGroups?.length ? h('span', {}, `groups: ${task.candidateGroups.join(', ')}`) : null)),
      h('div', { class: 'actions' }, claim)),
    body);
}

let selectedTask = null;
async function tasklist(params) {
  const users = await get(`${REST}/user`).catch(() => []);
  const user = params.get('user') || localStorage.getItem('baton.user') || (users[0] && users[0].id) || '';
  if (user) localStorage.setItem('baton.user', user);
  const picker = h('select', { id: 'user', onchange: (e) => { location.hash = `#/tasks?user=${enc(e.target.value)}`; } },
    users.length ? users.map((u) => h('option', { value: u.id, selected: u.id === user }, [u.firstName, u.lastName].filter(Boolean).join(' ') || u.id)) : h('option', {}, 'no users'));
  if (!user) return [pageHead('Tasklist', null, picker), h('div', { class: 'card empty' }, 'Create users and groups (POST /engine-rest/user/create, /group/create) to use the tasklist.')];
  const [groups, overview] = await Promise.all([get(`${REST}/group${q({ member: user })}`).catch(() => []), get('/cockpit/api/overview')]);
  const defName = Object.fromEntries(overview.definitions.map((d) => [d.id, d.name || d.key]));
  // My tasks are paged on the server; the claimable ones are capped at 100 per query.
  const [mineCount, mine, ...byGroup] = await Promise.all([
    get(`${REST}/task/count${q({ assignee: user })}`),
    get(`${REST}/task${q({ assignee: user, sortBy: 'created', sortOrder: 'desc', ...pageParams(params) })}`),
    get(`${REST}/task${q({ candidateUser: user, unassigned: true, maxResults: 100 })}`).catch(() => []),
    ...groups.map((g) => get(`${REST}/task${q({ candidateGroup: g.id, unassigned: true, maxResults: 100 })}`).catch(() => [])),
  ]);
  const seen = new Set(mine.map((t) => t.id));
  const group = [];
  for (const t of byGroup.flat()) if (!seen.has(t.id) && !t.assignee) { seen.add(t.id); group.push(t); }
  const all = [...mine, ...group];
  if (selectedTask && !all.some((t) => t.id === selectedTask)) selectedTask = null;
  if (!selectedTask && params.get('task') && all.some((t) => t.id === params.get('task'))) selectedTask = params.get('task');
  const item = (t) => h('li', { class: t.id === selectedTask ? 'sel' : '', 'data-task': t.id, onclick: () => { selectedTask = t.id; render(); } },
    h('div', { class: 't-name' }, t.name || t.taskDefinitionKey), h('div', { class: 't-meta' }, `${defName[t.processDefinitionId] || ''} · ${ago(t.created)}${t.priority != null ? ' · priority ' + t.priority : ''}`));
  const sel = all.find((t) => t.id === selectedTask);
  const panel = sel ? await taskPanel(sel, user) : h('div', { class: 'card empty' }, all.length ? 'Select a task.' : 'No tasks for you right now.');
  return [
    pageHead('Tasklist', [h('span', {}, `working as ${user}`), h('span', {}, groups.length ? `groups: ${groups.map((g) => g.name || g.id).join(', ')}` : 'no groups')], h('label', { class: 'row' }, 'User ', picker)),
    h('div', { class: 'tasklist' },
      h('div', { class: 'card flush' },
        h('div', { class: 'section-title' }, `Assigned to me (${mineCount.count})`), mine.length ? h('ul', { class: 'tasks' }, mine.map(item)) : h('div', { class: 'pad muted' }, 'None.'),
        mineCount.count > mine.length ? pager(mineCount.count, params) : null,
        h('div', { class: 'section-title' }, `Claimable by my groups (${group.length})`), group.length ? h('ul', { class: 'tasks', id: 'group-tasks' }, group.map(item)) : h('div', { class: 'pad muted' }, 'None.')),
      panel),
  ];
}

// ---------------------------------------------------------------- topics

function spark(samples) {
  if (!samples.length) return null;
  const last = samples.slice(-40); const max = Math.max(...last, 1);
  const svg = s('svg', { class: 'spark', width: last.length * 4, height: 24, viewBox: `0 0 ${last.length * 4} 24` });
  last.forEach((v, i) => { const hgt = Math.max(1, (v / max) * 24); svg.append(s('rect', { x: i * 4, y: 24 - hgt, width: 3, height: hgt })); });
  return svg;
}
async function topicsPage() {
  const topics = await get('/cockpit/api/topics');
  const cards = topics.map((t) => {
    const wasm = !!t.module;
    const sorted = [...t.recentWasmMicros].sort((a, b) => a - b);
    const pct = (p) => (sorted.length ? `${(sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))] / 1000).toFixed(1)} ms` : '—');
    let alert = null;
    if (!wasm && t.waiting > 0 && t.locked === 0) alert = h('div', { class: 'alert' }, h('b', {}, 'No worker is working on this topic. '), `${t.waiting} task(s) waiting`, t.oldestWaiting ? `, the oldest since ${ago(t.oldestWaiting)}` : '', '. Start an external-task worker for ', h('code', {}, t.topic), ' or bind a wasm component to it.');
    if (t.failed > 0) alert = [alert, h('div', { class: 'alert bad' }, `${t.failed} task(s) out of retries with an incident.`)];
    const rows = t.tasks.map((x) => h('tr', {},
      h('td', {}, h('span', { class: 'mono' }, short(x.id))), h('td', {}, h('a', { href: `#/instance/${enc(x.processInstanceId)}`, class: 'mono' }, short(x.processInstanceId)),
        x.businessKey ? h('div', { 'data-business-key': '' }, x.businessKey) : null, h('div', { class: 'muted mono' }, `${x.processDefinitionKey} · ${x.activityId}`)),
      h('td', {}, x.retries === 0 ? h('span', { class: 'pill bad' }, 'failed') : x.locked ? h('span', { class: 'pill run' }, 'locked') : h('span', { class: 'pill warn' }, 'waiting')),
      h('td', {}, x.locked ? [h('span', { class: 'mono' }, x.workerId), h('div', { class: 'muted' }, `until ${fmt(x.lockExpirationTime)}`)] : h('span', { class: 'zero' }, '—')),
      h('td', { class: 'num' }, x.retries ?? h('span', { class: 'zero' }, '—')),
      h('td', {}, x.errorMessage ? h('span', { class: 'count-bad' }, x.errorMessage) : '', x.errorMessage ? h('details', { class: 'details', ontoggle: async (e) => {
        if (e.target.open) e.target.querySelector('pre').textContent = await fetch(`${REST}/external-task/${enc(x.id)}/errorDetails`).then((r) => (r.ok ? r.text() : '')) || 'No details recorded.';
      } }, h('summary', {}, 'error details'), h('pre', { class: 'stack' }, '…')) : null),
      h('td', { class: 'num' }, x.retries === 0 ? h('button', { class: 'small primary', onclick: () => act('Retry scheduled', () => http('PUT', `${REST}/external-task/${enc(x.id)}/retries`, { retries: 1 })) }, 'Retry') : null)));
    return h('div', { class: 'card topic', 'data-topic': t.topic },
      h('header', {}, h('h2', {}, t.topic), h('a', { href: `#/external-tasks?topic=${enc(t.topic)}`, 'data-all-tasks': '' }, 'all tasks, paged'), wasm ? h('span', { class: 'pill ok' }, 'wasm component (in engine)') : h('span', { class: 'pill warn' }, 'remote workers'),
        h('div', { class: 'nums' }, [['waiting', t.waiting], ['locked', t.locked], ['incidents', t.incidents], ['created', t.created], ['completed', t.completed]]
          .map(([l, n]) => h('div', {}, h('b', { class: l === 'incidents' && n ? 'count-bad' : '' }, n), h('span', {}, l))))),
      wasm ? h('div', { class: 'module' },
        h('div', {}, h('span', {}, 'sha256'), h('code', { title: t.module.sha256 }, t.module.sha256.slice(0, 16) + '…')),
        h('div', {}, h('span', {}, 'size'), `${(t.module.size / 1024).toFixed(0)} KiB`),
        h('div', {}, h('span', {}, 'limits'), `fuel ${t.module.limits.fuel ?? 'default'} · ${t.module.limits.timeoutMs ? t.module.limits.timeoutMs + ' ms' : 'default time'} · ${t.module.limits.memoryBytes ? (t.module.limits.memoryBytes / 1048576).toFixed(0) + ' MiB' : 'default memory'}`),
        h('div', {}, h('span', {}, `recent runs (${sorted.length})`), `p50 ${pct(0.5)} · p90 ${pct(0.9)} · max ${pct(1)}`),
        h('div', {}, spark(t.recentWasmMicros))) : null,
      alert,
      t.tasks.length ? h('table', { style: 'margin-top:8px' }, h('thead', {}, h('tr', {}, h('th', {}, 'Task'), h('th', {}, 'Instance / business key'), h('th', {}, 'State'),
        h('th', {}, 'Lock owner'), h('th', { class: 'num' }, 'Retries'), h('th', {}, 'Last error'), h('th', {}))), h('tbody', {}, rows))
        : h('div', { class: 'pad muted' }, 'No open tasks.'));
  });
  return [pageHead('External tasks & modules', [h('span', {}, `${topics.length} topic(s)`), h('span', {}, 'topics with a wasm component run in the engine; the others wait for remote workers (fetchAndLock)')]),
    cards.length ? cards : h('div', { class: 'card empty' }, 'No external-task topics yet.')];
}

// ---------------------------------------------------------------- notifications

const deliveryPill = (st) => h('span', { class: `pill ${st === 'delivered' ? 'ok' : st === 'failed' ? 'bad' : 'warn'}` }, st);
async function notificationsPage() {
  const rules = await get(`${REST}/notification-rule`);
  const cards = await Promise.all(rules.map(async (r) => {
    const deliveries = await get(`${REST}/notification-rule/${enc(r.id)}/delivery?maxResults=10`);
    const filters = [r.incidentType, r.processDefinitionKey, r.activityId, r.topic].filter(Boolean).join(' · ');
    const test = () => act('Test notification sent', async () => {
      const o = await http('POST', `${REST}/notification-rule/${enc(r.id)}/test`, {});
      if (!o.delivered) throw new Error(`Test notification not delivered: ${o.error || o.statusCode}`);
    });
    const rows = deliveries.map((d) => h('tr', {},
      h('td', {}, fmt(d.created)), h('td', {}, d.event, d.summary ? h('span', { class: 'muted' }, ' (summary)') : ''),
      h('td', {}, d.processInstanceId ? h('a', { href: `#/instance/${enc(d.processInstanceId)}`, class: 'mono' }, short(d.processInstanceId)) : d.groupKey),
      h('td', { class: 'num' }, d.count), h('td', {}, deliveryPill(d.status)), h('td', { class: 'num' }, d.attempts),
      h('td', {}, d.nextRetry ? fmt(d.nextRetry) : h('span', { class: 'zero' }, '—')),
      h('td', {}, d.lastError ? h('span', { class: 'count-bad' }, d.lastError) : (d.lastStatus ?? ''))));
    // The secret is write-only: the API only says whether one is set.
    return h('div', { class: 'card rule', 'data-rule': r.id },
      h('header', {}, h('h2', {}, r.name), h('span', { class: `pill ${r.enabled ? 'ok' : 'warn'}` }, r.enabled ? 'enabled' : 'disabled'),
        h('span', { class: 'muted mono' }, r.condition, filters ? ` (${filters})` : ''),
        h('button', { class: 'small primary', onclick: test }, 'Send test')),
      h('div', { class: 'muted' }, r.destination === 'webhook' ? ['webhook ', h('code', {}, r.url), r.secretSet ? ' · signed (HMAC-SHA256)' : ' · unsigned']
        : [`BPMN ${r.destination} `, h('code', {}, r.messageName || r.signalName)], ` · one notification per ${r.windowSeconds} s per key, with a count`),
      deliveries.length ? h('table', { style: 'margin-top:8px' }, h('thead', {}, h('tr', {}, h('th', {}, 'When'), h('th', {}, 'Event'), h('th', {}, 'Instance / key'),
        h('th', { class: 'num' }, 'Count'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Attempts'), h('th', {}, 'Next retry'), h('th', {}, 'Last answer'))), h('tbody', {}, rows))
        : h('div', { class: 'pad muted' }, 'No deliveries yet.'));
  }));
  return [pageHead('Notifications', [h('span', {}, `${rules.length} rule(s)`), h('span', {}, 'rules are managed through /engine-rest/notification-rule, the config file or `baton notify`')]),
    cards.length ? cards : h('div', { class: 'card empty' }, 'No notification rules yet.')];
}

// ---------------------------------------------------------------- router, live updates

const recent = [];
function feedItem(e) {
  const what = {
    instanceStarted: 'instance started', instanceEnded: `instance ${(e.state || '').toLowerCase()}`, activityEntered: `entered ${e.activityId}`,
    activityLeft: `left ${e.activityId}`, taskCreated: `${e.taskType} task created${e.topic ? ' (' + e.topic + ')' : ''}`, taskCompleted: `${e.taskType} task completed`,
    incidentRaised: `incident at ${e.activityId}`, incidentResolved: 'incident resolved', deploymentCreated: 'deployment created',
  }[e.type] || e.type;
  return h('li', {}, h('span', { class: 'when' }, e.at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })),
    h('span', {}, e.processInstanceId ? h('a', { href: `#/instance/${enc(e.processInstanceId)}`, class: 'mono' }, short(e.processInstanceId)) : null, ' ', what));
}

let rendering = false; let again = false;
async function render(live = false) {
  if (rendering) { again = true; return; }
  rendering = true;
  try {
    const [path, query] = location.hash.replace(/^#/, '').split('?');
    const params = new URLSearchParams(query || '');
    const parts = (path || '/').split('/').filter(Boolean).map(decodeURIComponent);
    let nav = 'dashboard'; let content;
    if (parts[0] === 'definition' && parts[1]) content = await definitionPage(parts[1], params);
    else if (parts[0] === 'instance' && parts[1]) content = await instancePage(parts[1]);
    else if (parts[0] === 'decision' && parts[1]) { nav = 'decisions'; content = await decisionPage(parts[1], params); }
    else if (parts[0] === 'decisions') { nav = 'decisions'; content = await decisionsPage(); }
    else if (parts[0] === 'tasks') { nav = 'tasks'; content = await tasklist(params); }
    else if (parts[0] === 'topics') { nav = 'topics'; content = await topicsPage(); }
    else if (parts[0] === 'notifications') { nav = 'notifications'; content = await notificationsPage(); }
    else if (parts[0] === 'external-tasks') { nav = 'topics'; content = await externalTasksPage(params); }
    else if (parts[0] === 'incidents') { nav = 'incidents'; content = await incidentsPage(params); }
    else if (parts[0] === 'batches') { nav = 'batches'; content = await batchesPage(params); }
    else if (parts[0] === 'migrate') { nav = 'dashboard'; content = await migratePage(params); }
    else content = await dashboard(params);
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('on', a.dataset.nav === nav);
    // Keep focus and scroll when a live refresh redraws the same page.
    const y = window.scrollY;
    const focused = document.activeElement && app.contains(document.activeElement) && document.activeElement.closest('form');
    // An open diagram menu or confirm dialog is not torn down by a live refresh either; the
    // page redraws when it closes (staleRefresh).
    const busy = app.querySelector('.diagram .menu:not([hidden])') || document.querySelector('dialog[open]');
    if (live && (focused || busy)) { app.dataset.stale = '1'; return; }
    app.replaceChildren(...[content].flat(Infinity).filter(Boolean));
    app.dataset.page = nav === 'dashboard' ? (parts[0] || 'dashboard') : nav;
    app.dataset.rendered = String(Date.now());
    window.scrollTo(0, y);
  } catch (e) {
    app.replaceChildren(h('div', { class: 'card' }, h('h2', {}, 'Could not load this page'), h('div', { class: 'muted' }, e.message)));
  } finally {
    rendering = false;
    if (again) { again = false; render(true); }
  }
}
let timer = null;
function refresh() { clearTimeout(timer); timer = setTimeout(() => render(true), 120); }
/** Redraw a page a live refresh skipped while a menu or dialog was open. */
function staleRefresh() { if (app.dataset.stale) { delete app.dataset.stale; refresh(); } }

function connect() {
  const live = document.getElementById('live');
  const es = new EventSource(`${REST}/events`);
  es.onopen = () => { live.classList.add('on'); live.lastChild.textContent = 'live'; };
  es.onerror = () => { live.classList.remove('on'); live.lastChild.textContent = 'reconnecting'; };
  const types = ['deploymentCreated', 'instanceStarted', 'instanceEnded', 'activityEntered', 'activityLeft', 'taskCreated', 'taskCompleted', 'incidentRaised', 'incidentResolved', 'lagged'];
  for (const t of types) {
    es.addEventListener(t, (m) => {
      let e = {}; try { e = JSON.parse(m.data); } catch { /* keep going */ }
      e.at = new Date();
      if (t !== 'activityEntered' && t !== 'activityLeft') { recent.unshift(e); recent.length = Math.min(recent.length, 14); }
      refresh();
    });
  }
}

window.addEventListener('hashchange', () => { selectedTask = null; render(); });
document.addEventListener('focusout', () => { if (app.dataset.stale) { delete app.dataset.stale; setTimeout(() => { if (!app.contains(document.activeElement) || !document.activeElement.closest('form')) refresh(); }, 50); } });
connect();
render();

export { h, http, get, q, enc, act, toast, fmt, short, stateBadge, pageHead, render, badge, staleRefresh, REST };
