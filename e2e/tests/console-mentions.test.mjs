// @mentions in private notes (issue 13): an operator types "@" in a note and picks a
// colleague from the list (only colleagues who can see the conversation are offered); the
// colleague's console shows the unread mention on the rail's bell, the bell's list opens
// the conversation, and the Mentions tab lists it. Names go into the page as text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openPage } from '../lib/browser.js';
import { consoleWorld, signIn, ADMIN } from '../lib/console.mjs';

const LIVE = { timeout: 5000 };
const shots = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
const w = consoleWorld();

async function consoleAs(who, hash, locale = 'en-US') {
  const p = await openPage(w.browser, { viewport: { width: 1366, height: 768 }, locale });
  await signIn(p.page, w.server.base, who.email, who.password);
  await p.page.goto(`${w.server.base}/app/${hash}`);
  await p.page.locator('body[data-realtime="live"]').waitFor(LIVE);
  return p;
}

async function noteMode(page) {
  await page.locator('.mode-tab[data-mode="note"]').click();
  return page.locator('.composer-input');
}

test('a colleague picked with @ is notified, opens the conversation from the bell and finds it under Mentions', async () => {
  const v = await w.s.visitor({ name: 'Olga Buyer', email: 'olga@example.test', message: 'Where is my refund?' });
  const boris = await w.s.agent({ name: 'Boris Petrov', email: 'boris-mentions@shop.test' });
  // Carl is an agent of the account without the inbox: never offered.
  const carl = await w.s.api('POST', '/agents', { name: 'Carl NoAccess', email: 'carl-mentions@shop.test', role: 'agent', password: 'agent password 1' });
  assert.ok(carl.id);

  const b = await consoleAs(boris, '#/conversations/mine');
  const bell = b.page.locator('[data-action="mentions"]');
  await b.page.locator('[data-action="mentions"][data-unread="0"]').waitFor(LIVE);

  const m = await consoleAs(ADMIN, `#/conversations/all/${v.convId}`);
  const input = await noteMode(m.page);
  await input.click();
  await input.pressSequentially('Please check the refund @Bo');
  const menu = m.page.locator('.mention-menu');
  await menu.locator('.mention-item', { hasText: 'Boris Petrov' }).waitFor(LIVE);
  assert.equal(await menu.locator('.mention-item', { hasText: 'Carl' }).count(), 0, 'no access, not offered');
  await m.page.screenshot({ path: join(shots, 'console-mentions-picker-en.png') });
  // Keyboard: Enter picks the highlighted colleague.
  await input.press('Enter');
  assert.equal(await input.inputValue(), 'Please check the refund @Boris Petrov ');
  await input.pressSequentially('today');
  await input.press('Enter');
  // Stored (not the pending copy the composer shows while sending).
  const note = m.page.locator('.msg.note:not(.pending)', { hasText: 'today' });
  await note.waitFor(LIVE);
  assert.equal(await note.locator('.mention').textContent(), '@Boris Petrov');
  const stored = await w.s.api('GET', `/conversations/${v.convId}/messages`);
  const last = stored.payload.find((x) => x.private && x.content.includes('today'));
  assert.equal(last.content, `Please check the refund [@Boris Petrov](mention://user/${boris.id}/Boris%20Petrov) today`);

  // Boris: the bell counts it; its list opens the conversation.
  await b.page.locator('[data-action="mentions"][data-unread="1"]').waitFor(LIVE);
  await bell.click();
  const item = b.page.locator('.mention-note', { hasText: `#${v.convId}` });
  await item.waitFor(LIVE);
  assert.match(await item.textContent(), /Maria Admin mentioned you/);
  assert.match(await item.textContent(), /@Boris Petrov today/);
  await b.page.screenshot({ path: join(shots, 'console-mentions-bell-en.png') });
  await item.click();
  await b.page.waitForFunction((id) => location.hash === `#/conversations/mentions/${id}`, v.convId, LIVE);
  await b.page.locator('.msg.note .mention', { hasText: '@Boris Petrov' }).waitFor(LIVE);
  await b.page.locator('[data-action="mentions"][data-unread="0"]').waitFor(LIVE);
  // The Mentions tab lists the conversation.
  const tab = b.page.locator('.tab[data-tab="mentions"]');
  assert.equal(await tab.getAttribute('aria-selected'), 'true');
  await b.page.locator(`.conv-list a[data-id="${v.convId}"]`).waitFor(LIVE);
  await b.page.screenshot({ path: join(shots, 'console-mentions-tab-en.png') });
  assert.deepEqual(b.errors, []);
  assert.deepEqual(m.errors, []);
  await b.close();
  await m.close();
});

