// Screenshots of the widget, desktop and mobile, in English and Russian, with a short
// conversation. Written to $PARLEY_E2E_SCREENSHOTS (default: the temp directory), or to
// docs/img/ with PARLEY_WIDGET_DOCS_IMG=1 (how the README's pictures are made).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';

import { launch, openPage } from '../lib/browser.js';
import { widgetWorld, shopSite, shopPage, widgetFrame } from '../lib/widget.mjs';

const OUT = process.env.PARLEY_WIDGET_DOCS_IMG
  ? resolve(import.meta.dirname, '..', '..', 'docs', 'img')
  : process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();

let w;
let site;
let browser;

before(async () => {
  w = await widgetWorld();
  site = await shopSite(w.server.base, w.websiteToken, {
    '/en': shopPage({ title: 'Coffee Corner: beans and brewing gear' }),
    '/ru': shopPage({ title: 'Кофейня: зерно и всё для заваривания', lang: 'ru' }),
  });
  browser = await launch();
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

const CASES = [
  { name: 'widget-desktop-en', path: '/en', viewport: { width: 1280, height: 800 }, locale: 'en-US', ask: 'Hi! Do you ship to Kazan? https://shop.example/delivery', reply: 'Hello! Yes, delivery to Kazan takes 2–3 days.' },
  { name: 'widget-desktop-ru', path: '/ru', viewport: { width: 1280, height: 800 }, locale: 'ru-RU', ask: 'Здравствуйте! Доставляете в Казань?', reply: 'Добрый день! Да, доставка в Казань 2–3 дня.' },
  { name: 'widget-mobile-en', path: '/en', viewport: { width: 375, height: 667 }, locale: 'en-US', ask: 'Is the grinder in stock?', reply: 'Yes, we have 4 left.' },
  { name: 'widget-mobile-ru', path: '/ru', viewport: { width: 375, height: 667 }, locale: 'ru-RU', ask: 'Кофемолка есть в наличии?', reply: 'Да, осталось 4 штуки.' },
];

for (const c of CASES) {
  test(`screenshot ${c.name}`, async () => {
    const { page, blocked, errors, close } = await openPage(browser, { viewport: c.viewport, locale: c.locale });
    try {
      await page.goto(site.base + c.path);
      const { frame } = await widgetFrame(page);
      await page.screenshot({ path: join(OUT, `${c.name}-closed.png`) });
      await page.evaluate(() => window.Parley.open());
      await frame.waitForSelector('#composer');
      await frame.fill('#composer', c.ask);
      await frame.press('#composer', 'Enter');
      await frame.waitForSelector('.row.me .st.sent', { timeout: 10000 });
      const list = (await w.agent.call('GET', '/conversations?status=all')).body.data.payload;
      const conv = list.reduce((a, x) => (!a || x.id > a.id ? x : a), null);
      await w.agent.call('POST', `/conversations/${conv.id}/messages`, { content: c.reply });
      await w.agent.call('POST', `/conversations/${conv.id}/update_last_seen`);
      await frame.waitForSelector('.row.me .st.read', { timeout: 10000 });
      await w.agent.call('POST', `/conversations/${conv.id}/toggle_typing_status`, { typing_status: 'on' });
      await frame.waitForSelector('.typing', { timeout: 10000 });
      await page.screenshot({ path: join(OUT, `${c.name}.png`) });
      await w.agent.call('POST', `/conversations/${conv.id}/toggle_typing_status`, { typing_status: 'off' });
      assert.deepEqual(blocked, []);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
}
