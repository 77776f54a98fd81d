// Administrator settings through the console: a website inbox with its embed snippet,
// working hours and members; an agent who can then sign in; a team with members; a label
// and a canned response that the composer offers at once; a new API token. Agents do not
// see the settings.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { setupAdmin, signIn, call, ADMIN } from '../lib/console.mjs';

let server;
let browser;
let admin;

before(async () => {
  server = await startParley();
  browser = await launch();
  admin = await setupAdmin(server.base);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('an administrator sets up inboxes, agents, teams, labels and canned responses', async () => {
  const { page, errors, blocked, close } = await openPage(browser, { viewport: { width: 1366, height: 768 } });
  await signIn(page, server.base, ADMIN.email, ADMIN.password);
  const api = (p) => call(server.base, 'GET', `/api/v1/accounts/${admin.accountId}${p}`, { token: admin.token });

  // A website inbox.
  await page.goto(`${server.base}/app/#/settings/inboxes`);
  await page.locator('[data-action="new-inbox"]').click();
  let dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Shop site');
  await dialog.getByLabel('Website address').fill('https://shop.example');
  await dialog.getByRole('button', { name: 'Create' }).click();
  // Straight to its page, with the embed snippet.
  const snippet = page.locator('pre.snippet');
  await snippet.waitFor();
  const inboxes = (await api('/inboxes')).payload;
  assert.equal(inboxes.length, 1);
  assert.equal(await snippet.innerText(), inboxes[0].web_widget_script);
  assert.match(await snippet.innerText(), /^<script async src=".*\/widget\/loader\.js" data-parley-token="[^"]+"><\/script>$/);

  // Working hours: Monday 10:00–19:00, Sunday closed, in Moscow time.
  const hours = page.locator('section.card', { has: page.getByRole('heading', { name: 'Working hours' }) });
  await hours.getByLabel('Use working hours').check();
  await hours.getByLabel('Time zone').fill('Europe/Moscow');
  const monday = hours.locator('tr', { hasText: 'Monday' });
  await monday.getByLabel('Closed').uncheck();
  await monday.getByLabel('All day').uncheck();
  await monday.locator('input[type=time]').first().fill('10:00');
  await monday.locator('input[type=time]').nth(1).fill('19:00');
  await hours.locator('tr', { hasText: 'Sunday' }).getByLabel('Closed').check();
  await saveAndWait(page, hours.getByRole('button', { name: 'Save' }), `/inboxes/${inboxes[0].id}`);
  const inbox = await api(`/inboxes/${inboxes[0].id}`);
  assert.equal(inbox.working_hours_enabled, true, JSON.stringify(inbox));
  assert.equal(inbox.timezone, 'Europe/Moscow');
  const mon = inbox.working_hours.find((d) => d.day_of_week === 1);
  assert.deepEqual([mon.closed_all_day, mon.open_hour, mon.open_minutes, mon.close_hour, mon.close_minutes], [false, 10, 0, 19, 0]);
  assert.equal(inbox.working_hours.find((d) => d.day_of_week === 0).closed_all_day, true);

  // An agent.
  await page.goto(`${server.base}/app/#/settings/agents`);
  await page.getByRole('button', { name: 'New agent' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Olga Operator');
  await dialog.getByLabel('E-mail').fill('olga@shop.test');
  await dialog.getByLabel('Initial password').fill('olga password 1');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.locator('table.data tr', { hasText: 'olga@shop.test' }).waitFor();
  const olga = (await api('/agents')).find((a) => a.email === 'olga@shop.test');
  assert.equal(olga.role, 'agent');

  // She becomes a member of the inbox.
  await page.goto(`${server.base}/app/#/settings/inboxes/${inboxes[0].id}`);
  const members = page.locator('section.card', { has: page.getByRole('heading', { name: 'Members' }) });
  await members.getByLabel('Olga Operator').check();
  await saveAndWait(page, members.getByRole('button', { name: 'Save' }), '/inbox_members');
  assert.deepEqual((await api(`/inbox_members/${inboxes[0].id}`)).payload.map((a) => a.email), ['olga@shop.test']);

  // A team with Olga.
  await page.goto(`${server.base}/app/#/settings/teams`);
  await page.getByRole('button', { name: 'New team' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('Delivery');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('link', { name: 'Delivery' }).click();
  const teamMembersCard = page.locator('section.card', { has: page.getByRole('heading', { name: 'Members' }) });
  await teamMembersCard.getByLabel('Olga Operator').check();
  await saveAndWait(page, teamMembersCard.getByRole('button', { name: 'Save' }), '/team_members');
  const team = (await api('/teams'))[0];
  const teamMembers = await api(`/teams/${team.id}/team_members`);
  assert.deepEqual((Array.isArray(teamMembers) ? teamMembers : teamMembers.payload).map((a) => a.email), ['olga@shop.test']);

  // A label and a canned response.
  await page.goto(`${server.base}/app/#/settings/labels`);
  await page.getByRole('button', { name: 'New label' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('Label').fill('vip');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.locator('table.data .label-chip', { hasText: 'vip' }).waitFor();
  await page.goto(`${server.base}/app/#/settings/canned`);
  await page.getByRole('button', { name: 'New canned response' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('Short code').fill('thanks');
  await dialog.getByLabel('Text').fill('Thank you, {{contact.first_name}}!');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.locator('table.data code', { hasText: '/thanks' }).waitFor();
  assert.equal((await api('/canned_responses'))[0].content, 'Thank you, {{contact.first_name}}!');

  // A new API token, shown once, works.
  await page.goto(`${server.base}/app/#/profile`);
  await page.getByRole('button', { name: 'Create a new token' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Create a new token' }).click();
  const token = await page.locator('.token-out code').innerText();
  const me = await call(server.base, 'GET', '/api/v1/profile', { token });
  assert.equal(me.email, ADMIN.email);

  assert.deepEqual(errors, []);
  assert.deepEqual(blocked, []);
  await close();

  // Olga signs in: no settings for her, and the canned response is offered in the composer.
  const o = await openPage(browser);
  await o.page.goto(`${server.base}/app/`);
  await o.page.getByLabel('E-mail').fill('olga@shop.test');
  await o.page.getByLabel('Password').fill('olga password 1');
  await o.page.getByRole('button', { name: 'Sign in' }).click();
  await o.page.locator('.tabs').waitFor();
  assert.equal(await o.page.locator('.rail-btn[data-nav="settings"]').count(), 0);
  await o.page.goto(`${server.base}/app/#/settings/agents`);
  await o.page.waitForURL(/#\/conversations\/mine$/);
  assert.deepEqual(o.errors, []);
  await o.close();
});

/** Clicks a Save button and waits for its PATCH to succeed (toasts of earlier saves linger). */
async function saveAndWait(page, button, urlEnd) {
  const res = page.waitForResponse((r) => r.request().method() === 'PATCH' && r.url().endsWith(urlEnd));
  await button.click();
  assert.equal((await res).status(), 200);
}
