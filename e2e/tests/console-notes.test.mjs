// Contact notes in the console's contact panel: an operator adds a note (markup stays
// text), a colleague sees it on the customer's next conversation, only the author (or an
// administrator) gets a delete button.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openPage } from '../lib/browser.js';
import { consoleWorld, signIn, ADMIN } from '../lib/console.mjs';

const LIVE = { timeout: 5000 };
const w = consoleWorld();

async function consoleAs(who, hash) {
  const p = await openPage(w.browser, { viewport: { width: 1366, height: 768 } });
  await signIn(p.page, w.server.base, who.email, who.password);
  await p.page.goto(`${w.server.base}/app/${hash}`);
  await p.page.locator('body[data-realtime="live"]').waitFor(LIVE);
  return p;
}

test('a note about the customer is added in the contact panel and read by a colleague', async () => {
  const v = await w.s.visitor({ name: 'Note Worthy', email: 'note@example.test', message: 'Hello' });
  const ivan = await w.s.agent({ name: 'Ivan Petrov', email: 'ivan-notes@shop.test' });
  await w.s.api('POST', '/inbox_members', { inbox_id: w.s.inbox.id, user_ids: [ivan.id] });
  const maria = await consoleAs(ADMIN, `#/conversations/all/${v.convId}`);
  const panel = maria.page.locator('.contact-panel');
  await panel.locator('text=No notes yet.').waitFor(LIVE);
  await panel.locator('.note-input').fill('Prefers calls after 18:00 <img src=x onerror=alert(1)>');
  await panel.locator('[data-action="add-note"]').click();
  const note = panel.locator('.note', { hasText: 'Prefers calls after 18:00' });
  await note.waitFor(LIVE);
  assert.equal(await note.locator('.note-text').textContent(), 'Prefers calls after 18:00 <img src=x onerror=alert(1)>');
  assert.equal(await panel.locator('.note img').count(), 0, 'markup stays text');
  await maria.page.screenshot({ path: join(process.env.PARLEY_E2E_SCREENSHOTS || tmpdir(), 'console-notes-en.png') });
  assert.deepEqual(maria.errors, []);
  await maria.close();

  // Ivan opens the same customer: he reads Maria's note but may not delete it.
  const p = await consoleAs(ivan, `#/conversations/all/${v.convId}`);
  const his = p.page.locator('.contact-panel .note', { hasText: 'Prefers calls after 18:00' });
  await his.waitFor(LIVE);
  assert.equal(await his.locator('[data-action="delete-note"]').count(), 0);
  await p.page.locator('.contact-panel .note-input').fill('Asked about delivery to Kazan');
  await p.page.locator('.contact-panel [data-action="add-note"]').click();
  const own = p.page.locator('.contact-panel .note', { hasText: 'Asked about delivery to Kazan' });
  await own.waitFor(LIVE);
  await own.locator('[data-action="delete-note"]').click();
  await own.waitFor({ state: 'detached', ...LIVE });
  const notes = await w.s.api('GET', `/contacts/${(await w.s.api('GET', `/conversations/${v.convId}`)).contact_id}/notes`);
  assert.deepEqual(notes.map((n) => n.content), ['Prefers calls after 18:00 <img src=x onerror=alert(1)>']);
  await p.close();
});
