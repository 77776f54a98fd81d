// How a Telegram or e-mail inbox reaches its provider, shared by the New inbox dialog
// (settings.js) and an inbox's Connection card (inbox-settings.js): the connection's fields
// built from a spec (grouped, with the mailbox provider presets and the ports that follow the
// TLS switches), the "Test connection" button with its answer, and the live connection
// status. The specs themselves, each control with the API path it edits, stay in
// inbox-settings.js, where a test compares the console's controls with the API's settings.

import { h, replace } from '../dom.js';
import { t, age, stamp, fullStamp } from '../i18n.js';
import { get, post, acct } from '../api.js';
import { field, check, options, errorText, icon, numberOrNull } from '../ui.js';

/**
 * The servers of the providers most shops use (docs/channels.md, "Connecting a mailbox");
 * all of them want an app password rather than the account's own.
 */
const PRESETS = {
  yandex: { imap_address: 'imap.yandex.ru', imap_port: 993, imap_enable_ssl: true, smtp_address: 'smtp.yandex.ru', smtp_port: 465, smtp_enable_ssl_tls: true, smtp_enable_starttls_auto: false },
  mailru: { imap_address: 'imap.mail.ru', imap_port: 993, imap_enable_ssl: true, smtp_address: 'smtp.mail.ru', smtp_port: 465, smtp_enable_ssl_tls: true, smtp_enable_starttls_auto: false },
  gmail: { imap_address: 'imap.gmail.com', imap_port: 993, imap_enable_ssl: true, smtp_address: 'smtp.gmail.com', smtp_port: 587, smtp_enable_ssl_tls: false, smtp_enable_starttls_auto: true },
};
const PROVIDERS = [...Object.keys(PRESETS), 'other'];
const SMTP_AUTH = ['plain', 'login'];

/**
 * What a new mailbox starts with, and what an option never set means to the server
 * (crates/channels/src/email/provider.rs): IMAP and SMTP on, IMAP over TLS, SMTP with
 * STARTTLS on the submission port.
 */
export const MAILBOX_DEFAULTS = {
  provider: 'other',
  imap_enabled: true,
  imap_port: 993,
  imap_enable_ssl: true,
  smtp_enabled: true,
  smtp_port: 587,
  smtp_enable_ssl_tls: false,
  smtp_enable_starttls_auto: true,
  smtp_authentication: 'plain',
};

/** One control of a connection spec entry; `{ k, kind, input, el }`. */
function control({ setting, kind }, current, keptSecrets) {
  const k = setting.slice('channel.'.length);
  const label = t(`inboxui.conn.${k}`);
  if (kind === 'bool') {
    const c = check(label, { name: k, checked: Boolean(current(k)), dataset: { setting } });
    return { k, kind, input: c.input, el: c.el };
  }
  if (kind === 'provider' || kind === 'auth') {
    const [values, fallback] = kind === 'provider' ? [PROVIDERS, 'other'] : [SMTP_AUTH, 'plain'];
    const now = values.includes(current(k)) ? current(k) : fallback;
    const input = h('select', { name: k, dataset: { setting } }, options(values.map((v) => [v, t(`inboxui.${kind}.${v}`)]), now));
    return { k, kind, input, el: field(label, input, kind === 'provider' ? t(`inboxui.providerHint.${now}`) : null) };
  }
  const attrs = { name: k, autocomplete: 'off', dataset: { setting } };
  if (kind === 'secret') Object.assign(attrs, { type: 'password', maxLength: 255, autocomplete: 'new-password', placeholder: keptSecrets ? t('inboxui.secretKept') : '' });
  else if (kind === 'port') Object.assign(attrs, { type: 'number', min: 1, max: 65535, step: 1, value: current(k) ?? '' });
  else Object.assign(attrs, { type: kind === 'email' ? 'email' : 'text', maxLength: 255, required: kind === 'email', value: current(k) ?? '' });
  const input = h('input', attrs);
  return { k, kind, input, el: field(label, input, kind === 'secret' && keptSecrets ? t('inboxui.secretHint') : null) };
}

