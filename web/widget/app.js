// The widget inside its iframe (Parley's own origin, isolated from the shop's CSS and JS).
//
// - The visitor's credentials (contact identifier, pubsub token), the open conversation and
//   the last event cursor live in this origin's localStorage, so history comes back on every
//   page and visit; the shop's scripts cannot read them.
// - Messages are received over the visitor WebSocket (docs/realtime.md) and resumed by
//   cursor after a drop. Unsent messages wait in an outbox (also in localStorage) with their
//   echo_id; they are re-sent after every reconnect until acknowledged, and the server's
//   echo_id rule makes the retry store nothing twice.
// - The shop page talks to this frame only through postMessage: messages are accepted from
//   the parent window at the origin the loader declared (checked against the browser's own
//   ancestorOrigins where it has them), and sent only to that origin.

import { t, setLocale, locale, ZONE_CITIES_RU } from './i18n.js';
import { h, linkify, icon, ICONS, avatar } from './dom.js';

const Q = new URLSearchParams(location.search);
const TOKEN = (Q.get('token') || '').replace(/[^A-Za-z0-9]/g, '');
const API = `/public/api/v1/inboxes/${TOKEN}`;
const KEY = `parley.v1.${TOKEN}`;
const VISIT = `parley.visit.${TOKEN}`;
const EMBEDDED = window.parent !== window;

// The parent's origin: what the loader said, unless the browser knows better.
let parentOrigin = Q.get('origin') || null;
const ancestors = location.ancestorOrigins;
if (ancestors && ancestors.length) {
  if (parentOrigin && parentOrigin !== ancestors[0]) parentOrigin = null;
  else parentOrigin = ancestors[0];
}

// ---- persistent state -------------------------------------------------------------------
//
// Where the browser lets this third-party frame keep storage (partitioned per site), the
// state lives here. Where it does not (incognito windows, strict tracking protection), the
// loader keeps it in the shop's own storage and hands it over in `init`; writes go back
// to it with `persist`.

function probe(name) {
  try {
    const st = window[name];
    st.setItem('parley.probe', '1');
    st.removeItem('parley.probe');
    return st;
  } catch {
    return null;
  }
}
const LS = probe('localStorage');
const SS = probe('sessionStorage');

function parse(text) {
  try {
    const v = JSON.parse(text || 'null');
    return v && typeof v === 'object' ? v : {};
  } catch {
    return {};
  }
}
let S = { outbox: [] };
let visit = {};
let loaded = false;
function loadState(hostState, hostVisit) {
  if (loaded) return;
  loaded = true;
  S = parse(LS ? LS.getItem(KEY) : hostState);
  S.outbox = (Array.isArray(S.outbox) ? S.outbox : []).map(({ echo_id, content, at }) => ({ echo_id, content, at }));
  visit = parse(SS ? SS.getItem(VISIT) : hostVisit);
}

function persist(area, key, text) {
  try {
    if (area === 'local' && LS) return LS.setItem(key, text);
    if (area === 'session' && SS) return SS.setItem(key, text);
  } catch {
    return; /* storage full: the chat still works for this page */
  }
  post('persist', { area, value: text });
}

let saveTimer = 0;
function save(now) {
  clearTimeout(saveTimer);
  const write = () => persist('local', KEY, JSON.stringify({ ...S, outbox: S.outbox.map(({ inflight, ...m }) => m) }));
  if (now) write();
  else saveTimer = setTimeout(write, 200);
}

// ---- runtime state ----------------------------------------------------------------------

let config = null; // the public inbox
const msgs = new Map(); // id -> message
let conv = null; // the conversation as the Client API shows it
let agentSeen = 0; // epoch seconds the agents last read up to
let typing = null; // {name, until}
let isOpen = !EMBEDDED;
let unread = 0;
let ws = null;
let wsReady = false;
let failures = 0;
let retryTimer = 0;
let pingTimer = 0;
let pongDue = 0;
let ackTimer = 0;
let page = { url: '', title: '', referrer: '' };
let pendingUser = null; // setUser before the contact exists
let pendingAttrs = null; // setCustomAttributes before the contact exists
let notice = ''; // a transient error line
let hasOlder = false;
let view = 'chat';

// ---- talking to the shop page -----------------------------------------------------------

function post(type, data = {}) {
  if (EMBEDDED && parentOrigin) window.parent.postMessage({ parley: 1, type, ...data }, parentOrigin);
}
/** The loader's button labels, in the widget's language (the loader has no dictionary). */
function labels() {
  return { open: t('openChat'), close: t('close'), hide: t('hideButton') };
}
function emit(name, data) {
  post('event', { name, data });
}

window.addEventListener('message', (e) => {
  if (!EMBEDDED || e.source !== window.parent || e.origin !== parentOrigin) return;
  const m = e.data;
  if (!m || m.parley !== 1) return;
  switch (m.type) {
    case 'init':
      loadState(m.state, m.visit);
      if (m.locale) setLocale(m.locale);
      setPage(m.page);
      initDone();
      post('labels', { labels: labels() });
      render();
      break;
    case 'page':
      setPage(m.page);
      break;
    case 'open':
      isOpen = true;
      peek(false);
      widgetTriggered();
      unread = 0;
      post('unread', { count: 0 });
      render();
      markRead();
      focusComposer();
      break;
    case 'close':
      isOpen = false;
      break;
    case 'exit':
      exitSeen = true;
      checkInvites();
      break;
    case 'setUser':
      setUser(String(m.identifier || ''), m.attrs || {});
      break;
    case 'setCustomAttributes':
      setCustomAttributes(m.attrs || {});
      break;
    case 'setLocale':
      setLocale(m.locale);
      post('labels', { labels: labels() });
      render();
      break;
    case 'reset':
      reset();
      break;
  }
});

// ---- the visit: pages, referrer, UTM, time on site --------------------------------------

let initDone;
const inited = new Promise((r) => (initDone = r));

