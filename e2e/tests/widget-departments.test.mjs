// The pre-chat form offers the shop's departments (teams that work this chat); the visitor's
// choice is the conversation's team, so it is routed within that department.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { launch, openPage } from '../lib/browser.js';
import { widgetWorld, shopSite, shopPage, widgetFrame, eventually } from '../lib/widget.mjs';

let w;
let site;
let browser;
const teams = {};

before(async () => {
  w = await widgetWorld({ inbox: { channel: { pre_chat_form_enabled: true } } });
  for (const name of ['Delivery', 'Payments']) {
    const t = await w.agent.call('POST', '/teams', { name });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    teams[name] = t.body.id;
    const m = await w.agent.call('POST', `/teams/${t.body.id}/team_members`, { user_ids: [w.agent.userId] });
    assert.ok(m.status < 300, JSON.stringify(m.body));
  }
  site = await shopSite(w.server.base, w.websiteToken, { '/en': shopPage({ title: 'Coffee Corner' }) });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

test('the visitor picks a department in the pre-chat form and the conversation gets that team', async () => {
  const { page, blocked, errors, close } = await openPage(browser, { locale: 'en-US' });
  try {
    await page.goto(`${site.base}/en`);
    const { frame } = await widgetFrame(page);
    await page.evaluate(() => window.Parley.open());
    await frame.waitForSelector('form.form select[name=department]');
    const options = await frame.$$eval('select[name=department] option', (os) => os.map((o) => o.textContent));
    assert.deepEqual(options, ['Any department', 'Delivery', 'Payments']);
    await frame.fill('input[name=email]', 'olga@example.test');
    await frame.selectOption('select[name=department]', String(teams.Payments));
    await page.screenshot({ path: join(process.env.PARLEY_E2E_SCREENSHOTS || tmpdir(), 'widget-departments-en.png') });
    await frame.fill('textarea[name=question]', 'Was I charged twice?');
    await frame.click('form.form button[type=submit]');
    const conv = await eventually(
      async () => {
        const list = (await w.agent.call('GET', '/conversations?status=all')).body.data.payload;
        return list.find((c) => c.meta.team && c.meta.team.id === teams.Payments) || null;
      },
      10000,
      'conversation in Payments',
    );
    assert.equal(conv.meta.sender.email, 'olga@example.test');
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});
