// One conversation: header with actions, the history (earlier conversations of the contact
// collapsed above), the composer, and the contact panel.

import { h, replace, debounce } from '../dom.js';
import { t, stamp, fullStamp, dayLabel } from '../i18n.js';
import { get, post, request, acct, echoId } from '../api.js';
import { app, on, emit, inboxById, putConversation, saveSettings, contactOnline, agentPresence } from '../store.js';
import { avatar, channelIcon, contactName, icon, toast, errorText, modal, field, options, popover, linkify, ratingStars } from '../ui.js';
import { activityText } from '../activity.js';
import { ContactPanel } from './contact.js';
import { slaChip, queueChip } from '../routing.js';
import { mentionPicker, mentionNodes, conversationSeen } from '../mentions.js';
import { subjectLine, letterParts, replyNotice } from './mail-letter.js';
import { runnableMacros } from './automation.js';
import { downloadTranscript, mailTranscript } from './exports.js';

const drafts = new Map();
const PRIORITIES = ['urgent', 'high', 'medium', 'low'];

export class ConversationView {
  constructor(id, { tab }) {
    this.id = id;
    this.tab = tab;
    this.conv = app.convs.get(id) || null;
    this.msgs = new Map();
    // Which socket event last brought each message (a running count): a copy read over
    // REST after the request went out must not overwrite it (see `fresherLive`).
    this.liveTick = 0;
    this.liveAt = new Map();
    this.pending = new Map();
    this.oldestId = null;
    this.moreBefore = false;
    this.mode = 'reply';
    this.files = [];
    this.unsubs = [];
    this.typingTimers = new Map();
    this.build();
  }

  build() {
    this.headEl = h('header', { class: 'conv-head' });
    this.historyEl = h('div', { class: 'history', role: 'log', 'aria-live': 'polite', 'aria-label': t('conv.history') });
    this.earlierEl = h('div', { class: 'earlier' });
    this.olderBtn = h('button', { type: 'button', class: 'link load-older', hidden: true, onclick: () => this.loadOlder() }, t('conv.loadOlder'));
    this.scroller = h('div', { class: 'history-scroll' }, this.earlierEl, this.olderBtn, this.historyEl);
    this.newPill = h('button', { type: 'button', class: 'new-pill', hidden: true, onclick: () => this.scrollToEnd(true) }, t('conv.newMessages'), icon('chevronDown', { size: 14 }));
    this.typingEl = h('div', { class: 'typing-line', 'aria-live': 'polite' });
    this.composerEl = h('div', { class: 'composer' });
    this.panel = new ContactPanel(this.id);
    this.mainEl = h(
      'div',
      { class: 'conv-main' },
      this.headEl,
      h('div', { class: 'history-wrap' }, this.scroller, this.newPill),
      this.typingEl,
      this.composerEl,
    );
    this.el = h('div', { class: ['conv-view', app.settings.panelHidden && 'panel-hidden'], dataset: { conversation: String(this.id) } }, this.mainEl, this.panel.el);
    this.scroller.addEventListener('scroll', () => {
      if (this.nearEnd()) this.newPill.hidden = true;
      if (this.scroller.scrollTop < 40 && this.moreBefore && !this.loadingOlder) this.loadOlder();
    });
    this.renderHead();
    this.buildComposer();
  }

  mounted() {
    this.unsubs.push(
      on('conversation', (c) => {
        if (c.id !== this.id) return;
        const statusChanged = this.conv && this.conv.status !== c.status;
        this.conv = c;
        this.renderHead();
        this.updateComposerState();
        this.panel.setConversation(c);
        if (statusChanged) this.renderReceipts();
      }),
      on('message', (m) => {
        if (m.conversation_id !== this.id) return;
        this.liveAt.set(m.id, ++this.liveTick);
        this.addMessage(m);
        if (m.message_type === 0 && document.visibilityState === 'visible') this.markSeen();
        if (m.message_type === 0) this.setTyping('contact', false);
      }),
      on('typing', (e) => this.onTyping(e)),
      on('read', (d) => this.onRead(d)),
      on('presence', (d) => {
        if (this.conv && d.contacts && String(this.conv.meta.sender.id) in d.contacts) this.renderHead();
      }),
      on('resync', () => this.load(true)),
      on('composer-focus', (mode) => this.focusComposer(mode)),
      on('action', (a) => this.action(a)),
    );
    this.onVisible = () => {
      if (document.visibilityState === 'visible') this.markSeen();
    };
    document.addEventListener('visibilitychange', this.onVisible);
    // The reply-target chip counts down; the next tick after its due time turns it red.
    this.chipTimer = setInterval(() => this.renderChips(), 15000);
    this.loaded = this.load(false);
  }

  /** The reply target (SLA) and queue chips of the header. */
  renderChips() {
    if (!this.chipsEl || !this.conv) return;
    replace(this.chipsEl, slaChip(this.conv), queueChip(this.conv));
  }

  destroy() {
    this.unsubs.forEach((u) => u());
    document.removeEventListener('visibilitychange', this.onVisible);
    clearInterval(this.chipTimer);
    this.stopTyping();
    drafts.set(this.id, { text: this.input ? this.input.value : '', mode: this.mode });
    for (const tm of this.typingTimers.values()) clearTimeout(tm);
    this.panel.destroy();
  }

  // ---- loading ----

  async load(refresh) {
    const since = this.liveTick;
    try {
      const [conv, page] = await Promise.all([
        get(acct(`/conversations/${this.id}`)),
        get(acct(`/conversations/${this.id}/messages`)),
      ]);
      this.conv = conv;
      putConversation(conv);
      // What the socket brought while the page was on its way stays (it may be newer than
      // the page, or not in it at all).
      for (const m of page.payload || []) if (!this.fresherLive(m, since)) this.msgs.set(m.id, m);
      const ids = (page.payload || []).map((m) => m.id);
      if (!refresh || this.oldestId === null) {
        this.oldestId = ids.length ? Math.min(...ids) : null;
        this.moreBefore = ids.length >= 20;
      }
      this.renderHead();
      this.updateComposerState();
      this.renderHistory();
      this.scrollToEnd(true);
      this.panel.setConversation(conv);
      if (!refresh) {
        this.markSeen();
        this.loadEarlier();
      }
    } catch (e) {
      if (e.status === 404) {
        replace(this.mainEl, h('div', { class: 'conv-empty' }, h('p', null, t('conv.notFound'))));
        return;
      }
      toast(errorText(e), 'error');
    }
  }

