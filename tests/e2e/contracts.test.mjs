// The Contract Management API end to end: the real Worker on workerd with
// local D1 and localstripe. Amounts are checked against the engine itself
// (pkg/, the npm package) to the cent. Dates come from the Worker's test
// clock (QuoteKit-Test-Now, enabled only in the local stack).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { DEMO_CATALOG, DEMO_CONTRACT, startStack } from '../../scripts/stack.mjs';
import { loadPkg, mismatch, vectors } from '../node/helpers.mjs';
import { at, client, confirmCard, d1, importContract, paymentIntents, printedBlocks, snapshot, today } from './helpers.mjs';

let stack;
let api;
let pricing;
const catalog = JSON.parse(readFileSync(DEMO_CATALOG, 'utf8'));

before(async () => {
  stack = await startStack();
  api = client(stack);
  pricing = await loadPkg();
});
after(async () => {
  await stack?.stop();
});

const secret = (extra = {}) => ({ key: stack.secretKey, ...extra });
const change = (body, date, opts = {}) =>
  api.call('POST', '/api/selfService/contract', { body, ...secret({ headers: date ? at(date) : {} }), ...opts });

/** A Team contract: 10 seats and 250 GB, monthly, from 2026-01-01, invoiced through 2026-02-01. */
function teamContract(extraLines = []) {
  return {
    status: 'ACTIVE', currency: 'USD', startDate: '2026-01-01', endDate: null,
    offerings: [
      {
        offeringId: 'offr_team', rateId: 'rate_team_monthly', serviceStart: '2026-01-01', anchorDate: '2026-01-01',
        anchorDay: 1, invoicedThrough: '2026-02-01',
        products: [{ productId: 'prod_seats', quantity: 10 }, { productId: 'prod_storage', quantity: 250 }],
      },
      ...extraLines,
    ],
  };
}
const supportLine = {
  offeringId: 'offr_support', rateId: 'rate_support_monthly', serviceStart: '2026-01-01', anchorDate: '2026-01-01',
  anchorDay: 1, invoicedThrough: '2026-02-01', products: [{ productId: 'prod_support', quantity: 1 }],
};

/** The API's invoice has the engine's figures and lines (as `items`, with ids), plus tax. */
function assertEngineInvoice(apiInvoice, engineInvoice, label) {
  assert.equal(apiInvoice.invoiceDate, engineInvoice.invoiceDate, label);
  assert.equal(apiInvoice.amountWithoutTax, engineInvoice.amountWithoutTax, label);
  assert.equal(apiInvoice.items.length, engineInvoice.lines.length, label);
  apiInvoice.items.forEach((item, i) => {
    const line = engineInvoice.lines[i];
    for (const k of ['offeringId', 'rateId', 'productId', 'quantity', 'periodStart', 'periodEnd', 'prorationFactor', 'amount']) {
      assert.equal(item[k], line[k], `${label}: items[${i}].${k}`);
    }
  });
  // CA 7.25 %, rounded per line (half up), summed.
  const tax = apiInvoice.items.reduce((t, l) => t + Math.round(l.amount * 7.25) / 100, 0);
  assert.equal(Math.round(apiInvoice.tax * 100), Math.round(tax * 100), `${label}: tax`);
}

