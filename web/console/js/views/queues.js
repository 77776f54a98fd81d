// Queues: every non-empty queue the agent can see (a team, or an inbox for conversations
// without a team) with how many wait, the oldest wait, the expected wait, and the waiting
// conversations in the order they will be assigned. Live: each `routing.queue_changed`
// event refetches the list.

import { h, replace } from '../dom.js';
import { t, fullStamp } from '../i18n.js';
import { app, on, inboxById } from '../store.js';
import { avatar, contactName, icon, errorText } from '../ui.js';
import * as notify from '../notify.js';
import { fetchQueues, span } from '../routing.js';

export class QueuesPage {
  constructor() {
    this.queues = null;
    this.error = null;
    this.seq = 0;
    this.unsubs = [];
    this.bodyEl = h('div', { class: 'queues', 'aria-live': 'polite' });
    this.summaryEl = h('p', { class: 'muted' });
    this.el = h(
      'div',
      { class: 'page-scroll' },
      h('div', { class: 'page wide-page' }, h('header', { class: 'page-head' }, h('h1', null, t('nav.queues')), this.summaryEl), h('p', { class: 'muted small' }, t('queue.hint')), this.bodyEl),
    );
  }

  mounted() {
    notify.setBaseTitle(`${t('nav.queues')} · Parley`);
    this.unsubs.push(
      on('queues', () => this.soon()),
      on('resync', () => this.soon()),
      on('connection', (st) => st === 'live' && this.soon()),
      on('reference', () => this.render()),
    );
    this.timer = setInterval(() => this.render(), 30000);
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

  /** Several changes in a burst (a conversation queued and another assigned) make one fetch. */
  soon() {
    clearTimeout(this.soonTimer);
    this.soonTimer = setTimeout(() => this.load(), 150);
  }

  async load() {
    const seq = ++this.seq;
    try {
      const list = await fetchQueues();
      if (seq !== this.seq) return;
      this.queues = list;
      this.error = null;
    } catch (e) {
      if (seq !== this.seq) return;
      this.error = e;
    }
    this.render();
  }

  render() {
    if (this.error && !this.queues) {
      replace(this.bodyEl, h('p', { class: 'form-error' }, errorText(this.error), ' ', h('button', { type: 'button', class: 'link', onclick: () => this.load() }, t('common.retry'))));
      return;
    }
    if (!this.queues) {
      replace(this.bodyEl, h('p', { class: 'muted' }, t('common.loading')));
      return;
    }
    const now = Date.now() / 1000;
    const total = this.queues.reduce((n, q) => n + (q.waiting || 0), 0);
    this.summaryEl.textContent = total ? t('queue.waitingN', { n: total }) : '';
    if (!this.queues.length) {
      replace(this.bodyEl, h('div', { class: 'empty-note' }, icon('checkCircle', { size: 28 }), h('p', null, t('queue.empty'))));
      return;
    }
    replace(this.bodyEl, this.queues.map((q) => this.queueCard(q, now)));
  }

  queueCard(q, now) {
    const inboxName = q.inbox_name || (inboxById(q.inbox_id) || {}).name || `#${q.inbox_id}`;
    const title = q.team_id ? q.team_name || `#${q.team_id}` : inboxName;
    const stat = (label, value, cls) => h('div', { class: ['q-stat', cls] }, h('span', { class: 'q-stat-value' }, value), h('span', { class: 'q-stat-label' }, label));
    const oldest = q.oldest_waiting_since ? now - q.oldest_waiting_since : 0;
    return h(
      'section',
      { class: 'card queue-card', dataset: { inbox: String(q.inbox_id), team: q.team_id ? String(q.team_id) : '' } },
      h(
        'header',
        { class: 'queue-head' },
        h('div', { class: 'queue-title' }, icon(q.team_id ? 'users' : 'inbox', { size: 16 }), h('h2', null, title), q.team_id ? h('span', { class: 'muted small' }, inboxName) : h('span', { class: 'muted small' }, t('queue.noTeam'))),
        h(
          'div',
          { class: 'q-stats' },
          stat(t('queue.waiting'), String(q.waiting || 0), 'waiting'),
          stat(t('queue.oldest'), q.oldest_waiting_since ? span(oldest) : '—', oldest > 300 && 'late'),
          stat(t('queue.expected'), typeof q.expected_wait_seconds === 'number' ? `≈ ${span(q.expected_wait_seconds, true)}` : '—', 'expected'),
        ),
      ),
      h(
        'ol',
        { class: 'queue-list' },
        (q.conversations || []).map((c) => {
          const contact = c.contact || {};
          const name = contactName(contact);
          return h(
            'li',
            { dataset: { id: String(c.id) } },
            h(
              'a',
              { href: `#/conversations/unassigned/${c.id}`, class: 'queue-item', title: `${t('queue.waitingSince')} ${fullStamp(c.waiting_since)}` },
              h('span', { class: 'q-pos', 'aria-label': t('queue.position', { n: c.position }) }, String(c.position)),
              avatar(name, 26),
              h('span', { class: 'q-name' }, name),
              c.vip ? h('span', { class: 'vip-chip', title: t('contact.vip') }, icon('star', { size: 11, fill: true }), 'VIP') : null,
              c.priority && c.priority !== 'none' ? h('span', { class: ['prio', c.priority], title: t(`priority.${c.priority}`) }, icon('flag', { size: 12 }), h('span', { class: 'sr' }, t(`priority.${c.priority}`))) : null,
              h('span', { class: 'q-id muted' }, `#${c.id}`),
              h('span', { class: ['q-age', now - c.waiting_since > 300 && 'late'] }, span(now - c.waiting_since)),
            ),
          );
        }),
      ),
    );
  }
}
