// A hand-written price calculator, as a good front-end engineer would write
// one for a pricing page without the package: decimal.js for exact money,
// the catalog read once into maps of Decimals, and only the rules the page's
// quotes need (FLAT, PER_UNIT, TIERED, VOLUME; MONTHLY to ANNUALLY rates in
// advance, no trials; ANNIVERSARY or DAY_OF_MONTH anchors; HALF_UP or
// HALF_EVEN). It returns the figures a page shows, in the package's quote
// shape. It is the yardstick of issue 19 (tests/bench/run.mjs: the package
// must be 5x faster); tests/node/calculator.test.mjs checks its figures
// equal the package's.
import Decimal from 'decimal.js';

const MONTHS = { MONTHLY: 1, QUARTERLY: 3, SEMI_ANNUALLY: 6, ANNUALLY: 12 };
const DAY = 86400000;

/** `YYYY-MM-DD` ↔ days since 1970 (UTC): dates are whole days here. */
const toDays = (iso) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / DAY;
const toIso = (days) => new Date(days * DAY).toISOString().slice(0, 10);
const daysInMonth = (y, m) => new Date(Date.UTC(y, m + 1, 0)).getUTCDate(); // m: 0-based

/** `addMonths(date, k, anchorDay)` (pricing.md): the day clamps to the month's length. */
function addMonths(days, k, anchorDay) {
  const d = new Date(days * DAY);
  const total = d.getUTCFullYear() * 12 + d.getUTCMonth() + k;
  const y = Math.floor(total / 12);
  const m = total - y * 12;
  return Date.UTC(y, m, Math.min(anchorDay, daysInMonth(y, m))) / DAY;
}

/** The catalog, read once: products, rates by id with their prices as Decimals. */
export function prepare(catalog) {
  const D = Decimal.clone({ precision: 40, rounding: catalog.settings?.rounding === 'HALF_EVEN' ? Decimal.ROUND_HALF_EVEN : Decimal.ROUND_HALF_UP });
  const dec = (v) => new D(v ?? 0);
  const rates = new Map();
  for (const o of catalog.offerings) {
    for (const r of o.rates) {
      const prices = new Map(r.prices.map((p) => [p.productId, {
        model: p.model,
        amount: dec(p.amount),
        unitAmount: dec(p.unitAmount),
        tiers: (p.tiers ?? []).map((t) => ({ upTo: t.upTo === null ? null : dec(t.upTo), unit: dec(t.unitAmount), flat: dec(t.flatAmount) })),
      }]));
      rates.set(r.id, { offeringId: o.id, months: MONTHS[r.billingFrequency], frequency: r.billingFrequency, timing: r.billingTiming, termMonths: r.termMonths ?? null, prices });
    }
  }
  const anchor = catalog.settings?.billingAnchor ?? { type: 'ANNIVERSARY' };
  return { D, currency: catalog.currency, anchorDay: anchor.type === 'DAY_OF_MONTH' ? anchor.day : null, rates, zero: new D(0) };
}

/** `price(q)` for one whole period, full precision. */
function price(p, q, zero) {
  switch (p.model) {
    case 'FLAT': return q.gt(0) ? p.amount : zero;
    case 'PER_UNIT': return p.unitAmount.times(q);
    case 'TIERED': {
      let sum = zero;
      let lower = zero;
      for (const t of p.tiers) {
        const span = (t.upTo === null || q.lt(t.upTo) ? q : t.upTo).minus(lower);
        if (span.gt(0)) sum = sum.plus(span.times(t.unit)).plus(t.flat);
        if (t.upTo === null || q.lte(t.upTo)) break;
        lower = t.upTo;
      }
      return sum;
    }
    case 'VOLUME': {
      if (q.isZero()) return zero;
      const t = p.tiers.find((x) => x.upTo === null || q.lte(x.upTo));
      return q.times(t.unit).plus(t.flat);
    }
    default: throw new Error(`the calculator does not price ${p.model}`);
  }
}

/** The figures of `request.quote` (started on `today` unless it says), in the package's quote shape. */
export function quote(c, request, today) {
  const q = request.quote;
  const start = toDays(q.startDate ?? today);
  const round = (x) => x.toDecimalPlaces(2).toNumber();
  const cents = (xs) => Math.round(xs.reduce((s, x) => s + Math.round(x * 100), 0)) / 100;
  const offerings = [];
  const lines = [];
  const recurring = new Map();
  let next = Infinity;
  let end = null;
  for (const o of q.offerings) {
    const r = c.rates.get(o.rateId);
    // The first period: whole from an anniversary start, else [start, A) against [A − m, A).
    let p0 = start;
    let p1;
    if (c.anchorDay === null) {
      p1 = addMonths(start, r.months, new Date(start * DAY).getUTCDate());
    } else {
      const s = new Date(start * DAY);
      const y = s.getUTCFullYear(), m = s.getUTCMonth();
      const a = s.getUTCDate() <= Math.min(c.anchorDay, daysInMonth(y, m)) ? Date.UTC(y, m, Math.min(c.anchorDay, daysInMonth(y, m))) / DAY : addMonths(Date.UTC(y, m, 1) / DAY, 1, c.anchorDay);
      if (a === start) p1 = addMonths(a, r.months, c.anchorDay);
      else [p0, p1] = [addMonths(a, -r.months, c.anchorDay), a];
    }
    const whole = p1 - p0;
    const used = p1 - start;
    const factor = new c.D(used).div(whole);
    const items = o.items.map((i) => {
      const qty = new c.D(i.quantity);
      const full = price(r.prices.get(i.productId), qty, c.zero);
      const amount = round(full);
      const first = round(full.times(used).div(whole));
      if (first !== 0) {
        lines.push({ offeringId: o.offeringId, rateId: o.rateId, productId: i.productId, quantity: qty.toNumber(),
          periodStart: toIso(start), periodEnd: toIso(p1), prorationFactor: factor.toFixed(6), amount: first });
      }
      return { productId: i.productId, quantity: qty.toNumber(), amountWithoutTax: amount, amount };
    });
    const sum = cents(items.map((i) => i.amountWithoutTax));
    recurring.set(r.frequency, cents([recurring.get(r.frequency) ?? 0, sum]));
    const endDate = r.termMonths === null ? null : toIso(addMonths(start, r.termMonths, new Date(start * DAY).getUTCDate()));
    if (endDate !== null && (end === null || endDate > end)) end = endDate;
    next = Math.min(next, p1);
    offerings.push({ offeringId: o.offeringId, rateId: o.rateId, billingFrequency: r.frequency, billingTiming: r.timing,
      endDate, amountWithoutTax: sum, amount: sum, items });
  }
  const total = cents(offerings.map((o) => o.amountWithoutTax));
  const due = cents(lines.map((l) => l.amount));
  return {
    currency: c.currency, startDate: toIso(start), endDate: end, amountWithoutTax: total, amount: total,
    recurring: [...recurring].map(([billingFrequency, amountWithoutTax]) => ({ billingFrequency, amountWithoutTax })),
    offerings,
    firstInvoice: { invoiceDate: toIso(start), amountWithoutTax: due, tax: 0, amount: due, lines },
    nextInvoiceDate: next === Infinity ? null : toIso(next),
  };
}
