// Billing that never silently stops, end to end on workerd + local D1 +
// localstripe with the Worker's test clock: thirteen months of daily runs
// across a catalog republished mid-way (plans dropped and repriced), every
// contract's invoices equal to the engine's billingDue on its own catalog
// version, a contract moved to the current version by the vendor, a broken
// contract reported and skipped, in-arrears changes billed every quarter;
// sign-ups that owe nothing issue no invoice; `make dev` keeps a published
// catalog across restarts.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEMO_CATALOG, ROOT, freePort, startStack } from '../../scripts/stack.mjs';
import { loadPkg } from '../node/helpers.mjs';
import { assertSameInvoice, at, client, confirmCard, d1, d1Write, importContract } from './helpers.mjs';

let stack;
let api;
let pricing;

// Version 1: the demo catalog with Priority support sold per unit (up to 10).
const v1 = JSON.parse(readFileSync(DEMO_CATALOG, 'utf8'));
for (const p of v1.products) if (p.id === 'prod_support') p.maxQuantity = 10;
for (const o of v1.offerings) {
  if (o.id !== 'offr_support') continue;
  for (const r of o.rates) r.prices = [{ productId: 'prod_support', model: 'PER_UNIT', unitAmount: r.billingTiming === 'IN_ARREARS' ? '139' : '49' }];
}
// Version 2, published mid-year: Priority support retired, Team seats 12 → 15 a month, quarterly 34 → 40.
const v2 = structuredClone(v1);
v2.offerings = v2.offerings.filter((o) => o.id !== 'offr_support');
for (const r of v2.offerings.find((o) => o.id === 'offr_team').rates) {
  if (r.id === 'rate_team_monthly') r.prices[0].unitAmount = '15';
  if (r.id === 'rate_team_quarterly') r.prices[0].unitAmount = '40';
}

before(async () => {
  stack = await startStack({ demo: false, catalog: false });
  api = client(stack);
  pricing = await loadPkg();
});
after(async () => {
  await stack?.stop();
});

