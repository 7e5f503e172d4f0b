// The typical quote of the engine benchmark (crates/pricing/benches/estimate.rs,
// `estimate/3x2`): 3 offerings x 2 items, TIERED and PER_UNIT, monthly in
// advance, DAY_OF_MONTH 1, started mid-month so every first period is prorated.
import { prepare, quote } from './calculator.js';

export function catalog(offerings = 3, items = 2) {
  const products = [];
  for (let p = 0; p < offerings * items; p++) {
    products.push({ id: `prod_${p}`, name: `Product ${p}`, minQuantity: 0, maxQuantity: 100000 });
  }
  return {
    currency: 'USD',
    settings: { billingAnchor: { type: 'DAY_OF_MONTH', day: 1 } },
    products,
    offerings: Array.from({ length: offerings }, (_, o) => {
      const ids = Array.from({ length: items }, (_, i) => `prod_${o * items + i}`);
      const prices = ids.map((id, i) =>
        i % 2 === 0
          ? { productId: id, model: 'TIERED', tiers: [
              { upTo: 10, unitAmount: '5' },
              { upTo: 50, unitAmount: '4', flatAmount: '10' },
              { upTo: null, unitAmount: '3', flatAmount: '20' }] }
          : { productId: id, model: 'PER_UNIT', unitAmount: '12.50' },
      );
      return {
        id: `offr_${o}`, name: `Offering ${o}`, productIds: ids,
        rates: [
          { id: `rate_${o}_m`, name: 'Monthly', billingFrequency: 'MONTHLY', billingTiming: 'IN_ADVANCE', termMonths: 12, prices },
          { id: `rate_${o}_y`, name: 'Annual', billingFrequency: 'ANNUALLY', billingTiming: 'IN_ADVANCE', prices },
        ],
      };
    }),
  };
}

export function request(offerings = 3, items = 2) {
  return {
    action: 'ESTIMATE',
    quote: {
      startDate: '2026-11-21',
      offerings: Array.from({ length: offerings }, (_, o) => ({
        offeringId: `offr_${o}`,
        rateId: `rate_${o}_m`,
        items: Array.from({ length: items }, (_, i) => ({ productId: `prod_${o * items + i}`, quantity: 17 + i })),
      })),
    },
  };
}

export const today = '2026-11-21';

/** The change of criterion's `preview_change/3_operations`: a quantity change, a rate change to annual, an add-on. */
export const change = {
  today: '2026-12-10',
  contract: {
    id: 'ctrct_bench', status: 'ACTIVE', currency: 'USD', startDate: '2026-11-21', endDate: '2027-11-21',
    offerings: [
      { offeringId: 'offr_0', rateId: 'rate_0_m', serviceStart: '2026-11-21', anchorDay: 1, invoicedThrough: '2027-01-01',
        products: [{ productId: 'prod_0', quantity: 17 }, { productId: 'prod_1', quantity: 18 }] },
      { offeringId: 'offr_1', rateId: 'rate_1_m', serviceStart: '2026-11-21', anchorDay: 1, invoicedThrough: '2027-01-01',
        products: [{ productId: 'prod_2', quantity: 17 }, { productId: 'prod_3', quantity: 18 }] },
    ],
  },
  operations: { operations: [
    { action: 'QUANTITY_CHANGE', contractId: 'ctrct_bench', payload: { offerings: [
      { offeringId: 'offr_0', products: [{ productId: 'prod_0', quantity: 40 }] }] } },
    { action: 'RATE_CHANGE', contractId: 'ctrct_bench', payload: { offerings: [{ offeringId: 'offr_1', rateId: 'rate_1_y' }] } },
    { action: 'ADD_OFFERING', contractId: 'ctrct_bench', payload: { offerings: [
      { offeringId: 'offr_2', products: [{ productId: 'prod_4', quantity: 5 }] }] } },
  ] },
};

/** Runs `fn` repeatedly for about `ms` milliseconds; returns microseconds per call (median of 5 rounds). */
export function measure(fn, ms = 400) {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JIT
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
      for (let i = 0; i < 200; i++) fn();
      n += 200;
      now = performance.now();
    }
    rounds.push(((now - start) * 1000) / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[2];
}

/**
 * The figures: Pricing.estimate (catalog parsed once), estimate (catalog each
 * time), and the hand-written decimal.js calculator of the same quote
 * (calculator.js, its catalog prepared once), the package and the calculator
 * interleaved (package, calculator, calculator, package) in one run.
 */
export function run(pricing) {
  const c = catalog();
  const q = request();
  const p = new pricing.Pricing(c);
  const check = p.estimate(q, today);
  if (check.offerings.length !== 3) throw new Error('the typical quote did not price');
  const prepared = prepare(c);
  if (quote(prepared, q, today).firstInvoice.amount !== check.firstInvoice.amount) throw new Error('the calculator disagrees');
  const pkg = [], calc = [];
  pkg.push(measure(() => p.estimate(q, today)));
  calc.push(measure(() => quote(prepared, q, today)));
  calc.push(measure(() => quote(prepared, q, today)));
  pkg.push(measure(() => p.estimate(q, today)));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    pricingEstimateUs: mean(pkg),
    calculatorUs: mean(calc),
    estimateWithCatalogUs: measure(() => pricing.estimate(c, q, today)),
    previewChangeUs: measure(() => p.previewChange(change.contract, change.operations, change.today)),
  };
}
