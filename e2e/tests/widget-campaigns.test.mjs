// Proactive invitations (docs/campaigns.md): an invitation triggered by time on the page,
// one triggered by exit intent (the pointer leaves through the top edge), each shown once
// (not again after a reload), the bubble beside the launcher with the chat window closed, a
// reply that starts a conversation routed to the agent with the campaign recorded; and the
// console's Settings → Campaigns page. English and Russian, with screenshots.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

import { launch, openPage } from '../lib/browser.js';
import { widgetWorld, shopSite, shopPage, widgetFrame } from '../lib/widget.mjs';
import { signIn, sleep } from '../lib/console.mjs';

const OUT = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
const shot = (name) => join(OUT, `${name}.png`);

let w;
let site;
let browser;
let timed;
let leaving;

before(async () => {
  w = await widgetWorld({ inbox: { options: { enable_auto_assignment: true } } });
  const make = async (body) => {
    const r = await w.agent.call('POST', '/campaigns', body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  timed = await make({
    title: 'Boots: help',
    message: 'Need help choosing a size? I can check what is in stock.',
    inbox_id: w.inbox.id,
    sender_id: w.agent.userId,
    trigger_rules: { url: '/boots*', time_on_page: 2 },
  });
  leaving = await make({
    title: 'Cart: leaving',
    message: 'Остались вопросы по заказу? Поможем оформить за минуту.',
    inbox_id: w.inbox.id,
    sender_id: w.agent.userId,
    trigger_rules: { url: '*/cart*', exit_intent: true },
  });
  site = await shopSite(w.server.base, w.websiteToken, {
    '/boots': shopPage({ title: 'Winter boots' }),
    '/cart': shopPage({ title: 'Корзина', lang: 'ru' }),
  });
  browser = await launch();
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

/** Polls until `fn` gives something truthy (no time limit: the runner's own applies). */
async function until(fn, what) {
  for (let i = 0; ; i++) {
    const v = await fn();
    if (v) return v;
    if (i && i % 100 === 0) console.log(`still waiting for ${what}`);
    await sleep(100);
  }
}

/** The loader's iframe state: its class and its inline style. */
const frameState = (page) =>
  page.evaluate(() => {
    const f = document.querySelector('parley-widget').shadowRoot.querySelector('iframe');
    return { cls: f.className, style: f.getAttribute('style') || '', display: getComputedStyle(f).display };
  });

const campaign = async (id) => (await w.agent.call('GET', `/campaigns/${id}`)).body;

test('time on page: the invitation beside the launcher, once, and a reply routed to the agent', async () => {
  const { page, blocked, errors, close } = await openPage(browser, { viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  try {
    await page.goto(`${site.base}/boots`);
    const { frame } = await widgetFrame(page);
    const bubble = frame.locator('.invite .inv');
    await bubble.waitFor({ timeout: 0 });
    await frame.locator('.invite .im', { hasText: 'Need help choosing a size?' }).waitFor();
    await frame.locator('.invite .it b', { hasText: 'Maria Ivanova' }).waitFor();
    // The chat window stays closed: the frame is shown small, without the panel.
    const st = await frameState(page);
    assert.equal(st.cls, '', 'the chat window is not open');
    assert.match(st.style, /height:\s*\d+px/, `a small frame: ${st.style}`);
    assert.equal(await frame.locator('#app').isVisible(), false);
    await page.screenshot({ path: shot('widget-campaign-en') });
    assert.equal((await campaign(timed.id)).shown_count, 1);

    // Shown once: not again after a reload (the same visitor, well past the 2 s).
    await page.reload();
    const again = await widgetFrame(page);
    await sleep(3500);
    assert.equal(await again.frame.locator('.invite .inv').count(), 0, 'not shown again');
    assert.equal((await campaign(timed.id)).shown_count, 1);
    assert.equal((await frameState(page)).display, 'none');

    // A fresh visit of another visitor sees it; clicking it opens the chat with the
    // invitation at the top, and the reply starts a routed conversation.
    await close();
    const second = await openPage(browser, { viewport: { width: 1280, height: 800 }, locale: 'en-US' });
    try {
      await second.page.goto(`${site.base}/boots`);
      const { frame: f2 } = await widgetFrame(second.page);
      await f2.locator('.invite .inv').waitFor({ timeout: 0 });
      await f2.locator('.invite .inv').click();
      await f2.waitForSelector('#composer', { timeout: 0 });
      assert.equal((await frameState(second.page)).cls, 'o', 'the chat is open');
      await f2.locator('.row.them', { hasText: 'Need help choosing a size?' }).waitFor({ timeout: 0 });
      await f2.fill('#composer', 'Yes please, size 42?');
      await f2.press('#composer', 'Enter');
      await f2.waitForSelector('.row.me .st.sent', { timeout: 0 });
      const conv = await until(async () => {
        const list = (await w.agent.call('GET', '/conversations?status=all')).body.data.payload;
        return list.find((c) => c.campaign_id === timed.id);
      }, 'the campaign conversation');
      assert.equal(conv.meta.assignee && conv.meta.assignee.id, w.agent.userId, 'routed to the agent');
      const msgs = (await w.agent.call('GET', `/conversations/${conv.id}/messages`)).body.payload.filter((m) => m.message_type !== 2);
      assert.deepEqual(
        msgs.map((m) => m.content),
        ['Need help choosing a size? I can check what is in stock.', 'Yes please, size 42?'],
      );
      assert.equal(msgs[0].sender.id, w.agent.userId);
      const c = await campaign(timed.id);
      assert.equal(c.shown_count, 2);
      assert.equal(c.accepted_count, 1);
      assert.deepEqual(second.errors, []);
      assert.deepEqual(second.blocked, []);
    } finally {
      await second.close();
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(blocked, []);
  } finally {
    await close().catch(() => {});
  }
});

test('exit intent: the pointer leaves through the top edge (Russian), dismissed, not shown again', async () => {
  const { page, blocked, errors, close } = await openPage(browser, { viewport: { width: 1280, height: 800 }, locale: 'ru-RU' });
  try {
    await page.goto(`${site.base}/cart`);
    const { frame } = await widgetFrame(page);
    await page.mouse.move(640, 400);
    await sleep(1500);
    assert.equal(await frame.locator('.invite .inv').count(), 0, 'nothing before the pointer leaves');
    // Toward the tab bar: up and out through the top edge.
    await page.mouse.move(640, 200, { steps: 4 });
    await page.mouse.move(640, -20, { steps: 6 });
    await frame.locator('.invite .inv').waitFor({ timeout: 0 });
    await frame.locator('.invite .im', { hasText: 'Остались вопросы по заказу?' }).waitFor();
    assert.equal(await frame.locator('.invite .x').getAttribute('aria-label'), 'Скрыть');
    await page.screenshot({ path: shot('widget-campaign-ru') });
    assert.equal((await campaign(leaving.id)).shown_count, 1);

    // Dismissed: gone, the chat stays closed; leaving again after a reload shows nothing.
    await frame.locator('.invite .x').click();
    await until(async () => (await frame.locator('.invite .inv').count()) === 0, 'the bubble to go');
    assert.equal((await frameState(page)).display, 'none');
    await page.reload();
    const again = await widgetFrame(page);
    await page.mouse.move(640, 400);
    await page.mouse.move(640, -20, { steps: 6 });
    await sleep(2000);
    assert.equal(await again.frame.locator('.invite .inv').count(), 0, 'not shown again');
    assert.equal((await campaign(leaving.id)).shown_count, 1);
    assert.deepEqual(errors, []);
    assert.deepEqual(blocked, []);
  } finally {
    await close();
  }
});

for (const lang of ['en', 'ru']) {
  test(`Settings → Campaigns: counters, a new campaign with every trigger, on and off (${lang})`, async () => {
    const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 }, locale: lang === 'en' ? 'en-US' : 'ru-RU' });
    const L = lang === 'en'
      ? { heading: 'Campaigns', title: 'Title', text: 'Invitation text', url: 'Page URL', onPage: 'Time on the page, seconds', create: 'Create' }
      : { heading: 'Приглашения', title: 'Название', text: 'Текст приглашения', url: 'Адрес страницы', onPage: 'Время на странице, секунд', create: 'Создать' };
    try {
      await signIn(page, w.server.base, 'maria@shop.test', 'correct horse battery');
      await page.goto(`${w.server.base}/app/#/settings/campaigns`);
      await page.getByRole('heading', { name: L.heading }).first().waitFor();
      const row = page.locator(`tr[data-campaign="${timed.id}"]`);
      await row.waitFor();
      assert.equal(await row.locator('[data-count="shown"]').textContent(), '2');
      assert.equal(await row.locator('[data-count="accepted"]').textContent(), '1');
      assert.equal(await row.locator('[data-count="converted"]').textContent(), '0');

      await page.locator('[data-action="new-campaign"]').click();
      const dialog = page.getByRole('dialog');
      // Nothing typed: refused in the console's words, nothing created.
      await dialog.getByRole('button', { name: L.create }).click();
      await dialog.locator('[data-error="campaign"]').waitFor();
      const before = (await w.agent.call('GET', '/campaigns')).body.length;
      const title = `Idle browsing ${lang}`;
      await dialog.getByLabel(L.title).fill(title);
      await dialog.getByLabel(L.text).fill(lang === 'en' ? 'Still looking? Ask me.' : 'Ищете что-то? Спросите меня.');
      await dialog.getByLabel(L.url).fill('/catalog*');
      await dialog.getByLabel(L.onPage).fill('30');
      await dialog.locator('input[name="time_on_site"]').fill('120');
      await dialog.locator('input[name="pages_viewed"]').fill('3');
      await dialog.locator('input[name="exit_intent"]').check();
      await dialog.locator('select[name="returning_visitor"]').selectOption('true');
      await dialog.locator('input[name="utm_source"]').fill('yandex');
      await dialog.locator('input[name="trigger_only_during_business_hours"]').check();
      await dialog.locator('input[name="show_again_after_days"]').fill('7');
      await page.screenshot({ path: shot(`console-campaigns-form-${lang}`), fullPage: true });
      await dialog.getByRole('button', { name: L.create }).click();
      const created = page.locator('tr[data-campaign]', { hasText: title });
      await created.waitFor();
      const all = (await w.agent.call('GET', '/campaigns')).body;
      assert.equal(all.length, before + 1);
      const c = all.find((x) => x.title === title);
      assert.deepEqual(c.trigger_rules, { url: '/catalog*', time_on_page: 30, time_on_site: 120, pages_viewed: 3, exit_intent: true, returning_visitor: true, utm_source: 'yandex' });
      assert.equal(c.trigger_only_during_business_hours, true);
      assert.equal(c.show_again_after_days, 7);
      assert.equal(c.enabled, true);

      // Off from the list.
      await created.locator('[data-action="toggle-campaign"]').uncheck();
      await until(async () => (await w.agent.call('GET', `/campaigns/${c.id}`)).body.enabled === false, 'disabled');
      await page.locator(`tr[data-campaign="${c.id}"]`).waitFor();
      await page.screenshot({ path: shot(`console-campaigns-${lang}`), fullPage: true });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
}
