// Pieces every page uses: the invoice table, errors beside the field they
// name, a busy state for buttons.
import { date, el, money } from './format.js';

/**
 * An invoice (the engine's or the API's) as a table: one row per line, then
 * subtotal, tax and total; `amountDue` and credit when the API sent them.
 */
export function invoiceTable(invoice, currency, names, { caption } = {}) {
  const lines = invoice.lines ?? invoice.items ?? [];
  const body = lines.map((l) =>
    el('tr', { dataset: { line: '' } },
      el('td', {}, names.product(l.productId), el('div', { class: 'muted' }, names.offering(l.offeringId), ' · ', names.rate(l.rateId))),
      el('td', { class: 'num' }, String(l.quantity)),
      el('td', {}, `${date(l.periodStart)} – ${date(l.periodEnd)}`,
        l.prorationFactor !== '1.000000' ? el('div', { class: 'muted' }, `× ${l.prorationFactor} of the period`) : null),
      el('td', { class: 'num' + (l.amount < 0 ? ' credit' : '') }, money(l.amount, currency),
        l.type === 'ONE_TIME' ? el('div', { class: 'muted' }, 'once') : null,
        l.discountAmount ? el('div', { class: 'muted', dataset: { discount: String(l.discountAmount) } },
          `discount ${money(-l.discountAmount, currency)}`) : null)));
  const total = (label, amount, key) =>
    el('tr', { class: 'total' }, el('th', { colspan: 3, scope: 'row' }, label),
      el('td', { class: 'num', dataset: { total: key, amount: String(amount) } }, money(amount, currency)));
  const foot = [total('Subtotal', invoice.amountWithoutTax, 'subtotal'), total('Tax', invoice.tax, 'tax'), total('Total', invoice.amount, 'amount')];
  // Line amounts are already discounted: the discount is shown as what it saved, included above.
  if (invoice.discountAmount) foot.unshift(total('Discount (included in the amounts)', -invoice.discountAmount, 'discount'));
  if (invoice.creditApplied) foot.push(total('Credit applied', -invoice.creditApplied, 'credit'));
  if (invoice.amountDue !== undefined && invoice.amountDue !== invoice.amount) foot.push(total('Amount due', invoice.amountDue, 'due'));
  return el('table', { class: 'invoice' },
    caption ? el('caption', {}, caption) : null,
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Item'), el('th', { scope: 'col', class: 'num' }, 'Qty'),
      el('th', { scope: 'col' }, 'Period'), el('th', { scope: 'col', class: 'num' }, 'Amount'))),
    el('tbody', {}, lines.length ? body : el('tr', {}, el('td', { colspan: 4, class: 'muted' }, 'Nothing to invoice.'))),
    el('tfoot', {}, foot));
}

/** Clears the field errors and the form-level alert inside `scope`. */
export function clearErrors(scope) {
  for (const f of scope.querySelectorAll('[aria-invalid="true"]')) f.removeAttribute('aria-invalid');
  for (const m of scope.querySelectorAll('.field-error, .form-error')) m.textContent = '';
}

/** The field `path` names: its `data-path` or `name`, else the nearest enclosing path's. */
function fieldFor(scope, path) {
  const all = [...scope.querySelectorAll('[data-path], [name]')];
  for (let p = path; p; ) {
    const found = all.find((f) => (f.dataset.path || f.name) === p);
    if (found) return found;
    const parent = p.replace(/(\.[^.[\]]*|\[\d+\])$/, '');
    if (parent === p) break;
    p = parent;
  }
  return null;
}

/**
 * Shows an error beside the field its `path` names, else in the scope's
 * `.form-error`. Answers the element that shows it.
 */
export function showError(scope, error) {
  let text = error.message || String(error);
  const field = fieldFor(scope, error.path || '');
  const slot = field && document.getElementById(field.getAttribute('aria-describedby')?.split(' ')[0] ?? '');
  if (slot) {
    // The API names its field ("customer.email is not…"); a person reads the form's label.
    const label = field.id && scope.querySelector(`label[for="${CSS.escape(field.id)}"]`)?.textContent?.trim();
    if (label && error.path) text = text.split(error.path).join(label);
    field.setAttribute('aria-invalid', 'true');
    slot.textContent = text;
    field.focus?.();
    return slot;
  }
  const general = scope.querySelector('.form-error');
  if (general) general.textContent = text;
  return general;
}

/** Runs `work` with `button` disabled and marked busy. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/**
 * A labelled control with its error slot:
 * `<div class=field><label/><input|select/><p class=field-error/></div>`.
 * `options` (for a select): `[value, text]` pairs.
 */
let fieldCount = 0;
export function field(label, { tag = 'input', options = [], ...attrs }) {
  const id = attrs.id ?? `f${++fieldCount}`;
  const kids = options.map(([value, text]) => el('option', { value }, text));
  const input = el(tag, { ...attrs, id, 'aria-describedby': `${id}-error` }, ...kids);
  return {
    input,
    node: el('div', { class: 'field' }, el('label', { for: id }, label), input,
      el('p', { class: 'field-error', id: `${id}-error`, 'aria-live': 'polite' })),
  };
}
