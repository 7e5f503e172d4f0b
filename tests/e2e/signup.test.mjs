// The Sign-Up API end to end: the real Worker on workerd (wrangler dev) with
// local D1 and localstripe, as `make dev` runs them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startStack } from '../../scripts/stack.mjs';
import { client, confirmCard, d1, paymentIntents, printedBlocks, snapshot, today } from './helpers.mjs';

let stack;
let api;

before(async () => {
  stack = await startStack();
  api = client(stack);
});
after(async () => {
  await stack?.stop();
});

const customer = (extra = {}) => ({
  accountName: 'Acme Inc',
  name: 'John Doe',
  email: 'john.doe@acme.test',
  billingAddress: { line1: '123 Main St', city: 'San Francisco', state: 'CA', postalCode: '94107', country: 'US' },
  ...extra,
});
const starter = () => ({
  startDate: today(),
  offerings: [{ offeringId: 'offr_EoqyNVChm1kwT', rateId: 'rate_aCTj2kwzyd0U5', items: [{ productId: 'prod_a9sElJSR3TbyP', quantity: 1 }] }],
});
const team = (seats) => ({
  startDate: today(),
  offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: seats }] }],
});

async function withCard(action = 'CREATE_WITH_PAYMENT_METHOD', card = 'pm_card_visa', extra = {}) {
  const created = await api.post({ action, customer: customer(), quote: starter(), ...extra });
  assert.equal(created.status, 201, created.text);
  const init = created.json.paymentMethodInit.stripe;
  await confirmCard(stack, init, card);
  const saved = await api.patch(created.json.sessionId, { action: 'UPDATE', paymentMethod: { paymentToken: init.setupIntentId } });
  assert.equal(saved.status, 200, saved.text);
  return { id: created.json.sessionId, init, created: created.json };
}