  async loadOlder() {
    if (!this.moreBefore || this.oldestId === null || this.loadingOlder) return;
    this.loadingOlder = true;
    const h0 = this.scroller.scrollHeight;
    const since = this.liveTick;
    try {
      const page = await get(acct(`/conversations/${this.id}/messages?before=${this.oldestId}`));
      const list = page.payload || [];
      for (const m of list) if (!this.fresherLive(m, since)) this.msgs.set(m.id, m);
      if (list.length) this.oldestId = Math.min(this.oldestId, ...list.map((m) => m.id));
      this.moreBefore = list.length >= 20;
      this.renderHistory();
      this.scroller.scrollTop = this.scroller.scrollHeight - h0;
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      this.loadingOlder = false;
    }
  }

  /** Earlier conversations of the same contact (any channel), collapsed. */
  async loadEarlier() {
    const contactId = this.conv && this.conv.contact_id;
    if (!contactId) return;
    try {
      const r = await get(acct(`/contacts/${contactId}/conversations`));
      const list = ((r && r.payload) || []).filter((c) => c.id !== this.id && c.created_at <= (this.conv.created_at || Infinity));
      list.sort((a, b) => a.created_at - b.created_at);
      replace(
        this.earlierEl,
        list.length ? h('div', { class: 'earlier-title' }, t('conv.earlier', { n: list.length })) : null,
        list.map((c) => this.earlierBlock(c)),
      );
    } catch {
      // the history of this conversation is still shown
    }
  }

  earlierBlock(c) {
    const body = h('div', { class: 'earlier-body', hidden: true });
    const inbox = inboxById(c.inbox_id);
    let loaded = false;
    const btn = h(
      'button',
      {
        type: 'button',
        class: 'earlier-head',
        'aria-expanded': 'false',
        onclick: async () => {
          const open = body.hidden;
          body.hidden = !open;
          btn.setAttribute('aria-expanded', String(open));
          btn.classList.toggle('open', open);
          if (open && !loaded) {
            loaded = true;
            replace(body, h('p', { class: 'muted small' }, t('common.loading')));
            try {
              const msgs = [];
              let before = null;
              // Up to 5 pages (100 messages) of an old conversation; a link opens the rest.
              for (let i = 0; i < 5; i++) {
                const page = await get(acct(`/conversations/${c.id}/messages${before ? `?before=${before}` : ''}`));
                const list = page.payload || [];
                msgs.unshift(...list);
                if (list.length < 20) break;
                before = Math.min(...list.map((m) => m.id));
              }
              msgs.sort((a, b) => a.created_at - b.created_at || a.id - b.id);
              replace(body, msgs.map((m) => this.messageEl(m, { readOnly: true })));
            } catch (e) {
              replace(body, h('p', { class: 'form-error' }, errorText(e)));
            }
          }
        },
      },
      icon('chevron', { size: 14, cls: 'icon chev' }),
      channelIcon(c.meta && c.meta.channel, 13),
      h('span', null, t('conv.earlierOne', { id: c.id, date: fullStamp(c.created_at) })),
      inbox ? h('span', { class: 'muted' }, inbox.name) : null,
      h('span', { class: ['status-pill', c.status] }, t(`status.${c.status}`)),
    );
    return h('div', { class: 'earlier-conv' }, btn, body, h('a', { class: 'earlier-link small', href: `#/conversations/all/${c.id}` }, t('conv.openEarlier')));
  }

  async markSeen() {
    if (document.visibilityState !== 'visible') return;
    this.seenDebounced = this.seenDebounced || debounce(async () => {
      try {
        await post(acct(`/conversations/${this.id}/update_last_seen`));
      } catch {
        // unread count stays; harmless
      }
      conversationSeen(this.id);
    }, 500);
    this.seenDebounced();
  }

  // ---- header and actions ----

