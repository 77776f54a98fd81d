// The API docs page must render from the binary alone: Swagger UI is embedded, so with every
// non-loopback request blocked it still shows the Parley API and its routes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

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

test('Swagger UI at /api/docs/ renders the Parley API offline', async () => {
  const { page, blocked, errors, close } = await openPage(browser);

  const res = await page.goto(`${server.base}/api/docs/`);
  assert.equal(res.status(), 200, 'docs page status');

  const title = page.locator('.swagger-ui .info .title');
  await title.waitFor({ timeout: 15000 });
  assert.match(await title.innerText(), /Parley API/);

  // Operations are listed by path once the OpenAPI document has loaded and rendered.
  const profile = page.locator('.opblock-summary-path[data-path="/api/v1/profile"]').first();
  await profile.waitFor({ timeout: 15000 });
  assert.equal(await profile.getAttribute('data-path'), '/api/v1/profile');

  const shot = join(process.env.PARLEY_E2E_SCREENSHOTS || tmpdir(), 'parley-api-docs.png');
  await page.screenshot({ path: shot, fullPage: false });
  console.log(`screenshot: ${shot}`);

  assert.deepEqual(errors, [], 'JavaScript errors on the docs page');
  // Swagger UI's default online validator is one such request; the page must not need any.
  assert.deepEqual(blocked, [], 'the docs page tried to reach the internet');
  await close();
});

test('the OpenAPI document is served as JSON and names the API', async () => {
  const res = await fetch(`${server.base}/api/openapi.json`);
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.info.title, 'Parley API');
  assert.ok(doc.paths['/api/v1/profile'], 'profile path documented');
});
