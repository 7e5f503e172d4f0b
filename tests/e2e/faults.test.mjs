// Faults between the Worker and Stripe: a proxy of our own (faultproxy.mjs)
// in front of localstripe refuses, fails, delays or loses the answer of each
// Stripe call a flow makes. Every time: the client gets a clear 502 (or a
// retryable error), nothing is half-written in D1, a retry converges, and no
// customer is charged twice (PaymentIntents counted in localstripe). A
// restarted Worker resumes a flow where it stood.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { readFileSync } from 'node:fs';
import { DEMO_CATALOG, freePort, startLocalstripe, startStack } from '../../scripts/stack.mjs';
import { startFaultProxy } from './faultproxy.mjs';
import { at, client, confirmCard, d1, importContract, paymentIntents, snapshot, today } from './helpers.mjs';

let stripe, proxy, stack, api;

before(async () => {
  stripe = await startLocalstripe(await freePort());
  proxy = await startFaultProxy(stripe.base);
  stack = await startStack({ stripeBase: proxy.url });
  api = client(stack);
});
after(async () => {
  await stack?.stop();
  await proxy?.stop();
  await stripe?.stop();
});

const customer = (n) => ({ accountName: `Fault Co ${n}`, name: 'F. Ault', email: `fault${n}@example.test`,
  billingAddress: { line1: '1 Main', city: 'SF', state: 'CA', postalCode: '94105', country: 'US' } });
const quote = (seats = 2) => ({ offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: seats }] }] });
const MODES = ['refuse', 'error500', 'lost'];
const PAYMENT_INTENT = { create: /^POST \/v1\/payment_intents$/, confirm: /^POST \/v1\/payment_intents\/pi_\w+\/confirm$/ };
// Stripe silent: every question about a PaymentIntent (retrieve, cancel) refused.
const ASKING = /^(GET \/v1\/payment_intents\/pi_\w+|POST \/v1\/payment_intents\/pi_\w+\/cancel)$/;
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
const secret = (extra = {}) => ({ key: stack.secretKey, ...extra });
const plusDays = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
let n = 0;

/** Sends, expecting the injected fault to surface as a clear, retryable error. */
function assertFaultAnswer(r, what) {
  assert.ok([502, 503, 504].includes(r.status), `${what}: ${r.status} ${r.text}`);
  assert.equal(r.json.error, true);
  assert.match(r.json.code, /PAYMENT_PROVIDER|UNAVAILABLE|STORAGE/, what);
  assert.ok(r.json.message.length > 10);
}

/** The session as D1 holds it, and every business table (for "nothing half-written"). */
const state = () => snapshot(stack);

