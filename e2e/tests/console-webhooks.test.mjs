// Settings → Webhooks: an administrator creates a webhook in the console (the URL checked
// in the console's words first), sees a delivery appear in its log after a message, opens
// its details and redelivers it; the same page in Russian.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { setupAdmin, signIn, call, ADMIN, sleep } from '../lib/console.mjs';

let server;
let browser;
let admin;
let receiver;
const got = [];

before(async () => {
  server = await startParley();
  browser = await launch();
  admin = await setupAdmin(server.base);
  // The receiving end: records every request, answers 200.
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  receiver?.close();
});

async function until(check, what) {
  for (let i = 0; ; i++) {
    const v = await check();
    if (v) return v;
    if (i && i % 100 === 0) console.log(`still waiting for ${what}`);
    await sleep(100);
  }
}

test('an administrator creates a webhook, sees its delivery and redelivers it', async () => {
  const url = `http://127.0.0.1:${receiver.address().port}/parley`;
  const api = (method, p, body) => call(server.base, method, `/api/v1/accounts/${admin.accountId}${p}`, { token: admin.token, body });
  // A conversation to write in.
  const inbox = await api('POST', '/inboxes', { name: 'Bridge', channel: { type: 'api' } });
  const contact = await api('POST', '/contacts', { name: 'Ivan', inbox_id: inbox.id });
  const conv = await api('POST', '/conversations', { inbox_id: inbox.id, contact_id: contact.payload.contact.id });

  const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 } });
  await signIn(page, server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${server.base}/app/#/settings/webhooks`);
  await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
  await page.getByText('No webhooks yet').waitFor();

  // The dialog: a bad URL is refused in the console's words, nothing is created.
  await page.locator('[data-action="new-webhook"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('URL').fill('crm.example/hook');
  await dialog.getByLabel('Name').fill('CRM');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.getByText('Enter a full address beginning with http:// or https:// (for example https://crm.example/hook)').waitFor();
  assert.equal((await api('GET', '/webhooks')).payload.webhooks.length, 0);
  // Events are checkboxes; message_created is among the defaults, contact_updated is added.
  assert.equal(await dialog.getByRole('checkbox', { name: 'message_created' }).isChecked(), true);
  await dialog.getByRole('checkbox', { name: 'contact_updated' }).check();
  await dialog.getByLabel('URL').fill(url);
  await dialog.getByRole('button', { name: 'Create' }).click();

  // Straight to its page: active, with its secret.
  await page.locator('[data-status="active"]').first().waitFor();
  const hooks = (await api('GET', '/webhooks')).payload.webhooks;
  assert.equal(hooks.length, 1);
  assert.equal(hooks[0].name, 'CRM');
  assert.ok(hooks[0].subscriptions.includes('contact_updated'));
  assert.equal(await page.locator('[data-secret]').inputValue(), hooks[0].secret);
  await page.getByText('Nothing delivered yet.').waitFor();

  // A message: its delivery appears in the log (the page is reloaded until it does).
  await api('POST', `/conversations/${conv.id}/messages`, { content: 'Order 42 has shipped', message_type: 'outgoing' });
  await until(() => got.some((g) => g.headers['x-parley-event'] === 'message_created'), 'the receiver to get the message');
  const row = page.locator('tr[data-delivery]', { hasText: 'message_created' });
  await until(async () => {
    await page.reload();
    await page.locator('[data-log]').waitFor();
    return (await row.count()) > 0 && (await row.first().getAttribute('data-status')) === 'delivered';
  }, 'the delivery in the log');
  await assert.doesNotReject(row.first().getByText('Delivered').waitFor());
  assert.equal((await row.first().locator('td').nth(3).innerText()).trim(), '200');
  // Its details show what was sent.
  await page.locator('tr.log-details summary').first().click();
  await page.locator('tr.log-details pre').first().getByText('Order 42 has shipped').waitFor();
  await page.screenshot({ path: process.env.PARLEY_E2E_SCREENSHOTS ? `${process.env.PARLEY_E2E_SCREENSHOTS}/console-webhooks-en.png` : '/tmp/console-webhooks-en.png', fullPage: true });

  // Redeliver: the receiver gets the same body again with a new delivery id.
  const before = got.filter((g) => g.headers['x-parley-event'] === 'message_created');
  assert.equal(before.length, 1);
  await row.first().getByRole('button', { name: 'Redeliver' }).click();
  await until(() => got.filter((g) => g.headers['x-parley-event'] === 'message_created').length === 2, 'the redelivery');
  const both = got.filter((g) => g.headers['x-parley-event'] === 'message_created');
  assert.equal(both[1].body, both[0].body);
  assert.notEqual(both[1].headers['x-parley-delivery'], both[0].headers['x-parley-delivery']);
  await until(async () => {
    await page.reload();
    await page.locator('[data-log]').waitFor();
    return (await page.locator('tr[data-delivery][data-status="delivered"]', { hasText: 'message_created' }).count()) === 2;
  }, 'two delivered rows');
  assert.deepEqual(errors, []);
  await close();
});

test('the webhooks page in Russian', async () => {
  const hooks = (await call(server.base, 'GET', `/api/v1/accounts/${admin.accountId}/webhooks`, { token: admin.token })).payload.webhooks;
  const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 }, locale: 'ru-RU' });
  await signIn(page, server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${server.base}/app/#/settings/webhooks`);
  await page.getByRole('heading', { name: 'Вебхуки' }).waitFor();
  await page.getByRole('link', { name: 'Открыть' }).first().waitFor();
  await page.locator('[data-status="active"]', { hasText: 'Работает' }).first().waitFor();
  await page.goto(`${server.base}/app/#/settings/webhooks/${hooks[0].id}`);
  await page.getByRole('heading', { name: 'Доставки' }).waitFor();
  await page.getByRole('button', { name: 'Отправить снова' }).first().waitFor();
  await page.getByRole('button', { name: 'Создать новый секрет' }).waitFor();
  await page.getByText('Секрет подписи').waitFor();
  // The dialog in Russian, with its own check of the URL.
  await page.locator('[data-action="edit-webhook"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('URL').fill('nonsense');
  await dialog.getByRole('button', { name: 'Сохранить' }).click();
  await dialog.getByText('Введите полный адрес, начинающийся с http:// или https:// (например, https://crm.example/hook)').waitFor();
  // Every event is delivered now: none is marked as not sent.
  await dialog.getByText('conversation_typing_on').waitFor();
  assert.equal(await dialog.getByText('пока не отправляется').count(), 0);
  await page.screenshot({ path: process.env.PARLEY_E2E_SCREENSHOTS ? `${process.env.PARLEY_E2E_SCREENSHOTS}/console-webhooks-ru.png` : '/tmp/console-webhooks-ru.png', fullPage: true });
  assert.deepEqual(errors, []);
  await close();
});
