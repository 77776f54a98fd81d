// One inbox's settings page (Settings → Inboxes → an inbox): every option the inbox API
// accepts has a control here, from the widget's look and pre-chat form to identity
// validation, routing, reply targets, working hours, texts and members.
//
// Each control carries the API path it edits in `data-setting` (its dataset's `setting`
// below): crates/parley/tests/api/console_assets/inbox_settings.rs compares those with the
// properties of the inbox update body in the served OpenAPI document, so an inbox setting
// added to the API without a control here (or a reason to stay API-only) fails that test.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, patch, del, request, acct } from '../api.js';
import { app, reloadOne } from '../store.js';
import { field, check, numberOrNull, toast, errorText, copyText, icon, confirmDialog, options, channelIcon, channelName, avatar } from '../ui.js';
import { connectionFields, connectionStatus, testConnection, MAILBOX_DEFAULTS } from './channel-connection.js';

export function pageHead(title, ...actions) {
  return h('header', { class: 'page-head' }, h('h2', null, title), h('div', { class: 'page-actions' }, actions));
}

/** Saves part of the inbox; a toast says how it went. Resolves to the updated inbox or null. */
async function save(id, body) {
  try {
    const r = await patch(acct(`/inboxes/${id}`), body);
    toast(t('common.saved'));
    return r;
  } catch (ex) {
    toast(errorText(ex), 'error');
    return null;
  }
}

function card(key, title, hint, ...body) {
  return h('section', { class: 'card', dataset: { card: key } }, h('h3', null, title), hint ? h('p', { class: 'small muted' }, hint) : null, body);
}

export async function inboxDetail(el, id, live) {
  replace(el, h('p', { class: 'muted' }, t('common.loading')));
  let inbox;
  let members = [];
  try {
    [inbox, members] = await Promise.all([get(acct(`/inboxes/${id}`)), get(acct(`/inbox_members/${id}`)).then((r) => r.payload || [])]);
  } catch (e) {
    if (live()) replace(el, h('p', { class: 'form-error' }, errorText(e)), h('a', { href: '#/settings/inboxes' }, t('common.back')));
    return;
  }
  if (!live()) return;
  const web = inbox.channel_type === 'Channel::WebWidget';
  const cs = inbox.channel_settings || {};

  const name = h('input', { name: 'name', value: inbox.name, required: true, maxLength: 255, dataset: { setting: 'name' } });
  const avatarUrl = h('input', { name: 'avatar_url', type: 'url', value: inbox.avatar_url || '', placeholder: 'https://shop.example/logo.png', dataset: { setting: 'avatar_url' } });
  const website = h('input', { name: 'website_url', type: 'url', value: inbox.website_url || '', dataset: { setting: 'channel.website_url' } });
  const color = h('input', { name: 'widget_color', type: 'color', value: /^#[0-9a-f]{6}$/i.test(inbox.widget_color || '') ? inbox.widget_color : '#2463eb', dataset: { setting: 'channel.widget_color' } });
  const position = h('select', { name: 'widget_position', dataset: { setting: 'channel.widget_position' } }, options([['right', t('inboxui.positionRight')], ['left', t('inboxui.positionLeft')]], cs.widget_position || 'right'));
  const title = h('input', { name: 'welcome_title', value: inbox.welcome_title || '', maxLength: 255, dataset: { setting: 'channel.welcome_title' } });
  const tagline = h('input', { name: 'welcome_tagline', value: inbox.welcome_tagline || '', maxLength: 255, dataset: { setting: 'channel.welcome_tagline' } });
  const replyTime = h('select', { name: 'reply_time', dataset: { setting: 'channel.reply_time' } }, options([['', '—'], ['in_a_few_minutes', t('settings.replyMinutes')], ['in_a_few_hours', t('settings.replyHours')], ['in_a_day', t('settings.replyDay')]], inbox.reply_time || ''));
  const webhook = h('input', { name: 'webhook_url', type: 'url', value: inbox.webhook_url || '', dataset: { setting: 'channel.webhook_url' } });
  const greetingOn = h('input', { type: 'checkbox', name: 'greeting_enabled', checked: inbox.greeting_enabled, dataset: { setting: 'greeting_enabled' } });
  const greeting = h('textarea', { rows: 2, name: 'greeting_message', value: inbox.greeting_message || '', maxLength: 2000, dataset: { setting: 'greeting_message' } });
  const general = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        const channel = {};
        if (web) Object.assign(channel, { website_url: website.value.trim(), widget_color: color.value, widget_position: position.value, welcome_title: title.value, welcome_tagline: tagline.value, reply_time: replyTime.value || null });
        if (inbox.channel_type === 'Channel::Api') channel.webhook_url = webhook.value.trim();
        if (await save(id, { name: name.value.trim(), avatar_url: avatarUrl.value.trim(), greeting_enabled: greetingOn.checked, greeting_message: greeting.value, channel })) await reloadOne('inboxes');
      },
    },
    field(t('settings.name'), name),
    field(t('inboxui.avatarUrl'), avatarUrl, t('inboxui.avatarUrlHint')),
    web ? [field(t('settings.websiteUrl'), website), field(t('settings.widgetColor'), color), field(t('inboxui.position'), position), field(t('settings.welcomeTitle'), title), field(t('settings.welcomeTagline'), tagline), field(t('settings.replyTime'), replyTime)] : null,
    inbox.channel_type === 'Channel::Api' ? field(t('settings.webhookUrl'), webhook, t('settings.webhookHint')) : null,
    h('label', { class: 'check' }, greetingOn, t('settings.greetingEnabled')),
    field(t('settings.greetingMessage'), greeting, web ? t('inboxui.greetingHint') : null),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save'))),
  );

  const snippet = inbox.web_widget_script
    ? h(
        'section',
        { class: 'card' },
        h('h3', null, t('settings.embed')),
        h('p', { class: 'small muted' }, t('settings.embedHint')),
        h('pre', { class: 'snippet', dataset: { snippet: '' } }, inbox.web_widget_script),
        h('button', { type: 'button', class: 'btn', onclick: () => copyText(inbox.web_widget_script) }, icon('copy', { size: 14 }), t('common.copy')),
      )
    : null;

  const identifier = h(
    'section',
    { class: 'card' },
    h('h3', null, t('settings.identifier')),
    h('p', { class: 'small muted' }, t('settings.identifierHint')),
    h('div', { class: 'copy-row' }, h('code', { class: 'mono' }, inbox.inbox_identifier), h('button', { type: 'button', class: 'btn small', onclick: () => copyText(inbox.inbox_identifier) }, icon('copy', { size: 13 }), t('common.copy'))),
  );

  const widgetCards = web ? [preChatCard(inbox), availabilityCard(inbox), csatCard(inbox), identityCard(inbox)] : [connectionCard(inbox)];

  replace(
    el,
    pageHead(
      h('span', { class: 'inbox-title' }, channelIcon(inbox.channel_type, 16), inbox.name, h('small', { class: 'muted' }, channelName(inbox.channel_type))),
      h('a', { class: 'btn', href: '#/settings/inboxes' }, t('common.back')),
    ),
    h('div', { class: 'cards' }, snippet, h('section', { class: 'card', dataset: { card: 'general' } }, h('h3', null, t('settings.general')), general), widgetCards, identifier, routingCard(inbox), botCard(inbox), slaCard(inbox), workingHours(inbox), textsCard(inbox), membersCard(id, members)),
    h(
      'section',
      { class: 'card danger-zone' },
      h('h3', null, t('settings.dangerZone')),
      h(
        'button',
        {
          type: 'button',
          class: 'btn danger',
          onclick: async () => {
            if (!(await confirmDialog(t('settings.deleteInboxConfirm', { name: inbox.name }), t('common.delete')))) return;
            try {
              await del(acct(`/inboxes/${id}`));
              await reloadOne('inboxes');
              location.hash = '#/settings/inboxes';
            } catch (ex) {
              toast(errorText(ex), 'error');
            }
          },
        },
        icon('trash', { size: 14 }),
        t('settings.deleteInbox'),
      ),
    ),
  );
}

