// The XSS corpus (issue 12): hostile text sent through every field a customer, an agent or
// an administrator controls (a visitor's message and attachment file name, the contact's
// name, e-mail and custom attributes, an agent's reply and private note, a canned response,
// a label, inbox and team names, the widget's welcome texts) must be shown as text by the
// console and by the widget, and run nothing.
//
// How "ran nothing" is seen: every payload that could run sets window.__xss in its own
// frame or calls alert() (a dialog, seen from any frame); init scripts record dialogs and CSP violations (a violation means markup got into
// the page even though the CSP then stopped it); and no element of the page may carry an
// inline event-handler attribute or a javascript: link.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launch, openPage } from '../lib/browser.js';
import { widgetWorld, shopSite, shopPage, widgetFrame, eventually } from '../lib/widget.mjs';
import { signIn, ADMIN } from '../lib/console.mjs';

const RAN = `window.__xss=(window.__xss||[]).concat(1)`;

/** Payloads short enough for names (≤ 100 characters). */
const SHORT = [
  `<script>${RAN}</script>`,
  `<img src=x onerror="${RAN}">`,
  `<svg/onload=alert(1)>`,
  `javascript:alert(1)`,
  `"><iframe srcdoc="<script>parent.alert(1)</script>">`,
  `</textarea></title><style>*{}</style><b onmouseover=alert(1)>x`,
  `<details open ontoggle=alert(1)>`,
  `\u202Egnp.exe\u202C a\u200Bb\u200Dc\uFEFF`,
  `{{contact.name}} <b>bold</b> &lt;i&gt;`,
];

/** Payloads for long texts: all of the above plus links, broken markup and a long one. */
const LONG = [
  ...SHORT,
  `<a href="javascript:${RAN}">click me</a>`,
  `[click](javascript:alert(1)) http://x.test/"onmouseover="alert(1) javascript://%0aalert(1)`,
  `<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
  `<svg><script>alert(1)</script></svg><!--`,
  `<img src="x` + ' '.repeat(10) + `onerror=alert(1)`,
  'W'.repeat(6000) + `<img src=x onerror=alert(1)>`,
];

/** One line of each, so one message or field carries the whole corpus. */
const ALL_LONG = LONG.join('\n');

let w;
let site;
let browser;
let conv;
let visitorConv;

/** Dialogs and CSP violations, recorded before any script of the page runs. */
async function watch(page) {
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  await page.context().addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return dialogs;
}

/** What a frame shows of hostile content: whether anything ran or got in as markup. */
async function verdict(frame) {
  return frame.evaluate(() => {
    const handlers = [];
    const jsLinks = [];
    for (const el of document.querySelectorAll('*')) {
      for (const a of el.attributes) {
        if (/^on/i.test(a.name)) handlers.push(`${el.tagName} ${a.name}`);
        if (/^(href|src|action|formaction|xlink:href)$/i.test(a.name) && /^\s*javascript:/i.test(a.value)) jsLinks.push(`${el.tagName} ${a.name}`);
      }
    }
    return {
      ran: window.__xss || null,
      csp: window.__csp || [],
      handlers,
      jsLinks,
      iframes: document.querySelectorAll('iframe[srcdoc]').length,
      text: document.body.innerText,
    };
  });
}

function assertClean(v, where) {
  assert.equal(v.ran, null, `${where}: a payload ran`);
  assert.deepEqual(v.csp, [], `${where}: markup reached the page (blocked by the CSP)`);
  assert.deepEqual(v.handlers, [], `${where}: an inline event handler got into the page`);
  assert.deepEqual(v.jsLinks, [], `${where}: a javascript: link got into the page`);
  assert.equal(v.iframes, 0, `${where}: an injected iframe`);
}

