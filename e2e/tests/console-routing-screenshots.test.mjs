// Screenshots of routing in the console, English and Russian: the Team view (presence,
// load, teams), the Queues view, the conversation list with overdue and due rows, and the
// availability switcher. To $PARLEY_E2E_SCREENSHOTS (default: the temp directory), or to
// docs/img/ with PARLEY_CONSOLE_DOCS_IMG=1; with checks that nothing overflows the window.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdirSync } from 'node:fs';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { scene, signIn, sleep } from '../lib/console.mjs';

const OUT = process.env.PARLEY_CONSOLE_DOCS_IMG ? resolve(import.meta.dirname, '..', '..', 'docs', 'img') : process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
const ADMIN = { name: 'Мария Иванова', email: 'maria@shop.test', password: 'correct horse battery', account_name: 'Shop' };
const LIVE = { timeout: 5000 };

let server;
let browser;
let s;
const background = [];

before(async () => {
  mkdirSync(OUT, { recursive: true });
  server = await startParley();
  browser = await launch();
  s = await scene(server.base, { admin: ADMIN });
  const ivan = await s.agent({ name: 'Ivan Petrov', email: 'ivan@shop.test' });
  const olga = await s.agent({ name: 'Ольга Соколова', email: 'olga@shop.test', role: 'supervisor' });
  const dmitry = await s.agent({ name: 'Dmitry Kuznetsov', email: 'dmitry@shop.test' });
  const delivery = await s.team('Доставка');
  const payments = await s.team('Payments');
  await s.api('PATCH', `/teams/${delivery.id}/team_members`, { user_ids: [ivan.id, dmitry.id] });
  await s.api('PATCH', `/teams/${payments.id}/team_members`, { user_ids: [ivan.id, olga.id] });
  // Ivan's own limit is three, and he holds three: full, whatever the routing rules say.
  await s.api('PATCH', `/agents/${ivan.id}`, { max_open: 3 });

  // Ivan and Olga at work in their own consoles: Ivan online, Olga busy. Dmitry is away.
  for (const [who, status] of [
    [ivan, 'online'],
    [olga, 'busy'],
  ]) {
    const p = await openPage(browser, { viewport: { width: 1280, height: 800 } });
    await signIn(p.page, server.base, who.email, who.password);
    await p.page.goto(`${server.base}/app/#/conversations/mine`);
    await p.page.locator('body[data-realtime="live"]').waitFor(LIVE);
    await p.page.locator('[data-action="availability"]').click();
    await p.page.locator(`.status-item[data-status="${status}"]`).click();
    await p.page.locator(`[data-action="availability"][data-presence="${status}"]`).waitFor(LIVE);
    background.push(p);
  }

  // Support: handled by hand, with reply targets (no priority: 3 seconds, low: 20 minutes).
  await s.api('PATCH', `/inboxes/${s.inbox.id}`, {
    name: 'Support',
    enable_auto_assignment: false,
    sla_policy: {
      only_during_business_hours: false,
      targets: { none: { first_response_time_threshold: 3, next_response_time_threshold: 3 }, low: { first_response_time_threshold: 1200, next_response_time_threshold: 1200 } },
      escalation: { notify_supervisors: true, raise_priority: false, reassign: false },
    },
  });
  const held = [
    ['Анна Кузнецова', 'Заказ 1042 должен был прийти вчера', ivan],
    ['John Carter', 'My card was charged twice for order 5531', ivan],
    ['Пётр Соколов', 'Когда будет в наличии X200?', ivan],
    ['Emma Wilson', 'Do you ship to Finland?', olga],
  ];
  for (const [i, [name, text, who]] of held.entries()) {
    const v = await s.visitor({ name, email: `h${i}@example.test`, message: text });
    await s.api('POST', `/conversations/${v.convId}/assignments`, { assignee_id: who.id });
  }

  // The website: assigned automatically to the delivery team, whose only free agent is away,
  // so visitors wait; a VIP customer goes first.
  const site = await s.api('POST', '/inboxes', { name: 'Website', channel: { type: 'web_widget', website_url: 'https://shop.example' }, enable_auto_assignment: true, default_team_id: delivery.id });
  await s.api('POST', '/inbox_members', { inbox_id: site.id, user_ids: [dmitry.id] });
  const waiting = [
    ['Early Bird', 'Hello?'],
    ['Ольга Смирнова', 'Можно поменять адрес доставки?'],
    ['Dmitry K.', 'Промокод не применяется к корзине'],
    ['Алексей', 'Где мой заказ 2210?'],
  ];
  for (const [i, [name, text]] of waiting.entries()) {
    const v = await s.visitor({ name, email: `w${i}@example.test`, message: text, identifier: site.inbox_identifier });
    if (i === 0) await s.api('POST', `/conversations/${v.convId}/claim`); // the queue moved once: an expected wait
    if (i === 3) await s.api('PATCH', `/contacts/${(await s.api('GET', `/conversations/${v.convId}`)).contact_id}`, { vip: true });
  }
  // A partner channel without a team: its own queue.
  const partner = await s.api('POST', '/inboxes', { name: 'Partner API', channel: { type: 'api' }, enable_auto_assignment: true });
  await s.api('POST', '/inbox_members', { inbox_id: partner.id, user_ids: [dmitry.id] });
  await s.visitor({ name: 'Marketplace order 88', email: 'mp@example.test', message: 'Order 88 status?', identifier: partner.inbox_identifier });
  await sleep(4000); // the 3-second targets pass
  // Last, so on top of the list: low priority before the first message, a 20-minute target.
  const calm = await s.visitor({ name: 'Lucy Brown', email: 'lucy@example.test' });
  await s.api('POST', `/conversations/${calm.convId}/toggle_priority`, { priority: 'low' });
  await calm.say('Is there a warranty for refurbished phones?');
});