const PRE_CHAT_FIELDS = ['fullName', 'emailAddress', 'phoneNumber'];

/**
 * The pre-chat form: on/off, its intro line, which contact fields it asks for (shown,
 * required, own label), and whether the visitor picks a department and from which teams.
 */
function preChatCard(inbox) {
  const cs = inbox.channel_settings || {};
  const opts = cs.pre_chat_form_options || {};
  const byName = Object.fromEntries((opts.pre_chat_fields || []).map((f) => [f.name, f]));
  const enabled = check(t('inboxui.preChatEnabled'), { name: 'pre_chat_form_enabled', checked: Boolean(inbox.pre_chat_form_enabled), dataset: { setting: 'channel.pre_chat_form_enabled' } });
  const message = h('input', { name: 'pre_chat_message', maxLength: 500, value: opts.pre_chat_message || '', placeholder: t('inboxui.preChatMessagePlaceholder'), dataset: { setting: 'channel.pre_chat_form_options.pre_chat_message' } });
  const rows = PRE_CHAT_FIELDS.map((n) => {
    // Without a stored entry the widget asks for the name and the e-mail, the e-mail required.
    const f = byName[n] || { name: n, enabled: n !== 'phoneNumber', required: n === 'emailAddress' };
    const shown = h('input', { type: 'checkbox', checked: f.enabled !== false, 'aria-label': `${t(`inboxui.field.${n}`)}: ${t('inboxui.fieldShown')}`, dataset: { field: n, setting: 'channel.pre_chat_form_options.pre_chat_fields.enabled' } });
    const required = h('input', { type: 'checkbox', checked: Boolean(f.required), 'aria-label': `${t(`inboxui.field.${n}`)}: ${t('inboxui.fieldRequired')}`, dataset: { field: n, setting: 'channel.pre_chat_form_options.pre_chat_fields.required' } });
    const label = h('input', { maxLength: 100, value: f.label || '', placeholder: t(`inboxui.field.${n}`), 'aria-label': `${t(`inboxui.field.${n}`)}: ${t('inboxui.fieldLabel')}`, dataset: { field: n, setting: 'channel.pre_chat_form_options.pre_chat_fields.label' } });
    const sync = () => {
      required.disabled = !shown.checked;
      if (!shown.checked) required.checked = false;
    };
    shown.addEventListener('change', sync);
    sync();
    const row = h('tr', { dataset: { prechatField: n, setting: 'channel.pre_chat_form_options.pre_chat_fields.name' } }, h('td', null, t(`inboxui.field.${n}`)), h('td', { class: 'center' }, shown), h('td', { class: 'center' }, required), h('td', null, label));
    row.value = () => ({ name: n, enabled: shown.checked, required: shown.checked && required.checked, label: label.value.trim() || null });
    return row;
  });
  const choice = check(t('inboxui.departmentChoice'), { name: 'department_choice', checked: opts.department_choice !== false, dataset: { setting: 'channel.pre_chat_form_options.department_choice' } });
  const chosen = new Set(opts.department_team_ids || []);
  const teamBoxes = app.teams.map((x) => h('label', { class: 'check' }, h('input', { type: 'checkbox', value: String(x.id), checked: chosen.has(x.id), dataset: { setting: 'channel.pre_chat_form_options.department_team_ids' } }), x.name));
  const teamList = h('fieldset', { class: 'plain' }, h('legend', null, t('inboxui.departmentTeams')), teamBoxes.length ? h('div', { class: 'check-list' }, teamBoxes) : h('p', { class: 'small muted' }, t('inboxui.noTeams')), h('small', { class: 'hint' }, t('inboxui.departmentTeamsHint')));
  const syncChoice = () => {
    teamList.hidden = !choice.input.checked;
  };
  choice.input.addEventListener('change', syncChoice);
  syncChoice();
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: async (e) => {
        e.preventDefault();
        const teamIds = teamBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => Number(i.value));
        await save(inbox.id, {
          channel: {
            pre_chat_form_enabled: enabled.input.checked,
            pre_chat_form_options: { pre_chat_message: message.value.trim() || null, pre_chat_fields: rows.map((r) => r.value()), department_choice: choice.input.checked, department_team_ids: teamIds },
          },
        });
      },
    },
    enabled.el,
    field(t('inboxui.preChatMessage'), message),
    h('table', { class: 'prechat-fields' }, h('thead', null, h('tr', null, h('th', null, t('inboxui.field')), h('th', null, t('inboxui.fieldShown')), h('th', null, t('inboxui.fieldRequired')), h('th', null, t('inboxui.fieldLabel')))), h('tbody', null, rows)),
    choice.el,
    teamList,
    saveButton(),
  );
  return card('prechat', t('inboxui.preChat'), t('inboxui.preChatHint'), form);
}

