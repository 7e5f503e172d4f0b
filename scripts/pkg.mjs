// Finishes pkg/ after wasm-pack: the npm package's metadata, its licence, and
// the size budget. Usage: node scripts/pkg.mjs
import { readFileSync, writeFileSync, copyFileSync, existsSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

// .wasm + JS glue, gzipped: every visitor pays it. Issue 19 is the size work,
// to 60 KB with every feature present (BENCHMARKS.md).
const BUDGET_KB = 100;
const pkg = new URL('../pkg/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', pkg)));

const finished = {
  name: '@quotekit/pricing',
  version: manifest.version,
  description:
    'Exact SaaS prices in the browser: the Sign-Up API ESTIMATE and contract-change previews, to the cent, computed locally by QuoteKit\u2019s pricing engine (WebAssembly).',
  license: manifest.license ?? 'MIT',
  repository: manifest.repository,
  keywords: ['pricing', 'billing', 'saas', 'subscription', 'proration', 'quote', 'wasm'],
  type: 'module',
  files: ['quotekit_pricing_bg.wasm', 'quotekit_pricing.js', 'quotekit_pricing.d.ts', 'quotekit_pricing_bg.wasm.d.ts', 'README.md', 'LICENSE'],
  module: 'quotekit_pricing.js',
  main: 'quotekit_pricing.js',
  types: 'quotekit_pricing.d.ts',
  exports: {
    '.': { types: './quotekit_pricing.d.ts', default: './quotekit_pricing.js' },
    './quotekit_pricing_bg.wasm': './quotekit_pricing_bg.wasm',
    './package.json': './package.json',
  },
  sideEffects: ['./snippets/*'],
  engines: { node: '>=20' },
};
writeFileSync(new URL('package.json', pkg), JSON.stringify(finished, null, 2) + '\n');
copyFileSync(new URL('../LICENSE', import.meta.url), new URL('LICENSE', pkg));
if (existsSync(new URL('.gitignore', pkg))) rmSync(new URL('.gitignore', pkg));

// wasm-bindgen types the raw exports of InitOutput with `any`; nothing public is untyped.
for (const file of ['quotekit_pricing.d.ts', 'quotekit_pricing_bg.wasm.d.ts']) {
  const dts = new URL(file, pkg);
  writeFileSync(dts, readFileSync(dts, 'utf8').replace(/\bany\b/g, 'unknown'));
  if (/\bany\b/.test(readFileSync(new URL(file, pkg), 'utf8'))) {
    console.error(`pkg: ${file} still mentions \`any\``);
    process.exit(1);
  }
}

const gz = (file) => gzipSync(readFileSync(new URL(file, pkg)), { level: 9 }).length;
const raw = (file) => readFileSync(new URL(file, pkg)).length;
const wasm = gz('quotekit_pricing_bg.wasm');
const js = gz('quotekit_pricing.js');
const total = (wasm + js) / 1024;
console.log(
  `pkg: ${finished.name}@${finished.version}: wasm ${(raw('quotekit_pricing_bg.wasm') / 1024).toFixed(1)} KB ` +
    `(${(wasm / 1024).toFixed(1)} KB gz) + js ${(js / 1024).toFixed(1)} KB gz = ${total.toFixed(1)} KB gz ` +
    `(budget ${BUDGET_KB} KB)`,
);
if (total > BUDGET_KB) {
  console.error(`pkg: over the size budget by ${(total - BUDGET_KB).toFixed(1)} KB`);
  process.exit(1);
}
