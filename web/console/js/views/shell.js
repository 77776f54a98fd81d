// The signed-in console: the navigation rail, the hash router, the WebSocket and the
// routing of its events to the views.

import { h, replace } from '../dom.js';
import { t, getLang } from '../i18n.js';
import { del, get, acct, setAccount, sessionEnded } from '../api.js';
import { app, emit, on, loadReference, putConversation, myPresence, queueTotal, isSupervisorOrAdmin } from '../store.js';
import { Realtime } from '../realtime.js';
import { icon, toast, closePopover, popover, avatar, errorText } from '../ui.js';
import { fetchQueues, queueChanged, setAvailability } from '../routing.js';
import * as notify from '../notify.js';
import { ConversationsPage } from './conversations.js';
import { renderSettings } from './settings.js';
import { renderProfile } from './profile.js';
import { QueuesPage } from './queues.js';
import { TeamPage } from './team.js';
import { ReportsPage } from './reports.js';
import { installShortcuts, removeShortcuts } from './shortcuts.js';
import { invitationsNotice } from './invitations.js';
import { OnboardingPage } from './onboarding.js';
import { bellButton, refreshUnread, mentioned, resetBell } from '../mentions.js';

let root = null;
let main = null;
let page = null; // { name, el, destroy?, route? }
let unsubs = [];
let onHash = null;
let pollTimer = null;
let downSince = null;
let statusEl = null;
let meEl = null;
let queueBadge = null;
let options = {};

export async function startConsole(rootEl, profile, opts = {}) {
  stopConsole();
  root = rootEl;
  options = opts;
  app.profile = profile;
  const acc = (profile.accounts || [])[0];
  if (!acc) {
    const card = h('div', { class: 'auth-card' }, h('h1', null, t('error.noAccount')));
    replace(root, h('main', { class: 'auth' }, card));
    invitationsNotice(card);
    return;
  }
  app.accountId = acc.id;
  app.role = acc.role;
  app.availability = acc.availability || 'online';
  app.availabilityStatus = acc.availability_status || acc.availability || 'offline';
  app.queueWaiting.clear();
  setAccount(acc.id);
  app.me = {
    id: profile.id,
    name: profile.name,
    available_name: profile.available_name || profile.name,
    email: profile.email,
  };
  app.convs.clear();
  app.openId = null;
  app.presence.users.clear();
  app.presence.contacts.clear();
  document.documentElement.lang = getLang();
  notify.setBaseTitle('Parley');

  statusEl = h('span', { class: 'conn-dot connecting', title: t('conn.connecting'), 'aria-label': t('conn.connecting') });
  meEl = h('button', { type: 'button', class: 'rail-btn me-status', dataset: { action: 'availability' }, 'aria-haspopup': 'menu', onclick: (e) => availabilityMenu(e.currentTarget) });
  queueBadge = h('span', { class: 'rail-badge', hidden: true });
  renderMe();
  main = h('div', { class: 'workspace' });
  const notices = h('div', { class: 'console-notices' });
  replace(root, h('div', { class: 'console' }, rail(), main, notices));
  invitationsNotice(notices);
  await loadReference();

  startRealtime();
  onHash = () => route();
  window.addEventListener('hashchange', onHash);
  unsubs.push(
    on('reference', () => page && page.reference && page.reference()),
    on('my-presence', renderMe),
    on('queue-total', renderQueueBadge),
    on('resync', () => fetchQueues().catch(() => {})),
    // Queue counts and presence are live-only events: after a reconnect, read them afresh.
    on('connection', (st) => st === 'live' && fetchQueues().catch(() => {})),
    // Mention events are live-only too: the unread count is read afresh after a reconnect.
    on('connection', (st) => st === 'live' && refreshUnread()),
  );
  refreshUnread();
  fetchQueues().catch(() => {});
  installShortcuts();
  route();
}

export function stopConsole() {
  if (app.rt) app.rt.stop();
  app.rt = null;
  clearInterval(pollTimer);
  pollTimer = null;
  if (onHash) window.removeEventListener('hashchange', onHash);
  onHash = null;
  unsubs.forEach((u) => u());
  unsubs = [];
  if (page && page.destroy) page.destroy();
  page = null;
  removeShortcuts();
  closePopover();
  notify.clearAll();
  resetBell();
}

