// The customer portal: with a customer token (from the vendor, or from the
// checkout just finished), the account's contracts and invoices; each change
// is previewed by the API (the engine's figures, tax included) and applied
// only when the customer confirms.
import * as api from './lib/api.js';
import { date, el, money, names as catalogNames } from './lib/format.js';
import { busy, clearErrors, field, invoiceTable, showError } from './lib/ui.js';

const $ = (id) => document.getElementById(id);
const STORE = 'quotekit.portalToken';
const pageError = $('page-error');
let token, accountId, catalog, names;

/** The account a token names (its payload is readable; only the server can verify it). */
function claims(t) {
  try {
    const payload = t.replace(/^ctok_/, '').split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const c = JSON.parse(atob(payload + '='.repeat((4 - (payload.length % 4)) % 4)));
    return typeof c.a === 'string' && typeof c.e === 'number' ? c : null;
  } catch {
    return null;
  }
}

function tokenFrom(text) {
  const m = /ctok_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/.exec(decodeURIComponent(text ?? ''));
  return m ? m[0] : null;
}

const call = (method, path, opts = {}) => api.request(method, path, { key: token, ...opts });

async function open(t) {
  const c = claims(t);
  if (!c) throw Object.assign(new Error('This is not a portal link.'), { path: 'token' });
  token = t;
  accountId = c.a;
  sessionStorage.setItem(STORE, t);
  $('token-form').hidden = true;
  catalog = await api.catalog();
  names = catalogNames(catalog);
  await refresh();
}

async function refresh() {
  // The account first: an expired or foreign token stops here, with one answer.
  const account = await call('GET', `/api/accounts/${encodeURIComponent(accountId)}`);
  const [list, invoices] = await Promise.all([
    call('GET', `/api/accounts/${encodeURIComponent(accountId)}/contracts`),
    call('GET', `/api/accounts/${encodeURIComponent(accountId)}/invoices`),
  ]);
  // Each contract in full: its scheduled changes and pending reviews too.
  const contracts = await Promise.all(list.data.map((c) => call('GET', `/api/contracts/${encodeURIComponent(c.id)}`)));
  // Metered lines: this period's usage so far, its price so far and at this pace.
  await Promise.all(contracts.filter((c) => c.offerings.some((o) => o.meteredThrough)).map(async (c) => {
    c.usage = await call('GET', `/api/contracts/${encodeURIComponent(c.id)}/usage`);
  }));
  renderAccount(account);
  $('contracts').replaceChildren(...contracts.map((c) => contractPanel(c, account)));
  renderInvoices(invoices.data, account.currency);
}

function renderAccount(a) {
  const box = $('account');
  box.hidden = false;
  const addr = a.billingAddress ?? {};
  const exp = claims(token)?.e;
  const contact = a.contacts?.[0];
  const edit = el('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Edit details');
  const form = detailsForm(a);
  edit.addEventListener('click', () => {
    form.hidden = !form.hidden;
    edit.setAttribute('aria-expanded', String(!form.hidden));
    if (!form.hidden) form.querySelector('input')?.focus();
  });
  box.replaceChildren(...[
    el('h2', { id: 'account-name' }, a.name),
    el('p', { class: 'muted', dataset: { address: '' } }, [addr.line1, addr.line2, addr.city, addr.state, addr.postalCode, addr.country].filter(Boolean).join(', ')),
    contact ? el('p', { class: 'muted', dataset: { contact: '' } }, `Billing contact: ${contact.name} <${contact.email}>`) : null,
    a.creditBalance ? el('p', { dataset: { credit: String(a.creditBalance) } }, `Credit balance: ${money(a.creditBalance, a.currency)}`) : null,
    exp ? el('p', { class: 'muted' }, `This portal link is valid until ${new Date(exp * 1000).toLocaleString()}.`) : null,
    el('div', { class: 'actions' }, edit),
    form,
  ].filter(Boolean));
}

const COUNTRIES = [['US', 'United States'], ['CA', 'Canada'], ['GB', 'United Kingdom'], ['DE', 'Germany'],
  ['FR', 'France'], ['NL', 'Netherlands'], ['AU', 'Australia'], ['JP', 'Japan']];

