// The visitor attaches a file from the widget: an image is previewed in the chat and reaches
// the agent as an attachment; a file over the server's upload limit is refused with a clear
// line and nothing is sent.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';

import { launch, openPage } from '../lib/browser.js';
import { widgetWorld, shopSite, shopPage, widgetFrame, eventually } from '../lib/widget.mjs';

/** A solid-colour PNG of w×h pixels (so the preview is visible in the screenshot). */
function png(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(w * 3, 0).map((_, i) => [200, 120, 40][i % 3])]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}
const PNG = png(120, 80);

let w;
let site;
let browser;

before(async () => {
  // A small upload limit, so "too large" is cheap to reach.
  w = await widgetWorld({ server: { args: ['--max-upload-bytes', '4096'] } });
  site = await shopSite(w.server.base, w.websiteToken, { '/en': shopPage({ title: 'Coffee Corner' }) });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

test('a visitor sends an image from the widget; an oversized file is refused', async () => {
  const { page, blocked, errors, close } = await openPage(browser, { locale: 'en-US' });
  try {
    await page.goto(`${site.base}/en`);
    const { frame } = await widgetFrame(page);
    await page.evaluate(() => window.Parley.open());
    await frame.waitForSelector('#composer');
    await frame.fill('#composer', 'Here is the damaged box');
    await frame.press('#composer', 'Enter');
    await frame.waitForSelector('.row.me .st.sent', { timeout: 10000 });
    await frame.setInputFiles('.composer input[type=file]', { name: 'box.png', mimeType: 'image/png', buffer: PNG });
    await frame.waitForSelector('.row.me img[alt="box.png"]', { timeout: 10000 });
    const msg = await eventually(
      async () => {
        const list = (await w.agent.call('GET', '/conversations?status=all')).body.data.payload;
        if (!list.length) return null;
        const msgs = (await w.agent.call('GET', `/conversations/${list[0].id}/messages`)).body.payload;
        return msgs.find((m) => m.attachments && m.attachments.length) || null;
      },
      10000,
      'attachment at the agent',
    );
    assert.equal(msg.message_type, 0);
    assert.equal(msg.attachments[0].file_type, 'image');
    assert.equal(msg.attachments[0].file_name, 'box.png');

    await frame.setInputFiles('.composer input[type=file]', { name: 'big.txt', mimeType: 'text/plain', buffer: Buffer.alloc(8192, 97) });
    await frame.waitForSelector('.notice >> text=The file is too large', { timeout: 10000 });
    await page.screenshot({ path: join(process.env.PARLEY_E2E_SCREENSHOTS || tmpdir(), 'widget-attachment-en.png') });
    assert.equal(await frame.locator('.row.me a.file').count(), 0, 'nothing was sent');
    assert.deepEqual(blocked, []);
    // The refused upload is a 413 the page itself reports as a failed request; nothing else.
    assert.deepEqual(errors.filter((e) => !/413/.test(e)), []);
  } finally {
    await close();
  }
});
