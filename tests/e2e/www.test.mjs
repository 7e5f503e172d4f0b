// The pages in www/ in Debian's Chromium (playwright-core), against the real
// stack `make dev` runs: the price on the page is the API's ESTIMATE and the
// invoice it stores; checkout with localstripe's Stripe.js stand-in; the
// portal's preview is the invoice issued. Every page must log no console
// error (an expected one, like a declined card's 402, is named by the test).
// Screenshots go to tests/output/screenshots/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, startStack } from '../../scripts/stack.mjs';
import { launch } from '../browser/chromium.mjs';
import { at, client, confirmCard, d1, paymentIntents, random, today } from './helpers.mjs';

const SHOTS = path.join(ROOT, 'tests/output/screenshots');
const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
let stack, api, browser, catalog;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  [stack, browser] = await Promise.all([startStack(), launch()]);
  api = client(stack);
  catalog = (await api.call('GET', '/api/catalog')).json;
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** A page on the stack, watched for console errors; `date` sets the API's clock for its requests. */
async function open(url, { date } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', timezoneId: 'UTC' });
  const page = await context.newPage();
  // Every wait is for an event; its bound is generous for a busy CI machine.
  page.setDefaultTimeout(60000);
  page.problems = [];
  page.on('console', (m) => m.type() === 'error' && page.problems.push(m.text()));
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  if (date) {
    await page.route('**/api/**', (r) => r.continue({ headers: { ...r.request().headers(), ...at(date) } }));
  }
  await page.goto(stack.url + url);
  await page.waitForFunction(() => document.body.dataset.status !== 'loading');
  return page;
}

/** Fails on any console error not matched, one each, by `expected`; closes the page. */
async function done(page, expected = []) {
  const left = [...page.problems];
  for (const re of expected) {
    const i = left.findIndex((p) => re.test(p));
    assert.notEqual(i, -1, `expected a console error matching ${re}; saw ${JSON.stringify(page.problems)}`);
    left.splice(i, 1);
  }
  assert.deepEqual(left, [], 'the page logged console errors');
  await page.context().close();
}

const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** An offering line's items summed: what recurs each period and what is charged once (exact in cents). */
/** An ESTIMATE line's items summed: what recurs (licensed), what is charged once, and the expected usage's price. */
function split(line) {
  const cents = (keep) => line.items.filter(keep).reduce((sum, i) => sum + Math.round(i.amountWithoutTax * 100), 0) / 100;
  return {
    recurring: cents((i) => i.type !== 'ONE_TIME' && !i.metered),
    once: cents((i) => i.type === 'ONE_TIME'),
    usage: cents((i) => i.metered),
  };
}

const addDays = (iso, n) => new Date(Date.parse(`${iso}T00:00:00Z`) + n * 86400000).toISOString().slice(0, 10);

async function fillDetails(page, { email = 'ann.lee@acme.test', state = 'CA', country = 'US' } = {}) {
  await page.getByLabel('Company').fill('Acme <b>Inc</b> \'; DROP TABLE accounts; --');
  await page.getByLabel('Your name').fill('Ann Lee');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Street address').fill('1 Main St');
  await page.getByLabel('City').fill('San Francisco');
  await page.getByLabel('State or region').fill(state);
  await page.getByLabel('Postal code').fill('94105');
  await page.getByLabel('Country').selectOption(country);
}

async function enterCard(page, number) {
  // The card form the page has finished mounting (after a decline it mounts a new one).
  await page.waitForSelector('#payment[data-ready=true] #card-element input[placeholder=number]', { timeout: 60000 });
  await page.fill('#card-element input[placeholder=number]', number);
  await page.fill('#card-element input[placeholder=exp_month]', '12');
  await page.fill('#card-element input[placeholder=exp_year]', '34');
  await page.fill('#card-element input[placeholder=cvc]', '123');
  await page.fill('#card-element input[placeholder=postal_code]', '94105');
  await page.getByRole('button', { name: 'Save card' }).click();
}

// Bounds generous enough for a busy CI machine: these wait for events, never on a race.
const waitStep = (page, step) => page.waitForFunction((s) => document.body.dataset.step === s, step, { timeout: 60000 });
const sessionId = (page) => new URL(page.url()).searchParams.get('session');
const money = async (locator) => Number(await locator.getAttribute('data-amount'));

/** Pays on the review step; answers the figure the page showed and the invoice id it confirms. */
async function pay(page) {
  const shown = await money(page.locator('#review-invoice [data-total=amount]'));
  await page.locator('#pay').click();
  await waitStep(page, 'complete');
  // A sign-up that owes nothing today (in arrears, in trial) has no invoice.
  const invoice = page.locator('[data-invoice]');
  return { shown, invoiceId: (await invoice.count()) ? await invoice.getAttribute('data-invoice') : null };
}

