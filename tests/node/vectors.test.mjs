// pkg/ in Node 20 via initSync: every golden vector through estimate /
// previewChange, the Pricing class, and the error shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPkg, vectors, outcome, mismatch } from './helpers.mjs';

const pricing = await loadPkg();
const cases = vectors();

test('the vector folders are not empty', () => {
  assert.ok(cases.filter(([label]) => label === 'shared').length > 0);
  assert.ok(cases.filter(([label]) => label === 'project').length > 0);
  assert.ok(cases.filter(([label]) => label === 'next').length > 0, 'no vectors-next');
});

for (const [label, name, c] of cases) {
  test(`${label}/${name}`, () => {
    const actual = outcome(pricing, c);
    const m = mismatch(c.expected, actual);
    assert.equal(m, null, `${m}\nactual: ${JSON.stringify(actual)}`);
  });
}

test('the mismatch check fails on a wrong amount, a missing field and a wrong length', () => {
  assert.notEqual(mismatch({ a: 65.81 }, { a: 65.8 }), null);
  assert.notEqual(mismatch({ a: 1 }, {}), null);
  assert.notEqual(mismatch({ l: [1] }, { l: [] }), null);
  assert.notEqual(mismatch({ e: null }, { e: '2024-01-01' }), null);
  assert.equal(mismatch({ a: 100.0, l: [{ x: 'y' }] }, { a: 100, l: [{ x: 'y', z: 1 }], b: 2 }), null);
});

test('a Pricing object reuses its catalog and answers like the free function', () => {
  const c = cases.find(([, name]) => name.startsWith('012-'))[2];
  const p = new pricing.Pricing(c.catalog);
  assert.deepEqual(p.estimate(c.request, c.today), pricing.estimate(c.catalog, c.request, c.today));
  assert.equal(p.estimate(c.request, c.today).firstInvoice.amount, 65.81);
});

test('dueAtSignUp: the first invoice with the billing address tax, as FINALIZE charges it', () => {
  const c = cases.find(([, name]) => name.startsWith('012-'))[2];
  const quote = pricing.estimate(c.catalog, c.request, c.today);
  assert.deepEqual(pricing.dueAtSignUp(c.catalog, c.request, c.today), quote.firstInvoice, 'no address, no tax');
  const catalog = { ...c.catalog, settings: { ...c.catalog.settings, taxRates: [{ country: 'US', state: 'CA', rate: '0.0725' }] } };
  const request = { ...c.request, customer: { billingAddress: { country: 'US', state: 'CA' } } };
  const due = new pricing.Pricing(catalog).dueAtSignUp(request, c.today);
  // 65.81 × 0.0725 = 4.771… → 4.77 (one line).
  assert.equal(due.tax, 4.77);
  assert.equal(due.amount, 70.58);
  assert.deepEqual(pricing.dueAtSignUp(catalog, request, c.today), due);
});

test('errors are Error instances with code, path and message', () => {
  const c = cases.find(([, name]) => name.startsWith('158-'))[2];
  assert.throws(
    () => pricing.estimate(c.catalog, c.request, c.today),
    (e) =>
      e instanceof Error &&
      e.name === 'PricingError' &&
      e.code === 'QUANTITY_OUT_OF_RANGE' &&
      e.path === 'quote.offerings[0].items[0].quantity' &&
      /outside/.test(e.message),
  );
  assert.throws(() => pricing.validateCatalog({ currency: 'XYZ', products: [], offerings: [] }), {
    code: 'INVALID_CATALOG',
    path: 'currency',
  });
  assert.throws(() => new pricing.Pricing(undefined), { code: 'INVALID_CATALOG', path: '' });
});

test('an API error passed as a catalog (a fetch without the publishable key) says so, not "currency is required"', () => {
  const unauthorized = { error: true, code: 'UNAUTHORIZED', path: '', message: 'Send a valid key or an unexpired customer token: Authorization: Bearer <key>.' };
  assert.throws(() => new pricing.Pricing(unauthorized), (e) =>
    e.code === 'INVALID_CATALOG' && e.path === '' && /API error, not a catalog \(UNAUTHORIZED/.test(e.message) && /publishable key/.test(e.message));
  assert.throws(() => pricing.estimate([], { quote: {} }), (e) => e.code === 'INVALID_CATALOG' && /not a catalog/.test(e.message));
});

test('results are plain JSON: null where the API has null, no undefined, no Map', () => {
  const c = cases.find(([, name]) => name.startsWith('011-'))[2];
  const quote = pricing.estimate(c.catalog, c.request, c.today);
  assert.equal(quote.endDate, null);
  assert.equal(Object.getPrototypeOf(quote), Object.prototype);
  assert.deepEqual(JSON.parse(JSON.stringify(quote)), quote);
});

test('the JSON-text entry point keeps the currency decimals', () => {
  const c = cases.find(([, name]) => name.startsWith('011-'))[2];
  const text = pricing.estimateJson(c.catalog, c.request, c.today);
  assert.match(text, /"amountWithoutTax":100\.00/);
});

test('numbers are read by their decimal text: 0.1 is exactly one tenth', () => {
  const catalog = {
    currency: 'USD',
    products: [{ id: 'p' }],
    offerings: [{ id: 'o', productIds: ['p'], rates: [{ id: 'r', billingFrequency: 'MONTHLY', billingTiming: 'IN_ADVANCE',
      prices: [{ productId: 'p', model: 'PER_UNIT', unitAmount: 0.1 }] }] }],
  };
  const request = { quote: { startDate: '2026-11-21', offerings: [{ offeringId: 'o', rateId: 'r', items: [{ productId: 'p', quantity: 3 }] }] } };
  // 0.1 + 0.1 + 0.1 in floats is 0.30000000000000004; the engine says 0.30.
  assert.match(pricing.estimateJson(catalog, request, '2026-11-21'), /"amountWithoutTax":0\.30,/);
});
