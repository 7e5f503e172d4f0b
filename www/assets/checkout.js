// Checkout: details → a session (CREATE_WITH_PAYMENT_METHOD) → card with
// Stripe.js from the session's paymentMethodInit → UPDATE → review with tax →
// FINALIZE → confirmation. The URL carries the session (`urls.signup`), so a
// reload or a link resumes where the session stands.
import init, { Pricing } from '/pkg/quotekit_pricing.js';
import * as api from './lib/api.js';
import { couponTerms, date, el, money, names as catalogNames, period } from './lib/format.js';
import { busy, clearErrors, invoiceTable, showError } from './lib/ui.js';

const $ = (id) => document.getElementById(id);
const panels = ['details', 'payment', 'review', 'complete', 'canceled'];
const today = api.todayUtc();
const pageError = $('page-error');

let catalog, engine, names, session, plan;
/** The promotion code applied: `{ code, coupon }`, or null. The browser prices with its coupon; FINALIZE redeems the code. */
let promo = null;
/** The code the pricing page linked with (`?code=`). */
let linkedCode = '';
let stripe = null, card = null;

try {
  await init();
  const params = new URLSearchParams(window.location.search);
  const id = params.get('session');
  if (id) {
    session = await api.request('GET', `/api/selfService/signup/${encodeURIComponent(id)}`);
    await useCatalog(session.catalogVersion);
    await show(session);
  } else {
    await useCatalog();
    plan = planFromQuery(params);
    linkedCode = params.get('code') ?? '';
    await startDetails();
  }
  document.body.dataset.status = 'ready';
} catch (e) {
  fail(e);
}

function fail(e) {
  pageError.textContent = e.status === 404 ? 'This checkout link is not valid. Start again from the pricing page.' : e.message;
  document.body.dataset.status = 'failed';
}

async function useCatalog(version) {
  catalog = await api.catalog(version);
  engine = new Pricing(catalog);
  names = catalogNames(catalog);
}

/** The quote the pricing page linked to: `?offering=&rate=&start=&qty.<product>=`. */
function planFromQuery(params) {
  const offering = catalog.offerings.find((o) => o.id === params.get('offering')) ?? catalog.offerings[0];
  const rate = offering.rates.find((r) => r.id === params.get('rate')) ?? offering.rates[0];
  const items = offering.productIds.map((productId) => {
    const q = params.get(`qty.${productId}`);
    return q === null ? { productId } : { productId, quantity: q };
  });
  const quote = { offerings: [{ offeringId: offering.id, rateId: rate.id, items }] };
  const start = params.get('start');
  if (start && start !== today) quote.startDate = start;
  return quote;
}

/** The quote request a session holds, from its answer (as FINALIZE will price it). */
function planFromSession(s) {
  return {
    startDate: s.quote.startDate,
    offerings: s.quote.offerings.map((o) => ({
      offeringId: o.offeringId, rateId: o.rateId,
      items: o.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
    })),
  };
}

function setStep(step) {
  for (const li of document.querySelectorAll('.steps li')) {
    if (li.dataset.step === step) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }
  const panel = { details: 'details', payment_method: 'payment', review: 'review', complete: 'complete', canceled: 'canceled' }[step];
  for (const p of panels) $(p).hidden = p !== panel;
  document.body.dataset.step = step;
}

/** The quote as the browser prices it: with the applied code's coupon when it covers one of its plans. */
function withCoupon(quoteRequest) {
  const c = promo?.coupon;
  if (!c || (c.appliesTo && !quoteRequest.offerings.some((o) => c.appliesTo.includes(o.offeringId)))) return quoteRequest;
  return { ...quoteRequest, couponId: c.id };
}

/** The promotion code a session's quote carries, with its coupon from the catalog (coupons are public terms). */
function promoOf(s) {
  const coupon = s.quote?.discount && catalog.coupons?.find((c) => c.id === s.quote.discount.couponId);
  return s.quote?.promotionCode && coupon ? { code: s.quote.promotionCode, coupon } : null;
}

