// Shortens the function names the Worker's wasm keeps for stack traces
// (worker-build keeps the name section): Rust's symbol hashes (`::h0123…`,
// 19 characters on each of some 2 300 names, and random, so they barely
// compress) are dropped; the readable path stays (`edge::steps::charging::
// settle::{{closure}}`). Nothing but the "name" custom section changes.
// Usage: node scripts/wasm-names.mjs FILE.wasm
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const wasm = readFileSync(file);

function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  let i = at;
  for (;;) {
    const b = bytes[i++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, i];
  }
}

function uleb(n) {
  const out = [];
  let v = n;
  do {
    let b = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}

const text = (s) => Buffer.concat([uleb(Buffer.byteLength(s)), Buffer.from(s)]);

/** The function-names subsection with each name's hash suffix dropped. */
function shortenFunctionNames(body) {
  let [count, i] = leb(body, 0);
  const parts = [uleb(count)];
  let dropped = 0;
  while (count-- > 0) {
    let index;
    let len;
    [index, i] = leb(body, i);
    [len, i] = leb(body, i);
    const name = body.subarray(i, i + len).toString();
    i += len;
    const short = name.replace(/::h[0-9a-f]{16}$/, '');
    dropped += name.length - short.length;
    parts.push(uleb(index), text(short));
  }
  return [Buffer.concat(parts), dropped];
}

const out = [wasm.subarray(0, 8)];
let at = 8;
let dropped = 0;
while (at < wasm.length) {
  const start = at;
  const id = wasm[at++];
  let size;
  [size, at] = leb(wasm, at);
  const end = at + size;
  if (id === 0) {
    const [nameLen, afterLen] = leb(wasm, at);
    if (wasm.subarray(afterLen, afterLen + nameLen).toString() === 'name') {
      const subs = [text('name')];
      let j = afterLen + nameLen;
      while (j < end) {
        const sub = wasm[j++];
        let subSize;
        [subSize, j] = leb(wasm, j);
        let body = wasm.subarray(j, j + subSize);
        j += subSize;
        if (sub === 1) {
          let n;
          [body, n] = shortenFunctionNames(body);
          dropped += n;
        }
        subs.push(Buffer.from([sub]), uleb(body.length), body);
      }
      const content = Buffer.concat(subs);
      out.push(Buffer.from([0]), uleb(content.length), content);
      at = end;
      continue;
    }
  }
  out.push(wasm.subarray(start, end));
  at = end;
}
const result = Buffer.concat(out);
writeFileSync(file, result);
console.log(`${file}: ${dropped} bytes of symbol hashes dropped from the name section (${wasm.length} -> ${result.length} bytes)`);
