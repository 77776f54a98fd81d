// Small shared pieces: icons, avatars, channel badges, dialogs, toasts.

import { h, svg } from './dom.js';
import { t } from './i18n.js';

export const ICONS = {
  chat: 'M21 15a2 2 0 0 1-2 2H7l-4 4V5a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2z',
  settings: [
    'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z',
    'M19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z',
  ],
  user: ['M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2', 'M12 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z'],
  logout: ['M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4', 'M16 17l5-5-5-5', 'M21 12H9'],
  help: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3', 'M12 17h.01'],
  bell: ['M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9', 'M13.7 21a2 2 0 0 1-3.4 0'],
  bellOff: ['M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9', 'M13.7 21a2 2 0 0 1-3.4 0', 'M3 3l18 18'],
  globe: [
    'M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z',
    'M2 12h20',
    'M12 2a15 15 0 0 1 4 10 15 15 0 0 1-4 10 15 15 0 0 1-4-10 15 15 0 0 1 4-10z',
  ],
  code: ['M16 18l6-6-6-6', 'M8 6l-6 6 6 6'],
  send: ['M22 2L11 13', 'M22 2l-7 20-4-9-9-4 20-7z'],
  mail: ['M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z', 'M22 6l-10 7L2 6'],
  telegram: ['M21 4L3 11l6 2 2 6 3-4 5 4 2-15z', 'M9 13l8-6'],
  check: 'M20 6L9 17l-5-5',
  checks: ['M18 7L8 17l-5-5', 'M22 7L12 17l-1-1'],
  alert: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'M12 8v4', 'M12 16h.01'],
  clock: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'M12 6v6l4 2'],
  clip: 'M21.4 11.1l-9.2 9.2a6 6 0 0 1-8.5-8.5l9.2-9.2a4 4 0 0 1 5.7 5.7l-9.2 9.2a2 2 0 0 1-2.8-2.8l8.5-8.5',
  lock: ['M5 11h14v10H5z', 'M8 11V7a4 4 0 0 1 8 0v4'],
  x: ['M18 6L6 18', 'M6 6l12 12'],
  chevron: 'M9 18l6-6-6-6',
  chevronDown: 'M6 9l6 6 6-6',
  tag: ['M20.6 13.4l-7.2 7.2a2 2 0 0 1-2.8 0L2 12V2h10l8.6 8.6a2 2 0 0 1 0 2.8z', 'M7 7h.01'],
  flag: ['M4 15s1-1 4-1 5 2 8 2 4-1 4-1V3s-1 1-4 1-5-2-8-2-4 1-4 1z', 'M4 22v-7'],
  transfer: ['M17 1l4 4-4 4', 'M3 11V9a4 4 0 0 1 4-4h14', 'M7 23l-4-4 4-4', 'M21 13v2a4 4 0 0 1-4 4H3'],
  snooze: ['M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z', 'M10 9h4l-4 6h4'],
  checkCircle: ['M22 11.1V12a10 10 0 1 1-5.9-9.1', 'M22 4L12 14l-3-3'],
  refresh: ['M23 4v6h-6', 'M1 20v-6h6', 'M3.5 9a9 9 0 0 1 14.9-3.4L23 10M1 14l4.6 4.4A9 9 0 0 0 20.5 15'],
  search: ['M11 19a8 8 0 1 0 0-16 8 8 0 0 0 0 16z', 'M21 21l-4.3-4.3'],
  plus: ['M12 5v14', 'M5 12h14'],
  panel: ['M3 3h18v18H3z', 'M15 3v18'],
  inbox: ['M22 12h-6l-2 3h-4l-2-3H2', 'M5.5 5.1L2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.5-6.9A2 2 0 0 0 16.8 4H7.2a2 2 0 0 0-1.7 1.1z'],
  users: ['M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2', 'M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M23 21v-2a4 4 0 0 0-3-3.9', 'M16 3.1a4 4 0 0 1 0 7.8'],
  key: ['M21 2l-2 2m-7.6 7.6a5.5 5.5 0 1 1-7.8 7.8 5.5 5.5 0 0 1 7.8-7.8z', 'M15.5 7.5l3 3L22 7l-3-3'],
  message: ['M21 11.5a8.4 8.4 0 0 1-9 8.4 8.5 8.5 0 0 1-3.8-.9L3 21l1.9-5.7A8.4 8.4 0 0 1 12.5 3 8.5 8.5 0 0 1 21 11.5z'],
  copy: ['M9 9h13v13H9z', 'M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1'],
  trash: ['M3 6h18', 'M19 6l-1 14a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2L5 6', 'M10 11v6', 'M14 11v6', 'M9 6V4h6v2'],
  edit: ['M12 20h9', 'M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z'],
  keyboard: ['M2 6h20v12H2z', 'M6 10h.01M10 10h.01M14 10h.01M18 10h.01M7 14h10'],
  queue: ['M8 6h13', 'M8 12h13', 'M8 18h13', 'M3 6h.01', 'M3 12h.01', 'M3 18h.01'],
  chart: ['M18 20V10', 'M12 20V4', 'M6 20v-6'],
  download: ['M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4', 'M7 10l5 5 5-5', 'M12 15V3'],
  star: 'M12 2l3.1 6.3 6.9 1-5 4.9 1.2 6.8L12 17.8 5.8 21l1.2-6.8-5-4.9 6.9-1z',
  userPlus: ['M16 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2', 'M8.5 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8z', 'M20 8v6', 'M23 11h-6'],
};