/** The order summary: the plan, its price per period, and the first invoice (taxed when an address is known). */
function renderSummary(quoteRequest, billingAddress) {
  const request = { quote: withCoupon(quoteRequest), customer: billingAddress ? { billingAddress } : undefined };
  const box = $('summary-body');
  let quote, due;
  try {
    quote = engine.estimate(request, today);
    due = engine.dueAtSignUp(request, today);
  } catch (e) {
    box.replaceChildren(el('p', { class: 'field-error' }, `This plan cannot be priced: ${e.message}`));
    return null;
  }
  const currency = quote.currency;
  const rows = quote.offerings.flatMap((o) => [
    el('h3', {}, names.offering(o.offeringId), el('span', { class: 'muted' }, ` · ${names.rate(o.rateId)}`)),
    el('ul', {}, o.items.filter((i) => i.quantity !== 0 || i.amountWithoutTax !== 0)
      .map((i) => el('li', { dataset: i.metered ? { metered: i.productId } : {} }, `${names.product(i.productId)}: ${i.quantity}`,
        i.metered ? el('span', { class: 'muted' }, ` expected per ${period(o.billingFrequency)}, about ${money(i.amountWithoutTax, currency)}, billed at the period's end on actual usage`) : ''))),
    el('p', {}, el('strong', { dataset: { figure: 'perPeriod', amount: String(o.amountWithoutTax) } },
      `${money(o.amountWithoutTax, currency)} / ${period(o.billingFrequency)}`), ' before tax',
      o.items.some((i) => i.metered) ? ' (with the expected usage)' : ''),
  ]);
  const deal = quote.discount
    ? el('p', { class: 'deal', dataset: { figure: 'deal', amount: String(quote.discountAmount) } },
      `${promo.code}: ${couponTerms(promo.coupon)}`,
      quote.discount.endDate ? ` (periods starting before ${date(quote.discount.endDate)})` : '')
    : null;
  box.replaceChildren(...rows, ...(deal ? [deal] : []),
    el('p', { class: 'muted' }, `Starts ${date(quote.startDate)}; next invoice ${date(quote.nextInvoiceDate) || 'none (nothing recurs)'}`,
      quote.endDate ? `; term ends ${date(quote.endDate)}` : ''),
    invoiceTable(due, currency, names, { caption: billingAddress ? 'Due today' : 'Due today (tax from your address)' }));
  box.dataset.amount = String(due.amount);
  return due;
}

// ---- details --------------------------------------------------------------

function readCustomer(form) {
  const v = (name) => form.elements[name].value.trim();
  const address = {};
  for (const k of ['line1', 'city', 'state', 'postalCode', 'country']) {
    const x = v(`customer.billingAddress.${k}`);
    if (x) address[k] = x;
  }
  return {
    accountName: v('customer.accountName'), name: v('customer.name'), email: v('customer.email'),
    billingAddress: address,
  };
}

/** Looks the code in the field up; applies its coupon to the summary, or shows why not beside the field. */
async function lookupCode(form) {
  const input = form.elements['quote.promotionCode'];
  const code = input.value.trim();
  const applied = $('promotionCode-applied');
  const slot = $('promotionCode-error');
  slot.textContent = '';
  input.removeAttribute('aria-invalid');
  applied.textContent = '';
  promo = null;
  if (code) {
    try {
      const terms = await api.request('GET', `/api/selfService/promotionCodes/${encodeURIComponent(code)}`);
      promo = { code: terms.code, coupon: terms.coupon };
      applied.textContent = `${terms.code}: ${couponTerms(terms.coupon)}.`;
    } catch (err) {
      showError(form, { path: 'quote.promotionCode', message: err.message });
    }
  }
  form.dataset.code = promo ? 'applied' : code ? 'refused' : 'none';
  renderSummary(plan, readCustomer(form).billingAddress);
  return code === '' || promo !== null;
}

