// Gzipped sizes of the widget against its budgets (DESIGN.md §2): the loader every shop page
// downloads (≤ 3 KB) and the widget itself, JS + CSS + icons (icons are inline SVG paths in
// dom.js) plus the frame page (≤ 30 KB). Run `node lib/widget-size.mjs` for the figures;
// tests/widget-size.test.mjs holds the budgets.

import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'web', 'widget');
export const LOADER_BUDGET = 3 * 1024;
export const WIDGET_BUDGET = 30 * 1024;

const gz = (file) => gzipSync(readFileSync(join(DIR, file)), { level: 9 }).length;

/** `{loader, widget, files}`: gzipped bytes; `files` per file of the widget. */
export function widgetSizes() {
  const files = {};
  for (const f of readdirSync(DIR).sort()) {
    if (f === 'loader.js' || f === 'demo.html') continue; // the demo page is not the widget
    if (/\.(js|css|svg|html)$/.test(f)) files[f] = gz(f);
  }
  return { loader: gz('loader.js'), widget: Object.values(files).reduce((a, b) => a + b, 0), files };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const s = widgetSizes();
  console.log(`loader.js   ${s.loader} B gzipped (budget ${LOADER_BUDGET})`);
  for (const [f, n] of Object.entries(s.files)) console.log(`  ${f.padEnd(10)} ${n} B`);
  console.log(`widget      ${s.widget} B gzipped (budget ${WIDGET_BUDGET})`);
}
