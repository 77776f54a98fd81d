// The contact panel beside a conversation: who the customer is, their channels, attributes,
// where they came from (page, referrer, UTM), labels, and their conversations from every
// inbox and channel in one history. When another contact shares the customer's e-mail or
// phone, the panel offers to merge the two (docs/channels.md, "One customer across channels").

import { h, replace } from '../dom.js';
import { t, fullStamp, age } from '../i18n.js';
import { get, post, patch, del, acct } from '../api.js';
import { app, inboxById, isAdmin, on } from '../store.js';
import { avatar, channelIcon, channelName, contactName, errorText, toast, popover, linkify, icon, ratingStars, modal } from '../ui.js';

// What the widget reports about the visit (docs/widget.md), in the conversation's and the
// contact's additional attributes; flat keys of other integrations are read too.
const UTM = [
  ['utm_source', 'contact.utmSource'],
  ['utm_medium', 'contact.utmMedium'],
  ['utm_campaign', 'contact.utmCampaign'],
  ['utm_term', 'contact.utmTerm'],
  ['utm_content', 'contact.utmContent'],
];

/** [label, value] rows of the visit; values are text or text-and-link nodes. */
function visitRows(v) {
  const rows = [];
  const str = (x) => (typeof x === 'string' || typeof x === 'number' ? String(x) : '');
  const page = str(v.page_url || v.current_url || v.current_page || v.referer);
  if (page) rows.push([t('contact.currentPage'), v.page_title ? [str(v.page_title), h('br'), linkify(page)] : linkify(page)]);
  const from = str(v.visit_referrer || v.referrer);
  if (from) rows.push([t('contact.referrer'), linkify(from)]);
  const utm = v.utm && typeof v.utm === 'object' ? v.utm : v;
  for (const [k, label] of UTM) if (str(utm[k])) rows.push([t(label), str(utm[k])]);
  const b = v.browser && typeof v.browser === 'object' ? v.browser : null;
  if (b) {
    const browser = [b.browser_name, b.browser_version].filter(Boolean).join(' ');
    const system = [b.platform_name, b.platform_version].filter(Boolean).join(' ');
    if (browser) rows.push([t('contact.browser'), browser]);
    if (system) rows.push([t('contact.os'), system]);
    if (b.device_name) rows.push([t('contact.device'), str(b.device_name)]);
  } else if (str(v.browser)) rows.push([t('contact.browser'), str(v.browser)]);
  if (str(v.browser_language)) rows.push([t('contact.language'), str(v.browser_language)]);
  if (str(v.timezone)) rows.push([t('contact.timezone'), str(v.timezone)]);
  if (str(v.screen)) rows.push([t('contact.screen'), str(v.screen)]);
  if (str(v.city)) rows.push([t('contact.city'), str(v.city)]);
  if (str(v.country)) rows.push([t('contact.country'), str(v.country)]);
  if (typeof v.time_on_site === 'number' && v.time_on_site > 0) rows.push([t('contact.timeOnSite'), duration(v.time_on_site)]);
  const started = v.initiated_at && typeof v.initiated_at === 'object' ? v.initiated_at.timestamp : v.initiated_at;
  if (typeof started === 'number') rows.push([t('contact.initiatedAt'), fullStamp(started > 1e12 ? started / 1000 : started)]);
  if (v.offline_request === true) rows.push([t('contact.offlineRequest'), t('common.yes')]);
  return rows;
}

function duration(secs) {
  if (secs < 60) return t('time.seconds', { n: secs });
  if (secs < 3600) return t('time.min', { n: Math.round(secs / 60) });
  return t('time.hour', { n: Math.round(secs / 360) / 10 });
}

export class ContactPanel {
  constructor(convId) {
    this.convId = convId;
    this.conv = null;
    this.contact = null;
    this.labels = [];
    this.history = [];
    this.ratings = [];
    this.notes = [];
    // Bumped by every note added or deleted here: a load that started before keeps the
    // list as it is (its answer is older than what this console just did).
    this.notesGen = 0;
    this.duplicates = [];
    this.el = h('aside', { class: 'contact-panel', 'aria-label': t('contact.panel') }, h('p', { class: 'muted small pad' }, t('common.loading')));
    // Another console merged this contact (or one into it): show the merged history.
    this.unsub = on('contact-merged', (d) => {
      const id = this.conv && this.conv.contact_id;
      if (!id || (id !== d.base_contact_id && id !== d.mergee_contact_id)) return;
      this.conv = { ...this.conv, contact_id: d.base_contact_id };
      this.load();
    });
  }