/**
 * The controls of a connection spec (`[{ setting: 'channel.…', kind, group }]`) filled from
 * `current(key)`, entries with a `group` in a fieldset of their own. With `keptSecrets` an
 * empty secret box keeps the stored secret. Returns `{ el, value(), clearSecrets() }`;
 * `value()` is the `channel` object of the API, without the empty secrets.
 */
export function connectionFields(spec, current, { keptSecrets = false } = {}) {
  const controls = spec.map((s) => ({ ...control(s, current, keptSecrets), group: s.group }));
  const by = Object.fromEntries(controls.map((c) => [c.k, c.input]));
  const groups = [];
  for (const c of controls) {
    const last = groups.at(-1);
    if (last && c.group && last.group === c.group) last.items.push(c.el);
    else groups.push({ group: c.group, items: [c.el] });
  }
  const el = h(
    'div',
    { class: 'stack conn-fields' },
    groups.map((g) => (g.group ? h('fieldset', { class: 'plain conn-group', dataset: { group: g.group } }, h('legend', null, t(`inboxui.group.${g.group}`)), g.items) : g.items)),
  );
  if (by.imap_address || by.smtp_address) mailboxBehaviour(by);
  return {
    el,
    value() {
      const channel = {};
      for (const { k, kind, input } of controls) {
        if (kind === 'bool') channel[k] = input.checked;
        else if (kind === 'port') channel[k] = numberOrNull(input);
        else if (kind === 'secret') {
          if (input.value) channel[k] = input.value;
        } else channel[k] = input.value.trim();
      }
      return channel;
    },
    clearSecrets() {
      for (const c of controls) if (c.kind === 'secret') c.input.value = '';
    },
  };
}

/**
 * A mailbox's fields help each other: a provider preset fills the servers and ports, the
 * logins follow the address until typed over, and a port still at a default follows its
 * TLS switch (IMAP 993/143; SMTP 465 with TLS, 587 with STARTTLS, 25 with neither; TLS and
 * STARTTLS exclude each other).
 */
function mailboxBehaviour(by) {
  const setPort = (input, port, defaults) => {
    if (input && (input.value === '' || defaults.includes(Number(input.value)))) input.value = String(port);
  };
  const imapPort = () => {
    if (by.imap_enable_ssl) setPort(by.imap_port, by.imap_enable_ssl.checked ? 993 : 143, [993, 143]);
  };
  const smtpPort = () => {
    if (!by.smtp_enable_ssl_tls) return;
    const tls = by.smtp_enable_ssl_tls.checked;
    const starttls = by.smtp_enable_starttls_auto && by.smtp_enable_starttls_auto.checked;
    setPort(by.smtp_port, tls ? 465 : starttls ? 587 : 25, [465, 587, 25]);
  };
  by.imap_enable_ssl?.addEventListener('change', imapPort);
  by.smtp_enable_ssl_tls?.addEventListener('change', () => {
    if (by.smtp_enable_starttls_auto) by.smtp_enable_starttls_auto.checked = !by.smtp_enable_ssl_tls.checked;
    smtpPort();
  });
  by.smtp_enable_starttls_auto?.addEventListener('change', () => {
    if (by.smtp_enable_starttls_auto.checked && by.smtp_enable_ssl_tls) by.smtp_enable_ssl_tls.checked = false;
    smtpPort();
  });
  if (by.email) {
    let last = by.email.value.trim();
    by.email.addEventListener('input', () => {
      const now = by.email.value.trim();
      for (const login of [by.imap_login, by.smtp_login]) if (login && (login.value === '' || login.value === last)) login.value = now;
      last = now;
    });
  }
  const provider = by.provider;
  if (!provider) return;
  provider.addEventListener('change', () => {
    const hint = document.getElementById(`${provider.id}-hint`);
    if (hint) hint.textContent = t(`inboxui.providerHint.${provider.value}`);
    const preset = PRESETS[provider.value];
    if (!preset) return;
    for (const [k, v] of Object.entries(preset)) {
      const input = by[k];
      if (!input) continue;
      if (typeof v === 'boolean') input.checked = v;
      else input.value = String(v);
    }
    // The providers' logins are the full address.
    const address = by.email ? by.email.value.trim() : '';
    for (const login of [by.imap_login, by.smtp_login]) if (login && !login.value && address) login.value = address;
  });
}

