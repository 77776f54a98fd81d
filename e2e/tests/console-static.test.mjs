// Checks of the console's source that need no browser: both dictionaries have the same keys
// and placeholders, every key the code asks for exists, no markup-from-string API is used
// anywhere (customer text must stay text), and nothing is loaded from outside the origin.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '..', '..', 'web', 'console');

function files(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else out.push(p);
  }
  return out;
}

const ALL = files(ROOT);
const JS = ALL.filter((f) => f.endsWith('.js'));

async function dict(lang) {
  return (await import(pathToFileURL(join(ROOT, 'js', 'locales', `${lang}.js`)).href)).default;
}

function placeholders(v) {
  const text = typeof v === 'string' ? v : Object.values(v).join(' ');
  return [...new Set([...text.matchAll(/(?<!\{)\{(\w+)\}(?!\})/g)].map((m) => m[1]))].sort();
}

test('RU and EN dictionaries have the same keys and placeholders', async () => {
  const en = await dict('en');
  const ru = await dict('ru');
  assert.deepEqual(Object.keys(ru).sort(), Object.keys(en).sort());
  for (const k of Object.keys(en)) {
    assert.deepEqual(placeholders(ru[k]), placeholders(en[k]), `placeholders of ${k}`);
    assert.ok(String(typeof ru[k] === 'string' ? ru[k] : ru[k].other).trim(), `empty ru ${k}`);
    if (typeof ru[k] === 'object') {
      for (const form of ['one', 'few', 'many', 'other']) assert.ok(ru[k][form], `ru ${k} lacks plural form ${form}`);
    }
  }
});

test('every key the code uses exists', async () => {
  const en = await dict('en');
  const missing = [];
  for (const f of JS) {
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/\bt\('([a-zA-Z0-9_.]+)'/g)) if (!(m[1] in en)) missing.push(`${m[1]} (${f})`);
    // Keys built from a prefix: some key with that prefix must exist.
    for (const m of src.matchAll(/\bt\(`([a-zA-Z0-9_.]+)\.\$\{/g)) {
      if (!Object.keys(en).some((k) => k.startsWith(`${m[1]}.`))) missing.push(`${m[1]}.* (${f})`);
    }
  }
  // Descriptions of the shortcut table and the contact panel's visit fields.
  const shortcuts = readFileSync(join(ROOT, 'js', 'views', 'shortcuts.js'), 'utf8');
  for (const m of shortcuts.matchAll(/'(keys\.[a-zA-Z]+)'/g)) if (!(m[1] in en)) missing.push(m[1]);
  const contact = readFileSync(join(ROOT, 'js', 'views', 'contact.js'), 'utf8');
  for (const m of contact.matchAll(/'(contact\.[a-zA-Z]+)'/g)) if (!(m[1] in en)) missing.push(m[1]);
  // Dynamic families whose every member is needed.
  const families = {
    status: ['open', 'pending', 'snoozed', 'resolved', 'all'],
    priority: ['urgent', 'high', 'medium', 'low', 'none'],
    role: ['administrator', 'supervisor', 'agent'],
    presence: ['online', 'busy', 'offline'],
    conn: ['connecting', 'live', 'reconnecting'],
    msgStatus: ['sent', 'delivered', 'read', 'failed'],
    'list.tab': ['mine', 'unassigned', 'all'],
    'list.empty': ['mine', 'unassigned', 'all'],
    'profile.permission': ['granted', 'denied', 'unsupported'],
    settings: ['inboxes', 'agents', 'teams', 'labels', 'canned', 'routing'],
    'availability.hint': ['online', 'busy', 'offline'],
    'team.count': ['online', 'busy', 'offline'],
    sla: ['first_response', 'next_response'],
    day: ['0', '1', '2', '3', '4', '5', '6'],
    lang: ['en', 'ru'],
  };
  for (const [prefix, members] of Object.entries(families)) for (const m of members) if (!(`${prefix}.${m}` in en)) missing.push(`${prefix}.${m}`);
  assert.deepEqual(missing, []);
});

test('no markup from strings, no eval, nothing from other origins', () => {
  const offenders = [];
  for (const f of JS) {
    const src = readFileSync(f, 'utf8');
    for (const bad of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'createContextualFragment', 'DOMParser']) {
      if (src.includes(bad)) offenders.push(`${bad} in ${f}`);
    }
  }
  for (const f of ALL.filter((x) => /\.(html|css|js)$/.test(x))) {
    const src = readFileSync(f, 'utf8');
    // Absolute URLs to other hosts (the SVG namespace, example placeholders and the link to
    // a customer's Telegram profile aside: a link the operator follows, never fetched).
    for (const m of src.matchAll(/https?:\/\/[^\s'"`)]+/g)) {
      if (!/^http:\/\/www\.w3\.org\/2000\/svg$|^https:\/\/(shop|crm|bot)\.example|^https:\/\/t\.me\/\$\{user\}$/.test(m[0])) offenders.push(`${m[0]} in ${f}`);
    }
  }
  assert.deepEqual(offenders, []);
});
