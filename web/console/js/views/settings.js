// Administrator settings: the list of inboxes and the new-inbox dialog (one inbox's page is
// inbox-settings.js), agents, teams, labels, canned responses, the account's routing rules
// outgoing webhooks (webhooks.js), agent bots (bots.js), automation rules and macros
// (automation.js), proactive invitations (campaigns.js).

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, patch, del, request, acct } from '../api.js';
import { app, reloadOne, agentPresence } from '../store.js';
import { field, toast, errorText, icon, confirmDialog, modal, options, channelIcon, channelName, avatar, numberOrNull } from '../ui.js';
import * as notify from '../notify.js';
import { reopenGuide } from './onboarding.js';
import { inboxDetail, pageHead, saveButton, CONNECTION } from './inbox-settings.js';
import { connectionFields, testConnection, MAILBOX_DEFAULTS } from './channel-connection.js';
import { webhooksSettings } from './webhooks.js';
import { automationSettings, macrosSettings } from './automation.js';
import { campaignsSettings } from './campaigns.js';
import { botsSettings } from './bots.js';

const SECTIONS = [
  ['inboxes', 'inbox'],
  ['agents', 'users'],
  ['teams', 'users'],
  ['labels', 'tag'],
  ['canned', 'message'],
  ['routing', 'queue'],
  ['webhooks', 'code'],
  ['bots', 'chat'],
  ['automation', 'refresh'],
  ['macros', 'keyboard'],
  ['campaigns', 'flag'],
];

export function renderSettings(section, sub) {
  const content = h('div', { class: 'settings-content' });
  const nav = h('nav', { class: 'settings-nav', 'aria-label': t('nav.settings') });
  const el = h('div', { class: 'settings-page' }, nav, h('div', { class: 'page-scroll' }, content));
  const page = {
    el,
    route(r) {
      draw(r.a || 'inboxes', r.b);
    },
    reference() {
      draw(current.section, current.sub);
    },
  };
  const current = { section, sub };
  let drawSeq = 0;
  function draw(sec, s) {
    // Pages that load before drawing must not land over a newer draw.
    const seq = ++drawSeq;
    const live = () => seq === drawSeq;
    current.section = sec;
    current.sub = s;
    replace(
      nav,
      h('h1', null, t('nav.settings')),
      SECTIONS.map(([key, ic]) =>
        h('a', { href: `#/settings/${key}`, class: ['settings-link', key === sec && 'active'], 'aria-current': key === sec ? 'page' : null }, icon(ic, { size: 16 }), t(`settings.${key}`)),
      ),
      // Reopens the first-run guide even after it was dismissed.
      h(
        'a',
        {
          href: '#/welcome',
          class: 'settings-link',
          dataset: { action: 'reopen-guide' },
          onclick: (e) => {
            e.preventDefault();
            reopenGuide();
          },
        },
        icon('check', { size: 16 }),
        t('onboarding.title'),
      ),
    );
    notify.setBaseTitle(`${t(`settings.${sec}`)} · Parley`);
    const render = { inboxes: s ? inboxDetail : inboxesList, agents, teams: s ? teamDetail : teams, labels, canned, routing: routingSettings, webhooks: webhooksSettings, bots: botsSettings, automation: automationSettings, macros: macrosSettings, campaigns: campaignsSettings }[sec] || inboxesList;
    render(content, s, live);
  }
  draw(section, sub);
  return page;
}


function table(headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted empty-note' }, empty);
  return h('table', { class: 'data' }, h('thead', null, h('tr', null, headers.map((x) => h('th', null, x)))), h('tbody', null, rows));
}

function formDialog(title, fields, submitLabel, onSubmit) {
  return modal(title, (close) => {
    const err = h('div', { class: 'form-error', hidden: true, role: 'alert' });
    const btn = h('button', { type: 'submit', class: 'btn primary' }, submitLabel);
    return h(
      'form',
      {
        class: 'modal-body stack',
        onsubmit: async (e) => {
          e.preventDefault();
          err.hidden = true;
          btn.disabled = true;
          try {
            close(await onSubmit());
          } catch (ex) {
            err.hidden = false;
            err.textContent = errorText(ex);
            btn.disabled = false;
          }
        },
      },
      fields,
      err,
      h('div', { class: 'actions' }, btn),
    );
  });
}