  destroy() {
    this.unsub();
  }

  async setConversation(c) {
    const first = !this.conv || this.conv.contact_id !== c.contact_id;
    this.conv = c;
    if (first) await this.load();
    else this.render();
  }

  async load() {
    const id = this.conv.contact_id;
    const gen = this.notesGen;
    try {
      const [contact, labels, convs, notes, dups] = await Promise.all([
        get(acct(`/contacts/${id}`)),
        get(acct(`/contacts/${id}/labels`)).catch(() => ({ payload: [] })),
        get(acct(`/contacts/${id}/conversations`)).catch(() => ({ payload: [] })),
        get(acct(`/contacts/${id}/notes`)).catch(() => []),
        get(acct(`/contacts/${id}/duplicates`)).catch(() => ({ payload: [] })),
      ]);
      if (!this.conv || this.conv.contact_id !== id) return; // a newer load is under way
      if (this.notesGen === gen) this.notes = Array.isArray(notes) ? notes : [];
      this.contact = contact.payload || contact;
      this.labels = labels.payload || [];
      this.history = convs.payload || [];
      this.ratings = this.history.filter((x) => x.csat_survey_response);
      this.duplicates = dups.payload || [];
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
    const visitList = visitRows(visit);
    const trailSrc = ['page_trail', 'pages', 'visited_pages'].map((k) => visit[k]).find((x) => Array.isArray(x) && x.length);
    const trail = trailSrc
      ? h(
          'ol',
          { class: 'trail' },
          trailSrc.slice(-10).map((p) => {
            const url = typeof p === 'string' ? p : p && (p.url || p.path || p.page);
            const title = p && typeof p === 'object' && typeof p.title === 'string' ? p.title : null;
            return h('li', null, title ? h('span', null, title, ' ') : null, url ? linkify(String(url)) : null);
          }),
        )
      : null;

    const custom = Object.entries(c.custom_attributes || {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : linkify(String(v))]);
    const convCustom = Object.entries((this.conv && this.conv.custom_attributes) || {}).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : linkify(String(v))]);

    replace(
      this.el,
      h(
        'div',
        { class: 'contact-head' },
        avatar(name, 48),
        h('div', { class: 'contact-head-text' }, h('h3', null, name), c.email ? h('div', { class: 'small' }, c.email) : null, c.phone_number ? h('div', { class: 'small' }, c.phone_number) : null),
        this.contact ? this.vipToggle(c) : null,
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
      this.duplicatesSection(),
      identities.length ? section(t('contact.channels'), h('ul', { class: 'identities' }, identities)) : null,
      visitList.length || trail ? section(t('contact.visit'), rows(visitList), trail ? h('div', { class: 'small muted' }, t('contact.pageTrail')) : null, trail) : null,
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
      this.notesSection(),
      (this.ratings || []).length
        ? section(
            t('csat.contactRatings', { n: this.ratings.length }),
            h(
              'ul',
              { class: 'ratings' },
              this.ratings.map((p) =>
                h(
                  'li',
                  { dataset: { id: String(p.id), rating: String(p.csat_survey_response.rating) } },
                  h('a', { href: `#/conversations/all/${p.id}` }, h('span', null, `#${p.id}`), ratingStars(p.csat_survey_response.rating), h('span', { class: 'muted small' }, t('csat.score', { n: p.csat_survey_response.rating }))),
                  p.csat_survey_response.feedback_message ? h('div', { class: 'small clip csat-comment' }, p.csat_survey_response.feedback_message) : null,
                ),
              ),
            ),
          )
        : null,
      this.historySection(),
    );
  }