test('a mentioned name with markup stays text, picked with the mouse, in Russian', async () => {
  const v = await w.s.visitor({ name: 'Пётр', email: 'petr@example.test', message: 'Здравствуйте' });
  const eve = await w.s.agent({ name: 'Ева <img src=x onerror="window.__xss=1">', email: 'eve-mentions@shop.test' });
  const m = await consoleAs(ADMIN, `#/conversations/all/${v.convId}`, 'ru-RU');
  const input = await noteMode(m.page);
  await input.click();
  await input.pressSequentially('Посмотри @Ев');
  const item = m.page.locator('.mention-menu .mention-item', { hasText: 'Ева' });
  await item.waitFor(LIVE);
  assert.equal(await m.page.locator('.mention-menu img').count(), 0);
  await m.page.screenshot({ path: join(shots, 'console-mentions-picker-ru.png') });
  await item.click();
  await input.press('Enter');
  const note = m.page.locator('.msg.note:not(.pending)', { hasText: 'Посмотри' });
  await note.waitFor(LIVE);
  assert.equal(await note.locator('.mention').textContent(), `@${eve.name}`);
  assert.equal(await note.locator('img').count(), 0, 'the name stays text');
  assert.equal(await m.page.evaluate(() => window.__xss), undefined);
  assert.deepEqual(m.errors, []);
  await m.close();

  // Eve's console in Russian: the bell and its list.
  const e = await consoleAs(eve, '#/conversations/mentions', 'ru-RU');
  await e.page.locator('[data-action="mentions"][data-unread="1"]').waitFor(LIVE);
  await e.page.locator(`.conv-list a[data-id="${v.convId}"]`).waitFor(LIVE);
  await e.page.locator('[data-action="mentions"]').click();
  const row = e.page.locator('.mention-note', { hasText: `#${v.convId}` });
  await row.waitFor(LIVE);
  assert.match(await row.textContent(), /упоминает вас/);
  await e.page.screenshot({ path: join(shots, 'console-mentions-bell-ru.png') });
  assert.equal(await e.page.evaluate(() => window.__xss), undefined);

  // Profile: "e-mail me when mentioned" is saved (Chatwoot's email_conversation_mention).
  await e.page.keyboard.press('Escape');
  await e.page.goto(`${w.server.base}/app/#/profile`);
  const box = e.page.locator('[data-setting="mention-email"]:not([disabled])');
  await box.waitFor(LIVE);
  assert.equal(await box.isChecked(), false);
  await box.check();
  await e.page.locator('[data-setting="mention-email"]:not([disabled])').waitFor(LIVE);
  const settings = () => e.page.evaluate((id) => fetch(`/api/v1/accounts/${id}/notification_settings`).then((r) => r.json()), w.s.accountId);
  assert.deepEqual((await settings()).selected_email_flags, ['email_conversation_mention']);
  await e.page.reload();
  await e.page.locator('[data-setting="mention-email"]:not([disabled])').waitFor(LIVE);
  assert.equal(await e.page.locator('[data-setting="mention-email"]').isChecked(), true);
  await e.page.locator('[data-setting="mention-email"]').scrollIntoViewIfNeeded();
  await e.page.screenshot({ path: join(shots, 'console-mentions-profile-ru.png') });
  assert.deepEqual(e.errors, []);
  await e.close();
});
