// The weekly schedule in the widget: with working hours on and "show the schedule" on, the
// widget lists the week (Monday first, equal days joined) in its language and in the
// inbox's time zone, and while closed says when it reopens. The console's switch saves it;
// without it the card is gone. Screenshots of the widget in EN and RU go to
// $PARLEY_E2E_SCREENSHOTS (default: the temp directory).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

import { launch, openPage } from '../lib/browser.js';
import { signIn } from '../lib/console.mjs';
import { widgetWorld, shopSite, shopPage, widgetFrame } from '../lib/widget.mjs';

const OUT = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
// Far from the browser's UTC, so times in the wrong zone would show.
const TZ = 'Asia/Vladivostok';
// Russian needs the weekday in the accusative after «в/во» (day_of_week 0 = Sunday).
const RU_ON = ['в воскресенье', 'в понедельник', 'во вторник', 'в среду', 'в четверг', 'в пятницу', 'в субботу'];

let w;
let site;
let browser;
let today;

before(async () => {
  w = await widgetWorld();
  site = await shopSite(w.server.base, w.websiteToken, {
    '/en': shopPage({ title: 'Coffee Corner', lang: 'en' }),
    '/ru': shopPage({ title: 'Кофейня', lang: 'ru' }),
  });
  browser = await launch();
  mkdirSync(OUT, { recursive: true });
  // Closed today (in the inbox's zone) and all week, open tomorrow 09:30–18:00 and the day
  // after around the clock: the widget is closed now and reopens tomorrow at 09:30.
  today = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(new Intl.DateTimeFormat('en-US', { weekday: 'short', timeZone: TZ }).format(new Date()));
  const week = [0, 1, 2, 3, 4, 5, 6].map((d) => ({ day_of_week: d, closed_all_day: true }));
  week[(today + 1) % 7] = { day_of_week: (today + 1) % 7, open_hour: 9, open_minutes: 30, close_hour: 18, close_minutes: 0 };
  week[(today + 2) % 7] = { day_of_week: (today + 2) % 7, open_all_day: true };
  const r = await w.agent.call('PATCH', `/inboxes/${w.inbox.id}`, { working_hours_enabled: true, timezone: TZ, working_hours: week });
  assert.equal(r.status, 200, JSON.stringify(r.body));
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

async function openWidget(path, locale) {
  const p = await openPage(browser, { locale, viewport: { width: 1280, height: 860 } });
  await p.page.goto(site.base + path);
  const { frame } = await widgetFrame(p.page);
  await p.page.evaluate(() => document.querySelector('parley-widget').shadowRoot.querySelector('.b').click());
  return { ...p, frame };
}

// Clock times as the widget's language writes them (any kind of space read as a space).
const clock = (locale, hh, mm) => new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(Date.UTC(2024, 0, 1, hh, mm));
const norm = (s) => s.replace(/\s/g, ' ');
const weekday = (dow, locale, style) => new Intl.DateTimeFormat(locale, { weekday: style, timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, 7 + dow)));

test('the console switch turns the schedule on; the widget shows the week in the inbox zone (EN)', async () => {
  const c = await openPage(browser, { viewport: { width: 1366, height: 900 } });
  try {
    await signIn(c.page, w.server.base, 'maria@shop.test', 'correct horse battery');
    await c.page.goto(`${w.server.base}/app/#/settings/inboxes/${w.inbox.id}`);
    const card = c.page.locator('section[data-card="hours"]');
    await card.getByLabel('Show the weekly schedule in the chat widget').check();
    const saved = c.page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(`/inboxes/${w.inbox.id}`));
    await card.getByRole('button', { name: 'Save' }).click();
    assert.equal((await saved).status(), 200);
    assert.equal((await w.agent.call('GET', `/inboxes/${w.inbox.id}`)).body.channel_settings.show_working_hours, true);
    await c.page.reload();
    assert.equal(await c.page.locator('section[data-card="hours"]').getByLabel('Show the weekly schedule in the chat widget').isChecked(), true);
    assert.deepEqual(c.blocked, []);
    assert.deepEqual(c.errors, []);
  } finally {
    await c.close();
  }

  const { page, frame, blocked, errors, close } = await openWidget('/en', 'en-US');
  try {
    const card = frame.locator('details.hours');
    await card.waitFor();
    assert.equal(await card.getAttribute('open'), '', 'unfolded while closed');
    assert.equal(await card.locator('summary').innerText(), 'Working hours');
    const rows = (await card.locator('li').evaluateAll((els) => els.map((e) => [...e.children].map((c) => c.textContent)))).map((r) => r.map(norm));
    const byDay = Object.fromEntries(rows.map(([d, h]) => [d, h]));
    assert.equal(byDay[weekday((today + 1) % 7, 'en', 'short')], norm(`${clock('en', 9, 30)}–${clock('en', 18, 0)}`), JSON.stringify(rows));
    assert.equal(byDay[weekday((today + 2) % 7, 'en', 'short')], 'around the clock', JSON.stringify(rows));
    assert.ok(rows.some(([, h]) => h === 'closed'), JSON.stringify(rows));
    // Monday first.
    assert.ok(rows[0][0].startsWith(weekday(1, 'en', 'short')), JSON.stringify(rows));
    // Reopening tomorrow 09:30 in Vladivostok, whatever the visitor's clock says.
    const reopen = norm(await card.locator('.reopen').innerText());
    assert.equal(reopen, norm(`We will be back on ${weekday((today + 1) % 7, 'en', 'long')} at ${clock('en', 9, 30)}`));
    assert.match(await card.locator('.zone').innerText(), /^Time: Vladivostok, GMT\+10$/);
    assert.ok(norm(await frame.locator('header').innerText()).includes(reopen), 'the header says the same');
    assert.equal(await card.locator('li.today').count(), 1);
    await page.screenshot({ path: join(OUT, 'widget-hours-en.png') });
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('the schedule in Russian, and gone when the switch is off', async () => {
  const { page, frame, blocked, errors, close } = await openWidget('/ru', 'ru-RU');
  try {
    const card = frame.locator('details.hours');
    await card.waitFor();
    assert.equal(await card.locator('summary').innerText(), 'Часы работы');
    const rows = await card.locator('li').evaluateAll((els) => els.map((e) => [...e.children].map((c) => c.textContent)));
    assert.ok(rows.some(([, h]) => h === 'выходной'), JSON.stringify(rows));
    assert.ok(rows.some(([, h]) => h === 'круглосуточно'), JSON.stringify(rows));
    assert.equal(norm(await card.locator('.reopen').innerText()), norm(`Вернёмся ${RU_ON[(today + 1) % 7]} в ${clock('ru', 9, 30)}`));
    assert.match(await card.locator('.zone').innerText(), /^Время: Владивосток, GMT\+10$/);
    assert.ok(rows.some(([, h]) => norm(h) === norm(`${clock('ru', 9, 30)}–${clock('ru', 18, 0)}`)), JSON.stringify(rows));
    await page.screenshot({ path: join(OUT, 'widget-hours-ru.png') });
    // Folded by the visitor, it stays folded.
    await card.locator('summary').click();
    assert.equal(await card.getAttribute('open'), null);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }

  await w.agent.call('PATCH', `/inboxes/${w.inbox.id}`, { channel: { show_working_hours: false } });
  const again = await openWidget('/en', 'en-US');
  try {
    await again.frame.waitForSelector('form.form');
    assert.equal(await again.frame.locator('details.hours').count(), 0);
    assert.deepEqual(again.blocked, []);
    assert.deepEqual(again.errors, []);
  } finally {
    await again.close();
  }
});
