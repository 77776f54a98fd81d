// First run over HTTP alone: a fresh server has no user, the setup endpoint creates the
// first administrator exactly once, the token it returns works, and health stays green.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startParley } from '../lib/server.js';

let server;

before(async () => {
  server = await startParley();
});

after(async () => {
  await server?.stop();
});

async function json(path, init = {}) {
  const res = await fetch(`${server.base}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers || {}) },
  });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

test('first-run setup through the API, then /healthz', async () => {
  assert.match(server.logs(), /No user exists yet/, 'first-run hint printed');

  let r = await json('/api/v1/setup');
  assert.equal(r.status, 200);
  assert.equal(r.body.setup_needed, true);

  r = await json('/api/v1/setup', {
    method: 'POST',
    body: JSON.stringify({
      name: 'Maria',
      email: 'maria@shop.test',
      password: 'correct horse battery',
      account_name: 'Shop',
    }),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const token = r.body.access_token;
  assert.ok(typeof token === 'string' && token.length >= 20, 'access token returned');
  assert.ok(Number.isInteger(r.body.account_id), 'account id returned');

  r = await json('/api/v1/profile', { headers: { api_access_token: token } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.email, 'maria@shop.test');

  // Setup works only while there is no user.
  r = await json('/api/v1/setup', {
    method: 'POST',
    body: JSON.stringify({ name: 'Eve', email: 'eve@x.test', password: 'password123', account_name: 'X' }),
  });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'conflict');

  r = await json('/api/v1/setup');
  assert.equal(r.body.setup_needed, false);

  r = await json('/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
  assert.equal(r.body.database, 'ok');
});