describe('the Quickstart of contract-api.txt, as printed', () => {
  test('ten becomes eleven seats today; monthly to annual on the next bill cycle', async () => {
    const [quantityText, rateText] = printedBlocks('contract-api.txt');
    const before = await api.call('GET', `/api/contracts/${DEMO_CONTRACT}`, secret());
    assert.equal(before.status, 200, before.text);
    assert.equal(before.json.offerings[0].products[0].quantity, 10);
    const engine = pricing.previewChange(catalog, before.json, JSON.parse(quantityText), today());
    const r = await api.call('POST', '/api/selfService/contract', secret({ raw: quantityText }));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.action, 'QUANTITY_CHANGE');
    assert.equal(r.json.status, 'SUCCESS');
    assert.equal(r.json.quote.status, 'PROCESSED');
    assert.equal(r.json.contract.offerings[0].products[0].quantity, 11);
    if (engine.invoice.lines.length) assertEngineInvoice(r.json.invoice, engine.invoice, 'quickstart 1');
    // The second request carries a stray trailing comma: a 400 that says where, then accepted without it.
    const bad = await api.call('POST', '/api/selfService/contract', secret({ raw: rateText }));
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 'MALFORMED_JSON');
    assert.match(bad.json.message, /trailing comma \(line \d+, column \d+\)/);
    const ok = await api.call('POST', '/api/selfService/contract', secret({ raw: rateText.replace(/,(\s*})/, '$1') }));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.status, 'SUCCESS');
    const now = new Date();
    const nextFirst = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString().slice(0, 10);
    assert.equal(ok.json.quote.effectiveDate, nextFirst);
    assert.equal(ok.json.contract.offerings[0].rateId, 'rate_business_monthly', 'the rate changes on its date');
    assert.equal(ok.json.contract.scheduledChanges[0].action, 'RATE_CHANGE');
    assert.equal(ok.json.upcomingInvoice.invoiceDate, nextFirst);
  });
});

describe('each action, inside a period and on a boundary, equals the engine', () => {
  const actions = {
    QUANTITY_CHANGE: { payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 15 }] }] } },
    RATE_CHANGE: { payload: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_annual' }] } },
    OFFERING_CHANGE: {
      payload: { offerings: [{ offeringId: 'offr_team', newOfferingId: 'offer_fYyrKcVaJRgVN7jg', products: [{ productId: 'prod_sVd2qS8nXCP7X1Uf', quantity: 10 }] }] },
    },
    ADD_OFFERING: { payload: { offerings: [{ offeringId: 'offr_support', products: [{ productId: 'prod_support', quantity: 1 }] }] } },
    REMOVE_OFFERING: { payload: { offerings: [{ offeringId: 'offr_support' }] }, lines: [supportLine] },
    CANCELLATION: { payload: null },
  };
  for (const [action, spec] of Object.entries(actions)) {
    for (const [where, date] of [['inside a period', '2026-01-16'], ['on a boundary', '2026-02-01']]) {
      test(`${action} ${where}`, async () => {
        const imported = await importContract(stack, teamContract(spec.lines ?? []));
        const contract = imported.contract;
        const op = { action, contractId: contract.id, payload: spec.payload };
        const engine = pricing.previewChange(catalog, contract, op, date);
        const r = await change(op, date);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.status, 'SUCCESS');
        assert.equal(r.json.action, action);
        assert.equal(mismatch(JSON.parse(JSON.stringify(engine.contract.offerings)), r.json.contract.offerings), null);
        assert.equal(r.json.contract.status, engine.contract.status);
        if (engine.invoice.lines.length) {
          assertEngineInvoice(r.json.invoice, engine.invoice, `${action} ${where}`);
          assert.equal(r.json.invoice.status, engine.invoice.amount > 0 ? 'OPEN' : 'PAID');
          const [row] = d1(stack, `SELECT amount_without_tax FROM invoices WHERE id = '${r.json.invoice.id}'`);
          assert.equal(Number(row.amount_without_tax), engine.invoice.amountWithoutTax);
        } else {
          assert.equal(r.json.invoice, undefined);
        }
      });
    }
  }
});

