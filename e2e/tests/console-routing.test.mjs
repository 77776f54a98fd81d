// Routing in the console, against the real server: agents' presence changing live in the
// Team view (the availability switcher, a console closing), the Queues view following
// waiting conversations as they queue and get assigned, a reply target (SLA) counting down
// and turning the row red without a reload, Take through the atomic claim (and the friendly
// message when a colleague was quicker), the VIP toggle, and the routing settings forms.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { startParley } from '../lib/server.js';
import { launch, openPage } from '../lib/browser.js';
import { scene, signIn, call, ADMIN, sleep } from '../lib/console.mjs';
import { eventually } from '../lib/widget.mjs';

const LIVE = { timeout: 5000 };
const GRACE = 1; // seconds an agent stays "online" after their console disconnects

let server;
let browser;
let s;
let ivan;
let olga;
let delivery;

before(async () => {
  server = await startParley();
  browser = await launch();
  s = await scene(server.base);
  await s.api('PATCH', `/inboxes/${s.inbox.id}`, { enable_auto_assignment: false });
  ivan = await s.agent({ name: 'Ivan Petrov', email: 'ivan@shop.test' });
  olga = await s.agent({ name: 'Olga Sokolova', email: 'olga@shop.test', role: 'supervisor' });
  delivery = await s.team('Delivery');
  await s.api('PATCH', `/teams/${delivery.id}/team_members`, { user_ids: [ivan.id] });
  const r = await s.api('PATCH', '/routing/settings', { presence_grace_seconds: GRACE });
  assert.equal(r.presence_grace_seconds, GRACE, JSON.stringify(r));
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A signed-in console page of `who` at `hash`, once its socket is live. */
async function consoleAs(who, hash, opts = {}) {
  const p = await openPage(browser, { viewport: { width: 1366, height: 768 }, ...opts });
  await signIn(p.page, server.base, who.email, who.password);
  await p.page.goto(`${server.base}/app/${hash}`);
  await p.page.locator('body[data-realtime="live"]').waitFor(LIVE);
  return p;
}

/** Chooses a status with the rail's switcher. */
async function choose(page, status) {
  await page.locator('[data-action="availability"]').click();
  await page.locator(`.status-item[data-status="${status}"]`).click();
  await page.locator(`[data-action="availability"][data-presence="${status}"]`).waitFor(LIVE);
}

/** An inbox with its own Client API identifier; `members` see it. */
async function inbox(name, options, members = []) {
  const i = await s.api('POST', '/inboxes', { name, channel: { type: 'web_widget', website_url: 'https://shop.example' }, ...options });
  if (members.length) await s.api('POST', '/inbox_members', { inbox_id: i.id, user_ids: members });
  return i;
}

test('the Team view shows the presence of two agents changing live', async () => {
  const maria = await consoleAs(ADMIN, '#/team');
  const { page } = maria;
  const row = (id) => page.locator(`.team-table tr[data-agent="${id}"]`);
  await row(ivan.id).waitFor();
  await row(olga.id).waitFor();
  // Maria herself: her console is connected, so she shows as she chose.
  await choose(page, 'online');
  await row(s.userId).locator('[data-status="online"]').waitFor(LIVE);

  // Ivan opens his console and goes online: Maria sees it without reloading.
  const ivanPage = await consoleAs(ivan, '#/conversations/mine');
  await choose(ivanPage.page, 'online');
  await page.locator(`.team-table tr[data-agent="${ivan.id}"][data-presence="online"]`).waitFor(LIVE);
  // His teams and load are listed.
  assert.match(await row(ivan.id).innerText(), /Delivery/);
  assert.match(await row(ivan.id).locator('.load-num').innerText(), /^0 \/ \d+$/);

  // Busy: here, but no new conversations.
  await choose(ivanPage.page, 'busy');
  await page.locator(`.team-table tr[data-agent="${ivan.id}"][data-presence="busy"]`).waitFor(LIVE);
  // Maria changes her own status too; her row and her switcher follow.
  await choose(page, 'busy');
  await page.locator(`.team-table tr[data-agent="${s.userId}"][data-presence="busy"]`).waitFor(LIVE);
  assert.match(await page.locator('.team-summary').innerText(), /2 busy/);

  // Ivan closes the console: after the grace period he is offline, whatever he chose.
  await ivanPage.close();
  await page.locator(`.team-table tr[data-agent="${ivan.id}"][data-presence="offline"]`).waitFor({ timeout: (GRACE + 8) * 1000 });
  await choose(page, 'online');
  await page.locator(`.team-table tr[data-agent="${s.userId}"][data-presence="online"]`).waitFor(LIVE);

  // A plain agent has no Team view.
  const plain = await consoleAs(ivan, '#/team');
  await plain.page.waitForFunction(() => location.hash.startsWith('#/conversations'));
  assert.equal(await plain.page.locator('.rail [data-nav="team"]').count(), 0);
  assert.deepEqual(plain.errors, []);
  await plain.close();

  assert.deepEqual(maria.errors, []);
  assert.deepEqual(maria.blocked, []);
  await maria.close();
});

test('the Queues view lists waiting conversations and follows them live', async () => {
  // Automatic assignment, but its only agent is away: conversations wait.
  const desk = await inbox('Queue desk', { enable_auto_assignment: true }, [olga.id]);
  const maria = await consoleAs(ADMIN, '#/queues');
  const { page } = maria;
  await page.locator('.queues .empty-note').waitFor(LIVE);

  const first = await s.visitor({ name: 'First Waiting', email: 'first@example.test', message: 'Anyone there?', identifier: desk.inbox_identifier });
  const card = page.locator(`.queue-card[data-inbox="${desk.id}"]`);
  const item = (id) => card.locator(`li[data-id="${id}"]`);
  await item(first.convId).waitFor(LIVE);
  assert.equal(await item(first.convId).locator('.q-pos').innerText(), '1');
  assert.match(await card.locator('.queue-title').innerText(), /Queue desk/);

  const second = await s.visitor({ name: 'Second Waiting', email: 'second@example.test', message: 'Hello?', identifier: desk.inbox_identifier });
  await item(second.convId).waitFor(LIVE);
  assert.equal(await item(second.convId).locator('.q-pos').innerText(), '2');
  assert.equal(await card.locator('.q-stat.waiting .q-stat-value').innerText(), '2');
  // The rail counts them too.
  await page.locator('.rail [data-nav="queues"] .rail-badge', { hasText: '2' }).waitFor(LIVE);
  // Queued rows of the list say how long they have waited.
  const list = await consoleAs(ADMIN, `#/conversations/unassigned`);
  await list.page.locator(`.conv-row[data-id="${first.convId}"] .queue-chip`).waitFor(LIVE);
  await list.close();

  // The first one is assigned: it leaves the queue and the second moves up, live.
  await s.api('POST', `/conversations/${first.convId}/assignments`, { assignee_id: s.userId });
  await item(first.convId).waitFor({ state: 'detached', ...LIVE });
  await card.locator(`li[data-id="${second.convId}"] .q-pos`, { hasText: /^1$/ }).waitFor(LIVE);
  await page.locator('.rail [data-nav="queues"] .rail-badge', { hasText: '1' }).waitFor(LIVE);

  // A click opens the conversation, whose header tells it is queued; Take ends the wait.
  await item(second.convId).locator('a').click();
  await page.waitForFunction((id) => location.hash === `#/conversations/unassigned/${id}`, second.convId);
  const conv = page.locator(`.conv-view[data-conversation="${second.convId}"]`);
  await conv.locator('.head-chips .queue-chip').waitFor(LIVE);
  await conv.locator('[data-action="take"]').click();
  await conv.locator('.assignee-line', { hasText: 'Maria Admin' }).waitFor(LIVE);
  await conv.locator('.head-chips .queue-chip').waitFor({ state: 'detached', ...LIVE });
  await page.goto(`${server.base}/app/#/queues`);
  await page.locator('.queues .empty-note').waitFor(LIVE);
  assert.equal(await page.locator('.rail [data-nav="queues"] .rail-badge').isHidden(), true);

  assert.deepEqual(maria.errors, []);
  await maria.close();
});

test('a reply target counts down and turns the row red without a reload', async () => {
  const desk = await inbox('SLA desk', {
    enable_auto_assignment: false,
    sla_policy: {
      only_during_business_hours: false,
      targets: { none: { first_response_time_threshold: 3, next_response_time_threshold: 3 } },
      escalation: { notify_supervisors: false, raise_priority: false, reassign: false },
    },
  });
  const maria = await consoleAs(ADMIN, '#/conversations/unassigned');
  const { page } = maria;
  const loadsBefore = await page.evaluate(() => performance.getEntriesByType('navigation').length);

  const v = await s.visitor({ name: 'Impatient Customer', email: 'hurry@example.test', message: 'I need an answer quickly', identifier: desk.inbox_identifier });
  const row = page.locator(`.conv-row[data-id="${v.convId}"]`);
  await row.waitFor(LIVE);
  // Due: a countdown chip, not red.
  const due = row.locator('.sla-chip[data-sla="due"]');
  await due.waitFor(LIVE);
  assert.match(await due.innerText(), /^Reply within 1 min$/);
  assert.equal(await row.evaluate((el) => el.classList.contains('overdue')), false);

  // Three seconds later: overdue, the row highlighted, with words and an icon, not colour only.
  await page.locator(`.conv-row.overdue[data-id="${v.convId}"] .sla-chip[data-sla="overdue"]`).waitFor({ timeout: 10000 });
  assert.match(await row.locator('.sla-chip').innerText(), /^Overdue/);
  assert.equal(await row.locator('.sla-chip svg').count(), 1);
  // The server says so too.
  await eventually(async () => {
    const c = await s.api('GET', `/conversations/${v.convId}`);
    return c.sla && c.sla.overdue === true && c.sla.kind === 'first_response';
  }, 10000, 'the server flags the conversation overdue');
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation').length), loadsBefore, 'no reload');

  // The conversation's header says it, too; a reply clears it.
  await row.locator('a').click();
  const conv = page.locator(`.conv-view[data-conversation="${v.convId}"]`);
  await conv.locator('.head-chips .sla-chip[data-sla="overdue"]').waitFor(LIVE);
  const input = conv.locator('textarea.composer-input');
  await input.fill('Here I am, sorry for the wait!');
  await input.press('Enter');
  await page.locator(`.conv-row[data-id="${v.convId}"]:not(.overdue)`).waitFor({ timeout: 10000 });
  await conv.locator('.head-chips .sla-chip').waitFor({ state: 'detached', timeout: 10000 });

  assert.deepEqual(maria.errors, []);
  await maria.close();
});

test('Take claims an unassigned conversation; a quicker colleague keeps it', async () => {
  const v = await s.visitor({ name: 'Take Me', email: 'take@example.test', message: 'Can someone help?' });
  const maria = await consoleAs(ADMIN, `#/conversations/unassigned/${v.convId}`);
  const { page } = maria;
  const conv = page.locator(`.conv-view[data-conversation="${v.convId}"]`);
  await conv.locator('.msg.in', { hasText: 'Can someone help?' }).waitFor();
  let claims = 0;
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith(`/conversations/${v.convId}/claim`)) claims++;
  });
  await conv.locator('[data-action="take"]').click();
  await conv.locator('.assignee-line', { hasText: 'Maria Admin' }).waitFor(LIVE);
  assert.equal(claims, 1, 'Take uses the claim endpoint');
  await page.locator('.toast', { hasText: 'Assigned to you' }).waitFor(LIVE);
  assert.equal(await conv.locator('[data-action="take"]').count(), 0);

  // Ivan is quicker: he gets it between Maria's look and her click. She is told kindly.
  const w = await s.visitor({ name: 'Race Condition', email: 'race@example.test', message: 'Who takes me?' });
  await page.goto(`${server.base}/app/#/conversations/unassigned/${w.convId}`);
  const conv2 = page.locator(`.conv-view[data-conversation="${w.convId}"]`);
  await conv2.locator('[data-action="take"]').waitFor();
  const ivanToken = await tokenOf(ivan);
  let won = null;
  await page.route(`**/conversations/${w.convId}/claim`, async (route) => {
    try {
      won = await call(server.base, 'POST', s.A(`/conversations/${w.convId}/claim`), { token: ivanToken });
    } finally {
      await route.continue();
    }
  });
  await conv2.locator('[data-action="take"]').click();
  await page.locator('.toast.error', { hasText: 'Ivan Petrov has already taken this conversation' }).waitFor(LIVE);
  assert.equal(won && won.meta.assignee.id, ivan.id, 'Ivan claimed it first');
  await conv2.locator('.assignee-line', { hasText: 'Ivan Petrov' }).waitFor(LIVE);
  // Now it is a colleague's: the ordinary "Assign to me" is offered instead.
  await conv2.locator('[data-action="assign-me"]').waitFor(LIVE);
  const api409 = await call(server.base, 'POST', s.A(`/conversations/${w.convId}/claim`), { token: s.token }).catch((e) => e);
  assert.equal(api409.status, 409);

  // VIP from the contact panel.
  const vip = conv2.locator('[data-action="vip"]');
  await vip.waitFor();
  assert.equal(await vip.getAttribute('aria-pressed'), 'false');
  await vip.click();
  await conv2.locator('[data-action="vip"][aria-pressed="true"]').waitFor(LIVE);
  const contactId = (await s.api('GET', `/conversations/${w.convId}`)).contact_id;
  const contact = await s.api('GET', `/contacts/${contactId}`);
  assert.equal((contact.payload || contact).vip, true);

  assert.deepEqual(maria.errors, []);
  await maria.close();
});