async function startDetails() {
  const form = $('details');
  setStep('details');
  const refresh = () => renderSummary(plan, readCustomer(form).billingAddress);
  form.addEventListener('input', (e) => {
    if (e.target.name !== 'quote.promotionCode') refresh();
  });
  const codeInput = form.elements['quote.promotionCode'];
  codeInput.addEventListener('change', () => lookupCode(form));
  codeInput.value = promo?.code ?? linkedCode;
  if (codeInput.value) await lookupCode(form);
  else refresh();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form);
    // The browser's own checks first, shown the same way as the API's.
    const invalid = [...form.elements].find((f) => f.willValidate && !f.checkValidity());
    if (invalid) {
      showError(form, { path: invalid.name, message: invalid.validationMessage });
      return;
    }
    await busy($('details-submit'), async () => {
      // A code typed but not yet looked up (Enter straight after it) is checked first.
      const code = codeInput.value.trim();
      if (code && promo?.code.toLowerCase() !== code.toLowerCase() && !(await lookupCode(form))) return;
      try {
        const quote = code ? { ...plan, promotionCode: code } : plan;
        session = await api.request('POST', '/api/selfService/signup', {
          idempotencyKey: api.newKey(),
          body: { action: 'CREATE_WITH_PAYMENT_METHOD', customer: readCustomer(form), quote },
        });
        history.replaceState(null, '', `?session=${encodeURIComponent(session.sessionId)}`);
        await show(session);
      } catch (err) {
        if (err.path?.startsWith('quote') && !form.elements[err.path]) pageError.textContent = `${err.message} (${err.path})`;
        else showError(form, err);
      }
    });
  });
}

// ---- where a session stands -----------------------------------------------

async function show(s) {
  session = s;
  if (s.quote) promo = promoOf(s);
  const due = renderSummary(planFromSession(s), s.customer?.billingAddress);
  switch (s.step) {
    case 'details':
      plan = planFromSession(s);
      return startDetails();
    case 'payment_method':
      return startPayment(s.lastError?.code === 'PAYMENT_DECLINED' ? s.lastError.message : null);
    case 'review':
      return startReview(due);
    case 'processing':
      setStep('review');
      $('review').querySelector('.form-error').textContent = 'Your payment is being processed…';
      await new Promise((r) => setTimeout(r, 2000));
      return show(await api.request('GET', `/api/selfService/signup/${encodeURIComponent(s.sessionId)}`));
    case 'complete':
      return showComplete(s);
    default:
      return setStep('canceled');
  }
}

// ---- card -----------------------------------------------------------------

function loadStripeJs(url) {
  if (window.Stripe) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error('The card form could not be loaded. Try again in a moment.'));
    document.head.append(script);
  });
}

async function startPayment(declined) {
  const form = $('payment');
  // The old card form goes at once: nothing typed into it can be lost when the new one mounts.
  delete form.dataset.ready;
  card?.destroy();
  card = null;
  setStep('payment_method');
  clearErrors(form);
  $('decline').hidden = !declined;
  $('decline').textContent = declined ? `${declined} Try another card.` : '';
  if (!session.paymentMethodInit) {
    session = await api.request('PATCH', `/api/selfService/signup/${encodeURIComponent(session.sessionId)}`, {
      idempotencyKey: api.newKey(), body: { action: 'INIT_PAYMENT_METHOD' },
    });
  }
  const initData = session.paymentMethodInit.stripe;
  await loadStripeJs((await api.config()).stripe.jsUrl);
  stripe = window.Stripe(initData.publicKey);
  card = stripe.elements().create('card');
  card.mount('#card-element');
  form.dataset.ready = 'true';
  form.onsubmit = async (e) => {
    e.preventDefault();
    clearErrors(form);
    await busy($('card-submit'), async () => {
      const customer = session.customer ?? {};
      const result = await stripe.confirmCardSetup(initData.clientSecret, {
        payment_method: { card, billing_details: { name: customer.contactName, email: customer.contactEmail } },
      });
      if (result.error) {
        showError(form, { path: 'paymentMethod', message: result.error.message ?? 'The card could not be saved.' });
        return;
      }
      try {
        const s = await api.request('PATCH', `/api/selfService/signup/${encodeURIComponent(session.sessionId)}`, {
          idempotencyKey: api.newKey(),
          body: { action: 'UPDATE', paymentMethod: { paymentMethodName: 'Card', paymentToken: result.setupIntent.id } },
        });
        await show(s);
      } catch (err) {
        showError(form, err);
      }
    });
  };
}