after(async () => {
  for (const p of background) await p.close();
  await browser?.close();
  await server?.stop();
});

async function noOverflow(page, what) {
  const o = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, w: window.innerWidth, sh: document.documentElement.scrollHeight, h: window.innerHeight }));
  assert.ok(o.sw <= o.w, `${what}: horizontal overflow ${o.sw} > ${o.w}`);
  assert.ok(o.sh <= o.h, `${what}: vertical overflow ${o.sh} > ${o.h}`);
}

for (const lang of ['en', 'ru']) {
  test(`routing screenshots ${lang}`, async () => {
    const { page, errors, blocked, close } = await openPage(browser, { viewport: { width: 1366, height: 768 }, locale: lang === 'ru' ? 'ru-RU' : 'en-US' });
    await signIn(page, server.base, ADMIN.email, ADMIN.password);

    await page.goto(`${server.base}/app/#/team`);
    await page.locator('.team-table tr[data-presence="busy"]').waitFor(LIVE);
    await page.locator('.team-table tr[data-presence="online"]').first().waitFor(LIVE);
    await page.locator('body[data-realtime="live"]').waitFor(LIVE);
    await noOverflow(page, 'team');
    await page.screenshot({ path: join(OUT, `console-${lang}-team.png`) });
    await page.locator('[data-action="availability"]').click();
    await page.locator('.status-menu').waitFor();
    await page.screenshot({ path: join(OUT, `console-${lang}-status.png`) });
    await page.keyboard.press('Escape');
    await page.evaluate(() => document.activeElement && document.activeElement.blur());

    await page.goto(`${server.base}/app/#/queues`);
    await page.locator('.queue-card').nth(1).waitFor(LIVE);
    await noOverflow(page, 'queues');
    await page.screenshot({ path: join(OUT, `console-${lang}-queues.png`) });

    await page.goto(`${server.base}/app/#/conversations/all`);
    await page.locator('.conv-row.overdue').first().waitFor(LIVE);
    await page.locator('.conv-row .sla-chip[data-sla="due"]').first().waitFor(LIVE);
    await page.locator('.conv-row .queue-chip').first().waitFor(LIVE);
    await noOverflow(page, 'list');
    // An overdue conversation open beside the list.
    await page.locator('.conv-row.overdue a').first().click();
    await page.locator('.conv-view .head-chips .sla-chip').waitFor(LIVE);
    // The missed target's line, in the operator's language with the due time in their
    // locale (formatted by the browser from the line's epoch seconds).
    const missed = page.locator('.conv-view .msg-activity[data-kind="first_response_missed"] span');
    await missed.waitFor(LIVE);
    const convId = await page.locator('.conv-view').getAttribute('data-conversation');
    const stored = (await s.api('GET', `/conversations/${convId}/messages`)).payload.find((m) => m.content_attributes.activity?.kind === 'first_response_missed');
    const due = await page.evaluate(([at, loc]) => new Intl.DateTimeFormat(loc, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(at * 1000)), [stored.content_attributes.activity.due_at, lang === 'ru' ? 'ru-RU' : 'en-GB']);
    const phrase = lang === 'ru' ? `Срок первого ответа пропущен (нужно было до ${due})` : `First response target missed (was due ${due})`;
    assert.equal(await missed.innerText(), phrase);
    assert.equal(await missed.getAttribute('title'), stored.content);
    await page.screenshot({ path: join(OUT, `console-${lang}-overdue.png`) });

    console.log(`screenshots in ${OUT}`);
    assert.deepEqual(errors, []);
    assert.deepEqual(blocked, []);
    await close();
  });
}
