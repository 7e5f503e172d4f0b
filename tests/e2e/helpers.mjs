// Helpers for the end-to-end suites: the real Worker (wrangler dev, workerd,
// local D1) and localstripe, started by scripts/stack.mjs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../scripts/stack.mjs';

export const today = () => new Date().toISOString().slice(0, 10);

/** A client for one stack, with the publishable key unless told otherwise. */
export function client(stack) {
  const call = async (method, url, { body, key = stack.publishableKey, headers = {}, raw } = {}) => {
    const h = { ...headers };
    if (key) h.authorization = `Bearer ${key}`;
    if (body !== undefined || raw !== undefined) h['content-type'] = 'application/json';
    const res = await fetch(stack.url + url, { method, headers: h, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
    const text = await res.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch {}
    return { status: res.status, headers: res.headers, text, json };
  };
  return {
    call,
    post: (body, opts = {}) => call('POST', '/api/selfService/signup', { body, ...opts }),
    patch: (id, body, opts = {}) => call('PATCH', `/api/selfService/signup/${id}`, { body, ...opts }),
    get: (id, opts = {}) => call('GET', `/api/selfService/signup/${id}`, opts),
  };
}

/** The local D1 database file wrangler dev writes (miniflare's SQLite). */
function d1File(persistDir) {
  const dir = path.join(persistDir, 'v3/d1/miniflare-D1DatabaseObject');
  const f = readdirSync(dir).find((n) => n.endsWith('.sqlite') && n !== 'metadata.sqlite');
  return path.join(dir, f);
}

// Python's sqlite3 reads the file; each call is one process, and the test's
// event loop waits for it. Keep the waits short: while the loop is blocked an
// idle keep-alive connection can pass workerd's 5 s idle limit unnoticed, and
// the next POST, sent on it, fails with "other side closed".
const READ = `import json,sqlite3,sys
c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro',uri=True); c.row_factory=sqlite3.Row
rows=lambda sql: [dict(r) for r in c.execute(sql)]`;

/** Runs a read-only query on the local D1 file; answers rows as objects. */
export function d1(stack, sql) {
  const py = `${READ}\nprint(json.dumps(rows(sys.argv[2])))`;
  return JSON.parse(execFileSync('python3', ['-c', py, d1File(stack.persistDir), sql], { encoding: 'utf8' }));
}

/** Runs one write on the local D1 file (a deliberate hand edit, as an operator with the database would make). */
export function d1Write(stack, sql) {
  const py = 'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()';
  execFileSync('python3', ['-c', py, d1File(stack.persistDir), sql], { encoding: 'utf8' });
}

/** Runs a script of SQL statements on the local D1 file in one transaction (seeding many rows at once). */
export function d1Script(stack, sql) {
  const py = 'import sqlite3,sys\nc=sqlite3.connect(sys.argv[1]); c.executescript("BEGIN;" + sys.stdin.read() + "COMMIT;")';
  execFileSync('python3', ['-c', py, d1File(stack.persistDir)], { input: sql, encoding: 'utf8' });
}

/** Every business table's rows (not the idempotency keys): "D1 unchanged" checks. One process for all tables. */
export function snapshot(stack) {
  const tables = "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%' AND name NOT LIKE 'd1_%' AND name <> 'idempotency_keys' ORDER BY name";
  const py = `${READ}
print(json.dumps({t['name']: rows('SELECT * FROM "%s" ORDER BY 1' % t['name']) for t in rows(sys.argv[2])}))`;
  return JSON.parse(execFileSync('python3', ['-c', py, d1File(stack.persistDir), tables], { encoding: 'utf8' }));
}

/** Confirms a SetupIntent with a card, as the Stripe.js stand-in does in a browser. */
export async function confirmCard(stack, init, card = 'pm_card_visa') {
  const body = new URLSearchParams({ key: init.publicKey, client_secret: init.clientSecret, payment_method: card });
  const res = await fetch(`${stack.stripeBase}/v1/setup_intents/${init.setupIntentId}/confirm`, { method: 'POST', body });
  const json = await res.json();
  if (json.status !== 'succeeded') throw new Error(`confirming ${init.setupIntentId}: ${JSON.stringify(json)}`);
  return json;
}

/** Every PaymentIntent localstripe holds (it cannot filter: page through all). */
export async function allPaymentIntents(stack) {
  const all = [];
  let after = '';
  for (;;) {
    const res = await fetch(`${stack.stripeBase}/v1/payment_intents?limit=100${after}`, {
      headers: { authorization: 'Bearer sk_test_localstripe' },
    });
    const page = await res.json();
    all.push(...page.data);
    if (!page.has_more || page.data.length === 0) return all;
    after = `&starting_after=${page.data[page.data.length - 1].id}`;
  }
}

/** localstripe's PaymentIntents for a customer. */
export async function paymentIntents(stack, customer) {
  return (await allPaymentIntents(stack)).filter((pi) => pi.customer === customer);
}

/** The JSON blocks printed in a seed doc, in order, as text (stray commas and all). */
export function printedBlocks(seed) {
  const text = readFileSync(path.join(ROOT, '..', 'shared', 'seeds', seed), 'utf8');
  const blocks = [];
  let depth = 0;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (ch === '}' && depth > 0) {
      depth--;
      if (depth === 0) blocks.push(text.slice(start, i + 1));
    }
  }
  return blocks;
}

/** Imports a contract (secret key) with its account; answers the import response. */
export async function importContract(stack, contract, { collect = false, address = { country: 'US', state: 'CA' }, name = 'Import Co' } = {}) {
  const res = await fetch(`${stack.url}/api/contracts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.secretKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ account: { name, billingAddress: address }, billGroup: { collectInvoiceBalanceAutomatically: collect }, contract }),
  });
  const json = await res.json();
  if (res.status !== 201) throw new Error(`import: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** `now` for the Worker's test clock (TEST_CLOCK=enabled in the local stack). */
export const at = (date) => ({ 'quotekit-test-now': `${date}T12:00:00Z` });

/** Same invoice, field for field where the engine speaks (the API adds ids and tax). */
export function assertSameInvoice(apiInvoice, engineInvoice, label) {
  assert.equal(apiInvoice.invoiceDate, engineInvoice.invoiceDate, `${label}: invoiceDate`);
  assert.equal(apiInvoice.amountWithoutTax, engineInvoice.amountWithoutTax, `${label}: amountWithoutTax`);
  assert.equal(apiInvoice.items.length, engineInvoice.lines.length, `${label}: lines`);
  apiInvoice.items.forEach((item, i) => {
    for (const k of ['offeringId', 'rateId', 'productId', 'quantity', 'periodStart', 'periodEnd', 'prorationFactor', 'amount']) {
      assert.equal(item[k], engineInvoice.lines[i][k], `${label}: items[${i}].${k}`);
    }
  });
}

/** Seeded choices (mulberry32): QUOTEKIT_SEED reproduces a run. */
export function random(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  return { int, pick: (xs) => xs[Math.floor(next() * xs.length)], chance: (p) => next() < p };
}
