// Runs N instances of one benchmark model on bpmn-engine (in memory, one instance at a time,
// every service task completes at once) and prints one JSON line of figures.
// usage: node bench.mjs <model.bpmn> <model-name> <N>
import { readFileSync } from 'node:fs';
import { Engine } from 'bpmn-engine';

const [file, model, nArg] = process.argv.slice(2);
const n = Number(nArg || 100);
let source = readFileSync(file, 'utf8');
// The shared models carry JUEL conditions for baton; bpmn-engine evaluates a JS script.
source = source.replace(
  /<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">\$\{count &gt;= 100\}<\/bpmn:conditionExpression>/,
  '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" language="javascript">next(null, this.environment.variables.count &gt;= 100)</bpmn:conditionExpression>'
);
// Service tasks get an implementation that completes at once (and counts for loop100).
source = source.replace(/camunda:type="external" camunda:topic="work"/g, 'implementation="${environment.services.work}"');

const services = {
  work(ctx, next) {
    const vars = ctx.environment.variables;
    vars.count = (vars.count || 0) + 1;
    next();
  },
};

async function runOne() {
  const engine = new Engine({ name: model, source, services, variables: { count: 0 } });
  const api = await engine.execute({ services, variables: { count: 0 } });
  if (api.state !== 'idle') {
    await new Promise((resolve, reject) => {
      engine.once('end', resolve);
      engine.once('error', reject);
    });
  }
}

const cpu0 = process.cpuUsage();
const lat = [];
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const s = performance.now();
  await runOne();
  lat.push(performance.now() - s);
}
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
lat.sort((a, b) => a - b);
const pct = (p) => lat[Math.min(lat.length - 1, Math.round((p / 100) * (lat.length - 1)))];
console.log(JSON.stringify({
  engine: 'bpmn-engine 25.0.1',
  model,
  instances: n,
  per_s: n / elapsed,
  p50_ms: pct(50),
  p99_ms: pct(99),
  peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  cpu_s_per_1000: ((cpu.user + cpu.system) / 1e6) / n * 1000,
}));
