// pkg/ the three ways a user loads it: a plain <script type="module"> page
// (no bundler), a Vite app that installed the packed package, and Node 20 via
// initSync (vectors.test.mjs). Browsers are Debian's Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, cpSync, readdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { root, loadPkg } from './helpers.mjs';
import { serve } from '../browser/serve.mjs';
import { launch } from '../browser/chromium.mjs';
import { catalog, request, today } from '../browser/example.js';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** What the package computes for the example in Node: the pages must agree. */
async function expected() {
  const pricing = await loadPkg();
  const quote = pricing.estimate(catalog, request, today);
  return {
    perPeriod: quote.amount,
    dueToday: quote.firstInvoice.amount,
    factor: quote.firstInvoice.lines[0].prorationFactor,
    nextInvoiceDate: quote.nextInvoiceDate,
  };
}

async function priced(url) {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  try {
    await page.goto(url);
    await page.waitForSelector('body:not([data-status="loading"])', { timeout: 20_000 });
    assert.equal(await page.getAttribute('body', 'data-status'), 'priced', await page.textContent('#out'));
    assert.deepEqual(problems, []);
    return JSON.parse(await page.textContent('#out'));
  } finally {
    await page.close();
  }
}

test('Node: the example prices as the spec says', async () => {
  assert.deepEqual(await expected(), { perPeriod: 120, dueToday: 65.81, factor: '0.548387', nextInvoiceDate: '2024-02-01' });
});

test('a plain <script type="module"> page, no bundler', async () => {
  const server = await serve(root);
  try {
    assert.deepEqual(await priced(`${server.url}/tests/browser/plain.html`), await expected());
  } finally {
    await server.close();
  }
});

test('a Vite app, and Node per the README, with the packed package installed from its tarball', async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'quotekit-vite-'));
  try {
    const npm = (args, cwd) => execFileSync('npm', args, { cwd, stdio: 'pipe', encoding: 'utf8' });
    npm(['pack', path.join(root, 'pkg'), '--pack-destination', work, '--silent'], root);
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack produced no tarball');
    const app = path.join(work, 'app');
    cpSync(path.join(root, 'tests', 'vite-app'), app, { recursive: true });
    cpSync(path.join(root, 'tests', 'browser', 'example.js'), path.join(app, 'example.js'));
    npm(['install', '--offline', '--no-audit', '--no-fund', '--loglevel=error', path.join(work, tarball)], app);
    execFileSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: app,
      stdio: 'pipe',
    });
    // The README's Node snippet, run in the app that installed the package:
    // the `exports` map must let Node resolve the .wasm.
    const readme = readFileSync(path.join(root, 'crates', 'pricing-wasm', 'README.md'), 'utf8');
    const nodeSnippet = readme.match(/\*\*Node 20\+\*\*:\s*```js\n([\s\S]*?)```/)[1].replace(/^ {2}/gm, '');
    writeFileSync(
      path.join(app, 'node-check.mjs'),
      `${nodeSnippet}\nconsole.log(JSON.stringify(estimate(${JSON.stringify(catalog)}, ${JSON.stringify(request)}, '${today}').firstInvoice.amount));\n`,
    );
    const printed = execFileSync(process.execPath, ['node-check.mjs'], { cwd: app, encoding: 'utf8' }).trim();
    assert.equal(printed, String((await expected()).dueToday));
    const assets = readdirSync(path.join(app, 'dist', 'assets'));
    assert.ok(assets.some((f) => f.endsWith('.wasm')), `no .wasm asset in ${assets}`);
    const server = await serve(path.join(app, 'dist'));
    try {
      assert.deepEqual(await priced(`${server.url}/`), await expected());
    } finally {
      await server.close();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

// The package README's browser snippet is run as printed, in Chromium against
// the real API (no bundler, no import map, the publishable key), by
// tests/e2e/readme.test.mjs.
test('the default "today" is the UTC date in every time zone (UTC+14 and UTC−9, at hours where their local date differs)', async () => {
  const server = await serve(root);
  try {
    // [time zone, an instant where the local calendar date is not the UTC one]
    for (const [timezoneId, instant, utcDate] of [
      ['Pacific/Kiritimati', '2026-06-01T20:00:00Z', '2026-06-01'], // local: June 2, 10:00
      ['America/Anchorage', '2026-12-01T03:00:00Z', '2026-12-01'], // local (AKST, UTC−9): Nov 30, 18:00
    ]) {
      const context = await browser.newContext({ timezoneId });
      const page = await context.newPage();
      try {
        await page.clock.setFixedTime(new Date(instant));
        await page.goto(`${server.url}/tests/browser/plain.html`);
        await page.waitForSelector('body:not([data-status="loading"])', { timeout: 20_000 });
        const got = await page.evaluate(async () => {
          const pricing = await import('/pkg/quotekit_pricing.js');
          const { catalog, request } = await import('/tests/browser/example.js');
          const { startDate, ...rest } = request.quote;
          const quote = pricing.estimate(catalog, { ...request, quote: rest });
          return { startDate: quote.startDate, local: new Date().toDateString() };
        });
        assert.equal(got.startDate, utcDate, `${timezoneId} (local ${got.local})`);
      } finally {
        await context.close();
      }
    }
  } finally {
    await server.close();
  }
});