function setPage(p) {
  if (!p || typeof p.url !== 'string') return;
  page = { url: p.url.slice(0, 2048), title: String(p.title || '').slice(0, 300), referrer: String(p.referrer || '') };
  const now = Math.floor(Date.now() / 1000);
  if (!visit.started) {
    visit.started = now;
    visit.referrer = page.referrer;
    S.visits = (S.visits || 0) + 1;
    save();
  }
  try {
    const u = new URL(page.url);
    const utm = {};
    for (const k of ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content']) {
      const v = u.searchParams.get(k);
      if (v) utm[k] = v.slice(0, 255);
    }
    if (Object.keys(utm).length) visit.utm = utm;
  } catch {
    /* not a URL: nothing to read */
  }
  visit.trail = visit.trail || [];
  const last = visit.trail[visit.trail.length - 1];
  if (!last || last.url !== page.url) {
    visit.trail.push({ url: page.url, title: page.title, at: now });
    visit.pages = (visit.pages || 0) + 1;
    pageAt = Date.now();
  }
  visit.trail = visit.trail.slice(-20);
  persist('session', VISIT, JSON.stringify(visit));
  reportContext();
}

/** A rough reading of the user agent, enough for an agent to picture the visitor. */
function browser() {
  const ua = navigator.userAgent;
  const find = (re) => (ua.match(re) || [])[1] || '';
  let name = 'Other';
  let version = '';
  for (const [n, re] of [
    ['Edge', /Edg\/([\d.]+)/],
    ['Yandex', /YaBrowser\/([\d.]+)/],
    ['Opera', /OPR\/([\d.]+)/],
    ['Firefox', /Firefox\/([\d.]+)/],
    ['Chrome', /Chrom(?:e|ium)\/([\d.]+)/],
    ['Safari', /Version\/([\d.]+).*Safari/],
  ]) {
    if (re.test(ua)) {
      name = n;
      version = find(re);
      break;
    }
  }
  const platform = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iPod/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : 'Other';
  const device = /iPad|Tablet/.test(ua) ? 'tablet' : /Mobi|iPhone|Android/.test(ua) ? 'mobile' : 'desktop';
  return { browser_name: name, browser_version: version.split('.')[0], platform_name: platform, device_name: device };
}

/** What agents see about the visitor (docs/widget.md lists the keys). */
function context(extra = {}) {
  const now = Math.floor(Date.now() / 1000);
  const c = {
    page_url: /^https?:/.test(page.url) ? page.url : undefined,
    page_title: page.title || undefined,
    referer: /^https?:/.test(page.url) ? page.url : undefined,
    visit_referrer: /^https?:/.test(visit.referrer || '') ? visit.referrer : undefined,
    utm: visit.utm,
    page_trail: (visit.trail || []).filter((p) => /^https?:/.test(p.url)),
    browser: browser(),
    browser_language: navigator.language,
    timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    screen: `${screen.width}x${screen.height}`,
    time_on_site: visit.started ? Math.max(0, now - visit.started) : 0,
    visit_started_at: visit.started || now,
    ...extra,
  };
  return c;
}

let contextTimer = 0;
function reportContext() {
  clearTimeout(contextTimer);
  if (!S.source_id || !S.conv || conv?.status === 'resolved') return;
  const { referer, ...c } = context();
  contextTimer = setTimeout(() => {
    api('POST', `/contacts/${S.source_id}/conversations/${S.conv}/update_visitor_context`, { additional_attributes: c }).catch(() => {});
  }, 500);
}

// ---- Client API -------------------------------------------------------------------------

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const r = await fetch(API + path, init);
  let data = null;
  try {
    data = await r.json();
  } catch {
    /* an empty or non-JSON body */
  }
  if (!r.ok) {
    const e = new Error((data && data.error && data.error.message) || `HTTP ${r.status}`);
    e.status = r.status;
    e.code = data && data.error && data.error.code;
    throw e;
  }
  return data;
}

/** Creates the visitor's contact on first need (first message, form, setUser). */
async function ensureContact(fields = {}) {
  if (S.source_id) return;
  const body = { ...fields };
  if (pendingUser) {
    Object.assign(body, pendingUser.fields);
    body.identifier = pendingUser.identifier;
    if (pendingUser.hash) body.identifier_hash = pendingUser.hash;
  }
  if (pendingAttrs) body.custom_attributes = pendingAttrs;
  const c = await api('POST', '/contacts', body);
  S.source_id = c.source_id;
  S.pubsub_token = c.pubsub_token;
  S.user = pendingUser ? pendingUser.identifier : null;
  pendingUser = null;
  pendingAttrs = null;
  save(true);
  if (triggerPending) widgetTriggered();
}

/** The open conversation, created with the visitor context when there is none. */
async function ensureConversation(fields, extra, teamId) {
  await ensureContact(fields);
  if (S.conv) return;
  const body = { additional_attributes: context(extra) };
  if (teamId) body.team_id = teamId;
  if (invite) body.campaign_id = invite.id;
  const c = await api('POST', `/contacts/${S.source_id}/conversations`, body);
  invite = null;
  S.conv = c.id;
  S.cursor = S.cursor || null;
  save(true);
  applyConversation(c);
  connect();
}

function applyConversation(c) {
  conv = c;
  agentSeen = Math.max(agentSeen, c.agent_last_seen_at || 0);
  for (const m of c.messages || []) upsert(m);
}

async function loadHistory() {
  if (!S.source_id) return;
  try {
    if (!S.conv) {
      const list = await api('GET', `/contacts/${S.source_id}/conversations`);
      const latest = (list || []).reduce((a, c) => (!a || c.id > a.id ? c : a), null);
      if (!latest) return;
      S.conv = latest.id;
      save();
    }
    const [c, page1] = await Promise.all([
      api('GET', `/contacts/${S.source_id}/conversations/${S.conv}`),
      api('GET', `/contacts/${S.source_id}/conversations/${S.conv}/messages`),
    ]);
    applyConversation(c);
    for (const m of page1 || []) upsert(m);
    hasOlder = (page1 || []).length >= 20;
  } catch (e) {
    if (e.status === 404) {
      // The contact or the conversation is gone (deleted by an agent): start afresh.
      if (S.conv) S.conv = null;
      else forget();
      save(true);
    }
  }
}

async function loadOlder() {
  const oldest = [...msgs.values()].reduce((a, m) => Math.min(a, m.id), Infinity);
  if (!S.conv || !isFinite(oldest)) return;
  try {
    const older = await api('GET', `/contacts/${S.source_id}/conversations/${S.conv}/messages?before=${oldest}`);
    for (const m of older || []) upsert(m);
    hasOlder = (older || []).length >= 20;
    render(false);
  } catch {
    /* try again on the next click */
  }
}

