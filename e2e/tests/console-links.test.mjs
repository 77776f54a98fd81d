// Links Parley puts in e-mails (`/app/#/conversations/6`, the form Chatwoot uses) open the
// conversation itself, not just the list.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { scene, signIn, ADMIN } from '../lib/console.mjs';

let server;
let browser;
let s;

before(async () => {
  server = await startParley();
  browser = await launch();
  s = await scene(server.base);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('an e-mail link opens the conversation', async () => {
  const first = await s.visitor({ name: 'Anna', message: 'First question' });
  const visitor = await s.visitor({ name: 'Oleg', message: 'Where is order 77?' });
  assert.notEqual(first.convId, visitor.convId);
  const { page, errors, blocked, close } = await openPage(browser, { viewport: { width: 1366, height: 768 } });
  try {
    await signIn(page, server.base, ADMIN.email, ADMIN.password);
    await page.goto(`${server.base}/app/#/conversations/${visitor.convId}`);
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
