// The inbox: tabs Mine / Unassigned / All, filters, the conversation list (live), and the
// open conversation next to it.

import { h, replace } from '../dom.js';
import { t, age, fullStamp } from '../i18n.js';
import { get, acct, qs } from '../api.js';
import { app, on, inboxById, saveSettings, contactOnline } from '../store.js';
import { avatar, channelIcon, contactName, icon, errorText, options, ratingStars, toast } from '../ui.js';
import * as notify from '../notify.js';
import { ConversationView } from './conversation.js';
import { slaChip, slaState, queueChip, nextDue } from '../routing.js';
import { plainMentions } from '../mentions.js';

// `mentions`: conversations where the agent was @mentioned in a note (Chatwoot's
// `conversation_type=mention`).
const TABS = ['mine', 'unassigned', 'all', 'mentions'];
const STATUSES = ['open', 'pending', 'snoozed', 'resolved', 'all'];

/** Values of the list's rating filter (`rating=` on the API; '' shows every conversation). */
const RATINGS = ['', 'any', 'none', 'low', 'high', '1', '2', '3', '4', '5'];

/** A tab's count; one that reached the server's `count_limit` is "at least" that many. */
export function countText(n, limit) {
  return limit && n >= limit ? `${limit}+` : String(n);
}

export class ConversationsPage {
  constructor({ tab, id }) {
    const saved = app.settings.filters || {};
    this.f = {
      tab,
      status: STATUSES.includes(saved.status) ? saved.status : 'open',
      inbox: saved.inbox || '',
      team: saved.team || '',
      label: saved.label || '',
      rating: RATINGS.includes(saved.rating) ? saved.rating : '',
      q: '',
      // Date range of the archive search (YYYY-MM-DD), shown while searching.
      since: '',
      until: '',
    };
    // A message to scroll to once its conversation opens (from a search hit).
    this.pendingFocus = null;
    this.hitsSeq = 0;
    this.ids = [];
    this.rows = new Map();
    // Keyset paging: the server's meta.next_cursor, null once the list is complete.
    this.cursor = null;
    this.hasMore = false;
    this.loading = false;
    this.loadSeq = 0;
    this.counts = { mine_count: 0, unassigned_count: 0, all_count: 0 };
    this.openId = id;
    this.view = null;
    this.unsubs = [];
    this.build();
  }

  build() {
    this.tabsEl = h('div', { class: 'tabs', role: 'tablist', 'aria-label': t('list.tabs') });
    this.filtersEl = h('div', { class: 'filters' });
    this.listEl = h('ul', { class: 'conv-list', 'aria-label': t('list.conversations') });
    this.emptyEl = h('div', { class: 'list-empty', hidden: true });
    this.sentinel = h('div', { class: 'list-sentinel' });
    this.errorEl = h('div', { class: 'list-error', hidden: true, role: 'alert' });
    // Archive search hits (messages with their snippet, contacts) above the list.
    this.hitsEl = h('section', { class: 'search-hits', hidden: true, 'aria-label': t('search.results') });
    this.scroller = h('div', { class: 'list-scroll' }, this.hitsEl, this.listEl, this.emptyEl, this.errorEl, this.sentinel);
    this.listPane = h(
      'section',
      { class: 'list-pane', 'aria-label': t('list.conversations') },
      h('header', { class: 'list-head' }, h('h1', null, t('nav.conversations')), this.tabsEl),
      this.filtersEl,
      this.scroller,
    );
    this.convPane = h('section', { class: 'conv-pane' });
    this.el = h('div', { class: 'conversations-page' }, this.listPane, this.convPane);
    this.renderTabs();
    this.renderFilters();
  }