describe('payments and credits', () => {
  async function signUp({ offering = 'offr_team', rate = 'rate_team_monthly', card = 'pm_card_visa', seats = 10 } = {}) {
    const created = await api.post({
      action: 'CREATE_WITH_PAYMENT_METHOD',
      customer: { accountName: 'Seat Co', name: 'Sam Seat', email: 'sam@seat.test', billingAddress: { country: 'US', state: 'CA' } },
      quote: { startDate: today(), offerings: [{ offeringId: offering, rateId: rate, items: [{ productId: 'prod_seats', quantity: seats }] }] },
    });
    assert.equal(created.status, 201, created.text);
    const init = created.json.paymentMethodInit.stripe;
    await confirmCard(stack, init, card);
    const done = await api.patch(created.json.sessionId, { action: 'FINALIZE', paymentMethod: { paymentToken: init.setupIntentId } });
    assert.equal(done.status, 200, done.text);
    return { ...done.json, stripeCustomer: init.customerId };
  }
  const plusDays = (n) => new Date(Date.now() + n * 86400000).toISOString().slice(0, 10);
  const seats = (contractId, quantity) => ({
    action: 'QUANTITY_CHANGE', contractId,
    payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity }] }] },
  });

  test('more seats mid-period: charged to the saved card; fewer seats: a credit the next invoice consumes', async () => {
    const s = await signUp();
    const up = await change(seats(s.contract.id, 16), plusDays(10));
    assert.equal(up.status, 200, up.text);
    assert.equal(up.json.invoice.status, 'PAID');
    const pis = await paymentIntents(stack, s.stripeCustomer);
    assert.equal(pis.length, 2, 'the sign-up and the change');
    assert.ok(pis.some((pi) => pi.amount === Math.round(up.json.payment.amount * 100)));
    const down = await change(seats(s.contract.id, 11), plusDays(12));
    assert.equal(down.status, 200, down.text);
    assert.ok(down.json.invoice.amount < 0);
    assert.equal(down.json.creditBalance, -down.json.invoice.amount);
    assert.equal((await paymentIntents(stack, s.stripeCustomer)).length, 2, 'a credit charges nothing');
    const again = await change(seats(s.contract.id, 14), plusDays(13));
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.invoice.creditApplied, Math.min(down.json.creditBalance, again.json.invoice.amount));
  });

  test('reverting a change credits the open invoice it left: nothing owed, no credit left over', async () => {
    // Collected by invoice (importContract's default): the increase is left open.
    const { contract, account } = await importContract(stack, teamContract(), { name: 'Revert Co' });
    const seats = (n) => ({ action: 'QUANTITY_CHANGE', contractId: contract.id,
      payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: n }] }] } });
    const up = await change(seats(11), '2026-01-16');
    assert.equal(up.status, 200, up.text);
    assert.equal(up.json.invoice.status, 'OPEN');
    const down = await change(seats(10), '2026-01-16');
    assert.equal(down.status, 200, down.text);
    assert.equal(down.json.invoice.amount, -up.json.invoice.amount);
    const [inv] = d1(stack, `SELECT status, amount_due FROM invoices WHERE id = '${up.json.invoice.id}'`);
    assert.deepEqual([inv.status, Number(inv.amount_due)], ['PAID', 0]);
    const [acct] = d1(stack, `SELECT credit_balance FROM accounts WHERE id = '${account.id}'`);
    assert.equal(Number(acct.credit_balance), 0);
  });

  test('a declined charge applies nothing (status FAILED)', async () => {
    // The free plan: nothing to pay at sign-up, so the declining card is saved; then a paid add-on.
    const s = await signUp({ offering: 'offr_free', rate: 'rate_free_monthly', card: 'pm_card_chargeCustomerFail', seats: 2 });
    assert.equal(s.invoice, undefined, 'the free plan owes nothing today: no invoice');
    const before = await api.call('GET', `/api/contracts/${s.contract.id}`, secret());
    const r = await change({ action: 'ADD_OFFERING', contractId: s.contract.id,
      payload: { offerings: [{ offeringId: 'offr_support', products: [{ productId: 'prod_support', quantity: 1 }] }] } }, plusDays(5));
    assert.equal(r.status, 402, r.text);
    assert.equal(r.json.status, 'FAILED');
    assert.equal(r.json.errorMessage, 'Your card was declined.');
    const afterwards = await api.call('GET', `/api/contracts/${s.contract.id}`, secret());
    assert.deepEqual(afterwards.json.offerings, before.json.offerings);
    assert.equal(afterwards.json.amendments.at(-1).status, 'FAILED');
    const [n] = d1(stack, `SELECT COUNT(*) AS n FROM invoices WHERE contract_id = '${s.contract.id}'`);
    assert.equal(n.n, 0, 'no invoice: the sign-up owed nothing and the declined change applied nothing');
  });
});

