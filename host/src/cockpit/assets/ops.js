// baton cockpit, operations (issue 18): paged and sortable tables, the incidents page with
// stack traces and bulk retry, the per-activity heatmap, modification from the diagram,
// suspension, migration with a preview of the plan, batch operations and their progress.
// Imports the helpers of app.js (a cycle ES modules allow: nothing here runs at load time).

import { h, http, get, q, enc, act, toast, fmt, short, stateBadge, pageHead, render, badge, staleRefresh, REST } from './app.js';

// ---------------------------------------------------------------- paged, sortable tables

/** Page size of every server-side paged table. */
export const PAGE = 20;

/** Rewrite the current hash with `changes` merged into its query (paging, sorting, filters). */
export function goWith(changes) {
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const p = new URLSearchParams(query || '');
  for (const [k, v] of Object.entries(changes)) { if (v === '' || v == null) p.delete(k); else p.set(k, v); }
  const s = p.toString();
  location.hash = `#${path || '/'}${s ? `?${s}` : ''}`;
}

/** A header cell that sorts by `key` (server side) when clicked; shows the current order. */
export function sortTh(label, key, params, dflt = 'desc', cls) {
  const by = params.get('sortBy'); const order = params.get('sortOrder') || dflt;
  const on = by === key;
  return h('th', { class: `sortable ${on ? 'on' : ''} ${cls || ''}`, 'data-sort': key,
    onclick: () => goWith({ sortBy: key, sortOrder: on && order === 'asc' ? 'desc' : on ? 'asc' : dflt, page: '' }) },
  label, on ? (order === 'asc' ? ' ▲' : ' ▼') : '');
}

/** "41–60 of 1,234" with previous/next buttons; `page` is 0-based in the hash. */
export function pager(total, params, size = PAGE) {
  const page = Number(params.get('page') || 0);
  const pages = Math.max(1, Math.ceil(total / size));
  const from = total ? page * size + 1 : 0; const to = Math.min(total, (page + 1) * size);
  return h('div', { class: 'pager' },
    h('span', { class: 'muted', 'data-range': '' }, `${from}–${to} of ${total.toLocaleString('en')}`),
    h('button', { class: 'small', disabled: page <= 0, onclick: () => goWith({ page: page - 1 || '' }) }, '‹ Previous'),
    h('span', { class: 'muted' }, `page ${page + 1} of ${pages}`),
    h('button', { class: 'small', 'data-next': '', disabled: page + 1 >= pages, onclick: () => goWith({ page: page + 1 }) }, 'Next ›'));
}
export const pageParams = (params, size = PAGE) => ({ firstResult: Number(params.get('page') || 0) * size, maxResults: size });

/** A checkbox column: `sel` is a Set of ids kept while the page stays. */
export function selectCell(sel, id, onchange) {
  return h('td', { class: 'sel' }, h('input', { type: 'checkbox', 'data-select': id, checked: sel.has(id),
    onchange: (e) => { if (e.target.checked) sel.add(id); else sel.delete(id); onchange?.(); } }));
}
export function selectAllTh(sel, ids, onchange) {
  return h('th', { class: 'sel' }, h('input', { type: 'checkbox', 'data-select-all': '', checked: ids.length > 0 && ids.every((i) => sel.has(i)),
    onchange: (e) => { for (const i of ids) { if (e.target.checked) sel.add(i); else sel.delete(i); } for (const c of document.querySelectorAll('[data-select]')) c.checked = sel.has(c.dataset.select); onchange?.(); } }));
}

/** A modal dialog listing what will happen; resolves true when confirmed. */
export function confirmDialog(title, lines, okLabel = 'Apply') {
  return new Promise((resolve) => {
    const close = (v) => { dlg.close(); dlg.remove(); resolve(v); if (!v) staleRefresh(); };
    const dlg = h('dialog', { class: 'confirm' },
      h('h2', {}, title), h('ol', { class: 'instructions' }, lines.map((l) => h('li', {}, l))),
      h('div', { class: 'row', style: 'justify-content:flex-end' },
        h('button', { onclick: () => close(false) }, 'Cancel'),
        h('button', { class: 'primary', 'data-confirm': '', onclick: () => close(true) }, okLabel)));
    document.body.append(dlg);
    dlg.showModal();
  });
}

// ---------------------------------------------------------------- incidents

