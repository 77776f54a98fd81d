// Helpers for the operator-console tests: the API calls that set the scene (administrator,
// inboxes, agents, canned responses, visitors writing through the Client API) and signing a
// browser page in.

import { before, after } from 'node:test';

import { startParley } from './server.js';
import { launch } from './browser.js';

export async function call(base, method, path, { token, body, headers = {} } = {}) {
  const h = { accept: 'application/json', ...headers };
  if (token) h.api_access_token = token;
  if (body !== undefined) h['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = text;
  }
  if (!res.ok) {
    const err = new Error(`${method} ${path} → ${res.status}: ${text}`);
    err.status = res.status;
    err.body = json;
    throw err;
  }
  return json;
}

export const ADMIN = { name: 'Maria Admin', email: 'maria@shop.test', password: 'correct horse battery', account_name: 'Shop' };

/** First-run setup over the API; returns {token, accountId}. */
export async function setupAdmin(base, who = ADMIN) {
  const r = await call(base, 'POST', '/api/v1/setup', { body: who });
  return { token: r.access_token, accountId: r.account_id, userId: r.user.id };
}

/**
 * The usual world of a console test file: registers the file's `before` (a fresh server, a
 * browser, a scene) and `after` (both stopped); `server`, `browser` and `s` are set on the
 * returned object before the first test runs.
 */
export function consoleWorld() {
  const w = {};
  before(async () => {
    w.server = await startParley();
    w.browser = await launch();
    w.s = await scene(w.server.base);
  });
  after(async () => {
    await w.browser?.close();
    await w.server?.stop();
  });
  return w;
}

/** A scene: administrator, a website inbox, returns handy closures. */
export async function scene(base, { admin = ADMIN } = {}) {
  const { token, accountId, userId } = await setupAdmin(base, admin);
  const A = (p) => `/api/v1/accounts/${accountId}${p}`;
  const api = (method, p, body) => call(base, method, A(p), { token, body });
  const inbox = await api('POST', '/inboxes', { name: 'Website', channel: { type: 'web_widget', website_url: 'https://shop.example' } });
  return {
    token,
    accountId,
    userId,
    inbox,
    api,
    A,
    async agent({ name, email, password = 'agent password 1', role = 'agent' }) {
      const a = await api('POST', '/agents', { name, email, role, password });
      await api('POST', '/inbox_members', { inbox_id: inbox.id, user_ids: [a.id] });
      return { ...a, password };
    },
    async canned(short_code, content) {
      return api('POST', '/canned_responses', { short_code, content });
    },
    async label(title, color = '#2463eb') {
      return api('POST', '/labels', { title, color });
    },
    async team(name) {
      return api('POST', '/teams', { name });
    },
    /** A visitor with a conversation and a first message; returns ids to continue with. */
    async visitor({ name, email, message, context, identifier = inbox.inbox_identifier }) {
      const pub = `/public/api/v1/inboxes/${identifier}`;
      const contact = await call(base, 'POST', `${pub}/contacts`, { body: { name, email } });
      const sourceId = contact.source_id;
      const body = context ? { additional_attributes: context } : {};
      const conv = await call(base, 'POST', `${pub}/contacts/${sourceId}/conversations`, { body });
      const v = {
        sourceId,
        contact,
        pubsubToken: contact.pubsub_token,
        convId: conv.id,
        async say(content) {
          return call(base, 'POST', `${pub}/contacts/${sourceId}/conversations/${conv.id}/messages`, { body: { content } });
        },
        async messages() {
          return call(base, 'GET', `${pub}/contacts/${sourceId}/conversations/${conv.id}/messages`);
        },
      };
      if (message) await v.say(message);
      return v;
    },
  };
}

/** Signs the page's browser context in (the cookie is shared by its pages). */
export async function signIn(page, base, email, password) {
  const res = await page.request.post(`${base}/auth/sign_in`, {
    data: { email, password },
    headers: { 'x-requested-with': 'XMLHttpRequest' },
  });
  if (!res.ok()) throw new Error(`sign in as ${email}: ${res.status()} ${await res.text()}`);
}

/**
 * Keeps every WebSocket the page opens in window.__sockets, so a test can cut them
 * (test instrumentation; the console itself exposes nothing).
 */
export async function trackSockets(page) {
  await page.addInitScript(() => {
    const Native = window.WebSocket;
    window.__sockets = [];
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        window.__sockets.push(this);
      }
    };
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The visitor's own WebSocket, opened from a page of the server's origin (Node 20 has no
 * WebSocket): frames are collected in window.__frames; `send(obj)` sends one.
 */
export async function visitorSocket(page, base, pubsubToken) {
  await page.goto(`${base}/healthz`);
  await page.evaluate(
    ({ url }) =>
      new Promise((resolve, reject) => {
        window.__frames = [];
        const ws = new WebSocket(url);
        window.__ws = ws;
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data);
          window.__frames.push(f);
          if (f.event === 'ready') resolve();
        };
        ws.onerror = () => reject(new Error('visitor socket failed'));
      }),
    { url: `${base.replace(/^http/, 'ws')}/public/api/v1/realtime?pubsub_token=${encodeURIComponent(pubsubToken)}` },
  );
  return {
    frames: () => page.evaluate(() => window.__frames),
    send: (obj) => page.evaluate((o) => window.__ws.send(JSON.stringify(o)), obj),
    waitFor: (pred, timeout = 5000) =>
      page.waitForFunction((src) => window.__frames.some(new Function('f', `return (${src})(f)`)), pred.toString(), { timeout }),
  };
}

/**
 * Opens Settings → Inboxes → New inbox, chooses the channel `type` and waits for its field
 * `input[name=<ready>]`; returns the dialog.
 */
export async function newInboxForm(page, base, type, ready) {
  await page.goto(`${base}/app/#/settings/inboxes`);
  await page.locator('[data-action="new-inbox"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('select[name=type]').selectOption(type);
  await dialog.locator(`input[name=${ready}]`).waitFor();
  return dialog;
}
