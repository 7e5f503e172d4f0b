// The pricing page: the catalog's offerings as plan cards, priced in the
// browser by the npm package on every input (no request per change).
import init, { Pricing } from '/pkg/quotekit_pricing.js';
import * as api from './lib/api.js';
import { couponTerms, date, el, money, names as catalogNames, period } from './lib/format.js';
import { tierChart } from './lib/chart.js';
import { clearErrors, field, invoiceTable, showError } from './lib/ui.js';

const CHARTED = new Set(['TIERED', 'VOLUME', 'STAIRSTEP']);
const plans = document.getElementById('plans');
const startInput = document.getElementById('start-date');
const today = api.todayUtc();
const codeField = document.getElementById('code-field');
const codeInput = document.getElementById('promo-code');
const codeApplied = document.getElementById('promo-code-applied');
/** The promotion code applied: `{ code, coupon }` as its lookup answered, or null. */
let promo = null;
// The controls only re-price; Enter must not submit the page away (no inline
// handler: the CSP forbids them). Submitting applies the code.
document.getElementById('controls').addEventListener('submit', (e) => {
  e.preventDefault();
  applyCode();
});

try {
  const [, catalog] = await Promise.all([init(), api.catalog()]);
  const engine = new Pricing(catalog);
  const names = catalogNames(catalog);
  startInput.min = today;
  startInput.value = today;
  plans.replaceChildren(...catalog.offerings.map((o) => planCard(o, catalog, engine, names)));
  const both = catalog.offerings.filter((o) => hasFrequency(o, 'MONTHLY') && hasFrequency(o, 'ANNUALLY'));
  const switcher = document.getElementById('period-switch');
  switcher.hidden = both.length === 0;
  switcher.addEventListener('change', (e) => {
    for (const card of plans.querySelectorAll('.plan')) card.choosePeriod?.(e.target.value);
  });
  startInput.addEventListener('input', repriceAll);
  codeField.names = names;
  const linked = new URLSearchParams(window.location.search).get('code');
  if (linked) {
    codeInput.value = linked;
    await applyCode();
  }
  document.body.dataset.status = 'ready';
} catch (e) {
  document.querySelector('.form-error').textContent = `The catalog could not be loaded: ${e.message}`;
  plans.replaceChildren();
  document.body.dataset.status = 'failed';
}

function repriceAll() {
  for (const card of plans.querySelectorAll('.plan')) card.reprice();
}

/** Looks the code up (the API knows the codes; the page never does) and re-prices every card in the browser. */
async function applyCode() {
  clearErrors(codeField);
  codeApplied.textContent = '';
  const code = codeInput.value.trim();
  promo = null;
  codeField.dataset.state = 'checking';
  if (code) {
    try {
      const terms = await api.request('GET', `/api/selfService/promotionCodes/${encodeURIComponent(code)}`);
      promo = { code: terms.code, coupon: terms.coupon };
      const names = codeField.names;
      const plansCovered = terms.coupon.appliesTo ? terms.coupon.appliesTo.map((id) => names.offering(id)).join(', ') : 'every plan';
      codeApplied.textContent = `${terms.code}: ${couponTerms(terms.coupon)} on ${plansCovered}.`;
    } catch (e) {
      showError(codeField, { path: 'promotionCode', message: e.message });
    }
  }
  codeField.dataset.state = promo ? 'applied' : code ? 'refused' : 'none';
  repriceAll();
}

/**
 * Whether the applied code's coupon covers `offering`. A declaration, not a
 * `const`: the cards are built (and call it) before the module's later lines run.
 */
function covers(offering) {
  return promo !== null && (!promo.coupon.appliesTo || promo.coupon.appliesTo.includes(offering.id));
}

/**
 * Sums an offering line's items: what recurs each period, what is charged
 * once, and what the expected usage of metered products costs per period.
 */