/** Where the widget may appear and what it offers when nobody can chat. */
function availabilityCard(inbox) {
  const cs = inbox.channel_settings || {};
  const domains = h('textarea', { name: 'allowed_domains', rows: 2, maxLength: 2000, value: inbox.allowed_domains || '', placeholder: 'shop.example, *.shop.example', dataset: { setting: 'channel.allowed_domains' } });
  const noAgents = h('select', { name: 'offline_form_when_no_agents', dataset: { setting: 'channel.offline_form_when_no_agents' } }, options([['hours', t('inboxui.offlineHours')], ['agents', t('inboxui.offlineAgents')]], cs.offline_form_when_no_agents ? 'agents' : 'hours'));
  const form = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        await save(inbox.id, { channel: { allowed_domains: domains.value.trim(), offline_form_when_no_agents: noAgents.value === 'agents' } });
      },
    },
    field(t('inboxui.offlineForm'), noAgents, t('inboxui.offlineFormHint')),
    field(t('inboxui.allowedDomains'), domains, t('inboxui.allowedDomainsHint')),
    saveButton(),
  );
  return card('availability', t('inboxui.availability'), null, form);
}

/** The satisfaction survey: on/off and its question in both languages. */
function csatCard(inbox) {
  const on = check(t('inboxui.csatEnabled'), { name: 'csat_survey_enabled', checked: Boolean(inbox.csat_survey_enabled), dataset: { setting: 'csat_survey_enabled' } });
  const boxes = ['ru', 'en'].map((lang) => h('textarea', { rows: 2, maxLength: 2000, name: `csat_${lang}`, disabled: true, dataset: { lang, setting: 'text_templates' } }));
  let tpl = null;
  get(acct(`/inboxes/${inbox.id}/templates`))
    .then((r) => {
      tpl = (r.payload || []).find((x) => x.id === 'csat_survey');
      if (!tpl) return;
      for (const b of boxes) {
        b.value = tpl.overrides[b.dataset.lang] ?? tpl.defaults[b.dataset.lang];
        b.maxLength = tpl.max_length;
        b.disabled = false;
      }
    })
    .catch((ex) => toast(errorText(ex), 'error'));
  const form = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        const body = { csat_survey_enabled: on.input.checked };
        if (tpl) {
          body.text_templates = {};
          // The default wording is stored as "no override", so a later change of the default reaches this inbox.
          for (const b of boxes) body.text_templates[b.dataset.lang] = { csat_survey: b.value.trim() && b.value !== tpl.defaults[b.dataset.lang] ? b.value : null };
        }
        await save(inbox.id, body);
      },
    },
    on.el,
    boxes.map((b) => field(t('inboxui.csatQuestion', { lang: t(`lang.${b.dataset.lang}`) }), b)),
    h('small', { class: 'hint' }, t('inboxui.csatHint')),
    saveButton(),
  );
  return card('csat', t('inboxui.csat'), null, form);
}

/**
 * Connection options of a Telegram or e-mail inbox, by API path, in the order and groups the
 * console shows them (the New inbox dialog too); secrets are write-only.
 */
