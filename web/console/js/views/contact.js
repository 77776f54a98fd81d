// The contact panel beside a conversation: who the customer is, their channels, attributes,
// where they came from (page, referrer, UTM), labels and previous conversations.

import { h, replace } from '../dom.js';
import { t, fullStamp, age } from '../i18n.js';
import { get, post, acct } from '../api.js';
import { app, inboxById } from '../store.js';
import { avatar, channelIcon, channelName, contactName, errorText, toast, popover, linkify } from '../ui.js';

// Visit attributes the widget and integrations report, in display order.
const VISIT_KEYS = [
  ['current_page', 'contact.currentPage'],
  ['current_url', 'contact.currentPage'],
  ['page_url', 'contact.currentPage'],
  ['page_title', 'contact.pageTitle'],
  ['referer', 'contact.referrer'],
  ['referrer', 'contact.referrer'],
  ['utm_source', 'contact.utmSource'],
  ['utm_medium', 'contact.utmMedium'],
  ['utm_campaign', 'contact.utmCampaign'],
  ['utm_term', 'contact.utmTerm'],
  ['utm_content', 'contact.utmContent'],
  ['browser', 'contact.browser'],
  ['browser_language', 'contact.language'],
  ['os', 'contact.os'],
  ['platform', 'contact.os'],
  ['city', 'contact.city'],
  ['country', 'contact.country'],
  ['initiated_at', 'contact.initiatedAt'],
];
const TRAIL_KEYS = ['page_trail', 'pages', 'visited_pages'];

export class ContactPanel {
  constructor(convId) {
    this.convId = convId;
    this.conv = null;
    this.contact = null;
    this.labels = [];
    this.previous = [];
    this.el = h('aside', { class: 'contact-panel', 'aria-label': t('contact.panel') }, h('p', { class: 'muted small pad' }, t('common.loading')));
  }

  destroy() {}

  async setConversation(c) {
    const first = !this.conv || this.conv.contact_id !== c.contact_id;
    this.conv = c;
    if (first) await this.load();
    else this.render();
  }

  async load() {
    const id = this.conv.contact_id;
    try {
      const [contact, labels, convs] = await Promise.all([
        get(acct(`/contacts/${id}`)),
        get(acct(`/contacts/${id}/labels`)).catch(() => ({ payload: [] })),
        get(acct(`/contacts/${id}/conversations`)).catch(() => ({ payload: [] })),
      ]);
      this.contact = contact.payload || contact;
      this.labels = labels.payload || [];
      this.previous = (convs.payload || []).filter((x) => x.id !== this.convId);
    } catch (e) {
      this.contact = this.conv.meta.sender;
      if (e.status !== 404 && e.status !== 403) toast(errorText(e), 'error');
    }
    this.render();
  }