/** Re-renders everything (after a language switch). */
export function rerenderAll() {
  if (!root || !app.profile) return;
  const p = app.profile;
  startConsole(root, p, options);
}

function navLink(href, iconName, label, key) {
  return h(
    'a',
    { href, class: 'rail-btn', title: label, 'aria-label': label, dataset: { nav: key } },
    icon(iconName, { size: 20 }),
  );
}

function rail() {
  const admin = app.role === 'administrator';
  const queues = navLink('#/queues', 'queue', t('nav.queues'), 'queues');
  queues.append(queueBadge);
  return h(
    'nav',
    { class: 'rail', 'aria-label': t('nav.main') },
    h('a', { href: '#/conversations/mine', class: 'rail-logo', title: 'Parley' }, h('img', { src: './img/favicon.svg', alt: 'Parley', width: 28, height: 28 })),
    meEl,
    navLink('#/conversations/mine', 'chat', t('nav.conversations'), 'conversations'),
    queues,
    bellButton(),
    isSupervisorOrAdmin() ? navLink('#/team', 'users', t('nav.team'), 'team') : null,
    isSupervisorOrAdmin() ? navLink('#/reports', 'chart', t('nav.reports'), 'reports') : null,
    admin ? navLink('#/settings/inboxes', 'settings', t('nav.settings'), 'settings') : null,
    navLink('#/profile', 'user', t('nav.profile'), 'profile'),
    h('div', { class: 'rail-space' }),
    h(
      'button',
      { type: 'button', class: 'rail-btn', title: t('nav.shortcuts'), 'aria-label': t('nav.shortcuts'), onclick: () => emit('help') },
      icon('keyboard', { size: 20 }),
    ),
    h('div', { class: 'rail-status' }, statusEl),
    h(
      'button',
      { type: 'button', class: 'rail-btn', title: t('nav.logout'), 'aria-label': t('nav.logout'), dataset: { action: 'logout' }, onclick: logout },
      icon('logout', { size: 20 }),
    ),
  );
}

// ---- the agent's own status ----

/** The rail's status button: the agent's initials with a dot of the effective status. */
function renderMe() {
  if (!meEl || !app.me) return;
  const eff = myPresence();
  const label = t('availability.yours', { status: t(`presence.${eff}`) });
  meEl.title = label;
  meEl.setAttribute('aria-label', label);
  meEl.dataset.presence = eff;
  meEl.replaceChildren(avatar(app.me.available_name || app.me.name, 30), h('span', { class: ['presence-dot', eff] }));
}

function availabilityMenu(anchor) {
  const eff = myPresence();
  const item = (st) =>
    h(
      'button',
      {
        type: 'button',
        role: 'menuitemradio',
        'aria-checked': String(app.availability === st),
        class: ['menu-item', 'status-item', app.availability === st && 'active'],
        dataset: { status: st },
        onclick: async () => {
          closePopover();
          try {
            await setAvailability(st);
          } catch (e) {
            toast(errorText(e), 'error');
          }
        },
      },
      h('span', { class: ['presence-dot', 'inline', st] }),
      h('span', { class: 'status-text' }, h('b', null, t(`presence.${st}`)), h('small', { class: 'muted' }, t(`availability.hint.${st}`))),
    );
  popover(
    anchor,
    h(
      'div',
      { class: 'status-menu' },
      h('div', { class: 'status-menu-head' }, h('b', null, app.me.available_name || app.me.name), h('small', { class: 'muted' }, t('availability.title'))),
      ['online', 'busy', 'offline'].map(item),
      eff !== app.availability ? h('p', { class: 'small muted status-note' }, t('availability.differs', { chosen: t(`presence.${app.availability}`), shown: t(`presence.${eff}`) })) : null,
    ),
    { align: 'side' },
  );
}

