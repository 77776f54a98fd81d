// What wants the operator's attention: new conversations and new customer messages in
// conversations assigned to them (or unassigned). Counted in the tab title, shown as desktop
// notifications when the browser allows it, and a short beep only if the operator turned
// sound on.

import { app } from './store.js';
import { t } from './i18n.js';
import { contactName } from './ui.js';

const attention = new Set();
let baseTitle = 'Parley';
let audioCtx = null;

export function setBaseTitle(s) {
  baseTitle = s;
  renderTitle();
}

function renderTitle() {
  const n = attention.size;
  document.title = n > 0 ? `(${n}) ${baseTitle}` : baseTitle;
}

export function attentionCount() {
  return attention.size;
}

/** The operator looked at this conversation. */
export function seen(id) {
  if (attention.delete(id)) renderTitle();
}

export function clearAll() {
  attention.clear();
  renderTitle();
}

function wants(conv) {
  if (!conv) return true;
  const a = conv.meta && conv.meta.assignee;
  return !a || (app.me && a.id === app.me.id);
}

function lookingAt(id) {
  return id === app.openId && document.visibilityState === 'visible' && document.hasFocus();
}

/** A conversation was created. */
export function newConversation(conv) {
  if (!wants(conv) || lookingAt(conv.id)) return;
  attention.add(conv.id);
  renderTitle();
  desktop(t('notify.newConversation'), contactName(conv.meta && conv.meta.sender), conv.id);
}

/** A customer wrote. */
export function newMessage(msg, conv) {
  if (msg.message_type !== 0 || msg.private) return;
  if (!wants(conv) || lookingAt(msg.conversation_id)) return;
  attention.add(msg.conversation_id);
  renderTitle();
  const who = (msg.sender && (msg.sender.available_name || msg.sender.name)) || contactName(conv && conv.meta && conv.meta.sender);
  desktop(t('notify.newMessage', { name: who }), msg.content || t('conv.attachment'), msg.conversation_id);
}

export function permission() {
  return 'Notification' in window ? Notification.permission : 'unsupported';
}

export async function askPermission() {
  if (!('Notification' in window)) return 'unsupported';
  try {
    return await Notification.requestPermission();
  } catch {
    return Notification.permission;
  }
}

function desktop(title, body, convId) {
  beep();
  if (!app.settings.notify || permission() !== 'granted') return;
  if (document.visibilityState === 'visible' && document.hasFocus()) return;
  try {
    const n = new Notification(title, { body: String(body || '').slice(0, 200), tag: `parley-${convId}`, icon: './img/favicon.svg' });
    n.onclick = () => {
      window.focus();
      location.hash = `#/conversations/${currentTab()}/${convId}`;
      n.close();
    };
  } catch {
    // some browsers only allow notifications from a service worker
  }
}

function currentTab() {
  const m = /^#\/conversations\/(\w+)/.exec(location.hash);
  return m ? m[1] : 'all';
}

/** A short, quiet tone (Web Audio; no file to load). Only when sound is on. */
export function beep() {
  if (!app.settings.sound) return;
  try {
    audioCtx = audioCtx || new AudioContext();
    const o = audioCtx.createOscillator();
    const g = audioCtx.createGain();
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.0001, audioCtx.currentTime);
    g.gain.exponentialRampToValueAtTime(0.08, audioCtx.currentTime + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, audioCtx.currentTime + 0.25);
    o.connect(g).connect(audioCtx.destination);
    o.start();
    o.stop(audioCtx.currentTime + 0.3);
  } catch {
    // no audio
  }
}