describe('scheduling, approval, previews, several operations', () => {
  test('NEXT_BILL_CYCLE with a frequency change is scheduled; the contract shows it; it can be withdrawn', async () => {
    const { contract } = await importContract(stack, teamContract());
    const r = await change({ action: 'RATE_CHANGE', contractId: contract.id, relativeEffectiveDate: 'NEXT_BILL_CYCLE',
      payload: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_annual' }] } }, '2026-01-16');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.quote.effectiveDate, '2026-02-01');
    assert.equal(r.json.contract.offerings[0].rateId, 'rate_team_monthly');
    const engine = pricing.previewChange(catalog, contract, { action: 'RATE_CHANGE', relativeEffectiveDate: 'NEXT_BILL_CYCLE',
      payload: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_annual' }] } }, '2026-01-16');
    assert.equal(r.json.upcomingInvoice.amountWithoutTax, engine.invoice.amountWithoutTax);
    const got = await api.call('GET', `/api/contracts/${contract.id}`, secret());
    assert.equal(got.json.scheduledChanges.length, 1);
    const blocked = await change({ action: 'CANCELLATION', contractId: contract.id, payload: null }, '2026-01-17');
    assert.equal(blocked.status, 409);
    const w = await api.call('POST', `/api/contracts/${contract.id}/amendments/${r.json.quote.id}/reject`, secret());
    assert.equal(w.status, 200, w.text);
    assert.equal(w.json.status, 'WITHDRAWN');
  });

  test('approval rules: REVIEW, then approve applies it', async () => {
    const withRules = { ...catalog, settings: { ...catalog.settings, approvalRules: { requireReview: ['CANCELLATION'] } } };
    const pub = await api.call('PUT', '/api/catalog', secret({ body: withRules }));
    assert.equal(pub.status, 201, pub.text);
    const { contract } = await importContract(stack, teamContract());
    const r = await change({ action: 'CANCELLATION', contractId: contract.id, payload: null, evaluateApprovalRules: true }, '2026-01-16');
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.status, 'REVIEW');
    assert.equal(r.json.contract.status, 'ACTIVE');
    const ok = await api.call('POST', `/api/contracts/${contract.id}/amendments/${r.json.quote.id}/approve`, secret({ headers: at('2026-01-18') }));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.contract.status, 'CANCELED');
    assert.equal(ok.json.quote.effectiveDate, '2026-01-18', 'a date passed in review takes effect on approval');
    const pk = await api.call('POST', `/api/contracts/${contract.id}/amendments/${r.json.quote.id}/reject`, {});
    assert.equal(pk.status, 403);
  });

  test('a preview saves nothing; several operations make one invoice', async () => {
    const { contract } = await importContract(stack, teamContract());
    const ops = { contractId: contract.id, operations: [
      { action: 'QUANTITY_CHANGE', payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 12 }] }] } },
      { action: 'ADD_OFFERING', payload: { offerings: [{ offeringId: 'offr_support', products: [{ productId: 'prod_support', quantity: 1 }] }] } },
    ] };
    const before = snapshot(stack);
    const p = await change({ ...ops, preview: true }, '2026-01-16');
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.preview, true);
    assert.deepEqual(snapshot(stack), before);
    const r = await change(ops, '2026-01-16');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.action, 'MULTIPLE');
    assert.equal(r.json.invoice.amount, p.json.invoice.amount);
    assertEngineInvoice(r.json.invoice, pricing.previewChange(catalog, contract, { operations: ops.operations }, '2026-01-16').invoice, 'multi');
    const [n] = d1(stack, `SELECT COUNT(*) AS n FROM invoices WHERE contract_id = '${contract.id}'`);
    assert.equal(n.n, 1);
  });
});

