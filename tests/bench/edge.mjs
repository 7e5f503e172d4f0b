// Load on loopback against the real Worker (wrangler dev, workerd, local D1,
// localstripe): ESTIMATE, CREATE_IN_PENDING and a contract change (a
// QUANTITY_CHANGE applied, each client on its own contract) at concurrency 1,
// 16 and 64, each bounded in requests and time. Prints p50/p99 latency, requests per second
// and errors (figures go to BENCHMARKS.md). Usage: node tests/bench/edge.mjs [requests] [seconds]
import { startStack } from '../../scripts/stack.mjs';
import { importContract } from '../e2e/helpers.mjs';

const REQUESTS = Number(process.argv[2] ?? 2000);
const SECONDS = Number(process.argv[3] ?? 20);
const stack = await startStack();
const today = new Date().toISOString().slice(0, 10);
const headers = { authorization: `Bearer ${stack.publishableKey}`, 'content-type': 'application/json' };
const quote = {
  startDate: today,
  offerings: [
    { offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: 10 }, { productId: 'prod_storage', quantity: 250 }] },
    { offeringId: 'offr_support', rateId: 'rate_support_monthly', items: [{ productId: 'prod_support', quantity: 1 }] },
  ],
};
const customer = { accountName: 'Load Inc', name: 'Lo Ad', email: 'load@example.test', billingAddress: { country: 'US', state: 'CA' } };
const bodies = {
  ESTIMATE: JSON.stringify({ action: 'ESTIMATE', quote }),
  CREATE_IN_PENDING: JSON.stringify({ action: 'CREATE_IN_PENDING', customer, quote }),
};
const expected = { ESTIMATE: 200, CREATE_IN_PENDING: 201, CONTRACT_CHANGE: 200 };
const LEVELS = [1, 16, 64];

// One contract per client for the change: a client's changes never race each other.
const contracts = [];
for (let i = 0; i < Math.max(...LEVELS); i++) {
  const { contract } = await importContract(stack, {
    status: 'ACTIVE', currency: 'USD', startDate: today, endDate: null,
    offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', serviceStart: today, anchorDate: today,
      anchorDay: Number(today.slice(8)), invoicedThrough: today, products: [{ productId: 'prod_seats', quantity: 1 }] }],
  }, { name: `Load ${i}` });
  contracts.push({ id: contract.id, seats: 1 });
}
const secret = { authorization: `Bearer ${stack.secretKey}`, 'content-type': 'application/json' };

/** One request of `action` by client `i`. */
function send(action, i) {
  if (action === 'CONTRACT_CHANGE') {
    const c = contracts[i];
    c.seats = c.seats >= 400 ? 1 : c.seats + 1;
    return fetch(`${stack.url}/api/selfService/contract`, {
      method: 'POST', headers: secret, body: JSON.stringify({ action: 'QUANTITY_CHANGE', contractId: c.id,
        payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: c.seats }] }] } }),
    });
  }
  return fetch(`${stack.url}/api/selfService/signup`, { method: 'POST', headers, body: bodies[action] });
}

async function run(action, concurrency) {
  const latencies = [];
  let errors = 0;
  let sent = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const t0 = performance.now();
  const worker = async (_, i) => {
    while (sent < REQUESTS && Date.now() < deadline) {
      sent++;
      const s = performance.now();
      try {
        const r = await send(action, i);
        await r.arrayBuffer();
        if (r.status !== expected[action]) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(_, i)));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { action, concurrency, requests: latencies.length, errors, p50: pct(50), p99: pct(99), rps: latencies.length / elapsed };
}

try {
  // Warm up the isolate.
  for (let i = 0; i < 50; i++) await fetch(`${stack.url}/api/selfService/signup`, { method: 'POST', headers, body: bodies.ESTIMATE });
  console.log('| action | concurrency | requests | errors | p50 ms | p99 ms | req/s |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  let failed = 0;
  for (const action of ['ESTIMATE', 'CREATE_IN_PENDING', 'CONTRACT_CHANGE']) {
    for (const c of LEVELS) {
      const r = await run(action, c);
      failed += r.errors;
      console.log(`| ${r.action} | ${r.concurrency} | ${r.requests} | ${r.errors} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.rps.toFixed(0)} |`);
    }
  }
  if (failed) process.exitCode = 1;
} finally {
  await stack.stop();
}