// ---- inboxes ----

function inboxesList(el) {
  replace(
    el,
    pageHead(t('settings.inboxes'), h('button', { type: 'button', class: 'btn primary', dataset: { action: 'new-inbox' }, onclick: () => newInbox() }, icon('plus', { size: 15 }), t('settings.newInbox'))),
    h('p', { class: 'muted' }, t('settings.inboxesHint')),
    table(
      [t('settings.name'), t('settings.channel'), ''],
      app.inboxes.map((i) =>
        h(
          'tr',
          null,
          h('td', null, h('a', { href: `#/settings/inboxes/${i.id}` }, i.name)),
          h(
            'td',
            null,
            channelIcon(i.channel_type, 14),
            ' ',
            channelName(i.channel_type),
            i.bot_username ? h('span', { class: 'muted', dataset: { bot: i.bot_username } }, ` · ${i.bot_name || ''} @${i.bot_username}`) : null,
            mailboxAddress(i) ? h('span', { class: 'muted', dataset: { mailbox: mailboxAddress(i) } }, ` · ${mailboxAddress(i)}`) : null,
          ),
          h('td', { class: 'right' }, h('a', { class: 'btn small', href: `#/settings/inboxes/${i.id}` }, t('common.edit'))),
        ),
      ),
      t('settings.noInboxes'),
    ),
  );
}

/** An e-mail inbox's address (where the inbox view carries it), else null. */
function mailboxAddress(i) {
  return i.channel_type === 'Channel::Email' ? i.email || (i.channel_settings && i.channel_settings.email) || null : null;
}

async function newInbox() {
  const type = h(
    'select',
    { name: 'type' },
    options(
      [
        ['web_widget', t('channel.web')],
        ['api', t('channel.api')],
        ['telegram', t('channel.telegram')],
        ['email', t('channel.email')],
      ],
      'web_widget',
    ),
  );
  // Telegram: the bot token from @BotFather, checked by the server (getMe) before saving.
  const token = h('input', { name: 'bot_token', autocomplete: 'off', placeholder: '123456789:AAH…', maxLength: 256, required: true });
  // The server's sentence already names the step ("Telegram did not accept the bot token: …").
  const tokenTest = testConnection(() => ({ channel: { type: 'telegram', bot_token: token.value.trim() } }), {
    okText: (r) => t('channel.testOk', { name: r.details.bot_name || '', username: r.details.bot_username || '' }),
    watch: token,
  });
  // The label and hint belong to the token input itself (a label pointing at a wrapper names
  // nothing); the check's button and its result follow the hint.
  const tokenField = field(t('channel.botToken'), token, t('channel.botTokenHint'));
  tokenField.append(tokenTest.el);
  // E-mail: the mailbox, grouped as on the inbox's page; saved without a blocking probe, so
  // "Test connection" is how the administrator learns whether IMAP and SMTP work.
  const mailbox = connectionFields(CONNECTION['Channel::Email'], (k) => MAILBOX_DEFAULTS[k]);
  const mailboxTest = testConnection(() => ({ channel: { type: 'email', ...mailbox.value() } }), { okText: () => t('channel.emailOk'), steps: true, watch: mailbox.el });
  const mailboxPart = h('div', { class: 'stack', dataset: { part: 'email' } }, mailbox.el, mailboxTest.el);
  const name = h('input', { name: 'name', required: true, maxLength: 255 });
  const url = h('input', { name: 'website_url', type: 'url', placeholder: 'https://shop.example', required: true });
  const webhook = h('input', { name: 'webhook_url', type: 'url', placeholder: 'https://crm.example/hook' });
  // Only the chosen type's fields are in the form (so only theirs are validated).
  const parts = {
    web_widget: field(t('settings.websiteUrl'), url),
    api: field(t('settings.webhookUrl'), webhook, t('settings.webhookHint')),
    telegram: tokenField,
    email: mailboxPart,
  };
  const typePart = h('div', { class: 'stack' });
  const sync = () => {
    replace(typePart, parts[type.value]);
    // A mailbox has many fields: the dialog widens for them.
    const dialog = typePart.closest('.modal');
    if (dialog) dialog.classList.toggle('wide', type.value === 'email');
  };
  type.addEventListener('change', sync);
  sync();
  const created = await formDialog(t('settings.newInbox'), [field(t('settings.channel'), type), field(t('settings.name'), name), typePart], t('common.create'), () => {
    const channel = { type: type.value };
    if (type.value === 'web_widget') channel.website_url = url.value.trim();
    else if (type.value === 'telegram') channel.bot_token = token.value.trim();
    else if (type.value === 'email') Object.assign(channel, mailbox.value());
    else if (webhook.value.trim()) channel.webhook_url = webhook.value.trim();
    return post(acct('/inboxes'), { name: name.value.trim(), channel }).catch((ex) => {
      // A refused token: the server's sentence names the token already, so it is shown
      // without the field's path (`channel.bot_token: `), and the last check's result,
      // now stale, goes.
      if (ex && ex.field === 'channel.bot_token' && typeof ex.message === 'string') {
        ex.message = ex.message.replace(/^channel\.bot_token: /, '');
        tokenTest.clear();
      }
      throw ex;
    });
  });
  if (created) {
    await reloadOne('inboxes');
    location.hash = `#/settings/inboxes/${created.id}`;
  }
}

