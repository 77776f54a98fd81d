// Settings → an inbox: every widget option the API has is set in the console, saved,
// read back after a reload, and seen in the widget on a shop page: the pre-chat form's
// fields, required marks and departments; the greeting; the inbox's language; the survey's
// question after the conversation is resolved; the offline form when nobody is online; the
// sites allowed to show the chat (localhost allowed, 127.0.0.2 refused by the browser);
// identity validation with its secret rotated; an e-mail inbox's mailbox connection.
// Screenshots of the page in EN and RU go to
// $PARLEY_E2E_SCREENSHOTS (default: the temp directory).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

import { launch, openPage } from '../lib/browser.js';
import { signIn } from '../lib/console.mjs';
import { widgetWorld, shopSite, shopPage, widgetFrame, eventually } from '../lib/widget.mjs';

const OUT = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
const EMAIL = 'maria@shop.test';
const PASSWORD = 'correct horse battery';

let w;
let site;
let other;
let browser;
const teams = [];

before(async () => {
  w = await widgetWorld();
  for (const name of ['Delivery', 'Payments', 'Returns']) {
    const t = (await w.agent.call('POST', '/teams', { name })).body;
    await w.agent.call('POST', `/teams/${t.id}/team_members`, { user_ids: [w.agent.userId] });
    teams.push(t);
  }
  site = await shopSite(w.server.base, w.websiteToken, { '/': shopPage({ title: 'Coffee Corner' }) });
  // The same shop page from a second loopback address: another site for the browser.
  const snippet = `<script async src="${w.server.base}/widget/loader.js" data-parley-token="${w.websiteToken}"></script>`;
  const srv = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(shopPage({ title: 'Elsewhere' }).replaceAll('{{SNIPPET}}', snippet)));
  await new Promise((r) => srv.listen(0, '127.0.0.2', r));
  other = { base: `http://127.0.0.2:${srv.address().port}`, close: () => new Promise((r) => srv.close(r)) };
  browser = await launch();
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await other?.close();
  await w?.server.stop();
});

const inboxPath = () => `/inboxes/${w.inbox.id}`;
const inbox = async () => (await w.agent.call('GET', inboxPath())).body;

async function consolePage(locale = 'en-US') {
  const p = await openPage(browser, { viewport: { width: 1366, height: 900 }, locale });
  await signIn(p.page, w.server.base, EMAIL, PASSWORD);
  await p.page.goto(`${w.server.base}/app/#/settings/inboxes/${w.inbox.id}`);
  await p.page.locator('section[data-card="prechat"]').waitFor();
  return p;
}

/** Clicks a card's Save and waits for the inbox PATCH. */
async function saveCard(page, card) {
  const saved = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(inboxPath()));
  await card.getByRole('button', { name: /^(Save|Сохранить)$/ }).click();
  const res = await saved;
  assert.equal(res.status(), 200, await res.text());
}

/** The shop page with the widget opened; returns the frame. */
async function openWidget(base, opts = {}) {
  const p = await openPage(browser, opts);
  await p.page.goto(base + '/');
  const { frame } = await widgetFrame(p.page);
  await p.page.evaluate(() => document.querySelector('parley-widget').shadowRoot.querySelector('.b').click());
  return { ...p, frame };
}