const secret = (extra = {}) => ({ key: stack.secretKey, ...extra });
const addDays = (date, n) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86400000).toISOString().slice(0, 10);
const publish = async (catalog) => {
  const r = await api.call('PUT', '/api/catalog', secret({ body: catalog }));
  assert.equal(r.status, 201, r.text);
  return r.json.version;
};
const run = async (date) => {
  const r = await api.call('POST', '/api/billingRuns', secret({ body: { date }, headers: at(date) }));
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const change = async (date, body) => {
  const r = await api.call('POST', '/api/selfService/contract', secret({ body, headers: at(date) }));
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const invoicesOf = (contractId) =>
  d1(stack, `SELECT id, invoice_date, status, body FROM invoices WHERE contract_id = '${contractId}' ORDER BY invoice_date, created_at`)
    .map((r) => ({ ...JSON.parse(r.body), status: r.status }));
const line = (offeringId, rateId, start, invoicedThrough, products) => ({
  offeringId, rateId, serviceStart: start, anchorDate: start, anchorDay: Number(start.slice(8)), invoicedThrough, products,
});
const contract = (start, lines) => ({ status: 'ACTIVE', currency: 'USD', startDate: start, endDate: null, offerings: lines });
const seats = (q) => [{ productId: 'prod_seats', quantity: q }, { productId: 'prod_storage', quantity: 100 }];
const units = (q) => [{ productId: 'prod_support', quantity: q }];

describe('thirteen months across a catalog republished mid-way', () => {
  const start = '2026-01-01';
  const end = '2027-01-31';
  const republish = '2026-06-15';
  const ids = {};
  const imported = {};
  const answers = {};

  test('every contract is billed on its own catalog version; a broken one is reported and skipped', async () => {
    assert.equal(await publish(v1), 1);
    const cases = {
      grandfathered: contract(start, [line('offr_team', 'rate_team_monthly', start, '2026-02-01', seats(10))]),
      moved: contract(start, [line('offr_team', 'rate_team_monthly', start, '2026-02-01', seats(4))]),
      quarterly: contract(start, [line('offr_team', 'rate_team_quarterly', start, '2026-04-01', seats(3))]),
      arrears: contract(start, [line('offr_support', 'rate_support_quarterly_arrears', start, start, units(1))]),
      canceled: contract(start, [line('offr_support', 'rate_support_quarterly_arrears', start, start, units(2))]),
      broken: contract(start, [line('offr_team', 'rate_team_monthly', start, '2026-02-01', seats(2))]),
    };
    for (const [name, c] of Object.entries(cases)) {
      const r = await importContract(stack, c, { name: `Continuity ${name}` });
      ids[name] = r.contract.id;
      imported[name] = r.contract;
    }
    // Deliberately broken by hand: its catalog version does not exist.
    d1Write(stack, `UPDATE contracts SET body = json_set(body, '$.catalogVersion', 99) WHERE id = '${ids.broken}'`);
    let issued = 0;
    for (let day = start; day <= end; day = addDays(day, 1)) {
      const r = await run(day);
      assert.equal(r.failed, 0, `${day}: ${JSON.stringify(r)}`);
      assert.deepEqual(r.failedContracts.map((f) => [f.contractId, f.code]), [[ids.broken, 'CATALOG_VERSION_MISSING']], day);
      issued += r.invoicesIssued;
      if (day === '2026-02-15') {
        // Mid-quarter, in arrears: 1 → 3 units from today.
        answers.arrears = await change(day, { action: 'QUANTITY_CHANGE', contractId: ids.arrears,
          payload: { offerings: [{ offeringId: 'offr_support', products: [{ productId: 'prod_support', quantity: 3 }] }] } });
      }
      if (day === '2026-05-10') {
        answers.canceled = await change(day, { action: 'CANCELLATION', contractId: ids.canceled, payload: null });
      }
      if (day === republish) assert.equal(await publish(v2), 2);
      if (day === '2026-07-10') {
        const r = await api.call('POST', `/api/contracts/${ids.moved}/reprice`, secret({ headers: at(day) }));
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.contract.scheduledChanges[0].effectiveDate, '2026-08-01');
      }
    }
    // The engine's answers, each on the contract's own version.
    const due = (catalog, c, through) => pricing.billingDue(catalog, c, through).invoices;
    const expect = {
      grandfathered: due(v1, imported.grandfathered, end),
      moved: [...due(v1, imported.moved, '2026-07-31'), ...due(v2, imported.moved, end).filter((i) => i.invoiceDate >= '2026-08-01')],
      quarterly: due(v1, imported.quarterly, end),
      arrears: [...due(v1, imported.arrears, '2026-02-14'), ...due(v1, answers.arrears.contract, end)],
      canceled: [...due(v1, imported.canceled, '2026-05-09'), ...due(v1, answers.canceled.contract, end)],
      broken: [],
    };
    let total = 0;
    for (const [name, invoices] of Object.entries(expect)) {
      const got = invoicesOf(ids[name]);
      assert.equal(got.length, invoices.length, `${name}: ${got.map((i) => i.invoiceDate).join(', ')}`);
      invoices.forEach((inv, i) => assertSameInvoice(got[i], inv, `${name}[${i}]`));
      total += invoices.length;
    }
    assert.equal(issued, total, 'the runs issued exactly the engine\'s invoices');
    // The figures that make the cases worth having.
    assert.equal(expect.grandfathered.length, 12, 'Feb 2026 to Jan 2027');
    assert.ok(expect.grandfathered.every((i) => i.lines[0].amount === 120), 'grandfathered: 10 seats at 12, before and after the republish');
    assert.deepEqual(expect.moved.map((i) => i.lines[0].amount), [...Array(6).fill(48), ...Array(6).fill(60)], 'moved: 4 × 12 to July, 4 × 15 from August');
    assert.deepEqual(expect.arrears.map((i) => i.invoiceDate), ['2026-04-01', '2026-07-01', '2026-10-01', '2027-01-01'],
      'in arrears, every quarter after the change, on the retired plan\'s price');
    assert.deepEqual(expect.canceled.map((i) => i.invoiceDate), ['2026-04-01', '2026-07-01'], 'Q1, then the used piece of Q2');
    // Nothing is left to bill on the canceled contract: it left the runs.
    const [body] = d1(stack, `SELECT body FROM contracts WHERE id = '${ids.canceled}'`);
    assert.equal(JSON.parse(body.body).unbilledArrears, undefined);
    const [moved] = d1(stack, `SELECT catalog_version FROM contracts WHERE id = '${ids.moved}'`);
    assert.equal(moved.catalog_version, 2);
  });
});

describe('sign-ups that owe nothing today', () => {
  test('an IN_ARREARS sign-up issues no invoice; its quarter is invoiced at its end', async () => {
    await publish(v1); // support is sold again
    const t = new Date().toISOString().slice(0, 10);
    const created = await api.post({
      action: 'CREATE_WITH_PAYMENT_METHOD',
      customer: { accountName: 'Arrears Signup Co', name: 'Ari Rears', email: 'ari@arrears.test', billingAddress: { country: 'US', state: 'NY' } },
      quote: { startDate: t, offerings: [{ offeringId: 'offr_support', rateId: 'rate_support_quarterly_arrears', items: [{ productId: 'prod_support', quantity: 1 }] }] },
    });
    assert.equal(created.status, 201, created.text);
    const init = created.json.paymentMethodInit.stripe;
    await confirmCard(stack, init);
    const done = await api.patch(created.json.sessionId, { action: 'FINALIZE', paymentMethod: { paymentToken: init.setupIntentId } });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.invoice, undefined, 'no invoice in the answer');
    const contractId = done.json.contract.id;
    assert.equal(invoicesOf(contractId).length, 0, 'no OPEN 0.00 invoice without lines');
    const quarterEnd = done.json.quote.nextInvoiceDate;
    await run(quarterEnd);
    const list = invoicesOf(contractId);
    assert.equal(list.length, 1);
    assert.equal(list[0].invoiceDate, quarterEnd);
    assert.equal(list[0].amountWithoutTax, 139);
  });
});

