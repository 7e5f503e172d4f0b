// Security probes against the real Worker: every endpoint with no key, a
// wrong key, the publishable key where the secret is needed, expired,
// tampered and other accounts' customer tokens; bodies over the limit;
// SQL-, script- and very long strings in every text field; ids; error bodies;
// webhooks with bad signatures. Routes come from /openapi.json, so a new
// endpoint is probed the day it is documented.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startStack } from '../../scripts/stack.mjs';
import { launch } from '../browser/chromium.mjs';
import { at, client, importContract, snapshot, today } from './helpers.mjs';

let stack, api, routes, mine, theirs, tokens;
const errorBodies = [];

const NASTY = [
  "Robert'); DROP TABLE accounts; --",
  '" OR 1=1 --',
  '<script>window.__pwned = 1</script>',
  '<img src=x onerror="window.__pwned = 1">',
  '{{7*7}} ${7*7} %s %n \\x00',
  'Zoë 山田 👩‍💻 ‮reversed',
];

before(async () => {
  stack = await startStack();
  api = client(stack);
  const doc = (await api.call('GET', '/openapi.json', { key: null })).json;
  routes = Object.entries(doc.paths).flatMap(([p, item]) => Object.entries(item).map(([method, op]) => {
    const schemes = (op.security ?? doc.security).map((s) => Object.keys(s)[0]);
    const access = schemes.length === 0 ? 'public' : schemes.includes('customerToken') ? 'account'
      : schemes.includes('publishableKey') ? 'publishable' : 'secret';
    return { method: method.toUpperCase(), path: p, access };
  }));
  const monthly = (name) => ({
    status: 'ACTIVE', currency: 'USD', startDate: today(), endDate: null,
    offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', serviceStart: today(), anchorDate: today(), anchorDay: Number(today().slice(8)),
      invoicedThrough: today(), products: [{ productId: 'prod_seats', quantity: 2 }] }],
  });
  mine = await importContract(stack, monthly(), { name: 'Mine Co' });
  theirs = await importContract(stack, monthly(), { name: 'Theirs Co' });
  const mint = async (accountId, headers = {}, expiresIn = 3600) =>
    (await api.call('POST', '/api/customerTokens', { key: stack.secretKey, headers, body: { accountId, expiresIn } })).json.token;
  const valid = await mint(mine.account.id);
  const [payload, sig] = valid.split('.');
  tokens = {
    mine: valid,
    theirs: await mint(theirs.account.id),
    expired: await mint(mine.account.id, { 'quotekit-test-now': new Date(Date.now() - 7200_000).toISOString().slice(0, 19) + 'Z' }, 60),
    tampered: `${payload}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`,
    forged: `ctok_${Buffer.from(JSON.stringify({ a: mine.account.id, e: 4102444800 })).toString('base64url')}.${sig}`,
  };
});
after(async () => {
  await stack?.stop();
});

/** A concrete URL for a route: this account's ids where the path names them. */
function url(path, ids = { accountId: mine.account.id, contractId: mine.contract.id }) {
  return path.replace(/\{(\w+)\}/g, (_, name) => ids[name] ?? (name === 'version' ? '1' : `${name.slice(0, 4)}_none`));
}

async function probe(route, key, { body = route.method === 'GET' ? undefined : '{}', ids } = {}) {
  const r = await api.call(route.method, url(route.path, ids), { key, raw: body });
  if (r.status >= 400) errorBodies.push({ route: `${route.method} ${route.path}`, status: r.status, text: r.text });
  return r;
}