function split(line) {
  let recurring = 0, once = 0, usage = 0;
  for (const i of line.items) {
    if (i.type === 'ONE_TIME') once += i.amountWithoutTax;
    else if (i.metered) usage += i.amountWithoutTax;
    else recurring += i.amountWithoutTax;
  }
  // Item amounts are rounded to the cent: so are their sums, kept exact in cents.
  const cents = (x) => Math.round(x * 100) / 100;
  return { recurring: cents(recurring), once: cents(once), usage: cents(usage) };
}

/** The largest upTo of a product's tiered prices in the offering (its chart's range). */
function lastTierBound(offering, productId) {
  const bounds = offering.rates.flatMap((r) => r.prices.filter((x) => x.productId === productId && x.tiers)
    .flatMap((x) => x.tiers.map((t) => Number(t.upTo)).filter((u) => u > 0)));
  return bounds.length ? Math.max(...bounds) : 0;
}

function hasFrequency(offering, f) {
  return offering.rates.some((r) => r.billingFrequency === f);
}

/** The quantity a product starts at on the page. */
function initialQuantity(p) {
  return String(p.defaultQuantity ?? p.minQuantity ?? 1);
}

function planCard(offering, catalog, engine, names) {
  const currency = catalog.currency;
  const products = offering.productIds.map((id) => names.products.get(id) ?? { id });
  const state = { rateId: offering.rates[0].id, quantities: new Map(products.map((p) => [p.id, initialQuantity(p)])) };
  const idBase = `plan-${offering.id}`;

  const rate = field('Billing', {
    tag: 'select', id: `${idBase}-rate`, 'data-path': 'quote.offerings[0].rateId',
    options: offering.rates.map((r) => [r.id, r.name ?? r.id]),
  });
  rate.input.addEventListener('change', () => {
    state.rateId = rate.input.value;
    reprice();
  });

  // One input (and a slider when the range allows) per product a visitor may size.
  const inputs = products.map((p, i) => {
    const min = Number(p.minQuantity ?? 0);
    const max = p.maxQuantity === null || p.maxQuantity === undefined ? null : Number(p.maxQuantity);
    if (max !== null && min === max) {
      // A fixed one-time charge (a setup fee) is shown beside the price ("+ $99 once"), not as a quantity.
      const once = offering.rates.every((r) => r.prices.filter((x) => x.productId === p.id).every((x) => x.type === 'ONE_TIME'));
      return { node: once ? null : el('p', { class: 'fixed' }, `${names.product(p.id)}: ${max}`), chart: el('div') };
    }
    // A metered product's quantity is the expected usage per period ("API calls per month").
    const label = p.metered ? `${names.product(p.id)} per ${period(offering.rates[0].billingFrequency)}` : names.product(p.id);
    const f = field(label, {
      type: 'number', inputmode: 'decimal', id: `${idBase}-${p.id}`, min, max: max ?? undefined, step: 1,
      value: state.quantities.get(p.id), 'data-path': `quote.offerings[0].items[${i}].quantity`, 'data-product': p.id,
    });
    const wide = p.metered ? Math.ceil(lastTierBound(offering, p.id) * 1.5) : 0;
    const sliderMax = Math.min(max ?? Infinity, Math.max(100, Number(initialQuantity(p)) * 10, wide));
    const slider = el('input', {
      type: 'range', min, max: sliderMax, step: 1, value: state.quantities.get(p.id),
      'aria-label': `${names.product(p.id)} (slider)`, tabindex: -1,
    });
    f.input.addEventListener('input', () => {
      state.quantities.set(p.id, f.input.value);
      slider.value = f.input.value;
      reprice();
    });
    slider.addEventListener('input', () => {
      f.input.value = slider.value;
      state.quantities.set(p.id, slider.value);
      reprice();
    });
    const chart = el('div', { class: 'chart-box', dataset: { chart: p.id } });
    if (p.metered) f.node.dataset.metered = p.id;
    return { node: el('div', { class: 'quantity' }, f.node, slider), chart, product: p, input: f.input, label: p.metered ? f.node.querySelector('label') : null };
  });

  const figures = el('dl', { class: 'figures' });
  const details = el('details', { class: 'first-invoice' }, el('summary', {}, 'First invoice, line by line'));
  const invoiceBox = el('div');
  details.append(invoiceBox);
  const cta = el('a', { class: 'button', href: '#' }, `Choose ${offering.name ?? offering.id}`);
  cta.addEventListener('click', (e) => {
    if (card.dataset.valid !== 'true') e.preventDefault();
  });
  const errors = el('p', { class: 'form-error', role: 'alert' });

  const card = el('section', { class: 'plan', dataset: { offering: offering.id }, 'aria-labelledby': `${idBase}-name` },
    el('h2', { id: `${idBase}-name` }, offering.name ?? offering.id),
    rate.node, ...inputs.map((x) => x.node), figures, ...inputs.map((x) => x.chart), details, errors, cta);

  /** The quote the card prices; with the applied code's coupon when it covers this plan (`discounted`). */
  function request(quantities = state.quantities, discounted = true) {
    const quote = {
      offerings: [{
        offeringId: offering.id, rateId: state.rateId,
        items: products.map((p) => ({ productId: p.id, quantity: quantities.get(p.id) })),
      }],
    };
    if (startInput.value) quote.startDate = startInput.value;
    if (discounted && covers(offering)) quote.couponId = promo.coupon.id;
    return { quote };
  }

  function figure(label, key, amount, text, note) {
    return [el('dt', {}, label), el('dd', { dataset: { figure: key, amount: amount ?? '' } }, text, note ? el('span', { class: 'muted' }, ` ${note}`) : null)];
  }

  function reprice() {
    clearErrors(card);
    clearErrors(startInput.closest('.field')); // not the code's: its error stays until it is applied again
    let quote;
    try {
      quote = engine.estimate(request(), today);
    } catch (e) {
      // The engine names the field: show it there (the start date is the page's).
      showError(e.path === 'quote.startDate' ? document.getElementById('controls') : card, e);
      figures.replaceChildren(...figure('Price', 'perPeriod', null, '—'));
      invoiceBox.replaceChildren();
      cta.setAttribute('aria-disabled', 'true');
      card.dataset.valid = 'false';
      return;
    }
    card.dataset.valid = 'true';
    cta.removeAttribute('aria-disabled');
    const r = names.rates.get(state.rateId);
    const line = quote.offerings[0];
    const per = period(line.billingFrequency);
    const trial = r?.trialDays ? `${r.trialDays}-day free trial` : null;
    const { recurring, once, usage } = split(line);
    for (const x of inputs) if (x.label) x.label.textContent = `${names.product(x.product.id)} per ${per}`;
    // With a code: the regular price struck through, the discounted one, and for how long.
    const regular = quote.discountAmount ? split(engine.estimate(request(state.quantities, false), today).offerings[0]).recurring : null;
    const price = [
      regular !== null && regular !== recurring ? [el('s', { class: 'was', dataset: { figure: 'regular', amount: String(regular) } }, money(regular, currency)), ' '] : null,
      `${money(recurring, currency)} / ${per}`,
      once ? el('span', { dataset: { figure: 'oneTime', amount: String(once) } }, ` + ${money(once, currency)} once`) : null,
    ];
    figures.replaceChildren(
      ...figure('Price', 'perPeriod', recurring, price,
        line.billingTiming === 'IN_ARREARS' ? '(billed at the end of each period)' : null),
      // Usage is billed at each period's end on what was used: the expected usage prices an estimate.
      ...(line.items.some((i) => i.metered)
        ? figure('Usage', 'usage', usage, `about ${money(usage, currency)} per ${per} at this usage`, '(billed at the end of each period on actual usage)')
        : []),
      ...(quote.discount ? [el('dt', {}, promo.code), el('dd', { class: 'deal', dataset: { figure: 'deal' } }, couponTerms(promo.coupon, regular ?? recurring, currency, per))] : []),
      ...figure('Due today', 'dueToday', quote.firstInvoice.amount, money(quote.firstInvoice.amount, currency), trial ? `(${trial}) plus tax` : 'plus tax'),
      ...figure('Next invoice', 'nextInvoiceDate', null, date(quote.nextInvoiceDate) || 'none (nothing recurs)'),
      ...(quote.endDate ? figure('Term ends', 'endDate', null, date(quote.endDate)) : []));
    figures.querySelector('[data-figure="nextInvoiceDate"]').dataset.date = quote.nextInvoiceDate ?? '';
    invoiceBox.replaceChildren(invoiceTable(quote.firstInvoice, currency, names));
    drawCharts(quote);
    const q = new URLSearchParams({ offering: offering.id, rate: state.rateId });
    if (startInput.value) q.set('start', startInput.value);
    for (const p of products) q.set(`qty.${p.id}`, state.quantities.get(p.id));
    if (covers(offering)) q.set('code', promo.code);
    cta.href = `/checkout/?${q}`;
  }

  /** For each tiered product of the chosen rate: its period total against quantity, from the engine. */
  function drawCharts(quote) {
    const r = names.rates.get(state.rateId);
    for (const x of inputs) {
      if (!x.product) continue;
      const price = r?.prices.find((p) => p.productId === x.product.id);
      if (!price || !CHARTED.has(price.model)) {
        x.chart.replaceChildren();
        continue;
      }
      const bounds = price.tiers.map((t) => t.upTo).filter((u) => u !== null).map(Number);
      const min = Number(x.product.minQuantity ?? 0);
      const cap = x.product.maxQuantity == null ? Infinity : Number(x.product.maxQuantity);
      const current = Number(state.quantities.get(x.product.id));
      const xMax = Math.min(cap, Math.max(10, Math.ceil((bounds.at(-1) ?? 10) * 1.5), current));
      const qs = new Set([min, xMax]);
      for (let i = 1; i < 40; i++) qs.add(Math.round(min + ((xMax - min) * i) / 40));
      for (const b of bounds) if (b <= xMax) [b, b + 1].forEach((v) => v <= xMax && qs.add(v));
      // An item's price for a whole period depends on its rate and quantity only:
      // the curve is computed once per rate and range, not on every keystroke.
      const cacheKey = `${state.rateId}|${x.product.id}|${min}|${xMax}|${covers(offering) ? promo.coupon.id : ''}`;
      if (x.cacheKey !== cacheKey) {
        const amountAt = (qty) => {
          const quantities = new Map(state.quantities);
          quantities.set(x.product.id, String(qty));
          const item = engine.estimate(request(quantities), today).offerings[0].items.find((i) => i.productId === x.product.id);
          return item.amountWithoutTax;
        };
        x.points = [...qs].sort((a, b) => a - b).map((qty) => [qty, amountAt(qty)]);
        x.cacheKey = cacheKey;
      }
      const points = x.points;
      const item = quote.offerings[0].items.find((i) => i.productId === x.product.id);
      x.chart.replaceChildren(tierChart({
        points, bounds, current: [current, item.amountWithoutTax], currency,
        xTitle: names.product(x.product.id), per: period(quote.offerings[0].billingFrequency),
        title: `${names.product(x.product.id)}: price per ${period(quote.offerings[0].billingFrequency)} by quantity (${price.model.toLowerCase()} tiers at ${bounds.join(', ')})`,
      }));
    }
  }

  card.reprice = reprice;
  card.choosePeriod = (f) => {
    const r = offering.rates.find((x) => x.billingFrequency === f);
    if (!r || !hasFrequency(offering, 'MONTHLY') || !hasFrequency(offering, 'ANNUALLY')) return;
    state.rateId = r.id;
    rate.input.value = r.id;
    reprice();
  };
  reprice();
  return card;
}