  renderHead() {
    const c = this.conv;
    if (!c) {
      replace(this.headEl, h('div', { class: 'conv-title' }, t('common.loading')));
      return;
    }
    const sender = c.meta.sender || {};
    const inbox = inboxById(c.inbox_id);
    const assignee = c.meta.assignee;
    const team = c.meta.team;
    const mine = assignee && app.me && assignee.id === app.me.id;
    this.chipsEl = h('span', { class: 'head-chips' });
    const btn = (action, iconName, label, key, extra = {}) =>
      h(
        'button',
        { type: 'button', class: ['btn', extra.primary && 'primary'], dataset: { action }, title: key ? `${label} (${key})` : label, onclick: (e) => this.action(action, e.currentTarget) },
        icon(iconName, { size: 15 }),
        h('span', { class: 'btn-label' }, label),
      );
    replace(
      this.headEl,
      h(
        'div',
        { class: 'conv-title' },
        h('a', { class: 'back-link', href: `#/conversations/${this.tab}`, 'aria-label': t('common.back') }, '←'),
        avatar(contactName(sender), 34),
        h(
          'div',
          { class: 'conv-title-text' },
          h('h2', null, contactName(sender), contactOnline(sender.id) ? h('span', { class: 'online-pill' }, t('contact.online')) : null),
          subjectLine(c),
          h(
            'div',
            { class: 'conv-sub' },
            channelIcon(c.meta.channel, 12),
            h('span', null, inbox ? inbox.name : ''),
            telegramLink(sender),
            h('span', { class: 'muted' }, `#${c.id}`),
            h('span', { class: ['status-pill', c.status], dataset: { status: c.status } }, t(`status.${c.status}`)),
            c.status === 'snoozed' && c.snoozed_until ? h('span', { class: 'muted' }, t('conv.snoozedUntil', { when: fullStamp(c.snoozed_until) })) : null,
            h('span', { class: 'assignee-line', dataset: { assignee: assignee ? String(assignee.id) : '' } }, assignee ? t('conv.assignedTo', { name: assignee.available_name || assignee.name }) : t('list.unassigned')),
            team ? h('span', { class: 'team-line' }, t('conv.team', { name: team.name })) : null,
            this.chipsEl,
          ),
        ),
      ),
      h(
        'div',
        { class: 'conv-actions' },
        // Unassigned: take it (atomically; someone else may be quicker). Another agent's:
        // reassign to me.
        !assignee ? btn('take', 'userPlus', t('conv.take'), 'A', { primary: c.status !== 'resolved' }) : !mine ? btn('assign-me', 'user', t('conv.assignMe'), 'A') : null,
        btn('transfer', 'transfer', t('conv.transfer'), 'T'),
        btn('priority', 'flag', c.priority ? t(`priority.${c.priority}`) : t('conv.priority'), null),
        btn('labels', 'tag', t('conv.labels'), 'L'),
        btn('macros', 'keyboard', t('conv.macros'), 'M'),
        btn('transcript', 'download', t('transcript.title'), null),
        c.status !== 'resolved' ? btn('snooze', 'snooze', t('conv.snooze'), 'S') : null,
        // Muting is rare: an icon, named by its title and label.
        h(
          'button',
          { type: 'button', class: ['icon-btn', c.muted && 'active'], dataset: { action: c.muted ? 'unmute' : 'mute' }, title: t(c.muted ? 'conv.unmute' : 'conv.mute'), 'aria-label': t(c.muted ? 'conv.unmute' : 'conv.mute'), onclick: (e) => this.action(c.muted ? 'unmute' : 'mute', e.currentTarget) },
          icon(c.muted ? 'bell' : 'bellOff', { size: 18 }),
        ),
        c.status === 'resolved' ? btn('reopen', 'refresh', t('conv.reopen'), 'O', { primary: true }) : btn('resolve', 'checkCircle', t('conv.resolve'), 'E', { primary: true }),
        h(
          'button',
          {
            type: 'button',
            class: 'icon-btn',
            title: t('conv.togglePanel'),
            'aria-label': t('conv.togglePanel'),
            onclick: () => {
              // Below 1100 px the panel is hidden unless asked for; above, shown unless hidden.
              if (matchMedia('(max-width: 1100px)').matches) {
                this.el.classList.toggle('panel-shown');
                return;
              }
              this.el.classList.toggle('panel-hidden');
              saveSettings({ panelHidden: this.el.classList.contains('panel-hidden') });
            },
          },
          icon('panel', { size: 18 }),
        ),
      ),
      c.labels && c.labels.length ? h('div', { class: 'conv-labels' }, c.labels.map((l) => labelChip(l))) : null,
    );
    this.renderChips();
  }

