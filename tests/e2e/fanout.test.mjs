// The daily run fanned out on Cloudflare Queues, on the real stack (wrangler
// dev, its local queue and local D1): the Cron Trigger sends the ranges, the
// same Worker's consumer bills them page by page. Exactly once holds when the
// Worker is killed mid-run, every range is delivered again (as the platform
// redelivers what was not acknowledged), and a run over the whole date goes
// through the same contracts at the same time.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startStack } from '../../scripts/stack.mjs';
import { at, client, d1, d1Script } from './helpers.mjs';

let stack, api;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const addMonths = (iso, n) => {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + n);
  return d.toISOString().slice(0, 10);
};

before(async () => {
  stack = await startStack({ stripeMemoryOnly: true, demo: false });
  api = client(stack);
});
after(async () => {
  await stack?.stop();
});

/** `n` monthly Team contracts due on `due`, invoices collected by hand, their ids spread over every range. */
function seed(n, due) {
  const start = addMonths(due, -1);
  const version = stack.catalog.version;
  const sql = [];
  for (let i = 0; i < n; i++) {
    const id = `${BASE62[(i * 37) % 62]}fan${String(i).padStart(5, '0')}`;
    const body = JSON.stringify({ id: `ctr_${id}`, status: 'ACTIVE', currency: 'USD', startDate: start, endDate: null,
      offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', serviceStart: start, anchorDate: start,
        anchorDay: Number(start.slice(8)), invoicedThrough: due,
        products: [{ productId: 'prod_seats', quantity: 1 + (i % 40) }, { productId: 'prod_storage', quantity: 100 }] }],
      accountId: `acct_${id}`, billGroupId: `bg_${id}`, quoteId: `quo_${id}`, catalogVersion: version });
    sql.push(
      `INSERT INTO accounts (id, name, currency, billing_address, session_id, created_at) VALUES ('acct_${id}', 'Fan ${id}', 'USD', '{"country":"US","state":"CA"}', 'fan:${id}', '${start}T00:00:00Z');`,
      `INSERT INTO bill_groups (id, account_id, currency, auto_email_invoice, collect_automatically, created_at) VALUES ('bg_${id}', 'acct_${id}', 'USD', 1, 0, '${start}T00:00:00Z');`,
      `INSERT INTO quotes (id, account_id, status, catalog_version, body, created_at) VALUES ('quo_${id}', 'acct_${id}', 'PROCESSED', ${version}, '{}', '${start}T00:00:00Z');`,
      `INSERT INTO contracts (id, account_id, bill_group_id, quote_id, catalog_version, status, body, created_at) VALUES ('ctr_${id}', 'acct_${id}', 'bg_${id}', 'quo_${id}', ${version}, 'ACTIVE', '${body}', '${start}T00:00:00Z');`,
    );
  }
  d1Script(stack, sql.join('\n'));
}

test('killed mid-run, every range delivered again and a whole run beside them: one invoice per contract', { timeout: 10 * 60_000 }, async (t) => {
  const N = 4000;
  // The cron bills the real date: the contracts are due today (a test across midnight still finds them due).
  const due = new Date().toISOString().slice(0, 10);
  seed(N, due);
  const invoiced = () => d1(stack, `SELECT COUNT(*) AS n FROM invoices WHERE invoice_date = '${due}'`)[0].n;
  const cron = async () => {
    const res = await fetch(`${stack.url}/__scheduled?cron=${encodeURIComponent('0 6 * * *')}`);
    assert.equal(res.status, 200, await res.text());
  };
  await cron();
  // Killed (SIGKILL, workerd with it) as soon as the first pages are billed: mid-run, maybe mid-page.
  let atKill = 0;
  for (const until = Date.now() + 120_000; atKill === 0 && Date.now() < until; await sleep(20)) atKill = invoiced();
  await stack.restartWorker({ kill: true });
  const afterKill = invoiced();
  t.diagnostic(`killed with ${atKill} of ${N} contracts invoiced (${afterKill} once it was down)`);
  assert.ok(afterKill > 0 && afterKill < N, `killed mid-run: ${afterKill} of ${N}`);
  // What the killed Worker had in flight is gone; every range sent again stands
  // for the platform's redelivery (pages already billed delivered twice). At the
  // same time, a run over the whole date through the API overlaps every range.
  await cron();
  let cursor = '';
  let pages = 0;
  let byApi = 0;
  do {
    const r = await api.call('POST', '/api/billingRuns', { key: stack.secretKey, body: { date: due, limit: 200, cursor }, headers: at(due) });
    assert.equal(r.status, 200, r.text);
    cursor = r.json.nextCursor ?? '';
    byApi += r.json.invoicesIssued;
    pages++;
  } while (cursor);
  let count = invoiced();
  for (const until = Date.now() + 300_000; count < N && Date.now() < until; await sleep(500)) count = invoiced();
  await sleep(2000); // the queue's last pages: nothing may be added
  t.diagnostic(`${pages} pages through the API beside the queue's issued ${byApi}; ${invoiced()} invoices in all`);
  const one = (sql) => d1(stack, sql)[0].n;
  assert.equal(one(`SELECT COUNT(*) AS n FROM invoices WHERE invoice_date = '${due}'`), N, 'one invoice per contract');
  assert.equal(one(`SELECT COUNT(DISTINCT contract_id) AS n FROM invoices WHERE invoice_date = '${due}'`), N);
  assert.equal(one(`SELECT COUNT(*) AS n FROM billed_periods WHERE period_start = '${due}'`), N, 'one claim per period');
  const next = addMonths(due, 1);
  assert.equal(one(`SELECT COUNT(*) AS n FROM contracts WHERE json_extract(body, '$.offerings[0].invoicedThrough') = '${next}'`), N,
    'every contract invoiced through the next period, once');
  // Each contract's versions: the import's and the one billing, no other.
  assert.equal(one(`SELECT COUNT(*) AS n FROM contracts WHERE version <> 2`), 0);
});