  mounted() {
    notify.setBaseTitle('Parley');
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && this.hasMore && !this.loading) this.load(this.cursor);
    }, { root: this.scroller, rootMargin: '200px' });
    this.observer.observe(this.sentinel);
    this.unsubs.push(
      on('conversation', (c) => this.upsert(c)),
      on('resync', () => this.reload()),
      on('nav', (dir) => this.step(dir)),
      on('tab', (tab) => this.goTab(tab)),
      on('mentioned', () => this.f.tab === 'mentions' && this.reload()),
      on('focus-search', () => this.searchInput && this.searchInput.focus()),
      on('presence', (d) => {
        // Re-render the rows of contacts whose presence changed.
        const changed = new Set(Object.keys(d.contacts || {}));
        if (!changed.size) return;
        for (const id of this.ids) {
          const c = app.convs.get(id);
          if (c && c.meta && c.meta.sender && changed.has(String(c.meta.sender.id))) this.renderRow(id);
        }
      }),
    );
    this.ageTimer = setInterval(() => this.refreshAges(), 30000);
    this.reload();
    this.openConversation(this.openId);
  }

  destroy() {
    this.unsubs.forEach((u) => u());
    if (this.observer) this.observer.disconnect();
    clearInterval(this.ageTimer);
    clearTimeout(this.dueTimer);
    clearTimeout(this.countTimer);
    if (this.view) this.view.destroy();
    app.openId = null;
  }

  reference() {
    this.renderFilters();
    for (const id of this.ids) this.renderRow(id);
  }

  route({ tab, id }) {
    if (tab !== this.f.tab) {
      this.f.tab = tab;
      this.renderTabs();
      this.reload();
    }
    if (id !== this.openId) this.openConversation(id);
  }

  href(id) {
    return `#/conversations/${this.f.tab}${id ? `/${id}` : ''}`;
  }

  goTab(tab) {
    if (TABS.includes(tab)) location.hash = `#/conversations/${tab}${this.openId ? `/${this.openId}` : ''}`;
  }

  // ---- tabs and filters ----

  renderTabs() {
    const count = { mine: this.counts.mine_count, unassigned: this.counts.unassigned_count, all: this.counts.all_count };
    replace(
      this.tabsEl,
      TABS.map((tab, i) =>
        h(
          'a',
          {
            href: `#/conversations/${tab}${this.openId ? `/${this.openId}` : ''}`,
            role: 'tab',
            class: ['tab', tab === this.f.tab && 'active'],
            'aria-selected': String(tab === this.f.tab),
            title: `${t(`list.tab.${tab}`)} (${i + 1})`,
            'aria-label': tab === 'mentions' ? t(`list.tab.${tab}`) : null,
            dataset: { tab },
          },
          // The mentions tab is an "@" (its name in the tooltip), so four tabs fit the pane.
          tab === 'mentions' ? h('span', { class: 'tab-at', 'aria-hidden': 'true' }, '@') : h('span', { class: 'tab-label' }, t(`list.tab.${tab}`)),
          // Counts under some filters stop on the server (`count_limit`: 50 under a
          // text search, 10,000 under several labels); the mentions tab has none (the
          // rail's bell counts unread mentions).
          tab === 'mentions' ? null : h('span', { class: 'count' }, countText(count[tab] ?? 0, this.counts.count_limit)),
        ),
      ),
    );
  }

  renderFilters() {
    const change = (key) => (e) => {
      this.f[key] = e.target.value;
      saveSettings({ filters: { status: this.f.status, inbox: this.f.inbox, team: this.f.team, label: this.f.label, rating: this.f.rating } });
      this.reload();
    };
    const status = h(
      'select',
      { 'aria-label': t('list.filter.status'), dataset: { filter: 'status' }, onchange: change('status'), value: this.f.status },
      options(STATUSES.map((s) => [s, t(`status.${s}`)]), this.f.status),
    );
    const inbox = h(
      'select',
      { 'aria-label': t('list.filter.inbox'), dataset: { filter: 'inbox' }, onchange: change('inbox'), value: this.f.inbox },
      options([['', t('list.filter.allInboxes')], ...app.inboxes.map((i) => [i.id, i.name])], this.f.inbox),
    );
    const team = h(
      'select',
      { 'aria-label': t('list.filter.team'), dataset: { filter: 'team' }, onchange: change('team'), value: this.f.team },
      options([['', t('list.filter.allTeams')], ...app.teams.map((x) => [x.id, x.name])], this.f.team),
    );
    const label = h(
      'select',
      { 'aria-label': t('list.filter.label'), dataset: { filter: 'label' }, onchange: change('label'), value: this.f.label },
      options([['', t('list.filter.allLabels')], ...app.labels.map((l) => [l.title, l.title])], this.f.label),
    );
    const rating = h(
      'select',
      { 'aria-label': t('list.filter.rating'), dataset: { filter: 'rating' }, onchange: change('rating'), value: this.f.rating },
      options(RATINGS.map((r) => [r, t(`list.rating.${r || 'all'}`)]), this.f.rating),
    );
    let timer = null;
    this.searchInput = h('input', {
      type: 'search',
      class: 'search',
      placeholder: t('list.search'),
      'aria-label': t('list.search'),
      value: this.f.q,
      oninput: (e) => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          this.f.q = e.target.value.trim();
          this.reload();
        }, 300);
      },
      onkeydown: (e) => {
        if (e.key === 'Escape') {
          e.target.value = '';
          this.f.q = '';
          this.reload();
          e.target.blur();
        }
      },
    });
    const date = (key) =>
      h('input', {
        type: 'date',
        class: 'search-date',
        'aria-label': t(`search.${key}`),
        title: t(`search.${key}`),
        dataset: { filter: key },
        value: this.f[key],
        onchange: (e) => {
          this.f[key] = e.target.value;
          this.loadHits();
        },
      });
    this.datesEl = h('div', { class: 'filter-row search-dates', hidden: !this.f.q }, h('span', { class: 'muted small' }, t('search.dates')), date('since'), date('until'));
    replace(
      this.filtersEl,
      h('div', { class: 'search-box' }, icon('search', { size: 15 }), this.searchInput),
      h('div', { class: 'filter-row' }, status, inbox, team.options.length > 1 ? team : null, label.options.length > 1 ? label : null, rating),
      this.datesEl,
    );
  }

  // ---- archive search hits ----

  /** Messages and contacts matching the search box (the archive index), above the list. */
  async loadHits() {
    const seq = ++this.hitsSeq;
    if (this.datesEl) this.datesEl.hidden = !this.f.q;
    if (!this.f.q) {
      this.hitsEl.hidden = true;
      this.hitsEl.replaceChildren();
      return;
    }
    const q = qs({
      q: this.f.q,
      inbox_id: this.f.inbox,
      status: this.f.status === 'all' ? undefined : this.f.status,
      since: this.f.since,
      until: this.f.until,
      limit: 10,
    });
    try {
      const [msgs, people] = await Promise.all([get(acct(`/search/messages${q}`)), get(acct(`/search/contacts${qs({ q: this.f.q, limit: 5 })}`))]);
      if (seq !== this.hitsSeq) return;
      this.renderHits((msgs.payload && msgs.payload.messages) || [], (people.payload && people.payload.contacts) || [], msgs.meta || {});
    } catch (e) {
      if (seq !== this.hitsSeq) return;
      this.hitsEl.hidden = false;
      replace(this.hitsEl, h('p', { class: 'list-error', role: 'alert' }, errorText(e)));
    }
  }

  renderHits(messages, contacts, meta) {
    const parts = [];
    if (meta.index_complete === false) parts.push(h('p', { class: 'search-note muted small', role: 'status' }, t('search.incomplete')));
    parts.push(h('h2', { class: 'hits-title' }, t('search.messages'), ' ', h('span', { class: 'count' }, String(messages.length))));
    if (!messages.length) parts.push(h('p', { class: 'muted small hits-empty' }, t('search.noMessages')));
    for (const m of messages) {
      const who = (m.sender && (m.sender.available_name || m.sender.name)) || '';
      parts.push(
        h(
          'button',
          {
            type: 'button',
            class: 'hit hit-message',
            dataset: { conversation: String(m.conversation_id), message: String(m.id) },
            onclick: () => this.openHit(m.conversation_id, m.id),
          },
          h('span', { class: 'hit-head small muted' }, `#${m.conversation_id}`, who ? ` · ${who}` : '', m.private ? ` · ${t('list.note')}` : '', ' · ', fullStamp(m.created_at)),
          h('span', { class: 'hit-snippet' }, ...snippetNodes(m.snippet || '')),
        ),
      );
    }
    if (contacts.length) {
      parts.push(h('h2', { class: 'hits-title' }, t('search.contacts'), ' ', h('span', { class: 'count' }, String(contacts.length))));
      for (const c of contacts) {
        parts.push(
          h(
            'button',
            { type: 'button', class: 'hit hit-contact', dataset: { contact: String(c.id) }, onclick: () => this.openContact(c.id) },
            h('span', { class: 'hit-name' }, c.name || c.email || c.phone_number || `#${c.id}`),
            h('span', { class: 'small muted' }, [c.email, c.phone_number].filter(Boolean).join(' · ')),
          ),
        );
      }
    }
    parts.push(h('h2', { class: 'hits-title' }, t('search.conversations')));
    this.hitsEl.hidden = false;
    replace(this.hitsEl, ...parts);
  }

  /** Opens a hit's conversation scrolled to (and highlighting) the message. */
  openHit(conversationId, messageId) {
    if (this.view && this.openId === conversationId) {
      this.view.focusMessage(messageId);
      return;
    }
    this.pendingFocus = { conversationId, messageId };
    location.hash = this.href(conversationId);
  }

  /** Opens the newest conversation of a contact hit. */
  async openContact(contactId) {
    try {
      const r = await get(acct(`/contacts/${contactId}/conversations`));
      const first = (r.payload || [])[0];
      if (first) location.hash = this.href(first.id);
      else toast(t('search.noConversation'));
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  query(cursor) {
    return qs({
      status: this.f.status,
      assignee_type: this.f.tab === 'mine' ? 'me' : this.f.tab === 'mentions' ? 'all' : this.f.tab,
      conversation_type: this.f.tab === 'mentions' ? 'mention' : undefined,
      inbox_id: this.f.inbox,
      team_id: this.f.team,
      'labels[]': this.f.label ? [this.f.label] : [],
      q: this.f.q,
      rating: this.f.rating,
      cursor,
    });
  }

  // ---- loading ----

  async reload() {
    this.cursor = null;
    this.hasMore = false;
    this.loadHits();
    await this.load(null, true);
  }

  // The first page (no cursor) brings the tab counts; later pages continue after the
  // previous page's last row, so rows moving to the top meanwhile are neither skipped
  // nor repeated.
  async load(cursor, replaceAll = false) {
    const seq = ++this.loadSeq;
    // Conversations that live events bring while the page is on its way: a first page
    // read before they existed must not wipe them out when it arrives.
    if (replaceAll) this.liveDuringLoad = new Set();
    this.loading = true;
    this.listPane.classList.add('loading');
    try {
      const r = await get(acct(`/conversations${this.query(cursor || undefined)}`));
      if (seq !== this.loadSeq) return;
      const data = (r && r.data) || {};
      const payload = data.payload || [];
      if (data.meta && 'all_count' in data.meta) this.counts = data.meta;
      this.renderTabs();
      if (replaceAll) {
        this.ids = [];
        this.rows.clear();
        this.listEl.replaceChildren();
      }
      for (const c of payload) {
        const prev = app.convs.get(c.id);
        if (c.id === app.openId) c.unread_count = 0;
        // Keep a copy that live events already made newer.
        if (!prev || prev.last_activity_at <= c.last_activity_at || prev.updated_at <= c.updated_at) app.convs.set(c.id, c);
        if (!this.ids.includes(c.id)) this.ids.push(c.id);
      }
      if (replaceAll && this.liveDuringLoad) {
        for (const id of this.liveDuringLoad) {
          const c = app.convs.get(id);
          if (c && !this.ids.includes(id) && this.matches(c)) this.ids.push(id);
        }
        this.liveDuringLoad = null;
      }
      this.cursor = (data.meta && data.meta.next_cursor) || null;
      this.hasMore = !!this.cursor;
      this.errorEl.hidden = true;
      this.sortAndRender();
    } catch (e) {
      if (seq !== this.loadSeq) return;
      this.errorEl.hidden = false;
      replace(this.errorEl, errorText(e), ' ', h('button', { type: 'button', class: 'link', onclick: () => this.reload() }, t('common.retry')));
    } finally {
      if (seq === this.loadSeq) {
        this.loading = false;
        this.listPane.classList.remove('loading');
      }
    }
  }

  scheduleCounts() {
    clearTimeout(this.countTimer);
    this.countTimer = setTimeout(async () => {
      try {
        const q = this.query(undefined);
        const r = await get(acct(`/conversations/meta${q}`));
        if (r && r.meta) {
          this.counts = r.meta;
          this.renderTabs();
        }
      } catch {
        // counts stay as they were
      }
    }, 400);
  }

  // ---- live updates ----

  matches(c) {
    const f = this.f;
    if (f.status !== 'all' && c.status !== f.status) return false;
    const a = c.meta && c.meta.assignee;
    if (f.tab === 'mine' && !(a && app.me && a.id === app.me.id)) return false;
    if (f.tab === 'unassigned' && a) return false;
    // Who was mentioned is known to the server only: keep what it listed.
    if (f.tab === 'mentions' && !this.ids.includes(c.id)) return false;
    if (f.inbox && String(c.inbox_id) !== String(f.inbox)) return false;
    if (f.team && String(c.meta && c.meta.team ? c.meta.team.id : '') !== String(f.team)) return false;
    if (f.label && !(c.labels || []).includes(f.label)) return false;
    if (f.rating && !ratingFits(f.rating, c.csat_survey_response && c.csat_survey_response.rating)) return false;
    // A text search cannot be judged here: keep what the server matched, add nothing new.
    if (f.q && !this.ids.includes(c.id)) return false;
    return true;
  }

  upsert(c) {
    if (this.loading && this.liveDuringLoad) this.liveDuringLoad.add(c.id);
    const had = this.ids.includes(c.id);
    const fits = this.matches(c);
    if (fits && !had) this.ids.push(c.id);
    if (!fits && had) {
      this.ids = this.ids.filter((x) => x !== c.id);
      const row = this.rows.get(c.id);
      if (row) row.remove();
      this.rows.delete(c.id);
    }
    if (fits) this.sortAndRender([c.id]);
    this.updateEmpty();
    this.scheduleCounts();
  }

  sortAndRender(changed = null) {
    const conv = (id) => app.convs.get(id) || {};
    // Newest activity first; times are whole seconds, so within one second the conversation
    // with the later message (ids grow) goes first.
    const lastMsg = (c) => (c.last_non_activity_message ? c.last_non_activity_message.id : 0);
    this.ids.sort((a, b) => {
      const ca = conv(a);
      const cb = conv(b);
      return (cb.last_activity_at || 0) - (ca.last_activity_at || 0) || lastMsg(cb) - lastMsg(ca) || b - a;
    });
    // Rebuild rows that changed (or all), then put the rows in order without recreating
    // the unchanged ones.
    for (const id of changed || this.ids) this.renderRow(id);
    let prev = null;
    for (const id of this.ids) {
      const row = this.rows.get(id);
      if (!row) continue;
      const want = prev ? prev.nextSibling : this.listEl.firstChild;
      if (want !== row) this.listEl.insertBefore(row, want);
      prev = row;
    }
    this.updateEmpty();
    this.scheduleDue();
  }

  updateEmpty() {
    const empty = this.ids.length === 0 && !this.loading;
    this.emptyEl.hidden = !empty;
    if (empty) replace(this.emptyEl, icon('inbox', { size: 28 }), h('p', null, t(`list.empty.${this.f.tab}`)));
  }

  renderRow(id) {
    const c = app.convs.get(id);
    if (!c) return;
    const sender = (c.meta && c.meta.sender) || {};
    const name = contactName(sender);
    const last = c.last_non_activity_message || (c.messages || [])[0];
    let preview = '';
    let previewCls = 'preview';
    if (last) {
      const text = last.content ? plainMentions(last.content).replace(/\s+/g, ' ').slice(0, 160) : (last.attachments || []).length ? t('conv.attachment') : '';
      if (last.private) {
        preview = `${t('list.note')}: ${text}`;
        previewCls = 'preview note';
      } else if (last.message_type === 1 || last.message_type === 3) preview = `${t('list.you')}: ${text}`;
      else preview = text;
    }
    const waiting = c.waiting_since && c.status === 'open' ? c.waiting_since : 0;
    const assignee = c.meta && c.meta.assignee;
    const inbox = inboxById(c.inbox_id);
    const unread = c.id === app.openId ? 0 : c.unread_count || 0;
    const sla = slaState(c);
    const row = h(
      'li',
      { class: ['conv-row', c.id === this.openId && 'active', unread > 0 && 'unread', sla && sla.overdue && 'overdue'], dataset: { id: String(c.id) } },
      h(
        'a',
        { href: this.href(c.id), 'aria-current': c.id === this.openId ? 'true' : null, dataset: { id: String(c.id) } },
        h('span', { class: 'avatar-wrap' }, avatar(name, 36), contactOnline(sender.id) ? h('span', { class: 'online-dot', title: t('contact.online') }) : null),
        h(
          'div',
          { class: 'row-main' },
          h(
            'div',
            { class: 'row-top' },
            h('span', { class: 'row-name' }, name),
            c.priority && c.priority !== 'none' ? h('span', { class: ['prio', c.priority], title: t(`priority.${c.priority}`) }, icon('flag', { size: 12 })) : null,
            channelIcon(c.meta && c.meta.channel, 13),
            h(
              'time',
              {
                class: ['row-age', waiting && 'waiting', waiting && Date.now() / 1000 - waiting > 300 && 'late'],
                title: waiting ? `${t('list.waitingSince')} ${fullStamp(waiting)}` : fullStamp(c.last_activity_at),
                dataset: { ts: String(waiting || c.last_activity_at || 0) },
              },
              age(waiting || c.last_activity_at),
            ),
          ),
          h(
            'div',
            { class: 'row-bottom' },
            h('span', { class: previewCls }, preview || '\u00a0'),
            unread > 0 ? h('span', { class: 'badge', title: t('list.unread', { n: unread }) }, String(unread > 99 ? '99+' : unread)) : null,
          ),
          this.flags(c),
          h(
            'div',
            { class: 'row-meta' },
            h('span', { class: ['assignee', !assignee && 'none'] }, assignee ? assignee.available_name || assignee.name : t('list.unassigned')),
            inbox ? h('span', { class: 'inbox-name' }, inbox.name) : null,
            c.status !== 'open' ? h('span', { class: ['status-pill', c.status] }, t(`status.${c.status}`)) : null,
          ),
        ),
      ),
    );
    const old = this.rows.get(id);
    if (old && old.parentNode) old.replaceWith(row);
    this.rows.set(id, row);
  }

  /** The reply-target and queue chips of a row, on a line of their own; null without any. */
  flags(c) {
    const r = c.csat_survey_response;
    const chips = [slaChip(c), queueChip(c), r ? h('span', { class: 'chip rating-chip', dataset: { rating: String(r.rating) } }, ratingStars(r.rating)) : null].filter(Boolean);
    return chips.length ? h('div', { class: 'row-flags' }, chips) : null;
  }

  refreshAges() {
    for (const el of this.listEl.querySelectorAll('time.row-age')) {
      const ts = Number(el.dataset.ts);
      el.textContent = age(ts);
      if (el.classList.contains('waiting')) el.classList.toggle('late', Date.now() / 1000 - ts > 300);
    }
    // Reply-target and queue chips count down (or up) too, replaced in place so a row
    // with the keyboard focus keeps it.
    for (const id of this.ids) {
      const c = app.convs.get(id);
      const row = this.rows.get(id);
      if (!c || !row || !(c.sla || c.queued_at)) continue;
      const old = row.querySelector('.row-flags');
      const flags = this.flags(c);
      if (old && flags) old.replaceWith(flags);
      else if (old) old.remove();
      else if (flags) row.querySelector('.row-meta').before(flags);
      const st = slaState(c);
      row.classList.toggle('overdue', Boolean(st && st.overdue));
    }
    this.scheduleDue();
  }

  /** Re-renders at the moment the next reply target passes, not up to 30 s later. */
  scheduleDue() {
    clearTimeout(this.dueTimer);
    const next = nextDue(this.ids.map((id) => app.convs.get(id)).filter(Boolean));
    if (!Number.isFinite(next)) return;
    const ms = Math.max(0, next * 1000 - Date.now()) + 250;
    if (ms > 30000) return; // the 30-second refresh gets there first
    this.dueTimer = setTimeout(() => this.refreshAges(), ms);
  }

  // ---- selection ----

  openConversation(id) {
    const prevId = this.openId;
    this.openId = id;
    app.openId = id;
    for (const pid of [prevId, id]) if (pid && this.rows.has(pid)) this.renderRow(pid);
    this.renderTabs();
    if (this.view) this.view.destroy();
    this.view = null;
    this.el.classList.toggle('has-open', Boolean(id));
    if (!id) {
      replace(this.convPane, h('div', { class: 'conv-empty' }, icon('chat', { size: 40 }), h('p', null, t('conv.pick')), h('p', { class: 'muted small' }, t('conv.pickHint'))));
      return;
    }
    notify.seen(id);
    const c = app.convs.get(id);
    if (c && c.unread_count) app.convs.set(id, { ...c, unread_count: 0 });
    this.view = new ConversationView(id, { tab: this.f.tab });
    replace(this.convPane, this.view.el);
    this.view.mounted();
    if (this.pendingFocus && this.pendingFocus.conversationId === id) this.view.focusMessage(this.pendingFocus.messageId);
    this.pendingFocus = null;
    const row = this.rows.get(id);
    if (row) row.scrollIntoView({ block: 'nearest' });
  }

  step(dir) {
    if (!this.ids.length) return;
    const i = this.openId ? this.ids.indexOf(this.openId) : -1;
    let j = dir === 'next' ? i + 1 : i - 1;
    if (i === -1) j = 0;
    j = Math.max(0, Math.min(this.ids.length - 1, j));
    if (this.ids[j] !== this.openId) location.hash = this.href(this.ids[j]);
    if (dir === 'next' && j >= this.ids.length - 3 && this.hasMore && !this.loading) this.load(this.cursor);
  }
}

/**
 * The server's snippet (HTML: text escaped, hits in <mark>) as DOM nodes, built without
 * parsing HTML: only <mark> becomes an element, every other character is text, so even a
 * wrong snippet could never inject markup.
 */
export function snippetNodes(snippet) {
  const unescape = (s) => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]);
  const out = [];
  const parts = String(snippet).split(/<mark>|<\/mark>/);
  parts.forEach((p, i) => {
    if (!p) return;
    out.push(i % 2 === 1 ? h('mark', null, unescape(p)) : document.createTextNode(unescape(p)));
  });
  return out;
}

/** Whether a score (undefined when unrated) passes the list's rating filter, as the server judges it. */
function ratingFits(filter, score) {
  if (filter === 'any') return !!score;
  if (filter === 'none') return !score;
  if (!score) return false;
  if (filter === 'low') return score <= 2;
  if (filter === 'high') return score >= 4;
  return String(score) === filter;
}