test('the Worker serves the pages and the package as static assets, with their headers; the API falls through', async () => {
  for (const [url, type] of [['/', 'text/html'], ['/checkout/', 'text/html'], ['/portal/', 'text/html'],
    ['/pkg/quotekit_pricing_bg.wasm', 'application/wasm'], ['/assets/pricing.js', 'javascript']]) {
    const res = await fetch(stack.url + url);
    assert.equal(res.status, 200, url);
    assert.match(res.headers.get('content-type'), new RegExp(type), url);
    assert.equal(res.headers.get('x-frame-options'), 'DENY', url);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url);
  }
  assert.equal((await fetch(`${stack.url}/_headers`)).status, 404, 'the headers file is not served');
  // A Content-Security-Policy on the pages: this origin, the package's wasm, Stripe.js; nothing inline.
  const csp = (await fetch(`${stack.url}/checkout/`)).headers.get('content-security-policy') ?? '';
  for (const part of ["default-src 'self'", "'wasm-unsafe-eval'", 'https://js.stripe.com', "object-src 'none'", "frame-ancestors 'none'"]) {
    assert.ok(csp.includes(part), `CSP has ${part}: ${csp}`);
  }
  assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/);
  assert.equal((await fetch(`${stack.url}/healthz`)).status, 200);
});