describe('the Quick Start, as printed in signup-api.txt', () => {
  test('create, confirm the card through localstripe, update, finalize', async () => {
    const [createText, printedResponse, updateText, finalizeText] = printedBlocks('signup-api.txt');
    // The printed request, with a real email and today's date (2024-01-01 is in the past now).
    const createBody = createText.replace(/\[email.protected\]/, 'john.doe@acme.test').replace('"2024-01-01"', `"${today()}"`);
    const created = await api.call('POST', '/api/selfService/signup', { raw: createBody });
    assert.equal(created.status, 201, created.text);
    const r = created.json;
    assert.match(r.sessionId, /^cart_[0-9A-Za-z]{22}$/);
    assert.equal(r.error, false);
    assert.equal(r.action, 'CREATE_WITH_PAYMENT_METHOD');
    const printed = JSON.parse(printedResponse);
    assert.deepEqual(Object.keys(printed.paymentMethodInit.stripe).sort(), ['clientSecret', 'customerId', 'setupIntentId']);
    const init = r.paymentMethodInit.stripe;
    assert.match(init.customerId, /^cus_/);
    assert.match(init.setupIntentId, /^seti_/);
    assert.ok(init.clientSecret.startsWith(`${init.setupIntentId}_secret_`));
    assert.equal(init.publicKey, 'pk_test_localstripe');
    assert.deepEqual(r.billGroup, printed.billGroup);
    assert.equal(r.customer.accountName, 'Acme Inc');
    assert.equal(r.customer.contactName, 'John Doe');
    assert.equal(r.customer.contactEmail, 'john.doe@acme.test');
    assert.match(r.customer.accountId, /^acct_/);
    assert.match(r.customer.contactId, /^cont_/);
    // The quote as printed: 100 for the item, the offering and the quote; DRAFT until finalized.
    assert.equal(r.quote.status, 'DRAFT');
    assert.equal(r.quote.amount, printed.quote.amount);
    assert.equal(r.quote.amountWithoutTax, printed.quote.amountWithoutTax);
    assert.equal(r.quote.offerings[0].amount, printed.quote.offerings[0].amount);
    assert.deepEqual(
      r.quote.offerings[0].items.map(({ productId, quantity, amount, amountWithoutTax }) => ({ productId, quantity, amountWithoutTax, amount })),
      printed.quote.offerings[0].items,
    );
    assert.match(created.text, /"amount":100\.00/, 'amounts carry the currency decimals');

    // Step 2: the browser confirms the card with Stripe (localstripe's Stripe.js stand-in does this call).
    await confirmCard(stack, init);

    // Step 3 as printed: the stray trailing comma is a 400 that says where; without it, the card is saved.
    const sessionPath = `/api/selfService/signup/${r.sessionId}`;
    const updatePrinted = updateText.replace('seti_1P0qjFFlgb12q7baCrgo9cfu', init.setupIntentId);
    const bad = await api.call('PATCH', sessionPath, { raw: updatePrinted });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'MALFORMED_JSON');
    assert.equal(bad.json.sessionId, r.sessionId);
    assert.match(bad.json.message, /trailing comma \(line 6, column \d+\)/);
    const updated = await api.call('PATCH', sessionPath, { raw: updatePrinted.replace(/,(\s*})/, '$1') });
    assert.equal(updated.status, 200, updated.text);
    assert.equal(updated.json.action, 'ADD_PAYMENT_METHOD');
    assert.equal(updated.json.paymentMethod.last4, '4242');
    assert.equal(updated.json.step, 'review');

    // Step 4 as printed (comma removed): FINALIZE with the same token.
    const finalizePrinted = finalizeText.replace('seti_1P0qjFFlgb12q7baCrgo9cfu', init.setupIntentId);
    assert.equal((await api.call('PATCH', sessionPath, { raw: finalizePrinted })).status, 400);
    const done = await api.call('PATCH', sessionPath, { raw: finalizePrinted.replace(/,(\s*})/, '$1') });
    assert.equal(done.status, 200, done.text);
    const f = done.json;
    assert.equal(f.status, 'FINALIZED');
    assert.equal(f.quote.status, 'PROCESSED');
    assert.match(f.contract.id, /^ctr_/);
    assert.match(f.billGroup.id, /^bg_/);
    assert.equal(f.invoice.status, 'PAID');
    assert.equal(f.invoice.amountWithoutTax, 100);
    assert.equal(f.invoice.tax, 7.25);
    assert.equal(f.invoice.amount, 107.25);
    assert.equal(f.payment.amount, 107.25);
    assert.match(done.text, /"amountDue":0\.00/);

    // What the system holds afterwards: D1 rows and one PaymentIntent in Stripe.
    const pis = await paymentIntents(stack, init.customerId);
    assert.equal(pis.length, 1);
    assert.equal(pis[0].amount, 10725);
    assert.equal(pis[0].id, f.payment.stripePaymentIntentId);
    const [account] = d1(stack, `SELECT * FROM accounts WHERE id = '${f.customer.accountId}'`);
    assert.equal(account.stripe_customer_id, init.customerId);
    const [invoice] = d1(stack, `SELECT status, amount, tax FROM invoices WHERE id = '${f.invoice.id}'`);
    assert.deepEqual(invoice, { status: 'PAID', amount: '107.25', tax: '7.25' });
    const [contract] = d1(stack, `SELECT status, account_id FROM contracts WHERE id = '${f.contract.id}'`);
    assert.deepEqual(contract, { status: 'ACTIVE', account_id: f.customer.accountId });
    // The session can be read back, and it is done.
    const got = await api.get(r.sessionId);
    assert.equal(got.json.step, 'complete');
    assert.equal(got.json.urls.signup, `${stack.url}/checkout/?session=${r.sessionId}`);
    assert.deepEqual(got.json.invoice, f.invoice);
  });
});

