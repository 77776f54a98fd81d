// The widget stays within its size budgets (gzipped): loader ≤ 3 KB, widget ≤ 30 KB.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { widgetSizes, LOADER_BUDGET, WIDGET_BUDGET } from '../lib/widget-size.mjs';

test('widget sizes within budget', () => {
  const s = widgetSizes();
  console.log(`loader ${s.loader} B, widget ${s.widget} B gzipped`, s.files);
  assert.ok(s.loader <= LOADER_BUDGET, `loader.js is ${s.loader} B gzipped, budget ${LOADER_BUDGET}`);
  assert.ok(s.widget <= WIDGET_BUDGET, `widget is ${s.widget} B gzipped, budget ${WIDGET_BUDGET}`);
  assert.ok(s.files['app.js'] && s.files['widget.css'] && s.files['i18n.js'], 'the files were found');
});
