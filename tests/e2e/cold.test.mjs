// The pages as a visitor first sees them: each loaded cold in Chromium, with
// no interaction, must raise no page error and show the figures the API
// answers for the same input. The pricing page's every card (its first rate,
// its default quantities, starting today) against the API's ESTIMATE; the
// checkout's summary against ESTIMATE's first invoice; the portal's lines and
// invoices against the API's contract and invoice list. On the demo catalog
// and on generated catalogs (seeded: QUOTEKIT_SEED reproduces a run, and a
// failure names its seed and catalog), in UTC and in two far time zones.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DEMO_CATALOG, DEMO_CONTRACT, publishCatalog, startStack } from '../../scripts/stack.mjs';
import { readFileSync } from 'node:fs';
import { launch } from '../browser/chromium.mjs';
import { client, random, today } from './helpers.mjs';

const ZONES = ['UTC', 'Pacific/Kiritimati', 'Pacific/Pago_Pago']; // UTC, UTC+14, UTC−11
const CATALOGS = Number(process.env.COLD_CATALOGS ?? 20);
const SEED = Number(process.env.QUOTEKIT_SEED ?? Date.now() % 1e9);
let stack, api, browser;

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launch()]);
  api = client(stack);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const MODELS = ['PER_UNIT', 'FLAT', 'TIERED', 'VOLUME', 'STAIRSTEP', 'PACKAGE'];
const FREQUENCIES = ['MONTHLY', 'QUARTERLY', 'SEMI_ANNUALLY', 'ANNUALLY'];

/**
 * A catalog of every price model, one-time and metered products, coupons with
 * and without `appliesTo`, plans with one and several rates, a free plan and trials.
 */
export function generateCatalog(seed) {
  const r = random(seed);
  const amount = (hi) => `${r.int(0, hi)}.${String(r.int(0, 99)).padStart(2, '0')}`;
  const tiers = () => {
    const n = r.int(1, 3);
    let bound = 0;
    return Array.from({ length: n }, (_, i) => {
      bound += r.int(5, 200);
      const tier = { upTo: i + 1 === n ? null : bound, unitAmount: amount(3) };
      if (r.chance(0.3)) tier.flatAmount = amount(50);
      return tier;
    });
  };
  const price = (productId, model, type) => {
    const p = { productId, model };
    if (type) p.type = type;
    if (model === 'PER_UNIT') p.unitAmount = amount(40);
    if (model === 'FLAT') p.amount = amount(300);
    if (model === 'PACKAGE') Object.assign(p, { packageSize: r.int(2, 50), packageAmount: amount(100) });
    if (['TIERED', 'VOLUME', 'STAIRSTEP'].includes(model)) p.tiers = tiers();
    return p;
  };
  const products = [];
  const offerings = [];
  const plans = r.int(3, 5);
  for (let o = 0; o < plans; o++) {
    const ids = [];
    const kinds = [];
    const count = r.int(1, 3);
    for (let k = 0; k < count; k++) {
      const id = `prod_${o}_${k}`;
      const kind = k === 0 ? 'licensed' : r.pick(['licensed', 'licensed', 'oneTime', 'metered']);
      const product = { id, name: `Product ${o}.${k}` };
      if (kind === 'metered') {
        Object.assign(product, { minQuantity: 0, defaultQuantity: r.int(0, 5000), metered: { aggregation: r.pick(['SUM', 'MAX']) } });
      } else if (kind === 'oneTime') {
        Object.assign(product, { minQuantity: 1, maxQuantity: 1, defaultQuantity: 1 });
      } else {
        const min = r.int(0, 2);
        Object.assign(product, { minQuantity: min, maxQuantity: r.chance(0.5) ? min + r.int(1, 500) : null, defaultQuantity: min + r.int(0, 20) });
        if (product.maxQuantity === null) delete product.maxQuantity;
        else product.defaultQuantity = Math.min(product.defaultQuantity, product.maxQuantity);
      }
      products.push(product);
      ids.push(id);
      kinds.push(kind);
    }
    const free = o === 0;
    const rates = [];
    const frequencies = r.chance(0.5) ? ['MONTHLY', 'ANNUALLY'] : [r.pick(FREQUENCIES)];
    for (const [i, frequency] of frequencies.entries()) {
      const rate = {
        id: `rate_${o}_${i}`, name: `${frequency.toLowerCase()} ${i}`, billingFrequency: frequency,
        billingTiming: r.chance(0.75) ? 'IN_ADVANCE' : 'IN_ARREARS',
        prices: ids.map((id, k) => {
          if (free) return { productId: id, model: 'PER_UNIT', unitAmount: '0' };
          if (kinds[k] === 'oneTime') return price(id, r.pick(['FLAT', 'PER_UNIT']), 'ONE_TIME');
          return price(id, r.pick(MODELS));
        }),
      };
      if (r.chance(0.3)) rate.trialDays = r.pick([7, 14, 30]);
      if (r.chance(0.2)) rate.termMonths = 12;
      rates.push(rate);
    }
    offerings.push({ id: `offr_${o}`, name: free ? `Free ${o}` : `Plan ${o}`, productIds: ids, rates });
  }
  const coupons = [
    { id: 'cpn_all', name: 'Ten off', percentOff: '10', duration: 'REPEATING', durationMonths: r.int(1, 6) },
    { id: 'cpn_some', name: 'Half off one', percentOff: '50', duration: r.pick(['ONCE', 'FOREVER']), appliesTo: [offerings.at(-1).id] },
  ];
  const anchor = r.chance(0.5) ? { type: 'ANNIVERSARY' } : { type: 'DAY_OF_MONTH', day: r.pick([1, 15, 28, 31]) };
  return {
    currency: r.pick(['USD', 'EUR']),
    settings: { billingAnchor: anchor, rounding: 'HALF_UP', taxRates: [{ country: 'US', state: 'CA', rate: '0.0725', name: 'CA sales tax' }] },
    products, offerings, coupons,
  };
}

