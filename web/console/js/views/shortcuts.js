// Keyboard use: single keys when no text field has focus, Alt+key combinations from
// anywhere (the composer included), and `?` for the help overlay listing them.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { emit, on } from '../store.js';
import { modal, isModalOpen, isPopoverOpen } from '../ui.js';
import { typingInField } from '../dom.js';

// [keys shown, description key]
export const SHORTCUTS = [
  [['J', 'Alt+↓'], 'keys.next'],
  [['K', 'Alt+↑'], 'keys.prev'],
  [['R', 'Alt+R'], 'keys.reply'],
  [['N', 'Alt+N'], 'keys.note'],
  [['A'], 'keys.assignMe'],
  [['T'], 'keys.transfer'],
  [['L'], 'keys.labels'],
  [['S'], 'keys.snooze'],
  [['M'], 'keys.macros'],
  [['E', 'Alt+E'], 'keys.resolve'],
  [['O'], 'keys.reopen'],
  [['1', '2', '3', '4'], 'keys.tabs'],
  [['/'], 'keys.search'],
  [['Enter'], 'keys.send'],
  [['Shift+Enter'], 'keys.newline'],
  [['/…'], 'keys.canned'],
  [['Esc'], 'keys.escape'],
  [['?'], 'keys.help'],
];

let handler = null;
let unsub = null;

export function installShortcuts() {
  removeShortcuts();
  handler = (e) => onKey(e);
  document.addEventListener('keydown', handler);
  unsub = on('help', () => showHelp());
}

export function removeShortcuts() {
  if (handler) document.removeEventListener('keydown', handler);
  handler = null;
  if (unsub) unsub();
  unsub = null;
}

function inConversations() {
  return /^#\/?(conversations|$)/.test(location.hash) || location.hash === '';
}

function onKey(e) {
  if (e.defaultPrevented || isModalOpen() || isPopoverOpen() || e.ctrlKey || e.metaKey) return;
  const key = e.key;
  // Alt combinations work everywhere (e.code: Alt+letter types other characters on macOS).
  if (e.altKey && !e.shiftKey) {
    const code = e.code;
    const alt = {
      ArrowDown: () => emit('nav', 'next'),
      ArrowUp: () => emit('nav', 'prev'),
      KeyR: () => emit('composer-focus', 'reply'),
      KeyN: () => emit('composer-focus', 'note'),
      KeyE: () => emit('action', 'resolve'),
    }[key === 'ArrowDown' || key === 'ArrowUp' ? key : code];
    if (alt && inConversations()) {
      e.preventDefault();
      alt();
    }
    return;
  }
  if (e.altKey || typingInField(e.target)) return;
  if (key === '?') {
    e.preventDefault();
    showHelp();
    return;
  }
  if (!inConversations()) return;
  const single = {
    j: () => emit('nav', 'next'),
    k: () => emit('nav', 'prev'),
    ArrowDown: null,
    r: () => emit('composer-focus', 'reply'),
    n: () => emit('composer-focus', 'note'),
    a: () => emit('action', 'assign-me'),
    t: () => emit('action', 'transfer'),
    l: () => emit('action', 'labels'),
    s: () => emit('action', 'snooze'),
    m: () => emit('action', 'macros'),
    e: () => emit('action', 'resolve'),
    o: () => emit('action', 'reopen'),
    1: () => emit('tab', 'mine'),
    2: () => emit('tab', 'unassigned'),
    3: () => emit('tab', 'all'),
    4: () => emit('tab', 'mentions'),
    '/': () => emit('focus-search'),
  }[e.shiftKey ? key : key.toLowerCase()];
  if (single) {
    e.preventDefault();
    single();
  }
}

export function showHelp() {
  if (isModalOpen()) return;
  modal(
    t('keys.title'),
    () =>
      h(
        'div',
        { class: 'modal-body' },
        h(
          'table',
          { class: 'keys' },
          h(
            'tbody',
            null,
            SHORTCUTS.map(([keys, desc]) =>
              h(
                'tr',
                null,
                h('td', null, keys.map((k, i) => [i ? h('span', { class: 'muted' }, ' / ') : null, h('kbd', null, k)])),
                h('td', null, t(desc)),
              ),
            ),
          ),
        ),
      ),
    { wide: true },
  );
}