  async action(name, anchor) {
    const c = this.conv;
    if (!c) return;
    anchor = anchor || this.headEl.querySelector(`[data-action="${name}"]`) || this.headEl;
    try {
      switch (name) {
        case 'take':
        case 'assign-me':
          if (!c.meta.assignee) {
            await this.take();
            break;
          }
          if (c.meta.assignee.id === app.me.id) break;
          await post(acct(`/conversations/${this.id}/assignments`), { assignee_id: app.me.id });
          await this.refreshConv();
          toast(t('conv.assignedToYou'));
          break;
        case 'transfer':
          await this.transferDialog();
          break;
        case 'priority':
          popover(
            anchor,
            [...PRIORITIES, 'none'].map((p) => ({
              label: t(`priority.${p}`),
              active: (c.priority || 'none') === p,
              onclick: () => this.run(post(acct(`/conversations/${this.id}/toggle_priority`), { priority: p === 'none' ? null : p })),
            })),
          );
          break;
        case 'labels':
          this.labelsPopover(anchor);
          break;
        case 'snooze':
          this.snoozeMenu(anchor);
          break;
        case 'macros':
          await this.macrosMenu(anchor);
          break;
        case 'transcript':
          popover(anchor, [
            { label: t('transcript.download'), onclick: () => downloadTranscript(this.id) },
            { label: t('transcript.email'), onclick: () => mailTranscript(this.id) },
          ]);
          break;
        case 'resolve':
          await post(acct(`/conversations/${this.id}/toggle_status`), { status: 'resolved' });
          await this.refreshConv();
          toast(t('conv.resolved'));
          break;
        case 'mute':
          await post(acct(`/conversations/${this.id}/mute`));
          await this.refreshConv();
          toast(t('conv.mutedToast'));
          break;
        case 'unmute':
          await post(acct(`/conversations/${this.id}/unmute`));
          await this.refreshConv();
          toast(t('conv.unmutedToast'));
          break;
        case 'reopen':
          await post(acct(`/conversations/${this.id}/toggle_status`), { status: 'open' });
          await this.refreshConv();
          break;
        default:
          break;
      }
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  /** The macros the agent may run, as a menu; choosing one runs it on this conversation. */
  async macrosMenu(anchor) {
    const macros = await runnableMacros();
    if (!macros.length) {
      toast(t('conv.noMacros'));
      return;
    }
    popover(
      anchor,
      macros.map((m) => ({
        label: m.name,
        onclick: async () => {
          try {
            await post(acct(`/macros/${m.id}/execute`), { conversation_ids: [this.id] });
            await this.refreshConv();
            toast(t('conv.macroDone', { name: m.name }));
          } catch (e) {
            toast(errorText(e), 'error');
          }
        },
      })),
    );
  }

  /** Claims an unassigned conversation; a colleague who was quicker keeps it. */
  async take() {
    try {
      const conv = await post(acct(`/conversations/${this.id}/claim`));
      if (conv && typeof conv.id === 'number') {
        this.conv = conv;
        putConversation(conv);
        this.renderHead();
      }
      await this.refreshConv();
      toast(t('conv.assignedToYou'));
    } catch (e) {
      if (e.status !== 409) throw e;
      await this.refreshConv().catch(() => {});
      const who = this.conv && this.conv.meta.assignee;
      toast(who ? t('conv.alreadyTakenBy', { name: who.available_name || who.name }) : t('conv.alreadyTaken'), 'error');
    }
  }

  async run(promise) {
    try {
      await promise;
      await this.refreshConv();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  async refreshConv() {
    const conv = await get(acct(`/conversations/${this.id}`));
    this.conv = conv;
    putConversation(conv);
    this.renderHead();
    // Live, the activity lines of the action arrive over the socket; otherwise fetch them.
    if (!(app.rt && app.rt.isLive())) await this.catchUp();
  }

  /** Messages newer than the newest shown, over REST. */
  async catchUp() {
    const ids = [...this.msgs.keys()];
    if (!ids.length) return;
    const since = this.liveTick;
    try {
      const page = await get(acct(`/conversations/${this.id}/messages?after=${Math.max(...ids)}`));
      for (const m of page.payload || []) this.restMessage(m, since);
    } catch {
      // shown on the next load
    }
  }

  labelsPopover(anchor) {
    const current = new Set(this.conv.labels || []);
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
            onchange: (e) => {
              if (e.target.checked) current.add(l.title);
              else current.delete(l.title);
              this.run(post(acct(`/conversations/${this.id}/labels`), { labels: [...current] }));
            },
          }),
          h('span', { class: 'dot', style: { background: l.color || '#888' } }),
          l.title,
        ),
      );
    }
    popover(anchor, box);
  }

  snoozeMenu(anchor) {
    const now = new Date();
    const at = (d) => Math.floor(d.getTime() / 1000);
    const hourLater = new Date(now.getTime() + 3600000);
    const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, 9, 0, 0);
    const monday = new Date(now.getFullYear(), now.getMonth(), now.getDate() + (((8 - now.getDay()) % 7) || 7), 9, 0, 0);
    const snooze = (until) => this.run(post(acct(`/conversations/${this.id}/toggle_status`), { status: 'snoozed', snoozed_until: until }));
    popover(anchor, [
      { label: t('snooze.hour'), onclick: () => snooze(at(hourLater)) },
      { label: t('snooze.tomorrow'), onclick: () => snooze(at(tomorrow)) },
      { label: t('snooze.nextWeek'), onclick: () => snooze(at(monday)) },
      {
        label: t('snooze.custom'),
        onclick: async () => {
          const v = await modal(t('snooze.custom'), (close) => {
            const input = h('input', { type: 'datetime-local', required: true, min: toLocalInput(new Date(Date.now() + 60000)) });
            return h(
              'form',
              {
                class: 'modal-body stack',
                onsubmit: (e) => {
                  e.preventDefault();
                  close(input.value);
                },
              },
              field(t('snooze.until'), input),
              h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('conv.snooze'))),
            );
          });
          if (v) snooze(at(new Date(v)));
        },
      },
    ]);
  }

  // One request: the server stores the new assignee or team, the note and the activity
  // line together, or nothing (then the dialog stays open with the server's reason).
  async transferDialog() {
    const since = this.liveTick;
    const c = this.conv;
    const teamNow = c.meta.team ? c.meta.team.id : null;
    const result = await modal(t('transfer.title'), (close) => {
      const agent = h(
        'select',
        { name: 'agent', 'aria-label': t('transfer.agent') },
        options([['', t('transfer.anyAgent')], ...app.agents.map((a) => [a.id, `${a.available_name || a.name} · ${t(`presence.${agentPresence(a)}`)}`])], ''),
      );
      const team = h('select', { name: 'team', 'aria-label': t('transfer.team') }, options([['', t('transfer.noTeam')], ...app.teams.map((x) => [x.id, x.name])], teamNow ?? ''));
      const note = h('textarea', { name: 'note', rows: 3, placeholder: t('transfer.notePlaceholder'), spellcheck: true, lang: convLang(c, []) });
      const err = h('div', { class: 'form-error', hidden: true, role: 'alert' });
      const submit = h('button', { type: 'submit', class: 'btn primary' }, t('transfer.submit'));
      return h(
        'form',
        {
          class: 'modal-body stack',
          onsubmit: async (e) => {
            e.preventDefault();
            // No agent picked: whoever the routing rules pick (or the queue); the team is
            // sent only when it changes.
            const body = { assignee_id: agent.value ? Number(agent.value) : null };
            const teamId = team.value ? Number(team.value) : null;
            if (teamId !== teamNow) body.team_id = teamId;
            if (note.value.trim()) body.note = note.value.trim();
            submit.disabled = true;
            try {
              close(await post(acct(`/conversations/${this.id}/transfer`), body));
            } catch (x) {
              err.hidden = false;
              err.textContent = errorText(x);
              submit.disabled = false;
            }
          },
        },
        field(t('transfer.agent'), agent, t('transfer.agentHint')),
        app.teams.length ? field(t('transfer.team'), team) : null,
        field(t('transfer.note'), note, t('transfer.noteHint')),
        err,
        h('div', { class: 'actions' }, submit),
      );
    });
    if (!result) return;
    for (const m of result.messages || []) this.restMessage(m, since);
    if (result.conversation) {
      this.conv = result.conversation;
      putConversation(result.conversation);
      this.renderHead();
    }
    toast(t('transfer.done'));
  }

  // ---- history ----

  sorted() {
    return [...this.msgs.values()].sort((a, b) => a.created_at - b.created_at || a.id - b.id);
  }

  renderHistory() {
    const keepBottom = this.nearEnd();
    const els = [];
    let day = null;
    for (const m of this.sorted()) {
      const d = new Date(m.created_at * 1000).toDateString();
      if (d !== day) {
        day = d;
        els.push(h('div', { class: 'day-sep' }, h('span', null, dayLabel(m.created_at))));
      }
      els.push(this.messageEl(m));
    }
    for (const p of this.pending.values()) els.push(p.el);
    replace(this.historyEl, els);
    this.olderBtn.hidden = !this.moreBefore;
    if (keepBottom) this.scrollToEnd(true);
  }

  addMessage(m) {
    const known = this.msgs.has(m.id);
    this.msgs.set(m.id, m);
    // Our own send coming back (over the socket or the REST answer): the pending bubble goes.
    this.dropPending(m.echo_id);
    if (known) {
      // An update (or the second copy of a message: REST answer and socket event).
      const old = this.historyEl.querySelector(`[data-id="${m.id}"]`);
      if (old) old.replaceWith(this.messageEl(m));
      else this.renderHistory();
      return;
    }
    const atEnd = this.nearEnd();
    const list = this.sorted();
    if (list.at(-1) && list.at(-1).id === m.id) {
      // The newest: appended (before any bubble still being sent), with a day heading if
      // the day changed.
      const prev = list.at(-2);
      const before = this.historyEl.querySelector('.msg.pending');
      if (!prev || new Date(prev.created_at * 1000).toDateString() !== new Date(m.created_at * 1000).toDateString()) {
        this.historyEl.insertBefore(h('div', { class: 'day-sep' }, h('span', null, dayLabel(m.created_at))), before);
      }
      this.historyEl.insertBefore(this.messageEl(m), before);
    } else {
      this.renderHistory();
    }
    if (atEnd || (m.message_type !== 0 && m.sender && app.me && m.sender.id === app.me.id)) this.scrollToEnd(true);
    else if (m.message_type === 0) this.newPill.hidden = false;
  }

  /**
   * Whether the socket brought message `m` after a REST request for it went out (when the
   * running count stood at `since`). Every change of a message is announced on the socket,
   * so that copy is as new as the request's answer or newer: an answer that comes second
   * (a retry's `progress` after the provider's `sent`) must not put the message back.
   */
  fresherLive(m, since) {
    return (this.liveAt.get(m.id) || 0) > since;
  }

  /** Shows a copy of a message read over REST since `since`, unless the socket's is newer. */
  restMessage(m, since) {
    if (this.fresherLive(m, since)) this.dropPending(m.echo_id);
    else this.addMessage(m);
  }

  /** Takes away the "sending" bubble of our own send `echo`, if it is still there. */
  dropPending(echo) {
    if (echo && this.pending.has(echo)) {
      this.pending.get(echo).el.remove();
      this.pending.delete(echo);
    }
  }

  messageEl(m, { readOnly = false } = {}) {
    if (m.message_type === 2) {
      const kind = m.content_attributes && m.content_attributes.activity && m.content_attributes.activity.kind;
      return h(
        'div',
        { class: 'msg-activity', dataset: { id: String(m.id), kind: typeof kind === 'string' ? kind : '' } },
        h('span', { title: m.content || '' }, activityText(m)),
        h('time', { title: fullStamp(m.created_at) }, stamp(m.created_at)),
      );
    }
    const incoming = m.message_type === 0;
    const sender = m.sender || {};
    const who = incoming
      ? sender.name || contactName(this.conv && this.conv.meta.sender)
      : sender.available_name || sender.name || (m.message_type === 3 ? t('conv.bot') : t('conv.system'));
    const cls = ['msg', incoming ? 'in' : 'out', m.private && 'note', m.status === 'failed' && 'failed'];
    const body = h('div', { class: 'bubble' });
    if (m.private) body.append(h('div', { class: 'note-tag' }, icon('lock', { size: 11 }), t('conv.privateNote')));
    if (m.content) body.append(h('div', { class: 'text' }, m.private ? mentionNodes(m.content, linkify) : linkify(m.content)));
    if (m.content_type === 'input_csat') {
      body.append(csatCard(m));
    } else if (m.content_type && m.content_type !== 'text' && m.content_type !== 'incoming_email') {
      body.append(h('div', { class: 'muted small' }, t('conv.richContent', { type: m.content_type })));
    }
    body.append(...letterParts(m));
    for (const a of m.attachments || []) body.append(attachmentEl(a));
    const meta = h(
      'div',
      { class: 'msg-meta' },
      h('span', { class: 'who' }, who),
      h('time', { title: fullStamp(m.created_at) }, stamp(m.created_at)),
      !incoming && !m.private && !readOnly ? this.receipt(m) : null,
    );
    // A channel's provider refused the message: why, on its own line under the time (a long
    // provider reason would squeeze the sender's name), and a button to send it again
    // through the outbox.
    let failure = null;
    if (m.status === 'failed' && (m.external_error || (!incoming && !m.private && !readOnly))) {
      failure = h('div', { class: 'msg-failure' });
      if (m.external_error) failure.append(h('span', { class: 'error-text' }, m.external_error));
      if (!incoming && !m.private && !readOnly) {
        failure.append(
          h(
            'button',
            {
              type: 'button',
              class: 'btn small',
              dataset: { action: 'retry' },
              onclick: async (e) => {
                e.currentTarget.disabled = true;
                const since = this.liveTick;
                try {
                  // The answer is the message as the retry left it (`progress`); when the
                  // provider was faster, the socket has already brought `sent` or `failed`.
                  this.restMessage(await post(acct(`/conversations/${this.id}/messages/${m.id}/retry`), {}), since);
                } catch (ex) {
                  toast(errorText(ex), 'error');
                }
              },
            },
            icon('refresh', { size: 12 }),
            t('msgStatus.retry'),
          ),
        );
      }
    }
    const el = h('div', { class: cls, dataset: { id: String(m.id), type: String(m.message_type) } }, body, meta, failure);
    if (m.id === this.focusId) el.classList.add('msg-hit');
    return el;
  }

  /**
   * Scrolls to a message (a search hit) and highlights it, loading older pages until it
   * is there (at most 50 pages: an archive hit deeper than that is left at the top).
   */
  async focusMessage(id) {
    this.focusId = id;
    await this.loaded;
    for (let i = 0; i < 50 && !this.msgs.has(id) && this.moreBefore; i++) {
      const before = this.oldestId;
      await this.loadOlder();
      if (this.oldestId === before) break;
    }
    const el = this.historyEl && this.historyEl.querySelector(`[data-id="${id}"]`);
    if (!el) return;
    for (const old of this.historyEl.querySelectorAll('.msg-hit')) if (old !== el) old.classList.remove('msg-hit');
    el.classList.add('msg-hit');
    el.scrollIntoView({ block: 'center' });
    // Late renders (earlier conversations above, receipts) may still move the history:
    // bring the hit back into view once more if it slipped out.
    for (const ms of [150, 600]) {
      setTimeout(() => {
        const box = this.scroller.getBoundingClientRect();
        const r = el.getBoundingClientRect();
        if (el.isConnected && (r.bottom < box.top || r.top > box.bottom)) el.scrollIntoView({ block: 'center' });
      }, ms);
    }
  }

  receipt(m) {
    const seenAt = this.conv ? this.conv.contact_last_seen_at || 0 : 0;
    let state = m.status || 'sent';
    if (state !== 'failed' && seenAt && m.created_at <= seenAt) state = 'read';
    // `progress`: an external channel's provider has not accepted it yet (a clock).
    const name = state === 'failed' ? 'alert' : state === 'progress' ? 'clock' : state === 'sent' ? 'check' : 'checks';
    return h('span', { class: ['receipt', state], title: t(`msgStatus.${state}`), dataset: { receipt: state } }, icon(name, { size: 13 }));
  }

  renderReceipts() {
    for (const el of this.historyEl.querySelectorAll('.msg.out:not(.note)')) {
      const m = this.msgs.get(Number(el.dataset.id));
      const old = el.querySelector('.receipt');
      if (m && old) old.replaceWith(this.receipt(m));
    }
  }

  onRead(d) {
    const id = d && d.conversation ? d.conversation.display_id ?? d.conversation.id : null;
    if (id !== this.id || !this.conv) return;
    // Only the customer's reading turns our replies "read".
    if (!d.user || d.user.type !== 'contact') return;
    const at = d.last_seen_at || Math.floor(Date.now() / 1000);
    this.conv = { ...this.conv, contact_last_seen_at: at };
    this.renderReceipts();
  }

  nearEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
  }

  scrollToEnd(force) {
    if (force || this.nearEnd()) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
      this.newPill.hidden = true;
    }
  }

  // ---- typing indicators ----

  onTyping(e) {
    if (e.id !== this.id) return;
    const u = e.user || {};
    if (app.me && u.type === 'user' && u.id === app.me.id) return;
    const key = `${u.type || 'contact'}:${u.id ?? ''}`;
    this.setTyping(key, e.on, u);
  }

  setTyping(key, isOn, user) {
    clearTimeout(this.typingTimers.get(key));
    this.typers = this.typers || new Map();
    if (isOn) {
      this.typers.set(key, user);
      // A lost "off" must not leave the line forever.
      this.typingTimers.set(key, setTimeout(() => this.setTyping(key, false), 8000));
    } else {
      for (const k of [...this.typers.keys()]) if (k === key || (key === 'contact' && k.startsWith('contact'))) this.typers.delete(k);
    }
    const names = [...this.typers.values()].map((u) => (u && (u.available_name || u.name)) || contactName(this.conv && this.conv.meta.sender));
    this.typingEl.textContent = names.length ? t('conv.typing', { name: names.join(', ') }) : '';
  }

  sendTyping(status) {
    if (status === this.typingSent) return;
    this.typingSent = status;
    const frame = { type: 'typing', conversation_id: this.id, status };
    if (app.rt && app.rt.send(frame)) return;
    post(acct(`/conversations/${this.id}/toggle_typing_status`), { typing_status: status }).catch(() => {});
  }

  stopTyping() {
    clearTimeout(this.typingIdle);
    if (this.typingSent === 'on') this.sendTyping('off');
  }

  // ---- composer ----

  buildComposer() {
    const draft = drafts.get(this.id) || { text: '', mode: 'reply' };
    this.mode = draft.mode;
    this.modeTabs = h('div', { class: 'mode-tabs', role: 'tablist' });
    this.input = h('textarea', {
      class: 'composer-input',
      rows: 2,
      spellcheck: true,
      'aria-label': t('composer.label'),
      value: draft.text,
      oninput: () => this.onInput(),
      onkeydown: (e) => this.onKey(e),
      onblur: () => setTimeout(() => this.stopTyping(), 200),
      onpaste: (e) => {
        const files = [...(e.clipboardData ? e.clipboardData.files : [])];
        if (files.length) {
          e.preventDefault();
          this.addFiles(files);
        }
      },
    });
    this.fileInput = h('input', { type: 'file', multiple: true, hidden: true, onchange: (e) => this.addFiles([...e.target.files]) });
    this.filesEl = h('div', { class: 'composer-files' });
    this.warnEl = h('div', { class: 'composer-warn', hidden: true, role: 'status' });
    this.cannedEl = h('ul', { class: 'canned-menu', role: 'listbox', hidden: true, 'aria-label': t('composer.canned') });
    this.mentions = mentionPicker({ input: this.input, inboxId: () => this.conv && this.conv.inbox_id, active: () => this.mode === 'note' && !!this.conv });
    this.sendBtn = h('button', { type: 'submit', class: 'btn primary send', title: t('composer.sendHint') }, icon('send', { size: 15 }), h('span', { class: 'btn-label' }, t('composer.send')));
    this.noticeEl = h('div', { class: 'composer-notice', hidden: true });
    // Which channel a reply leaves by, where that is not the chat itself (e-mail).
    this.channelEl = h('div', { class: 'composer-channel small muted', hidden: true, dataset: { replyChannel: '' } });
    const form = h(
      'form',
      {
        class: 'composer-form',
        onsubmit: (e) => {
          e.preventDefault();
          this.send();
        },
        ondragover: (e) => {
          if (e.dataTransfer && [...e.dataTransfer.types].includes('Files')) e.preventDefault();
        },
        ondrop: (e) => {
          if (e.dataTransfer && e.dataTransfer.files.length) {
            e.preventDefault();
            this.addFiles([...e.dataTransfer.files]);
          }
        },
      },
      this.modeTabs,
      this.channelEl,
      h('div', { class: 'composer-box' }, this.cannedEl, this.mentions.el, this.input, this.filesEl),
      this.warnEl,
      h(
        'div',
        { class: 'composer-bar' },
        h('button', { type: 'button', class: 'icon-btn', title: t('composer.attach'), 'aria-label': t('composer.attach'), onclick: () => this.fileInput.click() }, icon('clip', { size: 17 })),
        h('span', { class: 'hint small muted' }, t('composer.hint')),
        this.sendBtn,
      ),
      this.fileInput,
    );
    replace(this.composerEl, this.noticeEl, form);
    this.renderModeTabs();
    this.updateComposerState();
    requestAnimationFrame(() => this.autosize());
  }

  renderModeTabs() {
    const tab = (mode, label) =>
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          class: ['mode-tab', this.mode === mode && 'active', mode],
          'aria-selected': String(this.mode === mode),
          dataset: { mode },
          onclick: () => this.setMode(mode),
        },
        label,
      );
    replace(this.modeTabs, tab('reply', t('composer.reply')), tab('note', t('composer.note')));
    this.composerEl.classList.toggle('note-mode', this.mode === 'note');
    this.input.placeholder = this.mode === 'note' ? t('composer.notePlaceholder') : t('composer.replyPlaceholder');
    this.renderChannelNote();
  }

  /** In reply mode, where the reply goes when that is not the chat (e-mail: to the address). */
  renderChannelNote() {
    const via = this.mode === 'reply' ? replyNotice(this.conv) : null;
    this.channelEl.hidden = !via;
    this.channelEl.textContent = via || '';
  }

  setMode(mode) {
    if (mode === 'reply' && this.conv && this.conv.can_reply === false) return;
    this.mode = mode;
    if (mode === 'note') this.stopTyping();
    this.renderModeTabs();
    this.input.focus();
  }

  focusComposer(mode) {
    if (mode) this.setMode(mode);
    this.input.focus();
  }

  updateComposerState() {
    const c = this.conv;
    if (!c || !this.input) return;
    this.input.lang = convLang(c, this.sorted());
    const cannotReply = c.can_reply === false;
    if (cannotReply && this.mode === 'reply') {
      this.mode = 'note';
      this.renderModeTabs();
    }
    this.noticeEl.hidden = !cannotReply;
    this.noticeEl.textContent = cannotReply ? t('composer.cannotReply') : '';
    this.renderChannelNote();
  }

  autosize() {
    const el = this.input;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight + 2, Math.round(window.innerHeight * 0.4))}px`;
  }

  onInput() {
    this.autosize();
    this.updateCanned();
    this.mentions.update();
    this.warnEl.hidden = true;
    if (this.mode === 'reply' && this.input.value.trim()) {
      this.sendTyping('on');
      clearTimeout(this.typingIdle);
      this.typingIdle = setTimeout(() => this.sendTyping('off'), 4000);
    }
  }

  onKey(e) {
    if (this.mentions.key(e)) return;
    if (!this.cannedEl.hidden) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        this.moveCanned(e.key === 'ArrowDown' ? 1 : -1);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        this.pickCanned(this.cannedIndex);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        this.hideCanned();
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      this.send();
      return;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      this.input.blur();
    }
  }

  // "/" shortcut: the word before the caret starting with "/" filters canned responses.
  cannedToken() {
    const v = this.input.value;
    const caret = this.input.selectionStart;
    const before = v.slice(0, caret);
    const m = /(^|\s)\/([\p{L}\p{N}_-]*)$/u.exec(before);
    if (!m) return null;
    return { query: m[2].toLowerCase(), start: caret - m[2].length - 1, end: caret };
  }

  updateCanned() {
    const tok = this.cannedToken();
    if (!tok) return this.hideCanned();
    const q = tok.query;
    const list = app.canned
      .filter((c) => !q || c.short_code.toLowerCase().includes(q) || c.content.toLowerCase().includes(q))
      .sort((a, b) => Number(!a.short_code.toLowerCase().startsWith(q)) - Number(!b.short_code.toLowerCase().startsWith(q)))
      .slice(0, 8);
    this.cannedList = list;
    this.cannedIndex = 0;
    if (!list.length) {
      replace(this.cannedEl, h('li', { class: 'canned-empty muted' }, app.canned.length ? t('composer.noCanned') : t('composer.noCannedYet')));
      this.cannedEl.hidden = false;
      this.cannedList = [];
      return;
    }
    this.renderCanned();
    this.cannedEl.hidden = false;
  }

  renderCanned() {
    replace(
      this.cannedEl,
      this.cannedList.map((c, i) =>
        h(
          'li',
          {
            role: 'option',
            class: ['canned-item', i === this.cannedIndex && 'active'],
            'aria-selected': String(i === this.cannedIndex),
            onmousedown: (e) => {
              e.preventDefault();
              this.pickCanned(i);
            },
          },
          h('span', { class: 'code' }, `/${c.short_code}`),
          h('span', { class: 'content' }, c.content),
        ),
      ),
    );
  }

  moveCanned(d) {
    if (!this.cannedList.length) return;
    this.cannedIndex = (this.cannedIndex + d + this.cannedList.length) % this.cannedList.length;
    this.renderCanned();
  }

  hideCanned() {
    this.cannedEl.hidden = true;
    this.cannedList = [];
  }

  // The server renders the reply with its values of the variables (contact, agent, inbox,
  // account…); what has no value stays visible and is named in the warning.
  async pickCanned(i) {
    const c = this.cannedList[i];
    const tok = this.cannedToken();
    this.hideCanned();
    if (!c || !tok) return;
    const typed = this.input.value.slice(tok.start, tok.end);
    let r;
    try {
      r = await post(acct(`/conversations/${this.id}/canned_responses/render`), { canned_response_id: c.id });
    } catch (e) {
      toast(errorText(e), 'error');
      return;
    }
    if (!this.input.isConnected) return;
    // The operator may have typed on meanwhile: the "/code" is replaced only if it is still
    // where it was; otherwise the reply goes in at the caret.
    const v = this.input.value;
    const still = v.slice(tok.start, tok.end) === typed;
    const start = still ? tok.start : this.input.selectionStart;
    const end = still ? tok.end : this.input.selectionEnd;
    this.input.value = v.slice(0, start) + r.content + v.slice(end);
    const caret = start + r.content.length;
    this.input.setSelectionRange(caret, caret);
    this.autosize();
    if (r.missing && r.missing.length) {
      this.warnEl.hidden = false;
      this.warnEl.textContent = t('composer.missingVars', { vars: r.missing.join(', ') });
    }
  }

  addFiles(files) {
    for (const f of files) if (this.files.length < 15) this.files.push(f);
    this.renderFiles();
  }

  renderFiles() {
    replace(
      this.filesEl,
      this.files.map((f, i) =>
        h(
          'span',
          { class: 'file-chip' },
          icon('clip', { size: 12 }),
          h('span', null, f.name),
          h('small', { class: 'muted' }, humanSize(f.size)),
          h(
            'button',
            {
              type: 'button',
              class: 'icon-btn',
              'aria-label': t('common.remove'),
              onclick: () => {
                this.files.splice(i, 1);
                this.renderFiles();
              },
            },
            icon('x', { size: 12 }),
          ),
        ),
      ),
    );
  }

  async send() {
    const typed = this.input.value;
    if (!typed.trim() && !this.files.length) return;
    const isNote = this.mode === 'note';
    this.mentions.hide();
    // A note names the colleagues picked from the "@" list in Chatwoot's markup.
    const content = isNote ? this.mentions.finish(typed) : typed;
    const echo = echoId();
    const files = this.files;
    const pendingMsg = {
      id: -1,
      content,
      message_type: 1,
      private: isNote,
      created_at: Math.floor(Date.now() / 1000),
      sender: app.me,
      attachments: [],
      status: 'sending',
    };
    const el = this.pendingEl(pendingMsg, files);
    this.pending.set(echo, { el, content, isNote, files });
    this.historyEl.append(el);
    this.scrollToEnd(true);
    this.input.value = '';
    this.files = [];
    this.renderFiles();
    this.autosize();
    this.warnEl.hidden = true;
    drafts.delete(this.id);
    this.stopTyping();
    await this.deliver(echo);
  }

  pendingEl(m, files) {
    const el = this.messageEl({ ...m, id: 0 });
    el.classList.add('pending');
    const meta = el.querySelector('.msg-meta');
    const time = meta.querySelector('time');
    if (time) time.textContent = t('composer.sending');
    for (const f of files) el.querySelector('.bubble').append(h('div', { class: 'attachment file' }, icon('clip', { size: 13 }), h('span', null, f.name)));
    return el;
  }

  async deliver(echo) {
    const p = this.pending.get(echo);
    if (!p) return;
    p.el.classList.remove('failed');
    const retry = p.el.querySelector('.retry');
    if (retry) retry.remove();
    try {
      let body;
      if (p.files.length) {
        body = new FormData();
        body.append('content', p.content);
        body.append('private', String(p.isNote));
        body.append('echo_id', echo);
        for (const f of p.files) body.append('attachments[]', f, f.name);
      } else {
        body = { content: p.content, private: p.isNote, echo_id: echo, message_type: 'outgoing' };
      }
      const m = await request('POST', acct(`/conversations/${this.id}/messages`), body);
      if (m && typeof m.id === 'number') {
        if (!m.echo_id) m.echo_id = echo;
        // When the socket was faster, what it brought is as new as this answer or newer
        // (a channel that refused the message at once: `failed` with the reason), so the
        // answer only takes the bubble away.
        if (this.msgs.has(m.id)) this.dropPending(m.echo_id);
        else this.addMessage(m);
        emit('message-sent', m);
      }
    } catch (e) {
      p.el.classList.add('failed');
      const meta = p.el.querySelector('.msg-meta');
      const time = meta.querySelector('time');
      if (time) time.textContent = t('composer.failed');
      meta.append(h('button', { type: 'button', class: 'link retry', onclick: () => this.deliver(echo) }, t('common.retry')));
      toast(errorText(e), 'error');
    }
  }
}

function labelChip(title) {
  const l = app.labels.find((x) => x.title === title);
  return h('span', { class: 'label-chip' }, h('span', { class: 'dot', style: { background: (l && l.color) || '#888' } }), title);
}

/**
 * An attachment URL the console can use: the server's download path on this origin (the
 * server writes absolute URLs with its public_url, which may name another host behind a
 * proxy), or null for anything that is not an http(s) URL.
 */
function ownUrl(raw) {
  if (typeof raw !== 'string' || !raw) return null;
  let u;
  try {
    u = new URL(raw, location.href);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  if (u.origin === location.origin) return u.pathname + u.search;
  return /^\/api\/v1\/accounts\/\d+\/attachments\/\d+$/.test(u.pathname) ? u.pathname + u.search : null;
}

function attachmentEl(a) {
  const url = ownUrl(a.data_url);
  const name = a.file_name || t('conv.attachment');
  if (a.file_type === 'image' && url) {
    const thumb = ownUrl(a.thumb_url) || url;
    return h('a', { class: 'attachment image', href: url, target: '_blank', rel: 'noopener' }, h('img', { src: thumb, alt: name, loading: 'lazy' }));
  }
  return h(
    url ? 'a' : 'span',
    { class: 'attachment file', href: url, target: url ? '_blank' : null, rel: url ? 'noopener' : null, download: url ? name : null },
    icon('clip', { size: 13 }),
    h('span', null, name),
    a.file_size ? h('small', { class: 'muted' }, humanSize(a.file_size)) : null,
  );
}

function humanSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function toLocalInput(d) {
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * The language the operator writes in, for the browser's spell-checker: the contact's
 * browser language when the widget reported it, else Russian when the customer writes in
 * Cyrillic, else English.
 */
export function convLang(c, msgs) {
  const attrs = [c && c.additional_attributes, c && c.meta && c.meta.sender && c.meta.sender.additional_attributes];
  for (const a of attrs) {
    const l = a && (a.browser_language || a.language || a.locale);
    if (typeof l === 'string' && /^[a-z]{2}/i.test(l)) return l.slice(0, 2).toLowerCase();
  }
  const incoming = (msgs || []).filter((m) => m.message_type === 0 && m.content).slice(-5);
  const sample = incoming.map((m) => m.content).join(' ') || (c && c.last_non_activity_message && c.last_non_activity_message.content) || '';
  const cyr = (sample.match(/[\u0400-\u04FF]/g) || []).length;
  const lat = (sample.match(/[A-Za-z]/g) || []).length;
  if (cyr > lat) return 'ru';
  if (lat > 0) return 'en';
  return document.documentElement.lang || 'en';
}

/** The satisfaction survey as a card: the visitor's score and comment, or "not answered yet". */
function csatCard(m) {
  const a = m.content_attributes && m.content_attributes.submitted_values && m.content_attributes.submitted_values.csat_survey_response;
  const card = h('div', { class: 'csat-card', dataset: { rating: a ? String(a.rating) : '' } }, h('div', { class: 'csat-title' }, t('csat.title')));
  if (!a) {
    card.append(h('div', { class: 'muted small' }, t('csat.waiting')));
    return card;
  }
  card.append(h('div', { class: 'csat-score' }, ratingStars(a.rating), h('b', {}, t('csat.score', { n: a.rating }))));
  if (a.feedback_message) card.append(h('blockquote', { class: 'csat-comment' }, a.feedback_message));
  return card;
}

/** The customer's Telegram profile (t.me/username), when the channel told us the username. */
function telegramLink(sender) {
  const a = (sender && sender.additional_attributes) || {};
  const user = a.social_telegram_user_name || a.username;
  if (!user || !/^[A-Za-z0-9_]{3,64}$/.test(String(user))) return null;
  return h('a', { class: 'tg-link', href: `https://t.me/${user}`, target: '_blank', rel: 'noopener noreferrer', title: t('channel.telegramUser'), dataset: { telegram: user } }, `@${user}`);
}
