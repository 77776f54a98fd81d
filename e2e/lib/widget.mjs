// Helpers of the widget's browser tests: a Parley server with an administrator and a
// website inbox, a "shop" page served from ANOTHER origin (localhost vs 127.0.0.1, so the
// widget is cross-origin as on a real site), and handles on the widget's iframe.

import { createServer } from 'node:http';

import { startParley } from './server.js';

/** Starts Parley, signs up an administrator and creates a website inbox. */
export async function widgetWorld({ inbox = {}, server: serverOptions = {} } = {}) {
  const server = await startParley(serverOptions);
  const call = async (method, path, body, token) => {
    const res = await fetch(server.base + path, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { api_access_token: token } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  };
  const setup = await call('POST', '/api/v1/setup', {
    name: 'Maria Ivanova',
    email: 'maria@shop.test',
    password: 'correct horse battery',
    account_name: 'Shop',
  });
  if (setup.status !== 201) throw new Error(`setup: ${setup.status} ${JSON.stringify(setup.body)}`);
  const token = setup.body.access_token;
  const account = setup.body.account_id;
  const acct = (p) => `/api/v1/accounts/${account}${p}`;
  const created = await call(
    'POST',
    acct('/inboxes'),
    {
      name: 'Coffee Corner',
      channel: { type: 'web_widget', website_url: 'http://localhost', widget_color: '#0f766e', welcome_title: 'Coffee Corner', reply_time: 'in_a_few_minutes', ...(inbox.channel || {}) },
      ...(inbox.options || {}),
    },
    token,
  );
  if (created.status >= 300) throw new Error(`inbox: ${created.status} ${JSON.stringify(created.body)}`);
  const me = await call('GET', '/api/v1/profile', undefined, token);
  await call('POST', acct('/inbox_members'), { inbox_id: created.body.id, user_ids: [me.body.id] }, token);
  await call('PATCH', acct(`/agents/${me.body.id}`), { availability_status: 'online', auto_offline: false }, token);
  const agent = {
    token,
    account,
    userId: me.body.id,
    call: (method, path, body) => call(method, acct(path), body, token),
  };
  return { server, call, agent, inbox: created.body, websiteToken: created.body.website_token };
}

/**
 * Serves shop pages on http://localhost:<port> (a different origin from Parley's
 * 127.0.0.1): `pages` maps a path to HTML; `{{SNIPPET}}` is replaced by the embed snippet.
 */
export async function shopSite(parleyBase, websiteToken, pages) {
  const snippet = `<script async src="${parleyBase}/widget/loader.js" data-parley-token="${websiteToken}"></script>`;
  const srv = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const html = pages[path];
    if (!html) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html.replaceAll('{{SNIPPET}}', snippet));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  return { base: `http://localhost:${port}`, close: () => new Promise((r) => srv.close(r)) };
}

/** A plain shop page with the snippet; `extra` goes into the body. */
export function shopPage({ title = 'Shop', lang = 'en', extra = '' } = {}) {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${title}</title>
<style>body{font:16px system-ui;margin:0;padding:24px;background:#fafafa}</style></head>
<body><h1>${title}</h1><p>Products and prices.</p>${extra}{{SNIPPET}}</body></html>`;
}

/** The widget's iframe once its bubble is shown. */
export async function widgetFrame(page) {
  await page.waitForFunction(() => window.Parley && window.Parley.__parley);
  const handle = await page.waitForSelector('parley-widget', { state: 'attached' });
  const frame = await (async () => {
    for (let i = 0; i < 100; i++) {
      const f = page.frames().find((x) => x.url().includes('/widget/frame.html'));
      if (f) return f;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('no widget frame');
  })();
  await page.waitForFunction(() => new Promise((r) => window.Parley.on('ready', () => r(true))));
  return { frame, host: handle };
}

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
export async function eventually(fn, ms = 10000, what = 'condition') {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
}
