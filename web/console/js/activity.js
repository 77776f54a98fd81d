// Activity lines ("Assigned to Ivan by Maria"). The server stores each one with its English
// text and a description in `content_attributes.activity` (`{kind, agent, by, …}`, one kind
// per dictionary key `activity.<kind>`); the console says it in the operator's language
// from the description, with times in the operator's locale and time zone. A line without a
// description (stored before there were any) or of a kind this console does not know is
// shown as stored.

import { t, has, fullStamp } from './i18n.js';

/** The dictionary key of a description, or null when the console has none for it. */
function keyOf(a) {
  switch (a.kind) {
    case 'auto_assigned':
      return a.returning ? 'activity.auto_assigned_returning' : 'activity.auto_assigned';
    case 'automation':
      return a.by ? 'activity.automation_macro' : 'activity.automation';
    case 'transferred':
      if (a.agent && a.team) return 'activity.transferred_agent_team';
      if (a.agent) return 'activity.transferred';
      if (a.team) return 'activity.transferred_team';
      return 'activity.transferred_queue';
    default:
      return /^[a-z_]+$/.test(a.kind) ? `activity.${a.kind}` : null;
  }
}

/** Values for the placeholders, from the description's facts. */
function varsOf(a) {
  const vars = {};
  for (const k of ['by', 'agent', 'team', 'rule']) if (typeof a[k] === 'string' && a[k]) vars[k] = a[k];
  // An automation line: the action in the operator's language, with its value.
  if (typeof a.action === 'string' && has(`auto.action.${a.action}`)) {
    let value = typeof a.value === 'string' ? a.value : '';
    // A status or priority is a wire name: said in the operator's language.
    if (a.action === 'change_status' && has(`status.${value}`)) value = t(`status.${value}`).toLowerCase();
    if (a.action === 'change_priority' && has(`priority.${value}`)) value = t(`priority.${value}`).toLowerCase();
    vars.action = t(`auto.action.${a.action}`) + (value ? ` ${value}` : '');
  }
  if (Number.isFinite(a.minutes)) vars.minutes = a.minutes;
  if (Number.isFinite(a.due_at)) vars.due = fullStamp(a.due_at);
  if (typeof a.priority === 'string' && has(`priority.${a.priority}`)) vars.priority = t(`priority.${a.priority}`);
  return vars;
}

/** The text of an activity message in the operator's language. */
export function activityText(m) {
  const stored = (m && m.content) || '';
  const a = m && m.content_attributes && m.content_attributes.activity;
  if (!a || typeof a !== 'object' || typeof a.kind !== 'string') return stored;
  const key = keyOf(a);
  if (!key || !has(key)) return stored;
  const vars = varsOf(a);
  // Every placeholder of the phrase needs its fact; a description that lacks one is shown
  // as stored rather than with a hole.
  const needed = [...t(key).matchAll(/\{(\w+)\}/g)].map((x) => x[1]);
  if (!needed.every((n) => n in vars)) return stored;
  return t(key, vars);
}
