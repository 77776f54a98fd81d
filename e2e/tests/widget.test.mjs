// The website widget in Debian's Chromium, embedded in a shop page served from another
// origin than Parley (localhost vs 127.0.0.1), with an agent answering over the API.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';

import { launch, openPage } from '../lib/browser.js';
import { widgetWorld, shopSite, shopPage, widgetFrame, eventually } from '../lib/widget.mjs';

let w;
let site;
let browser;

const CORNER_BUTTON = '<button id="buy" style="position:fixed;right:12px;bottom:12px;width:150px;height:60px">Add to cart</button>';

before(async () => {
  w = await widgetWorld();
  site = await shopSite(w.server.base, w.websiteToken, {
    '/': shopPage({ title: 'Coffee Corner', extra: CORNER_BUTTON }),
    '/ru': shopPage({ title: 'Кофейня', lang: 'ru' }),
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

/** Rectangles of the bubble (inside the loader's shadow root) and the iframe. */
async function widgetRects(page) {
  return page.evaluate(() => {
    const root = document.querySelector('parley-widget').shadowRoot;
    const r = (el) => {
      const b = el.getBoundingClientRect();
      return { x: b.x, y: b.y, w: b.width, h: b.height, shown: getComputedStyle(el).display !== 'none' && !el.hidden };
    };
    return { bubble: r(root.querySelector('.b')), tab: r(root.querySelector('.t')), frame: r(root.querySelector('iframe')) };
  });
}

async function clickBubble(page) {
  await page.evaluate(() => document.querySelector('parley-widget').shadowRoot.querySelector('.b').click());
}

/** The newest conversation of the account, as the agent sees it. */
async function latestConversation() {
  const r = await w.agent.call('GET', '/conversations?status=all');
  const list = r.body.data.payload;
  return list.reduce((a, c) => (!a || c.id > a.id ? c : a), null);
}

async function agentMessages(id) {
  const r = await w.agent.call('GET', `/conversations/${id}/messages`);
  return r.body.payload;
}

async function send(frame, text) {
  await frame.fill('#composer', text);
  await frame.press('#composer', 'Enter');
}

test('the bubble appears, avoids a button in its corner, collapses to a tab', async () => {
  const { page, blocked, errors, close } = await openPage(browser);
  try {
    await page.goto(site.base + '/');
    await widgetFrame(page);
    const { bubble } = await eventually(async () => {
      const r = await widgetRects(page);
      return r.bubble.shown && r.bubble.w > 0 ? r : null;
    }, 10000, 'bubble shown');
    const buy = await page.locator('#buy').boundingBox();
    const overlap = !(bubble.x + bubble.w <= buy.x || buy.x + buy.width <= bubble.x || bubble.y + bubble.h <= buy.y || buy.y + buy.height <= bubble.y);
    assert.equal(overlap, false, `bubble ${JSON.stringify(bubble)} overlaps button ${JSON.stringify(buy)}`);
    assert.ok(bubble.x > 1280 / 2, 'still in the right-hand corner');
    // The page's button still takes clicks at its centre.
    await page.locator('#buy').click({ trial: true });

    // Hide the bubble: a tab remains and survives a reload; the tab opens the chat.
    await page.evaluate(() => document.querySelector('parley-widget').shadowRoot.querySelector('.x').click());
    let r = await widgetRects(page);
    assert.equal(r.bubble.shown, false);
    assert.equal(r.tab.shown, true);
    await page.reload();
    await widgetFrame(page);
    r = await eventually(async () => {
      const x = await widgetRects(page);
      return x.tab.shown ? x : null;
    }, 10000, 'tab after reload');
    await page.evaluate(() => document.querySelector('parley-widget').shadowRoot.querySelector('.t').click());
    r = await widgetRects(page);
    assert.equal(r.frame.shown, true, 'the tab opens the chat');
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a visitor writes, the agent sees page URL and UTM, replies and types; reload keeps history', async () => {
  const { page, blocked, errors, close } = await openPage(browser);
  try {
    await page.goto(site.base + '/?utm_source=newsletter&utm_medium=email&utm_campaign=spring');
    const { frame } = await widgetFrame(page);
    const events = [];
    await page.exposeFunction('recordEvent', (e) => events.push(e));
    await page.evaluate(() => {
      for (const n of ['open', 'close', 'message']) window.Parley.on(n, (d) => window.recordEvent({ n, d }));
    });
    await clickBubble(page);
    await frame.waitForSelector('#composer');
    await frame.waitForSelector('text=Maria Ivanova is online');
    await send(frame, 'Hello, where is my order #123?');
    await frame.waitForSelector('.row.me .st.sent', { timeout: 10000 });

    const conv = await eventually(latestConversation, 10000, 'conversation');
    const attrs = conv.additional_attributes;
    assert.match(attrs.page_url, /^http:\/\/localhost:\d+\/\?utm_source=newsletter/);
    assert.equal(attrs.page_title, 'Coffee Corner');
    assert.deepEqual(attrs.utm, { utm_source: 'newsletter', utm_medium: 'email', utm_campaign: 'spring' });
    assert.equal(attrs.browser.browser_name, 'Chrome');
    assert.ok(Array.isArray(attrs.page_trail) && attrs.page_trail.length >= 1);
    const msgs = await agentMessages(conv.id);
    assert.deepEqual(
      msgs.filter((m) => m.message_type === 0).map((m) => m.content),
      ['Hello, where is my order #123?'],
    );

    // Typing, then the reply, then the agent reads: the visitor sees all three.
    await w.agent.call('POST', `/conversations/${conv.id}/toggle_typing_status`, { typing_status: 'on' });
    await frame.waitForSelector('.typing >> text=Maria Ivanova is typing', { timeout: 10000 });
    await w.agent.call('POST', `/conversations/${conv.id}/messages`, { content: 'It ships today: https://track.example/123' });
    await frame.waitForSelector('.row.them >> text=It ships today', { timeout: 10000 });
    assert.equal(await frame.locator('.typing').count(), 0, 'typing ends with the message');
    const link = frame.locator('.row.them a[href="https://track.example/123"]');
    assert.equal(await link.count(), 1, 'links are clickable');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow');
    await w.agent.call('POST', `/conversations/${conv.id}/update_last_seen`);
    await frame.waitForSelector('.row.me .st.read', { timeout: 10000 });
    assert.ok(events.some((e) => e.n === 'open'));
    assert.ok(events.some((e) => e.n === 'message' && /ships today/.test(e.d.content)));

    // The visitor's reading reaches the agent.
    await eventually(async () => {
      const c = (await w.agent.call('GET', `/conversations/${conv.id}`)).body;
      return c.contact_last_seen_at > 0;
    }, 10000, 'contact_last_seen_at');

    // Reload: the history comes back, nothing twice.
    await page.reload();
    const again = (await widgetFrame(page)).frame;
    await page.evaluate(() => window.Parley.open());
    await again.waitForSelector('.row.them >> text=It ships today', { timeout: 10000 });
    assert.equal(await again.locator('.row.me').count(), 1);
    assert.equal(await again.locator('.row.them:not(.greet)').count(), 1);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a message written offline is delivered once when the network is back', async () => {
  const { page, blocked, errors, close } = await openPage(browser);
  const context = page.context();
  try {
    await page.goto(site.base + '/');
    const { frame } = await widgetFrame(page);
    await clickBubble(page);
    await frame.waitForSelector('#composer');
    await send(frame, 'first, online');
    await frame.waitForSelector('.row.me .st.sent', { timeout: 10000 });
    const conv = await eventually(async () => {
      const c = await latestConversation();
      const m = c && (await agentMessages(c.id));
      return m && m.some((x) => x.content === 'first, online') ? c : null;
    }, 10000, 'first message');

    await context.setOffline(true);
    await send(frame, 'written while offline');
    await frame.waitForSelector('.row.me .st.failed', { timeout: 5000 });
    await new Promise((r) => setTimeout(r, 1000));
    assert.ok(!(await agentMessages(conv.id)).some((m) => m.content === 'written while offline'), 'not delivered while offline');
    await context.setOffline(false);

    await eventually(async () => (await agentMessages(conv.id)).some((m) => m.content === 'written while offline'), 20000, 'delivery after reconnect');
    await frame.waitForFunction(() => document.querySelectorAll('.row.me .st.sending, .row.me .st.failed').length === 0, null, { timeout: 10000 });
    await new Promise((r) => setTimeout(r, 1500));
    const stored = (await agentMessages(conv.id)).filter((m) => m.content === 'written while offline');
    assert.equal(stored.length, 1, 'stored exactly once');
    assert.equal(await frame.locator('.row.me >> text=written while offline').count(), 1, 'shown exactly once');
    assert.deepEqual(blocked, []);
    // Requests made while offline fail by design; no uncaught error is acceptable.
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('mobile 375x667 opens full screen', async () => {
  const { page, blocked, errors, close } = await openPage(browser, { viewport: { width: 375, height: 667 } });
  try {
    await page.goto(site.base + '/');
    const { frame } = await widgetFrame(page);
    await clickBubble(page);
    await frame.waitForSelector('#composer');
    const r = await widgetRects(page);
    assert.deepEqual([r.frame.x, r.frame.y, r.frame.w, r.frame.h], [0, 0, 375, 667]);
    assert.equal(r.bubble.shown, false, 'the bubble steps aside while the sheet is open');
    await frame.click('header button');
    const closed = await widgetRects(page);
    assert.equal(closed.frame.shown, false);
    assert.equal(closed.bubble.shown, true);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('customer and agent text with markup renders as text', async () => {
  const { page, blocked, errors, close } = await openPage(browser);
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  try {
    await page.goto(site.base + '/');
    const { frame } = await widgetFrame(page);
    await clickBubble(page);
    await frame.waitForSelector('#composer');
    const evil = '<img src=x onerror=alert(1)>';
    await send(frame, evil);
    await frame.waitForSelector('.row.me .st.sent', { timeout: 10000 });
    const conv = await latestConversation();
    await w.agent.call('POST', `/conversations/${conv.id}/messages`, { content: '<b>bold</b><script>alert(2)</script>' });
    await frame.waitForSelector('.row.them >> text=<b>bold</b>', { timeout: 10000 });
    assert.equal(await frame.locator('.row.me p').first().textContent(), evil);
    assert.equal(await frame.locator('.bubble img, .bubble b:not(.who), .bubble script').count(), 0);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(dialogs, []);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('after resolve the visitor rates the conversation and the agent reads the rating', async () => {
  await w.agent.call('PATCH', `/inboxes/${w.inbox.id}`, { csat_survey_enabled: true });
  const { page, blocked, errors, close } = await openPage(browser);
  try {
    await page.goto(site.base + '/');
    const { frame } = await widgetFrame(page);
    await clickBubble(page);
    await frame.waitForSelector('#composer');
    await send(frame, 'Thanks, all clear');
    await frame.waitForSelector('.row.me .st.sent', { timeout: 10000 });
    const conv = await latestConversation();
    await w.agent.call('POST', `/conversations/${conv.id}/toggle_status`, { status: 'resolved' });
    await frame.waitForSelector('.csat .stars button', { timeout: 10000 });
    await frame.waitForSelector('text=This conversation is closed.');
    assert.equal(await frame.locator('#composer').isVisible(), false);
    await frame.locator('.csat .stars button').nth(3).click();
    await frame.fill('.csat textarea', 'Fast and friendly');
    await frame.click('.csat button.primary');
    await frame.waitForSelector('text=Thank you for your rating!', { timeout: 10000 });
    const survey = await eventually(async () => {
      const m = (await agentMessages(conv.id)).find((x) => x.content_type === 'input_csat');
      return m && m.content_attributes.submitted_values ? m : null;
    }, 10000, 'rating stored');
    assert.deepEqual(survey.content_attributes.submitted_values.csat_survey_response, { rating: 4, feedback_message: 'Fast and friendly' });

    // A new conversation can start.
    await frame.click('text=Start a new conversation');
    await send(frame, 'One more question');
    await eventually(async () => (await latestConversation()).id !== conv.id, 10000, 'new conversation');
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    await w.agent.call('PATCH', `/inboxes/${w.inbox.id}`, { csat_survey_enabled: false });
  }
});

test('setUser: a wrong hash is refused when identity validation is required, a right one is accepted', async () => {
  await w.agent.call('PATCH', `/inboxes/${w.inbox.id}`, { hmac_mandatory: true });
  const { page, blocked, errors, close } = await openPage(browser);
  try {
    const secret = (await w.agent.call('GET', `/inboxes/${w.inbox.id}`)).body.hmac_token;
    assert.ok(secret, 'administrators see the inbox secret');
    await page.goto(site.base + '/');
    const { frame } = await widgetFrame(page);
    const seen = [];
    await page.exposeFunction('recordSdk', (e) => seen.push(e));
    await page.evaluate(() => {
      window.Parley.on('error', (d) => window.recordSdk({ n: 'error', d }));
      window.Parley.on('user', (d) => window.recordSdk({ n: 'user', d }));
    });
    await page.evaluate(() => window.Parley.setUser('customer-42', { name: 'Ivan Petrov', email: 'ivan@example.test', identifier_hash: 'deadbeef' }));
    await eventually(() => seen.find((e) => e.n === 'error'), 10000, 'error event');
    assert.equal(seen.find((e) => e.n === 'error').d.code, 'invalid_identifier_hash');
    const found = await w.agent.call('GET', '/contacts/search?q=customer-42');
    assert.equal(found.body.payload.length, 0, 'no contact created for a refused identity');

    const hash = createHmac('sha256', secret).update('customer-42').digest('hex');
    await page.evaluate((h) => window.Parley.setUser('customer-42', { name: 'Ivan Petrov', email: 'ivan@example.test', identifier_hash: h }), hash);
    await eventually(() => seen.find((e) => e.n === 'user'), 10000, 'user event');
    await clickBubble(page);
    await frame.waitForSelector('#composer');
    await send(frame, 'Hi, it is Ivan');
    await frame.waitForSelector('.row.me .st.sent', { timeout: 10000 });
    const conv = await latestConversation();
    assert.equal(conv.meta.sender.identifier, 'customer-42');
    assert.equal(conv.meta.sender.name, 'Ivan Petrov');
    assert.equal(conv.meta.hmac_verified, true);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    await w.agent.call('PATCH', `/inboxes/${w.inbox.id}`, { hmac_mandatory: false });
  }
});

test('outside working hours the offline form leaves a request; RU text on a Russian page', async () => {
  const closed = [0, 1, 2, 3, 4, 5, 6].map((d) => ({ day_of_week: d, closed_all_day: true }));
  await w.agent.call('PATCH', `/inboxes/${w.inbox.id}`, { working_hours_enabled: true, working_hours: closed });
  const { page, blocked, errors, close } = await openPage(browser, { locale: 'ru-RU' });
  try {
    await page.goto(site.base + '/ru');
    const { frame } = await widgetFrame(page);
    await clickBubble(page);
    await frame.waitForSelector('form.form');
    await frame.waitForSelector('text=Сейчас мы не на связи');
    await frame.click('form.form button[type=submit]');
    await frame.waitForSelector('.err >> text=Укажите e-mail или телефон');
    await frame.fill('input[name=name]', 'Ольга');
    await frame.fill('input[name=email]', 'olga@example.test');
    await frame.fill('textarea[name=question]', 'Есть ли доставка в Казань?');
    await frame.click('form.form button[type=submit]');
    await frame.waitForSelector('text=Спасибо! Заявка получена', { timeout: 10000 });
    const conv = await eventually(async () => {
      const c = await latestConversation();
      return c && c.additional_attributes.offline_request ? c : null;
    }, 10000, 'offline request');
    assert.equal(conv.meta.sender.email, 'olga@example.test');
    assert.equal(conv.meta.sender.name, 'Ольга');
    const msgs = await agentMessages(conv.id);
    assert.ok(msgs.some((m) => m.content === 'Есть ли доставка в Казань?'));
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    await w.agent.call('PATCH', `/inboxes/${w.inbox.id}`, { working_hours_enabled: false });
  }
});
