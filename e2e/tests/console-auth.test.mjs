// The console's first run and sign-in: a fresh server shows the setup page, which creates
// the administrator and signs in; sign-out and sign-in again; a wrong password is refused;
// the password can be changed; the language follows the browser and the operator's choice
// survives a reload.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';

let server;
let browser;

before(async () => {
  server = await startParley();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('first-run setup page, sign out, sign in, password change', async () => {
  const { page, blocked, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 768 } });

  // The root leads to the console, which shows the setup page while no user exists.
  await page.goto(`${server.base}/`);
  await page.waitForURL(/\/app\/$/);
  await page.getByRole('heading', { name: 'Welcome to Parley' }).waitFor();
  await page.getByLabel('Your name').fill('Maria');
  await page.getByLabel('E-mail').fill('maria@shop.test');
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByLabel('Company or shop name').fill('Shop');
  await page.getByRole('button', { name: 'Create and sign in' }).click();

  // Signed in: the first-run guide greets the new shop; the rail leads to the inbox.
  await page.getByRole('heading', { name: 'Getting started' }).waitFor();
  await page.locator('.rail-btn[data-nav="conversations"]').click();
  await page.locator('.tabs .tab[data-tab="mine"]').waitFor();
  assert.equal(await page.locator('.tab.active').getAttribute('data-tab'), 'mine');
  const setup = await (await fetch(`${server.base}/api/v1/setup`)).json();
  assert.equal(setup.setup_needed, false);

  // Sign out: back to the sign-in page; a reload stays there (the session is gone).
  await page.locator('[data-action="logout"]').click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();

  // A wrong password is refused with a message.
  await page.getByLabel('E-mail').fill('maria@shop.test');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Wrong e-mail or password').waitFor();

  // The right one signs in.
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.tabs .tab[data-tab="mine"]').waitFor();

  // Password change in the profile.
  await page.goto(`${server.base}/app/#/profile`);
  await page.getByLabel('Current password').fill('correct horse battery');
  await page.getByLabel('New password', { exact: true }).fill('a brand new secret');
  await page.getByLabel('New password again').fill('a brand new secret');
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByText('Password changed').waitFor();

  // The session survived the change; the old password no longer works, the new one does.
  const old = await fetch(`${server.base}/auth/sign_in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'maria@shop.test', password: 'correct horse battery' }),
  });
  assert.equal(old.status, 401);
  const fresh = await fetch(`${server.base}/auth/sign_in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'maria@shop.test', password: 'a brand new secret' }),
  });
  assert.equal(fresh.status, 200);
  await page.reload();
  await page.getByRole('heading', { name: 'Profile' }).waitFor();

  assert.deepEqual(errors, [], 'JavaScript errors');
  assert.deepEqual(blocked, [], 'requests left loopback');
  await close();
});

test('the language follows the browser, and the choice is kept', async () => {
  // A Russian browser gets Russian.
  const ru = await openPage(browser, { locale: 'ru-RU' });
  await ru.page.goto(`${server.base}/app/`);
  await ru.page.getByRole('heading', { name: 'Вход' }).waitFor();
  assert.equal(await ru.page.evaluate(() => document.documentElement.lang), 'ru');
  await ru.close();

  // An English browser switches to Russian; the choice survives a reload and sign-in.
  const { page, errors, close } = await openPage(browser, { locale: 'en-US' });
  await page.goto(`${server.base}/app/`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByRole('button', { name: 'Русский' }).click();
  await page.getByRole('heading', { name: 'Вход' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Вход' }).waitFor();
  await page.getByLabel('E-mail').fill('maria@shop.test');
  await page.getByLabel('Пароль').fill('a brand new secret');
  await page.getByRole('button', { name: 'Войти' }).click();
  await page.getByRole('tab', { name: /Без оператора/ }).waitFor();

  // And back to English from the profile.
  await page.goto(`${server.base}/app/#/profile`);
  await page.locator('.seg[data-lang="en"]').click();
  await page.getByRole('heading', { name: 'Profile' }).waitFor();
  assert.equal(await page.evaluate(() => localStorage.getItem('parley.lang')), 'en');
  assert.deepEqual(errors, []);
  await close();
});