describe('every action', () => {
  test('ESTIMATE prices and saves nothing', async () => {
    const before = snapshot(stack);
    const r = await api.post({ action: 'ESTIMATE', customer: customer(), quote: team(10) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.sessionId, null);
    assert.equal(r.json.quote.amount, 120);
    assert.equal(r.json.quote.firstInvoice.tax, 0);
    assert.deepEqual(snapshot(stack), before);
  });

  test('CREATE_IN_PENDING → INIT_PAYMENT_METHOD → UPDATE → ESTIMATE → CANCEL', async () => {
    const c = await api.post({ action: 'CREATE_IN_PENDING', customer: customer(), quote: team(3) });
    assert.equal(c.status, 201, c.text);
    assert.equal(c.json.quote.status, 'DRAFT');
    assert.equal(c.json.paymentMethodInit, undefined);
    const id = c.json.sessionId;
    const [row] = d1(stack, `SELECT status, version FROM sessions WHERE id = '${id}'`);
    assert.deepEqual(row, { status: 'OPEN', version: 1 });
    const i = await api.patch(id, { action: 'INIT_PAYMENT_METHOD' });
    assert.equal(i.status, 200, i.text);
    assert.match(i.json.paymentMethodInit.stripe.setupIntentId, /^seti_/);
    const u = await api.patch(id, { action: 'UPDATE', quote: team(7) });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json.quote.amount, 84);
    assert.notEqual(u.json.quote.id, c.json.quote.id);
    const before = snapshot(stack);
    const e = await api.patch(id, { action: 'ESTIMATE', quote: team(20) });
    assert.equal(e.status, 200, e.text);
    assert.equal(e.json.quote.amount, 240);
    assert.deepEqual(snapshot(stack), before, 'ESTIMATE on a session saves nothing');
    const x = await api.patch(id, { action: 'CANCEL' });
    assert.equal(x.status, 200, x.text);
    assert.equal(x.json.status, 'CANCELED');
    assert.equal(x.json.step, 'canceled');
  });

  test('a new name or email on the session reaches the Stripe customer', async () => {
    const { id, init } = await withCard();
    const stripeCustomer = async () => (await fetch(`${stack.stripeBase}/v1/customers/${init.customerId}`, {
      headers: { authorization: 'Bearer sk_test_localstripe' },
    })).json();
    assert.deepEqual([(await stripeCustomer()).name, (await stripeCustomer()).email], ['John Doe', 'john.doe@acme.test']);
    const u = await api.patch(id, { action: 'UPDATE', customer: customer({ name: 'Jane Roe', email: 'jane.roe@acme.test' }) });
    assert.equal(u.status, 200, u.text);
    const f = await api.patch(id, { action: 'FINALIZE', customer: customer({ name: 'Jane Roe', email: 'billing@acme.test' }) });
    assert.equal(f.status, 200, f.text);
    const c = await stripeCustomer();
    assert.deepEqual([c.name, c.email], ['Jane Roe', 'billing@acme.test']);
    assert.equal((await api.get(id)).json.customer.contactEmail, 'billing@acme.test', 'the session holds what Stripe holds');
  });

  test('CREATE_AND_FINALIZE: contract and an open invoice, no payment', async () => {
    const r = await api.post({ action: 'CREATE_AND_FINALIZE', customer: customer({ customId: `EXT-${Date.now()}` }), quote: team(2) });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.status, 'FINALIZED');
    assert.equal(r.json.invoice.status, 'OPEN');
    assert.equal(r.json.invoice.amountDue, r.json.invoice.amount);
    assert.equal(r.json.payment, undefined);
    const again = await api.post({ action: 'CREATE_AND_FINALIZE', customer: customer({ customId: r.json.customer.customId }), quote: team(2) });
    assert.equal(again.status, 409);
    assert.equal(again.json.code, 'CUSTOM_ID_TAKEN');
  });
});

describe('illegal transitions answer 409 and change nothing', () => {
  test('FINALIZE after CANCEL, UPDATE after FINALIZE, a second FINALIZE', async () => {
    const c = await api.post({ action: 'CREATE_IN_PENDING', customer: customer(), quote: team(1) });
    await api.patch(c.json.sessionId, { action: 'CANCEL' });
    let before = snapshot(stack);
    const f = await api.patch(c.json.sessionId, { action: 'FINALIZE' });
    assert.equal(f.status, 409);
    assert.equal(f.json.code, 'SESSION_CANCELED');
    assert.deepEqual(snapshot(stack), before);

    const { id, init } = await withCard();
    assert.equal((await api.patch(id, { action: 'FINALIZE' })).status, 200);
    before = snapshot(stack);
    const u = await api.patch(id, { action: 'UPDATE', quote: team(5) });
    assert.equal(u.status, 409);
    assert.equal(u.json.code, 'SESSION_FINALIZED');
    const f2 = await api.patch(id, { action: 'FINALIZE' });
    assert.equal(f2.status, 409);
    assert.deepEqual(snapshot(stack), before);
    assert.equal((await paymentIntents(stack, init.customerId)).length, 1);
  });
});

