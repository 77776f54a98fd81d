// @mentions (docs/console.md): the composer's "@" autocomplete of colleagues who can see
// the conversation, mentions in notes shown as highlighted names, and the agent's unread
// mentions (the rail's bell and its list).
//
// Notes carry Chatwoot's markup, `[@Maria](mention://user/7/Maria)`. The textarea shows
// plain `@Maria`; the markup is written only when the note is sent, for the colleagues
// picked from the list. Names are always put into the page as text, never as markup.

import { h, replace } from './dom.js';
import { t, age } from './i18n.js';
import { get, post, patch, acct, qs } from './api.js';
import { app, emit } from './store.js';
import { avatar, icon, popover, closePopover, toast, errorText } from './ui.js';

const MENTION = /\[@([^\]\n]{1,100})\]\(mention:\/\/user\/(\d+)\/[^)\s]*\)/g;

/** `text` with mention markup as nodes: highlighted names, the rest through `plain`. */
export function mentionNodes(text, plain = (s) => s) {
  const out = [];
  let last = 0;
  for (const m of String(text).matchAll(MENTION)) {
    out.push(plain(text.slice(last, m.index)));
    const mine = app.me && Number(m[2]) === app.me.id;
    out.push(h('span', { class: ['mention', mine && 'me'], dataset: { userId: m[2] } }, `@${m[1]}`));
    last = m.index + m[0].length;
  }
  out.push(plain(text.slice(last)));
  return out;
}

/** `text` with mention markup as plain `@Name` (list previews, notifications). */
export function plainMentions(text) {
  return String(text || '').replace(MENTION, (_, name) => `@${name}`);
}

