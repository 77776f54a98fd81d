// What the conversation view shows of e-mail: the subject of the conversation, and per
// letter its addresses, the quoted history folded away, a notice when the letter was too
// large to import whole, and the attachments that were not kept. Everything is text: a
// letter's HTML was turned into text by the server and is never rendered here.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from '../ui.js';

/** Whether the conversation came by e-mail (its replies go by e-mail too). */
export function isMail(c) {
  return Boolean(c && c.meta && c.meta.channel === 'Channel::Email');
}

/** The subject line of an e-mail conversation for its header, or null. */
export function subjectLine(c) {
  const subject = c && c.additional_attributes && c.additional_attributes.mail_subject;
  if (!isMail(c) && !subject) return null;
  return h('div', { class: 'conv-subject', dataset: { mailSubject: '' } }, icon('mail', { size: 13 }), h('span', null, subject || t('mail.noSubject')));
}

/** Where the agent's reply goes, for the composer: the contact's address, or null. */
export function replyNotice(c) {
  if (!isMail(c)) return null;
  const to = c.meta.sender && c.meta.sender.email;
  return to ? t('mail.replyTo', { address: to }) : t('mail.replyNoAddress');
}

function addresses(v) {
  if (Array.isArray(v)) return v.map(addresses).filter(Boolean).join(', ');
  if (v && typeof v === 'object') return v.name && v.address ? `${v.name} <${v.address}>` : v.address || v.name || '';
  return typeof v === 'string' ? v : '';
}

function size(n) {
  if (!Number.isFinite(n)) return '';
  if (n < 1024 * 1024) return t('mail.kb', { n: Math.max(1, Math.round(n / 1024)) });
  return t('mail.mb', { n: Math.round((n / 1024 / 1024) * 10) / 10 });
}

/** The skipped attachment `a` (an object from the server, or a bare name) as one line. */
function skippedLine(a) {
  if (typeof a === 'string') return h('li', null, a);
  const why = a.reason === 'too_large' ? t('mail.skippedTooLarge') : a.reason === 'too_many' ? t('mail.skippedTooMany') : '';
  return h('li', null, h('span', { class: 'mono' }, a.name || a.filename || '?'), a.size ? ` (${size(a.size)})` : '', why ? ` — ${why}` : '');
}

/**
 * The parts of a letter below its text, from `content_attributes.email` (`{subject, from, to,
 * cc, quoted_text, truncated, skipped_attachments}`): an empty list for other messages.
 */
export function letterParts(m) {
  const mail = m.content_attributes && m.content_attributes.email;
  if (!mail || typeof mail !== 'object') return [];
  const parts = [];
  const head = [
    ['mail.from', addresses(mail.from)],
    ['mail.to', addresses(mail.to)],
    ['mail.cc', addresses(mail.cc)],
  ].filter(([, v]) => v);
  if (head.length) parts.push(h('div', { class: 'mail-head small muted', dataset: { mailHead: '' } }, head.map(([k, v]) => h('span', null, `${t(k)}: ${v}`))));
  if (mail.truncated) parts.push(h('div', { class: 'mail-notice', role: 'note', dataset: { mailTruncated: '' } }, icon('alert', { size: 13 }), t('mail.truncated')));
  const skipped = Array.isArray(mail.skipped_attachments) ? mail.skipped_attachments : [];
  if (skipped.length) parts.push(h('div', { class: 'mail-notice', dataset: { mailSkipped: '' } }, icon('clip', { size: 13 }), h('div', null, t('mail.skipped'), h('ul', null, skipped.map(skippedLine)))));
  // Folded by default; <details> opens with Enter or Space from the keyboard.
  if (typeof mail.quoted_text === 'string' && mail.quoted_text.trim()) {
    parts.push(h('details', { class: 'mail-quote', dataset: { mailQuote: '' } }, h('summary', null, t('mail.quoted')), h('div', { class: 'text quoted' }, mail.quoted_text)));
  }
  return parts;
}
