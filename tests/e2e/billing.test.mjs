// The billing run end to end: the real Worker on workerd, local D1 and
// localstripe, driven day by day with the Worker's test clock. Every invoice
// is compared with the engine's own answer (the npm package's billingDue).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DEMO_CATALOG, startStack } from '../../scripts/stack.mjs';
import { loadPkg } from '../node/helpers.mjs';
import { assertSameInvoice, at, client, confirmCard, d1, importContract, paymentIntents, today } from './helpers.mjs';

let stack;
let api;
let pricing;
const catalog = JSON.parse(readFileSync(DEMO_CATALOG, 'utf8'));

before(async () => {
  stack = await startStack({ demo: false });
  api = client(stack);
  pricing = await loadPkg();
});
after(async () => {
  await stack?.stop();
});

const secret = (extra = {}) => ({ key: stack.secretKey, ...extra });
const addMonths = (date, n) => {
  const [y, m, d] = date.split('-').map(Number);
  const last = new Date(Date.UTC(y, m - 1 + n + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m - 1 + n, Math.min(d, last))).toISOString().slice(0, 10);
};
const addDays = (date, n) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86400000).toISOString().slice(0, 10);
const run = async (date) => {
  const r = await api.call('POST', '/api/billingRuns', secret({ body: { date }, headers: at(date) }));
  assert.equal(r.status, 200, r.text);
  return r.json;
};
const invoicesOf = (contractId) =>
  d1(stack, `SELECT id, invoice_date, status, body FROM invoices WHERE contract_id = '${contractId}' ORDER BY invoice_date, id`)
    .map((r) => ({ ...JSON.parse(r.body), status: r.status }));
const line = (offeringId, rateId, start, invoicedThrough, products, extra = {}) => ({
  offeringId, rateId, serviceStart: start, anchorDate: start, anchorDay: Number(start.slice(8)), invoicedThrough, products, ...extra,
});
const contract = (start, lines, endDate = null) => ({ status: 'ACTIVE', currency: 'USD', startDate: start, endDate, offerings: lines });

describe('thirteen months of daily runs', () => {
  const start = '2026-01-01';
  const end = '2027-01-31';
  const teamSeats = (q) => [{ productId: 'prod_seats', quantity: q }, { productId: 'prod_storage', quantity: 250 }];
  const cases = {
    monthly: contract(start, [line('offr_team', 'rate_team_monthly', start, '2026-02-01', teamSeats(10))]),
    quarterly: contract(start, [line('offr_team', 'rate_team_quarterly', start, '2026-04-01', teamSeats(4))]),
    annual: contract(start, [line('offr_team', 'rate_team_annual', start, '2027-01-01', teamSeats(6))], '2027-01-01'),
    arrears: contract(start, [line('offr_support', 'rate_support_quarterly_arrears', start, start, [{ productId: 'prod_support', quantity: 1 }])]),
    changed: contract(start, [line('offr_team', 'rate_team_monthly', start, '2026-02-01', teamSeats(5))]),
    canceled: contract(start, [line('offr_team', 'rate_team_monthly', start, '2026-02-01', teamSeats(3))]),
  };
  const ids = {};
  const imported = {};
  let changeAnswer;

  test('every invoice equals the engine, issued once', async () => {
    for (const [name, c] of Object.entries(cases)) {
      const r = await importContract(stack, c, { name: `Billing ${name}` });
      ids[name] = r.contract.id;
      imported[name] = r.contract;
    }
    // A cancellation scheduled for June 1st.
    const cancel = await api.call('POST', '/api/selfService/contract', secret({
      body: { action: 'CANCELLATION', contractId: ids.canceled, payload: null, effectiveDate: '2026-06-01' }, headers: at('2026-01-10') }));
    assert.equal(cancel.status, 200, cancel.text);
    assert.equal(cancel.json.contract.scheduledChanges.length, 1);
    let issued = 0;
    for (let day = start; day <= end; day = addDays(day, 1)) {
      const r = await run(day);
      assert.equal(r.failed, 0, `${day}: ${JSON.stringify(r)}`);
      issued += r.invoicesIssued;
      if (day === '2026-03-16') {
        // Mid-period: 5 → 9 seats, charged at once (prorated), after that day's run.
        changeAnswer = await api.call('POST', '/api/selfService/contract', secret({
          body: { action: 'QUANTITY_CHANGE', contractId: ids.changed,
            payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 9 }] }] } },
          headers: at(day) }));
        assert.equal(changeAnswer.status, 200, changeAnswer.text);
      }
    }
    // The engine's answers.
    const expect = {};
    for (const name of ['monthly', 'quarterly', 'annual', 'arrears']) {
      expect[name] = pricing.billingDue(catalog, imported[name], end).invoices;
    }
    const before = pricing.billingDue(catalog, imported.changed, '2026-03-16');
    const afterChange = pricing.billingDue(catalog, changeAnswer.json.contract, end).invoices;
    expect.changed = [...before.invoices, null, ...afterChange];
    expect.canceled = pricing.billingDue(catalog, imported.canceled, '2026-05-31').invoices;
    let total = 0;
    for (const [name, invoices] of Object.entries(expect)) {
      const got = invoicesOf(ids[name]);
      assert.equal(got.length, invoices.length, `${name}: ${got.map((i) => i.invoiceDate).join(', ')}`);
      invoices.forEach((inv, i) => {
        if (inv === null) {
          assert.equal(got[i].id, changeAnswer.json.invoice.id, `${name}: the change's own invoice`);
          return;
        }
        assertSameInvoice(got[i], inv, `${name}[${i}]`);
        total++;
      });
    }
    assert.equal(issued, total, 'the runs issued exactly the engine\'s invoices');
    assert.equal(expect.monthly.length, 12);
    assert.equal(expect.quarterly.length, 4);
    assert.equal(expect.annual.length, 0, 'the annual term was paid up front and ends on 2027-01-01');
    assert.equal(expect.arrears.length, 4);
    // The scheduled cancellation took effect on its date: no invoice from June on.
    const [canceled] = d1(stack, `SELECT status FROM contracts WHERE id = '${ids.canceled}'`);
    assert.equal(canceled.status, 'CANCELED');
    const log = d1(stack, 'SELECT COUNT(*) AS n FROM billing_runs')[0].n;
    assert.ok(log >= 396, `${log} runs logged`);
  });

  test('a second run and concurrent runs issue nothing twice', async () => {
    const again = await run('2026-12-01');
    assert.equal(again.invoicesIssued, 0);
    const next = '2027-02-01';
    const results = await Promise.all([1, 2, 3, 4, 5].map(() => api.call('POST', '/api/billingRuns', secret({ body: { date: next }, headers: at(next) }))));
    for (const r of results) assert.equal(r.status, 200, r.text);
    const issued = results.reduce((n, r) => n + r.json.invoicesIssued, 0);
    const rows = d1(stack, `SELECT contract_id, COUNT(*) AS n FROM invoices WHERE invoice_date = '${next}' GROUP BY contract_id`);
    assert.ok(rows.every((r) => r.n === 1), JSON.stringify(rows));
    assert.equal(issued, rows.length);
    assert.ok(issued >= 2, 'monthly and changed are due on Feb 1');
  });
});

