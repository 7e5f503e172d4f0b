// A fault-injecting HTTP proxy between the Worker and localstripe (127.0.0.1
// only). Rules pick requests by "METHOD /path" and do one of:
//   refuse  – drop the connection before anything reaches Stripe
//   error500 – answer 500 without forwarding
//   slow    – wait `ms`, then forward (the Worker gives up after 10 s, Stripe acts anyway)
//   lost    – forward (Stripe acts), then drop the connection: the answer is lost
import http from 'node:http';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function startFaultProxy(target) {
  let rules = [];
  const calls = [];
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    const key = `${req.method} ${req.url.split('?')[0]}`;
    const rule = rules.find((r) => r.match.test(key) && r.times > 0);
    if (rule) rule.times -= 1;
    const mode = rule?.mode ?? 'pass';
    calls.push({ key, mode });
    if (mode === 'refuse') return req.socket.destroy();
    if (mode === 'error500') {
      res.writeHead(500, { 'content-type': 'application/json' });
      return res.end('{"error":{"type":"api_error","message":"Injected fault."}}');
    }
    if (mode === 'slow') await sleep(rule.ms ?? 11_000);
    const headers = { ...req.headers };
    delete headers.host;
    delete headers['content-length'];
    let upstream;
    try {
      upstream = await fetch(target + req.url, { method: req.method, headers, body: body.length ? body : undefined });
    } catch {
      return req.socket.destroy();
    }
    const text = await upstream.text();
    if (mode === 'lost' || res.destroyed || req.socket.destroyed) return req.socket.destroy();
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
    res.end(text);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls,
    /** Applies `mode` to the next `times` requests matching `match` (a RegExp over "METHOD /path"). */
    fail(match, mode, { times = 1, ms } = {}) {
      rules.push({ match, mode, times, ms });
    },
    clear() {
      rules = [];
    },
    /** How many matching requests a rule has still to fault (0: it fired). */
    pending: () => rules.reduce((n, r) => n + r.times, 0),
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}