test('pre-chat form, departments and greeting: saved, reloaded, seen in the widget', async () => {
  const { page, errors, blocked, close } = await consolePage();
  try {
    const card = page.locator('section[data-card="prechat"]');
    await card.getByLabel('Ask for contact details before the chat starts').check();
    await card.getByLabel('Line above the form').fill('Tell us who you are');
    await card.getByLabel('Name: Shown').uncheck();
    await card.getByLabel('Phone: Shown').check();
    await card.getByLabel('Phone: Required').check();
    await card.getByLabel('Phone: Own label').fill('Mobile');
    await card.getByLabel('Let the customer choose a department').check();
    await card.getByLabel('Payments').check();
    await card.getByLabel('Returns').check();
    await saveCard(page, card);

    const general = page.locator('section[data-card="general"]');
    await general.getByLabel('Greet new customers automatically').check();
    await general.getByLabel('Greeting', { exact: true }).fill('Hello from the Coffee Corner team!');
    await general.getByLabel('Corner of the chat button').selectOption('left');
    await saveCard(page, general);

    const saved = await inbox();
    const opts = saved.channel_settings.pre_chat_form_options;
    assert.equal(saved.pre_chat_form_enabled, true);
    assert.equal(opts.pre_chat_message, 'Tell us who you are');
    assert.deepEqual(opts.department_team_ids.sort(), [teams[1].id, teams[2].id].sort());
    assert.deepEqual(
      opts.pre_chat_fields.map((f) => [f.name, f.enabled, f.required, f.label ?? null]),
      [
        ['fullName', false, false, null],
        ['emailAddress', true, true, null],
        ['phoneNumber', true, true, 'Mobile'],
      ],
    );
    assert.equal(saved.greeting_enabled, true);
    assert.equal(saved.channel_settings.widget_position, 'left');

    // After a reload the controls show what was saved.
    await page.reload();
    const again = page.locator('section[data-card="prechat"]');
    await again.waitFor();
    assert.equal(await again.getByLabel('Ask for contact details before the chat starts').isChecked(), true);
    assert.equal(await again.getByLabel('Line above the form').inputValue(), 'Tell us who you are');
    assert.equal(await again.getByLabel('Name: Shown').isChecked(), false);
    assert.equal(await again.getByLabel('Phone: Required').isChecked(), true);
    assert.equal(await again.getByLabel('Phone: Own label').inputValue(), 'Mobile');
    assert.equal(await again.getByLabel('Delivery').isChecked(), false);
    assert.equal(await again.getByLabel('Payments').isChecked(), true);
    assert.equal(await page.locator('section[data-card="general"]').getByLabel('Corner of the chat button').inputValue(), 'left');
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }

  const wg = await openWidget(site.base);
  try {
    const f = wg.frame;
    await f.waitForSelector('form.form');
    await f.waitForSelector('text=Tell us who you are');
    await f.waitForSelector('text=Hello from the Coffee Corner team!');
    assert.equal(await f.locator('input[name=name]').count(), 0);
    assert.equal(await f.locator('input[name=phone_number]').getAttribute('required'), '');
    await f.waitForSelector('text=Mobile *');
    const depts = await f.locator('select[name=department] option').allInnerTexts();
    assert.deepEqual(depts, ['Any department', 'Payments', 'Returns']);
    assert.deepEqual(wg.blocked, []);
    assert.deepEqual(wg.errors, []);
  } finally {
    await wg.close();
  }
});

test('language and survey question: the widget speaks the inbox language and asks its question', async () => {
  const { page, errors, blocked, close } = await consolePage();
  try {
    const texts = page.locator('section[data-card="texts"]');
    await texts.getByLabel('Language of the inbox').selectOption('ru');
    await saveCard(page, texts.locator('form'));
    const csat = page.locator('section[data-card="csat"]');
    await eventually(async () => (await csat.getByLabel('Question (Русский)').isEnabled()), 10000, 'survey wording loaded');
    await csat.getByLabel('Ask customers to rate the conversation when it is resolved').check();
    await csat.getByLabel('Question (Русский)').fill('Как мы справились сегодня?');
    await saveCard(page, csat);
    const saved = await inbox();
    assert.equal(saved.locale, 'ru');
    assert.equal(saved.csat_survey_enabled, true);
    const tpl = (await w.agent.call('GET', `${inboxPath()}/templates`)).body.payload.find((x) => x.id === 'csat_survey');
    assert.deepEqual(tpl.overrides, { ru: 'Как мы справились сегодня?' });
    await page.reload();
    await eventually(async () => (await page.locator('section[data-card="csat"]').getByLabel('Question (Русский)').inputValue()) === 'Как мы справились сегодня?', 10000, 'wording after reload');
    assert.equal(await page.locator('section[data-card="csat"]').getByLabel('Ask customers to rate the conversation when it is resolved').isChecked(), true);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }

  // An English page and browser: the widget speaks Russian, and the survey asks the question.
  await w.agent.call('PATCH', inboxPath(), { channel: { pre_chat_form_enabled: false } });
  const wg = await openWidget(site.base);
  try {
    const f = wg.frame;
    await f.waitForSelector('#composer');
    assert.equal(await f.locator('#composer').getAttribute('placeholder'), 'Напишите сообщение…');
    await f.fill('#composer', 'Есть ли у вас овсяное молоко?');
    await f.press('#composer', 'Enter');
    const conv = await eventually(async () => {
      const list = (await w.agent.call('GET', '/conversations?status=all')).body.data.payload;
      const newest = list.reduce((a, c) => (!a || c.id > a.id ? c : a), null);
      const msgs = newest ? (await w.agent.call('GET', `/conversations/${newest.id}/messages`)).body.payload : [];
      return msgs.some((m) => m.content === 'Есть ли у вас овсяное молоко?') ? newest : null;
    }, 10000, 'conversation');
    await w.agent.call('POST', `/conversations/${conv.id}/toggle_status`, { status: 'resolved' });
    await f.waitForSelector('.csat >> text=Как мы справились сегодня?');
    assert.deepEqual(wg.blocked, []);
    assert.deepEqual(wg.errors, []);
  } finally {
    await wg.close();
    await w.agent.call('PATCH', inboxPath(), { locale: null, csat_survey_enabled: false });
  }
});