export const CONNECTION = {
  'Channel::Telegram': [
    { setting: 'channel.bot_token', kind: 'secret' },
    { setting: 'channel.bot_name', kind: 'text' },
  ],
  'Channel::Email': [
    { setting: 'channel.email', kind: 'email', group: 'mailbox' },
    { setting: 'channel.provider', kind: 'provider', group: 'mailbox' },
    { setting: 'channel.imap_enabled', kind: 'bool', group: 'imap' },
    { setting: 'channel.imap_address', kind: 'text', group: 'imap' },
    { setting: 'channel.imap_port', kind: 'port', group: 'imap' },
    { setting: 'channel.imap_login', kind: 'text', group: 'imap' },
    { setting: 'channel.imap_password', kind: 'secret', group: 'imap' },
    { setting: 'channel.imap_enable_ssl', kind: 'bool', group: 'imap' },
    { setting: 'channel.smtp_enabled', kind: 'bool', group: 'smtp' },
    { setting: 'channel.smtp_address', kind: 'text', group: 'smtp' },
    { setting: 'channel.smtp_port', kind: 'port', group: 'smtp' },
    { setting: 'channel.smtp_login', kind: 'text', group: 'smtp' },
    { setting: 'channel.smtp_password', kind: 'secret', group: 'smtp' },
    { setting: 'channel.smtp_enable_ssl_tls', kind: 'bool', group: 'smtp' },
    { setting: 'channel.smtp_enable_starttls_auto', kind: 'bool', group: 'smtp' },
    { setting: 'channel.smtp_authentication', kind: 'auth', group: 'smtp' },
    { setting: 'channel.smtp_domain', kind: 'text', group: 'smtp' },
  ],
};

/**
 * How a Telegram bot or a mailbox is connected, and how that connection is doing right now.
 * Secrets (bot token, passwords) are never shown: an empty box keeps the stored one, a
 * filled one replaces it. A mailbox's "Test connection" sends the card's values with the
 * inbox's id, so the server tests the stored passwords where the boxes are empty.
 */
function connectionCard(inbox) {
  const spec = CONNECTION[inbox.channel_type];
  if (!spec) return null;
  const cs = inbox.channel_settings || {};
  const email = inbox.channel_type === 'Channel::Email';
  // An option never set reads as the server's default (IMAP and SMTP on, TLS, STARTTLS).
  const fallback = email ? MAILBOX_DEFAULTS : {};
  const fields = connectionFields(spec, (k) => inbox[k] ?? cs[k] ?? fallback[k], { keptSecrets: true });
  const status = email || inbox.connection_status ? connectionStatus(inbox.id, inbox.connection_status) : null;
  const tester = email ? testConnection(() => ({ channel: { type: 'email', ...fields.value() }, inbox_id: inbox.id }), { okText: () => t('channel.emailOk'), steps: true, watch: fields.el }) : null;
  const form = h(
    'form',
    {
      class: ['stack', email ? 'conn-form' : 'narrow'],
      onsubmit: async (e) => {
        e.preventDefault();
        if (await save(inbox.id, { channel: fields.value() })) {
          fields.clearSecrets();
          if (status) status.refresh();
        }
      },
    },
    fields.el,
    tester ? tester.el : null,
    saveButton(),
  );
  return card('connection', t('inboxui.connection'), t(email ? 'inboxui.connectionEmail' : 'inboxui.connectionTelegram'), status ? status.el : null, form);
}

/** What the shop's backend runs to sign a customer's id, per language. */
function hashSnippets(secret) {
  const s = secret || 'INBOX_SECRET';
  return [
    ['Node.js', `const crypto = require('crypto');\nconst identifierHash = crypto.createHmac('sha256', '${s}').update(String(customerId)).digest('hex');`],
    ['PHP', `$identifierHash = hash_hmac('sha256', (string) $customerId, '${s}');`],
    ['Python', `import hmac, hashlib\nidentifier_hash = hmac.new(b'${s}', str(customer_id).encode(), hashlib.sha256).hexdigest()`],
    [t('inboxui.inThePage'), `Parley.setUser('<customerId>', { name: '…', email: '…', identifier_hash: '<identifierHash>' });`],
  ];
}

/**
 * Identity validation: the switch, the secret (administrators only, as the API shows it)
 * with copy and rotate, and the lines the shop's backend needs to sign a customer's id.
 */
