// Settings → inbox → "Language and texts": the administrator picks the inbox's language,
// edits a template, previews it with example values, saves, reloads and resets it; the
// widget on an English page speaks the inbox's Russian, and follows the page again when
// the inbox has no language of its own. Screenshots of the section in RU and EN and of the
// widget go to $PARLEY_E2E_SCREENSHOTS (default: the temp directory).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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
let browser;

before(async () => {
  w = await widgetWorld();
  site = await shopSite(w.server.base, w.websiteToken, {
    '/en': shopPage({ title: 'Coffee Corner', lang: 'en' }),
    '/ru': shopPage({ title: 'Кофейня', lang: 'ru' }),
    '/none': shopPage({ title: 'Coffee', lang: '' }),
  });
  browser = await launch();
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

const inboxPath = () => `/inboxes/${w.inbox.id}`;

test('the Texts section edits, previews, saves, reloads and resets a template', async () => {
  const { page, errors, blocked, close } = await openPage(browser, { viewport: { width: 1366, height: 900 }, locale: 'en-US' });
  try {
    await signIn(page, w.server.base, EMAIL, PASSWORD);
    await page.goto(`${w.server.base}/app/#/settings/inboxes/${w.inbox.id}`);
    const card = page.locator('section[data-card="texts"]');
    await card.locator('[data-template-item="csat_survey"]').waitFor();

    // The inbox writes Russian.
    await card.getByLabel('Language of the inbox').selectOption('ru');
    const saved = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(inboxPath()));
    await card.locator('form').getByRole('button', { name: 'Save' }).click();
    assert.equal((await saved).status(), 200);
    await eventually(async () => (await card.getByLabel('Wording in').inputValue()) === 'ru', 10000, 'editing in Russian');
    assert.equal((await w.agent.call('GET', inboxPath())).body.locale, 'ru');

    // Edit the survey's wording, preview it with the inbox's name, save.
    const item = card.locator('[data-template-item="csat_survey"]');
    await item.waitFor();
    const box = item.locator('textarea');
    assert.equal(await box.inputValue(), 'Пожалуйста, оцените разговор');
    await box.fill('Как вам помогли в «');
    await item.getByRole('button', { name: '{{inbox_name}}' }).click();
    await box.press('End');
    await box.type('»?');
    await item.locator('[data-action="preview"]').click();
    const preview = item.locator('[data-preview="csat_survey"]');
    await eventually(async () => (await preview.innerText()) === 'Как вам помогли в «Coffee Corner»?', 10000, 'preview');
    const put = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(inboxPath()));
    await item.locator('[data-action="save"]').click();
    assert.equal((await put).status(), 200);
    const list = (await w.agent.call('GET', `${inboxPath()}/templates`)).body;
    assert.deepEqual(list.payload.find((x) => x.id === 'csat_survey').overrides, { ru: 'Как вам помогли в «{{inbox_name}}»?' });

    // Reloaded, the edit is there and marked as changed.
    await page.reload();
    const again = page.locator('section[data-card="texts"] [data-template-item="csat_survey"]');
    await again.waitFor();
    await eventually(async () => (await again.locator('textarea').inputValue()) === 'Как вам помогли в «{{inbox_name}}»?', 10000, 'saved text after reload');
    assert.equal(await again.locator('.badge').innerText(), 'changed');

    // A wrong variable is refused with the reason, nothing saved.
    await again.locator('textarea').fill('Оцените, {{contact}}');
    await again.locator('[data-action="save"]').click();
    await page.locator('.toast.error', { hasText: 'unknown variable' }).waitFor();
    assert.deepEqual((await w.agent.call('GET', `${inboxPath()}/templates`)).body.payload.find((x) => x.id === 'csat_survey').overrides, { ru: 'Как вам помогли в «{{inbox_name}}»?' });

    await page.screenshot({ path: join(OUT, 'console-texts-en.png'), fullPage: false });
    await card.scrollIntoViewIfNeeded();
    await page.locator('section[data-card="texts"]').screenshot({ path: join(OUT, 'console-texts-card-en.png') });

    // Reset to the default.
    await page.reload();
    const fresh = page.locator('section[data-card="texts"] [data-template-item="csat_survey"]');
    await fresh.waitFor();
    await eventually(async () => (await fresh.locator('[data-action="reset"]').isEnabled()), 10000, 'reset enabled');
    await fresh.locator('[data-action="reset"]').click();
    await eventually(async () => {
      const l = (await w.agent.call('GET', `${inboxPath()}/templates`)).body;
      return Object.keys(l.payload.find((x) => x.id === 'csat_survey').overrides).length === 0;
    }, 10000, 'override removed');
    await eventually(async () => (await page.locator('section[data-card="texts"] [data-template-item="csat_survey"] textarea').inputValue()) === 'Пожалуйста, оцените разговор', 10000, 'default back');
    assert.deepEqual(errors, []);
    assert.deepEqual(blocked, []);
  } finally {
    await close();
  }
});

