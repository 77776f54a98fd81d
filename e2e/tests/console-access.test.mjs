// Access that changes while the console is open (issue 12, docs/realtime.md "Access
// changes"): the server closes the console's socket with 4401 / 4403, and the console shows
// the sign-in page or says that access changed, instead of reconnecting forever; an existing
// user added to an account is only invited, and accepts in the console; a close the browser
// starts is answered, so it is clean (RFC 6455 §5.5.1).

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { openPage } from '../lib/browser.js';
import { consoleWorld, signIn, call, sleep } from '../lib/console.mjs';

const w = consoleWorld();

async function liveConsole(who) {
  const p = await openPage(w.browser, { viewport: { width: 1280, height: 800 } });
  await signIn(p.page, w.server.base, who.email, who.password);
  await p.page.goto(`${w.server.base}/app/#/conversations/all`);
  await p.page.locator('body[data-realtime="live"]').waitFor({ timeout: 10000 });
  return p;
}

test('removed from the account: the console says so and stops reconnecting; re-added as an invitation it accepts', async () => {
  const olga = await w.s.agent({ name: 'Olga', email: 'olga@shop.test' });
  const { page, errors, blocked, close } = await liveConsole(olga);
  let sockets = 0;
  page.on('websocket', () => sockets++);

  await w.s.api('DELETE', `/agents/${olga.id}`);
  await page.locator('.auth-card[data-revoked="forbidden"]').waitFor({ timeout: 5000 });
  assert.match(await page.locator('.auth-card').innerText(), /no longer a member/);
  await sleep(2000);
  assert.equal(sockets, 0, 'no reconnection after a 4403');

  // Her e-mail is now an existing user's: adding it invites her.
  const inv = await w.s.api('POST', '/agents', { name: 'Olga again', email: olga.email, role: 'agent' });
  assert.equal(inv.invitation_status, 'pending');
  assert.equal(inv.id, null);
  await page.goto(`${w.server.base}/app/`);
  const notice = page.locator(`.invitation[data-invitation="${inv.invitation_id}"]`);
  await notice.waitFor({ timeout: 5000 });
  assert.match(await notice.innerText(), /Shop/);
  await notice.locator('button[data-action="accept"]').click();
  await page.locator('body[data-realtime="live"]').waitFor({ timeout: 10000 });
  const agents = await w.s.api('GET', '/agents');
  assert.ok(agents.some((a) => a.email === olga.email), 'a member again after accepting');
  assert.deepEqual(errors, []);
  assert.deepEqual(blocked, []);
  await close();
});

test('a password changed elsewhere ends this session: the console shows the sign-in page', async () => {
  const ivan = await w.s.agent({ name: 'Ivan', email: 'ivan@shop.test' });
  const { page, errors, blocked, close } = await liveConsole(ivan);
  // Another browser (a second session) changes the password; the other sessions end.
  const res = await fetch(`${w.server.base}/auth/sign_in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: ivan.email, password: ivan.password }),
  });
  const cookie = res.headers.get('set-cookie').split(';')[0];
  await call(w.server.base, 'PUT', '/api/v1/profile', {
    headers: { cookie, 'x-requested-with': 'XMLHttpRequest' },
    body: { profile: { password: 'a brand new password', password_confirmation: 'a brand new password', current_password: ivan.password } },
  });
  await page.locator('input[name="password"]').waitFor({ timeout: 5000 });
  assert.match(await page.locator('.notice').innerText(), /session ended/i);
  assert.deepEqual(errors, []);
  assert.deepEqual(blocked, []);
  await close();
});

test('a close the browser starts is answered: clean, with its code', async () => {
  const v = await w.s.visitor({ name: 'Closer', email: 'closer@example.test', message: 'hi' });
  const { page, close } = await openPage(w.browser);
  await page.goto(`${w.server.base}/healthz`);
  const result = await page.evaluate(
    (url) =>
      new Promise((resolve) => {
        const ws = new WebSocket(url);
        ws.onmessage = (e) => {
          if (JSON.parse(e.data).event === 'ready') ws.close(4000, 'bye');
        };
        ws.onclose = (e) => resolve({ wasClean: e.wasClean, code: e.code });
      }),
    `${w.server.base.replace(/^http/, 'ws')}/public/api/v1/realtime?pubsub_token=${encodeURIComponent(v.pubsubToken)}`,
  );
  assert.deepEqual(result, { wasClean: true, code: 4000 });
  await close();
});
