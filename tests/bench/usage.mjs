// Usage ingestion on the local stack (`make dev`'s: workerd, local D1,
// wrangler's local queue): BATCHES requests of 1 000 events from 8 clients
// at once; prints events per second accepted (POST /api/usage answered) and
// stored (the queue consumer wrote them to D1). Bounded: BATCHES × 1 000
// events, at most 5 minutes. Usage: node tests/bench/usage.mjs [BATCHES=20]
import { readFileSync } from 'node:fs';
import { DEMO_CATALOG, startStack } from '../../scripts/stack.mjs';
import { client, d1 } from '../e2e/helpers.mjs';

const BATCHES = Number(process.argv[2] ?? 20);
const stack = await startStack({ stripeMemoryOnly: true });
try {
  const api = client(stack);
  const secret = (extra = {}) => ({ key: stack.secretKey, ...extra });
  const catalog = JSON.parse(readFileSync(DEMO_CATALOG, 'utf8'));
  catalog.products.push({ id: 'prod_calls', name: 'API calls', minQuantity: 0, metered: { aggregation: 'SUM' } });
  catalog.offerings.push({ id: 'offr_api', name: 'API', productIds: ['prod_calls'], rates: [{ id: 'rate_api_monthly',
    billingFrequency: 'MONTHLY', billingTiming: 'IN_ARREARS', prices: [{ productId: 'prod_calls', model: 'PER_UNIT', unitAmount: '0.001' }] }] });
  await api.call('PUT', '/api/catalog', secret({ body: catalog }));
  const today = new Date().toISOString().slice(0, 10);
  const signed = await api.call('POST', '/api/selfService/signup', secret({ body: {
    action: 'CREATE_AND_FINALIZE', billGroup: { collectInvoiceBalanceAutomatically: false },
    customer: { accountName: 'Bench Co', name: 'B. Ench', email: 'bench@usage.test', billingAddress: { country: 'US', state: 'TX' } },
    quote: { startDate: today, offerings: [{ offeringId: 'offr_api', rateId: 'rate_api_monthly' }] } } }));
  const contractId = signed.json.contract.id;
  const ts = new Date(Date.now() - 60_000).toISOString();
  const batches = Array.from({ length: BATCHES }, (_, b) => Array.from({ length: 1000 }, (_, i) => ({
    id: `bench-${b}-${i}`, contractId, productId: 'prod_calls', quantity: 1, timestamp: ts })));
  const started = performance.now();
  let next = 0, accepted = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < batches.length) {
      const r = await api.call('POST', '/api/usage', secret({ body: { events: batches[next++] } }));
      if (r.status !== 202) throw new Error(`${r.status} ${r.text.slice(0, 200)}`);
      accepted += r.json.accepted;
    }
  }));
  const answered = performance.now();
  const total = BATCHES * 1000;
  let stored = 0;
  while (stored < total && performance.now() - started < 300_000) {
    [{ stored }] = d1(stack, `SELECT COUNT(*) AS stored FROM usage_events WHERE contract_id = '${contractId}'`);
    if (stored < total) await new Promise((r) => setTimeout(r, 200));
  }
  const done = performance.now();
  const rate = (n, ms) => Math.round((n / ms) * 1000).toLocaleString('en');
  console.log(`${total} events in ${BATCHES} requests of 1 000 from 8 clients: accepted ${accepted} in ${((answered - started) / 1000).toFixed(2)} s ` +
    `(${rate(accepted, answered - started)} events/s); stored ${stored} in ${((done - started) / 1000).toFixed(2)} s (${rate(stored, done - started)} events/s)`);
} finally {
  await stack.stop();
}