function renderQueueBadge() {
  if (!queueBadge) return;
  const n = queueTotal();
  queueBadge.hidden = n === 0;
  queueBadge.textContent = n > 99 ? '99+' : String(n);
  const link = queueBadge.parentNode;
  if (link) {
    const label = n ? `${t('nav.queues')}: ${t('queue.waitingN', { n })}` : t('nav.queues');
    link.title = label;
    link.setAttribute('aria-label', label);
  }
}

async function logout() {
  try {
    await del('/auth/sign_out');
  } catch {
    // the cookie is cleared by the server; a failure here still ends the page's session
  }
  stopConsole();
  if (options.onSignedOut) options.onSignedOut();
}

function parseHash() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  const [view = 'conversations', a, b] = parts;
  return { view, a, b };
}

function route() {
  const r = parseHash();
  closePopover();
  for (const el of root.querySelectorAll('.rail-btn[data-nav]')) {
    el.classList.toggle('active', el.dataset.nav === r.view);
    if (el.dataset.nav === r.view) el.setAttribute('aria-current', 'page');
    else el.removeAttribute('aria-current');
  }
  if (r.view === 'settings') {
    if (app.role !== 'administrator') {
      location.hash = '#/conversations/mine';
      return;
    }
    show('settings', () => renderSettings(r.a || 'inboxes', r.b), r);
  } else if (r.view === 'welcome') {
    if (app.role !== 'administrator') {
      location.hash = '#/conversations/mine';
      return;
    }
    show('welcome', () => new OnboardingPage(), r);
  } else if (r.view === 'profile') {
    show('profile', () => renderProfile(), r);
  } else if (r.view === 'queues') {
    show('queues', () => new QueuesPage(), r);
  } else if (r.view === 'team') {
    if (!isSupervisorOrAdmin()) {
      location.hash = '#/conversations/mine';
      return;
    }
    show('team', () => new TeamPage(), r);
  } else if (r.view === 'reports') {
    // Agents get 403 from every report route; the view is not theirs either.
    if (!isSupervisorOrAdmin()) {
      location.hash = '#/conversations/mine';
      return;
    }
    show('reports', () => new ReportsPage(), r);
  } else {
    // `#/conversations/6` (the form e-mail links and Chatwoot use) opens conversation 6 in "All".
    const direct = /^\d+$/.test(r.a || '') && !r.b;
    const tab = direct ? 'all' : ['mine', 'unassigned', 'all', 'mentions'].includes(r.a) ? r.a : 'mine';
    const id = direct ? Number(r.a) : r.b ? Number(r.b) : null;
    if (page && page.name === 'conversations') page.route({ tab, id });
    else show('conversations', () => new ConversationsPage({ tab, id }), r);
  }
}

function show(name, build, r) {
  if (page && page.name === name && page.route) {
    page.route(r);
    return;
  }
  if (page && page.destroy) page.destroy();
  page = build();
  page.name = name;
  replace(main, page.el);
  if (page.mounted) page.mounted();
}

// ---- real time ----

function startRealtime() {
  app.rt = new Realtime(app.accountId, {
    onEvent: handleEvent,
    onStatus: setConnStatus,
    onResync: () => emit('resync'),
    onRevoked: accessRevoked,
  });
  // The page loads its state over REST right after this; events that arrive meanwhile are
  // newer than or as new as that state, and applying them is idempotent.
  app.rt.start(null);
}

/** The server closed the socket because access changed (docs/realtime.md, close codes). */
function accessRevoked(why) {
  if (why === 'unauthorized') {
    // Signed out elsewhere, or the token was reset: the sign-in page.
    sessionEnded();
    return;
  }
  if (why === 'role_changed') {
    // Still a member: start again with what the new role may see.
    location.reload();
    return;
  }
  stopConsole();
  replace(
    root,
    h(
      'main',
      { class: 'auth' },
      h(
        'div',
        { class: 'auth-card', dataset: { revoked: why } },
        h('h1', null, t('access.revokedTitle')),
        h('p', { class: 'muted' }, t('access.revoked')),
        h('button', { class: 'btn primary', type: 'button', onclick: () => location.reload() }, t('common.retry')),
      ),
    ),
  );
}

