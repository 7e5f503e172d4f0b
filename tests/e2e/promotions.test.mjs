// Promotion codes on the real stack (workerd, local D1, localstripe): a code
// limited to 10 redemptions and 50 checkouts finalizing at once give exactly
// 10 discounted contracts, the others 409 and never charged, and localstripe's
// totals equal D1's; guessed codes past the budget get 429 for any code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { DEMO_CATALOG, startStack } from '../../scripts/stack.mjs';
import { allPaymentIntents, at, client, confirmCard, d1, paymentIntents, today } from './helpers.mjs';

const CHECKOUTS = 50;
const LIMIT = 10;
const GUESSES = 5;
let stack, api;

before(async () => {
  stack = await startStack({ stripeMemoryOnly: true, promotionCodeGuessesPerMinute: GUESSES });
  api = client(stack);
  const catalog = JSON.parse(readFileSync(DEMO_CATALOG, 'utf8'));
  catalog.promotionCodes.push({ code: 'TEN', couponId: 'cpn_welcome', maxRedemptions: LIMIT });
  const r = await api.call('PUT', '/api/catalog', { body: catalog, key: stack.secretKey });
  assert.equal(r.status, 201, r.text);
});
after(async () => {
  await stack?.stop();
});

const quote = (code) => ({ startDate: today(), promotionCode: code,
  offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: 10 }] }] });
const customer = (i) => ({ accountName: `Promo ${i}`, name: 'P. Romo', email: `promo.${i}@example.test`,
  billingAddress: { line1: '1 Main', city: 'SF', state: 'CA', postalCode: '94105', country: 'US' } });

test(`a code limited to ${LIMIT}, ${CHECKOUTS} checkouts finalizing at once: exactly ${LIMIT} discounted, the rest 409 and never charged`, { timeout: 10 * 60_000 }, async () => {
  // Every session is priced with the code while it still has redemptions left.
  const sessions = [];
  for (let i = 0; i < CHECKOUTS; i++) {
    const s = await api.post({ action: 'CREATE_WITH_PAYMENT_METHOD', customer: customer(i), quote: quote('ten') });
    assert.equal(s.status, 201, s.text);
    assert.ok(s.json.quote.discountAmount > 0, s.text);
    const init = s.json.paymentMethodInit.stripe;
    await confirmCard(stack, init);
    const u = await api.patch(s.json.sessionId, { action: 'UPDATE', paymentMethod: { paymentToken: init.setupIntentId } });
    assert.equal(u.status, 200, u.text);
    sessions.push({ id: s.json.sessionId, stripeCustomer: init.customerId, discount: s.json.quote.discountAmount });
  }
  const answers = await Promise.all(sessions.map((s) => api.patch(s.id, { action: 'FINALIZE' })));
  // A FINALIZE the local proxy or localstripe failed under the burst (a clean 5xx) is sent again, one at a time.
  for (const [i, a] of answers.entries()) {
    if (a.status >= 500) answers[i] = await api.patch(sessions[i].id, { action: 'FINALIZE' });
  }
  const won = [], refused = [];
  for (const [i, a] of answers.entries()) {
    if (a.status === 200) won.push({ ...sessions[i], body: a.json });
    else {
      assert.equal(a.status, 409, a.text);
      assert.equal(a.json.code, 'PROMOTION_CODE_EXHAUSTED', a.text);
      assert.equal(a.json.path, 'quote.promotionCode');
      refused.push(sessions[i]);
    }
  }
  assert.equal(won.length, LIMIT, `exactly ${LIMIT} redeemed`);
  assert.equal(d1(stack, "SELECT COUNT(*) AS n FROM promotion_redemptions WHERE code_key = 'ten'")[0].n, LIMIT);
  const intents = await allPaymentIntents(stack);
  const charged = (customerId) => intents.filter((pi) => pi.customer === customerId && pi.status === 'succeeded');
  for (const w of won) {
    assert.equal(w.body.contract.discount.couponId, 'cpn_welcome');
    assert.equal(w.body.invoice.discountAmount, w.discount, 'the discount the quote showed');
    const [pi] = charged(w.stripeCustomer);
    assert.equal(pi?.amount, Math.round(w.body.invoice.amount * 100), 'Stripe charged the discounted total');
    const [row] = d1(stack, `SELECT amount FROM invoices WHERE id = '${w.body.invoice.id}'`);
    assert.equal(Number(row.amount), w.body.invoice.amount);
  }
  for (const r of refused) {
    assert.deepEqual(charged(r.stripeCustomer), [], 'never charged');
    assert.equal((await api.get(r.id)).json.status, 'OPEN', 'the session stays open');
  }
  const ids = sessions.map((s) => `'${s.id}'`).join(',');
  const [{ n }] = d1(stack, `SELECT COUNT(*) AS n FROM sessions WHERE id IN (${ids}) AND status = 'FINALIZED'`);
  assert.equal(n, LIMIT);
  // localstripe's total equals D1's.
  const stripeTotal = won.reduce((sum, w) => sum + charged(w.stripeCustomer).reduce((s, pi) => s + pi.amount, 0), 0);
  const accounts = won.map((w) => `'${w.body.customer.accountId}'`).join(',');
  const [{ cents }] = d1(stack, `SELECT CAST(ROUND(SUM(amount) * 100) AS INTEGER) AS cents FROM payments WHERE account_id IN (${accounts}) AND status = 'SUCCEEDED'`);
  assert.equal(stripeTotal, cents);
  // One refused visitor goes on without the code, at full price.
  const [late] = refused;
  const u = await api.patch(late.id, { action: 'UPDATE', quote: { ...quote(undefined), promotionCode: undefined } });
  assert.equal(u.status, 200, u.text);
  const f = await api.patch(late.id, { action: 'FINALIZE' });
  assert.equal(f.status, 200, f.text);
  assert.equal(f.json.invoice.discountAmount ?? 0, 0);
});