describe('who may change what', () => {
  test('a customer token reads and changes its own account only', async () => {
    const mine = await importContract(stack, teamContract(), { name: 'Mine' });
    const theirs = await importContract(stack, teamContract(), { name: 'Theirs' });
    const t = await api.call('POST', '/api/customerTokens', secret({ body: { accountId: mine.account.id, expiresIn: 300 } }));
    assert.equal(t.status, 201, t.text);
    const token = t.json.token;
    const as = (key) => ({ key });
    assert.equal((await api.call('GET', `/api/accounts/${mine.account.id}`, as(token))).status, 200);
    assert.equal((await api.call('GET', `/api/accounts/${mine.account.id}/contracts`, as(token))).json.data.length, 1);
    assert.equal((await api.call('GET', `/api/contracts/${theirs.contract.id}`, as(token))).status, 404);
    assert.equal((await api.call('GET', `/api/accounts/${theirs.account.id}`, as(token))).status, 404);
    const seatsOp = (id) => ({ action: 'QUANTITY_CHANGE', contractId: id, payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 11 }] }] } });
    assert.equal((await api.call('POST', '/api/selfService/contract', { body: seatsOp(theirs.contract.id), key: token, headers: at('2026-01-16') })).status, 404);
    assert.equal((await api.call('POST', '/api/selfService/contract', { body: seatsOp(mine.contract.id), key: token, headers: at('2026-01-16') })).status, 200);
    assert.equal((await api.call('POST', '/api/selfService/contract', { body: seatsOp(mine.contract.id) })).status, 403, 'publishable key');
    assert.equal((await api.call('GET', `/api/accounts/${mine.account.id}`, as(`${token.slice(0, -2)}xx`))).status, 401);
    assert.equal((await api.call('GET', `/api/accounts/${mine.account.id}`, { key: token, headers: { 'quotekit-test-now': '2099-01-01T00:00:00Z' } })).status, 401, 'expired');
    assert.equal((await api.call('PUT', '/api/catalog', { raw: '{}', key: token })).status, 403);
  });

  test('racing changes to one contract: each 200 or 409, nothing half-applied', async () => {
    const { contract } = await importContract(stack, teamContract());
    const results = await Promise.all([11, 12, 13, 14, 15, 16].map((q) => change({
      action: 'QUANTITY_CHANGE', contractId: contract.id,
      payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: q }] }] },
    }, '2026-01-16')));
    const won = results.filter((r) => r.status === 200);
    for (const r of results) assert.ok([200, 409].includes(r.status), r.text);
    assert.ok(won.length >= 1);
    const [row] = d1(stack, `SELECT version, body FROM contracts WHERE id = '${contract.id}'`);
    assert.equal(row.version, 1 + won.length);
    const [n] = d1(stack, `SELECT COUNT(*) AS n FROM invoices WHERE contract_id = '${contract.id}'`);
    assert.equal(n.n, won.length, 'one invoice per applied change');
    const final = JSON.parse(row.body).offerings[0].products[0].quantity;
    assert.ok(won.some((r) => r.json.contract.offerings[0].products[0].quantity === final));
  });
});

describe('every change vector through the Worker equals the engine', () => {
  test('preview of each case at its own date', async () => {
    let ran = 0;
    for (const [, name, c] of vectors().filter(([, , c]) => c.operation)) {
      const pub = await api.call('PUT', '/api/catalog', secret({ body: c.catalog }));
      const expected = c.expected;
      const fail = (r) => assert.equal(mismatch(expected, { error: { code: r.json?.code, path: r.json?.path } }), null, `${name}: ${r.text}`);
      if (pub.status >= 300) {
        fail(pub);
        ran++;
        continue;
      }
      // Vectors reuse contract ids; each import gets a fresh one.
      const { id: _, ...contract } = c.contract ?? {};
      const imp = await api.call('POST', '/api/contracts', secret({ body: { account: { name: 'Vector' }, billGroup: { collectInvoiceBalanceAutomatically: false }, contract: c.contract && contract } }));
      if (imp.status !== 201) {
        fail(imp);
        ran++;
        continue;
      }
      const renamed = JSON.parse(JSON.stringify(c.operation).replaceAll(JSON.stringify(c.contract.id ?? '\u0000'), JSON.stringify(imp.json.contract.id)));
      const op = { ...renamed, contractId: imp.json.contract.id, preview: true };
      const r = await api.call('POST', '/api/selfService/contract', secret({ body: op, headers: at(c.today) }));
      if (r.status !== 200) {
        fail(r);
      } else {
        const { items, ...invoice } = r.json.invoice;
        const actual = { change: { contract: { ...r.json.contract, id: c.contract.id }, invoice: { ...invoice, lines: items } } };
        assert.equal(mismatch(expected, actual), null, name);
      }
      ran++;
    }
    assert.ok(ran >= 30, `only ${ran} change vectors ran`);
  });
});