// ---- agents ----

function agents(el) {
  const roleSel = (a) =>
    h(
      'select',
      {
        'aria-label': t('settings.role'),
        disabled: app.me && a.id === app.me.id,
        onchange: async (e) => {
          try {
            await patch(acct(`/agents/${a.id}`), { role: e.target.value });
            await reloadOne('agents');
            toast(t('common.saved'));
          } catch (ex) {
            toast(errorText(ex), 'error');
          }
        },
      },
      options(['administrator', 'supervisor', 'agent'].map((r) => [r, t(`role.${r}`)]), a.role),
    );
  // The agent's own limit of open conversations; empty: the team's or the account's.
  const maxOpen = (a) =>
    h('input', {
      type: 'number',
      class: 'max-open',
      min: 1,
      max: 1000,
      step: 1,
      value: a.max_open ?? '',
      placeholder: t('settings.default'),
      'aria-label': `${t('settings.maxOpen')}: ${a.available_name || a.name}`,
      dataset: { agent: String(a.id) },
      onchange: async (e) => {
        try {
          await patch(acct(`/agents/${a.id}`), { max_open: numberOrNull(e.target) });
          await reloadOne('agents');
          toast(t('common.saved'));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    });
  replace(
    el,
    pageHead(t('settings.agents'), h('button', { type: 'button', class: 'btn primary', onclick: () => newAgent() }, icon('plus', { size: 15 }), t('settings.newAgent'))),
    h('p', { class: 'muted' }, t('settings.maxOpenHint')),
    table(
      [t('settings.name'), t('settings.email'), t('settings.role'), t('settings.presence'), t('settings.maxOpen'), ''],
      app.agents.map((a) =>
        h(
          'tr',
          null,
          h('td', null, avatar(a.available_name || a.name, 22), ' ', a.available_name || a.name),
          h('td', null, a.email),
          h('td', null, roleSel(a)),
          h('td', null, h('span', { class: ['presence', agentPresence(a)] }, t(`presence.${agentPresence(a)}`))),
          h('td', null, maxOpen(a)),
          h(
            'td',
            { class: 'right' },
            app.me && a.id === app.me.id
              ? null
              : h(
                  'button',
                  {
                    type: 'button',
                    class: 'btn small danger',
                    onclick: async () => {
                      if (!(await confirmDialog(t('settings.removeAgentConfirm', { name: a.name }), t('common.remove')))) return;
                      try {
                        await del(acct(`/agents/${a.id}`));
                        await reloadOne('agents');
                      } catch (ex) {
                        toast(errorText(ex), 'error');
                      }
                    },
                  },
                  t('common.remove'),
                ),
          ),
        ),
      ),
      t('settings.noAgents'),
    ),
  );
}

async function newAgent() {
  const name = h('input', { required: true, maxLength: 255, name: 'name' });
  const email = h('input', { type: 'email', required: true, name: 'email' });
  const role = h('select', { name: 'role' }, options(['agent', 'supervisor', 'administrator'].map((r) => [r, t(`role.${r}`)]), 'agent'));
  const password = h('input', { type: 'password', minLength: 8, autocomplete: 'new-password', name: 'password' });
  const created = await formDialog(
    t('settings.newAgent'),
    [field(t('settings.name'), name), field(t('settings.email'), email), field(t('settings.role'), role), field(t('settings.initialPassword'), password, t('settings.initialPasswordHint'))],
    t('common.create'),
    () => post(acct('/agents'), { name: name.value.trim(), email: email.value.trim(), role: role.value, password: password.value || undefined }),
  );
  if (created) {
    await reloadOne('agents');
    // An existing user is only invited: they join after accepting (docs/api.md).
    toast(t(created.invitation_status === 'pending' ? 'settings.agentInvited' : 'settings.agentCreated'));
  }
}

// ---- teams ----

function teams(el) {
  replace(
    el,
    pageHead(
      t('settings.teams'),
      h(
        'button',
        {
          type: 'button',
          class: 'btn primary',
          onclick: async () => {
            const name = h('input', { required: true, maxLength: 255 });
            const desc = h('input', { maxLength: 1000 });
            const max = h('input', { type: 'number', min: 1, max: 1000, step: 1, name: 'max_open', placeholder: t('settings.default') });
            const created = await formDialog(
              t('settings.newTeam'),
              [field(t('settings.name'), name), field(t('settings.description'), desc), field(t('settings.maxOpen'), max, t('settings.teamMaxOpenHint'))],
              t('common.create'),
              () => post(acct('/teams'), { name: name.value.trim(), description: desc.value.trim(), max_open: numberOrNull(max) }),
            );
            if (created) await reloadOne('teams');
          },
        },
        icon('plus', { size: 15 }),
        t('settings.newTeam'),
      ),
    ),
    h('p', { class: 'muted' }, t('settings.teamsHint')),
    table(
      [t('settings.name'), t('settings.description'), t('settings.maxOpen'), ''],
      app.teams.map((x) =>
        h(
          'tr',
          null,
          h('td', null, h('a', { href: `#/settings/teams/${x.id}` }, x.name)),
          h('td', null, x.description || ''),
          h('td', null, x.max_open ? String(x.max_open) : h('span', { class: 'muted' }, t('settings.default'))),
          h(
            'td',
            { class: 'right' },
            h('a', { class: 'btn small', href: `#/settings/teams/${x.id}` }, t('settings.members')),
            ' ',
            h(
              'button',
              {
                type: 'button',
                class: 'btn small danger',
                onclick: async () => {
                  if (!(await confirmDialog(t('settings.deleteConfirm', { name: x.name }), t('common.delete')))) return;
                  try {
                    await del(acct(`/teams/${x.id}`));
                    await reloadOne('teams');
                  } catch (ex) {
                    toast(errorText(ex), 'error');
                  }
                },
              },
              t('common.delete'),
            ),
          ),
        ),
      ),
      t('settings.noTeams'),
    ),
  );
}

async function teamDetail(el, id, live) {
  const team = app.teams.find((x) => String(x.id) === String(id));
  let members = [];
  try {
    const r = await get(acct(`/teams/${id}/team_members`));
    members = Array.isArray(r) ? r : r.payload || [];
  } catch (e) {
    if (live()) replace(el, h('p', { class: 'form-error' }, errorText(e)));
    return;
  }
  if (!live()) return;
  const ids = new Set(members.map((m) => m.id));
  const max = h('input', { type: 'number', min: 1, max: 1000, step: 1, name: 'max_open', value: team && team.max_open ? team.max_open : '', placeholder: t('settings.default') });
  const limit = h(
    'section',
    { class: 'card', dataset: { card: 'team-limit' } },
    h('h3', null, t('settings.maxOpen')),
    h(
      'form',
      {
        class: 'stack narrow',
        onsubmit: async (e) => {
          e.preventDefault();
          try {
            await patch(acct(`/teams/${id}`), { max_open: numberOrNull(max) });
            await reloadOne('teams');
            toast(t('common.saved'));
          } catch (ex) {
            toast(errorText(ex), 'error');
          }
        },
      },
      field(t('settings.maxOpenPerAgent'), max, t('settings.teamMaxOpenHint')),
      saveButton(),
    ),
  );
  replace(
    el,
    pageHead(team ? team.name : `#${id}`, h('a', { class: 'btn', href: '#/settings/teams' }, t('common.back'))),
    limit,
    h(
      'section',
      { class: 'card' },
      h('h3', null, t('settings.members')),
      h(
        'form',
        {
          class: 'stack',
          onsubmit: async (e) => {
            e.preventDefault();
            const userIds = [...e.currentTarget.querySelectorAll('input[type=checkbox]:checked')].map((x) => Number(x.value));
            try {
              await request('PATCH', acct(`/teams/${id}/team_members`), { user_ids: userIds });
              toast(t('common.saved'));
            } catch (ex) {
              toast(errorText(ex), 'error');
            }
          },
        },
        h('div', { class: 'check-list' }, app.agents.map((a) => h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: ids.has(a.id), value: String(a.id) }), avatar(a.available_name || a.name, 20), a.available_name || a.name))),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save'))),
      ),
    ),
  );
}