async function openSession() {
  const r = await api.post({ action: 'CREATE_WITH_PAYMENT_METHOD', customer: customer(++n), quote: quote() });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function withCard() {
  const s = await openSession();
  const init = s.paymentMethodInit.stripe;
  await confirmCard(stack, init);
  const u = await api.patch(s.sessionId, { action: 'UPDATE', paymentMethod: { paymentToken: init.setupIntentId } });
  assert.equal(u.status, 200, u.text);
  return { ...u.json, stripeCustomer: init.customerId };
}

const succeeded = async (cus) => (await paymentIntents(stack, cus)).filter((p) => p.status === 'succeeded');

describe('CREATE_WITH_PAYMENT_METHOD', () => {
  for (const mode of MODES) {
    for (const call of [/^POST \/v1\/customers$/, /^POST \/v1\/setup_intents$/]) {
      test(`${mode} at ${call.source}: 502, no session saved; the retry with the same key creates it`, async () => {
        const before = state();
        const key = randomUUID();
        const body = { action: 'CREATE_WITH_PAYMENT_METHOD', customer: customer(++n), quote: quote() };
        proxy.fail(call, mode);
        const r = await api.post(body, { headers: { 'idempotency-key': key } });
        assert.equal(proxy.pending(), 0, 'the fault fired');
        proxy.clear();
        assertFaultAnswer(r, `${mode} ${call}`);
        assert.deepEqual(state(), before, 'nothing written');
        const again = await api.post(body, { headers: { 'idempotency-key': key } });
        assert.equal(again.status, 201, again.text);
        assert.ok(again.json.paymentMethodInit.stripe.setupIntentId);
      });
    }
  }
});

describe('UPDATE with the confirmed card', () => {
  for (const mode of MODES) {
    test(`${mode} at each Stripe call: 502, the session unchanged; the retry saves the card`, async () => {
      const s = await openSession();
      const init = s.paymentMethodInit.stripe;
      await confirmCard(stack, init);
      const body = { action: 'UPDATE', paymentMethod: { paymentToken: init.setupIntentId } };
      const from = proxy.calls.length;
      const ok = await api.patch(s.sessionId, body); // learn which calls UPDATE makes, on a twin session
      assert.equal(ok.status, 200, ok.text);
      const made = [...new Set(proxy.calls.slice(from).map((c) => c.key))];
      assert.ok(made.length >= 1, 'UPDATE calls Stripe');
      for (const key of made) {
        const twin = await openSession();
        const tinit = twin.paymentMethodInit.stripe;
        await confirmCard(stack, tinit);
        const before = d1(stack, `SELECT * FROM sessions WHERE id = '${twin.sessionId}'`);
        const pattern = new RegExp(`^${key.replace(/(seti|pm|cus)_[A-Za-z0-9]+/g, '$1_[A-Za-z0-9]+').replace(/[/]/g, '\\/')}$`);
        proxy.fail(pattern, mode);
        const r = await api.patch(twin.sessionId, { action: 'UPDATE', paymentMethod: { paymentToken: tinit.setupIntentId } });
        assert.equal(proxy.pending(), 0, `the fault at ${key} fired`);
        proxy.clear();
        assertFaultAnswer(r, `${mode} at ${key}`);
        assert.deepEqual(d1(stack, `SELECT * FROM sessions WHERE id = '${twin.sessionId}'`), before, 'session unchanged');
        const again = await api.patch(twin.sessionId, { action: 'UPDATE', paymentMethod: { paymentToken: tinit.setupIntentId } });
        assert.equal(again.status, 200, again.text);
        assert.equal(again.json.step, 'review');
      }
    });
  }
});

describe('UPDATE with a new email', () => {
  for (const mode of [...MODES, 'slow']) {
    test(`${mode} at the Stripe customer's update: 502, the session unchanged; the retry updates both`, { timeout: 120_000 }, async () => {
      const s = await openSession();
      const cus = s.paymentMethodInit.stripe.customerId;
      const before = d1(stack, `SELECT * FROM sessions WHERE id = '${s.sessionId}'`);
      const body = { action: 'UPDATE', customer: { ...customer(n), email: `moved${n}@example.test` } };
      proxy.fail(new RegExp(`^POST /v1/customers/${cus}$`), mode);
      const r = await api.patch(s.sessionId, body);
      assert.equal(proxy.pending(), 0, 'the fault fired');
      proxy.clear();
      assertFaultAnswer(r, `${mode} at the customer update`);
      assert.deepEqual(d1(stack, `SELECT * FROM sessions WHERE id = '${s.sessionId}'`), before, 'session unchanged');
      const again = await api.patch(s.sessionId, body);
      assert.equal(again.status, 200, again.text);
      assert.equal(again.json.customer.contactEmail, body.customer.email);
      const held = await (await fetch(`${stripe.base}/v1/customers/${cus}`, { headers: { authorization: 'Bearer sk_test_localstripe' } })).json();
      assert.equal(held.email, body.customer.email, 'Stripe holds the new email');
    });
  }
});

describe('FINALIZE', () => {
  for (const [step, call] of Object.entries(PAYMENT_INTENT)) for (const mode of [...MODES, 'slow']) {
    test(`${mode} at the PaymentIntent's ${step}: a clear error, no contract or invoice; the retry charges exactly once`, { timeout: 120_000 }, async () => {
      const s = await withCard();
      const rows = () => d1(stack, `SELECT COUNT(*) AS n FROM invoices WHERE account_id = '${s.customer.accountId}'`)[0].n;
      proxy.fail(call, mode);
      const r = await api.patch(s.sessionId, { action: 'FINALIZE' });
      assert.equal(proxy.pending(), 0);
      proxy.clear();
      assertFaultAnswer(r, mode);
      assert.equal(rows(), 0, 'no invoice');
      assert.equal(d1(stack, `SELECT COUNT(*) AS n FROM contracts WHERE account_id = '${s.customer.accountId}'`)[0].n, 0);
      const view = (await api.get(s.sessionId)).json;
      assert.ok(['OPEN', 'FINALIZING'].includes(view.status), view.status);
      // Retry until it converges (a claim older than 60 s is taken over: move the clock).
      let done;
      for (const clock of [undefined, new Date(Date.now() + 61_000).toISOString().slice(0, 19) + 'Z']) {
        done = await api.patch(s.sessionId, { action: 'FINALIZE' }, { headers: clock ? { 'quotekit-test-now': clock } : {} });
        if (done.status === 200) break;
        assert.equal(done.status, 409, done.text);
      }
      assert.equal(done.status, 200, done.text);
      assert.equal(rows(), 1, 'one invoice');
      if (mode === 'slow') await sleep(2000); // the delayed request reaches Stripe too
      assert.equal((await succeeded(s.stripeCustomer)).length, 1, 'charged exactly once');
    });
  }
});


describe('FINALIZE with a promotion code limited to one redemption', () => {
  const code = (mode) => `ONE-${mode}`.toUpperCase();
  before(async () => {
    const catalog = JSON.parse(readFileSync(DEMO_CATALOG, 'utf8'));
    for (const mode of [...MODES, 'slow']) catalog.promotionCodes.push({ code: code(mode), couponId: 'cpn_welcome', maxRedemptions: 1 });
    const r = await api.call('PUT', '/api/catalog', secret({ body: catalog }));
    assert.equal(r.status, 201, r.text);
  });
  const redeemed = (c) => d1(stack, `SELECT COUNT(*) AS n FROM promotion_redemptions WHERE code_key = '${c.toLowerCase()}'`)[0].n;

  for (const mode of [...MODES, 'slow']) {
    test(`${mode} at the PaymentIntent's confirm: the code is never redeemed twice nor lost; the retry converges, discounted and charged once`, { timeout: 120_000 }, async () => {
      const s0 = await api.post({ action: 'CREATE_WITH_PAYMENT_METHOD', customer: customer(++n), quote: { ...quote(10), promotionCode: code(mode) } });
      assert.equal(s0.status, 201, s0.text);
      const init = s0.json.paymentMethodInit.stripe;
      await confirmCard(stack, init);
      const u = await api.patch(s0.json.sessionId, { action: 'UPDATE', paymentMethod: { paymentToken: init.setupIntentId } });
      assert.equal(u.status, 200, u.text);
      proxy.fail(PAYMENT_INTENT.confirm, mode);
      const r = await api.patch(s0.json.sessionId, { action: 'FINALIZE' });
      assert.equal(proxy.pending(), 0);
      proxy.clear();
      assertFaultAnswer(r, mode);
      // Held with its claim (the charge may have gone through) or given back with it: never more than one.
      assert.ok(redeemed(code(mode)) <= 1);
      let done;
      for (const clock of [undefined, new Date(Date.now() + 61_000).toISOString().slice(0, 19) + 'Z']) {
        done = await api.patch(s0.json.sessionId, { action: 'FINALIZE' }, { headers: clock ? { 'quotekit-test-now': clock } : {} });
        if (done.status === 200) break;
        assert.equal(done.status, 409, done.text);
        assert.notEqual(done.json.code, 'PROMOTION_CODE_EXHAUSTED', 'its own redemption never blocks the session');
      }
      assert.equal(done.status, 200, done.text);
      assert.equal(done.json.invoice.discountAmount, 24);
      assert.equal(redeemed(code(mode)), 1, 'redeemed once');
      if (mode === 'slow') await sleep(2000);
      const charged = await succeeded(init.customerId);
      assert.deepEqual(charged.map((p) => p.amount), [Math.round(done.json.invoice.amount * 100)], 'charged once, the discounted total');
    });
  }
});

async function finalized() {
  const s = await withCard();
  const f = await api.patch(s.sessionId, { action: 'FINALIZE' });
  assert.equal(f.status, 200, f.text);
  return { ...f.json, stripeCustomer: s.stripeCustomer };
}

describe('a contract change charged to the card', () => {
  const seats = (contractId, quantity) => ({ action: 'QUANTITY_CHANGE', contractId,
    payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity }] }] } });
  const day = plusDays(10);
  const change = (contractId, quantity) =>
    api.call('POST', '/api/selfService/contract', secret({ body: seats(contractId, quantity), headers: at(day) }));
  const contract = async (id) => (await api.call('GET', `/api/contracts/${id}`, secret())).json;
  const invoices = (account) => d1(stack, `SELECT COUNT(*) AS n FROM invoices WHERE account_id = '${account}'`)[0].n;

  for (const [step, call] of Object.entries(PAYMENT_INTENT)) for (const mode of [...MODES, 'slow']) {
    test(`${mode} at the PaymentIntent's ${step}: applied once, or a clear error with nothing applied; the retry converges, charged once`, { timeout: 120_000 }, async () => {
      const s = await finalized();
      proxy.fail(call, mode);
      const r = await change(s.contract.id, 5);
      assert.equal(proxy.pending(), 0, 'the fault fired');
      proxy.clear();
      if (step === 'confirm' && mode === 'lost') {
        // Stripe charged and the answer was lost: the Worker asked Stripe within the request.
        assert.equal(r.status, 200, r.text);
      } else {
        assertFaultAnswer(r, `${mode} at ${step}`);
        assert.equal(invoices(s.customer.accountId), 1, 'no invoice for the change');
        const held = await contract(s.contract.id);
        assert.equal(held.offerings[0].products[0].quantity, 2, 'nothing applied');
        assert.deepEqual(held.amendments.map((a) => a.status), ['FAILED'], 'not charged: failed at once');
        const again = await change(s.contract.id, 5);
        assert.equal(again.status, 200, again.text);
      }
      if (mode === 'slow') await sleep(2000); // the delayed call reaches Stripe too
      const done = await contract(s.contract.id);
      assert.equal(done.offerings[0].products[0].quantity, 5);
      assert.equal(done.amendments.filter((a) => a.status === 'APPLIED').length, 1);
      assert.equal(invoices(s.customer.accountId), 2, 'the sign-up and the change');
      assert.equal((await succeeded(s.stripeCustomer)).length, 2, 'the sign-up and the change, each charged once');
    });
  }

  test('Stripe silent after charging: 502 and the change held; sent again once Stripe answers, it is applied, charged once', { timeout: 120_000 }, async () => {
    const s = await finalized();
    proxy.fail(PAYMENT_INTENT.confirm, 'lost');
    proxy.fail(ASKING, 'refuse', { times: 1000 });
    const r = await change(s.contract.id, 5);
    assertFaultAnswer(r, 'silent');
    const held = await contract(s.contract.id);
    assert.deepEqual(held.amendments.map((a) => a.status), ['PAYMENT_PENDING']);
    assert.equal(held.offerings[0].products[0].quantity, 2, 'not applied while the outcome is unknown');
    assert.equal(invoices(s.customer.accountId), 1);
    const still = await change(s.contract.id, 7);
    assert.equal(still.status, 502, `while Stripe stays silent, no other change either: ${still.text}`);
    proxy.clear();
    const again = await change(s.contract.id, 5);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.payment.status, 'SUCCEEDED');
    const done = await contract(s.contract.id);
    assert.equal(done.offerings[0].products[0].quantity, 5);
    assert.deepEqual(done.amendments.map((a) => a.status), ['APPLIED']);
    assert.equal(invoices(s.customer.accountId), 2);
    assert.equal((await succeeded(s.stripeCustomer)).length, 2, 'charged once for the change');
  });
});