const INCIDENT_TYPES = ['failedExternalTask', 'failedJob', 'unhandledBpmnError'];
const incidentSel = new Set();

/** The stack trace (error details) of the failed external task or job behind an incident. */
async function stackTrace(i) {
  if (!i.configuration) return null;
  const url = i.incidentType === 'failedJob' ? `${REST}/job/${enc(i.configuration)}/stacktrace`
    : i.incidentType === 'failedExternalTask' ? `${REST}/external-task/${enc(i.configuration)}/errorDetails` : null;
  if (!url) return null;
  const r = await fetch(url);
  return r.ok ? r.text() : null;
}

/** Set retries on the failed external tasks and jobs behind the selected incidents. */
async function retryIncidents(incidents, retries) {
  const tasks = incidents.filter((i) => i.incidentType === 'failedExternalTask' && i.configuration).map((i) => i.configuration);
  const jobs = incidents.filter((i) => i.incidentType === 'failedJob' && i.configuration).map((i) => i.configuration);
  if (!tasks.length && !jobs.length) throw new Error('None of the selected incidents can be retried (only failed external tasks and jobs).');
  if (tasks.length) await http('PUT', `${REST}/external-task/retries`, { externalTaskIds: tasks, retries });
  for (const j of jobs) await http('PUT', `${REST}/job/${enc(j)}/retries`, { retries });
  return tasks.length + jobs.length;
}

export async function incidentsPage(params) {
  const f = { incidentType: params.get('type') || '', processDefinitionId: params.get('definition') || '', activityId: params.get('activity') || '', message: params.get('message') || '' };
  const query = { incidentType: f.incidentType, processDefinitionId: f.processDefinitionId, activityId: f.activityId,
    incidentMessageLike: f.message ? `%${f.message}%` : '' };
  const sort = { sortBy: params.get('sortBy') || 'incidentTimestamp', sortOrder: params.get('sortOrder') || 'desc' };
  const [overview, list, count] = await Promise.all([get('/cockpit/api/overview'),
    get(`${REST}/incident${q({ ...query, ...sort, ...pageParams(params) })}`), get(`${REST}/incident/count${q(query)}`)]);
  const defName = Object.fromEntries(overview.definitions.map((d) => [d.id, `${d.name || d.key} v${d.version}`]));
  for (const id of [...incidentSel]) if (!list.some((i) => i.id === id)) incidentSel.delete(id);
  const bar = h('div', { class: 'bulk' });
  const drawBar = () => bar.replaceChildren(h('span', { 'data-selected': '' }, `${incidentSel.size} selected`),
    h('label', {}, 'retries ', h('input', { id: 'bulk-retries', type: 'number', min: 1, value: 1, style: 'width:60px' })),
    h('button', { class: 'primary', id: 'bulk-retry', disabled: !incidentSel.size, onclick: () => act('Retries set', async () => {
      const chosen = list.filter((i) => incidentSel.has(i.id));
      const n = await retryIncidents(chosen, Number(document.getElementById('bulk-retries').value) || 1);
      incidentSel.clear();
      toast(`Retries set on ${n} task(s)/job(s)`);
    }) }, 'Retry selected'));
  drawBar();
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); const fd = new FormData(e.target); goWith({ ...Object.fromEntries(fd), page: '' }); } },
    h('label', {}, 'Type', h('select', { name: 'type' }, h('option', { value: '' }, 'any'), INCIDENT_TYPES.map((t) => h('option', { value: t, selected: t === f.incidentType }, t)))),
    h('label', {}, 'Definition', h('select', { name: 'definition' }, h('option', { value: '' }, 'any'),
      overview.definitions.map((d) => h('option', { value: d.id, selected: d.id === f.processDefinitionId }, `${d.name || d.key} v${d.version}`)))),
    h('label', {}, 'Activity', h('input', { name: 'activity', value: f.activityId, placeholder: 'activity id', size: 12 })),
    h('label', {}, 'Message', h('input', { name: 'message', value: f.message, placeholder: 'contains…', size: 16 })),
    h('button', { class: 'primary', type: 'submit' }, 'Filter'));
  const rows = list.map((i) => {
    const trace = h('tr', { class: 'trace', hidden: true }, h('td', { colspan: 8 }, h('pre', { class: 'stack' }, 'Loading…')));
    const toggle = async () => {
      trace.hidden = !trace.hidden;
      if (!trace.hidden) trace.querySelector('pre').textContent = (await stackTrace(i)) || 'No stack trace recorded.';
    };
    return [h('tr', { 'data-incident': i.id }, selectCell(incidentSel, i.id, drawBar),
      h('td', {}, h('span', { class: 'pill bad' }, i.incidentType)),
      h('td', { class: 'msg' }, i.incidentMessage || h('span', { class: 'zero' }, '(no message)')),
      h('td', { class: 'mono' }, i.activityId),
      h('td', {}, h('a', { href: `#/instance/${enc(i.processInstanceId)}`, class: 'mono' }, short(i.processInstanceId))),
      h('td', {}, h('a', { href: `#/definition/${enc(i.processDefinitionId)}` }, defName[i.processDefinitionId] || i.processDefinitionId)),
      h('td', { class: 'muted' }, fmt(i.incidentTimestamp)),
      h('td', { class: 'num' }, h('button', { class: 'small', 'data-trace': '', onclick: toggle }, 'Stack trace'))), trace];
  });
  const ids = list.map((i) => i.id);
  return [pageHead('Incidents', [h('span', {}, `${count.count} open incident(s)`), h('span', {}, 'retrying sets the retries of the failed external task or job, which resolves the incident')]),
    h('div', { class: 'card flush' }, form, bar,
      list.length ? h('table', { id: 'incident-table' }, h('thead', {}, h('tr', {}, selectAllTh(incidentSel, ids, drawBar), sortTh('Type', 'incidentType', params),
        sortTh('Message', 'incidentMessage', params), sortTh('Activity', 'activityId', params), sortTh('Instance', 'processInstanceId', params),
        sortTh('Definition', 'processDefinitionId', params), sortTh('When', 'incidentTimestamp', params), h('th', {}))), h('tbody', {}, rows))
        : h('div', { class: 'empty' }, 'No incident matches.'),
      pager(count.count, params))];
}