/** A page loaded cold: every page error and console error is collected; nothing is clicked. */
async function cold(url, zone) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: zone });
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(stack.url + url);
  await page.waitForFunction(() => document.body.dataset.status !== 'loading');
  return { page, problems };
}

/** The quantity the pricing page starts a product at. */
const initial = (p) => String(p.defaultQuantity ?? p.minQuantity ?? 1);

const cents = (items, keep) => items.filter(keep).reduce((s, i) => s + Math.round(i.amountWithoutTax * 100), 0) / 100;
const amountOf = async (locator) => Number(await locator.getAttribute('data-amount'));

/** Every card of the pricing page, cold, against the API's ESTIMATE of the same input. */
async function checkPricingPage(catalog, zone, label) {
  const { page, problems } = await cold('/', zone);
  try {
    assert.equal(await page.evaluate(() => document.body.dataset.status), 'ready', `${label}: the page is ready`);
    const products = new Map(catalog.products.map((p) => [p.id, p]));
    const start = today();
    for (const offering of catalog.offerings) {
      const at = `${label} ${offering.id}`;
      const card = page.locator(`.plan[data-offering="${offering.id}"]`);
      assert.equal(await card.getAttribute('data-valid'), 'true', `${at}: priced (${await card.locator('.form-error').textContent()})`);
      const items = offering.productIds.map((id) => ({ productId: id, quantity: initial(products.get(id)) }));
      const r = await api.post({ action: 'ESTIMATE', quote: { startDate: start, offerings: [{ offeringId: offering.id, rateId: offering.rates[0].id, items }] } });
      assert.equal(r.status, 200, `${at}: ${r.text}`);
      const q = r.json.quote;
      const its = q.offerings[0].items;
      assert.equal(await amountOf(card.locator('[data-figure=perPeriod]')), cents(its, (i) => i.type !== 'ONE_TIME' && !i.metered), `${at}: price per period`);
      const once = cents(its, (i) => i.type === 'ONE_TIME');
      assert.equal(await card.locator('[data-figure=oneTime]').count(), once ? 1 : 0, `${at}: one-time figure`);
      if (once) assert.equal(await amountOf(card.locator('[data-figure=oneTime]')), once, `${at}: once`);
      const metered = its.some((i) => i.metered);
      assert.equal(await card.locator('[data-figure=usage]').count(), metered ? 1 : 0, `${at}: usage figure`);
      if (metered) assert.equal(await amountOf(card.locator('[data-figure=usage]')), cents(its, (i) => i.metered), `${at}: usage`);
      assert.equal(await amountOf(card.locator('[data-figure=dueToday]')), q.firstInvoice.amount, `${at}: due today`);
      assert.equal(await card.locator('[data-figure=nextInvoiceDate]').getAttribute('data-date'), q.nextInvoiceDate ?? '', `${at}: next invoice`);
      assert.equal(await card.locator('.first-invoice tr[data-line]').count(), q.firstInvoice.lines.length, `${at}: first invoice lines`);
      assert.equal(await card.getByRole('link').getAttribute('aria-disabled'), null, `${at}: the plan can be chosen`);
    }
    assert.deepEqual(problems, [], `${label}: page errors`);
  } finally {
    await page.context().close();
  }
}