  render() {
    const c = this.contact || (this.conv && this.conv.meta.sender) || {};
    const name = contactName(c);
    const rows = (pairs) => h('dl', { class: 'kv' }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== '').map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));

    const identities = (c.contact_inboxes || []).map((ci) =>
      h('li', null, channelIcon(ci.inbox && ci.inbox.channel_type, 13), h('span', null, (ci.inbox && ci.inbox.name) || channelName(ci.inbox && ci.inbox.channel_type)), h('small', { class: 'muted mono', title: ci.source_id }, ci.source_id)),
    );

    const visit = { ...(c.additional_attributes || {}), ...((this.conv && this.conv.additional_attributes) || {}) };
    const shown = new Set();
    const visitRows = [];
    for (const [key, label] of VISIT_KEYS) {
      if (shown.has(label)) continue;
      const v = visit[key] ?? (visit.utm && key.startsWith('utm_') ? visit.utm[key.slice(4)] : undefined);
      if (v === undefined || v === null || v === '' || typeof v === 'object') continue;
      shown.add(label);
      const text = key === 'initiated_at' && typeof v === 'number' ? fullStamp(v > 1e12 ? v / 1000 : v) : String(v);
      visitRows.push([t(label), linkify(text)]);
    }
    let trail = null;
    for (const k of TRAIL_KEYS) {
      if (Array.isArray(visit[k]) && visit[k].length) {
        trail = h(
          'ol',
          { class: 'trail' },
          visit[k].slice(-10).map((p) => {
            const url = typeof p === 'string' ? p : p && (p.url || p.path || p.page);
            const title = p && typeof p === 'object' ? p.title : null;
            return h('li', null, title ? h('span', null, String(title), ' ') : null, url ? linkify(String(url)) : JSON.stringify(p));
          }),
        );
        break;
      }
    }

    const custom = Object.entries(c.custom_attributes || {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : linkify(String(v))]);
    const convCustom = Object.entries((this.conv && this.conv.custom_attributes) || {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : linkify(String(v))]);

    replace(
      this.el,
      h(
        'div',
        { class: 'contact-head' },
        avatar(name, 48),
        h('div', null, h('h3', null, name), c.email ? h('div', { class: 'small' }, c.email) : null, c.phone_number ? h('div', { class: 'small' }, c.phone_number) : null),
      ),
      section(
        t('contact.details'),
        rows([
          [t('contact.email'), c.email ? h('a', { href: `mailto:${c.email}` }, c.email) : null],
          [t('contact.phone'), c.phone_number ? h('a', { href: `tel:${c.phone_number}` }, c.phone_number) : null],
          [t('contact.identifier'), c.identifier],
          [t('contact.created'), c.created_at ? fullStamp(c.created_at) : null],
          [t('contact.lastActivity'), c.last_activity_at ? age(c.last_activity_at) : null],
        ]),
      ),
      identities.length ? section(t('contact.channels'), h('ul', { class: 'identities' }, identities)) : null,
      visitRows.length || trail ? section(t('contact.visit'), rows(visitRows), trail ? h('div', { class: 'small muted' }, t('contact.pageTrail')) : null, trail) : null,
      custom.length ? section(t('contact.attributes'), rows(custom)) : null,
      convCustom.length ? section(t('contact.convAttributes'), rows(convCustom)) : null,
      section(
        t('contact.labels'),
        h(
          'div',
          { class: 'chips' },
          this.labels.map((l) => h('span', { class: 'label-chip' }, l)),
          h('button', { type: 'button', class: 'link small', onclick: (e) => this.editLabels(e.currentTarget) }, this.labels.length ? t('common.edit') : t('contact.addLabel')),
        ),
      ),
      section(
        t('contact.previous', { n: this.previous.length }),
        this.previous.length
          ? h(
              'ul',
              { class: 'previous' },
              this.previous.map((p) =>
                h(
                  'li',
                  null,
                  h(
                    'a',
                    { href: `#/conversations/all/${p.id}` },
                    channelIcon(p.meta && p.meta.channel, 12),
                    h('span', null, `#${p.id}`),
                    h('span', { class: 'muted' }, (inboxById(p.inbox_id) || {}).name || ''),
                    h('span', { class: ['status-pill', p.status] }, t(`status.${p.status}`)),
                  ),
                  p.last_non_activity_message && p.last_non_activity_message.content ? h('div', { class: 'small muted clip' }, p.last_non_activity_message.content) : null,
                ),
              ),
            )
          : h('p', { class: 'muted small' }, t('contact.noPrevious')),
      ),
    );
  }

  editLabels(anchor) {
    const current = new Set(this.labels);
    const box = h('div', { class: 'label-picker' });
    if (!app.labels.length) box.append(h('p', { class: 'muted small' }, t('conv.noLabels')));
    for (const l of app.labels) {
      box.append(
        h(
          'label',
          { class: 'check' },
          h('input', {
            type: 'checkbox',
            checked: current.has(l.title),
            onchange: async (e) => {
              if (e.target.checked) current.add(l.title);
              else current.delete(l.title);
              try {
                const r = await post(acct(`/contacts/${this.conv.contact_id}/labels`), { labels: [...current] });
                this.labels = (r && r.payload) || [...current];
                this.render();
              } catch (ex) {
                toast(errorText(ex), 'error');
              }
            },
          }),
          h('span', { class: 'dot', style: { background: l.color || '#888' } }),
          l.title,
        ),
      );
    }
    popover(anchor, box, { align: 'right' });
  }
}

function section(title, ...body) {
  return h('section', { class: 'panel-section' }, h('h4', null, title), ...body);
}