// ---- routing rules of the account ----

async function routingSettings(el, _sub, live) {
  replace(el, h('p', { class: 'muted' }, t('common.loading')));
  let cfg;
  try {
    cfg = await get(acct('/routing/settings'));
  } catch (e) {
    if (live()) replace(el, pageHead(t('settings.routing')), h('p', { class: 'form-error' }, errorText(e)));
    return;
  }
  if (!live()) return;
  const num = (name, value, min, max) => h('input', { type: 'number', name, min, max, step: 1, required: true, value: value ?? '' });
  const maxOpen = num('default_max_open', cfg.default_max_open, 1, 1000);
  const inactive = num('inactive_after_minutes', cfg.inactive_after_minutes, 1, 10080);
  inactive.required = false;
  const grace = num('presence_grace_seconds', cfg.presence_grace_seconds, 0, 3600);
  const form = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          await patch(acct('/routing/settings'), { default_max_open: numberOrNull(maxOpen), inactive_after_minutes: numberOrNull(inactive), presence_grace_seconds: numberOrNull(grace) });
          toast(t('common.saved'));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    field(t('settings.defaultMaxOpen'), maxOpen, t('settings.defaultMaxOpenHint')),
    field(t('settings.inactiveAfter'), inactive, t('settings.inactiveAfterHint')),
    field(t('settings.presenceGrace'), grace, t('settings.presenceGraceHint')),
    saveButton(),
  );
  replace(el, pageHead(t('settings.routing')), h('p', { class: 'muted' }, t('settings.routingHint')), h('section', { class: 'card', dataset: { card: 'account-routing' } }, form));
}

