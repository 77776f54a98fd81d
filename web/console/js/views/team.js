// Team (supervisors and administrators): every agent with their presence, how many
// conversations they hold against their limit, how many of those are inactive, and their
// teams. Presence changes live from `presence.update`; loads are refetched when
// conversations move.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { acct, get } from '../api.js';
import { app, on, teamById } from '../store.js';
import { avatar, errorText } from '../ui.js';
import * as notify from '../notify.js';

const ORDER = { online: 0, busy: 1, offline: 2 };

export class TeamPage {
  constructor() {
    this.agents = null;
    this.error = null;
    this.seq = 0;
    this.unsubs = [];
    this.summaryEl = h('div', { class: 'team-summary' });
    this.bodyEl = h('div', { class: 'team-body' });
    this.el = h(
      'div',
      { class: 'page-scroll' },
      h('div', { class: 'page wide-page' }, h('header', { class: 'page-head' }, h('h1', null, t('nav.team')), this.summaryEl), h('p', { class: 'muted small' }, t('team.hint')), this.bodyEl),
    );
  }

  mounted() {
    notify.setBaseTitle(`${t('nav.team')} · Parley`);
    this.unsubs.push(
      on('presence', (d) => {
        if (!d.users || !this.agents) return;
        // The effective status changes now; `connected` and loads with the next fetch.
        for (const a of this.agents) if (String(a.id) in d.users) a.availability_status = d.users[String(a.id)];
        this.render();
        this.soon(1500);
      }),
      on('my-presence', () => this.soon(300)),
      on('conversation', () => this.soon(1500)),
      on('queues', () => this.soon(800)),
      on('resync', () => this.soon(0)),
      on('connection', (st) => st === 'live' && this.soon(0)),
      on('reference', () => this.render()),
    );
    this.timer = setInterval(() => this.load(), 60000);
    this.load();
  }

  destroy() {
    this.unsubs.forEach((u) => u());
    clearInterval(this.timer);
    clearTimeout(this.soonTimer);
  }

  route() {
    this.load();
  }

  soon(ms) {
    clearTimeout(this.soonTimer);
    this.soonTimer = setTimeout(() => this.load(), ms);
  }

  async load() {
    const seq = ++this.seq;
    try {
      const r = await get(acct('/routing/agents'));
      if (seq !== this.seq) return;
      this.agents = (r && r.payload) || [];
      this.error = null;
    } catch (e) {
      if (seq !== this.seq) return;
      this.error = e;
    }
    this.render();
  }

  render() {
    if (this.error && !this.agents) {
      replace(this.bodyEl, h('p', { class: 'form-error' }, errorText(this.error), ' ', h('button', { type: 'button', class: 'link', onclick: () => this.load() }, t('common.retry'))));
      return;
    }
    if (!this.agents) {
      replace(this.bodyEl, h('p', { class: 'muted' }, t('common.loading')));
      return;
    }
    const status = (a) => (ORDER[a.availability_status] === undefined ? 'offline' : a.availability_status);
    const list = [...this.agents].sort((a, b) => ORDER[status(a)] - ORDER[status(b)] || String(a.name).localeCompare(String(b.name)));
    const counts = { online: 0, busy: 0, offline: 0 };
    let held = 0;
    for (const a of list) {
      counts[status(a)]++;
      held += (a.load && a.load.counted) || 0;
    }
    replace(
      this.summaryEl,
      ['online', 'busy', 'offline'].map((s) => h('span', { class: 'summary-item', dataset: { count: s } }, h('span', { class: ['presence-dot', 'inline', s] }), t(`team.count.${s}`, { n: counts[s] }))),
      h('span', { class: 'summary-item muted' }, t('team.held', { n: held })),
    );
    if (!list.length) {
      replace(this.bodyEl, h('p', { class: 'muted empty-note' }, t('settings.noAgents')));
      return;
    }
    replace(
      this.bodyEl,
      h(
        'table',
        { class: 'data team-table' },
        h('thead', null, h('tr', null, [t('settings.name'), t('settings.presence'), t('team.load'), t('team.inactive'), t('settings.teams')].map((x) => h('th', null, x)))),
        h('tbody', null, list.map((a) => this.row(a, status(a)))),
      ),
    );
  }

  row(a, st) {
    const load = a.load || {};
    const counted = load.counted || 0;
    const max = a.max_open || 0;
    const full = max > 0 && counted >= max;
    const pct = max > 0 ? Math.min(100, Math.round((counted / max) * 100)) : 0;
    const chosen = a.availability && a.availability !== st ? a.availability : null;
    const teams = (a.team_ids || []).map((id) => teamById(id)).filter(Boolean);
    return h(
      'tr',
      { dataset: { agent: String(a.id), presence: st } },
      h(
        'td',
        null,
        h(
          'div',
          { class: 'agent-cell' },
          h('span', { class: 'avatar-wrap' }, avatar(a.name, 32), h('span', { class: ['presence-dot', st], title: t(`presence.${st}`) })),
          h('div', { class: 'agent-text' }, h('b', null, a.name, app.me && a.id === app.me.id ? h('span', { class: 'muted' }, ` (${t('team.you')})`) : null), h('small', { class: 'muted' }, `${a.email || ''} · ${t(`role.${a.role || 'agent'}`)}`)),
        ),
      ),
      h(
        'td',
        { class: 'presence-cell' },
        h('span', { class: ['presence', st], dataset: { status: st } }, t(`presence.${st}`)),
        chosen ? h('small', { class: 'muted block' }, t('team.chose', { status: t(`presence.${chosen}`) })) : null,
        a.connected === false && st !== 'offline' ? h('small', { class: 'muted block' }, t('team.notConnected')) : null,
      ),
      h(
        'td',
        { class: 'load-cell' },
        h('div', { class: 'load-line' }, h('span', { class: ['load-num', full && 'full'], dataset: { load: `${counted}/${max}` } }, `${counted} / ${max}`), full ? h('span', { class: 'full-tag' }, t('team.full')) : null),
        h('div', { class: ['load-bar', full && 'full'], role: 'img', 'aria-label': t('team.loadOf', { n: counted, max }) }, h('span', { style: { width: `${pct}%` } })),
        h('small', { class: 'muted block', dataset: { limitSource: a.max_open_source || 'account' } }, limitSource(a)),
      ),
      h('td', { class: 'inactive-cell' }, load.inactive ? h('span', { title: t('team.inactiveHint') }, String(load.inactive)) : h('span', { class: 'muted' }, '0')),
      h('td', null, teams.length ? h('div', { class: 'chips' }, teams.map((x) => h('span', { class: 'label-chip' }, x.name))) : h('span', { class: 'muted' }, '—')),
    );
  }
}

/** Where an agent's limit comes from: their own, their team's (named) or the account's. */
function limitSource(a) {
  if (a.max_open_source === 'agent') return t('team.limit.agent');
  if (a.max_open_source === 'team') return t('team.limit.team', { team: (teamById(a.max_open_team_id) || {}).name || `#${a.max_open_team_id}` });
  return t('team.limit.account');
}