describe('dunning', () => {
  test('a failing card goes through the retries to suspension; a new card resumes it', async () => {
    const t = today();
    const created = await api.post({
      action: 'CREATE_WITH_PAYMENT_METHOD',
      customer: { accountName: 'Dunning Co', name: 'Dee Dunn', email: 'dee@dunning.test', billingAddress: { country: 'US', state: 'NY' } },
      quote: { startDate: t, offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: 2 }] }] },
    });
    assert.equal(created.status, 201, created.text);
    const init = created.json.paymentMethodInit.stripe;
    await confirmCard(stack, init);
    const done = await api.patch(created.json.sessionId, { action: 'FINALIZE', paymentMethod: { paymentToken: init.setupIntentId } });
    assert.equal(done.status, 200, done.text);
    const account = done.json.customer.accountId;
    const contractId = done.json.contract.id;
    // The customer swaps in a card that will decline.
    const swap = async (card, date) => {
      const s = await api.call('POST', `/api/accounts/${account}/setupIntents`, secret());
      assert.equal(s.status, 201, s.text);
      await confirmCard(stack, s.json, card);
      const r = await api.call('POST', `/api/accounts/${account}/paymentMethod`,
        secret({ body: { paymentToken: s.json.setupIntentId }, headers: date ? at(date) : {} }));
      assert.equal(r.status, 200, r.text);
      return r.json;
    };
    await swap('pm_card_chargeCustomerFail');
    const due = done.json.quote.nextInvoiceDate;
    let failed = 0;
    for (let day = due; day <= addDays(due, 6); day = addDays(day, 1)) failed += (await run(day)).failed;
    assert.equal(failed, 4, 'the first attempt and three retries (1, 3, 5 days later)');
    const [inv] = d1(stack, `SELECT id, status, attempts FROM invoices WHERE contract_id = '${contractId}' AND invoice_date = '${due}'`);
    assert.deepEqual([inv.status, inv.attempts], ['VOID', 4]);
    const attempts = d1(stack, `SELECT attempt, status, decline_code FROM payment_attempts WHERE invoice_id = '${inv.id}' ORDER BY attempt`);
    assert.deepEqual(attempts.map((a) => a.status), ['FAILED', 'FAILED', 'FAILED', 'FAILED']);
    assert.ok(attempts.every((a) => a.decline_code), 'each attempt records the decline');
    assert.equal(d1(stack, `SELECT status FROM contracts WHERE id = '${contractId}'`)[0].status, 'SUSPENDED');
    // One status everywhere: the contract itself and the account's list agree.
    const one = await api.call('GET', `/api/contracts/${contractId}`, secret());
    const list = await api.call('GET', `/api/accounts/${account}/contracts`, secret());
    assert.equal(one.json.status, 'SUSPENDED');
    assert.equal(list.json.data.find((c) => c.id === contractId).status, 'SUSPENDED');
    // Suspended on the last retry (due + 5); nothing billed while suspended.
    const suspendedOn = addDays(due, 5);
    const resumeDay = addDays(due, 8);
    for (let day = addDays(due, 7); day < resumeDay; day = addDays(day, 1)) assert.equal((await run(day)).invoicesIssued, 0);
    // A good card on due + 8: the voided invoice stays void; one invoice charges
    // the days used before the suspension and the period's rest from today.
    const resumed = await swap('pm_card_visa', resumeDay);
    assert.equal(resumed.charged, 1);
    assert.equal(d1(stack, `SELECT status FROM invoices WHERE id = '${inv.id}'`)[0].status, 'VOID');
    assert.equal(d1(stack, `SELECT status FROM contracts WHERE id = '${contractId}'`)[0].status, 'ACTIVE');
    const [resumeInvoice] = d1(stack, `SELECT status, body FROM invoices WHERE contract_id = '${contractId}' AND invoice_date = '${resumeDay}'`);
    assert.equal(resumeInvoice.status, 'PAID');
    const items = JSON.parse(resumeInvoice.body).items;
    const next = addMonths(t, 2);
    assert.deepEqual(items.map((i) => [i.periodStart, i.periodEnd]), [[due, suspendedOn], [resumeDay, next]]);
    // The next regular invoice is the next whole period; no suspended day was ever billed.
    await run(next);
    const billed = d1(stack, `SELECT body FROM invoices WHERE contract_id = '${contractId}' AND status <> 'VOID' ORDER BY invoice_date`)
      .flatMap((r) => JSON.parse(r.body).items.map((i) => [i.periodStart, i.periodEnd]));
    for (const [a, b] of billed) assert.ok(b <= suspendedOn || a >= resumeDay, `${a}..${b} overlaps the suspension`);
    const pis = await paymentIntents(stack, init.customerId);
    assert.equal(pis.filter((pi) => pi.status === 'succeeded').length, 3, 'the sign-up, the resumption and the next period');
  });
});

