// Settings → Inboxes → New inbox → E-mail, driven in the browser (issue 14): the mailbox's
// fields grouped, the ports following the TLS switches, a provider preset with its
// app-password hint; "Test connection" against a server that refuses names the step (IMAP)
// and the server's sentence, in English and, for a Russian account, in Russian; the inbox
// saved with that wrong server shows the error on its page. Then a real mailbox (Dovecot
// and OpenSMTPD started by `parley-mail-system`, PARLEY_MAIL_BIN): the form's test passes,
// a customer's letter delivered over SMTP becomes a conversation with its subject, its text
// and its quoted history folded away; the reply box says the answer goes by e-mail, and the
// agent's reply turns `sent`. Screenshots in EN and RU go to $PARLEY_E2E_SCREENSHOTS
// (default: the temp directory).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { setupAdmin, signIn, call, ADMIN, newInboxForm } from '../lib/console.mjs';
import { startMailSystem, closedPort, deliver } from '../lib/mail.mjs';

const OUT = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();

let browser;
let refused;

before(async () => {
  browser = await launch();
  refused = await closedPort();
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
});

/** A server with an administrator of the given language; `api` calls its account. */
async function shop(locale = 'en') {
  const server = await startParley();
  const admin = await setupAdmin(server.base, { ...ADMIN, locale });
  const api = (method, p, body) => call(server.base, method, `/api/v1/accounts/${admin.accountId}${p}`, { token: admin.token, body });
  return { server, admin, api };
}

async function consolePage(base, locale) {
  const p = await openPage(browser, { viewport: { width: 1366, height: 900 }, locale });
  await signIn(p.page, base, ADMIN.email, ADMIN.password);
  return p;
}

/** Opens Settings → Inboxes → New inbox and chooses E-mail; returns the dialog. */
const emailForm = (page, base) => newInboxForm(page, base, 'email', 'imap_address');

/** A screenshot of the whole connection card (taller than the page's usual window). */
async function shootCard(page, card, file) {
  await page.setViewportSize({ width: 1366, height: 1500 });
  await card.screenshot({ path: join(OUT, file) });
  await page.setViewportSize({ width: 1366, height: 900 });
}

/** The mailbox's fields by name (labels differ per language; names do not). */
const byName = (scope, name) => scope.locator(`[name="${name}"]`);

/** Fills the mailbox fields of a form or card from `v` (names as in the API). */
async function fillMailbox(scope, v) {
  for (const [k, value] of Object.entries(v)) {
    const input = byName(scope, k);
    if (typeof value === 'boolean') await input.setChecked(value);
    else if ((await input.evaluate((e) => e.tagName)) === 'SELECT') await input.selectOption(value);
    else await input.fill(String(value));
  }
}

