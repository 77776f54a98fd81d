// Routing in the console: reply targets (SLA) of a conversation as a chip that says how long
// is left or how late it is, the time a conversation has been waiting in its queue, the
// queues themselves (fetched, counted for the rail badge), presence and claiming.

import { h } from './dom.js';
import { t, fullStamp } from './i18n.js';
import { acct, get, post } from './api.js';
import { app, emit } from './store.js';
import { icon } from './ui.js';

/** "5 min", "1 h 20 min", "2 d": a span of seconds; minutes rounded up or down. */
export function span(secs, up = false) {
  const s = Math.max(0, secs);
  const min = up ? Math.ceil(s / 60) : Math.floor(s / 60);
  if (min < 60) return t('time.min', { n: Math.max(min, 1) });
  if (min < 1440) {
    const hrs = Math.floor(min / 60);
    const m = min % 60;
    return m ? t('time.hourMin', { h: hrs, m }) : t('time.hour', { n: hrs });
  }
  return t('time.day', { n: Math.floor(min / 1440) });
}

const nowSecs = () => Date.now() / 1000;

/**
 * The reply target of a conversation right now: {kind, dueAt, left, overdue}, or null when
 * nothing is due (no policy, or resolved). `left` is in seconds, negative once late. The
 * server's `overdue` flag and the clock both count, so the row turns red on time even
 * before the server's event arrives.
 */
export function slaState(c, now = nowSecs()) {
  const s = c && c.sla;
  if (!s || typeof s.due_at !== 'number' || c.status === 'resolved') return null;
  const left = s.due_at - now;
  return { kind: s.kind, dueAt: s.due_at, left, overdue: Boolean(s.overdue) || left <= 0 };
}

/** The chip: "Reply within 12 min" (clock) or "Overdue by 5 min" (alert), or null. */
export function slaChip(c, now = nowSecs()) {
  const st = slaState(c, now);
  if (!st) return null;
  const late = -st.left;
  const text = st.overdue ? (late >= 60 ? t('sla.overdueBy', { time: span(late) }) : t('sla.overdueNow')) : t('sla.dueIn', { time: span(st.left, true) });
  const kind = st.kind === 'next_response' ? 'sla.next_response' : 'sla.first_response';
  return h(
    'span',
    { class: ['sla-chip', st.overdue ? 'overdue' : 'due', !st.overdue && st.left < 300 && 'soon'], title: t(kind, { when: fullStamp(st.dueAt) }), dataset: { sla: st.overdue ? 'overdue' : 'due' } },
    icon(st.overdue ? 'alert' : 'clock', { size: 12 }),
    text,
  );
}

/** "In queue 4 min" for a conversation waiting to be assigned, or null. */
export function queueChip(c, now = nowSecs()) {
  if (!c || typeof c.queued_at !== 'number' || !c.queued_at || (c.meta && c.meta.assignee)) return null;
  return h(
    'span',
    { class: 'queue-chip', title: `${t('queue.waitingSince')} ${fullStamp(c.queued_at)}`, dataset: { queued: String(c.queued_at) } },
    icon('queue', { size: 12 }),
    t('queue.inQueue', { time: span(now - c.queued_at) }),
  );
}

/** The soonest moment (epoch seconds) after `now` at which one of these chips changes state. */
export function nextDue(convs, now = nowSecs()) {
  let next = Infinity;
  for (const c of convs) {
    const st = slaState(c, now);
    if (st && !st.overdue && st.dueAt < next) next = st.dueAt;
  }
  return next;
}

const qKey = (q) => `${q.inbox_id}:${q.team_id ?? ''}`;

/** The queues the agent can see; also refreshes the waiting counts of the rail badge. */
export async function fetchQueues() {
  const r = await get(acct('/routing/queues'));
  const list = (r && r.payload) || [];
  app.queueWaiting.clear();
  for (const q of list) app.queueWaiting.set(qKey(q), q.waiting || 0);
  emit('queue-total');
  return list;
}

/** A `routing.queue_changed` event: one queue's new count. */
export function queueChanged(d) {
  if (!d || typeof d.inbox_id !== 'number') return;
  const n = Number(d.waiting) || 0;
  if (n > 0) app.queueWaiting.set(qKey(d), n);
  else app.queueWaiting.delete(qKey(d));
  emit('queue-total');
  emit('queues', d);
}

/** Sets the signed-in agent's own status; resolves with the profile. */
export async function setAvailability(status) {
  const r = await post('/api/v1/profile/availability', { profile: { availability: status, account_id: app.accountId } });
  const acc = ((r && r.accounts) || []).find((a) => a.id === app.accountId);
  app.availability = (acc && acc.availability) || status;
  if (acc && acc.availability_status) app.availabilityStatus = acc.availability_status;
  if (app.me) app.presence.users.set(String(app.me.id), (acc && acc.availability_status) || status);
  emit('my-presence');
  return r;
}
