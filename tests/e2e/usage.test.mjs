// Metered usage on the real stack: POST /api/usage validates and enqueues,
// wrangler's local queue delivers to the same Worker's consumer, D1 stores
// each event once, and the billing run prices each period's usage at its end.
// 10 000 events sent twice, in batches of 1 000, from 8 clients at once:
// D1 holds exactly 10 000 and the invoice prices exactly their sum.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { DEMO_CATALOG, startStack } from '../../scripts/stack.mjs';
import { launch } from '../browser/chromium.mjs';
import { loadPkg } from '../node/helpers.mjs';
import { assertSameInvoice, at, client, d1, today } from './helpers.mjs';

let stack, api;
const secret = (extra = {}) => ({ key: stack.secretKey, ...extra });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const addMonths = (iso, n) => {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + n);
  return d.toISOString().slice(0, 10);
};

before(async () => {
  stack = await startStack({ stripeMemoryOnly: true });
  api = client(stack);
  // The demo catalog's API plan: a 10.00 platform fee and metered calls, the first
  // 10 000 included, then 0.002 each up to 1 000 000 (every test here stays below).
});
after(async () => {
  await stack?.stop();
});

/**
 * A contract starting today (UTC). Its `start` is kept, not read again, and `stamp()` is a
 * minute ago but never before that start: a test running across midnight stays on one day.
 */
async function contract(name) {
  const start = today();
  const r = await api.call('POST', '/api/selfService/signup', secret({ body: {
    action: 'CREATE_AND_FINALIZE', billGroup: { collectInvoiceBalanceAutomatically: false },
    customer: { accountName: name, name: 'U. Sage', email: `${name.toLowerCase().replace(/\W/g, '')}@usage.test`,
      billingAddress: { line1: '1 Main', city: 'Austin', state: 'TX', postalCode: '78701', country: 'US' } },
    quote: { startDate: start, offerings: [{ offeringId: 'offr_api', rateId: 'rate_api_monthly',
      items: [{ productId: 'prod_api_platform', quantity: 1 }, { productId: 'prod_api_calls', quantity: 50000 }] }] } } }));
  assert.equal(r.status, 201, r.text);
  const stamp = () => new Date(Math.max(Date.now() - 60_000, Date.parse(`${start}T00:00:01Z`))).toISOString();
  return { id: r.json.contract.id, account: r.json.customer.accountId, start, stamp };
}

/** Waits until D1 holds `n` events of the contract (the consumer runs on its own schedule). */
async function stored(contractId, n, ms = 120_000) {
  const until = Date.now() + ms;
  for (;;) {
    const [{ count }] = d1(stack, `SELECT COUNT(*) AS count FROM usage_events WHERE contract_id = '${contractId}'`);
    if (count >= n || Date.now() > until) return count;
    await sleep(500);
  }
}

test('events through the queue: checked, stored once, billed at the period end', { timeout: 5 * 60_000 }, async () => {
  const c = await contract('Queue Co');
  const now = c.stamp();
  const events = [
    { id: 'q-1', contractId: c.id, productId: 'prod_api_calls', quantity: 12000, timestamp: now },
    { id: 'q-2', contractId: c.id, productId: 'prod_api_calls', quantity: '3000.5', timestamp: now },
    { id: 'q-1', contractId: c.id, productId: 'prod_api_calls', quantity: 12000, timestamp: now },
    { id: 'q-3', contractId: c.id, productId: 'prod_api_platform', quantity: 1, timestamp: now },
  ];
  const r = await api.call('POST', '/api/usage', secret({ body: { events } }));
  assert.equal(r.status, 202, r.text);
  assert.deepEqual([r.json.accepted, r.json.duplicates, r.json.rejected], [2, 1, 1]);
  assert.equal(r.json.events[3].code, 'NOT_METERED');
  assert.equal(await stored(c.id, 2), 2, 'the consumer stored both');
  // Sent again: duplicates, nothing stored twice.
  const again = await api.call('POST', '/api/usage', secret({ body: { events: events.slice(0, 2) } }));
  assert.deepEqual(again.json.events.map((e) => e.status), ['duplicate', 'duplicate']);
  const day = addMonths(c.start, 1);
  const run = await api.call('POST', '/api/billingRuns', secret({ body: { date: day }, headers: at(day) }));
  assert.equal(run.status, 200, run.text);
  const invoices = (await api.call('GET', `/api/accounts/${c.account}/invoices`, secret({ headers: at(day) }))).json.data;
  const usage = invoices.find((i) => i.invoiceDate === day).items.find((l) => l.type === 'USAGE');
  // 15 000.5 calls, the first 10 000 free: 5 000.5 × 0.002 = 10.001 → 10.00.
  assert.deepEqual([usage.quantity, usage.periodStart, usage.amount], [15000.5, c.start, 10]);
});

