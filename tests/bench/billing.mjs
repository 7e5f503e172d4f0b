// The billing run over many contracts on local D1 (wrangler dev, workerd):
// wall time and D1 statements per contract. Contracts are seeded straight
// into the local database with `wrangler d1 execute --local` (one SQL file),
// then `POST /api/billingRuns` pages through them as the cron would.
// Usage: node tests/bench/billing.mjs [contracts] [page] [usage]   (figures go to BENCHMARKS.md)
// With `usage`: contracts of the demo's API plan, each with ten days of usage
// stored (raw events and their per-day aggregates, as the queue's consumer
// writes them), billed at the period's end with the next platform fee.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { d1 as e2eD1 } from '../e2e/helpers.mjs';
import { DEMO_CATALOG, ROOT, WRANGLER_ENV, localConfig, migrate, publishCatalog, startWorker, freePort } from '../../scripts/stack.mjs';

const N = Number(process.argv[2] ?? 10000);
const PAGE = Number(process.argv[3] ?? 100);
const USAGE = process.argv[4] === 'usage';
// `cron`: the Cron Trigger fans the run out on the billing queue (wrangler's
// local queue) instead of pages requested one after another; the contracts
// are then due today (the cron bills the real date) and their ids spread over
// the ranges as random ids do.
const CRON = process.argv[4] === 'cron';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const addMonthsIso = (iso, k) => {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + k);
  return d.toISOString().slice(0, 10);
};
const dueOn = CRON ? new Date().toISOString().slice(0, 10) : '2026-02-01';
const startOn = CRON ? addMonthsIso(dueOn, -1) : '2026-01-01';
const dir = mkdtempSync(path.join(os.tmpdir(), 'quotekit-bench-'));
await migrate(dir);
const port = await freePort();
const vars = { SECRET_KEY: 'sk_bench', PUBLISHABLE_KEY: 'pk_bench', STRIPE_API_BASE: 'http://127.0.0.1:9', TEST_CLOCK: 'enabled' };
let worker = await startWorker({ port, persistDir: dir, vars });
const pub = await publishCatalog(worker.url, 'sk_bench', readFileSync(DEMO_CATALOG, 'utf8'));