test('the e-mail form: grouped fields, presets, and a refused server named in English', async () => {
  const { server, api } = await shop('en');
  const { page, errors, blocked, close } = await consolePage(server.base, 'en-US');
  try {
    const dialog = await emailForm(page, server.base);
    // Only the mailbox's fields; grouped under their legends.
    assert.equal(await dialog.locator('input[name=website_url]').isVisible(), false);
    assert.equal(await dialog.locator('input[name=bot_token]').isVisible(), false);
    for (const [group, legend] of [
      ['mailbox', 'Mailbox'],
      ['imap', 'Incoming mail (IMAP)'],
      ['smtp', 'Outgoing mail (SMTP)'],
    ]) {
      assert.equal(await dialog.locator(`fieldset[data-group="${group}"] legend`).innerText(), legend);
    }
    const imap = dialog.locator('fieldset[data-group="imap"]');
    const smtp = dialog.locator('fieldset[data-group="smtp"]');
    // Labels name their inputs.
    assert.equal(await imap.getByLabel('IMAP server').getAttribute('name'), 'imap_address');
    assert.equal(await smtp.getByLabel('SMTP login method').getAttribute('name'), 'smtp_authentication');
    assert.equal(await smtp.getByLabel('Domain for EHLO').getAttribute('name'), 'smtp_domain');

    // Defaults, and ports that follow the TLS switches.
    assert.equal(await byName(imap, 'imap_port').inputValue(), '993');
    assert.equal(await byName(smtp, 'smtp_port').inputValue(), '587');
    assert.equal(await byName(smtp, 'smtp_enable_starttls_auto').isChecked(), true);
    await imap.getByLabel('IMAP over TLS').uncheck();
    assert.equal(await byName(imap, 'imap_port').inputValue(), '143');
    await imap.getByLabel('IMAP over TLS').check();
    assert.equal(await byName(imap, 'imap_port').inputValue(), '993');
    await smtp.getByLabel('SMTP over TLS').check();
    assert.equal(await byName(smtp, 'smtp_port').inputValue(), '465');
    assert.equal(await byName(smtp, 'smtp_enable_starttls_auto').isChecked(), false, 'TLS and STARTTLS exclude each other');
    await smtp.getByLabel('SMTP with STARTTLS').check();
    assert.equal(await byName(smtp, 'smtp_port').inputValue(), '587');
    assert.equal(await byName(smtp, 'smtp_enable_ssl_tls').isChecked(), false);

    // The logins follow the address; a preset fills the servers and names the app password.
    await dialog.getByLabel('Name').fill('Support mail');
    await dialog.getByLabel('Inbox address').fill('help@shop.test');
    assert.equal(await byName(imap, 'imap_login').inputValue(), 'help@shop.test');
    assert.equal(await byName(smtp, 'smtp_login').inputValue(), 'help@shop.test');
    await dialog.getByLabel('Provider').selectOption('gmail');
    assert.equal(await byName(imap, 'imap_address').inputValue(), 'imap.gmail.com');
    assert.equal(await byName(smtp, 'smtp_address').inputValue(), 'smtp.gmail.com');
    assert.equal(await byName(smtp, 'smtp_port').inputValue(), '587');
    await dialog.getByText('Gmail wants an app password').waitFor();
    await dialog.getByLabel('Provider').selectOption('yandex');
    assert.equal(await byName(imap, 'imap_address').inputValue(), 'imap.yandex.ru');
    assert.equal(await byName(smtp, 'smtp_port').inputValue(), '465');
    assert.equal(await byName(smtp, 'smtp_enable_ssl_tls').isChecked(), true);
    await dialog.getByText('Yandex wants an app password').waitFor();

    // A server that refuses: the check names the step and the server's sentence.
    await dialog.getByLabel('Provider').selectOption('other');
    await fillMailbox(dialog, { imap_address: '127.0.0.1', imap_enable_ssl: false, imap_port: refused, imap_password: 'wrong', smtp_address: '127.0.0.1', smtp_enable_ssl_tls: false, smtp_enable_starttls_auto: false, smtp_port: refused, smtp_password: 'wrong' });
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    const result = dialog.locator('[data-test-result][data-step="imap"]');
    await result.waitFor();
    assert.match(await result.innerText(), /^Incoming mail \(IMAP\): The server refused the connection\. Check the address and the port\./);
    assert.match(await result.getAttribute('class'), /error-text/);
    await page.screenshot({ path: join(OUT, 'console-email-form-refused-en.png') });
    // An edit makes the answer stale.
    await byName(imap, 'imap_port').fill(String(refused));
    assert.equal(await dialog.locator('[data-test-result]').innerText(), '');

    // Saved without a blocking probe; the inbox's page shows the failing connection.
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/#\/settings\/inboxes\/\d+$/);
    const [inbox] = (await api('GET', '/inboxes')).payload;
    assert.equal(inbox.channel_type, 'Channel::Email');
    assert.equal(JSON.stringify(inbox).includes('wrong'), false, 'passwords are never returned');
    const card = page.locator('section[data-card="connection"]');
    await card.locator('[data-connection-state="error"]').waitFor();
    assert.match(await card.locator('.conn-status').innerText(), /Not working/);
    await shootCard(page, card, 'console-email-connection-error-en.png');

    // The list shows the address.
    await page.goto(`${server.base}/app/#/settings/inboxes`);
    await page.locator('table.data tr', { hasText: 'Support mail' }).locator('[data-mailbox="help@shop.test"]').waitFor();
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    await server.stop();
  }
});

