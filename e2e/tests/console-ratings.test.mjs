// Ratings visible (issue 13): a visitor rates a resolved conversation in the widget; the
// operator sees the score and comment as a card in the conversation, on the contact panel
// and as stars in the list, and filters the list by rating — in English and Russian.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { launch, openPage } from '../lib/browser.js';
import { signIn } from '../lib/console.mjs';
import { widgetWorld, shopSite, shopPage, widgetFrame, eventually } from '../lib/widget.mjs';

const LIVE = { timeout: 10000 };
const SHOTS = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
let w;
let site;
let browser;
let happy;
let sad;
let silent;

before(async () => {
  w = await widgetWorld();
  site = await shopSite(w.server.base, w.websiteToken, { '/': shopPage({ title: 'Coffee Corner' }) });
  browser = await launch();
  await w.agent.call('PATCH', `/inboxes/${w.inbox.id}`, { csat_survey_enabled: true });
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

/** A visitor's conversation over the Client API, resolved by the agent; returns its number and the survey's URL. */
async function apiConversation(name) {
  const pub = `/public/api/v1/inboxes/${w.inbox.inbox_identifier}`;
  const contact = (await w.call('POST', `${pub}/contacts`, { name })).body;
  const conv = (await w.call('POST', `${pub}/contacts/${contact.source_id}/conversations`, {})).body;
  const msgs = `${pub}/contacts/${contact.source_id}/conversations/${conv.id}/messages`;
  await w.call('POST', msgs, { content: `Hello from ${name}` });
  await w.agent.call('POST', `/conversations/${conv.id}/toggle_status`, { status: 'resolved' });
  const survey = await eventually(async () => (await w.call('GET', msgs)).body.find((m) => m.content_type === 'input_csat'), 10000, 'survey sent');
  return { id: conv.id, survey: `${msgs}/${survey.id}` };
}

test('the visitor rates in the widget', async () => {
  const { page, blocked, errors, close } = await openPage(browser);
  try {
    await page.goto(site.base + '/');
    const { frame } = await widgetFrame(page);
    await page.evaluate(() => document.querySelector('parley-widget').shadowRoot.querySelector('.b').click());
    await frame.waitForSelector('#composer');
    await frame.fill('#composer', 'Where is my espresso machine?');
    await frame.press('#composer', 'Enter');
    await frame.waitForSelector('.row.me .st.sent', LIVE);
    const list = (await w.agent.call('GET', '/conversations?status=all')).body.data.payload;
    happy = Math.max(...list.map((c) => c.id));
    await w.agent.call('POST', `/conversations/${happy}/toggle_status`, { status: 'resolved' });
    await frame.waitForSelector('.csat .stars button', LIVE);
    await frame.locator('.csat .stars button').nth(4).click();
    await frame.fill('.csat textarea', 'Delivered next morning, thank you!');
    await frame.click('.csat button.primary');
    await frame.waitForSelector('text=Thank you for your rating!', LIVE);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
  // Two more customers: one rates 1 over the Client API, one never answers.
  sad = await apiConversation('Oleg Sidorov');
  const r = await w.call('PATCH', sad.survey, { submitted_values: { csat_survey_response: { rating: 1, feedback_message: 'Nobody answered for an hour' } } });
  assert.equal(r.status, 200);
  sad = sad.id;
  silent = (await apiConversation('Silent Sam')).id;
  const c = (await w.agent.call('GET', `/conversations/${happy}`)).body;
  assert.deepEqual(c.csat_survey_response, { rating: 5, feedback_message: 'Delivered next morning, thank you!' });
});

for (const lang of ['en', 'ru']) {
  test(`the operator sees the rating and filters the list by it (${lang})`, async () => {
    assert.ok(happy && sad && silent, 'the visitor test ran first');
    const T = {
      en: { score: '5 of 5', low: 'Low (1–2)', ratings: 'Ratings (1)', title: 'Satisfaction survey' },
      ru: { score: '5 из 5', low: 'Низкая (1–2)', ratings: 'Оценки (1)', title: 'Опрос удовлетворённости' },
    }[lang];
    const { page, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 800 }, locale: lang === 'ru' ? 'ru-RU' : 'en-US' });
    try {
      await signIn(page, w.server.base, 'maria@shop.test', 'correct horse battery');
      await page.goto(`${w.server.base}/app/#/conversations/all/${happy}`);
      // The card in the conversation: stars, "5 of 5" and the comment.
      const card = page.locator('.csat-card[data-rating="5"]');
      await card.waitFor(LIVE);
      assert.match(await card.textContent(), new RegExp(T.title));
      assert.equal(await card.locator('.rating-stars').textContent(), '★★★★★');
      assert.equal(await card.locator('.csat-score b').textContent(), T.score);
      assert.equal(await card.locator('.csat-comment').textContent(), 'Delivered next morning, thank you!');
      assert.equal(await page.locator('text=input_csat').count(), 0, 'no "Interactive message (input_csat)" any more');
      // The contact panel lists the contact's ratings.
      const panel = page.locator('.contact-panel');
      const rated = panel.locator(`.ratings li[data-id="${happy}"][data-rating="5"]`);
      await rated.waitFor(LIVE);
      assert.match(await panel.textContent(), new RegExp(T.ratings.replace(/[()]/g, '\\$&')));
      assert.match(await rated.textContent(), /Delivered next morning/);
      await page.screenshot({ path: join(SHOTS, `console-${lang}-rating.png`) });

      // The list: status all, then only low ratings.
      await page.locator('select[data-filter="status"]').selectOption('all');
      const row = (id) => page.locator(`.conv-row[data-id="${id}"]`);
      await row(silent).waitFor(LIVE);
      await row(happy).locator('.rating-chip[data-rating="5"]').waitFor(LIVE);
      const filter = page.locator('select[data-filter="rating"]');
      await filter.selectOption('low');
      assert.equal(await filter.locator('option:checked').textContent(), T.low);
      await row(happy).waitFor({ state: 'detached', ...LIVE });
      await row(sad).waitFor(LIVE);
      assert.equal(await row(silent).count(), 0);
      await page.screenshot({ path: join(SHOTS, `console-${lang}-rating-filter.png`) });
      // Kept after a reload; "not rated" shows only the unanswered one.
      await page.reload();
      await page.locator(`.conv-row[data-id="${sad}"]`).waitFor(LIVE);
      assert.equal(await page.locator('select[data-filter="rating"]').inputValue(), 'low');
      await page.locator('select[data-filter="rating"]').selectOption('none');
      await row(silent).waitFor(LIVE);
      await row(sad).waitFor({ state: 'detached', ...LIVE });
      assert.equal(await row(happy).count(), 0);
      // Back to everything for the next language.
      await page.locator('select[data-filter="rating"]').selectOption('');
      await row(happy).waitFor(LIVE);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
}