test('guessing past the budget: 429 with Retry-After for any code, valid or not; valid codes never count', async () => {
  const headers = at(today()); // one minute for the whole test
  const lookup = (code) => api.call('GET', `/api/selfService/promotionCodes/${code}`, { headers });
  for (let i = 0; i < 20; i++) assert.equal((await lookup('WELCOME20')).status, 200);
  const terms = (await lookup('welcome20')).json;
  assert.equal(terms.coupon.percentOff, 20);
  for (let i = 0; i < GUESSES; i++) {
    const r = await lookup(`GUESS${i}`);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.json.code, 'PROMOTION_CODE_INVALID');
  }
  for (const code of ['GUESS-AGAIN', 'WELCOME20']) {
    const r = await lookup(code);
    assert.equal(r.status, 429, `${code}: ${r.text}`);
    assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After');
  }
  // A sign-up naming a code is throttled the same way.
  const s = await api.post({ action: 'ESTIMATE', quote: quote('WELCOME20') }, { headers });
  assert.equal(s.status, 429, s.text);
  // The publishable key never sees the codes in the catalog.
  const catalog = await api.call('GET', '/api/catalog');
  assert.equal(catalog.status, 200);
  assert.ok(!catalog.text.includes('promotionCodes') && !catalog.text.includes('WELCOME20'), catalog.text.slice(0, 200));
});