test('offline form when nobody is online, and the sites allowed to show the chat', async () => {
  const { page, errors, blocked, close } = await consolePage();
  try {
    const card = page.locator('section[data-card="availability"]');
    await card.getByLabel('Offline request form').selectOption('agents');
    await card.getByLabel('Sites allowed to show the chat').fill('localhost:*');
    await saveCard(page, card);
    const saved = await inbox();
    assert.equal(saved.channel_settings.offline_form_when_no_agents, true);
    assert.equal(saved.allowed_domains, 'localhost:*');
    await page.reload();
    const again = page.locator('section[data-card="availability"]');
    await again.waitFor();
    assert.equal(await again.getByLabel('Offline request form').inputValue(), 'agents');
    assert.equal(await again.getByLabel('Sites allowed to show the chat').inputValue(), 'localhost:*');
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }

  // Nobody online: the widget on the allowed site offers the offline form.
  await w.agent.call('PATCH', `/agents/${w.agent.userId}`, { availability_status: 'offline' });
  const wg = await openWidget(site.base);
  try {
    await wg.frame.waitForSelector('form.form button[type=submit] >> text=Send request');
    assert.deepEqual(wg.blocked, []);
    assert.deepEqual(wg.errors, []);
  } finally {
    await wg.close();
    await w.agent.call('PATCH', `/agents/${w.agent.userId}`, { availability_status: 'online' });
  }

  // Another site: the browser refuses to frame the chat.
  const p = await openPage(browser);
  try {
    const refused = p.page.waitForEvent('console', (m) => /frame-ancestors/.test(m.text()));
    await p.page.goto(other.base + '/');
    await refused;
    const frame = p.page.frames().find((x) => x.url().includes('/widget/frame.html'));
    assert.equal(frame ? await frame.locator('#app').count().catch(() => 0) : 0, 0);
  } finally {
    await p.close();
    await w.agent.call('PATCH', inboxPath(), { channel: { allowed_domains: null, offline_form_when_no_agents: false } });
  }
});

test('identity validation: the secret is shown, copied into the snippets and replaced after a confirmation', async () => {
  const { page, errors, blocked, close } = await consolePage();
  try {
    const card = page.locator('section[data-card="identity"]');
    const before = (await inbox()).hmac_token;
    await card.getByLabel('Require a signed identifier').check();
    await saveCard(page, card);
    assert.equal((await inbox()).hmac_mandatory, true);
    assert.notEqual(await card.locator('[data-secret]').innerText(), before, 'masked until shown');
    await card.locator('[data-action="reveal-secret"]').click();
    assert.equal(await card.locator('[data-secret]').innerText(), before);
    assert.match(await card.locator('[data-hash-snippet="PHP"]').innerText(), new RegExp(`hash_hmac\\('sha256', \\(string\\) \\$customerId, '${before}'\\)`));
    assert.match(await card.locator('[data-hash-snippet="Node.js"]').innerText(), /createHmac\('sha256'/);
    assert.match(await card.locator('[data-hash-snippet="Python"]').innerText(), /hmac\.new\(/);

    // Replacing asks first; cancelling changes nothing.
    await card.locator('[data-action="rotate-secret"]').click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await inbox()).hmac_token, before);
    await card.locator('[data-action="rotate-secret"]').click();
    const rotated = page.waitForResponse((r) => r.url().endsWith(`${inboxPath()}/reset_hmac_token`));
    await page.getByRole('dialog').getByRole('button', { name: 'Replace the secret' }).click();
    assert.equal((await rotated).status(), 200);
    const after = (await inbox()).hmac_token;
    assert.notEqual(after, before);
    await eventually(async () => (await card.locator('[data-secret]').innerText()) === after, 10000, 'new secret shown');
    assert.ok((await card.locator('[data-hash-snippet="Python"]').innerText()).includes(after));
    await page.reload();
    await page.locator('section[data-card="identity"]').waitFor();
    assert.equal(await page.locator('section[data-card="identity"]').getByLabel('Require a signed identifier').isChecked(), true);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    await w.agent.call('PATCH', inboxPath(), { hmac_mandatory: false });
  }
});

