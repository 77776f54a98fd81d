// Links Parley puts in e-mails (`/app/#/conversations/6`, the form Chatwoot uses) open the
// conversation itself, not just the list.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { openPage } from '../lib/browser.js';
import { consoleWorld, signIn, ADMIN } from '../lib/console.mjs';

const w = consoleWorld();

test('an e-mail link opens the conversation', async () => {
  const first = await w.s.visitor({ name: 'Anna', message: 'First question' });
  const visitor = await w.s.visitor({ name: 'Oleg', message: 'Where is order 77?' });
  assert.notEqual(first.convId, visitor.convId);
  const { page, errors, blocked, close } = await openPage(w.browser, { viewport: { width: 1366, height: 768 } });
  try {
    await signIn(page, w.server.base, ADMIN.email, ADMIN.password);
    await page.goto(`${w.server.base}/app/#/conversations/${visitor.convId}`);
    const conv = page.locator(`.conv-view[data-conversation="${visitor.convId}"]`);
    await conv.locator('.msg.in', { hasText: 'Where is order 77?' }).waitFor();
    // The list behind it is "All", so the conversation is in it whoever holds it.
    await page.locator(`.conv-row[data-id="${visitor.convId}"]`).waitFor();
    assert.deepEqual(errors, []);
    assert.deepEqual(blocked, []);
  } finally {
    await close();
  }
});
