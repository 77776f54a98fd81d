// Screenshots of the console in English and Russian (list, conversation, settings) on a
// laptop screen (1366×768) and a large monitor, with checks that nothing overflows the
// window. They go to $PARLEY_E2E_SCREENSHOTS (default: the temp directory); with
// PARLEY_CONSOLE_DOCS_IMG=1 to docs/img/ for the README.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdirSync } from 'node:fs';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { scene, signIn } from '../lib/console.mjs';

const SHOTS = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
// The six pictures of the docs (RU and EN: list, conversation, settings) go to docs/img on
// request; the others (large monitor, canned responses) always to the screenshot directory.
const OUT = process.env.PARLEY_CONSOLE_DOCS_IMG ? resolve(import.meta.dirname, '..', '..', 'docs', 'img') : SHOTS;

let server;
let browser;
let s;
let openId;

const ADMIN = { name: 'Мария Иванова', email: 'maria@shop.test', password: 'correct horse battery', account_name: 'Shop' };

before(async () => {
  mkdirSync(OUT, { recursive: true });
  mkdirSync(SHOTS, { recursive: true });
  server = await startParley();
  browser = await launch();
  s = await scene(server.base, { admin: ADMIN });
  const ivan = await s.agent({ name: 'Ivan Petrov', email: 'ivan@shop.test' });
  const delivery = await s.team('Доставка');
  await s.team('Payments');
  await s.label('vip', '#d97706');
  await s.label('delivery', '#2563eb');
  await s.label('refund', '#dc2626');
  await s.canned('hello', 'Здравствуйте, {{contact.name}}! Меня зовут {{agent.name}}, чем могу помочь?');
  await s.canned('track', 'Track your parcel here: https://shop.example/track/{{conversation.id}}');
  await s.api('POST', '/inboxes', { name: 'Partner API', channel: { type: 'api' } });

  const people = [
    ['Ольга Смирнова', 'Добрый день! Можно поменять адрес доставки?'],
    ['John Carter', 'Hi, my card was charged twice for order 5531'],
    ['Пётр Соколов', 'Когда будет в наличии модель X200?'],
    ['Emma Wilson', 'Do you ship to Finland?'],
    ['Алексей', 'Спасибо, всё получил!'],
    ['Dmitry K.', 'Промокод не применяется к корзине'],
    ['Lucy Brown', 'Is there a warranty for refurbished phones?'],
  ];
  const convs = [];
  for (const [name, text] of people) {
    const v = await s.visitor({ name, email: `${name.split(' ')[0].toLowerCase().replace(/[^a-z]/g, '') || 'guest'}${convs.length}@example.test`, message: text });
    convs.push(v);
  }
  // The opened one: a real-looking exchange with a note, an activity line and a reply.
  const now = Math.floor(Date.now() / 1000);
  const anna = await s.visitor({
    name: 'Анна Кузнецова',
    email: 'anna@example.test',
    message: 'Здравствуйте! Заказ 1042 должен был прийти вчера, но его всё нет.',
    // What the widget reports about the visit.
    context: {
      page_url: 'https://shop.example/orders/1042',
      page_title: 'Заказ 1042 — Мой магазин',
      visit_referrer: 'https://yandex.ru/search/?text=shop',
      utm: { utm_source: 'yandex', utm_medium: 'cpc', utm_campaign: 'autumn-sale' },
      browser: { browser_name: 'Firefox', browser_version: '133', platform_name: 'Windows', platform_version: '10' },
      browser_language: 'ru-RU',
      timezone: 'Europe/Moscow',
      screen: '1920x1080',
      time_on_site: 420,
      visit_started_at: now - 420,
      page_trail: [
        { url: 'https://shop.example/', title: 'Мой магазин', at: now - 420 },
        { url: 'https://shop.example/account', title: 'Личный кабинет', at: now - 300 },
        { url: 'https://shop.example/orders/1042', title: 'Заказ 1042', at: now - 120 },
      ],
    },
  });
  openId = anna.convId;
  // Handed to the delivery team with a note, then taken: two activity lines.
  await s.api('POST', `/conversations/${anna.convId}/transfer`, { team_id: delivery.id, note: 'Вопрос по доставке, передаю в отдел доставки.' });
  await s.api('POST', `/conversations/${anna.convId}/assignments`, { assignee_id: s.userId });
  await s.api('POST', `/conversations/${anna.convId}/messages`, { content: 'Здравствуйте, Анна! Сейчас проверю у курьерской службы.' });
  await s.api('POST', `/conversations/${anna.convId}/messages`, { content: 'Курьер обещает завтра до 14:00. Клиент постоянный — предложить промокод.', private: true });
  await anna.say('Хорошо, а можно доставить после 18:00? Я на работе.');
  await anna.say('И ещё: https://shop.example/orders/1042 — тут адрес старый.');
  await s.api('POST', `/conversations/${anna.convId}/labels`, { labels: ['vip', 'delivery'] });
  await s.api('POST', `/conversations/${anna.convId}/toggle_priority`, { priority: 'high' });
  await s.api('POST', `/conversations/${convs[1].convId}/assignments`, { assignee_id: ivan.id });
  await s.api('POST', `/conversations/${convs[4].convId}/assignments`, { assignee_id: s.userId });
  await s.api('POST', `/conversations/${convs[1].convId}/toggle_priority`, { priority: 'urgent' });
  await convs[2].say('И сколько будет стоить предзаказ?');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function noOverflow(page, what) {
  const o = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, w: window.innerWidth, sh: document.documentElement.scrollHeight, h: window.innerHeight }));
  assert.ok(o.sw <= o.w, `${what}: horizontal overflow ${o.sw} > ${o.w}`);
  assert.ok(o.sh <= o.h, `${what}: vertical overflow ${o.sh} > ${o.h}`);
}

