// The API against its own OpenAPI document: schemathesis (PyPI) generates
// valid and invalid requests for every operation of the running Worker's
// /openapi.json, with the secret key and with the publishable key. No answer
// may be a 5xx, and every answer must match the document (status, content
// type, schema). SCHEMA_EXAMPLES sets the examples per operation: a short run
// in `make test`, a long one in `make verify`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, startStack } from '../../scripts/stack.mjs';

const SCHEMATHESIS = path.join(ROOT, '.tools/schemathesis/bin/schemathesis');
const EXAMPLES = Number(process.env.SCHEMA_EXAMPLES ?? 10);
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance',
  'response_schema_conformance', 'negative_data_rejection'].join(',');
const REPORTS = path.join(ROOT, 'tests/output/schemathesis');

let stack;
before(async () => {
  mkdirSync(REPORTS, { recursive: true });
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

function schemathesis(args) {
  return new Promise((resolve) => {
    const child = spawn(SCHEMATHESIS, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', SCHEMATHESIS_HOOKS: '' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

for (const [who, key] of [['secret key', () => stack.secretKey], ['publishable key', () => stack.publishableKey]]) {
  test(`every operation with the ${who}: no 5xx, every answer as documented`, { timeout: 15 * 60_000 }, async (t) => {
    const seed = Number(process.env.QUOTEKIT_SEED ?? 20261122);
    const { code, out } = await schemathesis([
      'run', `${stack.url}/openapi.json`, '--url', stack.url,
      '-H', `Authorization: Bearer ${key()}`,
      '--checks', CHECKS, '--max-examples', String(EXAMPLES), '--seed', String(seed),
      '--workers', '1', '--request-timeout', '20', '--suppress-health-check', 'all',
      '--report', 'junit', '--report-dir', path.join(REPORTS, who.replace(' ', '-')),
    ]);
    t.diagnostic(out.split('\n').filter((l) => /passed|failed|errored|operations|Test cases/i.test(l)).slice(-6).join('\n'));
    assert.equal(code, 0, out.slice(-12000));
  });
}