function identityCard(inbox) {
  const mandatory = check(t('inboxui.hmacMandatory'), { name: 'hmac_mandatory', checked: Boolean(inbox.hmac_mandatory), dataset: { setting: 'hmac_mandatory' } });
  let secret = inbox.hmac_token || null;
  const secretBox = h('div', { class: 'stack' });
  const snippets = h('div', { class: 'stack' });
  let revealed = false;
  const drawSecret = () => {
    if (!secret) {
      replace(secretBox, h('p', { class: 'small muted', dataset: { secretHidden: '' } }, t('inboxui.secretAdminsOnly')));
      replace(snippets, hashSnippets(null).map(([lang, code]) => h('div', null, h('strong', { class: 'small' }, lang), h('pre', { class: 'code-lines' }, code))));
      return;
    }
    const code = h('code', { class: 'mono', dataset: { secret: '' } }, revealed ? secret : '•'.repeat(24));
    replace(
      secretBox,
      h(
        'div',
        { class: 'copy-row' },
        code,
        h('button', { type: 'button', class: 'btn small', dataset: { action: 'reveal-secret' }, onclick: () => ((revealed = !revealed), drawSecret()) }, revealed ? t('inboxui.hide') : t('inboxui.show')),
        h('button', { type: 'button', class: 'btn small', dataset: { action: 'copy-secret' }, onclick: () => copyText(secret) }, icon('copy', { size: 13 }), t('common.copy')),
        h(
          'button',
          {
            type: 'button',
            class: 'btn small danger',
            dataset: { action: 'rotate-secret' },
            onclick: async () => {
              if (!(await confirmDialog(t('inboxui.rotateConfirm'), t('inboxui.rotate')))) return;
              try {
                const r = await post(acct(`/inboxes/${inbox.id}/reset_hmac_token`), {});
                secret = r.hmac_token || null;
                revealed = true;
                drawSecret();
                toast(t('inboxui.rotated'));
              } catch (ex) {
                toast(errorText(ex), 'error');
              }
            },
          },
          icon('refresh', { size: 13 }),
          t('inboxui.rotate'),
        ),
      ),
    );
    replace(
      snippets,
      hashSnippets(revealed ? secret : null).map(([lang, code]) =>
        h('div', null, h('div', { class: 'copy-row' }, h('strong', { class: 'small' }, lang), h('button', { type: 'button', class: 'btn small', onclick: () => copyText(hashSnippets(secret).find((x) => x[0] === lang)[1]) }, icon('copy', { size: 13 }), t('common.copy'))), h('pre', { class: 'code-lines', dataset: { hashSnippet: lang } }, code)),
      ),
    );
  };
  drawSecret();
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: async (e) => {
        e.preventDefault();
        await save(inbox.id, { hmac_mandatory: mandatory.input.checked });
      },
    },
    mandatory.el,
    h('p', { class: 'small muted' }, t('inboxui.hmacHint')),
    saveButton(),
  );
  return card('identity', t('inboxui.identity'), null, form, h('h4', null, t('inboxui.secret')), secretBox, h('h4', null, t('inboxui.snippets')), h('p', { class: 'small muted' }, t('inboxui.snippetsHint')), snippets);
}

/** Seconds shown as minutes (3 s → 0.05). */
function minutes(secs) {
  if (secs === null || secs === undefined || secs === '') return '';
  return String(Math.round((Number(secs) / 60) * 100) / 100);
}

export function saveButton() {
  return h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save')));
}

/** How conversations of the inbox reach agents: automatically or by hand, team, re-assignment. */
function routingCard(inbox) {
  const auto = h('input', { type: 'checkbox', checked: inbox.enable_auto_assignment, name: 'enable_auto_assignment', dataset: { setting: 'enable_auto_assignment' } });
  const team = h('select', { name: 'default_team_id', dataset: { setting: 'default_team_id' } }, options([['', t('settings.noDefaultTeam')], ...app.teams.map((x) => [x.id, x.name])], inbox.default_team_id ?? ''));
  const reassign = h('input', { type: 'number', min: 1, max: 10080, step: 1, name: 'reassign_after_minutes', dataset: { setting: 'reassign_after_minutes' }, value: inbox.reassign_after_minutes ?? '', placeholder: t('settings.never') });
  const form = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          // No reload of the reference data: that would redraw the page over other cards' edits.
          await patch(acct(`/inboxes/${inbox.id}`), { enable_auto_assignment: auto.checked, default_team_id: team.value ? Number(team.value) : null, reassign_after_minutes: numberOrNull(reassign) });
          toast(t('common.saved'));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    h('label', { class: 'check' }, auto, t('settings.autoAssign')),
    h('p', { class: 'small muted' }, t('settings.autoAssignHint')),
    field(t('settings.defaultTeam'), team, t('settings.defaultTeamHint')),
    field(t('settings.reassignAfter'), reassign, t('settings.reassignAfterHint')),
    saveButton(),
  );
  return h('section', { class: 'card', dataset: { card: 'routing' } }, h('h3', null, t('settings.assignment')), form);
}

/** The agent bot that answers the inbox's new conversations first (Settings → Bots). */
function botCard(inbox) {
  const select = h('select', { name: 'agent_bot', dataset: { inboxBot: '' } }, options([['', t('bots.noBot')]], ''));
  Promise.all([get(acct('/agent_bots')), get(acct(`/inboxes/${inbox.id}/agent_bot`))])
    .then(([bots, current]) => {
      const now = current.agent_bot ? current.agent_bot.id : '';
      replace(select, options([['', t('bots.noBot')], ...bots.map((b) => [b.id, `${b.name} (${t(`bots.type.${b.bot_type}`)})`])], now));
    })
    .catch((ex) => toast(errorText(ex), 'error'));
  const form = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await post(acct(`/inboxes/${inbox.id}/set_agent_bot`), { agent_bot: select.value ? Number(select.value) : null });
          toast(t('common.saved'));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    field(t('bots.inboxBot'), select, t('bots.inboxBotHint')),
    h('p', { class: 'small' }, h('a', { href: '#/settings/bots' }, t('bots.manage'))),
    saveButton(),
  );
  return h('section', { class: 'card', dataset: { card: 'bot' } }, h('h3', null, t('settings.bots')), form);
}

const SLA_PRIORITIES = ['none', 'low', 'medium', 'high', 'urgent'];

