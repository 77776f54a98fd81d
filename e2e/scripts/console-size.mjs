// Prints the operator console's size: every file of web/console, raw and gzip-compressed
// (level 9, one file at a time, as the server sends them), and the totals.
//   node e2e/scripts/console-size.mjs          (from the repository root)
//   node e2e/scripts/console-size.mjs --total  (just the gzipped total in bytes)

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(import.meta.dirname, '..', '..', 'web', 'console');

function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

let raw = 0;
let gz = 0;
const rows = [];
for (const f of walk(ROOT)) {
  const bytes = readFileSync(f);
  const z = gzipSync(bytes, { level: 9 }).length;
  raw += bytes.length;
  gz += z;
  rows.push([relative(ROOT, f), bytes.length, z]);
}

if (process.argv.includes('--total')) {
  console.log(gz);
} else {
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [name, r, z] of rows) console.log(`${name.padEnd(w)}  ${String(r).padStart(7)}  ${String(z).padStart(6)}`);
  console.log(`${'total'.padEnd(w)}  ${String(raw).padStart(7)}  ${String(gz).padStart(6)}   (${(gz / 1024).toFixed(1)} KiB gzipped, ${rows.length} files)`);
  // A browser loads one dictionary: the other one is not part of what it downloads.
  const dict = (l) => rows.find((r) => r[0] === join('js', 'locales', `${l}.js`)) || ['', 0, 0];
  for (const [l, other] of [['en', 'ru'], ['ru', 'en']]) {
    const z = gz - dict(other)[2];
    console.log(`${`loaded in ${l}`.padEnd(w)}  ${String(raw - dict(other)[1]).padStart(7)}  ${String(z).padStart(6)}   (${(z / 1024).toFixed(1)} KiB gzipped)`);
  }
}