/** The note's text with each picked colleague's `@Name` turned into Chatwoot's markup. */
export function withMarkup(text, picked) {
  // Longest names first, so "@Anna Maria" is not taken for "@Anna"; placeholders first,
  // so a shorter name is not found again inside a link already written.
  const sorted = [...picked].sort((a, b) => b.name.length - a.name.length);
  let out = text;
  sorted.forEach((p, i) => {
    out = out.split(`@${p.name}`).join(`\u0000${i}\u0000`);
  });
  sorted.forEach((p, i) => {
    const shown = p.name.replace(/[[\]\n]/g, ' ');
    const path = encodeURIComponent(p.name).replace(/[()!'*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    out = out.split(`\u0000${i}\u0000`).join(`[@${shown}](mention://user/${p.id}/${path})`);
  });
  return out;
}

// ---- the composer's autocomplete ----

const agentsByInbox = new Map();

async function mentionable(inboxId) {
  if (!agentsByInbox.has(inboxId)) {
    const r = await get(acct(`/assignable_agents${qs({ 'inbox_ids[]': [inboxId] })}`));
    agentsByInbox.set(inboxId, (r && r.payload) || []);
    // Kept for a minute: membership changes are rare, and a new list is one request.
    setTimeout(() => agentsByInbox.delete(inboxId), 60000);
  }
  return agentsByInbox.get(inboxId);
}

/**
 * The "@" list of a composer. `host` provides `input` (the textarea), `inboxId()` and
 * `active()` (true while writing a note). Returns handlers for the composer to call.
 */
export function mentionPicker(host) {
  const el = h('ul', { class: 'canned-menu mention-menu', role: 'listbox', hidden: true, 'aria-label': t('mention.list') });
  let list = [];
  let index = 0;
  const picked = [];

  function token() {
    const v = host.input.value;
    const caret = host.input.selectionStart;
    const m = /(^|\s)@([\p{L}\p{N}_.-]{0,30})$/u.exec(v.slice(0, caret));
    if (!m) return null;
    return { query: m[2].toLowerCase(), start: caret - m[2].length - 1, end: caret };
  }

  function hide() {
    el.hidden = true;
    list = [];
  }

  function render() {
    replace(
      el,
      list.length
        ? list.map((a, i) =>
            h(
              'li',
              {
                role: 'option',
                class: ['canned-item', 'mention-item', i === index && 'active'],
                'aria-selected': String(i === index),
                dataset: { userId: String(a.id) },
                onmousedown: (e) => {
                  e.preventDefault();
                  pick(i);
                },
              },
              avatar(a.available_name || a.name, 22, a.thumbnail),
              h('span', { class: 'code' }, a.available_name || a.name),
              h('span', { class: 'content' }, t(`role.${a.role}`)),
            ),
          )
        : h('li', { class: 'canned-empty muted' }, t('mention.none')),
    );
  }

  async function update() {
    const tok = host.active() ? token() : null;
    if (!tok) return hide();
    let agents;
    try {
      agents = await mentionable(host.inboxId());
    } catch (e) {
      toast(errorText(e), 'error');
      return hide();
    }
    const again = token();
    if (!again || again.start !== tok.start) return;
    const q = again.query;
    list = agents
      .filter((a) => !app.me || a.id !== app.me.id)
      .filter((a) => !q || (a.available_name || a.name).toLowerCase().includes(q) || a.name.toLowerCase().includes(q))
      .slice(0, 8);
    index = 0;
    render();
    el.hidden = false;
  }

  function pick(i) {
    const a = list[i];
    const tok = token();
    hide();
    if (!a || !tok) return;
    const name = a.available_name || a.name;
    const v = host.input.value;
    const insert = `@${name} `;
    host.input.value = v.slice(0, tok.start) + insert + v.slice(tok.end);
    const caret = tok.start + insert.length;
    host.input.setSelectionRange(caret, caret);
    if (!picked.some((p) => p.id === a.id)) picked.push({ id: a.id, name });
    host.input.focus();
  }

  /** Keyboard handling while the list is open; true when the key was used. */
  function key(e) {
    if (el.hidden) return false;
    if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && list.length) {
      e.preventDefault();
      index = (index + (e.key === 'ArrowDown' ? 1 : -1) + list.length) % list.length;
      render();
      return true;
    }
    if (e.key === 'Enter' || e.key === 'Tab') {
      if (!list.length) {
        hide();
        return false;
      }
      e.preventDefault();
      pick(index);
      return true;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      hide();
      return true;
    }
    return false;
  }

  return {
    el,
    update,
    key,
    hide,
    /** The text to send: with markup for the colleagues still named in it. */
    finish(text) {
      const still = picked.filter((p) => text.includes(`@${p.name}`));
      picked.length = 0;
      return withMarkup(text, still);
    },
  };
}

// ---- unread mentions: the rail's bell ----

let bell = null;
let badge = null;
let unread = 0;

/** The rail's bell button with its unread count. */
export function bellButton() {
  badge = h('span', { class: 'rail-badge', hidden: true });
  bell = h(
    'button',
    { type: 'button', class: 'rail-btn mentions-bell', dataset: { action: 'mentions' }, 'aria-haspopup': 'menu', onclick: (e) => openList(e.currentTarget) },
    icon('bell', { size: 20 }),
    badge,
  );
  renderBell();
  return bell;
}

function renderBell() {
  if (!bell) return;
  badge.hidden = unread === 0;
  badge.textContent = unread > 99 ? '99+' : String(unread);
  const label = unread ? t('mention.unread', { n: unread }) : t('mention.title');
  bell.title = label;
  bell.setAttribute('aria-label', label);
  bell.dataset.unread = String(unread);
}

/** Reads the unread count afresh (start, reconnect). */
export async function refreshUnread() {
  try {
    const n = await get(acct('/notifications/unread_count'));
    unread = Number(n) || 0;
    renderBell();
  } catch {
    // the count stays as it was
  }
}

/** A `conversation.mentioned` event: someone mentioned the signed-in agent. */
export function mentioned(conv) {
  unread += 1;
  renderBell();
  emit('mentioned', conv);
}

/** The agent opened conversation `id`: its mentions count as read. */
export async function conversationSeen(id) {
  if (!unread) return;
  try {
    await post(acct('/notifications/read_all'), { primary_actor_type: 'Conversation', primary_actor_id: id });
  } catch {
    return;
  }
  refreshUnread();
}

/** Forgets the bell (the console stopped). */
export function resetBell() {
  bell = null;
  badge = null;
  unread = 0;
  agentsByInbox.clear();
}

async function openList(anchor) {
  let page;
  try {
    page = (await get(acct('/notifications'))).data;
  } catch (e) {
    toast(errorText(e), 'error');
    return;
  }
  unread = page.meta.unread_count;
  renderBell();
  const items = page.payload.map((n) => {
    const who = n.secondary_actor ? n.secondary_actor.available_name || n.secondary_actor.name : t('mention.someone');
    return h(
      'button',
      {
        type: 'button',
        role: 'menuitem',
        class: ['menu-item', 'mention-note', !n.read_at && 'unread'],
        dataset: { conversationId: String(n.primary_actor_id), notificationId: String(n.id) },
        onclick: async () => {
          closePopover();
          if (!n.read_at) {
            try {
              await patch(acct(`/notifications/${n.id}`), {});
            } catch {
              // opened anyway; it stays unread
            }
            refreshUnread();
          }
          location.hash = `#/conversations/mentions/${n.primary_actor_id}`;
        },
      },
      h('span', { class: 'mention-line' }, h('b', null, t('mention.item', { name: who, id: n.primary_actor_id })), h('small', { class: 'muted' }, age(n.created_at))),
      n.excerpt ? h('span', { class: 'small muted mention-excerpt' }, n.excerpt) : null,
    );
  });
  popover(
    anchor,
    h(
      'div',
      { class: 'mentions-menu' },
      h(
        'div',
        { class: 'status-menu-head' },
        h('b', null, t('mention.title')),
        unread
          ? h(
              'button',
              {
                type: 'button',
                class: 'link small',
                dataset: { action: 'read-all' },
                onclick: async () => {
                  closePopover();
                  try {
                    await post(acct('/notifications/read_all'), {});
                  } catch (e) {
                    toast(errorText(e), 'error');
                  }
                  refreshUnread();
                },
              },
              t('mention.readAll'),
            )
          : null,
      ),
      items.length ? items : h('p', { class: 'small muted mention-empty' }, t('mention.empty')),
      h('a', { class: 'link small mention-all', href: '#/conversations/mentions', onclick: () => closePopover() }, t('mention.allConversations')),
    ),
    { align: 'side' },
  );
}
