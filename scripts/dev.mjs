// `make dev`: localstripe and the Worker (wrangler dev, workerd, local D1 in
// .wrangler/state) on 127.0.0.1, migrations applied, the demo catalog
// published when the database has none. Honours PORT, SECRET_KEY, PUBLISHABLE_KEY, STRIPE_API_BASE,
// STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, STRIPE_JS_URL, STRIPE_PORT, CORS_ORIGINS and QUOTEKIT_STATE_DIR; stops what it started on Ctrl-C or SIGTERM.
import path from 'node:path';
import { DEMO_CONTRACT, ROOT, startStack } from './stack.mjs';

const env = process.env;
const stack = await startStack({
  port: Number(env.PORT || 8787),
  secretKey: env.SECRET_KEY || 'sk_test_local',
  publishableKey: env.PUBLISHABLE_KEY || 'pk_test_local',
  stripeBase: env.STRIPE_API_BASE || undefined,
  // With another Stripe (a real test account, or a localstripe of your own):
  // its keys, and where its Stripe.js is served.
  stripeSecretKey: env.STRIPE_SECRET_KEY || undefined,
  stripePublishableKey: env.STRIPE_PUBLISHABLE_KEY || undefined,
  stripeJsUrl: env.STRIPE_JS_URL || undefined,
  stripePort: Number(env.STRIPE_PORT || 8420),
  // Local D1 and localstripe's state; `make dev-reset` removes it.
  persistDir: env.QUOTEKIT_STATE_DIR || path.join(ROOT, '.wrangler/state'),
  corsOrigins: env.CORS_ORIGINS,
  // A catalog published before (PUT /api/catalog) survives a restart.
  keepPublished: true,
  authFailuresPerMinute: Number(env.AUTH_FAILURES_PER_MINUTE || 20),
  // The documented default (10 a minute); tests that need more set their own.
  promotionCodeGuessesPerMinute: Number(env.PROMOTION_CODE_GUESSES_PER_MINUTE || 10),
  quiet: false,
});

const today = new Date().toISOString().slice(0, 10);
// A portal link for the demo account (24 hours), as a vendor's app would mint one.
const auth = { authorization: `Bearer ${stack.secretKey}`, 'content-type': 'application/json' };
const demo = await (await fetch(`${stack.url}/api/contracts/${DEMO_CONTRACT}`, { headers: auth })).json();
const minted = await fetch(`${stack.url}/api/customerTokens`, {
  method: 'POST', headers: auth, body: JSON.stringify({ accountId: demo.accountId, expiresIn: 86400 }),
});
const portal = minted.ok ? `${stack.url}/portal/#token=${(await minted.json()).token}` : '(no demo account)';
console.log(`
QuoteKit is running (Ctrl-C stops it):

  Pricing page     ${stack.url}/
  Checkout         ${stack.url}/checkout/   (test cards: 4242 4242 4242 4242; 4000 0000 0000 0341 is declined)
  Portal (demo)    ${portal}
  API              ${stack.url}/api/…       (OpenAPI: ${stack.url}/openapi.json)
  secret key       ${stack.secretKey}
  publishable key  ${stack.publishableKey}
  Stripe           ${stack.stripeBase}${env.STRIPE_API_BASE ? '' : '  (localstripe; Stripe.js stand-in at /js.stripe.com/v3/)'}
  catalog          version ${stack.catalog?.version} (${stack.catalog?.created === false ? 'as published before; make dev-reset starts afresh' : 'crates/edge/demo-catalog.json'})
  demo contract    ctrct_xNE4v9dkjXjorYAM (the Contract Management API Quickstart's ids)

Try the Quick Start (README.md has every step):

  curl -s ${stack.url}/api/selfService/signup -H 'Authorization: Bearer ${stack.publishableKey}' \\
    -H 'Content-Type: application/json' -d '{"action":"ESTIMATE","quote":{"startDate":"${today}",
    "offerings":[{"offeringId":"offr_EoqyNVChm1kwT","rateId":"rate_aCTj2kwzyd0U5",
    "items":[{"productId":"prod_a9sElJSR3TbyP","quantity":1}]}]}}'
`);

let stopping = false;
const shutdown = async (signal) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${signal}: stopping the Worker and localstripe`);
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));
// If whatever started us (make) is killed, we are re-parented: stop too.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) shutdown('parent gone');
}, 1000).unref();