describe('pricing page', () => {
  test('random plans, quantities and dates: the page shows the API ESTIMATE; checkouts store that invoice', async (t) => {
    const seed = Number(process.env.QUOTEKIT_SEED ?? Date.now() % 1e9);
    t.diagnostic(`seed ${seed} (QUOTEKIT_SEED=${seed} reproduces it)`);
    const rnd = random(seed);
    const page = await open('/');
    await shot(page, '01-pricing');
    const products = new Map(catalog.products.map((p) => [p.id, p]));
    const choices = [];
    for (let n = 0; n < 30; n++) {
      const offering = rnd.pick(catalog.offerings);
      const rate = rnd.pick(offering.rates);
      const start = addDays(today(), rnd.pick([0, 0, rnd.int(1, 60)]));
      const card = page.locator(`.plan[data-offering="${offering.id}"]`);
      await page.getByLabel('Start date').fill(start);
      await card.getByLabel('Billing').selectOption(rate.id);
      const items = [];
      for (const id of offering.productIds) {
        const p = products.get(id);
        const min = Number(p.minQuantity ?? 0);
        const max = Math.min(Number(p.maxQuantity ?? 2000), 2000);
        if (min === max) {
          items.push({ productId: id, quantity: min });
          continue;
        }
        const q = rnd.int(min, max);
        await card.locator(`input[type=number][data-product="${id}"]`).fill(String(q));
        items.push({ productId: id, quantity: q });
      }
      const request = { quote: { startDate: start, offerings: [{ offeringId: offering.id, rateId: rate.id, items }] } };
      const r = await api.post({ action: 'ESTIMATE', ...request });
      assert.equal(r.status, 200, r.text);
      const q = r.json.quote;
      const label = `${offering.id}/${rate.id} ${JSON.stringify(items)} from ${start}`;
      // The price per period is what recurs; a one-time charge (a setup fee) is shown beside it, "+ $99.00 once".
      const perPeriod = card.locator('[data-figure=perPeriod]');
      const { recurring, once, usage } = split(q.offerings[0]);
      assert.equal(await money(perPeriod), recurring, `per period, ${label}`);
      // A metered product's expected usage is priced apart: "about $X per month at this usage".
      const usageFigure = card.locator('[data-figure=usage]');
      if (q.offerings[0].items.some((i) => i.metered)) {
        assert.equal(await money(usageFigure), usage, `usage, ${label}`);
        assert.match(await usageFigure.textContent(), new RegExp(`about ${usd.format(usage).replace(/[$.]/g, '\\$&')} per \\w+ at this usage`), label);
      } else {
        assert.equal(await usageFigure.count(), 0, label);
      }
      assert.match(await perPeriod.textContent(), new RegExp(usd.format(recurring).replace(/[$.]/g, '\\$&')), label);
      const oneTime = card.locator('[data-figure=oneTime]');
      if (once) {
        assert.equal(await money(oneTime), once, `once, ${label}`);
        assert.match(await oneTime.textContent(), new RegExp(`\\+ ${usd.format(once).replace(/[$.]/g, '\\$&')} once`), label);
      } else {
        assert.equal(await oneTime.count(), 0, label);
      }
      assert.equal(await money(card.locator('[data-figure=dueToday]')), q.firstInvoice.amount, `due today, ${label}`);
      assert.equal(await card.locator('[data-figure=nextInvoiceDate]').getAttribute('data-date'), q.nextInvoiceDate, label);
      assert.equal(await money(card.locator('.first-invoice [data-total=amount]')), q.firstInvoice.amount, label);
      assert.equal(await card.locator('.first-invoice tr[data-line]').count(), q.firstInvoice.lines.length, label);
      choices.push({ offering, rate, start, items, quote: q, href: await card.getByRole('link').getAttribute('href') });
    }
    // The monthly/annual switch moves every plan that has both, and the figures follow.
    await page.getByLabel('Start date').fill(today());
    await page.getByLabel('Annual').check();
    const team = page.locator('.plan[data-offering=offr_team]');
    assert.equal(await team.getByLabel('Billing').inputValue(), 'rate_team_annual');
    assert.equal(await page.locator('.plan[data-offering=offr_EoqyNVChm1kwT]').getByLabel('Billing').inputValue(), 'rate_aCTj2kwzyd0U5', 'monthly only: unchanged');
    await team.locator('input[type=number][data-product=prod_seats]').fill('10');
    await team.locator('input[type=number][data-product=prod_storage]').fill('100');
    const annual = await api.post({ action: 'ESTIMATE', quote: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_annual',
      items: [{ productId: 'prod_seats', quantity: 10 }, { productId: 'prod_storage', quantity: 100 }] }] } });
    assert.equal(await money(team.locator('[data-figure=perPeriod]')), split(annual.json.quote.offerings[0]).recurring);
    assert.match(await team.locator('[data-figure=perPeriod]').textContent(), /\/ year/);
    // A tiered product has its chart, with the tiers marked.
    assert.ok(await page.locator('.plan[data-offering=offr_team] svg.chart .tier').count() >= 1);
    // Its axes say what they measure: the product along, the price per period up.
    const axes = await page.locator('.plan[data-offering=offr_team] svg.chart .axis-title').allTextContents();
    assert.deepEqual(axes.sort(), ['Price per year', 'Storage (GB)']);
    // A metered product: "API calls per month" with its slider and tier chart; the card
    // says what that usage costs, priced in the browser as the API's ESTIMATE prices it.
    const apiCard = page.locator('.plan[data-offering=offr_api]');
    const usageAt = async (calls) => {
      const r = await api.post({ action: 'ESTIMATE', quote: { offerings: [{ offeringId: 'offr_api', rateId: 'rate_api_monthly',
        items: [{ productId: 'prod_api_calls', quantity: calls }, { productId: 'prod_api_credit', quantity: 0 }] }] } });
      assert.equal(r.status, 200, r.text);
      return r.json.quote.offerings[0].items.find((i) => i.productId === 'prod_api_calls').amountWithoutTax;
    };
    await apiCard.getByLabel('API calls per month').fill('250000');
    await apiCard.locator('input[type=number][data-product=prod_api_credit]').fill('0');
    assert.equal(await usageAt(250000), 480);
    assert.equal(await money(apiCard.locator('[data-figure=usage]')), 480);
    assert.match(await apiCard.locator('[data-figure=usage]').textContent(), /about \$480\.00 per month at this usage/);
    assert.equal(await money(apiCard.locator('[data-figure=perPeriod]')), 10, 'the platform fee; usage is priced apart');
    assert.equal(await money(apiCard.locator('[data-figure=dueToday]')), 10, 'no usage is due at sign-up');
    // The slider reaches past the last tier (1 000 000 calls, then 0.0015 each).
    await apiCard.locator('.quantity:has([data-metered=prod_api_calls]) input[type=range]').fill('1200000');
    assert.equal(await apiCard.getByLabel('API calls per month').inputValue(), '1200000');
    assert.equal(await money(apiCard.locator('[data-figure=usage]')), await usageAt(1200000));
    assert.equal(await usageAt(1200000), 2280);
    assert.ok(await apiCard.locator('svg.chart .tier').count() >= 2, 'the usage chart marks its tiers');
    await apiCard.screenshot({ path: path.join(SHOTS, '01b-pricing-usage.png') });
    await done(page);

    // Three of them through checkout: the review's total is the invoice the API stores.
    for (const c of choices.slice(0, 3)) {
      const co = await open(c.href);
      await fillDetails(co);
      await co.getByRole('button', { name: 'Continue to payment' }).click();
      await co.waitForFunction(() => ['payment_method', 'review'].includes(document.body.dataset.step));
      if ((await co.evaluate(() => document.body.dataset.step)) === 'payment_method') {
        await enterCard(co, '4242424242424242');
        await waitStep(co, 'review');
      }
      const { shown, invoiceId } = await pay(co);
      if (c.quote.firstInvoice.lines.length === 0) {
        assert.equal(invoiceId, null, `nothing due today, no invoice (${c.offering.id})`);
        assert.equal(shown, 0);
        await done(co);
        continue;
      }
      const inv = await api.call('GET', `/api/invoices/${invoiceId}`, { key: stack.secretKey });
      assert.equal(inv.status, 200, inv.text);
      assert.equal(inv.json.amount, shown, `the review showed what was invoiced (${c.offering.id})`);
      assert.equal(inv.json.amountWithoutTax, c.quote.firstInvoice.amountWithoutTax, 'the pricing page showed it before tax');
      assert.equal(inv.json.status, inv.json.amount > 0 ? 'PAID' : inv.json.status);
      await done(co);
    }
  });
});