/** The account's name, billing address and contact, saved with PATCH /api/accounts/{id}. */
function detailsForm(a) {
  const addr = a.billingAddress ?? {};
  const contact = a.contacts?.[0] ?? {};
  const f = (label, name, value, attrs = {}) => field(label, { type: 'text', name, value: value ?? '', maxlength: 200, ...attrs });
  const fields = [
    f('Company', 'name', a.name, { autocomplete: 'organization' }),
    f('Contact name', 'contact.name', contact.name, { autocomplete: 'name' }),
    f('Contact email', 'contact.email', contact.email, { type: 'email', autocomplete: 'email', maxlength: 254 }),
    f('Street address', 'billingAddress.line1', addr.line1, { autocomplete: 'address-line1' }),
    f('City', 'billingAddress.city', addr.city, { autocomplete: 'address-level2' }),
    f('State or region', 'billingAddress.state', addr.state, { autocomplete: 'address-level1' }),
    f('Postal code', 'billingAddress.postalCode', addr.postalCode, { autocomplete: 'postal-code' }),
  ];
  const known = COUNTRIES.some(([c]) => c === addr.country);
  const country = field('Country', { tag: 'select', name: 'billingAddress.country', autocomplete: 'country',
    options: known || !addr.country ? COUNTRIES : [[addr.country, addr.country], ...COUNTRIES] });
  country.input.value = addr.country ?? 'US';
  const save = el('button', { type: 'submit' }, 'Save details');
  const form = el('form', { class: 'details', novalidate: true, hidden: true, 'aria-label': 'Your details' },
    el('p', { class: 'muted' }, 'Tax on your next invoices follows the billing address; receipts go to the contact email.'),
    ...fields.map((x) => x.node), country.node, el('p', { class: 'form-error', role: 'alert' }),
    el('div', { class: 'actions' }, save));
  let key, sent; // one save of these details, retried safely under one key
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const v = (n) => form.elements[n].value.trim() || null;
    const body = {
      name: v('name'),
      contact: { name: v('contact.name'), email: v('contact.email') },
      billingAddress: { line1: v('billingAddress.line1'), line2: addr.line2 ?? null, city: v('billingAddress.city'),
        state: v('billingAddress.state'), postalCode: v('billingAddress.postalCode'), country: v('billingAddress.country') },
    };
    if (JSON.stringify(body) !== sent) [key, sent] = [api.newKey(), JSON.stringify(body)];
    busy(save, async () => {
      try {
        await call('PATCH', `/api/accounts/${encodeURIComponent(a.id)}`, { body, idempotencyKey: key });
        await refresh();
        $('account').append(el('p', { class: 'notice good', role: 'status', dataset: { saved: '' } }, 'Your details are saved.'));
      } catch (err) {
        showError(form, err);
      }
    });
  });
  return form;
}