// Seed N monthly Team (or API) contracts due on 2026-02-01, collected by invoice (no Stripe).
const q = (s) => `'${s.replaceAll("'", "''")}'`;
const sql = [];
let expectedUsage = 0; // the sum of the usage lines' amounts the run must issue
for (let i = 0; i < N; i++) {
  const n = `${CRON ? BASE62[(i * 37) % 62] : 'b'}${String(i).padStart(6, '0')}`;
  const line = USAGE
    ? { offeringId: 'offr_api', rateId: 'rate_api_monthly', serviceStart: '2026-01-01', anchorDate: '2026-01-01', anchorDay: 1,
      invoicedThrough: '2026-02-01', meteredThrough: '2026-01-01',
      products: [{ productId: 'prod_api_platform', quantity: 1 }, { productId: 'prod_api_calls', quantity: 50000 }] }
    : { offeringId: 'offr_team', rateId: 'rate_team_monthly', serviceStart: startOn, anchorDate: startOn, anchorDay: Number(startOn.slice(8)),
      invoicedThrough: dueOn, products: [{ productId: 'prod_seats', quantity: 1 + (i % 40) }, { productId: 'prod_storage', quantity: 100 + (i % 900) }] };
  const body = JSON.stringify({ id: `ctr_${n}`, status: 'ACTIVE', currency: 'USD', startDate: startOn, endDate: null,
    offerings: [line], accountId: `acct_${n}`, billGroupId: `bg_${n}`, quoteId: `quo_${n}`, catalogVersion: pub.version });
  if (USAGE) {
    // Ten days of January, one event each (500 to 11 500 calls a day, by contract and day).
    const days = Array.from({ length: 10 }, (_, d) => [`2026-01-${String(3 * d + 1).padStart(2, '0')}`, 500 * (1 + ((i * 7 + d * d) % 23))]);
    const events = days.map(([day, qty], d) => `('evt_${n}_${d}', 'ctr_${n}', 'prod_api_calls', '${day}', '${qty}', '${day}T09:00:00Z', '${day}T09:00:01Z', '${day}T09:00:02Z', NULL)`);
    const parts = days.map(([day, qty], d) => `('ctr_${n}', '${day}', 'prod_api_calls', 'evt_${n}_${d}', '${qty}', '${qty}', 1)`);
    sql.push(`INSERT INTO usage_events (id, contract_id, product_id, day, quantity, timestamp, received_at, stored_at, late) VALUES ${events.join(', ')};`);
    sql.push(`INSERT INTO usage_days (contract_id, day, product_id, part, total, peak, events) VALUES ${parts.join(', ')};`);
    const used = days.reduce((sum, [, qty]) => sum + qty, 0);
    expectedUsage += Math.round(Math.max(0, used - 10000) * 0.002 * 100); // cents: 10 000 included, then 0.002
  }
  sql.push(`INSERT INTO accounts (id, name, currency, billing_address, session_id, created_at) VALUES ('acct_${n}', 'Bench ${n}', 'USD', '{"country":"US","state":"CA"}', 'bench:${n}', '2026-01-01T00:00:00Z');`);
  sql.push(`INSERT INTO bill_groups (id, account_id, currency, auto_email_invoice, collect_automatically, created_at) VALUES ('bg_${n}', 'acct_${n}', 'USD', 1, 0, '2026-01-01T00:00:00Z');`);
  sql.push(`INSERT INTO quotes (id, account_id, status, catalog_version, body, created_at) VALUES ('quo_${n}', 'acct_${n}', 'PROCESSED', ${pub.version}, '{}', '2026-01-01T00:00:00Z');`);
  sql.push(`INSERT INTO contracts (id, account_id, bill_group_id, quote_id, catalog_version, status, body, created_at) VALUES ('ctr_${n}', 'acct_${n}', 'bg_${n}', 'quo_${n}', ${pub.version}, 'ACTIVE', ${q(body)}, '2026-01-01T00:00:00Z');`);
}
const file = path.join(dir, 'seed.sql');
writeFileSync(file, sql.join('\n'));
await worker.stop();
const t0 = performance.now();
execFileSync(path.join(ROOT, 'node_modules/.bin/wrangler'), ['d1', 'execute', 'DB', '--local', '--persist-to', dir, '--config', localConfig(), '--file', file], { env: WRANGLER_ENV, stdio: 'ignore' });
const seeded = (performance.now() - t0) / 1000;
worker = await startWorker({ port, persistDir: dir, vars });

