// Load on loopback against the real Worker (wrangler dev, workerd, local D1,
// localstripe): ESTIMATE, CREATE_IN_PENDING and a contract change (a
// QUANTITY_CHANGE applied, each client on its own contract) at concurrency 1,
// 16 and 64, each bounded in requests and time. Prints p50/p99 latency, requests per second
// and errors, which must be 0 (figures go to BENCHMARKS.md). Usage: node tests/bench/edge.mjs [requests] [seconds]
// CONFIG (GET /api/selfService/config: neither D1 nor the engine) is the
// stack's floor, for ESTIMATE's ratio to it. BENCH_ACTIONS and BENCH_LEVELS
// (comma-separated) choose the rows.
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
const expected = { ESTIMATE: 200, CREATE_IN_PENDING: 201, CONTRACT_CHANGE: 200, CONFIG: 200 };
const LEVELS = (process.env.BENCH_LEVELS ?? '1,16,64').split(',').map(Number);

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

/** One request of `action` by client `i` (URL and init). */
function request(action, i) {
  if (action === 'CONTRACT_CHANGE') {
    const c = contracts[i];
    c.seats = c.seats >= 400 ? 1 : c.seats + 1;
    return [`${stack.url}/api/selfService/contract`, {
      method: 'POST', headers: secret, body: JSON.stringify({ action: 'QUANTITY_CHANGE', contractId: c.id,
        payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: c.seats }] }] } }),
    }];
  }
  if (action === 'CONFIG') return [`${stack.url}/api/selfService/config`, {}];
  return [`${stack.url}/api/selfService/signup`, { method: 'POST', headers, body: bodies[action] }];
}

/**
 * Sends it; when local wrangler dev's proxy could not reach the Worker (its
 * plain-text 503 "Your worker restarted mid-request. Please try sending the
 * request again", RELIABILITY.md) sends it once more, as that answer asks. (Safe
 * here without an Idempotency-Key, which would add a D1 write to what is
 * measured: ESTIMATE reads only, a second pending session is harmless, and a
 * quantity change sets an absolute quantity.) Answers the response and whether it was resent.
 */
async function send(action, i) {
  const [url, init] = request(action, i);
  const r = await fetch(url, init);
  const text = await r.text();
  if (r.status === 503 && /restarted mid-request/.test(text)) {
    const again = await fetch(url, init);
    return { status: again.status, text: await again.text(), resent: true };
  }
  return { status: r.status, text, resent: false };
}

async function run(action, concurrency) {
  const latencies = [];
  let errors = 0;
  const why = {};
  const failure = (k) => {
    errors++;
    why[k] = (why[k] ?? 0) + 1;
  };
  let sent = 0;
  let resent = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const t0 = performance.now();
  const worker = async (_, i) => {
    while (sent < REQUESTS && Date.now() < deadline) {
      sent++;
      const s = performance.now();
      try {
        const r = await send(action, i);
        if (r.resent) resent++;
        if (r.status !== expected[action]) failure(`${r.status} ${r.text.slice(0, 120)}`);
      } catch (e) {
        failure(`client: ${e.cause?.code ?? e.message}`);
      }
      latencies.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(_, i)));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { action, concurrency, requests: latencies.length, errors, why, resent, p50: pct(50), p99: pct(99), rps: latencies.length / elapsed };
}

try {
  // Warm up the isolate.
  for (let i = 0; i < 50; i++) await fetch(`${stack.url}/api/selfService/signup`, { method: 'POST', headers, body: bodies.ESTIMATE });
  console.log('| action | concurrency | requests | errors | p50 ms | p99 ms | req/s | resent after the dev proxy\'s 503 |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  let failed = 0;
  const actions = (process.env.BENCH_ACTIONS ?? 'ESTIMATE,CREATE_IN_PENDING,CONTRACT_CHANGE').split(',');
  for (const action of actions) {
    for (const c of LEVELS) {
      const r = await run(action, c);
      failed += r.errors;
      console.log(`| ${r.action} | ${r.concurrency} | ${r.requests} | ${r.errors} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.rps.toFixed(0)} | ${r.resent} |`);
      if (r.errors) console.error(`errors: ${JSON.stringify(r.why)}`);
    }
  }
  if (failed) process.exitCode = 1;
} finally {
  await stack.stop();
}