/** Reply targets per priority, when they count, and what happens when one is missed. */
function slaCard(inbox) {
  const policy = inbox.sla_policy || null;
  const targets = (policy && policy.targets) || {};
  const esc = (policy && policy.escalation) || {};
  const enabled = h('input', { type: 'checkbox', checked: Boolean(policy), name: 'sla_enabled', dataset: { setting: 'sla_policy' } });
  const businessOnly = h('input', { type: 'checkbox', checked: Boolean(policy && policy.only_during_business_hours), name: 'only_during_business_hours', dataset: { setting: 'sla_policy.only_during_business_hours' } });
  const notify = h('input', { type: 'checkbox', checked: Boolean(esc.notify_supervisors), name: 'notify_supervisors', dataset: { setting: 'sla_policy.escalation.notify_supervisors' } });
  const raise = h('input', { type: 'checkbox', checked: Boolean(esc.raise_priority), name: 'raise_priority', dataset: { setting: 'sla_policy.escalation.raise_priority' } });
  const reassign = h('input', { type: 'checkbox', checked: Boolean(esc.reassign), name: 'reassign', dataset: { setting: 'sla_policy.escalation.reassign' } });
  const rows = SLA_PRIORITIES.map((p) => {
    const tg = targets[p] || {};
    const first = h('input', { type: 'number', min: 0, step: 'any', value: minutes(tg.first_response_time_threshold), 'aria-label': `${t(`priority.${p}`)}: ${t('settings.slaFirst')}`, dataset: { priority: p, target: 'first', setting: 'sla_policy.targets.first_response_time_threshold' } });
    const next = h('input', { type: 'number', min: 0, step: 'any', value: minutes(tg.next_response_time_threshold), 'aria-label': `${t(`priority.${p}`)}: ${t('settings.slaNext')}`, dataset: { priority: p, target: 'next', setting: 'sla_policy.targets.next_response_time_threshold' } });
    const row = h('tr', null, h('td', null, t(`priority.${p}`)), h('td', null, first), h('td', null, next));
    // Both targets of a priority, or neither (it then uses those of "no priority").
    row.value = () => {
      const f = numberOrNull(first, 60);
      const n = numberOrNull(next, 60);
      if (!f && !n) return null;
      if (!f || !n) {
        const e = new Error(t('settings.slaBoth', { priority: t(`priority.${p}`) }));
        (f ? next : first).focus();
        throw e;
      }
      return { first_response_time_threshold: f, next_response_time_threshold: n };
    };
    row.priority = p;
    return row;
  });
  const body = h(
    'div',
    { class: 'stack' },
    h('label', { class: 'check' }, businessOnly, t('settings.slaBusinessHours')),
    h('table', { class: 'sla-targets' }, h('thead', null, h('tr', null, h('th', null, t('conv.priority')), h('th', null, t('settings.slaFirst')), h('th', null, t('settings.slaNext')))), h('tbody', null, rows)),
    h('p', { class: 'small muted' }, t('settings.slaTargetsHint')),
    h('fieldset', { class: 'plain' }, h('legend', null, t('settings.slaEscalation')), h('label', { class: 'check' }, notify, t('settings.slaNotify')), h('label', { class: 'check' }, raise, t('settings.slaRaise')), h('label', { class: 'check' }, reassign, t('settings.slaReassign'))),
  );
  const sync = () => {
    body.hidden = !enabled.checked;
  };
  enabled.addEventListener('change', sync);
  sync();
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: async (e) => {
        e.preventDefault();
        let sla = null;
        try {
          if (enabled.checked) {
            const tg = {};
            for (const r of rows) {
              const v = r.value();
              if (v) tg[r.priority] = v;
            }
            sla = { only_during_business_hours: businessOnly.checked, targets: tg, escalation: { notify_supervisors: notify.checked, raise_priority: raise.checked, reassign: reassign.checked } };
          }
          await patch(acct(`/inboxes/${inbox.id}`), { sla_policy: sla });
          toast(t('common.saved'));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    h('label', { class: 'check' }, enabled, t('settings.slaEnabled')),
    body,
    saveButton(),
  );
  return h('section', { class: 'card', dataset: { card: 'sla' } }, h('h3', null, t('settings.sla')), h('p', { class: 'small muted' }, t('settings.slaHint')), form);
}

/**
 * The inbox's language and its wording of what Parley writes itself (auto-replies, the
 * survey, e-mails to customers and managers): each template with its variables, an edit
 * box, a preview with example values and a reset to the default text.
 */
function textsCard(inbox) {
  const list = h('div', { class: 'stack texts-list' }, h('p', { class: 'muted' }, t('common.loading')));
  const locale = h('select', { name: 'locale', dataset: { setting: 'locale' } }, options([['', t('texts.localeAccount')], ['ru', t('lang.ru')], ['en', t('lang.en')]], inbox.locale || ''));
  const editLang = h('select', { name: 'texts_lang', 'aria-label': t('texts.editLang') }, options([['ru', t('lang.ru')], ['en', t('lang.en')]], 'ru'));
  let data = null;
  const load = async () => {
    try {
      data = await get(acct(`/inboxes/${inbox.id}/templates`));
      if (!editLang.dataset.touched) editLang.value = data.locale;
      draw();
    } catch (ex) {
      replace(list, h('p', { class: 'form-error' }, errorText(ex)));
    }
  };
  const draw = () => {
    const lang = editLang.value;
    const groups = ['customer', 'manager'].map((aud) => {
      const items = data.payload.filter((x) => x.audience === aud).map((tpl) => templateEditor(inbox, tpl, lang, load));
      return h('div', { class: 'stack' }, h('h4', null, t(`texts.audience.${aud}`)), items);
    });
    replace(list, groups);
  };
  editLang.addEventListener('change', () => {
    editLang.dataset.touched = '1';
    if (data) draw();
  });
  const localeForm = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await patch(acct(`/inboxes/${inbox.id}`), { locale: locale.value || null });
          editLang.dataset.touched = '';
          toast(t('common.saved'));
          await load();
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    field(t('texts.locale'), locale, t('texts.localeHint')),
    saveButton(),
  );
  load();
  return h(
    'section',
    { class: 'card texts-card', dataset: { card: 'texts' } },
    h('h3', null, t('texts.title')),
    h('p', { class: 'small muted' }, t('texts.hint')),
    localeForm,
    field(t('texts.editLang'), editLang),
    list,
  );
}