// A Russian shop (its account speaks Russian, so do the server's sentences) and a Russian
// browser.
test('the e-mail form and the failing connection in Russian', async () => {
  const { server } = await shop('ru');
  const { page, errors, blocked, close } = await consolePage(server.base, 'ru-RU');
  try {
    const dialog = await emailForm(page, server.base);
    await page.getByRole('heading', { name: 'Новый канал' }).waitFor();
    await dialog.locator('fieldset[data-group="imap"] legend', { hasText: 'Входящая почта (IMAP)' }).waitFor();
    await dialog.getByLabel('Название').fill('Почта поддержки');
    await dialog.getByLabel('Адрес канала').fill('help@shop.test');
    await dialog.getByLabel('Почтовый сервис').selectOption('mailru');
    await dialog.getByText('Mail.ru нужен пароль для внешнего приложения').waitFor();
    await dialog.getByLabel('Почтовый сервис').selectOption('other');
    await fillMailbox(dialog, { imap_address: '127.0.0.1', imap_enable_ssl: false, imap_port: refused, imap_password: 'wrong', smtp_address: '127.0.0.1', smtp_enable_ssl_tls: false, smtp_enable_starttls_auto: false, smtp_port: refused });
    await dialog.getByRole('button', { name: 'Проверить подключение' }).click();
    const result = dialog.locator('[data-test-result][data-step="imap"]');
    await result.waitFor();
    assert.match(await result.innerText(), /^Входящая почта \(IMAP\): Сервер отказал в соединении\. Проверьте адрес и порт\./);
    await page.screenshot({ path: join(OUT, 'console-email-form-refused-ru.png') });
    await dialog.getByRole('button', { name: 'Создать' }).click();
    await page.waitForURL(/#\/settings\/inboxes\/\d+$/);
    const card = page.locator('section[data-card="connection"]');
    await card.locator('[data-connection-state="error"]').waitFor();
    assert.match(await card.locator('.conn-status').innerText(), /Не работает/);
    await shootCard(page, card, 'console-email-connection-error-ru.png');
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    await server.stop();
  }
});

const LETTER = (subject) =>
  [
    'From: Ivan Petrov <ivan@customer.test>',
    'To: help@shop.test',
    `Subject: ${subject}`,
    'Message-ID: <order-1042-question@customer.test>',
    'Date: Thu, 03 Dec 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Hello! Where is my order 1042? It was due yesterday.',
    '',
    'On Wed, 2 Dec 2026 at 09:00, Shop <help@shop.test> wrote:',
    '> Your order 1042 ships tomorrow.',
    '> <b>Thank you</b> for shopping with us.',
    '',
  ].join('\r\n');

test('a real mailbox: a letter becomes a conversation, the quote folded, the reply sent', async (t) => {
  const mail = await startMailSystem();
  if (mail.skip) {
    console.log(`skipping the real mailbox: ${mail.skip}`);
    t.skip(mail.skip);
    return;
  }
  const { server, api } = await shop('en');
  const { page, errors, blocked, close } = await consolePage(server.base, 'en-US');
  const m = mail.info;
  try {
    const dialog = await emailForm(page, server.base);
    await dialog.getByLabel('Name').fill('Support mail');
    await dialog.getByLabel('Inbox address').fill('help@shop.test');
    await fillMailbox(dialog, {
      imap_address: m.host,
      imap_enable_ssl: false,
      imap_port: m.imap_port,
      imap_password: m.password,
      smtp_address: m.host,
      smtp_enable_ssl_tls: false,
      smtp_enable_starttls_auto: false,
      smtp_port: m.submission_port,
      smtp_password: m.password,
      smtp_domain: 'localhost',
    });
    await dialog.getByRole('button', { name: 'Test connection' }).click();
    const result = dialog.locator('[data-test-result]');
    await result.filter({ hasText: 'Connected: the IMAP and SMTP servers accepted the login' }).waitFor();
    assert.match(await result.getAttribute('class'), /ok-text/);
    await page.screenshot({ path: join(OUT, 'console-email-form-en.png') });
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/#\/settings\/inboxes\/\d+$/);
    const card = page.locator('section[data-card="connection"]');
    await card.locator('[data-connection-state="connected"]').waitFor();
    await shootCard(page, card, 'console-email-connection-en.png');
    // The card tests the stored passwords when its boxes are empty.
    await card.getByRole('button', { name: 'Test connection' }).click();
    await card.locator('[data-test-result]', { hasText: 'Connected: the IMAP and SMTP servers accepted the login' }).waitFor();

    // A customer writes.
    await page.goto(`${server.base}/app/#/conversations/all`);
    await page.locator('body[data-realtime="live"]').waitFor();
    await deliver(m.smtp_port, { from: 'ivan@customer.test', to: 'help@shop.test', raw: LETTER('Order 1042 is late') });
    const row = page.locator('.conv-row', { hasText: 'Where is my order 1042?' });
    await row.waitFor();
    await row.locator('a').first().click();
    const conv = page.locator('.conv-view');
    await conv.locator('[data-mail-subject]', { hasText: 'Order 1042 is late' }).waitFor();
    const letter = conv.locator('.msg.in', { hasText: 'Where is my order 1042?' });
    await letter.waitFor();
    assert.doesNotMatch(await letter.locator('.bubble > .text').innerText(), /ships tomorrow/, 'the quote is not in the text');
    const quote = letter.locator('details[data-mail-quote]');
    assert.equal(await quote.getAttribute('open'), null, 'folded');
    assert.equal(await quote.locator('.quoted').isVisible(), false);
    // Opened from the keyboard; the quote is text, never markup.
    await quote.locator('summary').focus();
    await page.keyboard.press('Enter');
    await quote.locator('.quoted', { hasText: 'Your order 1042 ships tomorrow.' }).waitFor();
    assert.match(await quote.locator('.quoted').innerText(), /<b>Thank you<\/b>/);
    assert.equal(await quote.locator('b').count(), 0);
    await conv.locator('[data-reply-channel]', { hasText: 'The reply goes by e-mail to ivan@customer.test' }).waitFor();

    // The agent answers; the mail server accepts: sent.
    const input = conv.locator('textarea.composer-input');
    await input.fill('Your order left the warehouse this morning.');
    await input.press('Enter');
    const reply = conv.locator('.msg.out', { hasText: 'Your order left the warehouse this morning.' });
    await reply.locator('[data-receipt="sent"]').waitFor();
    const convId = await conv.getAttribute('data-conversation');
    const stored = (await api('GET', `/conversations/${convId}/messages`)).payload.find((x) => x.content === 'Your order left the warehouse this morning.');
    assert.equal(stored.status, 'sent');
    await page.screenshot({ path: join(OUT, 'console-email-conversation-en.png') });
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);

    // The same conversation in Russian.
    const ru = await consolePage(server.base, 'ru-RU');
    try {
      await ru.page.goto(`${server.base}/app/#/conversations/all/${convId}`);
      const view = ru.page.locator('.conv-view');
      await view.locator('[data-reply-channel]', { hasText: 'Ответ уйдёт письмом на ivan@customer.test' }).waitFor();
      await view.locator('details[data-mail-quote] summary', { hasText: 'Цитата' }).first().waitFor();
      await ru.page.screenshot({ path: join(OUT, 'console-email-conversation-ru.png') });
      assert.deepEqual(ru.blocked, []);
      assert.deepEqual(ru.errors, []);
    } finally {
      await ru.close();
    }
  } finally {
    await close();
    await server.stop();
    await mail.stop();
  }
});