export function icon(name, opts) {
  return svg(ICONS[name] || ICONS.chat, opts);
}

/** Channel name for display, and its icon. */
const CHANNELS = {
  'Channel::WebWidget': ['globe', 'channel.web'],
  'Channel::Api': ['code', 'channel.api'],
  'Channel::Telegram': ['telegram', 'channel.telegram'],
  'Channel::Email': ['mail', 'channel.email'],
};

export function channelIcon(type, size = 14) {
  const [name, key] = CHANNELS[type] || ['chat', 'channel.other'];
  const el = h('span', { class: 'channel-icon', title: t(key), 'aria-label': t(key) });
  el.append(icon(name, { size }));
  return el;
}

export function channelName(type) {
  return t((CHANNELS[type] || [null, 'channel.other'])[1]);
}

const PALETTE = ['#2563eb', '#7c3aed', '#db2777', '#ea580c', '#0891b2', '#16a34a', '#ca8a04', '#4f46e5'];

/** Initials avatar with a stable colour per name. */
export function avatar(name, size = 32, url = '') {
  const n = String(name || '?').trim() || '?';
  const initials = n
    .split(/\s+/)
    .slice(0, 2)
    .map((w) => Array.from(w)[0] || '')
    .join('')
    .toUpperCase();
  let hash = 0;
  for (const ch of n) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  const el = h('span', {
    class: 'avatar',
    style: { width: `${size}px`, height: `${size}px`, fontSize: `${Math.round(size * 0.4)}px`, background: PALETTE[hash % PALETTE.length] },
    'aria-hidden': 'true',
  });
  if (url && /^\/[^/]/.test(url)) {
    const img = h('img', { src: url, alt: '', loading: 'lazy' });
    img.addEventListener('error', () => img.remove());
    el.append(initials, img);
  } else el.append(initials);
  return el;
}

/** The contact's display name (never empty). */
export function contactName(c) {
  return (c && (c.name || c.email || c.phone_number || c.identifier)) || t('contact.anonymous', { id: c?.id ?? '' });
}

let toastBox = null;

/** A short message at the bottom of the screen; kind = info | error. */
export function toast(text, kind = 'info', ms = 4000) {
  if (!toastBox || !document.body.contains(toastBox)) {
    toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const el = h('div', { class: ['toast', kind] }, text);
  toastBox.append(el);
  setTimeout(() => el.remove(), ms);
}

/** The error's text for people. */
export function errorText(e) {
  if (!e) return t('error.generic');
  if (e.code === 'network') return t('error.network');
  if (e.code && t(`error.${e.code}`) !== `error.${e.code}`) return t(`error.${e.code}`);
  return e.message || t('error.generic');
}

let openModal = null;

/**
 * A modal dialog. `build(close)` returns the body; resolves with what `close(value)` gets
 * (undefined when dismissed with Esc or the backdrop).
 */
export function modal(title, build, { wide = false } = {}) {
  if (openModal) openModal(undefined);
  return new Promise((resolve) => {
    const prevFocus = document.activeElement;
    const back = h('div', { class: 'modal-back' });
    const close = (v) => {
      back.remove();
      document.removeEventListener('keydown', onKey, true);
      openModal = null;
      if (prevFocus && prevFocus.focus && document.contains(prevFocus)) prevFocus.focus();
      resolve(v);
    };
    const onKey = (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        e.preventDefault();
        close(undefined);
      }
    };
    const titleId = `m-${Math.random().toString(36).slice(2)}`;
    const box = h(
      'div',
      { class: ['modal', wide && 'wide'], role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': titleId },
      h(
        'header',
        null,
        h('h2', { id: titleId }, title),
        h('button', { class: 'icon-btn', type: 'button', 'aria-label': t('common.close'), onclick: () => close(undefined) }, icon('x')),
      ),
      build(close),
    );
    back.append(box);
    back.addEventListener('mousedown', (e) => {
      if (e.target === back) close(undefined);
    });
    document.addEventListener('keydown', onKey, true);
    document.body.append(back);
    openModal = close;
    const first = box.querySelector('[autofocus], input, select, textarea, button:not(.icon-btn)');
    if (first) first.focus();
  });
}

export function isModalOpen() {
  return openModal !== null;
}

/** A yes/no question. */
export function confirmDialog(text, okLabel) {
  return modal(t('common.confirm'), (close) =>
    h(
      'div',
      { class: 'modal-body' },
      h('p', null, text),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close(false) }, t('common.cancel')),
        h('button', { type: 'button', class: 'btn danger', onclick: () => close(true), autofocus: true }, okLabel || t('common.ok')),
      ),
    ),
  );
}