// Skipped while e-mail inboxes are refused (issue 14: creating one answers 422 until the
// e-mail channel is wired end to end); the e-mail channel's work re-enables it.
test('an e-mail inbox: its mailbox connection is set on its page, the password never shown', async () => {
  const mail = (await w.agent.call('POST', '/inboxes', { name: 'Mail', channel: { type: 'email', email: 'help@shop.test' } })).body;
  const { page, errors, blocked, close } = await openPage(browser, { viewport: { width: 1366, height: 900 } });
  try {
    await signIn(page, w.server.base, EMAIL, PASSWORD);
    await page.goto(`${w.server.base}/app/#/settings/inboxes/${mail.id}`);
    const card = page.locator('section[data-card="connection"]');
    await card.waitFor();
    assert.equal(await card.getByLabel('Inbox address').inputValue(), 'help@shop.test');
    // Options never set show the server's defaults: both sides on, TLS, STARTTLS.
    assert.equal(await card.getByLabel('Read incoming mail over IMAP').isChecked(), true);
    assert.equal(await card.getByLabel('Send replies over SMTP').isChecked(), true);
    assert.equal(await card.getByLabel('SMTP with STARTTLS').isChecked(), true);
    await card.getByLabel('IMAP server').fill('imap.shop.test');
    await card.getByLabel('IMAP port').fill('993');
    await card.getByLabel('IMAP login').fill('help');
    await card.getByLabel('IMAP password').fill('mail secret 1');
    await card.getByLabel('IMAP over TLS').check();
    await card.getByLabel('SMTP server').fill('smtp.shop.test');
    // STARTTLS picks the submission port while the port is empty or another default.
    await card.getByLabel('SMTP with STARTTLS').check();
    assert.equal(await card.getByLabel('SMTP port').inputValue(), '587');
    await card.getByLabel('SMTP login method').selectOption('login');
    await card.getByLabel('Domain for EHLO').fill('mail.shop.test');
    // The connection's state is shown (nothing connects to these made-up servers).
    await card.locator('[data-connection-state]').waitFor();
    const saved = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(`/inboxes/${mail.id}`));
    await card.getByRole('button', { name: 'Save' }).click();
    assert.equal((await saved).status(), 200);
    const got = (await w.agent.call('GET', `/inboxes/${mail.id}`)).body;
    assert.equal(got.channel_settings.imap_address, 'imap.shop.test');
    assert.equal(got.channel_settings.imap_port, 993);
    assert.equal(got.channel_settings.imap_enable_ssl, true);
    assert.equal(got.channel_settings.smtp_address, 'smtp.shop.test');
    assert.equal(got.channel_settings.smtp_port, 587);
    assert.equal(got.channel_settings.smtp_enable_starttls_auto, true);
    assert.equal(got.channel_settings.smtp_enable_ssl_tls, false);
    assert.equal(got.channel_settings.smtp_authentication, 'login');
    assert.equal(got.channel_settings.smtp_domain, 'mail.shop.test');
    assert.equal(JSON.stringify(got).includes('mail secret 1'), false, 'the password is never returned');
    await page.reload();
    const again = page.locator('section[data-card="connection"]');
    await again.waitFor();
    assert.equal(await again.getByLabel('IMAP server').inputValue(), 'imap.shop.test');
    assert.equal(await again.getByLabel('IMAP port').inputValue(), '993');
    assert.equal(await again.getByLabel('IMAP password').inputValue(), '');
    assert.equal(await again.getByLabel('IMAP over TLS').isChecked(), true);
    assert.equal(await again.getByLabel('SMTP with STARTTLS').isChecked(), true);
    assert.equal(await again.getByLabel('SMTP login method').inputValue(), 'login');
    assert.equal(await again.getByLabel('Domain for EHLO').inputValue(), 'mail.shop.test');
    assert.equal(await page.locator('section[data-card="prechat"]').count(), 0, 'no widget cards for a mailbox');
    await page.setViewportSize({ width: 1366, height: 1500 });
    await again.screenshot({ path: join(OUT, 'console-inbox-connection-en.png') });
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    await w.agent.call('DELETE', `/inboxes/${mail.id}`);
  }
});

test('the inbox page in English and Russian (screenshots)', async () => {
  for (const [locale, lang] of [
    ['en-US', 'en'],
    ['ru-RU', 'ru'],
  ]) {
    const { page, errors, blocked, close } = await consolePage(locale);
    try {
      if (lang === 'ru') await page.locator('section[data-card="prechat"] h3', { hasText: 'Анкета перед чатом' }).waitFor();
      await page.screenshot({ path: join(OUT, `console-inbox-settings-${lang}.png`), fullPage: true });
      for (const c of ['prechat', 'availability', 'csat', 'identity']) {
        await page.locator(`section[data-card="${c}"]`).screenshot({ path: join(OUT, `console-inbox-${c}-${lang}.png`) });
      }
      assert.deepEqual(blocked, []);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  }
});