function renderInvoices(list, currency) {
  $('invoices').hidden = false;
  $('invoice-list').replaceChildren(list.length
    ? el('table', { class: 'list' },
      el('thead', {}, el('tr', {}, ...['Invoice', 'Date', 'Amount', 'Due', 'Status'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, list.map((i) => el('tr', { dataset: { invoice: i.id } },
        el('td', {}, i.id), el('td', {}, date(i.invoiceDate)), el('td', { class: 'num' }, money(i.amount, i.currency ?? currency),
          i.discountAmount ? el('div', { class: 'muted', dataset: { discount: String(i.discountAmount) } },
            `discount ${money(-i.discountAmount, i.currency ?? currency)}`) : null),
        el('td', { class: 'num' }, money(i.amountDue ?? i.amount, i.currency ?? currency)), el('td', {}, i.status)))))
    : el('p', { class: 'muted' }, 'No invoices yet.'));
}

/** This period's usage of each metered product: so far, its price so far, and at this pace; or nothing. */
function usageTable(c) {
  const rows = c.usage?.current ?? [];
  if (!rows.length) return null;
  return el('table', { class: 'list usage' },
    el('caption', {}, 'Usage this period'),
    el('thead', {}, el('tr', {}, ...['Product', 'Period', 'So far', 'Price so far', 'At this pace'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((u) => el('tr', { dataset: { usage: u.productId, quantity: String(u.quantity), amount: String(u.amount), projected: String(u.projected.amount) } },
      el('td', {}, names.product(u.productId)),
      el('td', {}, `${date(u.periodStart)} – ${date(u.periodEnd)}`),
      el('td', { class: 'num' }, Number(u.quantity).toLocaleString()),
      el('td', { class: 'num' }, money(u.amount, c.currency)),
      el('td', { class: 'num' }, `${money(u.projected.amount, c.currency)}`,
        el('div', { class: 'muted' }, `${Number(u.projected.quantity).toLocaleString()} by ${date(u.periodEnd)}`))))));
}

/** The contract's deal and when it ends, or nothing. */
function discountLine(c) {
  const d = c.discount;
  if (!d) return null;
  const coupon = catalog.coupons?.find((x) => x.id === d.couponId);
  const on = d.appliesTo ? d.appliesTo.map((id) => names.offering(id)).join(', ') : 'every plan';
  const ended = d.endDate && d.endDate <= api.todayUtc();
  return el('p', { class: 'deal', dataset: { discount: d.couponId, endDate: d.endDate ?? '' } },
    `Discount${coupon?.name ? ` (${coupon.name})` : ''}: ${d.percentOff} % off ${on}`,
    d.endDate ? (ended ? `; ended ${date(d.endDate)}` : `, on periods starting before ${date(d.endDate)}`) : ', for the life of the contract');
}

function linesTable(c) {
  return el('table', { class: 'list' },
    el('thead', {}, el('tr', {}, ...['Plan', 'Billing', 'Quantities', 'Invoiced through'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, c.offerings.map((o) => el('tr', { dataset: { line: o.offeringId } },
      el('td', {}, names.offering(o.offeringId)), el('td', {}, names.rate(o.rateId)),
      el('td', {}, o.products.map((p) => `${names.product(p.productId)} × ${p.quantity}`).join(', ')),
      el('td', {}, date(o.invoicedThrough))))));
}

/** What the contract will invoice next as things stand (scheduled changes say their own). */
function nextInvoiceLine(c) {
  const n = c.nextInvoice;
  if (!n) return el('p', { class: 'muted', dataset: { nextInvoice: '' } }, c.status === 'SUSPENDED' ? 'Nothing is invoiced while suspended.' : 'No further invoice.');
  const credit = Number(n.creditApplied) ? `, ${money(n.creditApplied, n.currency)} paid from your credit` : '';
  return el('p', { dataset: { nextInvoice: n.invoiceDate, amount: String(n.amount) } },
    'Next invoice: ', el('strong', {}, money(n.amount, n.currency)), ` on ${date(n.invoiceDate)}${credit}${n.tax ? ' (tax included)' : ''}.`);
}

const CHANGES = [
  ['QUANTITY_CHANGE', 'Change quantities'],
  ['RATE_CHANGE', 'Switch billing period'],
  ['OFFERING_CHANGE', 'Switch plan'],
  ['ADD_OFFERING', 'Add an add-on'],
  ['REMOVE_OFFERING', 'Remove an add-on'],
  ['CANCELLATION', 'Cancel the subscription'],
];

function contractPanel(c, account) {
  const currency = c.currency;
  const panel = el('section', { class: 'panel', dataset: { contract: c.id }, 'aria-label': `Contract ${c.id}` },
    el('h2', {}, names.offering(c.offerings[0]?.offeringId), el('span', { class: 'muted' }, ` · ${c.status.toLowerCase()}`)),
    el('p', { class: 'muted' }, `Contract ${c.id} · since ${date(c.startDate)}`, c.endDate ? ` · ends ${date(c.endDate)}` : ''),
    discountLine(c),
    linesTable(c),
    usageTable(c),
    nextInvoiceLine(c));
  for (const s of c.scheduledChanges ?? []) {
    panel.append(pending(c, s, { scheduled: s.action }, `Scheduled: ${describe(s, c)} on ${date(s.effectiveDate)}.${invoicedThen(s, currency)}`));
  }
  for (const r of c.pendingReview ?? []) {
    panel.append(pending(c, r, { review: r.action ?? '' }, `Waiting for review: ${describe(r, c)}.`));
  }
  if (c.status !== 'ACTIVE') return panel;

  const onContract = new Set(c.offerings.map((o) => o.offeringId));
  const others = catalog.offerings.filter((o) => !onContract.has(o.id));
  const kinds = CHANGES.filter(([k]) => (k === 'ADD_OFFERING' || k === 'OFFERING_CHANGE' ? others.length > 0 : true)
    && (k === 'REMOVE_OFFERING' ? c.offerings.length > 1 : true));
  const form = el('form', { class: 'change', novalidate: true });
  const kind = field('What would you like to change?', { tag: 'select', name: 'action', options: kinds });
  const inputs = el('div');
  const when = el('fieldset', {}, el('legend', {}, 'When'),
    el('label', {}, el('input', { type: 'radio', name: 'when', value: 'now', checked: true }), ' Now (prorated)'),
    el('label', {}, el('input', { type: 'radio', name: 'when', value: 'NEXT_BILL_CYCLE' }), ' At the next bill cycle'));
  const previewBtn = el('button', { type: 'submit' }, 'Preview change');
  const result = el('div', { class: 'preview', 'aria-live': 'polite' });
  form.append(el('h3', {}, 'Change your subscription'), kind.node, inputs, when,
    el('p', { class: 'form-error', role: 'alert' }), el('div', { class: 'actions' }, previewBtn), result);
  panel.append(form);

  const lineOptions = c.offerings.map((o) => [o.offeringId, names.offering(o.offeringId)]);
  let build;
  function choose() {
    result.replaceChildren();
    clearErrors(form);
    const k = kind.input.value;
    when.querySelector('[value=NEXT_BILL_CYCLE]').checked = k === 'CANCELLATION';
    when.querySelector('[value=now]').checked = k !== 'CANCELLATION';
    if (k === 'QUANTITY_CHANGE') {
      const rows = c.offerings.map((o, i) => o.products.map((p, j) => {
        const prod = names.products.get(p.productId) ?? {};
        return field(`${names.offering(o.offeringId)}: ${names.product(p.productId)}`, {
          type: 'number', name: `payload.offerings[${i}].products[${j}].quantity`, value: p.quantity,
          min: prod.minQuantity ?? 0, max: prod.maxQuantity ?? undefined, step: 1, inputmode: 'decimal', 'data-product': p.productId,
        });
      }));
      inputs.replaceChildren(...rows.flat().map((f) => f.node));
      build = () => ({
        offerings: c.offerings.map((o, i) => ({
          offeringId: o.offeringId,
          products: o.products.map((p, j) => ({ productId: p.productId, quantity: form.elements[`payload.offerings[${i}].products[${j}].quantity`].value.trim() })),
        })),
      });
    } else if (k === 'RATE_CHANGE' || k === 'REMOVE_OFFERING') {
      const line = field('Which part', { tag: 'select', name: 'payload.offerings[0].offeringId', options: lineOptions });
      const rate = field('New billing period', { tag: 'select', name: 'payload.offerings[0].rateId', options: [] });
      const fillRates = () => {
        const o = names.offerings.get(line.input.value);
        const current = c.offerings.find((x) => x.offeringId === line.input.value)?.rateId;
        rate.input.replaceChildren(...(o?.rates ?? []).filter((r) => r.id !== current).map((r) => el('option', { value: r.id }, r.name ?? r.id)));
      };
      line.input.addEventListener('change', fillRates);
      fillRates();
      inputs.replaceChildren(line.node, k === 'RATE_CHANGE' ? rate.node : '');
      build = () => ({ offerings: [k === 'RATE_CHANGE' ? { offeringId: line.input.value, rateId: rate.input.value } : { offeringId: line.input.value }] });
    } else if (k === 'OFFERING_CHANGE') {
      const line = field('Replace', { tag: 'select', name: 'payload.offerings[0].offeringId', options: lineOptions });
      const next = field('With', { tag: 'select', name: 'payload.offerings[0].newOfferingId', options: others.map((o) => [o.id, o.name ?? o.id]) });
      inputs.replaceChildren(line.node, next.node);
      build = () => ({ offerings: [{ offeringId: line.input.value, newOfferingId: next.input.value }] });
    } else if (k === 'ADD_OFFERING') {
      const add = field('Add', { tag: 'select', name: 'payload.offerings[0].offeringId', options: others.map((o) => [o.id, o.name ?? o.id]) });
      const rate = field('Billing', { tag: 'select', name: 'payload.offerings[0].rateId', options: [] });
      const fillRates = () => rate.input.replaceChildren(...(names.offerings.get(add.input.value)?.rates ?? []).map((r) => el('option', { value: r.id }, r.name ?? r.id)));
      add.input.addEventListener('change', fillRates);
      fillRates();
      inputs.replaceChildren(add.node, rate.node);
      build = () => ({ offerings: [{ offeringId: add.input.value, rateId: rate.input.value }] });
    } else {
      inputs.replaceChildren(el('p', {}, 'Your subscription ends; at the next bill cycle nothing more is charged, or now with a credit for the unused part.'));
      build = () => null;
    }
  }
  kind.input.addEventListener('change', choose);
  form.addEventListener('input', (e) => {
    if (e.target !== kind.input) result.replaceChildren(); // a preview holds only for what it previewed
  });
  choose();

  const body = () => {
    const b = { action: kind.input.value, contractId: c.id, payload: build() };
    if (form.elements.when.value === 'NEXT_BILL_CYCLE') b.relativeEffectiveDate = 'NEXT_BILL_CYCLE';
    return b;
  };

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const request = body();
    busy(previewBtn, async () => {
      try {
        const p = await call('POST', '/api/selfService/contract', { body: { ...request, preview: true } });
        const confirm = el('button', { type: 'button', class: 'confirm' }, 'Confirm change');
        result.replaceChildren(el('div', { dataset: { preview: '' } }, summary(p, currency, 'preview')),
          el('div', { class: 'actions' }, confirm, el('button', { type: 'button', class: 'secondary', onclick: () => result.replaceChildren() }, 'Back')));
        const key = api.newKey(); // one confirmation, retried safely
        confirm.addEventListener('click', () => busy(confirm, async () => {
          try {
            const r = await call('POST', '/api/selfService/contract', { body: request, idempotencyKey: key, accept: [402] });
            await refresh();
            const again = $('contracts').querySelector(`[data-contract="${CSS.escape(c.id)}"] .preview`);
            again?.replaceChildren(el('div', { dataset: { result: r.status } }, summary(r, currency, 'result')));
          } catch (err) {
            showError(form, err);
          }
        }));
      } catch (err) {
        if (err.code === 'AMENDMENT_PENDING') {
          // Another change waits: say which, and where to withdraw it.
          const waiting = [...(c.scheduledChanges ?? []), ...(c.pendingReview ?? [])][0];
          const text = waiting
            ? `You already have a change waiting: ${describe(waiting, c)}${waiting.status === 'SCHEDULED' ? ` on ${date(waiting.effectiveDate)}` : ' (for review)'}. Withdraw it above to make another.`
            : 'Another change to this subscription is waiting. Withdraw it to make another.';
          showError(form, { message: text });
          return;
        }
        showError(form, err);
      }
    });
  });
  return panel;
}

/** A change in words, from the operation it carries: "switch to Annual", "Seats × 12". */
function describe(a, c) {
  const ops = a.request?.operations ?? (a.request ? [a.request] : []);
  const parts = ops.map((op) => {
    const entries = op.payload?.offerings ?? [];
    switch (op.action) {
      case 'QUANTITY_CHANGE':
        return entries.flatMap((e) => (e.products ?? []).filter((p) => p.quantity !== undefined)
          .map((p) => `${names.product(p.productId)} × ${p.quantity}`)).join(', ') || 'prices from the current catalog';
      case 'RATE_CHANGE':
        return entries.map((e) => `switch ${names.offering(e.offeringId)} to ${names.rate(e.rateId)}`).join(', ');
      case 'OFFERING_CHANGE':
        return entries.map((e) => `switch ${names.offering(e.offeringId)} to ${names.offering(e.newOfferingId)}`).join(', ');
      case 'ADD_OFFERING':
        return entries.map((e) => `add ${names.offering(e.offeringId)}`).join(', ');
      case 'REMOVE_OFFERING':
        return entries.map((e) => `remove ${names.offering(e.offeringId)}`).join(', ');
      case 'CANCELLATION':
        return `cancel ${names.offering(c.offerings[0]?.offeringId)}`;
      default:
        return (op.action ?? 'a change').replace(/_/g, ' ').toLowerCase();
    }
  });
  return parts.join('; ') || (a.action ?? 'a change').replace(/_/g, ' ').toLowerCase();
}

/** What a scheduled change's date invoices: the change's own invoice, else the next regular one. */
function invoicedThen(a, currency) {
  const own = Number(a.amount ?? 0);
  const next = a.nextInvoice ? Number(a.nextInvoice.amount) : 0;
  const total = own + next;
  if (total > 0) return ` That day: ${money(total, currency)}.`;
  if (total < 0) return ` That day: a credit of ${money(-total, currency)}.`;
  return '';
}

/** A change not yet made, with the button that withdraws it (nothing is billed for it then). */
function pending(c, a, dataset, text) {
  const withdraw = el('button', { type: 'button', class: 'secondary', 'aria-label': `Withdraw: ${text}` }, 'Withdraw');
  const box = el('div', { class: 'notice pending', dataset: { ...dataset, amendment: a.id } },
    el('p', {}, text, ' ', withdraw), el('p', { class: 'form-error', role: 'alert' }));
  const key = api.newKey(); // one withdrawal, retried safely
  withdraw.addEventListener('click', () => busy(withdraw, async () => {
    try {
      const path = `/api/contracts/${encodeURIComponent(c.id)}/amendments/${encodeURIComponent(a.id)}/withdraw`;
      await call('POST', path, { idempotencyKey: key });
      await refresh();
    } catch (err) {
      showError(box, err);
    }
  }));
  return box;
}

/** What the customer pays now: due (preview), or charged / still due (result). */
function dueLine(r, inv, currency, mode) {
  if (mode === 'result' && r.payment) {
    return el('p', { class: 'due' }, el('strong', { dataset: { due: String(r.payment.amount) } },
      `${r.payment.status === 'SUCCEEDED' ? 'Charged' : 'Charge attempted'} today: ${money(r.payment.amount, currency)}`));
  }
  const due = inv.amountDue ?? inv.amount;
  const text = due > 0 ? `Due today: ${money(due, currency)}` : due < 0 ? `Credit: ${money(-due, currency)}` : 'Nothing due today';
  return el('p', { class: 'due' }, el('strong', { dataset: { due: String(due) } }, text));
}

/** What a change does (preview) or did (result): effective date, the invoice, what is due. */
function summary(r, currency, mode) {
  // A change dated later (a preview says `scheduled`; a scheduled one answers
  // `upcomingInvoice`) is invoiced on its date, not today.
  const later = mode === 'preview' ? r.scheduled === true : !r.invoice && !!r.upcomingInvoice;
  const inv = later ? r.invoice ?? r.upcomingInvoice : r.invoice;
  const eff = r.quote?.effectiveDate;
  const parts = [];
  if (mode === 'result') {
    const text = { SUCCESS: 'Done.', REVIEW: 'Sent for review: nothing changes until it is approved.', FAILED: 'The charge failed: nothing was changed.' }[r.status] ?? r.status;
    parts.push(el('p', { class: `notice ${r.status === 'FAILED' ? 'bad' : 'good'}` }, text, r.payment ? ` Payment ${r.payment.status.toLowerCase()}: ${money(r.payment.amount, currency)}.` : ''));
  }
  if (eff) parts.push(el('p', {}, `Takes effect ${date(eff)}.`));
  const shown = (i) => i && (i.items?.length ?? 0) > 0;
  if (later) {
    parts.push(el('p', { class: 'due' }, el('strong', { dataset: { due: '0' } }, 'Nothing due today')));
    if (shown(inv)) parts.push(invoiceTable(inv, currency, names, { caption: `What this change invoices on ${date(inv.invoiceDate)}` }));
    if (shown(r.nextInvoice)) {
      parts.push(el('div', { dataset: { next: String(r.nextInvoice.amount) } }, invoiceTable(r.nextInvoice, currency, names,
        { caption: `Your next invoice, ${date(r.nextInvoice.invoiceDate)}, with the change` })));
    }
    if (!shown(inv) && !shown(r.nextInvoice)) parts.push(el('p', {}, 'Nothing is invoiced for it.'));
  } else if (shown(inv)) {
    parts.push(invoiceTable(inv, currency, names, { caption: mode === 'preview' ? 'What this change invoices' : `Invoice ${inv.id}` }));
    parts.push(dueLine(r, inv, currency, mode));
  } else {
    parts.push(el('p', { class: 'due' }, el('strong', { dataset: { due: '0' } }, 'Nothing due today')));
  }
  return el('div', {}, ...parts);
}

try {
  const fromHash = tokenFrom(new URLSearchParams(window.location.hash.slice(1)).get('token'));
  if (fromHash) history.replaceState(null, '', window.location.pathname); // keep the token out of the address bar
  const t = fromHash ?? sessionStorage.getItem(STORE);
  if (t) await open(t);
  else $('token-form').hidden = false;
  document.body.dataset.status = 'ready';
} catch (e) {
  sessionStorage.removeItem(STORE);
  pageError.textContent = e.status === 401 ? 'This portal link has expired. Ask for a new one.' : e.message;
  $('token-form').hidden = false;
  document.body.dataset.status = 'failed';
}

$('token-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  clearErrors(form);
  pageError.textContent = '';
  try {
    const t = tokenFrom(form.elements.token.value);
    if (!t) throw Object.assign(new Error('Paste the whole portal link (it contains ctok_…).'), { path: 'token' });
    await open(t);
  } catch (err) {
    showError(form, err.status === 401 ? { path: 'token', message: 'This portal link has expired. Ask for a new one.' } : err);
  }
});
