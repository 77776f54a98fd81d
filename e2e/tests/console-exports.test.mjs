// Exports in the console (issue 17): the "now" strip shows what `reports/conversations`
// answers; the conversations export shows its progress against the announced row count and
// saves a CSV with every row; the sources breakdown has its CSV; a conversation's transcript
// downloads as a file and goes by e-mail to a loopback SMTP sink. Screenshots in English and
// Russian.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import net from 'node:net';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { scene, signIn, call, ADMIN } from '../lib/console.mjs';
import { eventually } from '../lib/widget.mjs';

const SHOTS = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
let server;
let browser;
let s;
let olga;
const mails = [];
let smtp;

/** A loopback SMTP server that accepts everything and keeps each message's data. */
function smtpSink() {
  return new Promise((resolve) => {
    const srv = net.createServer((sock) => {
      let buf = '';
      let data = false;
      let to = [];
      sock.write('220 sink ESMTP\r\n');
      sock.on('data', (chunk) => {
        buf += chunk.toString('utf8');
        for (;;) {
          if (data) {
            const end = buf.indexOf('\r\n.\r\n');
            if (end < 0) return;
            mails.push({ to, data: buf.slice(0, end) });
            buf = buf.slice(end + 5);
            data = false;
            to = [];
            sock.write('250 queued\r\n');
            continue;
          }
          const nl = buf.indexOf('\r\n');
          if (nl < 0) return;
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 2);
          const cmd = line.slice(0, 4).toUpperCase();
          if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250 sink\r\n');
          else if (cmd === 'RCPT') {
            to.push(line.replace(/^.*<(.*)>.*$/, '$1'));
            sock.write('250 ok\r\n');
          } else if (cmd === 'DATA') {
            data = true;
            sock.write('354 go on\r\n');
          } else if (cmd === 'QUIT') {
            sock.end('221 bye\r\n');
            return;
          } else sock.write('250 ok\r\n');
        }
      });
      sock.on('error', () => {});
    });
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

before(async () => {
  smtp = await smtpSink();
  server = await startParley({ env: { PARLEY_SMTP_URL: `smtp://127.0.0.1:${smtp.address().port}`, PARLEY_VISITOR_CONTACTS_PER_MINUTE: '1000' } });
  browser = await launch();
  s = await scene(server.base);
  // Olga's conversation is answered; Emma's waits for an answer; John's is with nobody
  // and resolved later; 40 more visitors write so the export has something to count.
  olga = await s.visitor({ name: 'Ольга', email: 'olga@example.test', message: 'Где мой заказ, "№5"?' });
  await s.api('POST', `/conversations/${olga.convId}/assignments`, { assignee_id: s.userId });
  await s.api('POST', `/conversations/${olga.convId}/messages`, { content: 'Уже в пути' });
  await s.visitor({ name: 'Emma', email: 'emma@example.test', message: 'Do you ship to Finland?' });
  const john = await s.visitor({ name: 'John', email: 'john@example.test', message: 'Refund, please' });
  await s.api('POST', `/conversations/${john.convId}/toggle_status`, { status: 'resolved' });
  for (let i = 0; i < 40; i++) {
    const v = await s.visitor({ name: `Visitor ${i}`, message: `Question ${i}, with a comma` });
    await v.say(`More about ${i}\non two lines`);
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
  smtp?.close();
});

async function openReports(lang = 'en', viewport) {
  const opened = await openPage(browser, { locale: lang === 'ru' ? 'ru-RU' : 'en-US', ...(viewport ? { viewport } : {}) });
  await signIn(opened.page, server.base, ADMIN.email, ADMIN.password);
  await opened.page.goto(`${server.base}/app/#/reports`);
  await opened.page.waitForSelector('[data-section=live] [data-live=open]');
  await opened.page.waitForSelector('[data-section=export] button[data-action=export]');
  return opened;
}

test('the now strip shows the live counts the API answers', async () => {
  const { page, errors, blocked, close } = await openReports();
  try {
    const api = await call(server.base, 'GET', `/api/v2/accounts/${s.accountId}/reports/conversations`, { token: s.token });
    // 42 open conversations: Olga's (answered), Emma's and the 40 visitors' (waiting).
    assert.deepEqual(api, { open: 42, unattended: 41, unassigned: 41, pending: 0 });
    const strip = await page.$$eval('[data-section=live] [data-live]', (els) => Object.fromEntries(els.map((e) => [e.dataset.live, e.querySelector('.live-value').textContent])));
    assert.deepEqual(strip, { open: '42', unattended: '41', unassigned: '41', pending: '0' });
    // Refreshing asks again and shows the change.
    await s.api('POST', `/conversations/${olga.convId}/toggle_status`, { status: 'resolved' });
    await page.click('[data-action=live-refresh]');
    await page.waitForSelector('[data-live=open][data-value="41"]');
    await s.api('POST', `/conversations/${olga.convId}/toggle_status`, { status: 'open' });
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('the conversations export shows its progress and saves every row', async () => {
  const { page, errors, blocked, close } = await openReports();
  try {
    const progress = [];
    await page.exposeFunction('__progress', (v) => progress.push(v));
    await page.evaluate(() => {
      const bar = document.querySelector('[data-part=export-progress]');
      new MutationObserver(() => window.__progress(Number(bar.value))).observe(bar, { attributes: true });
    });
    const response = page.waitForResponse((r) => r.url().includes('/exports/conversations'));
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('button[data-action=export]')]);
    const total = Number((await response).headers()['x-export-rows']);
    // 43 conversations: 1 + 2 messages (Olga), 1 (Emma), 1 (John) and 2 × 40; the
    // resolution of John's and the assignment of Olga's add activity lines.
    assert.ok(total >= 3 + 1 + 1 + 80, `total ${total}`);
    await page.waitForSelector('[data-part=export-status][data-state=done]');
    assert.equal(await page.getAttribute('[data-part=export-status]', 'data-rows'), String(total));
    assert.match(await page.textContent('[data-part=export-status]'), new RegExp(`Done: ${total} rows`));
    assert.ok(progress.length > 0 && progress.at(-1) === total, `progress ${progress}`);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.ok(csv.startsWith('\uFEFFConversation,Started (UTC),Status'), csv.slice(0, 80));
    assert.match(csv, /"Где мой заказ, ""№5""\?"/);
    assert.match(csv, /"More about 7\non two lines"/);
    assert.match(download.suggestedFilename(), /^conversations_.*\.csv$/);

    // A filter: only resolved conversations (John's).
    await page.selectOption('[data-section=export] select[name=status]', 'resolved');
    const filtered = page.waitForResponse((r) => r.url().includes('/exports/conversations') && r.url().includes('status=resolved'));
    const [second] = await Promise.all([page.waitForEvent('download'), page.click('button[data-action=export]')]);
    await filtered;
    const only = readFileSync(await second.path(), 'utf8');
    assert.match(only, /John/);
    assert.doesNotMatch(only, /Ольга/);

    // Sources have their CSV too.
    await page.click('button[data-dim=sources]');
    await page.waitForSelector('button[data-action=csv][data-csv=sources]');
    const [src] = await Promise.all([page.waitForEvent('download'), page.click('button[data-action=csv][data-csv=sources]')]);
    const sources = readFileSync(await src.path(), 'utf8');
    assert.ok(sources.startsWith('\uFEFFReport for'), sources.slice(0, 40));
    assert.match(sources, /\(none\),43,/);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('a conversation transcript downloads and goes by e-mail', async () => {
  const { page, errors, blocked, close } = await openPage(browser, { locale: 'ru-RU' });
  try {
    await signIn(page, server.base, ADMIN.email, ADMIN.password);
    await page.goto(`${server.base}/app/#/conversations/${olga.convId}`);
    await page.waitForSelector('button[data-action=transcript]');
    await page.click('button[data-action=transcript]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('.popover button:has-text("Скачать переписку")')]);
    const text = readFileSync(await download.path(), 'utf8');
    assert.equal(download.suggestedFilename(), `conversation-${olga.convId}-transcript.txt`);
    assert.match(text, new RegExp(`^Transcript of conversation #${olga.convId}\\n`), 'headings in the account language (English)');
    assert.match(text, /Где мой заказ, "№5"\?/);
    assert.match(text, /Уже в пути/);

    await page.click('button[data-action=transcript]');
    await page.click('.popover button:has-text("Отправить переписку по e-mail")');
    await page.fill('.modal input[name=email]', 'boss@shop.test');
    await page.screenshot({ path: join(SHOTS, 'console-ru-transcript-mail.png') });
    await page.click('.modal button[data-action=send-transcript]');
    await page.waitForSelector('.modal', { state: 'detached' });
    const mail = await eventually(async () => mails.find((m) => m.to.includes('boss@shop.test')), 10000, 'the transcript e-mail');
    assert.match(mail.data, /Subject: /);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

for (const lang of ['en', 'ru']) {
  test(`screenshot ${lang}`, async () => {
    const { page, errors, blocked, close } = await openReports(lang, { width: 1366, height: 900 });
    try {
      await page.click('button[data-action=export]').catch(() => {});
      await page.waitForSelector('[data-part=export-status][data-state=done]');
      const text = await page.textContent('[data-page=reports]');
      assert.match(text, lang === 'ru' ? /Сейчас[\s\S]*Выгрузка диалогов с сообщениями/ : /Right now[\s\S]*Export conversations with messages/);
      await page.screenshot({ path: join(SHOTS, `console-${lang}-reports-live.png`) });
      await page.setViewportSize({ width: 1366, height: 3200 });
      await page.screenshot({ path: join(SHOTS, `console-${lang}-reports-export.png`), fullPage: true });
      console.log(`screenshots in ${SHOTS}`);
      assert.deepEqual(blocked, []);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
}
