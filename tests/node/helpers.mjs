// Shared by the Node tests: load pkg/ as a Node user would, list the golden
// vectors, and compare an answer with a vector's `expected`.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const pkgDir = path.join(root, 'pkg');

/** The package, initialised synchronously from its .wasm (the Node way). */
export async function loadPkg() {
  const pricing = await import(path.join(pkgDir, 'quotekit_pricing.js'));
  pricing.initSync({ module: readFileSync(path.join(pkgDir, 'quotekit_pricing_bg.wasm')) });
  return pricing;
}

/**
 * Every vector file: [label, name, case] for the shared set, the project's
 * own, and vectors-next.
 */
export function vectors() {
  const shared = process.env.QUOTEKIT_SHARED_VECTORS ?? path.join(root, '..', 'shared', 'vectors');
  const own = path.join(root, 'tests', 'vectors');
  const next = process.env.QUOTEKIT_SHARED_VECTORS_NEXT ?? path.join(root, '..', 'shared', 'vectors-next');
  const out = [];
  for (const [label, dir] of [['shared', shared], ['project', own], ['next', next]]) {
    if (!existsSync(dir)) throw new Error(`no vectors folder at ${dir}`);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      out.push([label, file, JSON.parse(readFileSync(path.join(dir, file), 'utf8'))]);
    }
  }
  return out;
}

/** The package's answer to a case, in the shape of `expected`. */
export function outcome(pricing, c) {
  try {
    if (c.through) return { billing: pricing.billingDue(c.catalog, c.contract, c.through, c.usage) };
    if (c.operation) return { change: pricing.previewChange(c.catalog, c.contract, c.operation, c.today) };
    return { quote: pricing.estimate(c.catalog, c.request, c.today) };
  } catch (e) {
    if (!(e instanceof Error)) throw new Error(`thrown value is not an Error: ${e}`);
    return { error: { code: e.code, path: e.path, message: e.message } };
  }
}

/**
 * Every field present in `expected` must equal `actual` (numbers compare as
 * numbers: both sides come from decimal text). Returns the first mismatch's
 * path, or null.
 */
export function mismatch(expected, actual, at = 'expected') {
  if (expected === null || typeof expected !== 'object') {
    return Object.is(expected, actual) || expected === actual ? null : `${at}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      return `${at}: ${expected.length} elements expected, found ${JSON.stringify(actual)}`;
    }
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(expected[i], actual[i], `${at}[${i}]`);
      if (m) return m;
    }
    return null;
  }
  if (actual === null || typeof actual !== 'object') return `${at}: expected an object, found ${JSON.stringify(actual)}`;
  for (const [k, v] of Object.entries(expected)) {
    if (!(k in actual)) return `${at}.${k}: missing`;
    const m = mismatch(v, actual[k], `${at}.${k}`);
    if (m) return m;
  }
  return null;
}