// ---------------------------------------------------------------- external tasks

/** Every open external task (of one topic when `topic` is set), paged and sorted on the server. */
export async function externalTasksPage(params) {
  const f = { topicName: params.get('topic') || '' };
  const sort = { sortBy: params.get('sortBy') || 'createTime', sortOrder: params.get('sortOrder') || 'asc' };
  const [list, count] = await Promise.all([get(`${REST}/external-task${q({ ...f, ...sort, ...pageParams(params) })}`), get(`${REST}/external-task/count${q(f)}`)]);
  const rows = list.map((t) => {
    const details = h('tr', { class: 'trace', hidden: true }, h('td', { colspan: 8 }, h('pre', { class: 'stack' }, '…')));
    const show = async () => {
      details.hidden = !details.hidden;
      if (!details.hidden) details.querySelector('pre').textContent = await fetch(`${REST}/external-task/${enc(t.id)}/errorDetails`).then((r) => (r.ok ? r.text() : '')) || 'No details recorded.';
    };
    return [h('tr', { 'data-task': t.id }, h('td', { class: 'mono' }, short(t.id)), h('td', {}, t.topicName),
      h('td', {}, h('a', { href: `#/instance/${enc(t.processInstanceId)}`, class: 'mono' }, short(t.processInstanceId))),
      h('td', { 'data-business-key': '' }, t.businessKey || h('span', { class: 'zero' }, '—')), h('td', { class: 'mono' }, t.activityId),
      h('td', { class: 'num' }, t.retries ?? h('span', { class: 'zero' }, '—')),
      h('td', {}, t.errorMessage ? h('span', { class: 'count-bad' }, t.errorMessage) : ''),
      h('td', { class: 'num' }, t.errorMessage ? h('button', { class: 'small', 'data-details': '', onclick: show }, 'Error details') : null)), details];
  });
  return [pageHead(f.topicName ? `External tasks of ${f.topicName}` : 'External tasks', [h('span', {}, `${count.count} open`)], null,
    [h('a', { href: '#/topics' }, 'External tasks & modules'), ' / tasks']),
  h('div', { class: 'card flush' }, list.length ? h('table', { id: 'external-task-table' }, h('thead', {}, h('tr', {}, sortTh('Task', 'id', params, 'asc'), h('th', {}, 'Topic'),
    sortTh('Instance', 'processInstanceId', params, 'asc'), h('th', {}, 'Business key'), h('th', {}, 'Activity'), h('th', { class: 'num' }, 'Retries'), h('th', {}, 'Last error'), h('th', {}))),
  h('tbody', {}, rows)) : h('div', { class: 'empty' }, 'No open external task.'), pager(count.count, params))];
}