function setConnStatus(s) {
  if (!statusEl) return;
  statusEl.className = `conn-dot ${s}`;
  const label = t(`conn.${s}`);
  statusEl.title = label;
  statusEl.setAttribute('aria-label', label);
  document.body.dataset.realtime = s;
  emit('connection', s);
  if (s === 'live') {
    if (downSince !== null && app.rt && app.rt.cursor === null) {
      // Came back without a cursor to resume from: reload what is shown.
      emit('resync');
    }
    downSince = null;
    clearInterval(pollTimer);
    pollTimer = null;
  } else if (downSince === null) {
    downSince = Date.now();
    // While the socket is down, the list is refreshed over REST now and then so nothing
    // goes unseen; the socket's replay fills in the details when it is back.
    clearInterval(pollTimer);
    pollTimer = setInterval(() => {
      if (document.visibilityState === 'visible') emit('resync');
    }, 15000);
  }
}

const fetching = new Set();

async function fetchConversation(id) {
  if (fetching.has(id)) return;
  fetching.add(id);
  try {
    putConversation(await get(acct(`/conversations/${id}`)));
  } catch {
    // not visible to us (another inbox), or gone
  } finally {
    fetching.delete(id);
  }
}

function handleEvent(f) {
  const d = f.data || {};
  switch (f.event) {
    case 'conversation.created':
      putConversation(d);
      notify.newConversation(d);
      break;
    case 'conversation.sla_overdue':
      putConversation(d);
      emit('sla-overdue', d);
      break;
    case 'routing.queue_changed':
      queueChanged(d);
      break;
    case 'conversation.updated':
    case 'conversation.status_changed':
    case 'assignee.changed':
    case 'team.changed':
      putConversation(d);
      break;
    case 'message.created':
    case 'message.updated':
      onMessage(d, f.event === 'message.created');
      break;
    case 'conversation.typing_on':
    case 'conversation.typing_off':
      emit('typing', {
        id: d.conversation && (d.conversation.display_id ?? d.conversation.id),
        on: f.event === 'conversation.typing_on',
        user: d.user,
        private: d.is_private,
      });
      break;
    case 'conversation.read':
      emit('read', d);
      break;
    case 'contact.merged':
      emit('contact-merged', d);
      break;
    case 'conversation.mentioned':
      putConversation(d);
      mentioned(d);
      if (d.id !== app.openId) toast(t('mention.toast', { id: d.id }));
      break;
    case 'presence.update':
      for (const [id, st] of Object.entries(d.users || {})) app.presence.users.set(String(id), st);
      for (const [id, st] of Object.entries(d.contacts || {})) app.presence.contacts.set(String(id), st);
      emit('presence', d);
      if (app.me && String(app.me.id) in (d.users || {})) renderMe();
      break;
    case 'error':
      if (f.error) toast(f.error.message || t('error.generic'), 'error');
      break;
    default:
      break;
  }
}

function onMessage(m, created) {
  if (!m || typeof m.conversation_id !== 'number') return;
  emit('message', m);
  const c = app.convs.get(m.conversation_id);
  if (!c) {
    if (created) fetchConversation(m.conversation_id);
    return;
  }
  if (created) {
    const next = { ...c };
    if (m.message_type !== 2) next.last_non_activity_message = m;
    next.messages = [m];
    next.last_activity_at = Math.max(c.last_activity_at || 0, m.created_at || 0);
    if (m.message_type === 0 && !m.private && m.conversation_id !== app.openId) {
      next.unread_count = (c.unread_count || 0) + 1;
    }
    if (m.message_type === 0 && !next.waiting_since) next.waiting_since = m.created_at;
    if (m.message_type === 1 && !m.private) next.waiting_since = 0;
    // An agent's public reply ends the running reply target; the server clears it with the
    // message and sends no conversation event for that.
    if (m.message_type === 1 && !m.private && m.sender_type === 'User') next.sla = null;
    app.convs.set(next.id, next);
    emit('conversation', next);
    notify.newMessage(m, next);
  } else if (c.last_non_activity_message && c.last_non_activity_message.id === m.id) {
    const next = { ...c, last_non_activity_message: m };
    app.convs.set(next.id, next);
    emit('conversation', next);
  }
}
