// stock-check in JavaScript (componentize-js): the same rule as guests/stock-check.
//
// Reads `items` (a Json list of {sku, quantity}) and answers `available` (Boolean) and
// `missing` (a Json list). A sku starting with "OUT" is out of stock; any other sku has 100
// units, so larger quantities are missing too.
//
// Bindings follow jco's conventions: records are objects with camelCase fields, variants are
// `{ tag, val }`, `option<T>` is `T | undefined`, and a thrown plain object becomes the `err`
// of the `result`.

import { log } from 'baton:task/log@0.1.0';

const STOCK_PER_SKU = 100;

function failure(message) {
  return { tag: 'failure', val: { message, details: undefined } };
}

export function execute(task) {
  const entry = task.variables.find(([name]) => name === 'items');
  if (!entry) {
    throw failure('variable `items` is missing');
  }
  const value = entry[1];
  if (value.tag !== 'json' && value.tag !== 'string') {
    throw failure('`items` must be a Json list');
  }
  let items;
  try {
    items = JSON.parse(value.val);
  } catch (e) {
    throw failure(`\`items\` is not valid JSON: ${e}`);
  }
  if (!Array.isArray(items)) {
    throw failure('`items` must be a Json list');
  }

  const missing = [];
  for (const item of items) {
    const sku = typeof item.sku === 'string' ? item.sku : '';
    const quantity = typeof item.quantity === 'number' ? item.quantity : 0;
    const inStock = sku.startsWith('OUT') ? 0 : STOCK_PER_SKU;
    if (!sku || quantity > inStock) {
      missing.push({ sku, quantity, inStock });
    }
  }

  log('info', `stock-check (js): ${items.length} items, ${missing.length} missing`);
  return {
    variables: [
      ['available', { tag: 'boolean', val: missing.length === 0 }],
      ['missing', { tag: 'json', val: JSON.stringify(missing) }],
    ],
  };
}