// ---------------------------------------------------------------- heatmap

/** Colour each activity by how much ran through it and put its four counts on it as badges. */
export function paintHeat(box, heat) {
  const svg = box.querySelector('svg');
  if (!svg) return;
  const layer = svg.querySelector('g.overlays');
  const max = Math.max(1, heat.maxCount);
  for (const [id, c] of Object.entries(heat.activities)) {
    const el = svg.querySelector(`[data-element-id="${CSS.escape(id)}"]`);
    if (!el || el.classList.contains('edge')) continue;
    const [x, y, w, hgt] = el.getAttribute('data-bounds').split(',').map(Number);
    const weight = (c.running + c.completed + c.canceled) / max;
    const glow = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
    for (const [k, v] of Object.entries({ x: x - 4, y: y - 4, width: w + 8, height: hgt + 8, rx: 10, class: 'heat', 'data-heat': id,
      fill: `rgba(234, 88, 12, ${(0.08 + 0.5 * weight).toFixed(2)})` })) glow.setAttribute(k, v);
    layer.prepend(glow);
    const put = (n, bx, by, color, kind, title) => {
      if (!n) return;
      badge(layer, bx, by, n, color, title);
      layer.lastChild.setAttribute('data-kind', kind); layer.lastChild.setAttribute('data-activity', id);
    };
    put(c.running, x - 8, y + hgt - 10, '#2563eb', 'running', `${c.running} running`);
    put(c.incidents, x + w - 12, y + hgt - 10, '#dc2626', 'incidents', `${c.incidents} incident(s)`);
    put(c.completed, x + w - 12, y - 8, '#16a34a', 'completed', `${c.completed} completed`);
    put(c.canceled, x - 8, y - 8, '#64748b', 'canceled', `${c.canceled} canceled`);
  }
}
export function heatLegend() {
  const dot = (c, l) => h('span', {}, h('i', { style: `background:${c};border-color:${c}` }), l);
  return h('div', { class: 'legend' }, dot('#2563eb', 'running'), dot('#16a34a', 'completed'), dot('#64748b', 'canceled'), dot('#dc2626', 'incidents'),
    h('span', {}, h('i', { style: 'background:rgba(234,88,12,.45);border-color:transparent' }), 'heat: activity instances'));
}

// ---------------------------------------------------------------- suspension

export function suspendButton(kind, id, suspended) {
  const url = kind === 'definition' ? `${REST}/process-definition/${enc(id)}/suspended` : `${REST}/process-instance/${enc(id)}/suspended`;
  const body = kind === 'definition' ? { suspended: !suspended, includeProcessInstances: true } : { suspended: !suspended };
  return h('button', { id: `${kind}-suspend`, onclick: () => act(suspended ? 'Activated' : 'Suspended', () => http('PUT', url, body)) },
    suspended ? 'Activate' : 'Suspend');
}

// ---------------------------------------------------------------- modification from the diagram

/** Pending instructions per instance page. */
let pending = { instance: null, list: [] };
const describe = (i) => ({ startBeforeActivity: `start before ${i.activityId}`, startAfterActivity: `start after ${i.activityId}`,
  cancel: i.activityInstanceId ? `cancel token ${i.activityInstanceId} in ${i.label}` : `cancel every token in ${i.activityId}` }[i.type]);

/** The activity instances (tokens) of an activity-instance tree, by element id. */
function tokensByActivity(tree) {
  const out = {};
  const walk = (n) => { for (const c of n.childActivityInstances || []) { const el = c.activityId.split('#')[0]; (out[el] ||= []).push(c.id); walk(c); } };
  if (tree) walk(tree);
  return out;
}

/**
 * Make the diagram of a running instance clickable: a click on a flow node opens a menu to
 * start a token before or after it, or to cancel its tokens; the instructions collect in the
 * returned card and are applied together (confirm dialog, then POST modification).
 */