describe('checkout', () => {
  test('the test card: a contract, a paid invoice and one PaymentIntent, all through the API', async () => {
    const page = await open('/checkout/?offering=offr_team&rate=rate_team_monthly&qty.prod_seats=7&qty.prod_storage=300');
    await fillDetails(page);
    await shot(page, '02-checkout-details');
    // Tax from the address, before any request: 94.00 + 7.25 % = 100.82.
    assert.equal(await money(page.locator('#summary [data-total=amount]')), 100.82);
    await page.getByRole('button', { name: 'Continue to payment' }).click();
    await waitStep(page, 'payment_method');
    await shot(page, '03-checkout-card');
    await enterCard(page, '4242424242424242');
    await waitStep(page, 'review');
    await shot(page, '04-checkout-review');
    const { shown, invoiceId } = await pay(page);
    await shot(page, '05-checkout-complete');
    assert.equal(shown, 100.82);
    const id = sessionId(page);
    const s = (await api.get(id)).json;
    assert.equal(s.status, 'FINALIZED');
    const contract = await api.call('GET', `/api/contracts/${s.contract.id}`, { key: stack.secretKey });
    assert.equal(contract.json.status, 'ACTIVE');
    assert.deepEqual(contract.json.offerings[0].products.map((p) => p.quantity), [7, 300]);
    const inv = await api.call('GET', `/api/invoices/${invoiceId}`, { key: stack.secretKey });
    assert.deepEqual([inv.json.status, inv.json.amount, inv.json.tax], ['PAID', 100.82, 6.82]);
    assert.equal(await page.locator('[data-payment]').getAttribute('data-payment'), 'SUCCEEDED');
    const [row] = d1(stack, `SELECT stripe_customer_id FROM sessions WHERE id = '${id}'`);
    const pis = await paymentIntents(stack, row.stripe_customer_id);
    assert.deepEqual(pis.map((p) => [p.status, p.amount]), [['succeeded', 10082]]);
    // The company name went in and came back verbatim, as text.
    assert.equal(s.customer.accountName, 'Acme <b>Inc</b> \'; DROP TABLE accounts; --');
    assert.equal(await page.locator('b').count(), 0, 'never rendered as markup');
    await done(page);
  });

  test('a 20 %-for-3-months code: the pricing page, the summary, the stored invoice and Stripe\'s charge agree; the portal shows the deal', async () => {
    const request = { startDate: today(), offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly',
      items: [{ productId: 'prod_seats', quantity: 10 }, { productId: 'prod_storage', quantity: 100 }] }] };
    const priced = (await api.post({ action: 'ESTIMATE', quote: { ...request, promotionCode: 'WELCOME20' } })).json.quote;
    const regular = (await api.post({ action: 'ESTIMATE', quote: request })).json.quote;
    const page = await open('/');
    // A guessed code is refused beside the field, and nothing is re-priced.
    await page.getByLabel('Have a code?').fill('NOT-A-CODE');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForSelector('#code-field[data-state=refused]');
    assert.match(await page.locator('#promo-code-error').textContent(), /not valid/);
    await page.getByLabel('Have a code?').fill('welcome20');
    await page.getByLabel('Have a code?').press('Enter');
    await page.waitForSelector('#code-field[data-state=applied]');
    assert.match(await page.locator('#promo-code-applied').textContent(), /WELCOME20: 20 % off for 3 months on Team/);
    const team = page.locator('.plan[data-offering=offr_team]');
    await team.locator('input[type=number][data-product=prod_seats]').fill('10');
    await team.locator('input[type=number][data-product=prod_storage]').fill('100');
    assert.equal(await money(team.locator('[data-figure=perPeriod]')), split(priced.offerings[0]).recurring);
    assert.equal(await money(team.locator('[data-figure=regular]')), split(regular.offerings[0]).recurring, 'the regular price, struck through');
    assert.equal(await team.locator('s[data-figure=regular]').count(), 1);
    assert.equal(await team.locator('[data-figure=deal]').textContent(), '20 % off for 3 months, then $120.00/month');
    assert.equal(await money(team.locator('[data-figure=dueToday]')), priced.firstInvoice.amount);
    // A plan the coupon does not cover keeps its price; its setup fee is beside it.
    const business = page.locator('.plan[data-offering=offer_fYyrKcVaJRgVN7jg]');
    assert.equal(await business.locator('[data-figure=regular]').count(), 0);
    assert.match(await business.locator('[data-figure=perPeriod]').textContent(), /\$200\.00 \/ month \+ \$99\.00 once/);
    await shot(page, '01b-pricing-code');
    const href = await team.getByRole('link').getAttribute('href');
    assert.match(href, /code=WELCOME20/);
    await done(page, [/404/]);

    const co = await open(href);
    await co.waitForSelector('#details[data-code=applied]');
    assert.equal(await co.getByLabel('Promotion code').inputValue(), 'WELCOME20');
    await fillDetails(co, { email: 'welcome.code@acme.test' });
    const summary = await money(co.locator('#summary [data-total=amount]'));
    assert.equal(await money(co.locator('#summary [data-total=discount]')), -priced.discountAmount);
    assert.match(await co.locator('#summary [data-figure=deal]').textContent(), /WELCOME20: 20 % off for 3 months/);
    await co.getByRole('button', { name: 'Continue to payment' }).click();
    await enterCard(co, '4242424242424242');
    await waitStep(co, 'review');
    await shot(co, '04b-checkout-review-code');
    const { shown, invoiceId } = await pay(co);
    assert.equal(shown, summary, 'the review charges what the summary showed');
    const inv = (await api.call('GET', `/api/invoices/${invoiceId}`, { key: stack.secretKey })).json;
    assert.deepEqual([inv.amount, inv.amountWithoutTax, inv.discountAmount], [shown, priced.firstInvoice.amountWithoutTax, priced.discountAmount]);
    const s = (await api.get(sessionId(co))).json;
    const [row] = d1(stack, `SELECT stripe_customer_id FROM sessions WHERE id = '${s.sessionId}'`);
    const pis = await paymentIntents(stack, row.stripe_customer_id);
    assert.deepEqual(pis.map((p) => [p.status, p.amount]), [['succeeded', Math.round(shown * 100)]], 'Stripe charged the discounted total');
    assert.equal(s.contract.discount.couponId, 'cpn_welcome');

    // The portal: the deal and when it ends; the invoice shows its discount.
    await co.getByRole('button', { name: 'Manage your subscription' }).click();
    await co.waitForURL('**/portal/');
    await co.waitForFunction(() => document.body.dataset.status === 'ready');
    const deal = co.locator(`[data-contract="${s.contract.id}"] [data-discount=cpn_welcome]`);
    assert.equal(await deal.getAttribute('data-end-date'), s.contract.discount.endDate);
    assert.match(await deal.textContent(), /20 % off Team, on periods starting before/);
    assert.equal(Number(await co.locator(`[data-invoice="${invoiceId}"] [data-discount]`).getAttribute('data-discount')), priced.discountAmount);
    await shot(co, '08b-portal-discount');
    await done(co);
  });

  test('a declined card shows its message; another card succeeds, charged once', async () => {
    const page = await open('/checkout/?offering=offr_EoqyNVChm1kwT&rate=rate_aCTj2kwzyd0U5');
    await fillDetails(page);
    await page.getByRole('button', { name: 'Continue to payment' }).click();
    await enterCard(page, '4000000000000341'); // saved fine, declined when charged
    await waitStep(page, 'review');
    await page.locator('#pay').click();
    await page.locator('#decline').waitFor({ state: 'visible' });
    assert.match(await page.locator('#decline').textContent(), /Your card was declined\. Try another card\./);
    assert.equal(await page.evaluate(() => document.body.dataset.step), 'payment_method');
    await shot(page, '06-checkout-declined');
    await enterCard(page, '4242424242424242');
    await waitStep(page, 'review');
    const { shown } = await pay(page);
    assert.equal(shown, 107.25);
    const [row] = d1(stack, `SELECT stripe_customer_id FROM sessions WHERE id = '${sessionId(page)}'`);
    const pis = await paymentIntents(stack, row.stripe_customer_id);
    assert.deepEqual(pis.filter((p) => p.status === 'succeeded').map((p) => p.amount), [10725], 'one successful charge');
    await done(page, [/status of 402/]);
  });

  test('a card refused at setup shows Stripe\'s message beside the card field', async () => {
    const page = await open('/checkout/?offering=offr_EoqyNVChm1kwT&rate=rate_aCTj2kwzyd0U5');
    await fillDetails(page);
    await page.getByRole('button', { name: 'Continue to payment' }).click();
    await enterCard(page, '4000000000000002');
    await page.locator('#card-error').filter({ hasText: /declined/ }).waitFor();
    assert.equal(await page.evaluate(() => document.body.dataset.step), 'payment_method');
    await done(page, [/status of 402/]);
  });

  test('API errors appear beside the field they name; the form works from the keyboard', async () => {
    const page = await open('/checkout/?offering=offr_EoqyNVChm1kwT&rate=rate_aCTj2kwzyd0U5');
    await page.getByLabel('Company').focus();
    for (const text of ['Keyboard Co', 'Kim Park', 'kim@localhost']) {
      await page.keyboard.type(text);
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter'); // submits the form from the address field
    const error = page.locator('#email-error');
    await error.filter({ hasText: /not an email address/ }).waitFor();
    assert.equal(await error.textContent(), 'Email is not an email address.', 'the form\'s label, not the API field');
    assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'email', 'focus moves to the field');
    await shot(page, '07-checkout-field-error');
    await page.getByLabel('Email').fill('kim@keyboard.test');
    await page.keyboard.press('Enter');
    await waitStep(page, 'payment_method');
    await done(page, [/status of 400/]);
  });

  test('a session resumes at its urls.signup: card in another browser, review after a reload', async () => {
    const first = await open('/checkout/?offering=offr_team&rate=rate_team_annual&qty.prod_seats=3');
    await fillDetails(first, { state: 'NY' });
    await first.getByRole('button', { name: 'Continue to payment' }).click();
    await waitStep(first, 'payment_method');
    const id = sessionId(first);
    const s = (await api.get(id)).json;
    assert.equal(first.url(), s.urls.signup, 'the address bar holds urls.signup');
    await done(first);

    const second = await open(new URL(s.urls.signup).pathname + new URL(s.urls.signup).search);
    assert.equal(await second.evaluate(() => document.body.dataset.step), 'payment_method');
    await enterCard(second, '4242424242424242');
    await waitStep(second, 'review');
    await second.reload();
    await second.waitForFunction(() => document.body.dataset.status !== 'loading');
    assert.equal(await second.evaluate(() => document.body.dataset.step), 'review');
    const { shown, invoiceId } = await pay(second);
    const inv = await api.call('GET', `/api/invoices/${invoiceId}`, { key: stack.secretKey });
    assert.equal(inv.json.amount, shown);
    assert.ok(inv.json.tax > 0, 'NY tax');
    await second.reload();
    await second.waitForFunction(() => document.body.dataset.status !== 'loading');
    assert.equal(await second.evaluate(() => document.body.dataset.step), 'complete', 'a finished session shows its confirmation');
    await done(second);
  });
});