test('10 000 events sent twice, in batches of 1 000, from 8 clients at once: stored once, billed on their sum', { timeout: 10 * 60_000 }, async (t) => {
  const c = await contract('Burst Co');
  const started = Date.now();
  const ts = c.stamp();
  let sum = 0;
  const batches = [];
  for (let b = 0; b < 10; b++) {
    const events = [];
    for (let i = 0; i < 1000; i++) {
      const n = b * 1000 + i;
      const quantity = (n % 7) + 1;
      sum += quantity;
      events.push({ id: `burst-${n}`, contractId: c.id, productId: 'prod_api_calls', quantity, timestamp: ts });
    }
    batches.push(events, events); // every batch twice
  }
  let next = 0;
  const outcomes = { accepted: 0, duplicates: 0, rejected: 0 };
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < batches.length) {
      const events = batches[next++];
      for (let attempt = 0; ; attempt++) {
        const r = await api.call('POST', '/api/usage', secret({ body: { events } }));
        if (r.status === 202) {
          outcomes.accepted += r.json.accepted;
          outcomes.duplicates += r.json.duplicates;
          outcomes.rejected += r.json.rejected;
          break;
        }
        // A clean refusal under load (503: nothing accepted) is sent again; the ids make it safe.
        assert.ok(r.status === 503 && attempt < 5, `${r.status} ${r.text.slice(0, 200)}`);
        await sleep(500);
      }
    }
  }));
  assert.equal(outcomes.rejected, 0);
  // A copy still in flight may be answered `accepted`; it is dropped when stored.
  assert.ok(outcomes.accepted >= 10000 && outcomes.accepted + outcomes.duplicates === 20000, JSON.stringify(outcomes));
  const count = await stored(c.id, 10000, 300_000);
  t.diagnostic(`20 000 events sent, ${count} stored in ${((Date.now() - started) / 1000).toFixed(1)} s (${JSON.stringify(outcomes)})`);
  await sleep(2000); // a late duplicate message would change nothing: check it stayed at 10 000
  assert.equal(await stored(c.id, 10001, 1000), 10000);
  // Each stored event is in exactly one part of its day's aggregate, which the run bills from.
  const [parts] = d1(stack, `SELECT COUNT(*) AS parts, SUM(events) AS events FROM usage_days WHERE contract_id = '${c.id}'`);
  assert.equal(parts.events, 10000);
  t.diagnostic(`the day's aggregate: ${parts.parts} parts (one per consumer batch)`);
  const day = addMonths(c.start, 1);
  const run = await api.call('POST', '/api/billingRuns', secret({ body: { date: day }, headers: at(day) }));
  assert.equal(run.status, 200, run.text);
  const invoices = (await api.call('GET', `/api/accounts/${c.account}/invoices`, secret({ headers: at(day) }))).json.data;
  const usage = invoices.find((i) => i.invoiceDate === day).items.find((l) => l.type === 'USAGE');
  assert.equal(usage.quantity, sum);
  assert.equal(usage.amount, Math.round(Math.max(0, sum - 10000) * 0.002 * 100) / 100);
});

test('the portal shows this period\'s usage, its price so far and at this pace, as the API answers them', { timeout: 3 * 60_000 }, async () => {
  const c = await contract('Portal Usage Co');
  const ts = c.stamp();
  const r = await api.call('POST', '/api/usage', secret({ body: { events: [
    { id: 'portal-1', contractId: c.id, productId: 'prod_api_calls', quantity: 25000, timestamp: ts }] } }));
  assert.equal(r.status, 202, r.text);
  assert.equal(await stored(c.id, 1), 1);
  const usage = (await api.call('GET', `/api/contracts/${c.id}/usage`, secret())).json;
  const [current] = usage.current;
  assert.equal(current.quantity, 25000);
  assert.equal(current.amount, 30); // 15 000 past the free 10 000, at 0.002
  const token = (await api.call('POST', '/api/customerTokens', secret({ body: { accountId: c.account } }))).json.token;
  const browser = await launch();
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${stack.url}/portal/#token=${token}`);
    const row = page.locator('[data-usage=prod_api_calls]');
    await row.waitFor({ timeout: 60_000 });
    assert.deepEqual(
      [Number(await row.getAttribute('data-quantity')), Number(await row.getAttribute('data-amount')), Number(await row.getAttribute('data-projected'))],
      [current.quantity, current.amount, current.projected.amount]);
    assert.match(await row.textContent(), /API calls/);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});

