// An operator holding 15 open conversations goes through them by keyboard: J/K (and
// Alt+↓/↑ from inside the composer) move through the list in its order, R and N focus the
// composer for a reply or a note, 1/2/3 switch tabs, ? lists the shortcuts.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { openPage } from '../lib/browser.js';
import { consoleWorld, signIn, ADMIN } from '../lib/console.mjs';

const w = consoleWorld();

test('switching among 15 conversations by keyboard', async () => {
  const ids = [];
  for (let i = 1; i <= 15; i++) {
    const v = await w.s.visitor({ name: `Customer ${String(i).padStart(2, '0')}`, email: `c${i}@example.test`, message: `Question number ${i}` });
    await w.s.api('POST', `/conversations/${v.convId}/assignments`, { assignee_id: w.s.userId });
    ids.push(v.convId);
  }

  const { page, errors, close } = await openPage(w.browser, { viewport: { width: 1366, height: 768 } });
  await signIn(page, w.server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${w.server.base}/app/#/conversations/mine`);
  await page.locator('.conv-row').nth(14).waitFor();
  assert.equal(await page.locator('.conv-row').count(), 15);
  assert.match(await page.locator('.tab[data-tab="mine"] .count').innerText(), /^15$/);

  // The list's order (newest activity first) is the order J walks.
  const order = await page.locator('.conv-row').evaluateAll((rows) => rows.map((r) => Number(r.dataset.id)));
  assert.deepEqual([...order].sort((a, b) => a - b), [...ids].sort((a, b) => a - b));

  const openIs = async (id) => {
    await page.locator(`.conv-view[data-conversation="${id}"] .msg.in`).first().waitFor();
    await page.locator(`.conv-row.active[data-id="${id}"]`).waitFor();
    assert.ok(location(page).endsWith(`/mine/${id}`), location(page));
  };

  await page.locator('body').press('j');
  await openIs(order[0]);
  for (let i = 1; i < 15; i++) {
    await page.keyboard.press('j');
    await openIs(order[i]);
  }
  // At the end J stays on the last one; K walks back.
  await page.keyboard.press('j');
  await openIs(order[14]);
  for (let i = 13; i >= 10; i--) {
    await page.keyboard.press('k');
    await openIs(order[i]);
  }

  // R focuses the composer; from inside it Alt+↓ / Alt+↑ still move, and the draft of each
  // conversation is kept.
  await page.keyboard.press('r');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('composer-input')), true);
  await page.keyboard.type('draft for this one');
  await page.keyboard.press('Alt+ArrowDown');
  await openIs(order[11]);
  await page.keyboard.press('Alt+ArrowUp');
  await openIs(order[10]);
  assert.equal(await page.locator('textarea.composer-input').inputValue(), 'draft for this one');

  // N: private-note mode.
  await page.locator('textarea.composer-input').press('Escape');
  await page.keyboard.press('n');
  await page.locator('.mode-tab.active[data-mode="note"]').waitFor();

  // ? shows the shortcuts, Esc closes them.
  await page.locator('textarea.composer-input').press('Escape');
  await page.keyboard.press('?');
  const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await help.waitFor();
  assert.match(await help.innerText(), /Next conversation/);
  await page.keyboard.press('Escape');
  await help.waitFor({ state: 'detached' });

  // 2 and 3 switch tabs, 1 comes back.
  await page.keyboard.press('2');
  await page.locator('.tab.active[data-tab="unassigned"]').waitFor();
  await page.keyboard.press('3');
  await page.locator('.tab.active[data-tab="all"]').waitFor();
  await page.keyboard.press('1');
  await page.locator('.tab.active[data-tab="mine"]').waitFor();

  assert.deepEqual(errors, []);
  await close();
});

function location(page) {
  return decodeURIComponent(new URL(page.url()).hash);
}
