// Settings → Automation and Settings → Macros: an administrator builds the «оплата» rule in
// the console, tries it on the last week's conversations (dry run), saves it and sees it
// route a new question to the Payments team; creates a macro and runs it from a
// conversation with the M key; the same pages in Russian.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { setupAdmin, signIn, call, ADMIN, sleep } from '../lib/console.mjs';

let server;
let browser;
let admin;
let api;
let inbox;
let team;
let contact;

const shot = (name) => (process.env.PARLEY_E2E_SCREENSHOTS ? `${process.env.PARLEY_E2E_SCREENSHOTS}/${name}.png` : `/tmp/${name}.png`);

before(async () => {
  server = await startParley();
  browser = await launch();
  admin = await setupAdmin(server.base);
  api = (method, p, body) => call(server.base, method, `/api/v1/accounts/${admin.accountId}${p}`, { token: admin.token, body });
  inbox = await api('POST', '/inboxes', { name: 'Shop site', channel: { type: 'api' } });
  team = await api('POST', '/teams', { name: 'Payments' });
  contact = (await api('POST', '/contacts', { name: 'Ivan Petrov', inbox_id: inbox.id })).payload.contact;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function until(check, what) {
  for (let i = 0; ; i++) {
    const v = await check();
    if (v) return v;
    if (i && i % 100 === 0) console.log(`still waiting for ${what}`);
    await sleep(100);
  }
}

async function conversationWith(text) {
  const conv = await api('POST', '/conversations', { inbox_id: inbox.id, contact_id: contact.id });
  await api('POST', `/conversations/${conv.id}/messages`, { content: text, message_type: 'incoming' });
  return conv;
}

test('an administrator builds, tries and saves the «оплата» rule, and it routes a new question', async () => {
  const earlier = await conversationWith('Не могу оплатить заказ');
  await conversationWith('Где мой заказ?');

  const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 } });
  await signIn(page, server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${server.base}/app/#/settings/automation`);
  await page.getByRole('heading', { name: 'Automation' }).waitFor();
  await page.getByText('No rules yet').waitFor();

  await page.locator('[data-action="new-rule"]').click();
  const dialog = page.getByRole('dialog');
  // No name: refused in the console's words, nothing created.
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.getByText('Give it a name').waitFor();
  assert.equal((await api('GET', '/automation_rules')).payload.length, 0);

  await dialog.getByLabel('Name').fill('Оплата');
  await dialog.getByLabel('When').selectOption('message_created');
  const cond = dialog.locator('[data-row="condition"]').first();
  assert.equal(await cond.locator('[data-role="attribute"]').inputValue(), 'content');
  await cond.locator('[data-role="operator"]').selectOption('contains');
  await cond.locator('[data-role="value"]').fill('оплата');
  await dialog.locator('[data-action="add-condition"]').click();
  const second = dialog.locator('[data-row="condition"]').nth(1);
  await second.locator('[data-role="attribute"]').selectOption('message_type');
  await second.locator('[data-role="value"]').selectOption('incoming');
  const act = dialog.locator('[data-row="action"]').first();
  await act.locator('[data-role="action"]').selectOption('assign_team');
  await act.locator('[data-role="param"]').selectOption(String(team.id));
  await dialog.locator('[data-action="add-action"]').click();
  const label = dialog.locator('[data-row="action"]').nth(1);
  await label.locator('[data-role="action"]').selectOption('add_label');
  await label.locator('[data-role="param"]').fill('payments');

  // The dry run: the earlier payment question matches, the other one does not.
  await dialog.locator('[data-action="dry-run"]').click();
  await dialog.getByText('It would have matched 1 of the 2 conversations of the last 7 days.').waitFor();
  await dialog.locator(`[data-match="${earlier.id}"]`).getByText('Не могу оплатить заказ', { exact: false }).waitFor();
  await page.screenshot({ path: shot('console-automation-en'), fullPage: true });
  assert.equal((await api('GET', '/automation_rules')).payload.length, 0, 'a dry run saves nothing');

  await dialog.getByRole('button', { name: 'Create' }).click();
  const row = page.locator('tr[data-rule]', { hasText: 'Оплата' });
  await row.waitFor();
  await row.getByText('assign team, add label').waitFor();
  const rules = (await api('GET', '/automation_rules')).payload;
  assert.equal(rules.length, 1);
  assert.deepEqual(rules[0].conditions.map((c) => [c.attribute_key, c.filter_operator, c.values]), [
    ['content', 'contains', ['оплата']],
    ['message_type', 'equal_to', ['incoming']],
  ]);
  assert.deepEqual(rules[0].actions, [
    { action_name: 'assign_team', action_params: [team.id] },
    { action_name: 'add_label', action_params: ['payments'] },
  ]);

  // A new question about paying goes to Payments, and the conversation says which rule did it.
  const fresh = await conversationWith('Как оплатить картой?');
  await until(async () => (await api('GET', `/conversations/${fresh.id}`)).meta.team?.id === team.id, 'the rule to assign the team');
  await page.goto(`${server.base}/app/#/conversations/${fresh.id}`);
  await page.getByText('Rule «Оплата»: assign team Payments').waitFor();
  await page.getByText('Rule «Оплата»: add label payments').waitFor();

  // Switching a rule off from the list.
  await page.goto(`${server.base}/app/#/settings/automation`);
  await page.locator('tr[data-rule] [data-action="toggle-rule"]').uncheck();
  await until(async () => (await api('GET', '/automation_rules')).payload[0].active === false, 'the rule switched off');
  assert.deepEqual(errors, []);
  await close();
});

