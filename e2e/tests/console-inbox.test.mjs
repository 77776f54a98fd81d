// The operator's day in one scenario: a visitor writes and the conversation appears live in
// Unassigned; the operator takes it, answers with a canned response whose variable is filled
// in, adds a private note the visitor never receives, transfers it to a colleague with a note
// (the colleague sees the whole history), and the colleague resolves it. Customer text with
// HTML or script renders as text.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { openPage } from '../lib/browser.js';
import { consoleWorld, signIn, visitorSocket, ADMIN, sleep } from '../lib/console.mjs';

const w = consoleWorld();

const LIVE = { timeout: 5000 };

test('visitor → live Unassigned → take → canned reply → note → transfer → resolve', async () => {
  const ivan = await w.s.agent({ name: 'Ivan Petrov', email: 'ivan@shop.test' });
  // A team Ivan is not in: transferring him "into" it is refused.
  await w.s.team('Payments');
  await w.s.canned('hello', 'Hello, {{contact.name}}! I am {{agent.name}}, how can I help?');
  await w.s.canned('call', 'We will call you at {{contact.phone_number}}, {{contact.first_name}}.');

  const maria = await openPage(w.browser, { viewport: { width: 1366, height: 768 } });
  const { page } = maria;
  await signIn(page, w.server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${w.server.base}/app/#/conversations/unassigned`);
  await page.locator('.tab.active[data-tab="unassigned"]').waitFor();
  await page.locator('body[data-realtime="live"]').waitFor(LIVE);

  // A visitor writes; the conversation appears without a reload.
  const visitor = await w.s.visitor({ name: 'Anna Smirnova', email: 'anna@example.test', message: 'Where is my order 1042?' });
  const row = page.locator(`.conv-row[data-id="${visitor.convId}"]`);
  await row.waitFor(LIVE);
  assert.match(await row.innerText(), /Anna Smirnova/);
  assert.match(await row.innerText(), /Where is my order 1042\?/);
  await page.waitForFunction(() => document.title.startsWith('(1)'), null, LIVE);

  // A second message updates the row's preview and unread count live.
  await visitor.say('It was due yesterday');
  await row.locator('.preview', { hasText: 'It was due yesterday' }).waitFor(LIVE);
  await row.locator('.badge').waitFor(LIVE);

  // The visitor's widget socket, to see what reaches the customer.
  const widget = await openPage(w.browser);
  const vs = await visitorSocket(widget.page, w.server.base, visitor.pubsubToken);
  // Their presence shows on the row.
  await row.locator('.online-dot').waitFor(LIVE);

  // Open it and take it.
  await row.locator('a').click();
  const conv = page.locator(`.conv-view[data-conversation="${visitor.convId}"]`);
  await conv.locator('.msg.in', { hasText: 'Where is my order 1042?' }).waitFor();

  // The customer typing shows in the console.
  await vs.send({ type: 'typing', conversation_id: visitor.convId, status: 'on' });
  await conv.locator('.typing-line', { hasText: 'Anna Smirnova is typing' }).waitFor(LIVE);
  await vs.send({ type: 'typing', conversation_id: visitor.convId, status: 'off' });
  await conv.locator('.typing-line', { hasText: /^$/ }).waitFor(LIVE);
  await conv.locator('[data-action="take"]').click();
  await conv.locator('.assignee-line', { hasText: 'Maria Admin' }).waitFor();
  // Taken: it leaves Unassigned.
  await row.waitFor({ state: 'detached', timeout: 5000 });
  assert.equal(await page.evaluate(() => document.title.startsWith('(')), false, 'title count cleared');

  // Canned response through "/": the contact's and the agent's names are filled in.
  const input = conv.locator('textarea.composer-input');
  await input.click();
  await input.pressSequentially('/hel');
  await conv.locator('.canned-item', { hasText: '/hello' }).waitFor();
  await input.press('Enter');
  // Rendered by the server (…/canned_responses/render), then inserted over the "/hel".
  await page.waitForFunction(() => document.querySelector('textarea.composer-input').value !== '/hel', null, LIVE);
  assert.equal(await input.inputValue(), 'Hello, Anna Smirnova! I am Maria Admin, how can I help?');
  assert.equal(await input.getAttribute('lang'), 'en');
  assert.equal(await input.getAttribute('spellcheck'), 'true');
  // Shift+Enter is a new line, Enter sends.
  // The operator's typing reaches the customer.
  await vs.waitFor((f) => f.event === 'conversation.typing_on');
  await input.press('Shift+Enter');
  await input.pressSequentially('Let me check.');
  assert.match(await input.inputValue(), /help\?\nLet me check\.$/);
  await input.press('Enter');
  await conv.locator('.msg.out:not(.note):not(.pending)', { hasText: 'Hello, Anna Smirnova!' }).waitFor();
  assert.equal(await input.inputValue(), '');

  // A canned response with a variable the contact has no value for: it stays visible and
  // the composer names it; the first name is filled in.
  await input.pressSequentially('/cal');
  await conv.locator('.canned-item', { hasText: '/call' }).waitFor();
  await input.press('Enter');
  await conv.locator('.composer-warn', { hasText: 'contact.phone_number' }).waitFor(LIVE);
  assert.equal(await input.inputValue(), 'We will call you at {{contact.phone_number}}, Anna.');
  await input.fill('');

  // A private note, visually distinct.
  await conv.locator('.mode-tab[data-mode="note"]').click();
  await input.fill('Customer is VIP, check the courier first');
  await input.press('Enter');
  const note = conv.locator('.msg.note', { hasText: 'Customer is VIP' });
  await note.waitFor();
  const noteBg = await note.locator('.bubble').evaluate((el) => getComputedStyle(el).backgroundColor);
  const replyBg = await conv.locator('.msg.out:not(.note) .bubble').first().evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.notEqual(noteBg, replyBg, 'notes look different from replies');

  // Over the socket too: the reply arrived, the note never did.
  await vs.waitFor((f) => f.event === 'message.created' && f.data.content && f.data.content.startsWith('Hello, Anna Smirnova!'));
  await sleep(300);
  const frames = await vs.frames();
  assert.ok(!JSON.stringify(frames).includes('VIP'), 'no private note on the visitor socket');

  // The visitor got the reply with the names filled in, and never the note.
  const seen = await visitor.messages();
  const texts = seen.map((m) => m.content);
  assert.ok(texts.some((x) => x && x.startsWith('Hello, Anna Smirnova! I am Maria Admin')), JSON.stringify(texts));
  assert.ok(!texts.some((x) => x && x.includes('VIP')), 'the visitor never receives a private note');

  // Transfer to Ivan with a note: one request, whatever the dialog holds.
  const writes = [];
  page.on('request', (r) => {
    const m = /\/conversations\/(\d+)\/(transfer|messages|assignments)$/.exec(r.url());
    if (r.method() === 'POST' && m && Number(m[1]) === visitor.convId) writes.push(m[2]);
  });
  await conv.locator('[data-action="transfer"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('To an agent').selectOption(String(ivan.id));
  await dialog.getByLabel('Note for the colleague').fill('Courier says tomorrow; promise a call back');
  // Into a team he is not in: refused, the dialog stays open with the reason, nothing
  // changed (no note, Maria still holds it).
  await dialog.getByLabel('To a team').selectOption({ label: 'Payments' });
  await dialog.getByRole('button', { name: 'Transfer' }).click();
  await dialog.locator('.form-error', { hasText: 'not a member of this team' }).waitFor(LIVE);
  const refused = await w.s.api('GET', `/conversations/${visitor.convId}/messages`);
  assert.ok(!JSON.stringify(refused).includes('Courier says'), 'a refused transfer stores no note');
  assert.equal((await w.s.api('GET', `/conversations/${visitor.convId}`)).meta.assignee.id, w.s.userId);
  // Without the team it goes through.
  await dialog.getByLabel('To a team').selectOption('');
  await dialog.getByRole('button', { name: 'Transfer' }).click();
  await dialog.waitFor({ state: 'detached' });
  await conv.locator('.assignee-line', { hasText: 'Ivan Petrov' }).waitFor();
  await conv.locator('.msg.note', { hasText: 'Courier says tomorrow' }).waitFor(LIVE);
  await conv.locator('.msg-activity[data-kind="transferred"]', { hasText: 'Transferred to Ivan Petrov by Maria Admin' }).waitFor(LIVE);
  assert.deepEqual(writes, ['transfer', 'transfer'], 'the dialog posts one transfer per attempt and nothing else');

  // Ivan sees it in Mine with the whole history, notes included.
  const ivanPage = await openPage(w.browser, { viewport: { width: 1366, height: 768 } });
  await signIn(ivanPage.page, w.server.base, ivan.email, ivan.password);
  await ivanPage.page.goto(`${w.server.base}/app/#/conversations/mine`);
  const ivanRow = ivanPage.page.locator(`.conv-row[data-id="${visitor.convId}"]`);
  await ivanRow.waitFor();
  await ivanRow.locator('a').click();
  const ivanConv = ivanPage.page.locator(`.conv-view[data-conversation="${visitor.convId}"]`);
  for (const text of ['Where is my order 1042?', 'It was due yesterday', 'Hello, Anna Smirnova!', 'Customer is VIP', 'Courier says tomorrow']) {
    await ivanConv.locator('.msg', { hasText: text }).waitFor();
  }

  // Ivan resolves it (keyboard: E); Maria's open view follows live.
  await ivanPage.page.locator('body').press('e');
  await ivanConv.locator('.status-pill[data-status="resolved"]').waitFor();
  await conv.locator('.status-pill[data-status="resolved"]').waitFor(LIVE);
  await conv.locator('.msg-activity', { hasText: /resolved/ }).waitFor(LIVE);

  assert.deepEqual(maria.errors, [], 'JavaScript errors (Maria)');
  assert.deepEqual(ivanPage.errors, [], 'JavaScript errors (Ivan)');
  assert.deepEqual(maria.blocked, []);
  assert.ok(!JSON.stringify(await vs.frames()).includes('Courier says'), 'no transfer note on the visitor socket');
  await widget.close();
  await ivanPage.close();
  await maria.close();
});

test('customer HTML and script render as text', async () => {
  const { page, errors, close } = await openPage(w.browser);
  await signIn(page, w.server.base, ADMIN.email, ADMIN.password);
  await page.goto(`${w.server.base}/app/#/conversations/all`);
  await page.locator('body[data-realtime="live"]').waitFor(LIVE);

  const payloads = [
    '<img src=x onerror="window.__pwned=1">',
    '<script>window.__pwned=2</script>',
    '"><svg onload=window.__pwned=3>',
    '<a href="javascript:window.__pwned=4">click</a> {{contact.name}}',
  ];
  const visitor = await w.s.visitor({ name: '<b onmouseover=window.__pwned=5>Eve</b>', email: 'eve@example.test', message: payloads[0] });
  for (const p of payloads.slice(1)) await visitor.say(p);

  const row = page.locator(`.conv-row[data-id="${visitor.convId}"]`);
  await row.waitFor(LIVE);
  assert.equal(await row.locator('.row-name').innerText(), '<b onmouseover=window.__pwned=5>Eve</b>');
  await row.locator('a').click();
  const conv = page.locator(`.conv-view[data-conversation="${visitor.convId}"]`);
  for (const p of payloads) {
    const bubble = conv.locator('.msg.in .text').filter({ hasText: p });
    await bubble.waitFor();
    assert.equal(await bubble.innerText(), p);
  }
  // Nothing of it became markup: no image, script, svg or javascript: link in the history,
  // and none of the handlers ran.
  assert.equal(await conv.locator('.history img, .history script, .history svg:not(.icon), .history a[href^="javascript"]').count(), 0);
  assert.equal(await conv.locator('.contact-head h3').innerText(), '<b onmouseover=window.__pwned=5>Eve</b>');
  await conv.locator('.contact-head').hover();
  await sleep(200);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.deepEqual(errors, []);
  await close();
});

test('priority, labels, snooze and reopen from the header; attachments both ways', async () => {
  await w.s.label('vip', '#d97706').catch(() => {});
  await w.s.label('refund', '#dc2626').catch(() => {});
  const { page, errors, close } = await openPage(w.browser, { viewport: { width: 1366, height: 768 } });
  await signIn(page, w.server.base, ADMIN.email, ADMIN.password);
  const visitor = await w.s.visitor({ name: 'Oleg', email: 'oleg@example.test', message: 'Please refund order 77' });
  await page.goto(`${w.server.base}/app/#/conversations/all/${visitor.convId}`);
  const conv = page.locator(`.conv-view[data-conversation="${visitor.convId}"]`);
  await conv.locator('.msg.in').waitFor();

  // Priority.
  await conv.locator('[data-action="priority"]').click();
  await page.getByRole('menuitem', { name: 'Urgent' }).click();
  await conv.locator('[data-action="priority"]', { hasText: 'Urgent' }).waitFor();
  await page.locator(`.conv-row[data-id="${visitor.convId}"] .prio.urgent`).waitFor();

  // Labels (L opens the picker).
  await page.locator('body').press('l');
  await page.locator('.label-picker').getByLabel('refund').check();
  await conv.locator('.conv-labels .label-chip', { hasText: 'refund' }).waitFor();
  await page.keyboard.press('Escape');
  const labels = await w.s.api('GET', `/conversations/${visitor.convId}/labels`);
  assert.deepEqual(labels.payload, ['refund']);

  // Snooze for an hour: it leaves the Open list and says until when.
  await conv.locator('[data-action="snooze"]').click();
  await page.getByRole('menuitem', { name: 'For an hour' }).click();
  await conv.locator('.status-pill[data-status="snoozed"]').waitFor();
  await page.locator(`.conv-row[data-id="${visitor.convId}"]`).waitFor({ state: 'detached' });
  const snoozed = await w.s.api('GET', `/conversations/${visitor.convId}`);
  assert.equal(snoozed.status, 'snoozed');
  assert.ok(Math.abs(snoozed.snoozed_until - (Date.now() / 1000 + 3600)) < 120, `snoozed_until ${snoozed.snoozed_until}`);

  // Reopen (O); it comes back to the list.
  await page.locator('body').press('o');
  await conv.locator('.status-pill[data-status="open"]').waitFor();
  await page.locator(`.conv-row[data-id="${visitor.convId}"]`).waitFor();

  // An attachment from the operator, with a caption; the visitor gets it.
  await conv.locator('input[type=file]').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: PNG });
  await conv.locator('.file-chip', { hasText: 'receipt.png' }).waitFor();
  await conv.locator('textarea.composer-input').fill('Here is the receipt');
  await conv.locator('textarea.composer-input').press('Enter');
  const sent = conv.locator('.msg.out:not(.pending)', { hasText: 'Here is the receipt' });
  await sent.locator('.attachment.image img').waitFor();
  const seen = await visitor.messages();
  const withFile = seen.find((m) => m.content === 'Here is the receipt');
  assert.equal(withFile.attachments.length, 1, JSON.stringify(withFile));
  // The image really loads (the download is authorised by the session cookie).
  await page.waitForFunction((id) => {
    const img = document.querySelector(`.conv-view[data-conversation="${id}"] .msg.out .attachment.image img`);
    return img && img.complete && img.naturalWidth === 1;
  }, visitor.convId);

  // And one from the customer (Client API, multipart): a file link in the console.
  const form = new FormData();
  form.append('content', 'My invoice');
  form.append('attachments[]', new Blob(['%PDF-1.4 fake'], { type: 'application/pdf' }), 'invoice.pdf');
  const up = await fetch(`${w.server.base}/public/api/v1/inboxes/${w.s.inbox.inbox_identifier}/contacts/${visitor.sourceId}/conversations/${visitor.convId}/messages`, { method: 'POST', body: form });
  assert.equal(up.status, 200, await up.text());
  const link = conv.locator('.msg.in', { hasText: 'My invoice' }).locator('a.attachment.file', { hasText: 'invoice.pdf' });
  await link.waitFor({ timeout: 5000 });
  assert.match(await link.getAttribute('href'), /^\/api\/v1\/accounts\/\d+\/attachments\/\d+$/);

  assert.deepEqual(errors, []);
  await close();
});

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
