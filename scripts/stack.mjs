// The local stack: localstripe and the Worker on workerd (wrangler dev) with
// local D1, all on 127.0.0.1. Used by `make dev` (scripts/dev.mjs) and by the
// end-to-end tests, so both run exactly the same thing.
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER = path.join(ROOT, 'node_modules/.bin/wrangler');
const PYTHON = path.join(ROOT, '.tools/localstripe/bin/python');
const execFileP = promisify(execFile);

/** Environment for wrangler: no telemetry, no network lookups, no login. */
export const WRANGLER_ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  CI: process.env.CI ?? 'true',
  NO_COLOR: '1',
};

/** A TCP port that is free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until `url` answers (any HTTP status), or throws after `ms`. */
export async function waitFor(url, ms, proc, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (proc && proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}:\n${proc.log?.() ?? ''}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`${what} did not answer at ${url} within ${ms} ms:\n${proc?.log?.() ?? ''}`);
      await sleep(150);
    }
  }
}

function start(cmd, args, opts, quiet) {
  const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  const keep = (chunk) => {
    log = (log + chunk).slice(-20000);
    if (!quiet) process.stderr.write(chunk);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.log = () => log;
  return child;
}

function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    try {
      process.kill(-child.pid, 'SIGTERM'); // the whole group: wrangler's workerd too
    } catch {
      resolve();
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, 3000).unref();
  });
}

/** Starts localstripe on 127.0.0.1:port (state in /tmp/localstripe.pickle). */
export async function startLocalstripe(port, { quiet = true } = {}) {
  const child = start(PYTHON, [path.join(ROOT, 'scripts/localstripe_serve.py'), String(port)], { cwd: ROOT }, quiet);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/js.stripe.com/v3/`, 20000, child, 'localstripe');
  return { base, child, stop: () => stop(child) };
}

/** Applies the D1 migrations to the local database in `persistDir`. */
export async function migrate(persistDir) {
  await execFileP(WRANGLER, ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persistDir], {
    cwd: ROOT,
    env: WRANGLER_ENV,
  });
}

/** Starts the built Worker with `wrangler dev` (local D1 in persistDir). */
export async function startWorker({ port, persistDir, vars, quiet = true }) {
  const inspector = await freePort();
  const args = ['dev', '--local', '--ip', '127.0.0.1', '--port', String(port), '--inspector-port', String(inspector),
    '--persist-to', persistDir, '--show-interactive-dev-session=false', '--log-level', quiet ? 'warn' : 'info'];
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`);
  const child = start(WRANGLER, args, { cwd: ROOT, env: WRANGLER_ENV }, quiet);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/healthz`, 60000, child, 'wrangler dev');
  return { url, child, stop: () => stop(child) };
}

/** Publishes a catalog with the secret key. */
export async function publishCatalog(url, secretKey, catalog) {
  const res = await fetch(`${url}/api/catalog`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
    body: typeof catalog === 'string' ? catalog : JSON.stringify(catalog),
  });
  if (res.status >= 300) throw new Error(`publishing the catalog: ${res.status} ${await res.text()}`);
  return res.json();
}

export const DEMO_CATALOG = path.join(ROOT, 'crates/edge/demo-catalog.json');
export const DEMO_CONTRACT = 'ctrct_xNE4v9dkjXjorYAM';

/**
 * The demo account and its active contract with the Contract Management API
 * Quickstart's ids (10 Business seats, monthly, since the 1st of this month,
 * invoiced through the 1st of next month), unless it is there already.
 */
export async function seedDemo(url, secretKey) {
  const auth = { authorization: `Bearer ${secretKey}` };
  const have = await fetch(`${url}/api/contracts/${DEMO_CONTRACT}`, { headers: auth });
  if (have.status === 200) return false;
  const now = new Date();
  const iso = (d) => d.toISOString().slice(0, 10);
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const body = {
    account: {
      name: 'Quickstart Co',
      customId: 'QUICKSTART-001',
      billingAddress: { line1: '1 Market St', city: 'San Francisco', state: 'CA', postalCode: '94105', country: 'US' },
      contact: { name: 'Jane Roe', email: 'jane.roe@quickstart.test' },
    },
    billGroup: { autoEmailInvoice: true, collectInvoiceBalanceAutomatically: false },
    contract: {
      id: DEMO_CONTRACT, status: 'ACTIVE', currency: 'USD', startDate: iso(start), endDate: null,
      offerings: [{
        offeringId: 'offer_fYyrKcVaJRgVN7jg', rateId: 'rate_business_monthly',
        serviceStart: iso(start), anchorDate: iso(start), anchorDay: 1, invoicedThrough: iso(next),
        products: [{ productId: 'prod_sVd2qS8nXCP7X1Uf', quantity: 10 }],
      }],
    },
  };
  const res = await fetch(`${url}/api/contracts`, {
    method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`seeding the demo contract: ${res.status} ${await res.text()}`);
  return true;
}

/**
 * The whole stack. Options: port, stripeBase (skip localstripe), stripePort,
 * persistDir, secretKey, publishableKey, catalog (a path; false for none), quiet.
 */
export async function startStack(opts = {}) {
  const secretKey = opts.secretKey ?? 'sk_test_local';
  const publishableKey = opts.publishableKey ?? 'pk_test_local';
  const ownDir = !opts.persistDir;
  const persistDir = opts.persistDir ?? mkdtempSync(path.join(os.tmpdir(), 'quotekit-d1-'));
  let stripe = null;
  let stripeBase = opts.stripeBase;
  if (!stripeBase) {
    stripe = await startLocalstripe(opts.stripePort ?? (await freePort()), opts);
    stripeBase = stripe.base;
  }
  await migrate(persistDir);
  const port = opts.port ?? (await freePort());
  const vars = {
    SECRET_KEY: secretKey,
    PUBLISHABLE_KEY: publishableKey,
    STRIPE_API_BASE: stripeBase,
    STRIPE_SECRET_KEY: opts.stripeSecretKey ?? 'sk_test_localstripe',
    STRIPE_PUBLISHABLE_KEY: opts.stripePublishableKey ?? 'pk_test_localstripe',
    CORS_ORIGINS: opts.corsOrigins ?? `http://127.0.0.1:${port}`,
    STRIPE_WEBHOOK_SECRET: opts.webhookSecret ?? 'whsec_local',
    // Local only: lets tests (and a curious developer) set "now" per request.
    TEST_CLOCK: 'enabled',
  };
  let worker = await startWorker({ port, persistDir, vars, quiet: opts.quiet ?? true });
  let catalog = null;
  if (opts.catalog !== false) {
    catalog = await publishCatalog(worker.url, secretKey, readFileSync(opts.catalog ?? DEMO_CATALOG, 'utf8'));
    if (opts.demo !== false && !opts.catalog) await seedDemo(worker.url, secretKey);
  }
  const stack = {
    url: worker.url,
    port,
    stripeBase,
    secretKey,
    publishableKey,
    webhookSecret: vars.STRIPE_WEBHOOK_SECRET,
    persistDir,
    catalog,
    /** Stops and starts the Worker again on the same port and database. */
    async restartWorker() {
      await worker.stop();
      worker = await startWorker({ port, persistDir, vars, quiet: opts.quiet ?? true });
    },
    async stopStripe() {
      await stripe?.stop();
    },
    async startStripe() {
      const p = Number(new URL(stripeBase).port);
      stripe = await startLocalstripe(p, opts);
    },
    async stop() {
      await worker.stop();
      await stripe?.stop();
      if (ownDir) rmSync(persistDir, { recursive: true, force: true });
    },
  };
  return stack;
}
