// Settings → Bots: an administrator creates the built-in bot in the console, sees its token
// once, attaches it to the website inbox; a visitor of the shop talks to it in the widget
// (an answer from a canned response, then the name and phone it asks for) and is handed
// off to the operator, who gets the conversation with the contact filled in. The pages in
// English and Russian, with screenshots.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launch, openPage } from '../lib/browser.js';
import { widgetWorld, shopSite, shopPage, widgetFrame } from '../lib/widget.mjs';
import { signIn, sleep } from '../lib/console.mjs';

let w;
let site;
let browser;
let botId;

const shot = (name) => (process.env.PARLEY_E2E_SCREENSHOTS ? `${process.env.PARLEY_E2E_SCREENSHOTS}/${name}.png` : `/tmp/${name}.png`);

before(async () => {
  w = await widgetWorld();
  site = await shopSite(w.server.base, w.websiteToken, { '/': shopPage({ title: 'Coffee Corner' }) });
  browser = await launch();
  const canned = await w.agent.call('POST', '/canned_responses', { short_code: 'shipping', content: 'We ship every order within 2 days.' });
  assert.ok(canned.status < 300, JSON.stringify(canned.body));
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

async function until(check, what) {
  for (let i = 0; ; i++) {
    const v = await check();
    if (v) return v;
    if (i && i % 100 === 0) console.log(`still waiting for ${what}`);
    await sleep(100);
  }
}

async function latestConversation() {
  const r = await w.agent.call('GET', '/conversations?status=all');
  const list = r.body.data.payload;
  return list.reduce((a, c) => (!a || c.id > a.id ? c : a), null);
}

async function send(frame, text) {
  await frame.fill('#composer', text);
  await frame.press('#composer', 'Enter');
}

test('an administrator creates the built-in bot and attaches it to the inbox', async () => {
  const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 } });
  await signIn(page, w.server.base, 'maria@shop.test', 'correct horse battery');
  await page.goto(`${w.server.base}/app/#/settings/bots`);
  await page.getByRole('heading', { name: 'Bots' }).waitFor();
  await page.getByText('No bots yet').waitFor();

  await page.locator('[data-action="new-bot"]').click();
  const dialog = page.getByRole('dialog');
  // No name: refused in the console's words, nothing created.
  await dialog.getByRole('button', { name: 'Create' }).click();
  await dialog.getByText('Give the bot a name.').waitFor();
  assert.equal((await w.agent.call('GET', '/agent_bots')).body.length, 0);
  await dialog.getByLabel('Name').fill('Night helper');
  assert.equal(await dialog.getByLabel('Kind').inputValue(), 'builtin');
  await dialog.getByRole('button', { name: 'Create' }).click();

  // The token, once.
  const token = await page.locator('[data-token]').inputValue();
  assert.match(token, /^bot_/);
  await page.locator('[data-action="token-done"]').click();
  await page.getByRole('heading', { name: 'Night helper' }).waitFor();
  const bots = (await w.agent.call('GET', '/agent_bots')).body;
  assert.equal(bots.length, 1);
  botId = bots[0].id;
  assert.equal(bots[0].bot_type, 'builtin');
  assert.equal(bots[0].access_token, null, 'not shown again');

  // Hand-off words and the inbox.
  await page.getByLabel('Hand-off words').fill('operator, human, оператор');
  await page.locator('form[data-form="bot"]').getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved').first().waitFor();
  await until(async () => (await w.agent.call('GET', `/agent_bots/${botId}`)).body.bot_config.handoff_words.includes('human'), 'the words saved');
  await page.locator(`[data-inbox="${w.inbox.id}"]`).check();
  await page.locator('[data-action="save-inboxes"]').click();
  await until(async () => (await w.agent.call('GET', `/inboxes/${w.inbox.id}/agent_bot`)).body.agent_bot?.id === botId, 'the bot attached');
  await page.locator(`[data-inbox="${w.inbox.id}"]:checked`).waitFor();
  await page.screenshot({ path: shot('console-bots-en'), fullPage: true });

  // The list, and the inbox's own page names the bot.
  await page.goto(`${w.server.base}/app/#/settings/bots`);
  const row = page.locator(`tr[data-bot="${botId}"]`);
  await row.getByText('Built-in bot').waitFor();
  await row.getByText('Coffee Corner').waitFor();
  await page.goto(`${w.server.base}/app/#/settings/inboxes/${w.inbox.id}`);
  const card = page.locator('section[data-card="bot"]');
  await until(async () => (await card.locator('select').inputValue()) === String(botId), 'the inbox page shows the bot');
  assert.deepEqual(errors, []);
  await close();
});