test('signed mid-month on a 1st-of-month anchor with 20 % off for 3 months: the runs discount three invoices, the 4th is full price, and Stripe is charged each total', { timeout: 5 * 60_000 }, async () => {
  const own = await startStack({ stripeMemoryOnly: true });
  try {
    const call = client(own);
    const catalog = JSON.parse(readFileSync(DEMO_CATALOG, 'utf8'));
    catalog.settings.billingAnchor = { type: 'DAY_OF_MONTH', day: 1 };
    const published = await call.call('PUT', '/api/catalog', { body: catalog, key: own.secretKey });
    assert.equal(published.status, 201, published.text);
    const day = '2027-01-15';
    const s = await call.post({ action: 'CREATE_WITH_PAYMENT_METHOD', customer: customer('window'),
      quote: { ...quote('WELCOME20'), startDate: day } }, { headers: at(day) });
    assert.equal(s.status, 201, s.text);
    const init = s.json.paymentMethodInit.stripe;
    await confirmCard(own, init);
    const u = await call.patch(s.json.sessionId, { action: 'UPDATE', paymentMethod: { paymentToken: init.setupIntentId } }, { headers: at(day) });
    assert.equal(u.status, 200, u.text);
    const f = await call.patch(s.json.sessionId, { action: 'FINALIZE' }, { headers: at(day) });
    assert.equal(f.status, 200, f.text);
    assert.deepEqual(f.json.contract.discount, { couponId: 'cpn_welcome', percentOff: 20, appliesTo: ['offr_team'], endDate: '2027-04-15' });
    assert.ok(f.json.invoice.discountAmount > 0, 'the partial first period [01-15, 02-01) is discounted');
    const charged = [f.json.invoice.amount];
    // [02-01, 03-01), [03-01, 04-01) and [04-01, 05-01) start before 04-15; [05-01, 06-01) does not.
    for (const [date, withoutTax, discount] of [['2027-02-01', 96, 24], ['2027-03-01', 96, 24], ['2027-04-01', 96, 24], ['2027-05-01', 120, 0]]) {
      const r = await call.call('POST', '/api/billingRuns', { key: own.secretKey, body: { date }, headers: at(date) });
      assert.equal(r.status, 200, r.text);
      const list = (await call.call('GET', `/api/accounts/${f.json.customer.accountId}/invoices`, { key: own.secretKey, headers: at(date) })).json.data;
      const issued = list.find((i) => i.invoiceDate === date);
      assert.deepEqual([issued?.amountWithoutTax, issued?.discountAmount, issued?.status], [withoutTax, discount, 'PAID'], `${date}: ${JSON.stringify(issued)}`);
      charged.push(issued.amount);
    }
    const intents = (await paymentIntents(own, init.customerId)).filter((p) => p.status === 'succeeded').map((p) => p.amount).sort((a, b) => a - b);
    assert.deepEqual(intents, charged.map((a) => Math.round(a * 100)).sort((a, b) => a - b), 'Stripe charged each invoice its total');
  } finally {
    await own.stop();
  }
});

test('a quantity change inside a discounted period credits exactly the discounted amount that was charged', async () => {
  const signed = await api.call('POST', '/api/selfService/signup', { key: stack.secretKey, body: {
    action: 'CREATE_AND_FINALIZE', customer: customer('credit'), quote: quote('WELCOME20'),
    billGroup: { collectInvoiceBalanceAutomatically: false } } });
  assert.equal(signed.status, 201, signed.text);
  const [charged] = signed.json.invoice.items;
  assert.deepEqual([charged.amount, charged.discountAmount], [96, 24]);
  const change = await api.call('POST', '/api/selfService/contract', { key: stack.secretKey, body: {
    action: 'QUANTITY_CHANGE', contractId: signed.json.contract.id,
    payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 4 }] }] } } });
  assert.equal(change.status, 200, change.text);
  const credit = change.json.invoice.items.find((i) => i.amount < 0);
  assert.deepEqual([credit.quantity, credit.periodStart, credit.amount, credit.discountAmount],
    [10, charged.periodStart, -charged.amount, -charged.discountAmount], 'the credit is what the period cost');
  const charge = change.json.invoice.items.find((i) => i.amount > 0);
  assert.deepEqual([charge.quantity, charge.amount, charge.discountAmount], [4, 38.4, 9.6]);
});