export function modificationCard(box, instanceId, active, tree) {
  const tokens = tokensByActivity(tree);
  if (pending.instance !== instanceId) pending = { instance: instanceId, list: [] };
  const card = h('div', { class: 'card', id: 'modification' });
  const draw = () => card.replaceChildren(h('h2', {}, 'Modify this instance'),
    pending.list.length ? h('ol', { class: 'instructions' }, pending.list.map((i, n) => h('li', {}, describe(i), ' ',
      h('button', { class: 'small', onclick: () => { pending.list.splice(n, 1); draw(); } }, 'remove'))))
      : h('div', { class: 'muted' }, 'Click an activity on the diagram to start a token before or after it, or a token to cancel it.'),
    h('div', { class: 'row' }, h('button', { class: 'primary', id: 'apply-modification', disabled: !pending.list.length, onclick: apply },
      'Apply modification…'), pending.list.length ? h('button', { onclick: () => { pending.list = []; draw(); } }, 'Discard') : null));
  const apply = async () => {
    const ok = await confirmDialog('Modify process instance', pending.list.map(describe));
    if (!ok) return;
    const instructions = pending.list.map(({ label, ...i }) => i);
    await act('Instance modified', () => http('POST', `${REST}/process-instance/${enc(instanceId)}/modification`, { instructions, skipCustomListeners: false }));
    pending.list = [];
  };
  const svg = box.querySelector('svg');
  const menu = h('div', { class: 'menu', hidden: true });
  const hideMenu = () => { menu.hidden = true; staleRefresh(); };
  box.append(menu);
  for (const el of svg ? svg.querySelectorAll('.el:not(.edge)') : []) {
    el.classList.add('clickable');
    el.addEventListener('click', (e) => {
      const id = el.dataset.elementId;
      const add = (type) => { pending.list.push({ type, activityId: id }); hideMenu(); draw(); };
      const r = box.getBoundingClientRect();
      menu.style.left = `${e.clientX - r.left + 6}px`; menu.style.top = `${e.clientY - r.top + 6}px`;
      menu.replaceChildren(...[h('div', { class: 'muted mono' }, id),
        h('button', { 'data-op': 'startBefore', onclick: () => add('startBeforeActivity') }, 'Start before'),
        h('button', { 'data-op': 'startAfter', onclick: () => add('startAfterActivity') }, 'Start after'),
        active[id] ? h('button', { 'data-op': 'cancel', class: 'danger', onclick: () => add('cancel') }, `Cancel ${active[id]} token(s)`) : null,
        // With several tokens in one activity, each can be canceled on its own.
        (tokens[id] || []).length > 1 ? tokens[id].map((ai) => h('button', { 'data-op': 'cancel-one', 'data-token': ai, class: 'danger small', onclick: () => {
          pending.list.push({ type: 'cancel', activityInstanceId: ai, label: id }); hideMenu(); draw();
        } }, `Cancel token ${short(ai)}`)) : null,
        h('button', { class: 'small', onclick: () => { hideMenu(); } }, 'Close')].flat().filter(Boolean));
      menu.hidden = false;
      e.stopPropagation();
    });
  }
  draw();
  return card;
}

// ---------------------------------------------------------------- batch operations on instances

export const instanceSel = new Set();

