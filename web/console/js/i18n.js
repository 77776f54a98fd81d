// RU and EN dictionaries; the browser's language picks one until the operator chooses,
// and the choice is kept in localStorage.

// Only the dictionary in use is loaded (the other one when the operator switches).
export const LANGS = ['en', 'ru'];
const KEY = 'parley.lang';
const DICTS = {};

let lang = detect();
await load(lang);

function detect() {
  try {
    const saved = localStorage.getItem(KEY);
    if (saved && LANGS.includes(saved)) return saved;
  } catch {
    // storage may be disabled; fall through to the browser's language
  }
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

async function load(l) {
  if (!DICTS[l]) DICTS[l] = (await import(`./locales/${l}.js`)).default;
}

export function getLang() {
  return lang;
}

/** Switches language (loading its dictionary) and remembers it; the caller re-renders. */
export async function setLang(l) {
  if (!LANGS.includes(l)) return;
  await load(l);
  lang = l;
  try {
    localStorage.setItem(KEY, l);
  } catch {
    // not persisted, still switched
  }
  document.documentElement.lang = l;
}

/**
 * The string for `key` in the current language, with `{name}` placeholders filled from
 * `vars`. A value that is an object of plural forms ({one, few, many, other}) is chosen by
 * `vars.n`. A missing key shows as itself.
 */
export function t(key, vars = {}) {
  // Both dictionaries have the same keys (a test checks), so a miss is a bug: show the key.
  let v = DICTS[lang][key] ?? key;
  if (typeof v === 'object') {
    const form = new Intl.PluralRules(lang).select(Number(vars.n ?? 0));
    v = v[form] ?? v.other;
  }
  return v.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Whether the current dictionary has `key` (for keys built from server data). */
export function has(key) {
  return Object.hasOwn(DICTS[lang], key);
}

/** Locale tag for Intl formatters. */
export function locale() {
  return lang === 'ru' ? 'ru-RU' : 'en-GB';
}

/** "5 min", "2 h", "3 d": compact age of a Unix-seconds time. */
export function age(unixSecs, now = Date.now()) {
  if (!unixSecs) return '';
  const s = Math.max(0, Math.floor(now / 1000 - unixSecs));
  if (s < 60) return t('time.now');
  if (s < 3600) return t('time.min', { n: Math.floor(s / 60) });
  if (s < 86400) return t('time.hour', { n: Math.floor(s / 3600) });
  return t('time.day', { n: Math.floor(s / 86400) });
}

/** Time of day for today's messages, date and time otherwise. */
export function stamp(unixSecs) {
  if (!unixSecs) return '';
  const d = new Date(unixSecs * 1000);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const opts = sameDay
    ? { hour: '2-digit', minute: '2-digit' }
    : { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' };
  return new Intl.DateTimeFormat(locale(), opts).format(d);
}

/** Full date and time (tooltips). */
export function fullStamp(unixSecs) {
  if (!unixSecs) return '';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(
    new Date(unixSecs * 1000),
  );
}

/** A calendar day heading. */
export function dayLabel(unixSecs) {
  const d = new Date(unixSecs * 1000);
  const today = new Date();
  const yesterday = new Date(Date.now() - 86400000);
  if (d.toDateString() === today.toDateString()) return t('time.today');
  if (d.toDateString() === yesterday.toDateString()) return t('time.yesterday');
  return new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'long', year: 'numeric' }).format(d);
}