describe('keys and tokens', () => {
  test('no key, a wrong key: 401 on every endpoint that needs one', async () => {
    for (const r of routes.filter((r) => r.access !== 'public')) {
      for (const key of [null, 'sk_wrong', `${stack.secretKey}x`, 'Bearer', '']) {
        const res = await probe(r, key);
        assert.equal(res.status, 401, `${r.method} ${r.path} with ${JSON.stringify(key)}: ${res.text}`);
        assert.equal(res.json.code, 'UNAUTHORIZED');
      }
    }
  });

  test('the publishable key where the secret is needed: 403', async () => {
    for (const r of routes.filter((r) => r.access === 'secret' || r.access === 'account')) {
      const res = await probe(r, stack.publishableKey);
      assert.equal(res.status, 403, `${r.method} ${r.path}: ${res.text}`);
    }
  });

  test('a customer token: 403 outside its account\'s endpoints; expired, tampered or forged: 401', async () => {
    for (const r of routes.filter((r) => r.access === 'secret' || r.access === 'publishable')) {
      const res = await probe(r, tokens.mine);
      assert.equal(res.status, 403, `${r.method} ${r.path}: ${res.text}`);
    }
    for (const r of routes.filter((r) => r.access === 'account')) {
      for (const bad of ['expired', 'tampered', 'forged']) {
        const res = await probe(r, tokens[bad]);
        assert.equal(res.status, 401, `${bad} token on ${r.method} ${r.path}: ${res.text}`);
      }
    }
  });

  test('another account\'s token: 404 for this account\'s things, and nothing of them leaks', async () => {
    for (const r of routes.filter((r) => r.access === 'account')) {
      const body = r.path === '/api/selfService/contract'
        ? JSON.stringify({ action: 'QUANTITY_CHANGE', contractId: mine.contract.id, preview: true,
          payload: { offerings: [{ offeringId: 'offr_team', products: [{ productId: 'prod_seats', quantity: 3 }] }] } })
        : undefined;
      const res = await probe(r, tokens.theirs, { body: body ?? (r.method === 'GET' ? undefined : '{}') });
      assert.ok([404, 400].includes(res.status), `${r.method} ${r.path}: ${res.status} ${res.text}`);
      if (r.path.includes('{accountId}') || r.path.includes('{contractId}') || body) assert.equal(res.status, 404, `${r.method} ${r.path}`);
      assert.ok(!res.text.includes('Mine Co') && !res.text.includes('prod_seats'), `nothing of the other account: ${res.text}`);
    }
    // Its own things it may read.
    assert.equal((await api.call('GET', `/api/accounts/${theirs.account.id}`, { key: tokens.theirs })).status, 200);
  });
});

