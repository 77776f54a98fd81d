// The console's shared state: who is signed in, the account's reference data (inboxes,
// agents, teams, labels, canned responses), the latest known copy of each conversation,
// and a small event bus the views subscribe to.

import { acct, get } from './api.js';

export const app = {
  profile: null,
  accountId: null,
  role: 'agent',
  me: null,
  inboxes: [],
  agents: [],
  teams: [],
  labels: [],
  canned: [],
  /** display id → conversation (as the API renders it) */
  convs: new Map(),
  /** display id of the open conversation */
  openId: null,
  rt: null,
  settings: loadSettings(),
  /** Live presence heard over the socket since it connected: id → online | busy | offline. */
  presence: { users: new Map(), contacts: new Map() },
  /** The signed-in agent's chosen status (online | busy | offline) and the effective one. */
  availability: 'online',
  availabilityStatus: 'offline',
  /** Waiting conversations per queue ("inbox:team" → count), from the last fetch and events. */
  queueWaiting: new Map(),
};

/** True when the contact is known to be online (a widget socket open right now). */
export function contactOnline(id) {
  return app.presence.contacts.get(String(id)) === 'online';
}

/** An agent's presence: live when heard, else the stored availability. */
export function agentPresence(a) {
  return app.presence.users.get(String(a.id)) || a.availability_status || 'offline';
}

/** The signed-in agent's effective presence (what colleagues and routing see). */
export function myPresence() {
  return (app.me && app.presence.users.get(String(app.me.id))) || app.availabilityStatus || 'offline';
}

/** How many conversations wait in all the queues the agent can see. */
export function queueTotal() {
  let n = 0;
  for (const v of app.queueWaiting.values()) n += v;
  return n;
}

const bus = new EventTarget();

/** Subscribes to an app event; returns the unsubscribe function. */
export function on(type, fn) {
  const l = (e) => fn(e.detail);
  bus.addEventListener(type, l);
  return () => bus.removeEventListener(type, l);
}

export function emit(type, detail) {
  bus.dispatchEvent(new CustomEvent(type, { detail }));
}

export function isAdmin() {
  return app.role === 'administrator';
}

export function isSupervisorOrAdmin() {
  return app.role === 'administrator' || app.role === 'supervisor';
}

/** Account data every view needs; failures leave the list empty rather than stop the app. */
export async function loadReference() {
  const [inboxes, agents, teams, labels, canned] = await Promise.allSettled([
    get(acct('/inboxes')),
    get(acct('/agents')),
    get(acct('/teams')),
    get(acct('/labels')),
    get(acct('/canned_responses')),
  ]);
  const ok = (r, f) => (r.status === 'fulfilled' && r.value ? f(r.value) : []);
  app.inboxes = ok(inboxes, (v) => v.payload || []);
  app.agents = ok(agents, (v) => (Array.isArray(v) ? v : v.payload || []));
  app.teams = ok(teams, (v) => (Array.isArray(v) ? v : v.payload || []));
  app.labels = ok(labels, (v) => v.payload || []);
  app.canned = ok(canned, (v) => (Array.isArray(v) ? v : v.payload || []));
  emit('reference');
}

export async function reloadOne(kind) {
  const map = {
    inboxes: ['/inboxes', (v) => v.payload || []],
    agents: ['/agents', (v) => (Array.isArray(v) ? v : v.payload || [])],
    teams: ['/teams', (v) => (Array.isArray(v) ? v : v.payload || [])],
    labels: ['/labels', (v) => v.payload || []],
    canned: ['/canned_responses', (v) => (Array.isArray(v) ? v : v.payload || [])],
  };
  const [path, pick] = map[kind];
  app[kind] = pick(await get(acct(path)));
  emit('reference');
}

export const inboxById = (id) => app.inboxes.find((i) => i.id === id);
export const agentById = (id) => app.agents.find((a) => a.id === id);
export const teamById = (id) => app.teams.find((t) => t.id === id);

/** Stores the newest copy of a conversation and tells the views. */
export function putConversation(c) {
  if (!c || typeof c.id !== 'number') return;
  const prev = app.convs.get(c.id);
  // An event may carry an older snapshot than a REST answer we already have.
  if (prev && prev.updated_at > c.updated_at && prev.last_activity_at >= c.last_activity_at) return;
  // Times are whole seconds, so a snapshot rendered before the conversation's newest
  // message (its `conversation.created` overtaken by the `message.created` after it) can
  // look as new as what we have: it never takes the newer message and what came with it
  // (preview, unread count, waiting since) back.
  const lastId = (x) => (x && x.last_non_activity_message ? x.last_non_activity_message.id : 0);
  if (prev && lastId(prev) > lastId(c)) {
    c = {
      ...c,
      last_non_activity_message: prev.last_non_activity_message,
      messages: prev.messages,
      last_activity_at: Math.max(prev.last_activity_at || 0, c.last_activity_at || 0),
      unread_count: Math.max(prev.unread_count || 0, c.unread_count || 0),
      waiting_since: prev.waiting_since,
    };
  }
  if (c.id === app.openId) c.unread_count = 0;
  app.convs.set(c.id, c);
  emit('conversation', c);
}

// Operator preferences kept in this browser.
function loadSettings() {
  const defaults = { sound: false, notify: true, filters: null };
  try {
    return { ...defaults, ...JSON.parse(localStorage.getItem('parley.settings') || '{}') };
  } catch {
    return defaults;
  }
}

export function saveSettings(patch) {
  Object.assign(app.settings, patch);
  try {
    localStorage.setItem('parley.settings', JSON.stringify(app.settings));
  } catch {
    // kept for this page only
  }
}