// ---- labels ----

function labels(el) {
  replace(
    el,
    pageHead(
      t('settings.labels'),
      h(
        'button',
        {
          type: 'button',
          class: 'btn primary',
          onclick: async () => {
            const title = h('input', { required: true, maxLength: 255, name: 'title' });
            const color = h('input', { type: 'color', value: '#2463eb', name: 'color' });
            const desc = h('input', { maxLength: 1000, name: 'description' });
            const created = await formDialog(t('settings.newLabel'), [field(t('settings.labelTitle'), title, t('settings.labelTitleHint')), field(t('settings.color'), color), field(t('settings.description'), desc)], t('common.create'), () =>
              post(acct('/labels'), { title: title.value.trim(), color: color.value, description: desc.value.trim(), show_on_sidebar: true }),
            );
            if (created) await reloadOne('labels');
          },
        },
        icon('plus', { size: 15 }),
        t('settings.newLabel'),
      ),
    ),
    table(
      [t('settings.labelTitle'), t('settings.description'), ''],
      app.labels.map((l) =>
        h(
          'tr',
          null,
          h('td', null, h('span', { class: 'label-chip' }, h('span', { class: 'dot', style: { background: l.color || '#888' } }), l.title)),
          h('td', null, l.description || ''),
          h(
            'td',
            { class: 'right' },
            h(
              'button',
              {
                type: 'button',
                class: 'btn small danger',
                onclick: async () => {
                  if (!(await confirmDialog(t('settings.deleteConfirm', { name: l.title }), t('common.delete')))) return;
                  try {
                    await del(acct(`/labels/${l.id}`));
                    await reloadOne('labels');
                  } catch (ex) {
                    toast(errorText(ex), 'error');
                  }
                },
              },
              t('common.delete'),
            ),
          ),
        ),
      ),
      t('settings.noLabels'),
    ),
  );
}