describe('the billing run', () => {
  // Each test bills its own imported contract on its own day in March 2026
  // (three days apart: a retry the day after touches no other test's invoice).
  // Usage invoices (the demo's API plan) bill their own days in February.
  let k = 0, u = 0;
  async function billable() {
    const day = `2026-03-${String(1 + 3 * k++).padStart(2, '0')}`;
    const line = { offeringId: 'offr_team', rateId: 'rate_team_monthly', serviceStart: '2026-01-01', anchorDate: '2026-01-01',
      anchorDay: 1, invoicedThrough: day, products: [{ productId: 'prod_seats', quantity: 3 }] };
    return withCardOnFile(day, line, `Billing fault ${k}`);
  }
  /**
   * An API-plan contract whose run day, its end date, bills its month's usage
   * (60 000 calls: 100.00); nothing of it is due after (no other test's run
   * bills it).
   */
  async function billableUsage() {
    const dd = String(1 + 3 * u++).padStart(2, '0');
    // January's usage billed in February: no other test's contract is due then.
    const [start, day] = [`2026-01-${dd}`, `2026-02-${dd}`];
    const line = { offeringId: 'offr_api', rateId: 'rate_api_monthly', serviceStart: start, anchorDate: start, anchorDay: Number(dd),
      invoicedThrough: day, meteredThrough: start,
      products: [{ productId: 'prod_api_platform', quantity: 1 }, { productId: 'prod_api_calls', quantity: 50000 }] };
    const b = await withCardOnFile(day, line, `Usage fault ${u}`, day);
    const r = await api.call('POST', '/api/usage', secret({ headers: at(`2026-01-${String(Number(dd) + 2).padStart(2, '0')}`), body: { events: [
      { id: `fault-usage-${u}`, contractId: b.contract, productId: 'prod_api_calls', quantity: 60000, timestamp: `2026-01-${dd}T10:00:00Z` }] } }));
    assert.equal(r.json?.accepted, 1, r.text);
    for (let i = 0; i < 100 && d1(stack, `SELECT COUNT(*) AS n FROM usage_events WHERE contract_id = '${b.contract}'`)[0].n < 1; i++) await sleep(100);
    return b;
  }
  async function withCardOnFile(day, line, name, endDate = null) {
    const imported = await importContract(stack, { status: 'ACTIVE', currency: 'USD', startDate: line.serviceStart, endDate,
      offerings: [line] }, { collect: true, name });
    const account = imported.account.id;
    const si = await api.call('POST', `/api/accounts/${account}/setupIntents`, secret());
    assert.equal(si.status, 201, si.text);
    await confirmCard(stack, si.json);
    const pm = await api.call('POST', `/api/accounts/${account}/paymentMethod`, secret({ body: { paymentToken: si.json.setupIntentId } }));
    assert.equal(pm.status, 200, pm.text);
    return { day, contract: imported.contract.id, customer: si.json.customerId };
  }
  const run = async (date) => {
    const r = await api.call('POST', '/api/billingRuns', secret({ body: { date }, headers: at(date) }));
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  const next = (date) => new Date(Date.parse(`${date}T00:00:00Z`) + 86400000).toISOString().slice(0, 10);
  const invoicesOf = (contract) => d1(stack, `SELECT id, status FROM invoices WHERE contract_id = '${contract}'`);

  for (const [step, call] of Object.entries(PAYMENT_INTENT)) for (const mode of [...MODES, 'slow']) {
    test(`${mode} at the PaymentIntent's ${step}: one invoice, and once the runs converge it is paid, charged once`, { timeout: 120_000 }, async () => {
      const b = await billable();
      proxy.fail(call, mode);
      const first = await run(b.day);
      assert.equal(proxy.pending(), 0, 'the fault fired');
      proxy.clear();
      assert.equal(first.invoicesIssued, 1);
      assert.equal(first.charged + first.failed + first.unsettled, 1, JSON.stringify(first));
      if (first.charged === 0) {
        assert.equal(first.failed, 1, 'not charged: a failed attempt, retried by dunning');
        const retry = await run(next(b.day));
        assert.equal(retry.charged, 1, JSON.stringify(retry));
      }
      if (mode === 'slow') await sleep(2000);
      const [inv, ...more] = invoicesOf(b.contract);
      assert.equal(more.length, 0, 'issued once');
      assert.equal(inv.status, 'PAID');
      assert.equal(d1(stack, `SELECT COUNT(*) AS n FROM payments WHERE invoice_id = '${inv.id}'`)[0].n, 1);
      assert.equal(d1(stack, `SELECT COUNT(*) AS n FROM payment_attempts WHERE status = 'PENDING'`)[0].n, 0);
      assert.equal((await succeeded(b.customer)).length, 1, 'charged exactly once');
    });
  }

  for (const mode of MODES) {
    test(`${mode} at a usage invoice's charge: the usage is billed once, and once the runs converge it is paid, charged once`, { timeout: 120_000 }, async () => {
      const b = await billableUsage();
      proxy.fail(PAYMENT_INTENT.confirm, mode);
      const first = await run(b.day);
      assert.equal(proxy.pending(), 0, 'the fault fired');
      proxy.clear();
      assert.equal(first.invoicesIssued, 1, JSON.stringify(first));
      if (first.charged === 0) {
        const retry = await run(next(b.day));
        assert.equal(retry.charged + first.charged, 1, JSON.stringify(retry));
        assert.equal(retry.invoicesIssued, 0, 'the usage is not billed again');
      }
      const invoices = d1(stack, `SELECT id, status, body FROM invoices WHERE contract_id = '${b.contract}'`);
      assert.equal(invoices.length, 1, 'issued once');
      const body = JSON.parse(invoices[0].body);
      assert.deepEqual(body.items.map((l) => [l.type, l.quantity, l.amount]), [['USAGE', 60000, 100]]);
      assert.equal(invoices[0].status, 'PAID');
      const charged = await succeeded(b.customer);
      assert.deepEqual(charged.map((p) => p.amount), [Math.round(body.amount * 100)], 'charged exactly once, the invoice\'s total');
    });
  }

  test('Stripe silent after charging: the attempt is held, not failed; the next run settles it without charging again', { timeout: 120_000 }, async () => {
    const b = await billable();
    proxy.fail(PAYMENT_INTENT.confirm, 'lost');
    proxy.fail(ASKING, 'refuse', { times: 1000 });
    const first = await run(b.day);
    assert.deepEqual([first.charged, first.failed, first.unsettled], [0, 0, 1], JSON.stringify(first));
    const [inv] = invoicesOf(b.contract);
    assert.equal(inv.status, 'OPEN');
    assert.deepEqual(d1(stack, `SELECT attempt, status FROM payment_attempts WHERE invoice_id = '${inv.id}'`), [{ attempt: 1, status: 'PENDING' }]);
    assert.equal((await succeeded(b.customer)).length, 1, 'Stripe did charge');
    proxy.clear();
    const second = await run(b.day);
    assert.deepEqual([second.charged, second.unsettled], [1, 0], JSON.stringify(second));
    assert.equal(invoicesOf(b.contract)[0].status, 'PAID');
    assert.deepEqual(d1(stack, `SELECT attempt, status FROM payment_attempts WHERE invoice_id = '${inv.id}'`), [{ attempt: 1, status: 'SUCCEEDED' }]);
    assert.equal((await succeeded(b.customer)).length, 1, 'not charged again');
  });
});

describe('a restarted Worker', () => {
  test('resumes a checkout between its steps', { timeout: 180_000 }, async () => {
    const s = await openSession();
    await stack.restartWorker();
    const init = (await api.get(s.sessionId)).json.paymentMethodInit.stripe;
    await confirmCard(stack, init);
    const u = await api.patch(s.sessionId, { action: 'UPDATE', paymentMethod: { paymentToken: init.setupIntentId } });
    assert.equal(u.status, 200, u.text);
    await stack.restartWorker();
    const f = await api.patch(s.sessionId, { action: 'FINALIZE' });
    assert.equal(f.status, 200, f.text);
    assert.equal(f.json.payment.status, 'SUCCEEDED');
    assert.equal((await succeeded(init.customerId)).length, 1);
  });

  test('resumes a contract change between its preview and its confirmation', { timeout: 180_000 }, async () => {
    const s = await finalized();
    const body = { action: 'QUANTITY_CHANGE', contractId: s.contract.id,
      payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 4 }] }] } };
    const call = (extra) => api.call('POST', '/api/selfService/contract', secret({ body: { ...body, ...extra }, headers: at(plusDays(3)) }));
    const preview = await call({ preview: true });
    assert.equal(preview.status, 200, preview.text);
    await stack.restartWorker();
    const done = await call({});
    assert.equal(done.status, 200, done.text);
    assert.equal(done.json.invoice.amount, preview.json.invoice.amount, 'the price previewed before the restart');
    assert.equal(done.json.payment.status, 'SUCCEEDED');
    assert.equal((await succeeded(s.stripeCustomer)).length, 2);
  });
});