  /** Every conversation of the customer, from every inbox and channel, newest first. */
  historySection() {
    const list = this.history;
    const channels = new Set(list.map((p) => p.meta && p.meta.channel));
    return h(
      'section',
      { class: 'panel-section', dataset: { section: 'history' } },
      h('h4', null, t('contact.history', { n: list.length }), channels.size > 1 ? h('span', { class: 'muted small' }, ' · ', t('contact.historyChannels', { n: channels.size })) : null),
      list.length
        ? h(
            'ul',
            { class: 'history' },
            list.map((p) => {
              const inbox = inboxById(p.inbox_id) || {};
              const last = p.last_non_activity_message;
              const current = p.id === this.convId;
              return h(
                'li',
                { class: [current && 'current'], dataset: { id: String(p.id) } },
                h(
                  'a',
                  { href: `#/conversations/all/${p.id}`, 'aria-current': current ? 'page' : null },
                  channelIcon(p.meta && p.meta.channel, 12),
                  h('span', null, `#${p.id}`),
                  h('span', { class: 'muted clip' }, inbox.name || channelName(p.meta && p.meta.channel)),
                  h('span', { class: ['status-pill', p.status] }, t(`status.${p.status}`)),
                  p.csat_survey_response ? ratingStars(p.csat_survey_response.rating) : null,
                  p.last_activity_at ? h('span', { class: 'muted small when' }, age(p.last_activity_at)) : null,
                ),
                current ? h('div', { class: 'small muted' }, t('contact.thisConversation')) : null,
                last && last.content ? h('div', { class: 'small muted clip' }, last.content) : null,
              );
            }),
          )
        : h('p', { class: 'muted small' }, t('contact.noPrevious')),
    );
  }

  /** Other contacts with the same e-mail or phone, each with a "Merge" action. */
  duplicatesSection() {
    if (!this.contact || !this.duplicates.length) return null;
    const reason = (d) => (d.matched_by || []).map((m) => t(m === 'email' ? 'merge.sameEmail' : 'merge.samePhone')).join(', ');
    return h(
      'section',
      { class: 'panel-section duplicates', dataset: { section: 'duplicates' } },
      h('h4', null, t('merge.title', { n: this.duplicates.length })),
      h('p', { class: 'small muted' }, t('merge.hint')),
      h(
        'ul',
        { class: 'identities' },
        this.duplicates.map((d) =>
          h(
            'li',
            { dataset: { duplicate: String(d.contact.id) } },
            avatar(contactName(d.contact), 22),
            h('span', { class: 'clip' }, contactName(d.contact), h('br'), h('small', { class: 'muted' }, reason(d))),
            h('button', { type: 'button', class: 'btn small', dataset: { action: 'merge' }, onclick: () => this.mergeDialog(d.contact) }, t('merge.action')),
          ),
        ),
      ),
    );
  }

  /**
   * Asks which contact stays and says what moves, then merges. The older contact (usually
   * the known customer) is proposed to stay.
   */
  async mergeDialog(other) {
    const mine = this.contact;
    const counts = async (c) => {
      const [convs, notes] = await Promise.all([
        c.id === mine.id ? { payload: this.history } : get(acct(`/contacts/${c.id}/conversations`)).catch(() => ({ payload: [] })),
        c.id === mine.id ? this.notes : get(acct(`/contacts/${c.id}/notes`)).catch(() => []),
      ]);
      return { conversations: (convs.payload || []).length, notes: Array.isArray(notes) ? notes.length : 0, channels: (c.contact_inboxes || []).length };
    };
    let facts;
    try {
      facts = new Map(await Promise.all([mine, other].map(async (c) => [c.id, await counts(c)])));
    } catch (e) {
      toast(errorText(e), 'error');
      return;
    }
    let base = mine.id < other.id ? mine : other;
    const mergeeOf = () => (base.id === mine.id ? other : mine);
    const done = await modal(t('merge.dialogTitle'), (close) => {
      const text = h('div', { class: 'merge-summary' });
      const describe = () => {
        const m = mergeeOf();
        const f = facts.get(m.id);
        replace(
          text,
          h('p', null, t('merge.stays', { name: contactName(base) })),
          h(
            'ul',
            { class: 'small' },
            h('li', null, t('merge.movesConversations', { n: f.conversations })),
            h('li', null, t('merge.movesChannels', { n: f.channels })),
            h('li', null, t('merge.movesNotes', { n: f.notes })),
            h('li', null, t('merge.movesFields')),
          ),
          h('p', { class: 'small' }, t('merge.deleted', { name: contactName(m) })),
        );
      };
      const choice = (c) =>
        h(
          'label',
          { class: 'check' },
          h('input', {
            type: 'radio',
            name: 'merge-base',
            value: String(c.id),
            checked: c.id === base.id,
            onchange: () => {
              base = c;
              describe();
            },
          }),
          h('span', null, contactName(c), ' ', h('small', { class: 'muted' }, [c.email, c.phone_number].filter(Boolean).join(' · '))),
        );
      describe();
      const ok = h(
        'button',
        {
          type: 'button',
          class: 'btn primary',
          dataset: { action: 'confirm-merge' },
          onclick: async () => {
            ok.disabled = true;
            try {
              const merged = await post(acct('/actions/contact_merge'), { base_contact_id: base.id, mergee_contact_id: mergeeOf().id });
              close(merged);
            } catch (e) {
              ok.disabled = false;
              toast(errorText(e), 'error');
            }
          },
        },
        t('merge.confirm'),
      );
      return h(
        'div',
        { class: 'modal-body merge-dialog' },
        h('fieldset', { class: 'merge-choice' }, h('legend', null, t('merge.keep')), choice(mine), choice(other)),
        text,
        h('p', { class: 'small muted' }, t('merge.irreversible')),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn', onclick: () => close(undefined) }, t('common.cancel')), ok),
      );
    });
    if (!done) return;
    toast(t('merge.done', { name: contactName(done) }));
    this.conv = { ...this.conv, contact_id: done.id };
    await this.load();
  }