// ---- WebSocket --------------------------------------------------------------------------

function connect() {
  if (ws || !S.pubsub_token || !navigator.onLine) return;
  const proto = location.protocol === 'https:' ? 'wss' : 'ws';
  let url = `${proto}://${location.host}/public/api/v1/realtime?pubsub_token=${encodeURIComponent(S.pubsub_token)}`;
  if (S.cursor) url += `&cursor=${S.cursor}`;
  const sock = new WebSocket(url);
  ws = sock;
  wsReady = false;
  sock.onmessage = (e) => {
    let f;
    try {
      f = JSON.parse(e.data);
    } catch {
      return;
    }
    onFrame(f);
  };
  sock.onclose = (e) => {
    if (ws !== sock) return;
    ws = null;
    const wasReady = wsReady;
    wsReady = false;
    clearInterval(pingTimer);
    for (const m of S.outbox) m.inflight = 0;
    if (e && (e.code === 4401 || e.code === 4403)) {
      // The contact or inbox was deleted (docs/realtime.md): this identity is gone for good.
      forget();
      render();
      return;
    }
    if (!wasReady) failures++;
    render();
    reconnectLater();
  };
}

function reconnectLater() {
  clearTimeout(retryTimer);
  if (!S.pubsub_token) return;
  if (failures >= 3 && failures % 3 === 0) {
    // Refused three times before `ready`: the credential may be gone.
    api('GET', `/contacts/${S.source_id}`).catch((e) => {
      if (e.status === 404) {
        forget();
        render();
      }
    });
  }
  const delay = Math.min(15000, 500 * 2 ** Math.min(failures, 5)) * (0.75 + Math.random() / 2);
  retryTimer = setTimeout(connect, delay);
}

function dropSocket() {
  if (!ws) return;
  const sock = ws;
  sock.onclose(); // clean up now; the browser may take long to notice a dead network
  sock.onclose = null;
  try {
    sock.close();
  } catch {
    /* already closed */
  }
}

window.addEventListener('offline', dropSocket);
window.addEventListener('online', () => {
  failures = 0;
  connect();
  flush();
});

function send(frame) {
  if (ws && wsReady) ws.send(JSON.stringify(frame));
}

function onFrame(f) {
  if (f.cursor && f.cursor > (S.cursor || 0)) {
    S.cursor = f.cursor;
    save();
  }
  const d = f.data || {};
  switch (f.event) {
    case 'ready':
      wsReady = true;
      failures = 0;
      if (f.cursor && f.cursor > (S.cursor || 0)) S.cursor = f.cursor;
      clearInterval(pingTimer);
      pingTimer = setInterval(() => {
        // A socket that answers no ping within 10 s is dead even if the browser thinks not.
        if (pongDue && Date.now() > pongDue) return dropSocket();
        if (!pongDue) pongDue = Date.now() + 10000;
        send({ type: 'ping' });
      }, 20000);
      render();
      flush();
      markRead();
      reportContext();
      // Queue places travel as live-only events: after (re)connecting, ask for the current one.
      if (S.conv) api('GET', `/contacts/${S.source_id}/conversations/${S.conv}`).then((c) => c.id === S.conv && ((conv = { ...conv, ...c }), render())).catch(() => {});
      break;
    case 'pong':
      pongDue = 0;
      break;
    case 'resync':
      S.cursor = null;
      save();
      loadHistory().then(() => render());
      break;
    case 'message.ack':
    case 'message.created':
    case 'message.updated':
      onMessage(d, f.event, f.echo_id);
      break;
    case 'error':
      if (f.echo_id) {
        const code = f.error && f.error.code;
        // Bad content will never be accepted: drop it. Limits and hiccups: retry later.
        if (code === 'invalid_field' || code === 'invalid_request' || code === 'not_found') {
          S.outbox = S.outbox.filter((m) => m.echo_id !== f.echo_id);
          notice = t('error');
          save(true);
          render();
        } else {
          const m = S.outbox.find((x) => x.echo_id === f.echo_id);
          if (m) m.inflight = 0;
          setTimeout(flush, 3000);
        }
      }
      break;
    case 'conversation.status_changed':
    case 'conversation.updated':
    case 'assignee.changed':
    case 'team.changed':
      if (d.id === S.conv) {
        const was = conv && conv.status;
        conv = { ...conv, ...d };
        if (d.assignee) conv.queue = null; // an agent has it: no longer waiting in a queue
        if (d.agent_last_seen_at) agentSeen = Math.max(agentSeen, d.agent_last_seen_at);
        for (const m of d.messages || []) upsert(m);
        if (was !== d.status) emit('status', { status: d.status });
        render();
      }
      break;
    case 'conversation.queue_position':
      // Waiting for an agent: the place in the queue; `position: null` once assigned.
      if (d.conversation_id === S.conv && conv) {
        conv = { ...conv, queue: d.position ? { position: d.position, expected_wait_seconds: d.expected_wait_seconds } : null };
        render();
      }
      break;
    case 'conversation.typing_on':
    case 'conversation.typing_off':
      if (d.conversation && d.conversation.id === S.conv && d.user && d.user.type === 'user') {
        typing = f.event === 'conversation.typing_on' ? { name: d.user.name || t('someone'), until: Date.now() + 30000 } : null;
        render();
        if (typing) setTimeout(render, 30500);
      }
      break;
    case 'conversation.read':
      if (d.conversation && d.conversation.id === S.conv && d.user && d.user.type === 'user') {
        agentSeen = Math.max(agentSeen, d.last_seen_at || Math.floor(Date.now() / 1000));
        render();
      }
      break;
  }
}

function onMessage(m, event, echoId) {
  if (!m || !m.id) return;
  const echo = echoId || m.echo_id;
  if (echo) S.outbox = S.outbox.filter((x) => x.echo_id !== echo);
  if (!S.outbox.some((x) => x.inflight)) clearTimeout(ackTimer);
  save();
  if (m.conversation_id !== S.conv) return;
  const fresh = !msgs.has(m.id);
  upsert(m);
  if (fresh && m.message_type === 1) {
    typing = null;
    emit('message', { id: m.id, content: m.content, sender: m.sender && m.sender.available_name });
    if (!isOpen || document.hidden) {
      unread++;
      post('unread', { count: unread });
    }
  }
  render();
  markRead();
}

