// Canned-response templates, the same small language as the server's
// `parley_core::template`: `{{ contact.name | default: "клиент" }}`, `\{{` for a literal
// `{{`, anything malformed stays text, a variable without value or default stays visible
// and is reported in `missing` so the operator sees it before sending.

const MAX_PLACEHOLDER = 2048;
const MAX_PATH = 128;
const PATH_CHAR = /[A-Za-z0-9_-]/;
const WS = /\s/u;

function parsePlaceholder(s, start) {
  // s[start..] begins with "{{"
  let i = start + 2;
  const limit = start + MAX_PLACEHOLDER;
  const skip = () => {
    while (i < s.length && i < limit && WS.test(s[i])) i++;
  };
  skip();
  const pathStart = i;
  let lastDot = true;
  while (i < s.length && i < limit) {
    const ch = s[i];
    if (PATH_CHAR.test(ch)) lastDot = false;
    else if (ch === '.' && !lastDot) lastDot = true;
    else break;
    i++;
    if (i - pathStart > MAX_PATH) return null;
  }
  if (lastDot) return null;
  const path = s.slice(pathStart, i);
  skip();
  let def = null;
  if (s[i] === '|') {
    i++;
    skip();
    if (!s.startsWith('default', i)) return null;
    i += 7;
    skip();
    if (s[i] !== ':') return null;
    i++;
    skip();
    const open = s[i];
    const close = open === '"' ? '"' : open === "'" ? "'" : open === '«' ? '»' : null;
    if (!close) return null;
    const escapes = open !== '«';
    i++;
    let v = '';
    for (;;) {
      if (i >= s.length || i >= limit) return null;
      const ch = s[i++];
      if (ch === close) break;
      if (ch === '\\' && escapes && (s[i] === close || s[i] === '\\')) {
        v += s[i++];
      } else v += ch;
    }
    def = v;
    skip();
  }
  if (!s.startsWith('}}', i) || i + 2 > limit) return null;
  i += 2;
  return { raw: s.slice(start, i), path, def, end: i };
}

/** Renders `tpl` with `lookup(path) → string|undefined`; returns {text, missing}. */
export function render(tpl, lookup) {
  let out = '';
  const missing = [];
  let i = 0;
  while (i < tpl.length) {
    if (tpl.startsWith('\\{{', i)) {
      out += '{{';
      i += 3;
      continue;
    }
    if (tpl.startsWith('{{', i)) {
      const p = parsePlaceholder(tpl, i);
      if (!p) {
        out += '{';
        i += 1;
        continue;
      }
      const v = lookup(p.path);
      if (v !== undefined && v !== null && String(v).trim() !== '') out += String(v);
      else if (p.def !== null) out += p.def;
      else {
        out += p.raw;
        if (!missing.includes(p.path)) missing.push(p.path);
      }
      i = p.end;
      continue;
    }
    let j = i + 1;
    while (j < tpl.length && tpl[j] !== '{' && tpl[j] !== '\\') j++;
    out += tpl.slice(i, j);
    i = j;
  }
  return { text: out, missing };
}

/** The variables a console can fill: contact, agent, conversation, inbox. */
export function lookupFor({ contact, agent, conversation, inbox }) {
  const firstName = (n) => (n ? String(n).trim().split(/\s+/)[0] : undefined);
  const values = {
    'contact.name': contact?.name,
    'contact.first_name': firstName(contact?.name),
    'contact.email': contact?.email,
    'contact.phone': contact?.phone_number,
    'contact.phone_number': contact?.phone_number,
    'contact.id': contact?.id,
    'agent.name': agent?.available_name || agent?.name,
    'agent.first_name': firstName(agent?.available_name || agent?.name),
    'agent.email': agent?.email,
    'conversation.id': conversation?.id,
    'inbox.name': inbox?.name,
  };
  return (path) => {
    if (path in values) return values[path];
    const m = /^contact\.custom_attributes\.(.+)$/.exec(path);
    if (m && contact?.custom_attributes) return scalar(contact.custom_attributes[m[1]]);
    const c = /^conversation\.custom_attributes\.(.+)$/.exec(path);
    if (c && conversation?.custom_attributes) return scalar(conversation.custom_attributes[c[1]]);
    return undefined;
  };
}

function scalar(v) {
  return v === null || v === undefined || typeof v === 'object' ? undefined : String(v);
}
