// One customer across channels (issue 14): a customer known from the CRM channel writes
// from the website with the same e-mail, so there are two contacts. The contact panel of
// the website conversation offers to merge them, the dialog says which contact stays and
// what moves, and after confirming the panel shows one contact with the conversations of
// both channels in one history. A visitor whose contact is merged while their widget is open
// keeps chatting: the widget reconnects (close code 1013) and gets what it missed. Screenshots go to $PARLEY_E2E_SCREENSHOTS (default: the
// temp directory).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openPage } from '../lib/browser.js';
import { consoleWorld, signIn, ADMIN } from '../lib/console.mjs';
import { widgetWorld, shopSite, shopPage, widgetFrame, eventually } from '../lib/widget.mjs';

const LIVE = { timeout: 5000 };
const OUT = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
const w = consoleWorld();

test('two contacts with the same e-mail are merged from the contact panel into one history', async () => {
  // The customer as the shop's CRM knows them, with a conversation in the API channel.
  const crm = await w.s.api('POST', '/inboxes', { name: 'CRM', channel: { type: 'api' } });
  const created = await w.s.api('POST', '/contacts', { name: 'Ivan Petrov', email: 'ivan@example.com', inbox_id: crm.id });
  const customer = created.payload.contact;
  const old = await w.s.api('POST', '/conversations', { inbox_id: crm.id, contact_id: customer.id });
  await w.s.api('POST', `/conversations/${old.id}/messages`, { content: 'Your order has shipped', message_type: 'outgoing' });
  // The same person on the website, typing the e-mail in capitals.
  const v = await w.s.visitor({ name: 'Ваня', email: 'IVAN@Example.com', message: 'Где мой заказ?' });
  const visitorContact = (await w.s.api('GET', `/conversations/${v.convId}`)).meta.sender.id;
  assert.notEqual(visitorContact, customer.id);

  const p = await openPage(w.browser, { viewport: { width: 1366, height: 800 } });
  await signIn(p.page, w.server.base, ADMIN.email, ADMIN.password);
  await p.page.goto(`${w.server.base}/app/#/conversations/all/${v.convId}`);
  await p.page.locator('body[data-realtime="live"]').waitFor(LIVE);
  const panel = p.page.locator(`.conv-view[data-conversation="${v.convId}"] .contact-panel`);
  const dup = panel.locator(`[data-section="duplicates"] [data-duplicate="${customer.id}"]`);
  await dup.waitFor(LIVE);
  assert.match(await dup.innerText(), /Ivan Petrov/);
  assert.match(await dup.innerText(), /same e-mail/);
  // Before: the visitor's history has only the website conversation.
  assert.equal(await panel.locator('[data-section="history"] li').count(), 1);

  await dup.locator('[data-action="merge"]').click();
  const dialog = p.page.locator('.modal:has(.merge-dialog)');
  await dialog.waitFor(LIVE);
  const text = await dialog.innerText();
  assert.match(text, /«Ivan Petrov» stays/, text);
  assert.match(text, /1 conversation with all its messages/, text);
  assert.match(text, /«Ваня» is then deleted/, text);
  await p.page.screenshot({ path: join(OUT, 'console-contact-merge-dialog-en.png') });
  await dialog.locator('[data-action="confirm-merge"]').click();
  await dialog.waitFor({ state: 'detached', ...LIVE });

  // After: one contact, both channels' conversations in one history, no duplicate left.
  await panel.locator('.contact-head h3', { hasText: 'Ivan Petrov' }).waitFor(LIVE);
  const items = panel.locator('[data-section="history"] li');
  await p.page.waitForFunction(
    (sel) => document.querySelectorAll(sel).length === 2,
    `.conv-view[data-conversation="${v.convId}"] .contact-panel [data-section="history"] li`,
    LIVE,
  );
  const ids = await items.evaluateAll((els) => els.map((e) => Number(e.dataset.id)).sort((a, b) => a - b));
  assert.deepEqual(ids, [old.id, v.convId].sort((a, b) => a - b));
  assert.equal(await panel.locator(`[data-section="history"] li[data-id="${v.convId}"].current`).count(), 1);
  assert.equal(await panel.locator('[data-section="history"] .channel-icon').count(), 2);
  assert.match(await panel.locator(`[data-section="history"] li[data-id="${old.id}"]`).innerText(), /Your order has shipped/);
  assert.equal(await panel.locator('[data-section="duplicates"]').count(), 0);
  const channels = await panel.locator('.identities li').allInnerTexts();
  assert.equal(channels.length, 2, channels.join('\n'));
  await p.page.screenshot({ path: join(OUT, 'console-contact-merge-after-en.png') });

  // The server agrees: the visitor's contact is gone, its conversation is the customer's.
  await assert.rejects(w.s.api('GET', `/contacts/${visitorContact}`), /404/);
  assert.equal((await w.s.api('GET', `/conversations/${v.convId}`)).meta.sender.id, customer.id);
  // The visitor keeps writing, as the customer.
  await v.say('Спасибо!');
  const convs = await w.s.api('GET', `/contacts/${customer.id}/conversations`);
  assert.deepEqual(convs.payload.map((c) => c.id).sort((a, b) => a - b), [old.id, v.convId].sort((a, b) => a - b));
  assert.deepEqual(p.errors, []);
  await p.close();
});

test("an open widget keeps working when its visitor's contact is merged into another", async () => {
  const world = await widgetWorld();
  const site = await shopSite(world.server.base, world.websiteToken, { '/': shopPage({ title: 'Coffee Corner' }) });
  const { page, errors, close } = await openPage(w.browser);
  try {
    await page.goto(site.base + '/');
    const { frame } = await widgetFrame(page);
    await page.evaluate(() => document.querySelector('parley-widget').shadowRoot.querySelector('.b').click());
    await frame.fill('#composer', 'Hello from the widget');
    await frame.press('#composer', 'Enter');
    await frame.waitForSelector('.row.me .st.sent', LIVE);
    const conv = await eventually(async () => {
      const r = await world.agent.call('GET', '/conversations?status=all');
      return r.body.data.payload[0];
    }, 10000, 'conversation');
    const visitorContact = conv.meta.sender.id;
    const customer = (await world.agent.call('POST', '/contacts', { name: 'Ivan Petrov', email: 'ivan@example.com' })).body.payload.contact;
    const merged = await world.agent.call('POST', '/actions/contact_merge', { base_contact_id: customer.id, mergee_contact_id: visitorContact });
    assert.equal(merged.status, 200, JSON.stringify(merged.body));

    // The agent's reply reaches the widget after it reconnected as the base contact.
    await world.agent.call('POST', `/conversations/${conv.id}/messages`, { content: 'Reply after the merge' });
    await frame.waitForSelector('.row.them >> text=Reply after the merge', LIVE);
    await frame.fill('#composer', 'Thanks, still here');
    await frame.press('#composer', 'Enter');
    const mine = await eventually(async () => {
      const r = await world.agent.call('GET', `/conversations/${conv.id}/messages`);
      return r.body.payload.find((m) => m.content === 'Thanks, still here');
    }, 10000, 'the visitor message after the merge');
    assert.equal(mine.sender_id, customer.id);
    assert.deepEqual(errors, []);
  } finally {
    await close();
    await site.close();
    await world.server.stop();
  }
});