/** One template: its variables, the wording in `lang`, preview, save and reset. */
function templateEditor(inbox, tpl, lang, reload) {
  const own = tpl.overrides[lang];
  const box = h('textarea', { rows: 3, maxLength: tpl.max_length, value: own ?? tpl.defaults[lang], 'aria-label': t(`texts.tpl.${tpl.id}`), dataset: { template: tpl.id, setting: 'text_templates' } });
  const out = h('pre', { class: 'texts-preview', hidden: true, dataset: { preview: tpl.id } });
  const vars = h(
    'div',
    { class: 'chips' },
    tpl.variables.map((v) =>
      h(
        'button',
        {
          type: 'button',
          class: 'label-chip mono',
          title: t(`texts.var.${v}`),
          onclick: () => {
            box.setRangeText(`{{${v}}}`, box.selectionStart, box.selectionEnd, 'end');
            box.focus();
          },
        },
        `{{${v}}}`,
      ),
    ),
  );
  const varHelp = h('small', { class: 'hint' }, tpl.variables.map((v) => `{{${v}}} — ${t(`texts.var.${v}`)}`).join('; '));
  const preview = async () => {
    try {
      const r = await post(acct(`/inboxes/${inbox.id}/templates/preview`), { id: tpl.id, locale: lang, text: box.value });
      out.textContent = r.text;
      out.hidden = false;
    } catch (ex) {
      toast(errorText(ex), 'error');
    }
  };
  const save = async (text) => {
    try {
      await patch(acct(`/inboxes/${inbox.id}`), { text_templates: { [lang]: { [tpl.id]: text } } });
      toast(t('common.saved'));
      await reload();
    } catch (ex) {
      toast(errorText(ex), 'error');
    }
  };
  return h(
    'div',
    { class: 'texts-item', dataset: { templateItem: tpl.id } },
    h('div', { class: 'texts-head' }, h('strong', null, t(`texts.tpl.${tpl.id}`)), own !== undefined ? h('span', { class: 'badge' }, t('texts.changed')) : h('span', { class: 'small muted' }, t('texts.default'))),
    vars,
    box,
    varHelp,
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'btn', dataset: { action: 'preview' }, onclick: preview }, t('texts.preview')),
      h('button', { type: 'button', class: 'btn', dataset: { action: 'reset' }, disabled: own === undefined, onclick: () => save(null) }, t('texts.reset')),
      h('button', { type: 'button', class: 'btn primary', dataset: { action: 'save' }, onclick: () => save(box.value === tpl.defaults[lang] ? null : box.value) }, t('common.save')),
    ),
    out,
  );
}

/** Holiday dates: chips with a remove button, a date field and Add. `value()` gives the list. */
function holidaysField(initial) {
  let days = [...new Set((initial || []).filter((d) => /^\d{4}-\d{2}-\d{2}$/.test(d)))].sort();
  const chips = h('div', { class: 'chips holidays' });
  const input = h('input', { type: 'date', 'aria-label': t('settings.holidayDate'), dataset: { setting: 'holidays' } });
  const draw = () =>
    replace(
      chips,
      days.length
        ? days.map((d) =>
            h(
              'span',
              { class: 'label-chip', dataset: { holiday: d } },
              d,
              h(
                'button',
                {
                  type: 'button',
                  class: 'icon-btn tiny',
                  'aria-label': t('settings.removeHoliday', { date: d }),
                  onclick: () => {
                    days = days.filter((x) => x !== d);
                    draw();
                  },
                },
                icon('x', { size: 11 }),
              ),
            ),
          )
        : h('span', { class: 'small muted' }, t('settings.noHolidays')),
    );
  draw();
  const add = h(
    'button',
    {
      type: 'button',
      class: 'btn small',
      onclick: () => {
        const v = input.value;
        if (/^\d{4}-\d{2}-\d{2}$/.test(v) && !days.includes(v)) {
          days = [...days, v].sort();
          draw();
        }
        input.value = '';
      },
    },
    icon('plus', { size: 13 }),
    t('settings.addHoliday'),
  );
  const el = h('div', { class: 'field' }, h('span', { class: 'field-label' }, t('settings.holidays')), chips, h('div', { class: 'copy-row' }, input, add), h('small', { class: 'hint' }, t('settings.holidaysHint')));
  return { el, value: () => days };
}

const WEEK = [1, 2, 3, 4, 5, 6, 0];