for (const lang of ['en', 'ru']) {
  for (const [vw, vh, tag] of [
    [1366, 768, ''],
    [1920, 1080, '-large'],
  ]) {
    test(`screenshots ${lang} ${vw}×${vh}`, async () => {
      const { page, errors, blocked, close } = await openPage(browser, { viewport: { width: vw, height: vh }, locale: lang === 'ru' ? 'ru-RU' : 'en-US' });
      await signIn(page, server.base, ADMIN.email, ADMIN.password);

      await page.goto(`${server.base}/app/#/conversations/all`);
      await page.locator('.conv-row').nth(7).waitFor();
      await page.locator('body[data-realtime="live"]').waitFor({ timeout: 5000 }).catch(() => {});
      await noOverflow(page, 'list');
      if (!tag) await page.screenshot({ path: join(OUT, `console-${lang}-list.png`) });

      await page.goto(`${server.base}/app/#/conversations/all/${openId}`);
      const conv = page.locator(`.conv-view[data-conversation="${openId}"]`);
      await conv.locator('.msg.note').last().waitFor();
      await conv.locator('.contact-head h3').waitFor();
      // The visit as the widget reported it.
      const panel = await conv.locator('.contact-panel').innerText();
      for (const text of ['autumn-sale', 'Firefox 133', 'Windows 10', 'https://yandex.ru/search/?text=shop', 'Личный кабинет', 'Europe/Moscow']) {
        assert.ok(panel.includes(text), `contact panel shows ${text}:\n${panel}`);
      }
      // Activity lines in the operator's language, from their descriptions; the stored
      // English stays in the tooltip.
      const lines = {
        ru: ['Мария Иванова передал(а) диалог в отдел «Доставка»', 'Мария Иванова взял(а) диалог себе'],
        en: ['Transferred to Доставка team by Мария Иванова', 'Мария Иванова self-assigned this conversation'],
      }[lang];
      const transferred = conv.locator('.msg-activity[data-kind="transferred"] span');
      const taken = conv.locator('.msg-activity[data-kind="self_assigned"] span');
      assert.equal(await transferred.innerText(), lines[0]);
      assert.equal(await taken.innerText(), lines[1]);
      assert.equal(await transferred.getAttribute('title'), 'Transferred to Доставка team by Мария Иванова');
      // The composer spell-checks in the visitor's language.
      assert.equal(await conv.locator('textarea.composer-input').getAttribute('lang'), 'ru');
      // Every action of the header is on screen.
      for (const a of ['transfer', 'labels', 'snooze', 'resolve']) {
        const box = await conv.locator(`[data-action="${a}"]`).boundingBox();
        assert.ok(box && box.x + box.width <= vw && box.y + box.height <= vh, `${a} button visible at ${vw}×${vh}`);
      }
      // The canned-response menu, open, for the picture.
      const input = conv.locator('textarea.composer-input');
      await input.click();
      await input.pressSequentially('/');
      await conv.locator('.canned-item').first().waitFor();
      await noOverflow(page, 'conversation');
      await page.screenshot({ path: join(tag ? SHOTS : OUT, `console-${lang}-conversation${tag}.png`) });
      await input.press('Escape');

      if (!tag) {
        const inbox = s.inbox.id;
        await page.goto(`${server.base}/app/#/settings/inboxes/${inbox}`);
        await page.locator('pre.snippet').waitFor();
        await noOverflow(page, 'settings');
        await page.screenshot({ path: join(OUT, `console-${lang}-settings.png`) });

        await page.goto(`${server.base}/app/#/settings/canned`);
        await page.locator('table.data').waitFor();
        await page.screenshot({ path: join(SHOTS, `console-${lang}-canned.png`) });
      }
      console.log(`screenshots in ${OUT} and ${SHOTS}`);
      assert.deepEqual(errors, []);
      assert.deepEqual(blocked, []);
      await close();
    });
  }
}