test('a macro made in Settings runs on a conversation with the M key', async () => {
  const conv = await conversationWith('Спасибо, всё получилось');
  const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 } });
  await signIn(page, server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${server.base}/app/#/settings/macros`);
  await page.getByRole('heading', { name: 'Macros' }).waitFor();
  await page.getByText('No macros yet.').waitFor();
  await page.locator('[data-action="new-macro"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Close politely');
  const first = dialog.locator('[data-row="action"]').first();
  await first.locator('[data-role="action"]').selectOption('send_message');
  await first.locator('[data-role="param"]').fill('Рады помочь! Хорошего дня.');
  await dialog.locator('[data-action="add-action"]').click();
  await dialog.locator('[data-row="action"]').nth(1).locator('[data-role="action"]').selectOption('resolve_conversation');
  await page.screenshot({ path: shot('console-macros-en'), fullPage: true });
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.locator('tr[data-macro]', { hasText: 'Close politely' }).waitFor();

  await page.goto(`${server.base}/app/#/conversations/${conv.id}`);
  await page.locator('[data-action="macros"]').waitFor();
  await page.locator('body').press('m');
  await page.getByRole('menuitem', { name: 'Close politely' }).click();
  await page.getByText('Macro “Close politely” done').waitFor();
  const after = await api('GET', `/conversations/${conv.id}`);
  assert.equal(after.status, 'resolved');
  const msgs = (await api('GET', `/conversations/${conv.id}/messages`)).payload;
  assert.ok(msgs.some((m) => m.content === 'Рады помочь! Хорошего дня.'), JSON.stringify(msgs));
  await page.getByText('Conversation was marked resolved by Maria Admin (macro «Close politely»)').waitFor();
  assert.deepEqual(errors, []);
  await close();
});

test('the automation and macros pages in Russian', async () => {
  const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 }, locale: 'ru-RU' });
  await signIn(page, server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${server.base}/app/#/settings/automation`);
  await page.getByRole('heading', { name: 'Автоматизация' }).waitFor();
  const row = page.locator('tr[data-rule]', { hasText: 'Оплата' });
  await row.getByText('Пришло сообщение').waitFor();
  await row.getByText('назначить отдел, добавить метку').waitFor();
  await row.locator('[data-action="edit-rule"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('heading', { name: 'Изменить правило' }).waitFor();
  await dialog.getByText('Условия').first().waitFor();
  await dialog.locator('[data-action="dry-run"]').click();
  await dialog.getByText('Правило сработало бы на', { exact: false }).waitFor();
  await page.screenshot({ path: shot('console-automation-ru'), fullPage: true });
  await page.keyboard.press('Escape');
  await page.goto(`${server.base}/app/#/settings/macros`);
  await page.getByRole('heading', { name: 'Макросы' }).waitFor();
  await page.locator('tr[data-macro]', { hasText: 'Close politely' }).getByText('отправить сообщение, решить').waitFor();
  await page.screenshot({ path: shot('console-macros-ru'), fullPage: true });
  assert.deepEqual(errors, []);
  await close();
});

test('an agent mutes a conversation from its header (in Russian) and the customer does not reopen it', async () => {
  const conv = await conversationWith('Казино, бонусы, выигрыш!');
  const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 }, locale: 'ru-RU' });
  await signIn(page, server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${server.base}/app/#/conversations/${conv.id}`);
  await page.getByRole('button', { name: 'Заглушить' }).click();
  await page.getByText('Разговор решён и заглушён на 6 часов').waitFor();
  await page.getByRole('button', { name: 'Снять заглушение' }).waitFor();
  await page.getByText(/заглушил\(а\) разговор/).waitFor();
  let c = await api('GET', `/conversations/${conv.id}`);
  assert.equal(c.status, 'resolved');
  assert.equal(c.muted, true);
  // The customer writes again: the conversation stays resolved.
  await api('POST', `/conversations/${conv.id}/messages`, { content: 'Ещё бонусы!', message_type: 'incoming' });
  c = await api('GET', `/conversations/${conv.id}`);
  assert.equal(c.status, 'resolved');
  await page.screenshot({ path: shot('console-muted-ru'), fullPage: false });
  await page.getByRole('button', { name: 'Снять заглушение' }).click();
  await page.getByRole('button', { name: 'Заглушить' }).waitFor();
  assert.equal((await api('GET', `/conversations/${conv.id}`)).muted, false);
  assert.deepEqual(errors, []);
  await close();
});