let fieldSeq = 0;

/** A labelled form field; the hint is tied to the input with aria-describedby. */
export function field(label, input, hint) {
  fieldSeq += 1;
  if (!input.id) input.id = `f-${fieldSeq}`;
  let hintEl = null;
  if (hint) {
    hintEl = h('small', { class: 'hint', id: `${input.id}-hint` }, hint);
    input.setAttribute('aria-describedby', hintEl.id);
  }
  return h('div', { class: 'field' }, h('label', { class: 'field-label', for: input.id }, label), input, hintEl);
}

/** A checkbox with its label around it; `{ input, el }`. */
export function check(label, attrs) {
  const input = h('input', { type: 'checkbox', ...attrs });
  return { input, el: h('label', { class: 'check' }, input, label) };
}

/** A number input's value, or null when empty; `scale` converts units (minutes → seconds). */
export function numberOrNull(input, scale = 1) {
  const v = input.value.trim();
  if (v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.round(n * scale) : null;
}

/** <option>s from [value, label] pairs. */
export function options(pairs, selected) {
  return pairs.map(([v, l]) => h('option', { value: String(v), selected: String(v) === String(selected ?? '') }, l));
}

/** Copies text to the clipboard, with a toast. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast(t('common.copied'));
  } catch {
    toast(t('common.copyFailed'), 'error');
  }
}

/** A dropdown menu anchored to `anchor`: items = [{label, onclick, danger}] or a Node. */
export function popover(anchor, content, { align = 'left' } = {}) {
  closePopover();
  const box = h('div', { class: ['popover', align], role: 'menu' });
  if (content instanceof Node) box.append(content);
  else
    for (const it of content) {
      if (!it) continue;
      box.append(
        h(
          'button',
          {
            type: 'button',
            role: 'menuitem',
            class: ['menu-item', it.danger && 'danger', it.active && 'active'],
            onclick: () => {
              closePopover();
              it.onclick();
            },
          },
          it.label,
        ),
      );
    }
  const r = anchor.getBoundingClientRect();
  // `side`: to the right of the anchor (the rail); otherwise below it.
  box.style.top = `${Math.round(align === 'side' ? r.top : r.bottom + 4)}px`;
  if (align === 'right') box.style.right = `${Math.round(window.innerWidth - r.right)}px`;
  else if (align === 'side') box.style.left = `${Math.round(r.right + 8)}px`;
  else box.style.left = `${Math.round(r.left)}px`;
  document.body.append(box);
  // Kept inside the window.
  const bh = box.getBoundingClientRect().height;
  if (box.getBoundingClientRect().bottom > window.innerHeight - 8) box.style.top = `${Math.max(8, Math.round(window.innerHeight - bh - 8))}px`;
  const onDown = (e) => {
    if (!box.contains(e.target) && !anchor.contains(e.target)) closePopover();
  };
  const onKey = (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      closePopover();
      anchor.focus();
    }
  };
  setTimeout(() => document.addEventListener('mousedown', onDown), 0);
  document.addEventListener('keydown', onKey, true);
  popoverClose = () => {
    box.remove();
    document.removeEventListener('mousedown', onDown);
    document.removeEventListener('keydown', onKey, true);
    popoverClose = null;
  };
  const first = box.querySelector('button, input');
  if (first) first.focus();
  return box;
}

let popoverClose = null;

export function closePopover() {
  if (popoverClose) popoverClose();
}

export function isPopoverOpen() {
  return popoverClose !== null;
}

/** http(s) links in text become links; everything stays text nodes. */
export function linkify(text) {
  const out = [];
  const re = /\bhttps?:\/\/[^\s<>"']+/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    let url = m[0];
    const trail = /[.,;:!?)\]]+$/.exec(url);
    if (trail) url = url.slice(0, -trail[0].length);
    out.push(text.slice(last, m.index));
    out.push(h('a', { href: url, target: '_blank', rel: 'noopener noreferrer nofollow' }, url));
    last = m.index + url.length;
    re.lastIndex = last;
  }
  out.push(text.slice(last));
  return out;
}


/** Five stars, `n` of them lit, as the widget's survey offers them (Chatwoot's 1–5). */
export function ratingStars(n) {
  const k = Math.max(0, Math.min(5, Number(n) || 0));
  return h('span', { class: 'rating-stars', title: t('csat.score', { n: k }), 'aria-label': t('csat.score', { n: k }) }, '★'.repeat(k) + '☆'.repeat(5 - k));
}