/** Buttons acting on the selected instances of a definition: each starts a batch. */
export function bulkBar(definitionId, versions, redraw) {
  const ids = () => [...instanceSel];
  const run = (label, fn) => act(label, async () => { const b = await fn(); instanceSel.clear(); if (b && b.id) location.hash = `#/batches?highlight=${enc(b.id)}`; });
  const bar = h('div', { class: 'bulk', id: 'instance-bulk' });
  // replaceChildren would print a null as text: the optional buttons are filtered out.
  const draw = () => bar.replaceChildren(...[h('span', { 'data-selected': '' }, `${instanceSel.size} selected`),
    h('button', { disabled: !instanceSel.size, 'data-bulk': 'suspend', onclick: () => run('Suspension batch started', () => http('POST', `${REST}/process-instance/suspended-async`, { processInstanceIds: ids(), suspended: true })) }, 'Suspend'),
    h('button', { disabled: !instanceSel.size, 'data-bulk': 'activate', onclick: () => run('Activation batch started', () => http('POST', `${REST}/process-instance/suspended-async`, { processInstanceIds: ids(), suspended: false })) }, 'Activate'),
    h('button', { disabled: !instanceSel.size, 'data-bulk': 'retry', onclick: () => run('Retry batch started', () => http('POST', `${REST}/external-task/retries-async`, { processInstanceIds: ids(), retries: 1 })) }, 'Retry failed tasks'),
    h('button', { disabled: !instanceSel.size, 'data-bulk': 'modify', onclick: async () => {
      const activityId = prompt('Start a token before which activity (id)? The selected instances keep their other tokens.');
      if (!activityId) return;
      const ok = await confirmDialog(`Modify ${instanceSel.size} instance(s)`, [`start before ${activityId}`]);
      if (ok) run('Modification batch started', () => http('POST', `${REST}/modification/executeAsync`, { processDefinitionId: definitionId, processInstanceIds: ids(), instructions: [{ type: 'startBeforeActivity', activityId }] }));
    } }, 'Modify…'),
    versions.length > 1 ? h('button', { disabled: !instanceSel.size, 'data-bulk': 'migrate', onclick: () => {
      sessionStorage.setItem('baton.migrate', JSON.stringify(ids()));
      location.hash = `#/migrate?source=${enc(definitionId)}`;
    } }, 'Migrate…') : null,
    h('button', { class: 'danger', disabled: !instanceSel.size, 'data-bulk': 'cancel', onclick: async () => {
      const ok = await confirmDialog(`Cancel ${instanceSel.size} instance(s)`, ids().map((i) => `cancel ${i}`), 'Cancel instances');
      if (ok) run('Cancellation batch started', () => http('POST', `${REST}/process-instance/delete`, { processInstanceIds: ids(), deleteReason: 'canceled in the cockpit' }));
    } }, 'Cancel…')].filter(Boolean));
  draw();
  redraw.fn = draw;
  return bar;
}

// ---------------------------------------------------------------- migration

export async function migratePage(params) {
  const overview = await get('/cockpit/api/overview');
  const source = overview.definitions.find((d) => d.id === params.get('source'));
  if (!source) return h('div', { class: 'card empty' }, 'Choose the instances to migrate on a definition page first.');
  const versions = overview.definitions.filter((d) => d.key === source.key && d.id !== source.id);
  const targetId = params.get('target') || (versions[0] && versions[0].id);
  let ids = []; try { ids = JSON.parse(sessionStorage.getItem('baton.migrate') || '[]'); } catch { ids = []; }
  const head = pageHead(`Migrate ${source.name || source.key}`, [h('span', {}, `from version ${source.version}`), h('span', {}, `${ids.length} instance(s) selected`)], null,
    [h('a', { href: `#/definition/${enc(source.id)}` }, source.name || source.key), ' / migration']);
  const pick = h('select', { id: 'migrate-target', onchange: (e) => goWith({ target: e.target.value }) }, versions.map((v) => h('option', { value: v.id, selected: v.id === targetId }, `version ${v.version}`)));
  if (!targetId) return [head, h('div', { class: 'card empty' }, 'There is no other version to migrate to.')];
  const plan = await http('POST', `${REST}/migration/generate`, { sourceProcessDefinitionId: source.id, targetProcessDefinitionId: targetId, updateEventTriggers: false });
  const report = await http('POST', `${REST}/migration/validate`, plan).catch((e) => ({ error: e.message }));
  const failures = report.instructionReports || [];
  const rows = plan.instructions.map((i) => h('tr', { 'data-instruction': i.sourceActivityIds.join(',') },
    h('td', { class: 'mono' }, i.sourceActivityIds.join(', ')), h('td', {}, '→'), h('td', { class: 'mono' }, i.targetActivityIds.join(', ')),
    h('td', {}, i.updateEventTrigger ? 'update event trigger' : '')));
  const valid = !report.error && failures.length === 0;
  const body = { migrationPlan: plan, processInstanceIds: ids };
  return [head,
    h('div', { class: 'card' }, h('label', { class: 'row' }, 'Target ', pick)),
    h('div', { class: 'card flush' }, h('h2', {}, `Generated mapping (${plan.instructions.length} instruction(s))`),
      h('table', { id: 'migration-plan' }, h('thead', {}, h('tr', {}, h('th', {}, 'Source activity'), h('th', {}), h('th', {}, 'Target activity'), h('th', {}))), h('tbody', {}, rows))),
    h('div', { class: 'card', id: 'validation' }, h('h2', {}, 'Validation'),
      valid ? h('div', { class: 'pill ok' }, 'The plan is valid.')
        : h('ul', {}, report.error ? h('li', {}, report.error) : failures.map((f) => h('li', {}, `${(f.instruction?.sourceActivityIds || []).join(', ')}: ${(f.failures || []).join('; ')}`))),
      h('div', { class: 'row', style: 'margin-top:12px' },
        h('button', { disabled: !ids.length || !valid, id: 'migrate-now', onclick: () => act('Migrated', async () => { await http('POST', `${REST}/migration/execute`, body); location.hash = `#/definition/${enc(targetId)}`; }) }, 'Execute now'),
        h('button', { class: 'primary', disabled: !ids.length || !valid, id: 'migrate-async', onclick: () => act('Migration batch started', async () => {
          const b = await http('POST', `${REST}/migration/executeAsync`, body); location.hash = `#/batches?highlight=${enc(b.id)}`;
        }) }, 'Execute as batch')))];
}

