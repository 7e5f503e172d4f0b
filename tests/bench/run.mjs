// The wasm package's speed for the engine benchmark's typical quote, in
// headless Chromium and in Node, against the native criterion figure.
// Usage: node tests/bench/run.mjs   (after make pkg; `make bench` runs cargo bench first)
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { root, loadPkg } from '../node/helpers.mjs';
import { serve } from '../browser/serve.mjs';
import { launch } from '../browser/chromium.mjs';
import { run } from './typical.js';

const node = run(await loadPkg());

const server = await serve(root);
const browser = await launch();
let chromium;
try {
  const page = await browser.newPage();
  await page.goto(`${server.url}/tests/bench/bench.html`);
  await page.waitForSelector('body:not([data-status="running"])', { timeout: 120_000 });
  if ((await page.getAttribute('body', 'data-status')) !== 'done') throw new Error(await page.textContent('#out'));
  chromium = JSON.parse(await page.textContent('#out'));
  chromium.version = browser.version();
} finally {
  await browser.close();
  await server.close();
}

// Criterion's median for estimate/3x2, when `cargo bench` has run.
const criterion = path.join(root, 'target', 'criterion', 'estimate', '3x2', 'new', 'estimates.json');
const nativeUs = existsSync(criterion) ? JSON.parse(readFileSync(criterion, 'utf8')).median.point_estimate / 1000 : null;

const perSecond = (us) => `${Math.round(1e6 / us).toLocaleString('en')}/s`;
const row = (where, r) => {
  const ratio = nativeUs ? `, ${(r.pricingEstimateUs / nativeUs).toFixed(1)}x native` : '';
  return (
    `| ${where} | ${r.pricingEstimateUs.toFixed(2)} µs (${perSecond(r.pricingEstimateUs)}${ratio}) ` +
    `| ${r.estimateWithCatalogUs.toFixed(2)} µs (${perSecond(r.estimateWithCatalogUs)}) ` +
    `| ${r.calculatorUs.toFixed(2)} µs | ${(r.calculatorUs / r.pricingEstimateUs).toFixed(2)}× (issue 19's target: ≥ 5×) ` +
    `| ${r.previewChangeUs.toFixed(2)} µs |`
  );
};
console.log('| runtime | Pricing.estimate (catalog parsed once) | estimate (catalog each call) | decimal.js calculator (catalog prepared once) | calculator / Pricing.estimate | Pricing.previewChange (3 operations) |');
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(row(`Chromium ${chromium.version} (headless)`, chromium));
console.log(row(`Node ${process.version}`, node));
console.log(`| native (criterion estimate/3x2) | ${nativeUs ? `${nativeUs.toFixed(2)} µs (${perSecond(nativeUs)})` : 'run cargo bench first'} | | | | |`);