describe('the Cron Trigger', () => {
  test('the scheduled handler fans today\'s run out on the billing queue: every range billed and logged', async () => {
    const before = d1(stack, `SELECT COUNT(*) AS n FROM billing_runs WHERE run_date = '${today()}'`)[0].n;
    // wrangler dev --test-scheduled fires the scheduled handler on this path.
    const res = await fetch(`${stack.url}/__scheduled?cron=${encodeURIComponent('0 6 * * *')}`);
    assert.equal(res.status, 200, await res.text());
    // The cron only sends the 8 ranges; the queue's consumers bill and log each (a page each here).
    let after = before;
    for (let i = 0; i < 300 && after < before + 8; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = d1(stack, `SELECT COUNT(*) AS n FROM billing_runs WHERE run_date = '${today()}'`)[0].n;
    }
    assert.ok(after >= before + 8, `${before} → ${after} runs logged for today`);
  });
});

describe('Stripe webhooks', () => {
  const sign = (body, t, key = stack.webhookSecret) =>
    `t=${t},v1=${createHmac('sha256', key).update(`${t}.${body}`).digest('hex')}`;
  const post = (body, signature) => api.call('POST', '/api/webhooks/stripe', { raw: body, key: null, headers: { 'stripe-signature': signature } });

  test('good, bad, replayed and stale signatures', async () => {
    const { contract: c } = await importContract(stack, contract('2026-01-01', [line('offr_team', 'rate_team_monthly', '2026-01-01', '2026-02-01',
      [{ productId: 'prod_seats', quantity: 1 }])]), { name: 'Webhook Co' });
    await run('2027-03-01');
    const [inv] = d1(stack, `SELECT id FROM invoices WHERE contract_id = '${c.id}' AND status = 'OPEN' ORDER BY invoice_date LIMIT 1`);
    const event = JSON.stringify({ id: `evt_${inv.id}`, type: 'payment_intent.succeeded',
      data: { object: { id: `pi_${inv.id}`, amount: 1300, amount_received: 1300, metadata: { quotekit_invoice: inv.id } } } });
    const now = Math.floor(Date.now() / 1000);
    for (const bad of [sign(event, now, 'whsec_wrong'), sign(event, now - 301), 't=1,v1=00', '']) {
      const r = await post(event, bad);
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.code, 'INVALID_SIGNATURE');
    }
    assert.equal(d1(stack, `SELECT status FROM invoices WHERE id = '${inv.id}'`)[0].status, 'OPEN', 'bad signatures change nothing');
    const good = await post(event, sign(event, now));
    assert.equal(good.status, 200, good.text);
    assert.equal(good.json.handled, true);
    assert.equal(d1(stack, `SELECT status FROM invoices WHERE id = '${inv.id}'`)[0].status, 'PAID');
    const replay = await post(event, sign(event, now));
    assert.equal(replay.json.duplicate, true);
    assert.equal(d1(stack, `SELECT COUNT(*) AS n FROM payments WHERE invoice_id = '${inv.id}'`)[0].n, 1);
  });
});
