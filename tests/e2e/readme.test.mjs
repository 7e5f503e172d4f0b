// The npm package's README snippet as printed, in Chromium, against the
// local stack: a page with no bundler serving pkg/, the catalog fetched from
// the API with the publishable key. The only change to the printed snippet is
// the API's port (make dev's 8787 → this stack's).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startStack } from '../../scripts/stack.mjs';
import { launch } from '../browser/chromium.mjs';
import { serve } from '../browser/serve.mjs';
import { loadPkg } from '../node/helpers.mjs';

let stack, server, browser;

before(async () => {
  server = await serve(ROOT);
  browser = await launch();
  stack = await startStack({ corsOrigins: server.url });
});
after(async () => {
  await browser?.close();
  await server?.close();
  await stack?.stop();
});

/** The fenced blocks of `lang` in a Markdown file, in order. */
function blocks(file, lang) {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

test('the npm README\'s browser snippet works as printed (no bundler, the publishable key)', async () => {
  const [snippet] = blocks('crates/pricing-wasm/README.md', 'html');
  assert.ok(snippet?.includes("from '/pkg/quotekit_pricing.js'"), 'the snippet imports the package by path');
  assert.ok(snippet.includes('http://127.0.0.1:8787/api/catalog'), 'it fetches make dev\'s API');
  const page = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><body>\n${snippet.replaceAll('http://127.0.0.1:8787', stack.url)}</body>`;
  mkdirSync(path.join(ROOT, 'target'), { recursive: true });
  writeFileSync(path.join(ROOT, 'target/readme-snippet.html'), page);
  const tab = await browser.newPage();
  const problems = [];
  tab.on('pageerror', (e) => problems.push(e.message));
  tab.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  try {
    await tab.goto(`${server.url}/target/readme-snippet.html`);
    await tab.waitForFunction(() => document.getElementById('price').textContent !== '…', null, { timeout: 60000 });
    const shown = await tab.textContent('#price');
    // The same quote computed in Node from the same catalog.
    const pricing = await loadPkg();
    const catalog = await (await fetch(`${stack.url}/api/catalog`, { headers: { authorization: `Bearer ${stack.publishableKey}` } })).json();
    const quote = new pricing.Pricing(catalog).estimate({ quote: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly',
      items: [{ productId: 'prod_seats', quantity: 10 }] }] } });
    assert.equal(shown, `${quote.amount} per month; ${quote.firstInvoice.amount} today; next bill ${quote.nextInvoiceDate}`);
    assert.deepEqual(problems, []);
  } finally {
    await tab.close();
  }
});