describe('payments', () => {
  test('a declined card creates nothing; the visitor tries another card and succeeds', async () => {
    const { id, init } = await withCard('CREATE_WITH_PAYMENT_METHOD', 'pm_card_chargeCustomerFail');
    const accounts = d1(stack, 'SELECT COUNT(*) AS n FROM accounts')[0].n;
    const r = await api.patch(id, { action: 'FINALIZE' });
    assert.equal(r.status, 402, r.text);
    assert.equal(r.json.code, 'PAYMENT_DECLINED');
    assert.equal(r.json.message, 'Your card was declined.');
    assert.equal(d1(stack, 'SELECT COUNT(*) AS n FROM accounts')[0].n, accounts);
    const s = await api.get(id);
    assert.equal(s.json.status, 'OPEN');
    assert.equal(s.json.step, 'payment_method');
    assert.equal(s.json.lastError.code, 'PAYMENT_DECLINED');
    const again = await api.patch(id, { action: 'INIT_PAYMENT_METHOD' });
    assert.equal(again.status, 200, again.text);
    const init2 = again.json.paymentMethodInit.stripe;
    assert.equal(init2.customerId, init.customerId);
    await confirmCard(stack, init2, 'pm_card_visa');
    const done = await api.patch(id, { action: 'FINALIZE', paymentMethod: { paymentToken: init2.setupIntentId } });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.invoice.status, 'PAID');
    const [payments] = d1(stack, `SELECT COUNT(*) AS n FROM payments WHERE account_id = '${done.json.customer.accountId}'`);
    assert.equal(payments.n, 1);
  });

  test('fifty concurrent FINALIZEs of one session: one contract, one invoice, one payment', async () => {
    const { id, init } = await withCard();
    const results = await Promise.all(Array.from({ length: 50 }, () => api.patch(id, { action: 'FINALIZE' })));
    const ok = results.filter((r) => r.status === 200);
    assert.equal(ok.length, 1, results.map((r) => r.status).join(','));
    for (const r of results.filter((r) => r.status !== 200)) {
      assert.equal(r.status, 409, r.text);
      assert.ok(['FINALIZE_IN_PROGRESS', 'SESSION_FINALIZED', 'CONFLICT'].includes(r.json.code), r.text);
    }
    const account = ok[0].json.customer.accountId;
    assert.equal(d1(stack, `SELECT COUNT(*) AS n FROM contracts WHERE account_id = '${account}'`)[0].n, 1);
    assert.equal(d1(stack, `SELECT COUNT(*) AS n FROM invoices WHERE account_id = '${account}'`)[0].n, 1);
    assert.equal(d1(stack, `SELECT COUNT(*) AS n FROM payments WHERE account_id = '${account}'`)[0].n, 1);
    assert.equal((await paymentIntents(stack, init.customerId)).length, 1);
  });

  test('two racing UPDATEs: each answer is 200 or 409, and the session holds the last winner', async () => {
    const c = await api.post({ action: 'CREATE_IN_PENDING', customer: customer(), quote: team(1) });
    const id = c.json.sessionId;
    const results = await Promise.all([2, 3, 4, 5, 6, 7, 8, 9].map((n) => api.patch(id, { action: 'UPDATE', quote: team(n) })));
    const won = results.filter((r) => r.status === 200);
    assert.ok(won.length >= 1);
    for (const r of results) assert.ok([200, 409].includes(r.status), r.text);
    const [row] = d1(stack, `SELECT version, quote_id FROM sessions WHERE id = '${id}'`);
    assert.equal(row.version, 1 + won.length, 'one version per winner, none half-applied');
    const events = d1(stack, `SELECT COUNT(*) AS n FROM session_events WHERE session_id = '${id}'`)[0].n;
    assert.equal(events, row.version);
    const quoteIds = won.map((r) => r.json.quote.id);
    assert.ok(quoteIds.includes(row.quote_id), 'the stored quote is one a winner was told about');
  });
});