/**
 * "Test connection": posts `body()` to …/inboxes/test_connection and shows the answer:
 * `okText(answer)` when the provider accepted; otherwise the server's sentence (already in
 * the account's language), after the step that failed when `steps` is set (a mailbox has
 * two: IMAP and SMTP), with the server's own words below it when they add anything. Any
 * edit of the `watch`ed controls makes the answer, and a refusal of the form, stale.
 * Returns `{ el, clear() }`.
 */
export function testConnection(body, { okText, steps = false, watch = null }) {
  const result = h('div', { class: 'muted small', role: 'status', dataset: { testResult: '' } });
  const show = (cls, ...parts) => {
    result.className = `${cls} small`;
    replace(result, ...parts);
  };
  const clear = () => {
    show('muted');
    delete result.dataset.step;
  };
  const btn = h(
    'button',
    {
      type: 'button',
      class: 'btn small',
      dataset: { action: 'test-connection' },
      onclick: async () => {
        btn.disabled = true;
        clear();
        show('muted', t('channel.testing'));
        try {
          const r = await post(acct('/inboxes/test_connection'), body());
          if (r.ok) show('ok-text', okText(r));
          else {
            result.dataset.step = r.step || '';
            const sentence = r.message || t(`channel.step.${r.step}`);
            const details = steps && typeof r.details === 'string' && r.details && !sentence.includes(r.details) ? h('span', { class: 'test-details' }, r.details) : null;
            show('error-text', steps && r.step ? h('strong', null, `${t(`channel.step.${r.step}`)}: `) : null, sentence, details);
          }
        } catch (ex) {
          show('error-text', errorText(ex));
        }
        btn.disabled = false;
      },
    },
    t('channel.test'),
  );
  if (watch) {
    const stale = () => {
      clear();
      const refused = watch.closest('form') && watch.closest('form').querySelector('.form-error');
      if (refused) refused.hidden = true;
    };
    watch.addEventListener('input', stale);
    watch.addEventListener('change', stale);
  }
  return { el: h('div', { class: 'test-connection' }, btn, result), clear };
}

const STATE_ICONS = { connected: 'checkCircle', error: 'alert', connecting: 'clock', not_configured: 'x' };

/** The inbox's `connection_status` as one line: the state, since when, and the server's why. */
function statusLine(s) {
  const state = STATE_ICONS[s && s.state] ? s.state : 'not_configured';
  return h(
    'div',
    { class: ['conn-status', state], dataset: { connectionState: state, code: (s && s.code) || '' } },
    icon(STATE_ICONS[state], { size: 15 }),
    h('strong', null, t(`inboxui.state.${state}`)),
    s && s.since ? h('time', { class: 'muted', title: fullStamp(s.since) }, t('inboxui.stateSince', { time: stamp(s.since), age: age(s.since) })) : null,
    s && s.message ? h('span', { class: ['conn-message', state === 'error' && 'error-text'] }, s.message) : null,
  );
}

/**
 * The live connection status of an inbox, with a button that asks the server again. While
 * the inbox is still connecting it asks again every few seconds, as long as the line is on
 * the page. Returns `{ el, refresh() }`.
 */
export function connectionStatus(inboxId, initial) {
  const line = h('div', { class: 'conn-status-line', role: 'status' });
  let timer = null;
  const draw = (s) => {
    replace(line, statusLine(s));
    clearTimeout(timer);
    if (s && s.state === 'connecting') timer = setTimeout(() => (line.isConnected ? refresh() : null), 3000);
  };
  const refresh = async () => {
    try {
      draw((await get(acct(`/inboxes/${inboxId}`))).connection_status);
    } catch (ex) {
      replace(line, h('span', { class: 'error-text' }, errorText(ex)));
    }
  };
  draw(initial);
  const again = h('button', { type: 'button', class: 'icon-btn', dataset: { action: 'refresh-status' }, title: t('inboxui.refreshStatus'), 'aria-label': t('inboxui.refreshStatus'), onclick: refresh }, icon('refresh', { size: 14 }));
  return { el: h('div', { class: 'conn-status-box' }, line, again), refresh };
}
