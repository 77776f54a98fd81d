// The list keeps up when the WebSocket is cut and restored: while the browser is offline,
// visitors start conversations and write; when the network returns, the console reconnects
// with its cursor and the missed events fill the list, without a reload.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { openPage } from '../lib/browser.js';
import { consoleWorld, signIn, trackSockets, ADMIN, sleep } from '../lib/console.mjs';

const w = consoleWorld();

test('the list catches up after the WebSocket is cut and restored', async () => {
  const first = await w.s.visitor({ name: 'Before Cut', email: 'before@example.test', message: 'Hello before the cut' });

  const { page, errors, close } = await openPage(w.browser, { viewport: { width: 1366, height: 768 } });
  await trackSockets(page);
  await signIn(page, w.server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${w.server.base}/app/#/conversations/all`);
  await page.locator(`.conv-row[data-id="${first.convId}"]`).waitFor();
  await page.locator('body[data-realtime="live"]').waitFor({ timeout: 5000 });
  // Something live first, so the console holds a cursor.
  await first.say('One more before the cut');
  await page.locator(`.conv-row[data-id="${first.convId}"] .preview`, { hasText: 'One more before the cut' }).waitFor({ timeout: 5000 });
  const loadsBefore = await page.evaluate(() => performance.getEntriesByType('navigation').length);

  // Cut: offline, and the open socket closed under the page.
  await page.context().setOffline(true);
  await page.evaluate(() => window.__sockets.forEach((ws) => ws.close()));
  await page.locator('body[data-realtime="reconnecting"]').waitFor({ timeout: 5000 });

  // Meanwhile the world moves on.
  const second = await w.s.visitor({ name: 'During Cut', email: 'during@example.test', message: 'Written while you were offline' });
  const third = await w.s.visitor({ name: 'Also During', email: 'also@example.test', message: 'Me too' });
  await first.say('And the first customer wrote again');
  await w.s.api('POST', `/conversations/${third.convId}/toggle_status`, { status: 'resolved' });
  await sleep(1000);
  assert.equal(await page.locator(`.conv-row[data-id="${second.convId}"]`).count(), 0, 'nothing arrives while offline');

  // Restore: the console resumes from its cursor and catches up.
  await page.context().setOffline(false);
  await page.locator('body[data-realtime="live"]').waitFor({ timeout: 10000 });
  await page.locator(`.conv-row[data-id="${second.convId}"] .preview`, { hasText: 'Written while you were offline' }).waitFor({ timeout: 5000 });
  await page.locator(`.conv-row[data-id="${first.convId}"] .preview`, { hasText: 'And the first customer wrote again' }).waitFor({ timeout: 5000 });
  // Resolved while offline: it leaves the Open list.
  await page.locator(`.conv-row[data-id="${third.convId}"]`).waitFor({ state: 'detached', timeout: 5000 });
  // The newest activity is on top.
  const top = await page.locator('.conv-row').first().getAttribute('data-id');
  assert.equal(Number(top), first.convId);
  // No reload happened, and a second socket was opened (the reconnect).
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), loadsBefore);
  assert.ok((await page.evaluate(() => window.__sockets.length)) >= 2);
  // And live again afterwards.
  const fourth = await w.s.visitor({ name: 'After Restore', email: 'after@example.test', message: 'Back online' });
  await page.locator(`.conv-row[data-id="${fourth.convId}"]`).waitFor({ timeout: 5000 });

  assert.deepEqual(errors, []);
  await close();
});

test('a desktop notification and the title count while the console is in the background', async () => {
  const { page, errors, close } = await openPage(w.browser);
  await page.context().grantPermissions(['notifications'], { origin: w.server.base });
  // The console in the background, and notifications recorded instead of shown.
  await page.addInitScript(() => {
    document.hasFocus = () => false;
    window.__notes = [];
    window.Notification = class {
      static permission = 'granted';
      static requestPermission() {
        return Promise.resolve('granted');
      }
      constructor(title, opts) {
        window.__notes.push({ title, body: opts && opts.body });
      }
      close() {}
    };
  });
  await signIn(page, w.server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${w.server.base}/app/#/conversations/unassigned`);
  await page.locator('body[data-realtime="live"]').waitFor({ timeout: 5000 });
  const title0 = await page.title();
  assert.equal(title0, 'Parley');

  const v = await w.s.visitor({ name: 'Night Owl', email: 'owl@example.test', message: 'Are you open tomorrow?' });
  await page.waitForFunction(() => window.__notes.length >= 2, null, { timeout: 5000 });
  const notes = await page.evaluate(() => window.__notes);
  assert.deepEqual(notes[0], { title: 'New conversation', body: 'Night Owl' });
  assert.deepEqual(notes[1], { title: 'Message from Night Owl', body: 'Are you open tomorrow?' });
  await page.waitForFunction(() => document.title === '(1) Parley');

  // A second conversation counts too; opening one takes it off the count.
  const bird = await w.s.visitor({ name: 'Early Bird', email: 'bird@example.test', message: 'Hello?' });
  await page.waitForFunction(() => document.title === '(2) Parley');
  await page.locator(`.conv-row[data-id="${v.convId}"] a`).click();
  await page.waitForFunction(() => document.title === '(1) Parley');
  assert.ok(bird.convId);
  // No sound unless turned on: nothing created an AudioContext.
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('parley.settings') || '{}').sound ?? false), false);

  assert.deepEqual(errors, []);
  await close();
});

// A conversation that starts while the list's first page is on its way: the page was read
// before it existed, and arriving must not wipe out the row its live event already brought.
test('a conversation that starts while the list is loading stays when the page arrives', async () => {
  const { page, errors, close } = await openPage(w.browser, { viewport: { width: 1366, height: 768 } });
  await signIn(page, w.server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${w.server.base}/app/#/conversations/all`);
  await page.locator('body[data-realtime="live"]').waitFor({ timeout: 5000 });

  // The Unassigned tab's first page is read by the server now and answered only later.
  let release;
  const held = new Promise((r) => {
    release = r;
  });
  let read;
  const wasRead = new Promise((r) => {
    read = r;
  });
  await page.route(/\/api\/v1\/accounts\/\d+\/conversations\?.*assignee_type=unassigned/, async (route) => {
    const answer = await route.fetch();
    read();
    await held;
    await route.fulfill({ response: answer });
  });
  await page.goto(`${w.server.base}/app/#/conversations/unassigned`);
  await wasRead;

  // Meanwhile a visitor starts a conversation; its event reaches the console (the title
  // counts it) before the stale page does.
  const late = await w.s.visitor({ name: 'Mid Load', email: 'midload@example.test', message: 'Hi while you load' });
  await page.waitForFunction(() => /^\(\d+\) /.test(document.title), null, { timeout: 5000 });
  release();
  await page.waitForFunction(() => !document.querySelector('.list-pane.loading'), null, { timeout: 5000 });
  await page.locator(`.conv-row[data-id="${late.convId}"] .preview`, { hasText: 'Hi while you load' }).waitFor({ timeout: 5000 });

  assert.deepEqual(errors, []);
  await close();
});