describe('input', () => {
  test('bodies over 64 KB (1 MB for POST /api/usage): 413 on every endpoint that takes one', async () => {
    const body = (kb) => JSON.stringify({ pad: 'x'.repeat(kb * 1024) });
    for (const r of routes.filter((r) => r.method !== 'GET')) {
      const key = r.access === 'account' ? stack.secretKey : r.access === 'public' ? null : stack.secretKey;
      const usage = r.path === '/api/usage';
      const res = await probe(r, key, { body: body(usage ? 1030 : 70) });
      assert.equal(res.status, 413, `${r.method} ${r.path}: ${res.text.slice(0, 200)}`);
      if (usage) {
        // Under its limit the body is read: the answer is about its fields.
        const read = await probe(r, key, { body: body(900) });
        assert.equal(read.status, 400, read.text.slice(0, 200));
        assert.equal(read.json.path, 'events');
      }
    }
  });

  test('SQL-, script- and unicode strings in every text field are stored and answered verbatim', async () => {
    for (const [i, s] of NASTY.entries()) {
      const customer = {
        accountName: s, name: s, email: `probe${i}@example.test`, customId: `${s}#${i}`,
        billingAddress: { line1: s, line2: s, city: s, state: s, postalCode: s, country: 'US' },
      };
      const r = await api.post({
        action: 'CREATE_AND_FINALIZE', customer, billGroup: { collectInvoiceBalanceAutomatically: false },
        quote: { offerings: [{ offeringId: 'offr_free', rateId: 'rate_free_monthly' }] },
      });
      assert.equal(r.status, 201, r.text);
      const a = (await api.call('GET', `/api/accounts/${r.json.customer.accountId}`, { key: stack.secretKey })).json;
      assert.equal(a.name, s);
      assert.equal(a.customId, `${s}#${i}`);
      assert.deepEqual(a.billingAddress, customer.billingAddress);
      const found = await api.call('GET', `/api/accounts?customId=${encodeURIComponent(`${s}#${i}`)}`, { key: stack.secretKey });
      assert.deepEqual(found.json.data.map((x) => x.id), [r.json.customer.accountId], 'looked up by its exact text');
      assert.equal((await api.get(r.json.sessionId)).json.customer.contactName, s);
    }
    // The tables are all there: nothing was executed.
    assert.ok(Object.keys(snapshot(stack)).includes('accounts'));
  });

  test('very long strings are refused naming the field, never a 5xx', async () => {
    const long = 'A'.repeat(10_000);
    const fields = { accountName: long, name: long, email: `${long}@x.test`, customId: long };
    for (const [field, value] of Object.entries(fields)) {
      const customer = { accountName: 'A', name: 'B', email: 'b@a.test', [field]: value };
      const r = await api.post({ action: 'CREATE_IN_PENDING', customer, quote: { offerings: [{ offeringId: 'offr_free', rateId: 'rate_free_monthly' }] } });
      assert.equal(r.status, 400, `${field}: ${r.text.slice(0, 200)}`);
      assert.equal(r.json.path, `customer.${field}`);
    }
    for (const [path, value] of [['quote.offerings[0].offeringId', long], ['quote.customId', long]]) {
      const quote = path === 'quote.customId' ? { customId: value, offerings: [{ offeringId: 'offr_free', rateId: 'rate_free_monthly' }] }
        : { offerings: [{ offeringId: value, rateId: 'rate_free_monthly' }] };
      const r = await api.post({ action: 'ESTIMATE', quote });
      assert.ok(r.status === 400, `${path}: ${r.status}`);
      assert.ok(r.text.length < 2000, 'the error does not echo the whole input back');
    }
    const path = await api.call('GET', `/api/contracts/${'x'.repeat(5000)}`, { key: stack.secretKey });
    assert.ok([404, 414, 400].includes(path.status), `a long path: ${path.status}`);
    const sql = await api.call('GET', `/api/contracts/${encodeURIComponent("' OR 1=1 --")}`, { key: stack.secretKey });
    assert.equal(sql.status, 404);
  });

  test('script-looking names are shown as text in the portal, never run', async () => {
    const s = NASTY[3];
    const { account } = await importContract(stack, {
      status: 'ACTIVE', currency: 'USD', startDate: today(), endDate: null,
      offerings: [{ offeringId: 'offr_free', rateId: 'rate_free_monthly', serviceStart: today(), anchorDate: today(),
        anchorDay: Number(today().slice(8)), invoicedThrough: today(), products: [{ productId: 'prod_seats', quantity: 1 }] }],
    }, { name: s });
    const token = (await api.call('POST', '/api/customerTokens', { key: stack.secretKey, body: { accountId: account.id } })).json.token;
    const browser = await launch();
    try {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${stack.url}/portal/#token=${token}`);
      await page.waitForFunction(() => document.body.dataset.status !== 'loading');
      assert.equal(await page.locator('#account-name').textContent(), s);
      assert.equal(await page.locator('#account img').count(), 0);
      assert.equal(await page.evaluate(() => window.__pwned), undefined, 'the name did not run');
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});

describe('ids, errors, webhooks', () => {
  test('session ids from the Worker: distinct, 128-bit base62, no sequence', async () => {
    const ids = [];
    for (let i = 0; i < 200; i++) {
      const r = await api.post({ action: 'CREATE_IN_PENDING', customer: { accountName: 'Id Co', name: 'I D', email: `id${i}@id.test` },
        quote: { offerings: [{ offeringId: 'offr_free', rateId: 'rate_free_monthly' }] } });
      assert.equal(r.status, 201, r.text);
      ids.push(r.json.sessionId);
    }
    assert.equal(new Set(ids).size, ids.length);
    for (const id of ids) assert.match(id, /^cart_[0-9A-Za-z]{22}$/);
    const sharedStarts = ids.slice(1).filter((id, i) => id.slice(5, 8) === ids[i].slice(5, 8)).length;
    assert.ok(sharedStarts <= 2, `consecutive ids look alike: ${sharedStarts}`);
    // (A million natively: crates/edge/src/ids.rs.)
  });

  test('webhooks with bad signatures change nothing', async () => {
    const before = snapshot(stack);
    const event = JSON.stringify({ id: 'evt_probe', type: 'payment_intent.succeeded', data: { object: { id: 'pi_x', metadata: { quotekit_invoice: 'inv_x' } } } });
    for (const sig of ['', 't=1,v1=00', `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`, 'garbage']) {
      const r = await api.call('POST', '/api/webhooks/stripe', { key: null, raw: event, headers: sig ? { 'stripe-signature': sig } : {} });
      assert.equal(r.status, 400, r.text);
      errorBodies.push({ route: 'webhook', status: r.status, text: r.text });
    }
    assert.deepEqual(snapshot(stack), before);
  });

  test('methods a route does not take are 405 with Allow, never served as a read; HEAD is GET without a body; 401 names Bearer', async () => {
    for (const r of routes) {
      for (const method of ['PROPFIND', 'LOCK', 'DELETE']) {
        if (r.method === method) continue;
        const res = await fetch(stack.url + url(r.path), { method, headers: { authorization: `Bearer ${stack.secretKey}` } });
        const text = await res.text();
        assert.equal(res.status, 405, `${method} ${r.path}: ${text.slice(0, 120)}`);
        const allow = res.headers.get('allow') ?? '';
        assert.ok(allow.split(', ').includes(r.method), `${method} ${r.path}: Allow ${allow}`);
        errorBodies.push({ route: `${method} ${r.path}`, status: res.status, text });
      }
    }
    const head = await fetch(`${stack.url}/api/catalog`, { method: 'HEAD', headers: { authorization: `Bearer ${stack.publishableKey}` } });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.ok(head.headers.get('etag'));
    const none = await fetch(`${stack.url}/api/catalog`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  test('links are built from configuration, never from the Host header', async () => {
    const { request } = await import('node:http');
    const body = JSON.stringify({ action: 'CREATE_IN_PENDING', customer: { accountName: 'Host Co', name: 'H. Ost', email: 'host@host.test' },
      quote: { offerings: [{ offeringId: 'offr_free', rateId: 'rate_free_monthly' }] } });
    const answer = await new Promise((resolve, reject) => {
      const req = request(`${stack.url}/api/selfService/signup`, { method: 'POST', headers: {
        host: 'evil.example', 'x-forwarded-host': 'evil.example', authorization: `Bearer ${stack.publishableKey}`,
        'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(answer.status, 201, answer.text);
    assert.doesNotMatch(answer.text, /evil\.example/);
    assert.equal(JSON.parse(answer.text).urls.signup.startsWith(stack.url), true);
  });

  test('a finalized session, past its portal window, shows the publishable key only its status', async () => {
    const r = await api.post({ action: 'CREATE_AND_FINALIZE', customer: { accountName: 'Window Co', name: 'W. Indow', email: 'w@window.test',
      billingAddress: { line1: '1 Main', city: 'SF', state: 'CA', postalCode: '94105', country: 'US' } }, billGroup: { collectInvoiceBalanceAutomatically: false },
      quote: { offerings: [{ offeringId: 'offr_team', rateId: 'rate_team_monthly', items: [{ productId: 'prod_seats', quantity: 1 }] }] } });
    assert.equal(r.status, 201, r.text);
    const id = r.json.sessionId;
    const later = new Date(Date.now() + 2 * 3600_000).toISOString().slice(0, 19) + 'Z';
    const got = await api.get(id, { headers: { 'quotekit-test-now': later } });
    assert.equal(got.status, 200);
    assert.deepEqual(Object.keys(got.json).sort(), ['action', 'error', 'sessionId', 'status', 'step', 'urls']);
    assert.doesNotMatch(got.text, /w@window\.test|1 Main|inv_|ctr_/);
    const vendor = await api.get(id, { key: stack.secretKey, headers: { 'quotekit-test-now': later } });
    assert.equal(vendor.json.customer.contactEmail, 'w@window.test');
  });

  test('failed authentication is throttled: 429 with Retry-After past the limit; a right key still works', async () => {
    const strict = await startStack({ authFailuresPerMinute: 5 });
    try {
      const clock = { 'quotekit-test-now': `${today()}T12:00:40Z` };
      const wrong = () => fetch(`${strict.url}/api/catalog`, { headers: { authorization: 'Bearer sk_wrong', ...clock } });
      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push((await wrong()).status);
      assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
      const r = await wrong();
      assert.equal(r.headers.get('retry-after'), '20');
      errorBodies.push({ route: 'throttled', status: r.status, text: await r.text() });
      const ok = await fetch(`${strict.url}/api/catalog`, { headers: { authorization: `Bearer ${strict.publishableKey}`, ...clock } });
      assert.equal(ok.status, 200);
    } finally {
      await strict.stop();
    }
  });

  test('promotion codes stay secret: no catalog answer but the secret key\'s holds them; odd codes are 404 or 400, never 5xx', async () => {
    for (const path of ['/api/catalog', '/api/catalog/versions/1']) {
      for (const key of [stack.publishableKey, tokens.mine, null]) {
        const r = await api.call('GET', path, { key });
        assert.ok(!/promotionCodes|WELCOME20/i.test(r.text), `${path} with ${key ? key.slice(0, 5) : 'no key'}: ${r.status}`);
      }
      const own = await api.call('GET', path, { key: stack.secretKey });
      assert.match(own.text, /WELCOME20/);
      assert.equal(own.headers.get('cache-control'), 'private, no-store');
    }
    for (const code of [...NASTY, 'WELCOME20%00', ' welcome20 x', 'W'.repeat(5000), '%2e%2e%2f', 'welcome20\u0000']) {
      const r = await api.call('GET', `/api/selfService/promotionCodes/${encodeURIComponent(code)}`);
      assert.ok([400, 404, 414].includes(r.status), `${JSON.stringify(code.slice(0, 40))}: ${r.status} ${r.text.slice(0, 200)}`);
      if (r.status !== 414) errorBodies.push({ route: 'GET promotionCodes', status: r.status, text: r.text });
      assert.ok(!/WELCOME20|cpn_welcome/.test(r.text), 'a refusal names no code or coupon');
    }
  });

  test('no error body holds a stack trace, SQL, a file path or a secret', () => {
    assert.ok(errorBodies.length > 100, `probed ${errorBodies.length} errors`);
    const leaks = [/\bSELECT\b|\bINSERT\b|\bUPDATE \w+ SET\b|sqlite|SQLITE_|D1_ERROR/i, /panicked|backtrace|\.rs:\d+|at \w+ \(/, /\/work\/|\/home\/|node_modules/,
      new RegExp(stack.secretKey), /whsec_/, /sk_test_localstripe/];
    for (const e of errorBodies) {
      const body = JSON.parse(e.text);
      assert.equal(body.error, true, `${e.route}: ${e.text}`);
      assert.equal(typeof body.code, 'string');
      assert.equal(typeof body.message, 'string');
      for (const re of leaks) assert.doesNotMatch(e.text, re, `${e.route} ${e.status}`);
    }
  });
});