before(async () => {
  w = await widgetWorld({
    inbox: {
      channel: {
        welcome_title: SHORT[1],
        welcome_tagline: SHORT[0],
      },
    },
  });
  site = await shopSite(w.server.base, w.websiteToken, { '/': shopPage({ title: 'Shop' }) });
  browser = await launch();
  const api = w.agent.call;
  const ok = async (p) => {
    const r = await p;
    assert.ok(r.status < 300, `${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };

  // The agent's own name (shown to visitors beside replies) is hostile too.
  await ok(w.call('PATCH', '/api/v1/profile', { profile: { name: SHORT[1].slice(0, 60) } }, w.agent.token));

  // The visitor writes through the Client API: the whole corpus, then a file with a hostile name.
  const pub = `/public/api/v1/inboxes/${w.inbox.inbox_identifier}`;
  const contact = await ok(w.call('POST', `${pub}/contacts`, { name: SHORT[2], email: '<svg/onload=alert(1)>@evil.test' }));
  visitorConv = await ok(w.call('POST', `${pub}/contacts/${contact.source_id}/conversations`, {}));
  await ok(w.call('POST', `${pub}/contacts/${contact.source_id}/conversations/${visitorConv.id}/messages`, { content: ALL_LONG }));
  const form = new FormData();
  form.append('content', 'file from the visitor');
  form.append('attachments[]', new Blob(['%PDF-1.4 fake'], { type: 'application/pdf' }), `<img src=x onerror=alert(1)>.pdf`);
  const up = await fetch(`${w.server.base}${pub}/contacts/${contact.source_id}/conversations/${visitorConv.id}/messages`, { method: 'POST', body: form });
  assert.equal(up.status, 200, await up.text());
  conv = visitorConv.id;

  // The contact's fields as the agent edits them.
  const full = await ok(api('GET', `/conversations/${conv}`));
  await ok(
    api('PATCH', `/contacts/${full.contact_id ?? full.meta?.sender?.id}`, {
      name: SHORT[4].slice(0, 100),
      custom_attributes: Object.fromEntries(SHORT.map((p, i) => [`k${i}`, p])),
      additional_attributes: { city: SHORT[1], company_name: SHORT[0] },
    }),
  );

  // The agent answers with the corpus, writes a private note, and the account's names.
  await ok(api('POST', `/conversations/${conv}/messages`, { content: ALL_LONG }));
  await ok(api('POST', `/conversations/${conv}/messages`, { content: `note ${SHORT[1]}`, private: true }));
  await ok(api('POST', '/canned_responses', { short_code: 'xss', content: ALL_LONG }));
  await ok(api('POST', '/labels', { title: 'xss', description: SHORT[1], color: '#ff0000' }));
  await ok(api('POST', `/conversations/${conv}/labels`, { labels: ['xss'] }));
  await ok(api('POST', '/teams', { name: SHORT[0].slice(0, 60), description: SHORT[1] }));
  await ok(api('POST', '/inboxes', { name: SHORT[1].slice(0, 60), channel: { type: 'api' } }));
  await ok(api('POST', `/contacts/${full.contact_id ?? full.meta?.sender?.id}/notes`, { content: ALL_LONG }));
});

after(async () => {
  await browser?.close();
  await site?.close();
  await w?.server.stop();
});

test('the console shows the corpus as text in the conversation, the contact panel and settings', async () => {
  const { page, blocked, errors, close } = await openPage(browser, { viewport: { width: 1366, height: 900 } });
  const dialogs = await watch(page);
  try {
    await signIn(page, w.server.base, ADMIN.email, ADMIN.password);
    await page.goto(`${w.server.base}/app/#/conversations/all/${conv}`);
    await page.locator('body[data-realtime="live"]').waitFor({ timeout: 10000 });
    const view = page.locator(`.conv-view[data-conversation="${conv}"]`);
    await view.locator('.msg', { hasText: 'WWWWWWWWWW' }).first().waitFor({ timeout: 10000 });
    await view.locator('a.attachment.file', { hasText: '.pdf' }).waitFor({ timeout: 10000 });
    // Give any injected handler (img onerror, svg onload, details ontoggle) time to fire.
    await page.waitForTimeout(500);
    let v = await verdict(page);
    assertClean(v, 'conversation view');
    for (const p of [SHORT[0], SHORT[1], `<a href="javascript:${RAN}">click me</a>`]) {
      assert.ok(v.text.includes(p), `the conversation shows ${p} as text`);
    }
    assert.ok(v.text.includes('<img src=x onerror=alert(1)>.pdf'), 'the file name is shown as text');
    assert.ok(v.text.includes(`note ${SHORT[1]}`), 'the private note is shown as text');

    // The composer's canned-response menu shows the hostile canned response.
    const composer = page.locator('.composer textarea').first();
    if (await composer.count()) {
      await composer.fill('/xss');
      await page.waitForTimeout(300);
      assertClean(await verdict(page), 'canned-response menu');
      await composer.fill('');
    }

    for (const hash of ['#/conversations/all', '#/settings/inboxes', '#/settings/teams', '#/settings/labels', '#/settings/canned', '#/settings/agents', '#/team', '#/profile']) {
      await page.goto(`${w.server.base}/app/${hash}`);
      await page.waitForTimeout(700);
      v = await verdict(page);
      assertClean(v, hash);
    }
    // The settings pages did show the hostile names, as text.
    await page.goto(`${w.server.base}/app/#/settings/canned`);
    await page.locator('text=WWWWWWWWWW').first().waitFor({ timeout: 5000 });
    await page.goto(`${w.server.base}/app/#/settings/inboxes`);
    await page.getByText(SHORT[1].slice(0, 60), { exact: false }).first().waitFor({ timeout: 5000 });

    assert.deepEqual(dialogs, []);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('the widget shows the corpus as text: welcome texts, replies, agent name, file names', async () => {
  const { page, blocked, errors, close } = await openPage(browser);
  const dialogs = await watch(page);
  try {
    await page.goto(site.base + '/');
    const { frame } = await widgetFrame(page);
    await page.evaluate(() => window.Parley.open());
    await frame.waitForSelector('#composer');
    // The visitor writes the corpus from the widget, and the agent answers with it.
    await frame.fill('#composer', ALL_LONG);
    await frame.press('#composer', 'Enter');
    await frame.waitForSelector('.row.me .st.sent', { timeout: 10000 });
    const mine = await eventually(async () => {
      const r = await w.agent.call('GET', '/conversations?status=all');
      const list = r.body.data.payload.filter((c) => c.id !== conv);
      return list[0];
    }, 10000, 'the widget visitor conversation');
    await w.agent.call('POST', `/conversations/${mine.id}/messages`, { content: `reply ${ALL_LONG}` });
    const form = new FormData();
    form.append('content', 'file from the agent');
    form.append('attachments[]', new Blob(['%PDF-1.4 fake'], { type: 'application/pdf' }), `<svg onload=alert(1)>.pdf`);
    const up = await fetch(`${w.server.base}/api/v1/accounts/${w.agent.account}/conversations/${mine.id}/messages`, {
      method: 'POST',
      headers: { api_access_token: w.agent.token },
      body: form,
    });
    assert.equal(up.status, 200, await up.text());
    await frame.waitForSelector('.row.them >> text=file from the agent', { timeout: 10000 });
    await frame.waitForSelector('.row.them >> text=reply', { timeout: 10000 });
    await page.waitForTimeout(500);

    const inFrame = await verdict(frame);
    assertClean(inFrame, 'widget frame');
    for (const p of [SHORT[0], SHORT[1], `<a href="javascript:${RAN}">click me</a>`]) {
      assert.ok(inFrame.text.includes(p), `the widget shows ${p} as text`);
    }
    assert.ok(inFrame.text.includes("<svg onload=alert(1)>.pdf"), 'the file name is shown as text');
    assertClean(await verdict(page), 'shop page');

    // A reload renders the stored history (another code path than live events).
    await page.reload();
    const again = (await widgetFrame(page)).frame;
    await page.evaluate(() => window.Parley.open());
    await again.waitForSelector('.row.them >> text=file from the agent', { timeout: 10000 });
    await page.waitForTimeout(500);
    assertClean(await verdict(again), 'widget frame after reload');

    assert.deepEqual(dialogs, []);
    assert.deepEqual(blocked, []);
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('the detector itself sees a payload that runs and markup that gets in', async () => {
  const { page, close } = await openPage(browser);
  const dialogs = await watch(page);
  try {
    await page.goto(`${w.server.base}/healthz`);
    await page.evaluate((payloads) => {
      const div = document.createElement('div');
      div.innerHTML = payloads.join('');
      document.body.append(div);
    }, [SHORT[1], `<a href="javascript:${RAN}">x</a>`, `<img src=y onerror=alert(1)>`]);
    await page.waitForTimeout(300);
    const v = await verdict(page);
    assert.ok(v.ran, 'window.__xss was set');
    assert.ok(v.handlers.length >= 1, 'the onerror attribute was seen');
    assert.ok(v.jsLinks.length >= 1, 'the javascript: link was seen');
    assert.ok(dialogs.length >= 1, 'the alert was seen');
  } finally {
    await close();
  }
});