test('the Texts section in Russian (screenshot)', async () => {
  const { page, errors, blocked, close } = await openPage(browser, { viewport: { width: 1366, height: 900 }, locale: 'ru-RU' });
  try {
    await signIn(page, w.server.base, EMAIL, PASSWORD);
    await page.goto(`${w.server.base}/app/#/settings/inboxes/${w.inbox.id}`);
    const card = page.locator('section[data-card="texts"]');
    await card.locator('[data-template-item="offhours_reply"]').waitFor();
    await card.getByRole('heading', { name: 'Язык и тексты' }).waitFor();
    await card.locator('[data-template-item="offhours_reply"] [data-action="preview"]').click();
    await eventually(async () => (await card.locator('[data-preview="offhours_reply"]').innerText()).includes('Ответим, когда откроемся: чт, 03.12 в 09:00'), 10000, 'Russian preview');
    await card.screenshot({ path: join(OUT, 'console-texts-card-ru.png') });
    assert.deepEqual(errors, []);
    assert.deepEqual(blocked, []);
  } finally {
    await close();
  }
});

async function widgetLang(path, browserLocale, shot) {
  const { page, errors, blocked, close } = await openPage(browser, { viewport: { width: 1280, height: 800 }, locale: browserLocale });
  try {
    await page.goto(site.base + path);
    const { frame } = await widgetFrame(page);
    await page.evaluate(() => window.Parley.open());
    await frame.waitForSelector('#composer');
    const lang = await frame.evaluate(() => document.documentElement.lang);
    const title = await page.evaluate(() => document.querySelector('parley-widget').shadowRoot.querySelector('button')?.getAttribute('aria-label') || '');
    if (shot) await page.screenshot({ path: join(OUT, shot) });
    assert.deepEqual(errors, []);
    assert.deepEqual(blocked, []);
    return { lang, title };
  } finally {
    await close();
  }
}

test('the widget speaks the inbox language, else the page, else the browser', async () => {
  // The inbox says Russian: an English page in an English browser still gets Russian.
  await w.agent.call('PATCH', inboxPath(), { locale: 'ru' });
  let r = await widgetLang('/en', 'en-US', 'widget-inbox-ru-on-en-page.png');
  assert.equal(r.lang, 'ru', JSON.stringify(r));
  // The inbox says English: a Russian page gets English.
  await w.agent.call('PATCH', inboxPath(), { locale: 'en' });
  r = await widgetLang('/ru', 'ru-RU', 'widget-inbox-en-on-ru-page.png');
  assert.equal(r.lang, 'en', JSON.stringify(r));
  // No inbox language: the page's.
  await w.agent.call('PATCH', inboxPath(), { locale: null });
  r = await widgetLang('/ru', 'en-US');
  assert.equal(r.lang, 'ru', JSON.stringify(r));
  r = await widgetLang('/en', 'ru-RU');
  assert.equal(r.lang, 'en', JSON.stringify(r));
  // Neither: the browser's.
  r = await widgetLang('/none', 'ru-RU');
  assert.equal(r.lang, 'ru', JSON.stringify(r));
});