describe('terms, idempotency and reads', () => {
  // The vector suite above published other catalogs: the demo one again.
  before(async () => {
    const r = await api.call('PUT', '/api/catalog', secret({ raw: readFileSync(DEMO_CATALOG, 'utf8') }));
    assert.ok(r.status < 300, r.text);
  });
  test('RENEW and TERM_CHANGE move the end of a termed contract', async () => {
    const termed = {
      status: 'ACTIVE', currency: 'USD', startDate: '2026-01-01', endDate: '2027-01-01',
      offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_annual', serviceStart: '2026-01-01', anchorDate: '2026-01-01',
        anchorDay: 1, invoicedThrough: '2027-01-01', products: [{ productId: 'prod_seats', quantity: 5 }, { productId: 'prod_storage', quantity: 100 }] }],
    };
    const { contract } = await importContract(stack, termed);
    const renew = await change({ action: 'RENEW', contractId: contract.id, payload: null }, '2026-06-01');
    assert.equal(renew.status, 200, renew.text);
    assert.equal(renew.json.contract.endDate, '2028-01-01');
    const shorter = await change({ action: 'TERM_CHANGE', contractId: contract.id, payload: { months: -3 } }, '2026-06-01');
    assert.equal(shorter.status, 200, shorter.text);
    assert.equal(shorter.json.contract.endDate, '2027-10-01');
    const tooShort = await change({ action: 'TERM_CHANGE', contractId: contract.id, payload: { months: -10 } }, '2026-06-01');
    assert.equal(tooShort.status, 400);
    assert.equal(tooShort.json.path, 'payload.months');
  });

  test('Idempotency-Key replays a change instead of applying it twice', async () => {
    const { contract } = await importContract(stack, teamContract());
    const body = { action: 'QUANTITY_CHANGE', contractId: contract.id,
      payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 13 }] }] } };
    const headers = { ...at('2026-01-16'), 'idempotency-key': `chg-${contract.id}` };
    const a = await api.call('POST', '/api/selfService/contract', secret({ body, headers }));
    const b = await api.call('POST', '/api/selfService/contract', secret({ body, headers }));
    assert.equal(a.status, 200, a.text);
    assert.equal(b.text, a.text);
    assert.equal(b.headers.get('idempotent-replayed'), 'true');
    const [n] = d1(stack, `SELECT COUNT(*) AS n FROM amendments WHERE contract_id = '${contract.id}'`);
    assert.equal(n.n, 1);
  });

  test('an account, its contracts and invoices (paged), an invoice, a quote', async () => {
    const { account, contract } = await importContract(stack, teamContract(), { name: 'Reader Co' });
    for (const [q, d] of [[11, '2026-01-10'], [12, '2026-01-12'], [13, '2026-01-14']]) {
      const r = await change({ action: 'QUANTITY_CHANGE', contractId: contract.id,
        payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: q }] }] } }, d);
      assert.equal(r.status, 200, r.text);
    }
    const acct = await api.call('GET', `/api/accounts/${account.id}`, secret());
    assert.equal(acct.json.name, 'Reader Co');
    const contracts = await api.call('GET', `/api/accounts/${account.id}/contracts`, secret());
    assert.deepEqual(contracts.json.data.map((c) => c.id), [contract.id]);
    const ids = [];
    let cursor = '';
    do {
      const page = await api.call('GET', `/api/accounts/${account.id}/invoices?limit=2${cursor ? `&cursor=${cursor}` : ''}`, secret());
      assert.equal(page.status, 200, page.text);
      ids.push(...page.json.data.map((i) => i.id));
      cursor = page.json.nextCursor;
    } while (cursor);
    assert.equal(ids.length, 3);
    assert.equal(new Set(ids).size, 3);
    const inv = await api.call('GET', `/api/invoices/${ids[0]}`, secret());
    assert.equal(inv.status, 200);
    assert.deepEqual(inv.json.payments, []);
    const got = await api.call('GET', `/api/contracts/${contract.id}`, secret());
    const quote = await api.call('GET', `/api/quotes/${got.json.amendments[0].id}`, secret());
    assert.equal(quote.json.type, 'AMENDMENT');
    assert.equal((await api.call('GET', `/api/accounts?customId=QUICKSTART-001`, secret())).json.data[0].name, 'Quickstart Co');
  });
});