describe('portal', () => {
  test('from the confirmation; seats changed mid-period: the preview is the invoice issued and charged', async () => {
    const page = await open('/checkout/?offering=offr_team&rate=rate_team_monthly&qty.prod_seats=5');
    await fillDetails(page);
    await page.getByRole('button', { name: 'Continue to payment' }).click();
    await enterCard(page, '4242424242424242');
    await waitStep(page, 'review');
    await pay(page);
    const s = (await api.get(sessionId(page))).json;
    await page.getByRole('button', { name: 'Manage your subscription' }).click();
    await page.waitForURL('**/portal/');
    await page.waitForFunction(() => document.body.dataset.status === 'ready');
    assert.match(await page.locator('#account-name').textContent(), /Acme <b>Inc<\/b>/);
    // How far the contract is invoiced, not "paid": an open invoice may be unpaid.
    assert.ok((await page.locator('[data-contract] thead th').allTextContents()).includes('Invoiced through'));
    await shot(page, '08-portal');
    await done(page);

    // Ten days later, with a link the vendor minted then.
    const later = addDays(today(), 10);
    const tok = await api.call('POST', '/api/customerTokens', { key: stack.secretKey, headers: at(later), body: { accountId: s.customer.accountId } });
    assert.equal(tok.status, 201, tok.text);
    const portal = await open(`/portal/#token=${tok.json.token}`, { date: later });
    assert.equal(new URL(portal.url()).hash, '', 'the token leaves the address bar');
    const panel = portal.locator(`[data-contract="${s.contract.id}"]`);
    await panel.getByLabel('Team: Seats').fill('8');
    await panel.getByRole('button', { name: 'Preview change' }).click();
    await panel.locator('[data-preview]').waitFor();
    await shot(portal, '09-portal-preview');
    const previewDue = Number(await panel.locator('[data-preview] [data-due]').getAttribute('data-due'));
    const previewTotal = await money(panel.locator('[data-preview] [data-total=amount]'));
    assert.ok(previewDue > 0, 'three more seats for the rest of the month cost something');
    await panel.getByRole('button', { name: 'Confirm change' }).click();
    const result = portal.locator(`[data-contract="${s.contract.id}"] [data-result]`);
    await result.waitFor();
    await shot(portal, '10-portal-result');
    assert.equal(await result.getAttribute('data-result'), 'SUCCESS');
    assert.equal(Number(await result.locator('[data-due]').getAttribute('data-due')), previewDue, 'charged what the preview said');
    const c = await api.call('GET', `/api/contracts/${s.contract.id}`, { key: stack.secretKey });
    const applied = c.json.amendments.at(-1);
    const inv = await api.call('GET', `/api/invoices/${applied.invoiceId}`, { key: stack.secretKey });
    assert.equal(inv.json.amount, previewTotal, 'the invoice issued is the one previewed');
    assert.equal(inv.json.status, 'PAID');
    assert.equal(c.json.offerings[0].products.find((p) => p.productId === 'prod_seats').quantity, 8);
    const [row] = d1(stack, `SELECT stripe_customer_id FROM sessions WHERE id = '${s.sessionId}'`);
    const charged = (await paymentIntents(stack, row.stripe_customer_id)).filter((p) => p.status === 'succeeded').map((p) => p.amount);
    assert.ok(charged.includes(Math.round(previewDue * 100)), `charged ${previewDue}: ${charged}`);
    assert.match(await portal.locator(`[data-invoice="${applied.invoiceId}"]`).textContent(), /PAID/);
    await done(portal);
  });

  test('a change scheduled for the next bill cycle is shown with a button that withdraws it', async () => {
    const signup = await api.post({
      action: 'CREATE_AND_FINALIZE', billGroup: { collectInvoiceBalanceAutomatically: false },
      customer: { accountName: 'Later Co', name: 'L. Ater', email: 'later@example.test',
        billingAddress: { line1: '1 Main', city: 'SF', state: 'CA', postalCode: '94105', country: 'US' } },
      quote: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: 6 }] }] },
    });
    assert.equal(signup.status, 201, signup.text);
    const contract = signup.json.contract.id;
    const tok = await api.call('POST', '/api/customerTokens', { key: stack.secretKey, body: { accountId: signup.json.customer.accountId } });
    const portal = await open(`/portal/#token=${tok.json.token}`);
    const panel = portal.locator(`[data-contract="${contract}"]`);
    await panel.getByLabel('Team: Seats').fill('4');
    await panel.getByLabel('At the next bill cycle').check();
    await panel.getByRole('button', { name: 'Preview change' }).click();
    await panel.locator('[data-preview]').waitFor();
    // Nothing today; the next invoice, at four seats, as the API answers it.
    const asked = await api.call('POST', '/api/selfService/contract', { key: stack.secretKey, body: {
      action: 'QUANTITY_CHANGE', contractId: contract, relativeEffectiveDate: 'NEXT_BILL_CYCLE', preview: true,
      payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 4 }, { productId: 'prod_storage', quantity: 100 }] }] } } });
    assert.equal(asked.json.scheduled, true, asked.text);
    assert.equal(await panel.locator('[data-preview] [data-due]').getAttribute('data-due'), '0');
    assert.equal(Number(await panel.locator('[data-preview] [data-next]').getAttribute('data-next')), asked.json.nextInvoice.amount);
    assert.match(await panel.locator('[data-preview]').textContent(), /Your next invoice/);
    await shot(portal, '11-portal-scheduled-preview');
    await panel.getByRole('button', { name: 'Confirm change' }).click();
    const scheduled = portal.locator(`[data-contract="${contract}"] [data-scheduled=QUANTITY_CHANGE]`);
    await scheduled.waitFor();
    // What changes, when, and what that day invoices.
    const said = await scheduled.textContent();
    assert.match(said, /Scheduled: Seats × 4, Storage \(GB\) × 100 on /);
    assert.ok(said.includes(`That day: ${usd.format(asked.json.nextInvoice.amount)}.`), said);
    await shot(portal, '12-portal-scheduled');
    // Another change meanwhile: the page says which one waits, not the API's 409 and its ids.
    await panel.getByLabel('Team: Seats').fill('5');
    await panel.getByLabel('Now (prorated)').check();
    await panel.getByRole('button', { name: 'Preview change' }).click();
    const refused = panel.locator('form.change .form-error');
    await refused.filter({ hasText: /already have a change waiting/ }).waitFor();
    const refusal = await refused.textContent();
    assert.match(refusal, /Seats × 4, Storage \(GB\) × 100 on .*Withdraw it above/);
    assert.doesNotMatch(refusal, /amd_|409/);
    await scheduled.getByRole('button', { name: 'Withdraw' }).click();
    await scheduled.waitFor({ state: 'detached' });
    const c = await api.call('GET', `/api/contracts/${contract}`, { key: stack.secretKey });
    assert.deepEqual(c.json.scheduledChanges, []);
    assert.equal(c.json.amendments.at(-1).status, 'WITHDRAWN');
    assert.equal(c.json.offerings[0].products.find((p) => p.productId === 'prod_seats').quantity, 6, 'nothing changed');
    await done(portal, [/status of 409/]);
  });

  test('the customer edits the account details: errors beside the field, Stripe told, tax follows the address', async () => {
    const created = await api.post({ action: 'CREATE_WITH_PAYMENT_METHOD',
      customer: { accountName: 'Moving Co', name: 'M. Over', email: 'm.over@example.test',
        billingAddress: { line1: '1 Main', city: 'SF', state: 'CA', postalCode: '94105', country: 'US' } },
      quote: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: 5 }] }] } });
    assert.equal(created.status, 201, created.text);
    const init = created.json.paymentMethodInit.stripe;
    await confirmCard(stack, init);
    const fin = await api.patch(created.json.sessionId, { action: 'FINALIZE', paymentMethod: { paymentToken: init.setupIntentId } });
    assert.equal(fin.status, 200, fin.text);
    const accountId = fin.json.customer.accountId;
    const contract = fin.json.contract.id;
    const tok = await api.call('POST', '/api/customerTokens', { key: stack.secretKey, body: { accountId } });
    const portal = await open(`/portal/#token=${tok.json.token}`);
    const previewTax = async () => {
      const panel = portal.locator(`[data-contract="${contract}"]`);
      await panel.getByLabel('Team: Seats').fill('7');
      await panel.getByRole('button', { name: 'Preview change' }).click();
      await panel.locator('[data-preview] [data-total=tax]').waitFor();
      return money(panel.locator('[data-preview] [data-total=tax]'));
    };
    const caTax = await previewTax();
    await portal.getByRole('button', { name: 'Edit details' }).click();
    const form = portal.getByRole('form', { name: 'Your details' });
    await form.getByLabel('Contact email').fill('not-an-email');
    await form.getByRole('button', { name: 'Save details' }).click();
    await form.locator('[aria-invalid=true]').waitFor();
    assert.equal(await form.locator('.field-error').filter({ hasText: /email/ }).textContent(), 'Contact email is not an email address.');
    await form.getByLabel('Contact email').fill('ap@moving.example');
    await form.getByLabel('City').fill('New York');
    await form.getByLabel('State or region').fill('NY');
    await form.getByLabel('Postal code').fill('10004');
    await shot(portal, '13-portal-details');
    await form.getByRole('button', { name: 'Save details' }).click();
    await portal.locator('[data-saved]').waitFor();
    assert.match(await portal.locator('[data-address]').textContent(), /New York, NY, 10004, US/);
    assert.match(await portal.locator('[data-contact]').textContent(), /ap@moving\.example/);
    const account = (await api.call('GET', `/api/accounts/${accountId}`, { key: stack.secretKey })).json;
    assert.equal(account.billingAddress.state, 'NY');
    const cus = await (await fetch(`${stack.stripeBase}/v1/customers/${account.stripeCustomerId}`, { headers: { authorization: 'Bearer sk_test_localstripe' } })).json();
    assert.equal(cus.email, 'ap@moving.example', 'Stripe sends receipts to the new address');
    const nyTax = await previewTax();
    assert.ok(nyTax < caTax, `NY's 4 % is less than CA's 7.25 %: ${nyTax} < ${caTax}`);
    await done(portal, [/status of 400/]);
  });

  test('the vendor\'s approval rules hold a customer\'s change from the portal for review', async () => {
    const withRules = { ...catalog, settings: { ...catalog.settings, approvalRules: { requireReview: ['QUANTITY_CHANGE'] } } };
    assert.equal((await api.call('PUT', '/api/catalog', { key: stack.secretKey, body: withRules })).status, 201);
    try {
      const created = await api.post({ action: 'CREATE_WITH_PAYMENT_METHOD',
        customer: { accountName: 'Reviewed Co', name: 'R. View', email: 'r.view@example.test', billingAddress: { country: 'US', state: 'CA' } },
        quote: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: 5 }] }] } });
      const init = created.json.paymentMethodInit.stripe;
      await confirmCard(stack, init);
      const fin = await api.patch(created.json.sessionId, { action: 'FINALIZE', paymentMethod: { paymentToken: init.setupIntentId } });
      assert.equal(fin.status, 200, fin.text);
      const contract = fin.json.contract.id;
      const tok = await api.call('POST', '/api/customerTokens', { key: stack.secretKey, body: { accountId: fin.json.customer.accountId } });
      const portal = await open(`/portal/#token=${tok.json.token}`);
      const panel = portal.locator(`[data-contract="${contract}"]`);
      await panel.getByLabel('Team: Seats').fill('9');
      await panel.getByRole('button', { name: 'Preview change' }).click();
      await panel.locator('[data-preview]').waitFor();
      await panel.getByRole('button', { name: 'Confirm change' }).click();
      const result = panel.locator('[data-result]');
      await result.waitFor();
      assert.equal(await result.getAttribute('data-result'), 'REVIEW');
      assert.match(await result.textContent(), /Sent for review/);
      const c = await api.call('GET', `/api/contracts/${contract}`, { key: stack.secretKey });
      assert.equal(c.json.pendingReview.length, 1, 'held, not applied');
      assert.equal(c.json.offerings[0].products.find((p) => p.productId === 'prod_seats').quantity, 5);
      await done(portal);
    } finally {
      assert.equal((await api.call('PUT', '/api/catalog', { key: stack.secretKey, body: catalog })).status, 201);
    }
  });

  test('an expired or tampered link shows a clear message, not the account', async () => {
    const page = await open('/portal/#token=ctok_eyJhIjoiYWNjdF94IiwiZSI6MX0.AAAA');
    await page.locator('#page-error').filter({ hasText: /expired/ }).waitFor();
    assert.equal(await page.locator('#account').isHidden(), true);
    assert.equal(await page.locator('#token-form').isVisible(), true);
    await done(page, [/status of 401/]);
  });
});