/** An agent's API token (signing in over the API returns the user with it). */
async function tokenOf(who) {
  const res = await fetch(`${server.base}/auth/sign_in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: who.email, password: who.password }) });
  const body = await res.json();
  const token = body.access_token || (body.data && body.data.access_token);
  if (token) return token;
  // Else a fresh token through the session cookie.
  const cookie = res.headers.get('set-cookie').split(';')[0];
  const r = await fetch(`${server.base}/api/v1/profile/access_token`, { method: 'POST', headers: { cookie, 'x-requested-with': 'XMLHttpRequest' } });
  return (await r.json()).access_token;
}

test('routing settings: inbox assignment and reply targets, holidays, off-hours e-mail, limits', async () => {
  const maria = await consoleAs(ADMIN, `#/settings/inboxes/${s.inbox.id}`);
  const { page } = maria;
  const saved = (path) => page.waitForResponse((r) => r.url().endsWith(s.A(path)) && r.request().method() === 'PATCH' && r.ok());

  // Assignment: automatic, to the Delivery team, re-assigned after 10 minutes of silence.
  const assign = page.locator('section.card[data-card="routing"]');
  await assign.getByLabel('Assign new conversations to agents automatically').check();
  await assign.getByLabel('Default team').selectOption(String(delivery.id));
  await assign.getByLabel('Re-assign after (minutes)').fill('10');
  let done = saved(`/inboxes/${s.inbox.id}`);
  await assign.getByRole('button', { name: 'Save' }).click();
  await done;
  let i = await s.api('GET', `/inboxes/${s.inbox.id}`);
  assert.deepEqual([i.enable_auto_assignment, i.default_team_id, i.reassign_after_minutes], [true, delivery.id, 10]);

  // Reply targets: urgent 2 / 5 minutes, no priority 15 / 30, business hours only, escalation.
  const sla = page.locator('section.card[data-card="sla"]');
  await sla.getByLabel('Use reply targets in this inbox').check();
  await sla.getByLabel('Count only the working hours').check();
  await sla.locator('input[data-priority="urgent"][data-target="first"]').fill('2');
  await sla.locator('input[data-priority="urgent"][data-target="next"]').fill('5');
  await sla.locator('input[data-priority="none"][data-target="first"]').fill('15');
  await sla.locator('input[data-priority="none"][data-target="next"]').fill('30');
  await sla.getByLabel('Notify the supervisors').check();
  await sla.getByLabel('Raise the priority').check();
  done = saved(`/inboxes/${s.inbox.id}`);
  await sla.getByRole('button', { name: 'Save' }).click();
  await done;
  i = await s.api('GET', `/inboxes/${s.inbox.id}`);
  assert.equal(i.sla_policy.only_during_business_hours, true);
  assert.deepEqual(i.sla_policy.targets.urgent, { first_response_time_threshold: 120, next_response_time_threshold: 300 });
  assert.deepEqual(i.sla_policy.targets.none, { first_response_time_threshold: 900, next_response_time_threshold: 1800 });
  assert.deepEqual(i.sla_policy.escalation, { notify_supervisors: true, raise_priority: true, reassign: false });

  // Holidays and off-hours e-mail, saved with the working hours.
  const hours = page.locator('section.card', { has: page.getByRole('heading', { name: 'Working hours' }) });
  await hours.getByLabel('Holiday date').fill('2026-12-31');
  await hours.getByRole('button', { name: 'Add', exact: true }).click();
  await hours.getByLabel('Holiday date').fill('2027-01-01');
  await hours.getByRole('button', { name: 'Add', exact: true }).click();
  await hours.locator('[data-holiday="2027-01-01"]').waitFor();
  await hours.getByLabel('E-mail questions that arrive outside working hours to').fill('boss@shop.example, night@shop.example');
  await hours.getByLabel('Send one e-mail an hour').check();
  done = saved(`/inboxes/${s.inbox.id}`);
  await hours.getByRole('button', { name: 'Save' }).click();
  await done;
  i = await s.api('GET', `/inboxes/${s.inbox.id}`);
  assert.deepEqual(i.holidays, ['2026-12-31', '2027-01-01']);
  assert.deepEqual(i.offhours_notify_emails, ['boss@shop.example', 'night@shop.example']);
  assert.equal(i.offhours_digest, true);
  // The form shows what was saved after a reload.
  await page.reload();
  await page.locator('section.card[data-card="sla"] input[data-priority="urgent"][data-target="first"]').waitFor();
  assert.equal(await page.locator('section.card[data-card="sla"] input[data-priority="urgent"][data-target="first"]').inputValue(), '2');
  await page.locator('[data-holiday="2026-12-31"]').waitFor();

  // A team's limit.
  await page.goto(`${server.base}/app/#/settings/teams/${delivery.id}`);
  const limit = page.locator('section.card[data-card="team-limit"]');
  await limit.getByLabel('Max open conversations per agent').fill('8');
  done = saved(`/teams/${delivery.id}`);
  await limit.getByRole('button', { name: 'Save' }).click();
  await done;
  const team = await s.api('GET', `/teams/${delivery.id}`);
  assert.equal(team.max_open, 8);

  // An agent's own limit.
  await page.goto(`${server.base}/app/#/settings/agents`);
  const maxOpen = page.locator(`input.max-open[data-agent="${ivan.id}"]`);
  await maxOpen.waitFor();
  // The list may be drawn twice (from memory, then fresh from the server): edit the final one.
  await page.waitForLoadState('networkidle');
  done = saved(`/agents/${ivan.id}`);
  await maxOpen.fill('5');
  await maxOpen.press('Tab');
  await done;
  const agents = await s.api('GET', '/routing/agents');
  assert.equal(agents.payload.find((a) => a.id === ivan.id).max_open, 5);

  // The account's rules.
  await page.goto(`${server.base}/app/#/settings/routing`);
  const form = page.locator('section.card[data-card="account-routing"]');
  await form.getByLabel('Open conversations per agent').fill('12');
  await form.getByLabel('Inactive after (minutes)').fill('20');
  await form.getByLabel('Offline after disconnect (seconds)').fill('30');
  done = saved('/routing/settings');
  await form.getByRole('button', { name: 'Save' }).click();
  await done;
  assert.deepEqual(await s.api('GET', '/routing/settings'), { default_max_open: 12, inactive_after_minutes: 20, presence_grace_seconds: 30 });

  assert.deepEqual(maria.errors, []);
  assert.deepEqual(maria.blocked, []);
  await maria.close();
  await sleep(0);
});