test('a widget visitor talks to the bot and is handed off to the operator', async () => {
  const { page, errors, close } = await openPage(browser);
  try {
    await page.goto(site.base + '/');
    const { frame } = await widgetFrame(page);
    await page.evaluate(() => document.querySelector('parley-widget').shadowRoot.querySelector('.b').click());
    await frame.waitForSelector('#composer');
    await send(frame, 'How long does shipping take?');
    await frame.locator('.row.them', { hasText: 'We ship every order within 2 days.' }).waitFor();
    const conv = await until(latestConversation, 'the conversation');
    assert.equal(conv.status, 'pending', 'the bot holds it');
    assert.equal(conv.meta.assignee ?? null, null, 'not routed while the bot holds it');

    await send(frame, 'I want to talk to a human');
    await frame.locator('.row.them', { hasText: 'What is your name?' }).waitFor();
    await send(frame, 'Anna');
    await frame.locator('.row.them', { hasText: 'phone number' }).waitFor();
    await send(frame, '+1 555 123 4567');
    await frame.locator('.row.them', { hasText: 'passing the conversation to an operator' }).waitFor();
    await page.screenshot({ path: shot('widget-bot-handoff-en') });

    const after = await until(async () => {
      const c = (await w.agent.call('GET', `/conversations/${conv.id}`)).body;
      return c.status === 'open' && c.meta.assignee?.id === w.agent.userId ? c : null;
    }, 'the hand-off to Maria');
    const contact = (await w.agent.call('GET', `/contacts/${after.meta.sender.id}`)).body.payload;
    assert.equal(contact.name, 'Anna');
    assert.equal(contact.phone_number, '+1 555 123 4567');

    // The operator sees the hand-off line in the conversation.
    const console_ = await openPage(browser, { viewport: { width: 1366, height: 900 } });
    await signIn(console_.page, w.server.base, 'maria@shop.test', 'correct horse battery');
    await console_.page.goto(`${w.server.base}/app/#/conversations/${conv.id}`);
    await console_.page.getByText('The customer asked for a person; Night helper handed the conversation to agents').waitFor();
    await console_.page.screenshot({ path: shot('console-bot-handoff-en'), fullPage: true });
    assert.deepEqual(console_.errors, []);
    await console_.close();
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('the bots pages in Russian', async () => {
  const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 }, locale: 'ru-RU' });
  await signIn(page, w.server.base, 'maria@shop.test', 'correct horse battery');
  await page.goto(`${w.server.base}/app/#/settings/bots`);
  await page.getByRole('heading', { name: 'Боты' }).waitFor();
  await page.locator(`tr[data-bot="${botId}"]`).getByText('Встроенный бот').waitFor();
  await page.screenshot({ path: shot('console-bots-list-ru'), fullPage: true });
  await page.goto(`${w.server.base}/app/#/settings/bots/${botId}`);
  await page.getByText('Что делает встроенный бот').waitFor();
  await page.getByText('Слова для вызова оператора').waitFor();
  await page.screenshot({ path: shot('console-bots-ru'), fullPage: true });
  await page.goto(`${w.server.base}/app/#/settings/inboxes/${w.inbox.id}`);
  await page.locator('section[data-card="bot"]').getByText('Управление ботами').waitFor();
  assert.deepEqual(errors, []);
  await close();
});

test('an outside bot’s page shows what was sent to its address', async () => {
  // The bot's own receiver on loopback (the server allows private targets on a loopback listen).
  const { createServer } = await import('node:http');
  const got = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push(body);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const api = await w.agent.call('POST', '/inboxes', { name: 'Bridge', channel: { type: 'api' } });
    const bot = await w.agent.call('POST', '/agent_bots', { name: 'Order bot', bot_type: 'webhook', outgoing_url: `http://127.0.0.1:${receiver.address().port}/bot` });
    assert.ok(bot.status < 300, JSON.stringify(bot.body));
    await w.agent.call('POST', `/inboxes/${api.body.id}/set_agent_bot`, { agent_bot: bot.body.id });
    const contact = (await w.agent.call('POST', '/contacts', { name: 'Oleg', inbox_id: api.body.id })).body.payload.contact;
    const conv = await w.agent.call('POST', '/conversations', { inbox_id: api.body.id, contact_id: contact.id });
    // Bots hear what Chatwoot sends them (not conversation_created): the customer's message.
    const sent = await w.agent.call('POST', `/conversations/${conv.body.id}/messages`, { content: 'Where is my order?', message_type: 'incoming' });
    assert.ok(sent.status < 300, JSON.stringify(sent.body));
    await until(() => got.some((b) => JSON.parse(b).event === 'message_created'), 'a delivery to the bot');

    const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 } });
    await signIn(page, w.server.base, 'maria@shop.test', 'correct horse battery');
    await page.goto(`${w.server.base}/app/#/settings/bots/${bot.body.id}`);
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    const row = page.locator('[data-log="bot"] tr[data-delivery]').first();
    await row.waitFor();
    assert.equal(await row.getAttribute('data-status'), 'delivered');
    // A bot's log has no "send again": its deliveries are the bot's conversation.
    assert.equal(await page.locator('[data-log="bot"] [data-action="redeliver"]').count(), 0);
    await page.screenshot({ path: shot('console-bot-log-en'), fullPage: true });
    assert.deepEqual(errors, []);
    await close();
  } finally {
    receiver.close();
  }
});