describe('make dev', () => {
  /** Starts `node scripts/dev.mjs` (what `make dev` runs after building) on its own ports and state. */
  const startDev = (env) => new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [path.join(ROOT, 'scripts/dev.mjs')], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`make dev did not start in 120 s:\n${out}`)), 120000);
    const seen = (chunk) => {
      out += chunk;
      if (out.includes('QuoteKit is running')) {
        clearTimeout(timer);
        resolve({ proc, out });
      }
    };
    proc.stdout.on('data', seen);
    proc.stderr.on('data', (c) => { out += c; });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`make dev exited ${code}:\n${out}`)); });
  });
  const stopDev = ({ proc }) => new Promise((resolve) => {
    proc.removeAllListeners('exit');
    proc.on('exit', resolve);
    proc.kill('SIGTERM');
  });

  test('with another Stripe, its keys and its Stripe.js reach the pages; promotion codes get the default 10 guesses a minute', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'quotekit-dev-'));
    const port = await freePort();
    const env = { PORT: String(port), QUOTEKIT_STATE_DIR: state, STRIPE_API_BASE: 'http://127.0.0.1:9', STRIPE_SECRET_KEY: 'sk_test_mine',
      STRIPE_PUBLISHABLE_KEY: 'pk_test_mine', STRIPE_JS_URL: 'http://127.0.0.1:9/js.stripe.com/v3/', PROMOTION_CODE_GUESSES_PER_MINUTE: '' };
    try {
      const dev = await startDev(env);
      const config = await (await fetch(`http://127.0.0.1:${port}/api/selfService/config`)).json();
      assert.deepEqual(config.stripe, { publishableKey: 'pk_test_mine', jsUrl: 'http://127.0.0.1:9/js.stripe.com/v3/' });
      // The documented default budget of promotion-code guesses: 10 a minute, then 429.
      const guess = (i) => fetch(`http://127.0.0.1:${port}/api/selfService/promotionCodes/NOPE${i}`, { headers: { authorization: 'Bearer pk_test_local' } });
      const statuses = [];
      for (let i = 0; i < 11; i++) statuses.push((await guess(i)).status);
      assert.deepEqual(statuses, [...Array(10).fill(404), 429], 'make dev guards promotion codes with the default of 10 a minute');
      await stopDev(dev);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  test('a catalog published while it runs is still the catalog after a restart; make dev-reset starts afresh', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'quotekit-dev-'));
    const port = await freePort();
    const env = { PORT: String(port), STRIPE_PORT: String(await freePort()), QUOTEKIT_STATE_DIR: state };
    const url = `http://127.0.0.1:${port}`;
    const get = async () => {
      const r = await fetch(`${url}/api/catalog`, { headers: { authorization: 'Bearer pk_test_local' } });
      return { version: r.headers.get('quotekit-catalog-version'), body: await r.json() };
    };
    try {
      let dev = await startDev(env);
      assert.equal((await get()).version, '1', 'the demo catalog, into an empty database');
      assert.doesNotMatch(dev.out, /NO_CATALOG|✘ \[ERROR\]/, 'a first start prints no error for the catalog it is about to publish');
      const mine = { ...v1, products: v1.products.map((p) => (p.id === 'prod_seats' ? { ...p, name: 'Team members' } : p)) };
      const put = await fetch(`${url}/api/catalog`, { method: 'PUT', headers: { authorization: 'Bearer sk_test_local', 'content-type': 'application/json' }, body: JSON.stringify(mine) });
      assert.equal(put.status, 201, await put.text());
      await stopDev(dev);
      dev = await startDev(env);
      const after = await get();
      assert.equal(after.version, '2', 'not republished over');
      assert.equal(after.body.products.find((p) => p.id === 'prod_seats').name, 'Team members');
      assert.match(dev.out, /as published before/);
      await stopDev(dev);
      // make dev-reset starts afresh: the demo catalog again.
      execFileSync('make', ['--no-print-directory', 'dev-reset'], { cwd: ROOT, env: { ...process.env, QUOTEKIT_STATE_DIR: state } });
      dev = await startDev(env);
      const fresh = await get();
      assert.equal(fresh.version, '1');
      assert.equal(fresh.body.products.find((p) => p.id === 'prod_seats').name, 'Seats');
      await stopDev(dev);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});
