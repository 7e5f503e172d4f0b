// Parity: thousands of generated catalogs, requests and contract changes give
// byte-identical JSON natively and in wasm. The cases and their native answers
// come from `cargo run --example parity_cases` (see the Makefile's node-test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { loadPkg, root } from './helpers.mjs';

const file = process.env.QUOTEKIT_PARITY_CASES ?? path.join(root, 'target', 'parity', 'cases.jsonl');
const pricing = await loadPkg();

test('wasm answers every generated case byte for byte as the native engine', () => {
  assert.ok(existsSync(file), `no parity cases at ${file}: run make node-test`);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.length >= 2000, `only ${lines.length} cases`);
  let same = 0;
  let quotes = 0;
  let changes = 0;
  let errors = 0;
  for (const [i, line] of lines.entries()) {
    const c = JSON.parse(line);
    const run = () =>
      c.operation
        ? pricing.previewChangeJson(c.catalog, c.contract, c.operation, c.today)
        : pricing.estimateJson(c.catalog, c.request, c.today);
    if (c.native !== undefined) {
      assert.equal(run(), c.native, `case ${i + 1}`);
      if (c.operation) changes++;
      else quotes++;
    } else {
      assert.throws(run, (e) => e.code === c.error.code && e.path === c.error.path, `case ${i + 1}: ${JSON.stringify(c.error)}`);
      errors++;
    }
    same++;
  }
  console.log(`parity: ${same} cases identical (${quotes} quotes, ${changes} changes, ${errors} errors)`);
});
