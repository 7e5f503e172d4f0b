// The deploy bundle's size, as Cloudflare counts it (gzipped), against the
// 1 MB budget this project keeps. Usage: node scripts/worker-size.mjs DIR
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const BUDGET = 1024 * 1024;
const dir = process.argv[2] ?? 'target/deploy';
let raw = 0;
let gz = 0;
for (const name of readdirSync(dir)) {
  const file = path.join(dir, name);
  if (!statSync(file).isFile() || name.endsWith('.map')) continue;
  const bytes = readFileSync(file);
  raw += bytes.length;
  gz += gzipSync(bytes, { level: 9 }).length;
  console.log(`  ${name}: ${(bytes.length / 1024).toFixed(1)} KB`);
}
console.log(`worker bundle: ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB gzipped)`);
if (gz === 0 || gz > BUDGET) {
  console.error(gz === 0 ? 'no bundle found' : 'over budget');
  process.exit(1);
}