// ---- review and pay ---------------------------------------------------------

/** The review step; `due` is what the order summary just computed (FINALIZE's charge). */
function startReview(due) {
  setStep('review');
  const box = $('review');
  clearErrors(box);
  const pm = session.paymentMethod;
  $('review-card').textContent = pm ? `Card: ${pm.brand ?? 'card'} ending ${pm.last4 ?? '····'}` : 'No card needed for this plan.';
  $('change-card').hidden = !pm;
  if (due) $('review-invoice').replaceChildren(invoiceTable(due, catalog.currency, names, { caption: 'Charged today' }));
  const refused = $('code-refused');
  refused.hidden = true;
  const pay = $('pay');
  pay.textContent = due && due.amount > 0 ? `Pay ${money(due.amount, catalog.currency)} and subscribe` : 'Start subscription';
  pay.onclick = () => busy(pay, async () => {
    clearErrors(box);
    try {
      const s = await api.request('PATCH', `/api/selfService/signup/${encodeURIComponent(session.sessionId)}`, {
        idempotencyKey: api.newKey(), body: { action: 'FINALIZE' },
      });
      await show(s);
    } catch (err) {
      if (err.code === 'PAYMENT_DECLINED') {
        session = await api.request('GET', `/api/selfService/signup/${encodeURIComponent(session.sessionId)}`);
        await startPayment(err.message);
      } else {
        showError(box, err);
        // The code was used up or expired since it was applied: nothing was charged; go on without it.
        refused.hidden = err.path !== 'quote.promotionCode';
      }
    }
  });
  $('drop-code').onclick = () => busy($('drop-code'), async () => {
    clearErrors(box);
    try {
      const s = await api.request('PATCH', `/api/selfService/signup/${encodeURIComponent(session.sessionId)}`, {
        idempotencyKey: api.newKey(), body: { action: 'UPDATE', quote: planFromSession(session) },
      });
      await show(s);
    } catch (err) {
      showError(box, err);
    }
  });
  $('change-card').onclick = () => busy($('change-card'), async () => {
    try {
      session = await api.request('PATCH', `/api/selfService/signup/${encodeURIComponent(session.sessionId)}`, {
        idempotencyKey: api.newKey(), body: { action: 'INIT_PAYMENT_METHOD' },
      });
      await startPayment(null);
    } catch (err) {
      showError(box, err);
    }
  });
}

// ---- done -----------------------------------------------------------------

function showComplete(s) {
  setStep('complete');
  const currency = s.invoice?.currency ?? catalog.currency;
  const c = s.contract;
  const parts = [];
  if (c) {
    parts.push(el('h3', {}, 'Contract'), el('p', { dataset: { contract: c.id } }, `${c.id} · ${c.status} · from ${date(c.startDate)}`,
      c.endDate ? ` to ${date(c.endDate)}` : ''),
    el('ul', {}, c.offerings.map((o) => el('li', {}, `${names.offering(o.offeringId)} (${names.rate(o.rateId)}): `,
      o.products.map((p) => `${names.product(p.productId)} × ${p.quantity}`).join(', ')))));
  }
  if (s.invoice) {
    parts.push(el('h3', {}, 'Invoice'), el('p', { dataset: { invoice: s.invoice.id } }, `${s.invoice.id} · ${s.invoice.status}`),
      invoiceTable(s.invoice, currency, names));
  }
  if (s.payment) {
    parts.push(el('h3', {}, 'Payment'), el('p', { dataset: { payment: s.payment.status } },
      `${money(s.payment.amount, currency)} · ${s.payment.status}`));
  }
  $('complete-body').replaceChildren(...parts);
  const toPortal = $('to-portal');
  toPortal.onclick = () => busy(toPortal, async () => {
    try {
      const t = await api.request('POST', `/api/selfService/signup/${encodeURIComponent(s.sessionId)}/customerToken`, { body: {} });
      window.location.assign(`/portal/#token=${encodeURIComponent(t.token)}`);
    } catch (err) {
      showError($('complete'), err);
    }
  });
}