describe('Idempotency-Key', () => {
  test('same key and body replay; another body is 422; a refused request keeps nothing; a replayed FINALIZE charges once', async () => {
    const key = `k-${Date.now()}`;
    const body = { action: 'CREATE_IN_PENDING', customer: customer(), quote: team(4) };
    const a = await api.post(body, { headers: { 'idempotency-key': key } });
    const b = await api.post(body, { headers: { 'idempotency-key': key } });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    assert.equal(b.text, a.text);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    assert.equal(d1(stack, `SELECT COUNT(*) AS n FROM sessions WHERE id = '${a.json.sessionId}'`)[0].n, 1);
    const c = await api.post({ ...body, quote: team(5) }, { headers: { 'idempotency-key': key } });
    assert.equal(c.status, 422);
    assert.equal(c.json.code, 'IDEMPOTENCY_KEY_REUSED');

    // A request refused for bad input did nothing: no result is kept, and the corrected one runs under the same key.
    const rkey = `r-${Date.now()}`;
    const refused = await api.post({ ...body, customer: { ...customer(), email: 'not an email' } }, { headers: { 'idempotency-key': rkey } });
    assert.equal(refused.status, 400, refused.text);
    const corrected = await api.post(body, { headers: { 'idempotency-key': rkey } });
    assert.equal(corrected.status, 201, corrected.text);
    assert.equal(corrected.headers.get('idempotent-replayed'), null);

    const { id, init } = await withCard();
    const fkey = `f-${Date.now()}`;
    const f1 = await api.patch(id, { action: 'FINALIZE' }, { headers: { 'idempotency-key': fkey } });
    const f2 = await api.patch(id, { action: 'FINALIZE' }, { headers: { 'idempotency-key': fkey } });
    assert.equal(f1.status, 200, f1.text);
    assert.equal(f2.text, f1.text);
    assert.equal((await paymentIntents(stack, init.customerId)).length, 1);
  });
});

