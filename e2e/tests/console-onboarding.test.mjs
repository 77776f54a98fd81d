// The first-run guide: a fresh server's setup page leads to "Getting started"; each of the
// three steps (website with its snippet and the demo page, an operator, working hours) is
// marked done when it is; "Hide the guide" is remembered by the server (a reload and
// another browser do not bring it back); Settings reopens it. Screenshots in EN and RU go to
// $PARLEY_E2E_SCREENSHOTS (default: the temp directory).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdirSync } from 'node:fs';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { signIn } from '../lib/console.mjs';

const SHOTS = process.env.PARLEY_E2E_SCREENSHOTS || tmpdir();
const OWNER = { email: 'owner@shop.test', password: 'correct horse battery' };

let server;
let browser;

before(async () => {
  server = await startParley();
  browser = await launch();
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const stepDone = (page, key) => page.locator(`[data-step="${key}"]`).getAttribute('data-done');

async function waitDone(page, key) {
  await page.locator(`[data-step="${key}"][data-done="true"]`).waitFor();
}

test('setup → getting started → each step done → hidden for good → reopened', async () => {
  const { page, errors, close } = await openPage(browser, { viewport: { width: 1280, height: 900 } });
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });

  // The first-run hint names the page to open.
  assert.match(server.logs(), /Open http:\/\/127\.0\.0\.1:\d+\/app\/ in a browser/);

  await page.goto(`${server.base}/app/`);
  await page.getByRole('heading', { name: 'Welcome to Parley' }).waitFor();
  await page.getByLabel('Your name').fill('Olga');
  await page.getByLabel('E-mail').fill(OWNER.email);
  await page.getByLabel('Password').fill(OWNER.password);
  await page.getByLabel('Company or shop name').fill('Tea shop');
  await page.getByRole('button', { name: 'Create and sign in' }).click();

  // The guide, not an empty list; nothing done yet.
  await page.getByRole('heading', { name: 'Getting started' }).waitFor();
  assert.match(page.url(), /#\/welcome$/);
  for (const key of ['website', 'operator', 'hours']) assert.equal(await stepDone(page, key), 'false', key);
  assert.equal(await page.locator('[data-progress]').getAttribute('data-progress'), '0');
  await page.screenshot({ path: join(SHOTS, 'console-en-onboarding-start.png') });

  // 1. Connect the website: create the inbox from the guide, then the snippet and the demo.
  const form = page.locator('[data-form="guide-inbox"]');
  await form.getByLabel('Website address').fill('https://tea.example');
  await form.getByRole('button', { name: 'Create the website inbox' }).click();
  const snippet = page.locator('[data-step="website"] [data-snippet]');
  await snippet.waitFor();
  assert.match(await snippet.textContent(), /data-parley-token="[A-Za-z0-9]+"/);
  // An inbox nobody has used yet is not a connected website.
  assert.equal(await stepDone(page, 'website'), 'false');

  const [demo] = await Promise.all([page.waitForEvent('popup'), page.locator('[data-action="open-demo"]').click()]);
  const profile = await (await page.request.get(`${server.base}/api/v1/profile`)).json();
  const accountId = profile.account_id ?? profile.accounts[0].id;
  const inboxes = await (await page.request.get(`${server.base}/api/v1/accounts/${accountId}/inboxes`)).json();
  const inbox = inboxes.payload[0];
  const guide = async () => (await page.request.get(`${server.base}/api/v1/accounts/${accountId}/onboarding`)).json();
  await demo.waitForLoadState();
  assert.ok(demo.url().endsWith(`/demo?token=${inbox.inbox_identifier}`), demo.url());
  await demo.close();
  await waitDone(page, 'website');

  await page.locator('[data-action="copy-snippet"]').click();
  await page.waitForFunction(async () => (await navigator.clipboard.readText()).includes('data-parley-token'));

  // 2. Invite an operator: the link leads to Settings → Agents; the new agent counts.
  await page.locator('[data-action="open-agents"]').click();
  await page.waitForURL(/#\/settings\/agents$/);
  const addAgent = await page.request.post(`${server.base}/api/v1/accounts/${accountId}/agents`, {
    data: { name: 'Ivan', email: 'ivan@shop.test', role: 'agent', password: 'agent password 1' },
    headers: { 'x-requested-with': 'XMLHttpRequest' },
  });
  assert.ok(addAgent.ok(), await addAgent.text());
  await page.locator('[data-action="reopen-guide"]').click();
  await page.getByRole('heading', { name: 'Getting started' }).waitFor();
  await waitDone(page, 'operator');

  // 3. Working hours: the link opens the inbox's settings; switching hours on completes it.
  await page.locator('[data-action="open-hours"]').click();
  await page.waitForURL(new RegExp(`#/settings/inboxes/${inbox.id}$`));
  const hours = page.locator('section.card', { has: page.getByRole('heading', { name: 'Working hours' }) });
  await hours.getByLabel('Use working hours', { exact: false }).check();
  await hours.getByRole('button', { name: 'Save' }).click();
  await page.getByText('Saved').first().waitFor();
  await page.locator('[data-action="reopen-guide"]').click();
  await waitDone(page, 'hours');
  await page.locator('[data-completed]').waitFor();
  assert.equal(await page.locator('[data-progress]').getAttribute('data-progress'), '3');
  await page.screenshot({ path: join(SHOTS, 'console-en-onboarding-done.png') });

  // The state is the server's.
  let state = await guide();
  assert.deepEqual(state.steps, { website: true, operator: true, hours: true });
  assert.equal(state.demo_opened, true);
  assert.equal(state.snippet_copied, true);
  assert.equal(state.dismissed, false);

  // Hide: the conversation list; a reload and another browser keep it hidden.
  await page.locator('[data-action="dismiss-guide"]').click();
  await page.locator('.tabs .tab[data-tab="mine"]').waitFor();
  await page.reload();
  await page.locator('.tabs .tab[data-tab="mine"]').waitFor();
  assert.equal(await page.locator('[data-onboarding]').count(), 0);
  state = await guide();
  assert.equal(state.dismissed, true);

  // Reopened from Settings: shown again, with the steps still done.
  await page.goto(`${server.base}/app/#/settings/inboxes`);
  await page.locator('[data-action="reopen-guide"]').click();
  await page.getByRole('heading', { name: 'Getting started' }).waitFor();
  await waitDone(page, 'website');
  state = await guide();
  assert.equal(state.dismissed, false);
  assert.deepEqual(errors, [], 'no page errors');
  await close();

  // Russian: another browser, the same account state.
  const ru = await openPage(browser, { viewport: { width: 1280, height: 900 }, locale: 'ru-RU' });
  await signIn(ru.page, server.base, OWNER.email, OWNER.password);
  await ru.page.goto(`${server.base}/app/#/welcome`);
  await ru.page.getByRole('heading', { name: 'С чего начать' }).waitFor();
  await waitDone(ru.page, 'hours');
  await ru.page.screenshot({ path: join(SHOTS, 'console-ru-onboarding-done.png') });
  await ru.page.getByRole('button', { name: 'Скрыть подсказки' }).click();
  await ru.page.locator('.tabs .tab[data-tab="mine"]').waitFor();
  assert.deepEqual(ru.errors, [], 'no page errors (RU)');
  await ru.close();
});
