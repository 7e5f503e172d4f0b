// Faults between the Worker and Stripe: a proxy of our own (faultproxy.mjs)
// in front of localstripe refuses, fails, delays or loses the answer of each
// Stripe call a flow makes. Every time: the client gets a clear 502 (or a
// retryable error), nothing is half-written in D1, a retry converges, and no
// customer is charged twice (PaymentIntents counted in localstripe). A
// restarted Worker resumes a flow where it stood.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { freePort, startLocalstripe, startStack } from '../../scripts/stack.mjs';
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

describe('FINALIZE', () => {
  const calls = { create: /^POST \/v1\/payment_intents$/, confirm: /^POST \/v1\/payment_intents\/pi_\w+\/confirm$/ };
  for (const [step, call] of Object.entries(calls)) for (const mode of [...MODES, 'slow']) {
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
      if (mode === 'slow') await new Promise((res) => setTimeout(res, 2000)); // the delayed request reaches Stripe too
      assert.equal((await succeeded(s.stripeCustomer)).length, 1, 'charged exactly once');
    });
  }
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
});
