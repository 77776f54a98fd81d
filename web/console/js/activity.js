// Activity lines ("Assigned to Ivan by Maria") are stored by the server as English text.
// In another language the console recognises the server's phrases and says them in the
// operator's language; anything it does not recognise is shown as stored.

import { t, getLang } from './i18n.js';

const PATTERNS = [
  [/^Conversation was marked resolved by the contact$/, 'activity.resolvedByContact', []],
  [/^Conversation was reopened as the snooze ended$/, 'activity.snoozeEnded', []],
  [/^Conversation was marked resolved by (.+)$/s, 'activity.resolved', ['name']],
  [/^Conversation was reopened by (.+)$/s, 'activity.reopened', ['name']],
  [/^Conversation was marked as pending by (.+)$/s, 'activity.pending', ['name']],
  [/^Conversation was snoozed by (.+)$/s, 'activity.snoozed', ['name']],
  [/^(.+) self-assigned this conversation$/s, 'activity.selfAssigned', ['name']],
  // Routing and reply targets.
  [/^Assigned to (.+) automatically \(returning customer\)$/s, 'activity.autoReturning', ['agent']],
  [/^Assigned to (.+) automatically$/s, 'activity.auto', ['agent']],
  [/^(.+) went offline; conversation returned to the queue$/s, 'activity.wentOffline', ['name']],
  [/^(.+) did not answer within (\d+) min; conversation returned to the queue$/s, 'activity.silent', ['name', 'minutes']],
  [/^First response target missed \(was due (.+)\)$/s, 'activity.firstMissed', ['when']],
  [/^Next response target missed \(was due (.+)\)$/s, 'activity.nextMissed', ['when']],
  [/^Priority raised to (\w+) \(target missed\)$/s, 'activity.priorityRaised', ['priority'], (v) => ({ priority: t(`priority.${v.priority}`) })],
  [/^Taken from (.+) \(target missed\); conversation returned to the queue$/s, 'activity.takenMissed', ['name']],
  [/^Assigned to (.+) team by (.+)$/s, 'activity.assignedTeam', ['team', 'name']],
  [/^Assigned to (.+?) by (.+)$/s, 'activity.assigned', ['agent', 'name']],
  [/^Conversation unassigned by (.+)$/s, 'activity.unassigned', ['name']],
  [/^Unassigned from team by (.+)$/s, 'activity.unassignedTeam', ['name']],
];

export function activityText(text) {
  if (!text || getLang() === 'en') return text || '';
  for (const [re, key, names, map] of PATTERNS) {
    const m = re.exec(text);
    if (!m) continue;
    const vars = Object.fromEntries(names.map((n, i) => [n, m[i + 1]]));
    return t(key, map ? map(vars) : vars);
  }
  return text;
}
