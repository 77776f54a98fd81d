// The widget tells a waiting visitor their place in the queue: the inbox assigns
// automatically but no agent is online, so conversations wait. The line follows the queue
// live (a visitor ahead leaves, the number goes down) and disappears once an agent takes the
// conversation. English and Russian, with screenshots.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';

import { launch, openPage } from '../lib/browser.js';
import { widgetWorld, shopSite, shopPage, widgetFrame, eventually } from '../lib/widget.mjs';

const OUT = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();

let w;
let site;
let browser;

before(async () => {
  w = await widgetWorld({ inbox: { options: { enable_auto_assignment: true } } });
  // The only member agent is away: nobody can be assigned, conversations wait.
  const r = await w.call('POST', '/api/v1/profile/availability', { profile: { availability: 'offline', account_id: w.agent.account } }, w.agent.token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const inbox = await w.agent.call('GET', `/inboxes/${w.inbox.id}`);
  assert.equal(inbox.body.enable_auto_assignment, true);
  site = await shopSite(w.server.base, w.websiteToken, {
    '/en': shopPage({ title: 'Coffee Corner' }),
    '/ru': shopPage({ title: 'Кофейня', lang: 'ru' }),
  });
  browser = await launch();
  mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

/** A visitor who writes through the Client API (no browser): their conversation queues. */
async function apiVisitor(name) {
  const pub = `/public/api/v1/inboxes/${w.websiteToken}`;
  const contact = await w.call('POST', `${pub}/contacts`, { name });
  assert.equal(contact.status < 300, true, JSON.stringify(contact.body));
  const conv = await w.call('POST', `${pub}/contacts/${contact.body.source_id}/conversations`, {});
  await w.call('POST', `${pub}/contacts/${contact.body.source_id}/conversations/${conv.body.id}/messages`, { content: `${name} needs help` });
  return { id: conv.body.id, get: async () => (await w.call('GET', `${pub}/contacts/${contact.body.source_id}/conversations/${conv.body.id}`)).body };
}

async function newestConversation() {
  const list = (await w.agent.call('GET', '/conversations?status=all')).body.data.payload;
  return list.reduce((a, x) => (!a || x.id > a.id ? x : a), null);
}

for (const lang of ['en', 'ru']) {
  test(`queue position and expected wait, live (${lang})`, async () => {
    const early = await apiVisitor(lang === 'en' ? 'Early Bird' : 'Ранняя Пташка');
    const ahead = early.id;
    // The Client API tells the visitor their place.
    const pub = await early.get();
    assert.equal(pub.queue && pub.queue.position, 1, `public conversation JSON: ${JSON.stringify(pub.queue)}`);
    const queued = await w.agent.call('GET', `/conversations/${ahead}`);
    assert.equal(queued.body.meta.assignee, null, 'nobody online: not assigned');
    assert.equal(typeof queued.body.queued_at, 'number', `waits in the queue: ${JSON.stringify(queued.body.queued_at)}`);

    const { page, blocked, errors, close } = await openPage(browser, { viewport: { width: 1280, height: 800 }, locale: lang === 'en' ? 'en-US' : 'ru-RU' });
    try {
      await page.goto(`${site.base}/${lang}`);
      const { frame } = await widgetFrame(page);
      await page.evaluate(() => window.Parley.open());
      await frame.waitForSelector('#composer');
      await frame.fill('#composer', lang === 'en' ? 'Hello, is anybody there?' : 'Здравствуйте, есть кто-нибудь?');
      await frame.press('#composer', 'Enter');
      await frame.waitForSelector('.row.me .st.sent', { timeout: 10000 });
      const mine = await newestConversation();
      assert.notEqual(mine.id, ahead);

      // Second in the queue, behind the visitor who wrote first.
      const line = frame.locator('.queue');
      const first = lang === 'en' ? /^You are number 2 in the queue( · expected wait about \d+ min)?$/ : /^Вы 2-й в очереди( · ожидание около \d+ мин)?$/;
      await eventually(async () => first.test((await line.innerText()).trim()), 10000, 'queue line with position 2');
      await page.screenshot({ path: join(OUT, `widget-queue-${lang}.png`) });

      // The visitor ahead leaves the queue (an agent takes them): number 1 now, live.
      const taken = await w.agent.call('POST', `/conversations/${ahead}/assignments`, { assignee_id: w.agent.userId });
      assert.equal(taken.status, 200, JSON.stringify(taken.body));
      const next = lang === 'en' ? /^You are number 1 in the queue/ : /^Вы 1-й в очереди/;
      await eventually(async () => next.test((await line.innerText()).trim()), 10000, 'queue line with position 1');

      // An agent takes this conversation: the line goes away.
      await w.agent.call('POST', `/conversations/${mine.id}/assignments`, { assignee_id: w.agent.userId });
      await line.waitFor({ state: 'hidden', timeout: 10000 });

      assert.deepEqual(blocked, []);
      assert.deepEqual(errors, []);
      // Clean slate for the other language: both conversations end.
      for (const id of [ahead, mine.id]) await w.agent.call('POST', `/conversations/${id}/toggle_status`, { status: 'resolved' });
    } finally {
      await close();
    }
  });
}
