// Formatting: amounts with Intl.NumberFormat in the catalog's currency, dates
// as the visitor reads them, names from the catalog.

const moneyFormats = new Map();
/** `amount` (a number from the engine or the API) in `currency`. */
export function money(amount, currency) {
  let f = moneyFormats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat(undefined, { style: 'currency', currency });
    moneyFormats.set(currency, f);
  }
  return f.format(amount);
}

const dateFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' });
/** `YYYY-MM-DD` as a readable date (the calendar date itself, no time zone shift). */
export const date = (iso) => (iso ? dateFormat.format(new Date(`${iso}T00:00:00Z`)) : '');

const PERIOD = { MONTHLY: 'month', QUARTERLY: 'quarter', SEMI_ANNUALLY: 'half-year', ANNUALLY: 'year' };
/** `MONTHLY` → `month`. */
export const period = (frequency) => PERIOD[frequency] ?? frequency.toLowerCase();

/**
 * A coupon's terms as a visitor reads them: "20 % off for 3 months, then
 * $120.00/month"; `regular` (the undiscounted price per period) and `per`
 * complete the sentence when the discount ends.
 */
export function couponTerms(coupon, regular, currency, per) {
  const off = `${coupon.percentOff} % off`;
  const then = regular === undefined ? '' : `, then ${money(regular, currency)}/${per}`;
  switch (coupon.duration) {
    case 'ONCE':
      return `${off} the first ${per}${then}`;
    case 'REPEATING': {
      const n = coupon.durationMonths;
      return `${off} for ${n} month${n === 1 ? '' : 's'}${then}`;
    }
    default:
      return off;
  }
}

/** Lookups of catalog names by id. */
export function names(catalog) {
  const products = new Map(catalog.products.map((p) => [p.id, p]));
  const offerings = new Map(catalog.offerings.map((o) => [o.id, o]));
  const rates = new Map(catalog.offerings.flatMap((o) => o.rates.map((r) => [r.id, r])));
  return {
    products,
    offerings,
    rates,
    product: (id) => products.get(id)?.name ?? id,
    offering: (id) => offerings.get(id)?.name ?? id,
    rate: (id) => rates.get(id)?.name ?? id,
  };
}

/** Creates an element: `el('td', { class: 'num' }, text or nodes...)`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