/** The checkout of each plan, cold: its summary is ESTIMATE's first invoice (no address yet: no tax). */
async function checkCheckout(catalog, zone, label) {
  const products = new Map(catalog.products.map((p) => [p.id, p]));
  for (const offering of catalog.offerings) {
    const rate = offering.rates.at(-1);
    const qs = new URLSearchParams({ offering: offering.id, rate: rate.id });
    const items = offering.productIds.map((id) => ({ productId: id, quantity: initial(products.get(id)) }));
    for (const i of items) qs.set(`qty.${i.productId}`, i.quantity);
    const { page, problems } = await cold(`/checkout/?${qs}`, zone);
    const at = `${label} checkout ${offering.id}/${rate.id}`;
    try {
      const r = await api.post({ action: 'ESTIMATE', quote: { startDate: today(), offerings: [{ offeringId: offering.id, rateId: rate.id, items }] } });
      assert.equal(r.status, 200, `${at}: ${r.text}`);
      const q = r.json.quote;
      assert.equal(await amountOf(page.locator('#summary-body')), q.firstInvoice.amount, `${at}: due today`);
      assert.equal(await amountOf(page.locator('#summary [data-figure=perPeriod]')), q.offerings[0].amountWithoutTax, `${at}: per period`);
      assert.deepEqual(problems, [], `${at}: page errors`);
    } finally {
      await page.context().close();
    }
  }
}

describe('cold pages', () => {
  test('the demo catalog in three time zones: the pricing page, every checkout and the portal', async () => {
    const demo = JSON.parse(readFileSync(DEMO_CATALOG, 'utf8'));
    const accountId = (await api.call('GET', `/api/contracts/${DEMO_CONTRACT}`, { key: stack.secretKey })).json.accountId;
    const minted = await api.call('POST', '/api/customerTokens', { key: stack.secretKey, body: { accountId, expiresIn: 3600 } });
    assert.equal(minted.status, 201, minted.text);
    const token = minted.json.token;
    for (const zone of ZONES) {
      await checkPricingPage(demo, zone, `demo ${zone}`);
      await checkCheckout(demo, zone, `demo ${zone}`);
      // The portal: each contract's lines, its next invoice and the invoices, as the API answers them.
      const { page, problems } = await cold(`/portal/#token=${token}`, zone);
      try {
        assert.equal(await page.evaluate(() => document.body.dataset.status), 'ready');
        const who = { key: token };
        const list = (await api.call('GET', `/api/accounts/${accountId}/contracts`, who)).json.data;
        assert.ok(list.length >= 1);
        for (const { id } of list) {
          const c = (await api.call('GET', `/api/contracts/${id}`, who)).json;
          const panel = page.locator(`[data-contract="${c.id}"]`);
          for (const line of c.offerings) {
            const text = await panel.locator(`tr[data-line="${line.offeringId}"]`).textContent();
            for (const p of line.products) assert.ok(text.includes(`× ${p.quantity}`), `portal ${zone}: ${c.id} ${p.productId} × ${p.quantity} in "${text}"`);
          }
          // The next invoice, as the API answers it.
          const next = panel.locator('[data-next-invoice]');
          assert.equal(await next.count(), 1, `portal ${zone}: ${c.id} next invoice shown`);
          if (c.nextInvoice) {
            assert.equal(await next.getAttribute('data-next-invoice'), c.nextInvoice.invoiceDate, `portal ${zone}: ${c.id} next invoice date`);
            assert.equal(await next.getAttribute('data-amount'), String(c.nextInvoice.amount), `portal ${zone}: ${c.id} next invoice amount`);
            const shown = await next.textContent();
            assert.ok(shown.replaceAll(",", "").includes(Number(c.nextInvoice.amount).toFixed(2)), `portal ${zone}: ${c.id} "${shown}" shows ${c.nextInvoice.amount}`);
          } else {
            assert.equal(await next.getAttribute('data-next-invoice'), '', `portal ${zone}: ${c.id} no next invoice`);
          }
        }
        const invoices = (await api.call('GET', `/api/accounts/${accountId}/invoices`, who)).json.data;
        assert.equal(await page.locator('#invoice-list tr[data-invoice]').count(), invoices.length, `portal ${zone}: invoices`);
        assert.deepEqual(problems, [], `portal ${zone}: page errors`);
      } finally {
        await page.context().close();
      }
    }
  });

  test(`${CATALOGS} generated catalogs, each in one of three time zones: every card and checkout as the API prices it`, async (t) => {
    t.diagnostic(`seed ${SEED} (QUOTEKIT_SEED=${SEED} reproduces it)`);
    for (let n = 0; n < CATALOGS; n++) {
      const seed = SEED + n;
      const catalog = generateCatalog(seed);
      const label = `catalog seed ${seed}`;
      try {
        await publishCatalog(stack.url, stack.secretKey, catalog);
      } catch (e) {
        throw new Error(`${label} was refused: ${e.message}\n${JSON.stringify(catalog)}`);
      }
      const zone = ZONES[n % ZONES.length];
      try {
        await checkPricingPage(catalog, zone, `${label} ${zone}`);
        await checkCheckout(catalog, zone, `${label} ${zone}`);
      } catch (e) {
        e.message += `\n(the catalog: ${JSON.stringify(catalog)})`;
        throw e;
      }
    }
  });
});