// ---- canned responses ----

function cannedForm(existing) {
  const code = h('input', { required: true, maxLength: 100, pattern: '\\S+', name: 'short_code', value: existing ? existing.short_code : '' });
  const content = h('textarea', { required: true, rows: 5, name: 'content', value: existing ? existing.content : '', spellcheck: true });
  return formDialog(
    existing ? t('settings.editCanned') : t('settings.newCanned'),
    [field(t('settings.shortCode'), code, t('settings.shortCodeHint')), field(t('settings.content'), content, t('settings.variablesHint'))],
    existing ? t('common.save') : t('common.create'),
    () => (existing ? patch(acct(`/canned_responses/${existing.id}`), { short_code: code.value.trim(), content: content.value }) : post(acct('/canned_responses'), { short_code: code.value.trim(), content: content.value })),
  );
}

function canned(el) {
  replace(
    el,
    pageHead(
      t('settings.canned'),
      h(
        'button',
        {
          type: 'button',
          class: 'btn primary',
          onclick: async () => {
            if (await cannedForm(null)) await reloadOne('canned');
          },
        },
        icon('plus', { size: 15 }),
        t('settings.newCanned'),
      ),
    ),
    h('p', { class: 'muted' }, t('settings.cannedHint')),
    table(
      [t('settings.shortCode'), t('settings.content'), ''],
      app.canned.map((c) =>
        h(
          'tr',
          null,
          h('td', null, h('code', null, `/${c.short_code}`)),
          h('td', null, h('div', { class: 'pre clip-3' }, c.content)),
          h(
            'td',
            { class: 'right nowrap' },
            h(
              'button',
              {
                type: 'button',
                class: 'btn small',
                onclick: async () => {
                  if (await cannedForm(c)) await reloadOne('canned');
                },
              },
              t('common.edit'),
            ),
            ' ',
            h(
              'button',
              {
                type: 'button',
                class: 'btn small danger',
                onclick: async () => {
                  if (!(await confirmDialog(t('settings.deleteConfirm', { name: `/${c.short_code}` }), t('common.delete')))) return;
                  try {
                    await del(acct(`/canned_responses/${c.id}`));
                    await reloadOne('canned');
                  } catch (ex) {
                    toast(errorText(ex), 'error');
                  }
                },
              },
              t('common.delete'),
            ),
          ),
        ),
      ),
      t('settings.noCanned'),
    ),
  );
}
