// Builds guests/js/stock-check into a component with componentize-js (installed by
// guests/build-polyglot.sh). Usage: node build.mjs <componentize-js dir> <wit dir> <out.wasm>
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const [moduleDir, witPath, out] = process.argv.slice(2);
const { componentize } = await import(join(moduleDir, 'src', 'componentize.js'));
const here = dirname(fileURLToPath(import.meta.url));

const { component } = await componentize({
  sourcePath: join(here, 'stock-check', 'stock-check.js'),
  witPath,
  worldName: 'service-task',
  // No fetch()/HTTP: baton provides no wasi:http, and the world check rejects it.
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
console.log(`wrote ${out} (${component.length} bytes)`);