const date = dueOn;
// Whatever happens, stop the Worker (a run left going keeps a core busy).
process.on('exit', () => {
  try {
    process.kill(-worker.child.pid, 'SIGKILL');
  } catch {}
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));
let cursor = '';
let contracts = 0;
let issued = 0;
let statements = 0;
let pages = 0;
const pageTimes = [];
const start = performance.now();
// Read beside the running Worker as the e2e tests do (Python's sqlite3 on the local D1 file).
const d1 = (q) => e2eD1({ persistDir: dir }, q);
if (CRON) {
  // The cron sends its ranges and returns; the queue's consumers bill them. Timed until every contract's invoice is stored.
  const res = await fetch(`${worker.url}/__scheduled?cron=${encodeURIComponent('0 6 * * *')}`);
  if (res.status !== 200) throw new Error(await res.text());
  while (d1(`SELECT COUNT(*) AS n FROM invoices WHERE invoice_date = '${date}'`)[0].n < N) {
    if (performance.now() - start > 30 * 60_000) throw new Error('not billed in 30 minutes');
    await new Promise((r) => setTimeout(r, 1000));
  }
  for (const row of d1(`SELECT report FROM billing_runs WHERE run_date = '${date}'`)) {
    const r = JSON.parse(row.report);
    pageTimes.push(0);
    contracts += r.contracts;
    issued += r.invoicesIssued;
    statements += r.d1Statements;
    pages++;
  }
} else do {
  const t = performance.now();
  const res = await fetch(`${worker.url}/api/billingRuns`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_bench', 'content-type': 'application/json', 'quotekit-test-now': `${date}T06:00:00Z` },
    body: JSON.stringify({ date, limit: PAGE, cursor }),
  });
  const r = await res.json();
  if (res.status !== 200) throw new Error(JSON.stringify(r));
  pageTimes.push(performance.now() - t);
  contracts += r.contracts;
  issued += r.invoicesIssued;
  statements += r.d1Statements;
  pages++;
  cursor = r.nextCursor ?? '';
} while (cursor);
const total = (performance.now() - start) / 1000;
await worker.stop();
pageTimes.sort((a, b) => a - b);
console.log(`seeded ${N} contracts in ${seeded.toFixed(1)} s (wrangler d1 execute --local)`);
console.log(`run ${date}: ${contracts} contracts, ${issued} invoices, ${pages} pages of ${PAGE}`);
console.log(`wall ${total.toFixed(1)} s = ${((total * 1000) / contracts).toFixed(2)} ms per contract; page p50 ${(pageTimes[pageTimes.length >> 1] / 1000).toFixed(1)} s, max ${(pageTimes.at(-1) / 1000).toFixed(1)} s`);
console.log(`D1 statements: ${statements} = ${(statements / contracts).toFixed(1)} per contract`);
if (issued !== N) process.exitCode = 1;
if (USAGE) {
  // Every usage line priced: their sum equals the seeded usage's, to the cent.
  const out = execFileSync(path.join(ROOT, 'node_modules/.bin/wrangler'), ['d1', 'execute', 'DB', '--local', '--persist-to', dir, '--config', localConfig(), '--json',
    '--command', "SELECT body FROM invoices WHERE invoice_date = '2026-02-01'"], { env: WRANGLER_ENV, maxBuffer: 1 << 30 });
  const bodies = JSON.parse(out)[0].results.map((r) => JSON.parse(r.body));
  const lines = bodies.flatMap((b) => b.items.filter((l) => l.type === 'USAGE'));
  const cents = lines.reduce((sum, l) => sum + Math.round(l.amount * 100), 0);
  console.log(`usage lines: ${lines.length}, ${(cents / 100).toFixed(2)} (expected ${(expectedUsage / 100).toFixed(2)})`);
  if (cents !== expectedUsage || bodies.length !== N) process.exitCode = 1;
}
// Bytes per row of what grows with the business (README, "Capacity of one
// D1 database"): SQLite's own page count per table and its indexes, read from
// the local D1 file with the sqlite3 CLI (skipped where there is none).
try {
  const d1dir = path.join(dir, 'v3', 'd1', 'miniflare-D1DatabaseObject');
  const file = readdirSync(d1dir).find((f) => f.endsWith('.sqlite') && f !== 'metadata.sqlite');
  const sql = (q) => execFileSync('sqlite3', ['-json', path.join(d1dir, file), q], { encoding: 'utf8' });
  const sizes = Object.fromEntries(JSON.parse(sql('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name')).map((r) => [r.name, r.bytes]));
  const indexes = JSON.parse(sql("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index'"));
  const of = (table) => (sizes[table] ?? 0) + indexes.filter((i) => i.tbl_name === table).reduce((s, i) => s + (sizes[i.name] ?? 0), 0);
  const count = (table) => JSON.parse(sql(`SELECT COUNT(*) AS n FROM ${table}`))[0].n;
  const per = (tables, n) => (tables.reduce((s, t) => s + of(t), 0) / n).toFixed(0);
  const n = count('contracts');
  console.log(`bytes per contract (contract, account, bill group, quote, events): ${per(['contracts', 'accounts', 'bill_groups', 'quotes', 'contract_events'], n)}`);
  console.log(`bytes per invoice (with its period claims): ${per(['invoices', 'billed_periods'], count('invoices'))}`);
  if (USAGE) {
    console.log(`bytes per usage event: ${per(['usage_events'], count('usage_events'))}; per day part: ${per(['usage_days'], count('usage_days'))}`);
  }
  console.log(`database: ${(Object.values(sizes).reduce((a, b) => a + b, 0) / 1e6).toFixed(1)} MB`);
} catch (e) {
  console.log(`sizes not measured (${e.message.split('\n')[0]})`);
}