  /** Notes colleagues keep about the customer; text only, newest first. */
  notesSection() {
    const id = this.conv && this.conv.contact_id;
    // The panel is redrawn whenever the conversation changes: keep what is being typed.
    const input = h('textarea', {
      class: 'note-input',
      rows: 2,
      maxlength: 10000,
      placeholder: t('contact.notePlaceholder'),
      'aria-label': t('contact.notePlaceholder'),
      oninput: (e) => (this.noteDraft = e.target.value),
    });
    input.value = this.noteDraft || '';
    const add = h('button', {
      type: 'button',
      class: 'btn small',
      dataset: { action: 'add-note' },
      onclick: async () => {
        const content = input.value.trim();
        if (!content) return input.focus();
        add.disabled = true;
        try {
          const note = await post(acct(`/contacts/${id}/notes`), { content });
          this.notesGen++;
          this.notes = [note, ...this.notes];
          this.noteDraft = '';
          this.render();
        } catch (ex) {
          add.disabled = false;
          toast(errorText(ex), 'error');
        }
      },
    }, t('contact.addNote'));
    const mayChange = (n) => isAdmin() || (n.user && app.me && n.user.id === app.me.id);
    const list = this.notes.map((n) =>
      h(
        'li',
        { class: 'note', dataset: { note: String(n.id) } },
        h('div', { class: 'small muted' }, (n.user && n.user.available_name) || t('contact.noteFormer'), ' · ', fullStamp(n.created_at)),
        h('p', { class: 'note-text' }, n.content),
        mayChange(n)
          ? h('button', {
              type: 'button',
              class: 'link small',
              dataset: { action: 'delete-note' },
              onclick: async () => {
                try {
                  await del(acct(`/contacts/${id}/notes/${n.id}`));
                  this.notesGen++;
                  this.notes = this.notes.filter((x) => x.id !== n.id);
                  this.render();
                } catch (ex) {
                  toast(errorText(ex), 'error');
                }
              },
            }, t('common.delete'))
          : null,
      ),
    );
    return section(t('contact.notes', { n: this.notes.length }), list.length ? h('ul', { class: 'notes' }, list) : h('p', { class: 'muted small' }, t('contact.noNotes')), input, add);
  }

  /** VIP contacts go first in the queues. */
  vipToggle(c) {
    const on = Boolean(c.vip);
    return h(
      'button',
      {
        type: 'button',
        class: ['vip-toggle', on && 'on'],
        'aria-pressed': String(on),
        title: on ? t('contact.vipOn') : t('contact.vipOff'),
        dataset: { action: 'vip' },
        onclick: async (e) => {
          const btn = e.currentTarget;
          btn.disabled = true;
          try {
            const r = await patch(acct(`/contacts/${c.id}`), { vip: !on });
            const updated = (r && (r.payload || r)) || {};
            this.contact = { ...this.contact, ...updated, vip: typeof updated.vip === 'boolean' ? updated.vip : !on };
            toast(this.contact.vip ? t('contact.vipSet') : t('contact.vipUnset'));
          } catch (ex) {
            toast(errorText(ex), 'error');
          }
          this.render();
        },
      },
      icon('star', { size: 14, fill: on }),
      t('contact.vip'),
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