describe('failures', () => {
  test('localstripe stopped mid-flow: 502, D1 unchanged; restarted: the flow finishes', async () => {
    const created = await api.post({ action: 'CREATE_WITH_PAYMENT_METHOD', customer: customer(), quote: starter() });
    const init = created.json.paymentMethodInit.stripe;
    await confirmCard(stack, init);
    const id = created.json.sessionId;
    await stack.stopStripe();
    try {
      const before = snapshot(stack);
      const u = await api.patch(id, { action: 'UPDATE', paymentMethod: { paymentToken: init.setupIntentId } });
      assert.equal(u.status, 502, u.text);
      assert.equal(u.json.code, 'PAYMENT_PROVIDER_UNAVAILABLE');
      assert.deepEqual(snapshot(stack), before);
      const n = await api.post({ action: 'CREATE_WITH_PAYMENT_METHOD', customer: customer(), quote: starter() });
      assert.equal(n.status, 502);
      assert.deepEqual(snapshot(stack), before);
    } finally {
      await stack.startStripe();
    }
    const done = await api.patch(id, { action: 'FINALIZE', paymentMethod: { paymentToken: init.setupIntentId } });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.invoice.status, 'PAID');
  });

  test('the Worker restarted between steps: the session continues', async () => {
    const created = await api.post({ action: 'CREATE_WITH_PAYMENT_METHOD', customer: customer(), quote: starter() });
    await stack.restartWorker();
    const init = created.json.paymentMethodInit.stripe;
    await confirmCard(stack, init);
    const done = await api.patch(created.json.sessionId, { action: 'FINALIZE', paymentMethod: { paymentToken: init.setupIntentId } });
    assert.equal(done.status, 200, done.text);
  });

  test('bad input: 400 (or 413) naming the field, D1 unchanged', async () => {
    const c = await api.post({ action: 'CREATE_IN_PENDING', customer: customer(), quote: team(1) });
    const id = c.json.sessionId;
    const before = snapshot(stack);
    const many = { offerings: Array.from({ length: 101 }, () => team(1).offerings[0]) };
    const cases = [
      [{ raw: '{"action": "UPDATE", "quote": {' }, 'MALFORMED_JSON', ''],
      [{ body: { action: 'UPDATE', quote: { offerings: 'all' } } }, 'INVALID_VALUE', 'quote.offerings'],
      [{ body: { action: 'UPDATE', quote: { offerings: [{ offeringId: 'offr_nope', rateId: 'x' }] } } }, 'UNKNOWN_OFFERING', 'quote.offerings[0].offeringId'],
      [{ body: { action: 'UPDATE', quote: team(501) } }, 'QUANTITY_OUT_OF_RANGE', 'quote.offerings[0].items[0].quantity'],
      [{ body: { action: 'UPDATE', quote: team(-1) } }, 'INVALID_VALUE', 'quote.offerings[0].items[0].quantity'],
      [{ body: { action: 'UPDATE', quote: many } }, 'TOO_MANY', 'quote.offerings'],
      [{ body: { action: 'UPDATE', customer: { ...customer(), email: 'not-an-email' } } }, 'INVALID_VALUE', 'customer.email'],
      [{ body: { action: 'UPDATE', billGroup: { autoEmailInvoice: 'yes' } } }, 'INVALID_VALUE', 'billGroup.autoEmailInvoice'],
      [{ body: { action: 'SHIP_IT' } }, 'INVALID_VALUE', 'action'],
      [{ body: { action: 'UPDATE', surprise: 1 } }, 'UNKNOWN_FIELD', 'surprise'],
    ];
    for (const [req, code, path] of cases) {
      const r = await api.call('PATCH', `/api/selfService/signup/${id}`, req);
      assert.equal(r.status, 400, `${JSON.stringify(req).slice(0, 80)}: ${r.text}`);
      assert.deepEqual([r.json.error, r.json.code, r.json.path, r.json.sessionId], [true, code, path, id]);
    }
    const big = await api.call('POST', '/api/selfService/signup', { raw: JSON.stringify({ action: 'ESTIMATE', pad: 'x'.repeat(70000) }) });
    assert.equal(big.status, 413);
    assert.deepEqual(snapshot(stack), before);
    for (const r of [big]) assert.doesNotMatch(r.text, /sqlite|SELECT|panicked|at .*\.rs/i);
  });
});

describe('the edges of the API', () => {
  test('keys: 401 without or with a wrong key, 403 for the publishable key on a secret endpoint', async () => {
    const est = { action: 'ESTIMATE', quote: team(1) };
    assert.equal((await api.post(est, { key: null })).status, 401);
    assert.equal((await api.post(est, { key: 'sk_test_wrong' })).status, 401);
    assert.equal((await api.post(est, { key: stack.secretKey })).status, 200);
    const put = await api.call('PUT', '/api/catalog', { raw: '{}' });
    assert.equal(put.status, 403);
    const health = await api.call('GET', '/healthz', { key: null });
    assert.deepEqual(health.json, { status: 'ok', catalogVersion: 1 });
  });

  test('the catalog is cacheable; OpenAPI lists the routes; CORS follows the allow-list', async () => {
    const c = await api.call('GET', '/api/catalog');
    assert.equal(c.status, 200);
    assert.equal(c.json.offerings[0].id, 'offr_EoqyNVChm1kwT');
    const etag = c.headers.get('etag');
    assert.ok(etag);
    assert.match(c.headers.get('cache-control'), /max-age=\d+/);
    const again = await api.call('GET', '/api/catalog', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const doc = await api.call('GET', '/openapi.json', { key: null });
    assert.equal(doc.json.openapi, '3.1.0');
    assert.ok(doc.json.paths['/api/selfService/signup/{sessionId}'].patch);
    const own = await fetch(`${stack.url}/api/selfService/signup`, { method: 'OPTIONS', headers: { origin: stack.url } });
    assert.equal(own.status, 204);
    assert.equal(own.headers.get('access-control-allow-origin'), stack.url);
    const evil = await fetch(`${stack.url}/api/selfService/signup`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
  });
});
