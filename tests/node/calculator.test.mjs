// The hand-written decimal.js calculator of tests/bench/calculator.js (the
// yardstick the package's speed is measured against) gives the package's
// figures, to the cent, on the benchmark's typical quote and variations of
// it: start dates (anchor day, month ends, a leap day), quantities (tier
// bounds, zero, fractions), annual rates, anniversary anchors, HALF_EVEN,
// more offerings. A ratio against a calculator that priced something else
// would mean nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPkg } from './helpers.mjs';
import { catalog, request } from '../bench/typical.js';
import { prepare, quote } from '../bench/calculator.js';

const pricing = await loadPkg();

/** `actual` reduced to the fields `shape` has (the package answers more: types, discounts). */
function project(shape, actual) {
  if (Array.isArray(shape)) return shape.map((s, i) => project(s, actual?.[i]));
  if (shape !== null && typeof shape === 'object') {
    return Object.fromEntries(Object.keys(shape).map((k) => [k, project(shape[k], actual?.[k])]));
  }
  return actual;
}

function variations() {
  const out = [];
  const today = '2026-01-31';
  for (const start of ['2026-01-31', '2026-02-01', '2026-02-28', '2026-03-15', '2028-02-29', '2026-12-31']) {
    for (const [qa, qb] of [[17, 18], [10, 50], [11, 51], [0, 0], ['0.5', '2.25'], [100000, 99999]]) {
      for (const rate of ['m', 'y']) {
        const r = request();
        r.quote.startDate = start;
        for (const o of r.quote.offerings) {
          o.rateId = o.rateId.replace(/_m$/, `_${rate}`);
          o.items[0].quantity = qa;
          o.items[1].quantity = qb;
        }
        out.push([`${start} ${rate} ${qa}/${qb}`, catalog(), r, today]);
      }
    }
  }
  const anniversary = catalog();
  anniversary.settings.billingAnchor = { type: 'ANNIVERSARY' };
  const halfEven = catalog();
  halfEven.settings.rounding = 'HALF_EVEN';
  const day31 = catalog();
  day31.settings.billingAnchor = { type: 'DAY_OF_MONTH', day: 31 };
  for (const [name, c] of [['anniversary', anniversary], ['HALF_EVEN', halfEven], ['day 31', day31]]) {
    for (const start of ['2026-01-31', '2026-02-14', '2026-04-30']) {
      const r = request();
      r.quote.startDate = start;
      // 12.50 × 3 days / 28 days and the like: half cents to round either way.
      for (const o of r.quote.offerings) o.items[1].quantity = '0.7';
      out.push([`${name} from ${start}`, c, r, '2026-01-31']);
    }
  }
  out.push(['20 offerings × 4 items', catalog(20, 4), request(20, 4), '2026-11-21']);
  return out;
}

test('the calculator gives the package\'s figures on the typical quote and its variations', () => {
  const cases = [['the typical quote', catalog(), request(), '2026-11-21'], ...variations()];
  for (const [name, c, r, today] of cases) {
    const mine = quote(prepare(c), r, today);
    const theirs = new pricing.Pricing(c).estimate(r, today);
    assert.deepEqual(mine, project(mine, theirs), name);
  }
  assert.ok(cases.length >= 80, `${cases.length} cases`);
});

test('the comparison can fail: a calculator a cent off is caught', () => {
  const c = prepare(catalog());
  const mine = quote(c, request(), '2026-11-21');
  mine.firstInvoice.lines[0].amount += 0.01;
  const theirs = new pricing.Pricing(catalog()).estimate(request(), '2026-11-21');
  assert.notDeepEqual(mine, project(mine, theirs));
});