// ---------------------------------------------------------------- batches

let batchPoll = null;
export async function batchesPage(params) {
  const sort = { sortBy: params.get('sortBy') || 'batchId', sortOrder: params.get('sortOrder') || 'desc' };
  const [stats, count, hist] = await Promise.all([get(`${REST}/batch/statistics${q({ ...sort, ...pageParams(params) })}`), get(`${REST}/batch/statistics/count`),
    get(`${REST}/history/batch${q({ sortBy: 'endTime', sortOrder: 'desc', maxResults: 10 })}`).catch(() => [])]);
  const hl = params.get('highlight');
  const rows = stats.map((b) => {
    const done = b.completedJobs + b.failedJobs; const pct = b.totalJobs ? Math.round((100 * b.completedJobs) / b.totalJobs) : 100;
    return h('tr', { 'data-batch': b.id, class: b.id === hl ? 'hl' : '' }, h('td', { class: 'mono' }, short(b.id)), h('td', {}, b.type),
      h('td', {}, h('div', { class: 'progress' }, h('i', { style: `width:${pct}%` })), h('span', { class: 'muted', 'data-progress': '' }, `${b.completedJobs} of ${b.totalJobs} done`)),
      h('td', { class: 'num' }, b.failedJobs ? h('span', { class: 'count-bad' }, b.failedJobs) : '0'), h('td', { class: 'num' }, b.remainingJobs),
      h('td', {}, b.suspended ? h('span', { class: 'pill warn' }, 'suspended') : done < b.totalJobs ? h('span', { class: 'pill run' }, 'running') : h('span', { class: 'pill ok' }, 'done')));
  });
  clearTimeout(batchPoll);
  // Progress: re-read the statistics every second while a batch runs and this page is open.
  if (stats.length) batchPoll = setTimeout(() => { if (location.hash.startsWith('#/batches')) render(true); }, 1000);
  const histRows = hist.map((b) => h('tr', { 'data-history-batch': b.id }, h('td', { class: 'mono' }, short(b.id)), h('td', {}, b.type), h('td', { class: 'num' }, b.totalJobs), h('td', { class: 'muted' }, fmt(b.endTime))));
  return [pageHead('Batches', [h('span', {}, `${count.count} running`), h('span', {}, 'progress is re-read every second')]),
    h('div', { class: 'card flush' }, h('h2', {}, 'Running batches'),
      stats.length ? h('table', { id: 'batch-table' }, h('thead', {}, h('tr', {}, sortTh('Batch', 'batchId', params), h('th', {}, 'Type'), h('th', {}, 'Progress'),
        h('th', { class: 'num' }, 'Failed'), h('th', { class: 'num' }, 'Remaining'), h('th', {}, 'State'))), h('tbody', {}, rows)) : h('div', { class: 'empty' }, 'No batch is running.'),
      pager(count.count, params)),
    h('div', { class: 'card flush' }, h('h2', {}, 'Finished batches (latest 10)'),
      hist.length ? h('table', { id: 'batch-history' }, h('thead', {}, h('tr', {}, h('th', {}, 'Batch'), h('th', {}, 'Type'), h('th', { class: 'num' }, 'Jobs'), h('th', {}, 'Ended'))), h('tbody', {}, histRows))
        : h('div', { class: 'empty' }, 'None yet.'))];
}

export { stateBadge };