function upsert(m) {
  if (m.message_type === 2) return; // activity lines are for agents; status is shown instead
  msgs.set(m.id, { ...(msgs.get(m.id) || {}), ...m });
}

/** Sends what the outbox holds; called on every change of connectivity. */
let flushing = false;
async function flush() {
  if (flushing || !S.outbox.length) return;
  flushing = true;
  try {
    await ensureConversation();
    connect();
    if (!wsReady) return;
    const now = Date.now();
    for (const m of S.outbox) {
      if (m.inflight && now - m.inflight < 10000) continue;
      m.inflight = now;
      send({ type: 'message.create', conversation_id: S.conv, content: m.content, echo_id: m.echo_id });
    }
    clearTimeout(ackTimer);
    // No ack within 10 s: the socket is dead; reconnecting re-sends with the same echo_id.
    ackTimer = setTimeout(() => S.outbox.some((m) => m.inflight) && dropSocket(), 10000);
  } catch (e) {
    if (e.status && e.status < 500 && e.status !== 429 && e.status !== 408) {
      notice = e.code === 'invalid_identifier_hash' ? t('identityRefused') : t('error');
      render();
    } else {
      setTimeout(flush, 3000);
    }
  } finally {
    flushing = false;
  }
}

function queueMessage(text) {
  const content = text.trim();
  if (!content) return;
  notice = '';
  S.outbox.push({ echo_id: `w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`, content, at: Math.floor(Date.now() / 1000) });
  save(true);
  typingOff();
  render();
  flush();
}

/** Largest file the widget tries to send; the server may allow less (it answers 413). */
const MAX_FILE = 40 * 1024 * 1024;