test('13 months of daily runs with events through the queue: each period\'s usage billed once, at its end, at its sum, as billingDue bills it', { timeout: 10 * 60_000 }, async () => {
  const start = '2026-01-15';
  const signed = await api.call('POST', '/api/selfService/signup', secret({ headers: at(start), body: {
    action: 'CREATE_AND_FINALIZE', billGroup: { collectInvoiceBalanceAutomatically: false },
    customer: { accountName: 'Thirteen Co', name: 'T. Hirteen', email: 'thirteen@usage.test', billingAddress: { country: 'US', state: 'TX' } },
    quote: { startDate: start, offerings: [{ offeringId: 'offr_api', rateId: 'rate_api_monthly',
      items: [{ productId: 'prod_api_platform', quantity: 1 }, { productId: 'prod_api_calls', quantity: 1 }] }] } } }));
  assert.equal(signed.status, 201, signed.text);
  const id = signed.json.contract.id;
  const addDays = (date, n) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86400000).toISOString().slice(0, 10);
  // Events on the 17th, 25th and 5th of each month: every anniversary period [15th, 15th) gets three.
  const sent = new Map(); // period start → usage sent for it
  const usageDays = []; // what the package's billingDue is given: usage per product and day
  const periodOf = (day) => {
    const [y, m, d] = day.split('-').map(Number);
    const p = new Date(Date.UTC(y, d >= 15 ? m - 1 : m - 2, 15));
    return p.toISOString().slice(0, 10);
  };
  let n = 0, stored = 0;
  const last = '2027-02-20';
  for (let day = start; day <= last; day = addDays(day, 1)) {
    if (['05', '17', '25'].includes(day.slice(8)) && day < '2027-01-15') {
      const quantity = 1000 * ((n % 9) + 1) + (n % 3 === 0 ? 9000 : 0);
      const r = await api.call('POST', '/api/usage', secret({ headers: at(day), body: { events: [
        { id: `m13-${n++}`, contractId: id, productId: 'prod_api_calls', quantity, timestamp: `${day}T09:00:00Z` }] } }));
      assert.equal(r.json?.accepted, 1, `${day}: ${r.text}`);
      sent.set(periodOf(day), (sent.get(periodOf(day)) ?? 0) + quantity);
      usageDays.push({ productId: 'prod_api_calls', date: day, quantity });
      stored += 1;
      // Stored before the day's run: the consumer runs on its own schedule.
      for (let i = 0; i < 100 && d1(stack, `SELECT COUNT(*) AS c FROM usage_events WHERE contract_id = '${id}'`)[0].c < stored; i++) await sleep(100);
    }
    const run = await api.call('POST', '/api/billingRuns', secret({ body: { date: day }, headers: at(day) }));
    assert.equal(run.status, 200, `${day}: ${run.text}`);
  }
  const lines = d1(stack, `SELECT body FROM invoices WHERE contract_id = '${id}' ORDER BY invoice_date`)
    .flatMap((r) => JSON.parse(r.body).items.filter((l) => l.type === 'USAGE'));
  // Twelve whole periods ended by 2027-01-15 (the 13th, [2027-01-15, 02-15), has no events and ends after the last run).
  const expected = [...sent.entries()].sort().map(([p, u]) => [p, u, Math.round(Math.max(0, u - 10000) * 0.002 * 100) / 100]);
  assert.equal(expected.length, 12);
  const billed = lines.map((l) => [l.periodStart, l.quantity, l.amount]);
  assert.deepEqual(billed, expected.filter(([, , amount]) => amount > 0), 'every period billed once, at its sum (zero ones left out)');
  const late = d1(stack, `SELECT COUNT(*) AS c FROM usage_events WHERE contract_id = '${id}' AND late IS NOT NULL`)[0].c;
  assert.equal(late, 0);
  // Every invoice the runs issued equals the npm package's billingDue for the
  // contract as signed and the same usage per day: line for line, to the cent.
  const pricing = await loadPkg();
  const catalog = JSON.parse(readFileSync(DEMO_CATALOG, 'utf8'));
  const due = pricing.billingDue(catalog, signed.json.contract, last, usageDays).invoices;
  const issued = d1(stack, `SELECT body FROM invoices WHERE contract_id = '${id}' AND invoice_date > '${start}' ORDER BY invoice_date`)
    .map((r) => JSON.parse(r.body));
  assert.equal(issued.length, due.length, issued.map((i) => i.invoiceDate).join(', '));
  assert.equal(due.length, 13, 'an advance charge on each 15th from 2026-02-15 to 2027-02-15');
  issued.forEach((inv, i) => {
    assertSameInvoice(inv, due[i], `run invoice ${inv.invoiceDate}`);
    inv.items.forEach((item, j) => assert.equal(item.type, due[i].lines[j].type, `${inv.invoiceDate}: items[${j}].type`));
  });
  assert.equal(due.flatMap((i) => i.lines).filter((l) => l.type === 'USAGE').length, billed.length);
});
