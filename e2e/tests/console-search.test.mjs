// Archive search in the console (issue 17): typing «доставки» in the search box lists the
// message «Доставка…» with the word highlighted, clicking the hit opens its conversation
// scrolled to that message (older than the first page of history) and highlights it, a
// hostile message's snippet stays text, the date filter narrows the hits, and the panel
// speaks Russian and English. Screenshots go to $PARLEY_E2E_SCREENSHOTS (default: the
// temp directory).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openPage } from '../lib/browser.js';
import { consoleWorld, signIn, ADMIN } from '../lib/console.mjs';

const LIVE = { timeout: 5000 };
const OUT = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
const w = consoleWorld();

let target = null;
let convId = null;

test('seed: a conversation whose hit is far up its history', async () => {
  const v = await w.s.visitor({ name: 'Ольга', email: 'olga@example.com', message: 'Здравствуйте! Доставка курьером возможна в субботу?' });
  convId = v.convId;
  const first = await w.s.api('GET', `/conversations/${convId}/messages`);
  target = first.payload.find((m) => /Доставка курьером/.test(m.content)).id;
  // Sixty later messages push it off the first page of the conversation's history.
  // (Written by the agent: the visitor's own messages are rate limited.)
  for (let i = 0; i < 60; i++) await w.s.api('POST', `/conversations/${convId}/messages`, { content: `Сообщение номер ${i}` });
  await v.say('<img src=x onerror="window.__xss=1"> доставкой займётся курьер');
  const other = await w.s.visitor({ name: 'Bob', message: 'Where is my parcel?' });
  assert.ok(other.convId);
});

test('«доставки» finds «Доставка…», the click opens the conversation at that message', async () => {
  const p = await openPage(w.browser, { viewport: { width: 1366, height: 800 } });
  await signIn(p.page, w.server.base, ADMIN.email, ADMIN.password);
  await p.page.goto(`${w.server.base}/app/#/conversations/all`);
  await p.page.locator('body[data-realtime="live"]').waitFor(LIVE);
  const box = p.page.locator('input.search');
  assert.equal(await box.getAttribute('placeholder'), 'Search messages and contacts');
  await box.fill('доставки');
  const hit = p.page.locator(`.search-hits .hit-message[data-message="${target}"]`);
  await hit.waitFor(LIVE);
  const mark = hit.locator('.hit-snippet mark');
  assert.equal(await mark.first().innerText(), 'Доставка');
  assert.match(await hit.innerText(), /курьером возможна в субботу/);
  assert.match(await p.page.locator('.search-hits').innerText(), /MESSAGES|Messages/);
  // The hostile message is a hit too, shown as text: no element from its content.
  const hostile = p.page.locator('.search-hits .hit-message', { hasText: 'onerror' });
  await hostile.waitFor(LIVE);
  assert.equal(await p.page.locator('.search-hits img').count(), 0);
  assert.equal(await p.page.evaluate(() => window.__xss), undefined);
  assert.match(await hostile.locator('mark').first().innerText(), /доставкой/);
  await p.page.screenshot({ path: join(OUT, 'console-search-hits-en.png') });

  await hit.click();
  const view = p.page.locator(`.conv-view[data-conversation="${convId}"]`);
  await view.waitFor(LIVE);
  const msg = view.locator(`.history .msg[data-id="${target}"]`);
  await msg.waitFor(LIVE);
  await view.locator(`.history .msg[data-id="${target}"].msg-hit`).waitFor(LIVE);
  // Scrolled to it: the message is inside the visible part of the history.
  await p.page.waitForFunction(
    (id) => {
      const el = document.querySelector(`.history .msg[data-id="${id}"]`);
      const box = el && el.closest('.history-scroll');
      if (!el || !box) return false;
      const a = el.getBoundingClientRect();
      const b = box.getBoundingClientRect();
      return a.bottom > b.top && a.top < b.bottom;
    },
    target,
    LIVE,
  );
  await p.page.screenshot({ path: join(OUT, 'console-search-opened-en.png') });

  // A date range before the message hides it; clearing it brings it back.
  await p.page.locator('.search-dates input[data-filter="until"]').fill('2000-01-01');
  await p.page.locator('.search-hits .hits-empty').waitFor(LIVE);
  await p.page.locator('.search-dates input[data-filter="until"]').fill('');
  await hit.waitFor(LIVE);
  // Escape clears the search: the hits go away.
  await box.press('Escape');
  await p.page.locator('.search-hits').waitFor({ state: 'hidden', ...LIVE });
  assert.deepEqual(p.blocked, []);
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('the search panel in Russian', async () => {
  const p = await openPage(w.browser, { viewport: { width: 1366, height: 800 }, locale: 'ru-RU' });
  await signIn(p.page, w.server.base, ADMIN.email, ADMIN.password);
  await p.page.goto(`${w.server.base}/app/#/conversations/all`);
  await p.page.locator('body[data-realtime="live"]').waitFor(LIVE);
  const box = p.page.locator('input.search');
  assert.equal(await box.getAttribute('placeholder'), 'Поиск по сообщениям и контактам');
  await box.fill('ДОСТАВКУ');
  await p.page.locator(`.search-hits .hit-message[data-message="${target}"]`).waitFor(LIVE);
  const text = await p.page.locator('.search-hits').innerText();
  assert.match(text, /Сообщения/i, text);
  assert.equal(await p.page.locator('.search-dates input[data-filter="since"]').getAttribute('aria-label'), 'С даты');
  await box.fill('ничегонет');
  await p.page.locator('.search-hits .hits-empty', { hasText: 'Сообщений не найдено' }).waitFor(LIVE);
  await box.fill('ольга');
  const contact = p.page.locator('.search-hits .hit-contact', { hasText: 'Ольга' });
  await contact.waitFor(LIVE);
  await contact.click();
  await p.page.locator(`.conv-view[data-conversation="${convId}"]`).waitFor(LIVE);
  await p.page.screenshot({ path: join(OUT, 'console-search-ru.png') });
  assert.deepEqual(p.blocked, []);
  assert.deepEqual(p.errors, []);
  await p.close();
});