/** Sends a file as a message of its own over the Client API (not queued offline). */
async function sendFile(f) {
  notice = '';
  if (f.size > MAX_FILE) return (notice = t('tooLarge')), render();
  try {
    await ensureConversation();
    const fd = new FormData();
    fd.append('attachments[]', f, f.name);
    fd.append('echo_id', `f-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
    const r = await fetch(`${API}/contacts/${S.source_id}/conversations/${S.conv}/messages`, { method: 'POST', body: fd });
    if (!r.ok) throw Object.assign(new Error(), { status: r.status });
    upsert(await r.json());
  } catch (e) {
    notice = e.status === 413 ? t(e.code === 'storage_quota_exceeded' ? 'storageFull' : 'tooLarge') : t('error');
  }
  render();
}

let lastRead = 0;
function markRead() {
  if (!isOpen || document.hidden || !wsReady || !S.conv) return;
  const newest = [...msgs.values()].reduce((a, m) => Math.max(a, m.message_type !== 0 ? m.created_at : 0), 0);
  if (newest <= lastRead) return;
  lastRead = newest;
  send({ type: 'read', conversation_id: S.conv });
}
document.addEventListener('visibilitychange', markRead);
document.addEventListener('keydown', (e) => e.key === 'Escape' && post('close'));

let typingSent = false;
let typingTimer = 0;
function typingOn() {
  if (!S.conv || !wsReady) return;
  if (!typingSent) send({ type: 'typing', conversation_id: S.conv, status: 'on' });
  typingSent = true;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(typingOff, 3000);
}
function typingOff() {
  clearTimeout(typingTimer);
  if (typingSent && S.conv) send({ type: 'typing', conversation_id: S.conv, status: 'off' });
  typingSent = false;
}

// ---- SDK commands -----------------------------------------------------------------------

async function setUser(identifier, attrs) {
  if (!identifier) return;
  const fields = {};
  if (attrs.name) fields.name = String(attrs.name);
  if (attrs.email) fields.email = String(attrs.email);
  const phone = attrs.phone_number || attrs.phone;
  if (phone) fields.phone_number = String(phone);
  if (S.source_id && S.user === identifier) {
    // The same person again: only their details may have changed.
    if (Object.keys(fields).length) api('PATCH', `/contacts/${S.source_id}`, fields).catch(() => {});
    return;
  }
  pendingUser = { identifier, hash: attrs.identifier_hash ? String(attrs.identifier_hash) : '', fields };
  const previous = { ...S };
  forget();
  try {
    await ensureContact();
    msgs.clear();
    conv = null;
    await loadHistory();
    connect();
    render();
    emit('user', { identifier });
  } catch (e) {
    // Refused (a wrong identifier_hash): stay the anonymous visitor we were.
    pendingUser = null;
    Object.assign(S, previous);
    save(true);
    emit('error', { code: e.code || 'error', message: e.message });
    connect();
  }
}

async function setCustomAttributes(attrs) {
  if (!attrs || typeof attrs !== 'object') return;
  if (!S.source_id) {
    pendingAttrs = { ...(pendingAttrs || {}), ...attrs };
    return;
  }
  api('PATCH', `/contacts/${S.source_id}`, { custom_attributes: attrs }).catch((e) => emit('error', { code: e.code, message: e.message }));
}

/** Forgets the visitor (credentials, conversation, outbox) in this browser. */
function forget() {
  dropSocket();
  clearTimeout(retryTimer);
  for (const k of ['source_id', 'pubsub_token', 'conv', 'cursor', 'user']) delete S[k];
  S.outbox = [];
  conv = null;
  msgs.clear();
  agentSeen = 0;
  save(true);
}

function reset() {
  forget();
  pendingUser = null;
  pendingAttrs = null;
  render();
}

// ---- rendering --------------------------------------------------------------------------

const root = document.getElementById('app');
const timeFmt = () => new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit' });
const dayFmt = () => new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'long' });

/** The inbox's time zone when the widget shows its schedule (times then read as on it). */
function scheduleZone() {
  const tz = config && config.show_working_hours && config.timezone;
  if (!tz) return undefined;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz }); // throws for a zone the browser lacks
    return tz;
  } catch {
    return undefined; // a zone this browser does not know: the visitor's own
  }
}

/** The day of the week (0 = Sunday, as `day_of_week`) of `d` in `timeZone`. */
function weekdayIn(timeZone, d) {
  return ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short' }).format(d));
}

function fmtWhen(secs) {
  const timeZone = scheduleZone();
  const d = new Date(secs * 1000);
  const day = (x) => new Intl.DateTimeFormat('en', { timeZone, dateStyle: 'short' }).format(x);
  const time = new Intl.DateTimeFormat(locale(), { timeZone, hour: '2-digit', minute: '2-digit' }).format(d);
  const at = t('atTime', { time });
  if (day(d) === day(new Date())) return at;
  // The weekday with its preposition from the dictionary: Russian needs the accusative
  // ("в среду"), which Intl's weekday names (nominative) cannot give.
  return `${t(`onDay${weekdayIn(timeZone, d)}`)} ${at}`;
}

let hoursOpen = null; // the visitor opened or closed the schedule (else: open while closed)

/** The weekly schedule, Monday first, days with the same hours joined ("Mon–Fri 09:00–18:00"). */
function hoursCard() {
  if (!config || !config.show_working_hours || !Array.isArray(config.working_hours)) return null;
  const timeZone = scheduleZone();
  const byDay = new Map(config.working_hours.map((d) => [d.day_of_week, d]));
  // Clock times in the widget's language (09:30 / 09:30 AM), like the reopening time.
  const hm = (hh, mm) => new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', timeZone: 'UTC' }).format(Date.UTC(2024, 0, 1, hh ?? 0, mm ?? 0));
  const hours = (d) => (!d || d.closed_all_day ? t('dayClosed') : d.open_all_day ? t('dayAllDay') : `${hm(d.open_hour, d.open_minutes)}–${hm(d.close_hour, d.close_minutes)}`);
  // 7 Jan 2024 was a Sunday: day_of_week 0.
  const name = (dow) => new Intl.DateTimeFormat(locale(), { weekday: 'short', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, 7 + dow)));
  const today = weekdayIn(timeZone, new Date());
  const groups = [];
  for (const dow of [1, 2, 3, 4, 5, 6, 0]) {
    const text = hours(byDay.get(dow));
    const g = groups[groups.length - 1];
    if (g && g.text === text) g.days.push(dow);
    else groups.push({ text, days: [dow] });
  }
  const rows = groups.map((g) => {
    const first = g.days[0];
    const last = g.days[g.days.length - 1];
    const label = g.days.length > 1 ? `${name(first)}–${name(last)}` : name(first);
    return h('li' + (g.days.includes(today) ? '.today' : ''), {}, h('span', { text: label }), h('span', { text: g.text }));
  });
  let zone = timeZone || '';
  try {
    const part = new Intl.DateTimeFormat(locale(), { timeZone, timeZoneName: 'shortOffset' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
    if (part && timeZone) {
      const city = locale() === 'ru' ? ZONE_CITIES_RU[timeZone] : timeZone.split('/').pop().replace(/_/g, ' ');
      zone = city ? `${city}, ${part.value}` : part.value;
    }
  } catch {
    /* older browsers: the zone's name alone */
  }
  const closed = !config.is_open_now;
  const el = h(
    'details.card.hours',
    { open: hoursOpen ?? closed },
    h('summary', { onclick: () => (hoursOpen = !el.open) }, icon(ICONS.clock, 14), h('span', { text: t('hoursTitle') })),
    closed && config.next_open_at ? h('p.reopen', { text: t('opensAt', { when: fmtWhen(config.next_open_at) }) }) : null,
    h('ul', {}, rows),
    zone ? h('p.zone', { text: t('hoursZone', { zone }) }) : null,
  );
  return el;
}

function replyWhen() {
  if (config && !config.is_online && config.next_open_at) return fmtWhen(config.next_open_at);
  return config && config.reply_time ? t(config.reply_time) : t('soon');
}

function header() {
  const agents = (config && config.available_agents) || [];
  const online = config && config.is_online;
  let status;
  if (!online) status = config && config.next_open_at ? t('opensAt', { when: fmtWhen(config.next_open_at) }) : t('offline');
  else if (agents.length) status = t(agents.length > 1 ? 'onlineMany' : 'online', { name: agents[0].name });
  else status = config && config.reply_time ? t('replyTime', { when: t(config.reply_time) }) : t('ask');
  const faces = agents.length
    ? agents.slice(0, 3).map((a) => avatar(a.name, a.avatar_url))
    : [avatar(config && config.name, config && config.avatar_url)];
  return h(
    'header.hd',
    {},
    h('div.faces', {}, faces, h('i.dot' + (online ? '.on' : ''), {})),
    h('div.ht', {}, h('strong', { text: (config && config.welcome_title) || t('title') }), h('span', { text: status })),
    EMBEDDED ? h('button.icon', { type: 'button', 'aria-label': t('close'), title: t('close'), onclick: () => post('close') }, icon(ICONS.close)) : null,
  );
}

function greeting() {
  const agents = (config && config.available_agents) || [];
  const a = agents[0];
  const online = config && config.is_online;
  let text = (config && config.welcome_tagline) || (config && config.greeting_enabled && config.greeting_message) || t('ask');
  if (!online) text = (config && config.out_of_office_message) || t('offlineIntro');
  return h('div.row.them.greet', {}, avatar(a ? a.name : config && config.name, a ? a.avatar_url : config && config.avatar_url), h('div.bubble', {}, a ? h('b.who', { text: a.name }) : null, h('p', {}, linkify(text))));
}

function stateOf(m) {
  if (m.pending) return navigator.onLine ? 'sending' : 'failed';
  return m.created_at <= agentSeen ? 'read' : 'sent';
}

function messageRow(m) {
  const mine = m.message_type === 0;
  const body = h('div.bubble', {});
  if (!mine && m.sender && m.sender.available_name) body.append(h('b.who', { text: m.sender.available_name }));
  if (m.content) body.append(h('p', {}, linkify(m.content)));
  for (const a of m.attachments || []) {
    if (!/^https?:\/\//.test(a.data_url || '')) continue;
    if (a.file_type === 'image') body.append(h('a.att', { href: a.data_url, target: '_blank', rel: 'noopener noreferrer' }, h('img', { src: a.thumb_url || a.data_url, alt: a.file_name || t('attachment'), loading: 'lazy' })));
    else body.append(h('a.file', { href: a.data_url, target: '_blank', rel: 'noopener noreferrer' }, icon(ICONS.file, 16), h('span', { text: a.file_name || t('attachment') })));
  }
  const meta = h('span.meta', {}, m.created_at ? timeFmt().format(new Date(m.created_at * 1000)) : '');
  if (mine) {
    const st = stateOf(m);
    meta.append(h('span.st.' + st, { title: t(st), 'aria-label': t(st) }, st === 'sending' || st === 'failed' ? icon(ICONS.clock, 13) : icon(ICONS.check, 13), st === 'read' ? icon(ICONS.check, 13) : null));
  }
  body.append(meta);
  const who = m.sender || {};
  return h('div.row.' + (mine ? 'me' : 'them'), { 'data-id': m.id || m.echo_id }, mine ? null : avatar(who.available_name || who.name, who.avatar_url), body);
}

function csatCard(m) {
  const done = m.content_attributes && m.content_attributes.submitted_values && m.content_attributes.submitted_values.csat_survey_response;
  const card = h('div.card.csat', { 'data-id': m.id });
  // The survey's text is the inbox's wording when the widget speaks the inbox's language.
  card.append(h('p', { text: done ? t('thanks') : (config && config.locale === locale() && m.content) || t('rate') }));
  let rating = done ? done.rating : 0;
  const stars = h('div.stars', { role: 'radiogroup', 'aria-label': t('rate') });
  const paint = () => [...stars.children].forEach((b, i) => b.classList.toggle('on', i < rating));
  for (let n = 1; n <= 5; n++) {
    stars.append(
      h('button', { type: 'button', role: 'radio', 'aria-label': t('stars', { n }), title: t('stars', { n }), disabled: !!done, onclick: () => ((rating = n), paint(), submit.removeAttribute('disabled')) }, icon(ICONS.star, 28)),
    );
  }
  paint();
  card.append(stars);
  if (done) {
    if (done.feedback_message) card.append(h('p.fb', { text: done.feedback_message }));
    return card;
  }
  const comment = h('textarea', { rows: 2, maxlength: 2000, placeholder: t('comment'), 'aria-label': t('comment') });
  const submit = h('button.primary', {
    type: 'button',
    disabled: true,
    onclick: async () => {
      submit.setAttribute('disabled', '');
      try {
        const updated = await api('PATCH', `/contacts/${S.source_id}/conversations/${S.conv}/messages/${m.id}`, {
          submitted_values: { csat_survey_response: { rating, feedback_message: comment.value.trim() || null } },
        });
        upsert(updated);
        emit('csat', { rating });
        render();
      } catch {
        notice = t('error');
        submit.removeAttribute('disabled');
        render();
      }
    },
    text: t('submit'),
  });
  card.append(comment, submit);
  return card;
}

/** The pre-chat or offline form's fields, from the inbox's pre_chat_form_options. */
function formFields(offline) {
  const opts = (config && config.pre_chat_form_options && config.pre_chat_form_options.pre_chat_fields) || [];
  const byName = Object.fromEntries(opts.map((f) => [f.name, f]));
  const field = (name, def) => ({ enabled: true, required: false, ...def, ...(byName[name] || {}) });
  const fields = [
    ['name', 'fullName', 'text', field('fullName', { required: false })],
    ['email', 'emailAddress', 'email', field('emailAddress', { required: !offline })],
    ['phone_number', 'phoneNumber', 'tel', field('phoneNumber', { enabled: offline, required: false })],
  ];
  // The offline form needs some way to answer: e-mail and phone are both offered.
  if (offline) for (const f of fields) if (f[0] !== 'name') f[3].enabled = true;
  return fields.filter((f) => f[3].enabled);
}

function form(offline) {
  const errors = h('p.err', { role: 'alert' });
  const inputs = {};
  const rows = formFields(offline).map(([key, , type, f]) => {
    const label = f.label || t(key === 'name' ? 'name' : key === 'email' ? 'email' : 'phone');
    const input = h('input', { name: key, type, required: f.required, maxlength: 255, autocomplete: key === 'name' ? 'name' : key === 'email' ? 'email' : 'tel' });
    inputs[key] = input;
    return h('label', {}, h('span', { text: label + (f.required ? ' *' : '') }), input);
  });
  // Departments: offered when the shop has more than one team working this chat.
  const deps = (!offline && config && config.departments) || [];
  const dept = deps.length > 1 ? h('select', { name: 'department' }, h('option', { value: '', text: t('anyDept') }), deps.map((d) => h('option', { value: String(d.id), text: d.name }))) : null;
  const question = h('textarea', { name: 'question', rows: 4, required: true, maxlength: 5000 });
  const button = h('button.primary', { type: 'submit', text: offline ? t('sendRequest') : t('start') });
  const el = h(
    'form.form',
    {
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        errors.textContent = '';
        const values = Object.fromEntries(Object.entries(inputs).map(([k, i]) => [k, i.value.trim()]));
        for (const [k, i] of Object.entries(inputs)) if (i.required && !values[k]) return (errors.textContent = t('required')), i.focus();
        if (values.email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(values.email)) return (errors.textContent = t('badEmail')), inputs.email.focus();
        if (offline && !values.email && !values.phone_number) return (errors.textContent = t('emailOrPhone')), (inputs.email || inputs.phone_number).focus();
        if (!question.value.trim()) return (errors.textContent = t('required')), question.focus();
        button.setAttribute('disabled', '');
        const fields = Object.fromEntries(Object.entries(values).filter(([, v]) => v));
        try {
          await ensureConversation(fields, offline ? { offline_request: true } : {}, dept && Number(dept.value));
          if (offline) {
            S.offline = S.conv;
            save(true);
          }
          queueMessage(question.value);
        } catch (err) {
          errors.textContent = err.code === 'invalid_field' ? err.message : t('error');
          button.removeAttribute('disabled');
        }
      },
    },
    offline ? h('p.intro', { text: (config && config.out_of_office_message) || t('offlineIntro') }) : config && config.pre_chat_form_options && config.pre_chat_form_options.pre_chat_message ? h('p.intro', { text: config.pre_chat_form_options.pre_chat_message }) : null,
    rows,
    dept && h('label', {}, h('span', { text: t('department') }), dept),
    h('label', {}, h('span', { text: t('question') + ' *' }), question),
    errors,
    button,
  );
  return el;
}

function composer() {
  const ta = h('textarea', {
    id: 'composer',
    rows: 1,
    maxlength: 5000,
    placeholder: t('placeholder'),
    'aria-label': t('placeholder'),
    oninput: () => {
      grow();
      if (ta.value.trim()) typingOn();
    },
    onkeydown: (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        go();
      }
    },
  });
  const grow = () => {
    ta.style.height = 'auto';
    ta.style.height = Math.min(ta.scrollHeight, 120) + 'px';
  };
  const go = () => {
    const v = ta.value;
    ta.value = '';
    grow();
    queueMessage(v);
    focusComposer();
  };
  const file = h('input', { type: 'file', hidden: true, accept: 'image/*,application/pdf,text/plain,.doc,.docx,.xls,.xlsx,.zip', onchange: () => (file.files[0] && sendFile(file.files[0]), (file.value = '')) });
  const attach = h('button.attach', { type: 'button', 'aria-label': t('attach'), title: t('attach'), onclick: () => file.click() }, icon(ICONS.clip));
  return h('div.composer', {}, file, attach, ta, h('button.send', { type: 'button', 'aria-label': t('send'), title: t('send'), onclick: go }, icon(ICONS.send)));
}

function focusComposer() {
  if (matchMedia('(pointer: fine)').matches) requestAnimationFrame(() => document.getElementById('composer')?.focus());
}

function chooseView() {
  if (S.conv || S.outbox.length || msgs.size) return 'chat';
  if (config && !config.is_online) return 'offline';
  if (config && config.pre_chat_form_enabled && !S.source_id && !pendingUser) return 'prechat';
  return 'chat';
}

let renderQueued = false;
function render(stickToBottom = true) {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    draw(stickToBottom);
  });
}

// Parts that hold what the visitor is typing (composer, forms, survey comment) are built
// once and kept across renders, so an arriving message never eats a half-typed line.
const parts = { hd: h('div'), conn: h('div.conn', { role: 'status' }), q: h('div.queue', { role: 'status' }), body: h('main.body', { 'aria-live': 'polite' }), notice: h('div.notice', { role: 'alert' }), comp: null };
let partsLocale = '';
const forms = new Map();
const cards = new Map();

function cached(map, key, make) {
  if (!map.has(key)) map.set(key, make());
  return map.get(key);
}

function draw(stickToBottom) {
  document.documentElement.lang = locale();
  if (!config) return;
  if (partsLocale !== locale()) {
    const text = parts.comp ? parts.comp.querySelector('textarea').value : '';
    parts.comp = composer();
    parts.comp.querySelector('textarea').value = text;
    forms.clear();
    cards.clear();
    partsLocale = locale();
    root.replaceChildren(parts.hd, parts.conn, parts.q, parts.body, parts.notice, parts.comp);
  }
  const body = parts.body;
  const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
  const oldTop = body.scrollTop;
  const oldHeight = body.scrollHeight;
  const shown = view;
  view = chooseView();
  const resolved = conv && conv.status === 'resolved';
  const items = [];
  if (view === 'prechat' || view === 'offline') {
    items.push(greeting(), hoursCard(), cached(forms, view, () => form(view === 'offline')));
  } else {
    if (hasOlder) items.push(h('button.older', { type: 'button', onclick: loadOlder, 'aria-label': '…', text: '↑' }));
    else items.push(greeting(), hoursCard());
    const list = [...msgs.values()].sort((a, b) => a.created_at - b.created_at || a.id - b.id);
    let lastDay = '';
    for (const m of list) {
      const day = new Date(m.created_at * 1000).toDateString();
      if (day !== lastDay) {
        lastDay = day;
        items.push(h('div.day', { text: day === new Date().toDateString() ? t('today') : dayFmt().format(new Date(m.created_at * 1000)) }));
      }
      if (m.content_type === 'input_csat') {
        const done = !!(m.content_attributes && m.content_attributes.submitted_values);
        items.push(cached(cards, `${m.id}:${done}`, () => csatCard(m)));
      } else items.push(messageRow(m));
    }
    if (invite && !S.conv) items.push(messageRow({ id: 'invite', message_type: 1, content: invite.message, sender: inviter(), created_at: invite.at }));
    for (const p of S.outbox) items.push(messageRow({ ...p, message_type: 0, created_at: p.at, pending: true }));
    if (S.offline && S.offline === S.conv && !list.some((m) => m.message_type === 1)) {
      items.push(h('div.card.note', { text: t('requestSent', { when: replyWhen() }) }));
    }
    if (typing && typing.until > Date.now()) items.push(h('div.typing', {}, h('span.dots', {}, h('i'), h('i'), h('i')), h('span', { text: t('typing', { name: typing.name }) })));
    if (resolved) {
      items.push(h('div.card.note', {}, h('p', { text: t('resolved') }), h('button.primary', { type: 'button', text: t('newChat'), onclick: newConversation })));
    }
  }
  parts.hd.replaceChildren(header());
  parts.conn.textContent = t('reconnecting');
  parts.conn.hidden = !(S.conv && !wsReady && S.pubsub_token);
  const q = !resolved && conv && conv.queue;
  parts.q.hidden = !(q && q.position);
  if (!parts.q.hidden) {
    const w = q.expected_wait_seconds;
    parts.q.replaceChildren(icon(ICONS.clock, 14), t('queue', { n: q.position }) + (typeof w === 'number' ? ' · ' + t('wait', { m: Math.max(1, Math.round(w / 60)) }) : ''));
  }
  parts.notice.textContent = notice;
  parts.notice.hidden = !notice;
  parts.comp.hidden = !(view === 'chat' && !resolved);
  body.replaceChildren(...items.filter(Boolean));
  // A form opens at its top, with the greeting and the schedule above it in view.
  if ((view === 'prechat' || view === 'offline') && view !== shown) body.scrollTop = 0;
  else if (stickToBottom && atBottom) body.scrollTop = body.scrollHeight;
  else if (!stickToBottom) body.scrollTop = oldTop + (body.scrollHeight - oldHeight);
  else body.scrollTop = oldTop;
}

function newConversation() {
  S.conv = null;
  S.offline = null;
  conv = null;
  msgs.clear();
  agentSeen = 0;
  save(true);
  render();
  focusComposer();
}

// ---- proactive invitations (docs/campaigns.md) --------------------------------------
//
// The browser-side rules of the inbox's campaigns are checked every second (and when the
// pointer leaves toward the tab bar); when one campaign's rules all hold, the server is
// asked, and only its yes shows the invitation: a bubble next to the launcher (the frame
// shown small, the chat window closed). Clicking it opens the chat; the first reply starts
// the conversation with `campaign_id`, which the server opens with the invitation.

let invite = null; // the campaign shown, {id, message, sender, at}
let pageAt = Date.now();
let exitSeen = false;
let asking = false;
const asked = new Set(); // asked on this page already
const retryAt = {}; // campaign id -> ms: the server said "not now" (hours, capacity)
const inviteEl = h('div.invite');
document.body.append(inviteEl);

function urlMatch(p, u) {
  if (p[0] === '/') {
    try {
      const x = new URL(u);
      u = x.pathname + x.search;
    } catch {
      return false;
    }
  }
  const esc = (s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp('^' + p.replace(/\/+$/, '').split('*').map(esc).join('.*') + '$', 's').test(u.replace(/\/+$/, ''));
}

function rulesHold(r) {
  const now = Date.now();
  const utm = ((visit.utm || {}).utm_source || '').toLowerCase();
  return !(
    (r.url && !urlMatch(r.url, page.url)) ||
    (r.time_on_page && now - pageAt < r.time_on_page * 1000) ||
    (r.time_on_site && now / 1000 - (visit.started || now / 1000) < r.time_on_site) ||
    (r.pages_viewed && (visit.pages || 1) < r.pages_viewed) ||
    (r.exit_intent && !exitSeen) ||
    (typeof r.returning_visitor === 'boolean' && (S.visits || 1) > 1 !== r.returning_visitor) ||
    (r.utm_source && utm !== r.utm_source.toLowerCase())
  );
}

async function checkInvites() {
  if (!config || !config.campaigns || invite || asking || isOpen || S.conv || S.outbox.length) return;
  const now = Date.now();
  S.shown = S.shown || {};
  const c = config.campaigns.find((c) => !asked.has(c.id) && !(retryAt[c.id] > now) && !(S.shown[c.id] > now / 1000 - c.show_again_after_days * 86400) && rulesHold(c.trigger_rules || {}));
  if (!c) return;
  asking = true;
  asked.add(c.id);
  try {
    await ensureContact();
    const a = await api('POST', `/contacts/${S.source_id}/campaigns/${c.id}/trigger`, { page_url: page.url });
    if (a.show || a.reason === 'shown_recently') {
      S.shown[c.id] = Math.floor(now / 1000);
      save(true);
    } else retryAt[c.id] = now + 60000;
    if (a.show && !isOpen && !S.conv) {
      invite = { ...c, at: Math.floor(now / 1000) };
      peek(true);
      render();
      emit('campaign', { id: c.id });
    }
  } catch {
    retryAt[c.id] = now + 60000;
  } finally {
    asking = false;
  }
}

function inviter() {
  const s = (invite && invite.sender) || { name: config.name, avatar_url: config.avatar_url };
  return { available_name: s.name, avatar_url: s.avatar_url };
}

/** Shows (or takes away) the invitation bubble beside the closed launcher. */
function peek(on) {
  on = on && invite && !isOpen;
  document.documentElement.classList.toggle('peek', !!on);
  if (!on) {
    inviteEl.replaceChildren();
    post('peek', { css: { display: '', background: '', boxShadow: '', height: '' } });
    return;
  }
  const who = inviter();
  const dismiss = () => {
    invite = null;
    peek(false);
    render();
  };
  inviteEl.className = 'invite' + (config.widget_position === 'left' ? ' l' : '');
  inviteEl.replaceChildren(
    h('button.x', { type: 'button', 'aria-label': t('dismiss'), title: t('dismiss'), onclick: dismiss }, icon(ICONS.close, 14)),
    h(
      'button.inv',
      { type: 'button', 'aria-label': t('invite', { name: who.available_name }), onclick: () => (peek(false), post('open')) },
      avatar(who.available_name, who.avatar_url),
      h('span.it', {}, h('b', { text: who.available_name }), h('span.im', { text: invite.message })),
    ),
  );
  // Shown at a first guess; the observer below fits the frame once it has a size to lay out
  // in (a hidden frame has none).
  post('peek', { css: { display: 'block', background: 'none', boxShadow: 'none', height: '200px' } });
}
new ResizeObserver(() => {
  if (invite && !isOpen && inviteEl.offsetHeight) post('peek', { css: { height: `${inviteEl.offsetHeight + 30}px` } });
}).observe(inviteEl);

// ---- webwidget.triggered: the visitor opened the widget (Chatwoot's widget event) ----

let triggerPending = false;
function widgetTriggered() {
  triggerPending = !S.source_id;
  if (triggerPending) return;
  const event_info = { referer: page.url, widget_language: locale(), browser_language: navigator.language, browser: browser() };
  api('POST', `/contacts/${S.source_id}/events`, { name: 'webwidget.triggered', event_info }).catch(() => {});
}

// ---- start ------------------------------------------------------------------------------

async function start() {
  setLocale(Q.get('locale') || navigator.language);
  if (!TOKEN) return;
  if (EMBEDDED) await Promise.race([inited, new Promise((r) => setTimeout(r, 3000))]);
  loadState(null, null);
  if (!EMBEDDED) setPage({ url: document.referrer || '', title: '', referrer: '' });
  try {
    config = await api('GET', '');
  } catch {
    setTimeout(start, 5000);
    return;
  }
  // The inbox's language, when it chose one, wins over the page's and the browser's.
  if (config.locale) setLocale(config.locale);
  const color = /^#[0-9a-f]{6}$/i.test(config.widget_color || '') ? config.widget_color : '#1f6feb';
  document.documentElement.style.setProperty('--pc', color);
  await loadHistory();
  connect();
  render();
  post('ready', {
    config: { color, position: config.widget_position, title: config.welcome_title || config.name, online: config.is_online },
    labels: labels(),
  });
  emit('ready', {});
  if (S.outbox.length) flush();
  if (EMBEDDED) setInterval(checkInvites, 1000);
  // Refresh "who is online" and the working hours now and then while the page is open.
  setInterval(async () => {
    try {
      config = await api('GET', '');
      render(false);
    } catch {
      /* keep the last known state */
    }
  }, 60000);
}

start();