function workingHours(inbox) {
  const enabled = h('input', { type: 'checkbox', name: 'working_hours_enabled', checked: inbox.working_hours_enabled, dataset: { setting: 'working_hours_enabled' } });
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const listId = `tz-${inbox.id}`;
  const tz = h('input', { value: inbox.timezone || 'UTC', list: listId, name: 'timezone', autocomplete: 'off', dataset: { setting: 'timezone' } });
  const ooo = h('textarea', { rows: 2, name: 'out_of_office_message', value: inbox.out_of_office_message || '', maxLength: 2000, dataset: { setting: 'out_of_office_message' } });
  const byDay = new Map((inbox.working_hours || []).map((d) => [d.day_of_week, d]));
  const pad = (n) => String(n ?? 0).padStart(2, '0');
  const rows = WEEK.map((dow) => {
    const d = byDay.get(dow) || { day_of_week: dow, closed_all_day: true };
    const closed = h('input', { type: 'checkbox', checked: d.closed_all_day, dataset: { setting: 'working_hours.closed_all_day' } });
    const allDay = h('input', { type: 'checkbox', checked: d.open_all_day, dataset: { setting: 'working_hours.open_all_day' } });
    const open = h('input', { type: 'time', dataset: { setting: 'working_hours.open_hour working_hours.open_minutes' }, value: d.open_hour !== null && d.open_hour !== undefined ? `${pad(d.open_hour)}:${pad(d.open_minutes)}` : '09:00' });
    const close = h('input', { type: 'time', dataset: { setting: 'working_hours.close_hour working_hours.close_minutes' }, value: d.close_hour !== null && d.close_hour !== undefined ? `${pad(d.close_hour)}:${pad(d.close_minutes)}` : '18:00' });
    const sync = () => {
      open.disabled = close.disabled = closed.checked || allDay.checked;
      allDay.disabled = closed.checked;
    };
    closed.addEventListener('change', sync);
    allDay.addEventListener('change', sync);
    sync();
    const row = h('tr', { dataset: { day: String(dow), setting: 'working_hours.day_of_week' } }, h('td', null, t(`day.${dow}`)), h('td', null, h('label', { class: 'check' }, closed, t('settings.closed'))), h('td', null, h('label', { class: 'check' }, allDay, t('settings.allDay'))), h('td', null, open, ' – ', close));
    row.value = () => {
      const [oh, om] = open.value.split(':').map(Number);
      const [ch, cm] = close.value.split(':').map(Number);
      return closed.checked
        ? { day_of_week: dow, closed_all_day: true }
        : allDay.checked
          ? { day_of_week: dow, closed_all_day: false, open_all_day: true }
          : { day_of_week: dow, closed_all_day: false, open_all_day: false, open_hour: oh, open_minutes: om, close_hour: ch, close_minutes: cm };
    };
    return row;
  });
  const holidays = holidaysField(inbox.holidays);
  const emails = h('input', { type: 'text', name: 'offhours_notify_emails', dataset: { setting: 'offhours_notify_emails' }, value: (inbox.offhours_notify_emails || []).join(', '), placeholder: 'boss@shop.example', autocomplete: 'off' });
  const digest = h('input', { type: 'checkbox', checked: Boolean(inbox.offhours_digest), name: 'offhours_digest', dataset: { setting: 'offhours_digest' } });
  const web = inbox.channel_type === 'Channel::WebWidget';
  const showHours = h('input', { type: 'checkbox', checked: Boolean((inbox.channel_settings || {}).show_working_hours), name: 'show_working_hours', dataset: { setting: 'channel.show_working_hours' } });
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: async (e) => {
        e.preventDefault();
        const list = emails.value.split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);
        try {
          await patch(acct(`/inboxes/${inbox.id}`), {
            working_hours_enabled: enabled.checked,
            timezone: tz.value.trim(),
            out_of_office_message: ooo.value,
            working_hours: rows.map((r) => r.value()),
            holidays: holidays.value(),
            offhours_notify_emails: list,
            offhours_digest: digest.checked,
            ...(web ? { channel: { show_working_hours: showHours.checked } } : {}),
          });
          toast(t('common.saved'));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    h('label', { class: 'check' }, enabled, t('settings.workingHoursEnabled')),
    web ? h('label', { class: 'check' }, showHours, t('inboxui.showHours')) : null,
    field(t('settings.timezone'), tz),
    h('datalist', { id: listId }, zones.map((z) => h('option', { value: z }))),
    h('table', { class: 'hours' }, h('tbody', null, rows)),
    holidays.el,
    field(t('settings.outOfOffice'), ooo),
    field(t('settings.offhoursEmails'), emails, t('settings.offhoursEmailsHint')),
    h('label', { class: 'check' }, digest, t('settings.offhoursDigest')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save'))),
  );
  return h('section', { class: 'card', dataset: { card: 'hours' } }, h('h3', null, t('settings.workingHours')), form);
}

function membersCard(inboxId, members) {
  const ids = new Set(members.map((m) => m.id));
  const boxes = app.agents.map((a) => {
    const cb = h('input', { type: 'checkbox', checked: ids.has(a.id), value: String(a.id) });
    return h('label', { class: 'check' }, cb, avatar(a.available_name || a.name, 20), `${a.available_name || a.name}`, h('small', { class: 'muted' }, ` ${t(`role.${a.role}`)}`));
  });
  return h(
    'section',
    { class: 'card' },
    h('h3', null, t('settings.members')),
    h('p', { class: 'small muted' }, t('settings.membersHint')),
    h(
      'form',
      {
        class: 'stack',
        onsubmit: async (e) => {
          e.preventDefault();
          const userIds = [...e.currentTarget.querySelectorAll('input[type=checkbox]:checked')].map((x) => Number(x.value));
          try {
            await request('PATCH', acct('/inbox_members'), { inbox_id: Number(inboxId), user_ids: userIds });
            toast(t('common.saved'));
          } catch (ex) {
            toast(errorText(ex), 'error');
          }
        },
      },
      h('div', { class: 'check-list' }, boxes),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save'))),
    ),
  );
}

