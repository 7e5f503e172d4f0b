// The API from a page: the Worker's own origin unless <meta name="quotekit-api">
// names another. Keys come from GET /api/selfService/config (public), so a
// page holds no setting of its own.

const meta = document.querySelector('meta[name="quotekit-api"]');
export const API_BASE = (meta?.content || window.location.origin).replace(/\/$/, '');

/** An API error: the answer's `code`, `path` (the offending field) and `message`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.code || 'HTTP_' + status;
    this.path = body?.path || '';
    this.body = body;
  }
}

let configPromise;
/** `{ publishableKey, stripe: { publishableKey, jsUrl } }`, fetched once. */
export function config() {
  configPromise ??= request('GET', '/api/selfService/config', { key: null });
  return configPromise;
}

/**
 * One API call. `key`: a bearer (the publishable key by default; `null` for
 * none). `idempotencyKey` makes a retried POST or PATCH safe. Answers the JSON
 * body; throws an ApiError for a 4xx/5xx, except the statuses in `accept`.
 */
export async function request(method, path, { body, key, idempotencyKey, accept = [] } = {}) {
  const headers = { accept: 'application/json' };
  const bearer = key === undefined ? (await config()).publishableKey : key;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  let res;
  try {
    res = await fetch(API_BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { code: 'NETWORK', message: 'The service could not be reached. Check your connection and try again.' });
  }
  const json = await res.json().catch(() => null);
  if (res.ok || accept.includes(res.status)) return json;
  throw new ApiError(res.status, json);
}

/** A fresh Idempotency-Key for one user action (a retry of it reuses the key). */
export const newKey = () => crypto.randomUUID();

/** Today's date as the API counts it: the UTC calendar date. */
export const todayUtc = () => new Date().toISOString().slice(0, 10);

/** The published catalog (with the publishable key). */
export const catalog = (version) =>
  request('GET', version ? `/api/catalog/versions/${encodeURIComponent(version)}` : '/api/catalog');
