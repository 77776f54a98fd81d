// Administrator settings: inboxes (widget settings, embed snippet, routing, reply targets,
// working hours with holidays and off-hours e-mail, members), agents, teams, labels, canned
// responses and the account's routing rules.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, patch, del, request, acct } from '../api.js';
import { app, reloadOne, agentPresence } from '../store.js';
import { field, toast, errorText, copyText, icon, confirmDialog, modal, options, channelIcon, channelName, avatar } from '../ui.js';
import * as notify from '../notify.js';
import { reopenGuide } from './onboarding.js';

const SECTIONS = [
  ['inboxes', 'inbox'],
  ['agents', 'users'],
  ['teams', 'users'],
  ['labels', 'tag'],
  ['canned', 'message'],
  ['routing', 'queue'],
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
    const render = { inboxes: s ? inboxDetail : inboxesList, agents, teams: s ? teamDetail : teams, labels, canned, routing: routingSettings }[sec] || inboxesList;
    render(content, s, live);
  }
  draw(section, sub);
  return page;
}

function pageHead(title, ...actions) {
  return h('header', { class: 'page-head' }, h('h2', null, title), h('div', { class: 'page-actions' }, actions));
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
          h('td', null, channelIcon(i.channel_type, 14), ' ', channelName(i.channel_type)),
          h('td', { class: 'right' }, h('a', { class: 'btn small', href: `#/settings/inboxes/${i.id}` }, t('common.edit'))),
        ),
      ),
      t('settings.noInboxes'),
    ),
  );
}

async function newInbox() {
  const type = h('select', { name: 'type' }, options([['web_widget', t('channel.web')], ['api', t('channel.api')]], 'web_widget'));
  const name = h('input', { name: 'name', required: true, maxLength: 255 });
  const url = h('input', { name: 'website_url', type: 'url', placeholder: 'https://shop.example' });
  const webhook = h('input', { name: 'webhook_url', type: 'url', placeholder: 'https://crm.example/hook' });
  const urlField = field(t('settings.websiteUrl'), url);
  const hookField = field(t('settings.webhookUrl'), webhook, t('settings.webhookHint'));
  const sync = () => {
    const web = type.value === 'web_widget';
    urlField.hidden = !web;
    url.required = web;
    hookField.hidden = web;
  };
  type.addEventListener('change', sync);
  sync();
  const created = await formDialog(t('settings.newInbox'), [field(t('settings.channel'), type), field(t('settings.name'), name), urlField, hookField], t('common.create'), () => {
    const channel = { type: type.value };
    if (type.value === 'web_widget') channel.website_url = url.value.trim();
    else if (webhook.value.trim()) channel.webhook_url = webhook.value.trim();
    return post(acct('/inboxes'), { name: name.value.trim(), channel });
  });
  if (created) {
    await reloadOne('inboxes');
    location.hash = `#/settings/inboxes/${created.id}`;
  }
}

async function inboxDetail(el, id, live) {
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

  const name = h('input', { name: 'name', value: inbox.name, required: true, maxLength: 255 });
  const website = h('input', { name: 'website_url', type: 'url', value: inbox.website_url || '' });
  const color = h('input', { name: 'widget_color', type: 'color', value: /^#[0-9a-f]{6}$/i.test(inbox.widget_color || '') ? inbox.widget_color : '#2463eb' });
  const title = h('input', { name: 'welcome_title', value: inbox.welcome_title || '', maxLength: 255 });
  const tagline = h('input', { name: 'welcome_tagline', value: inbox.welcome_tagline || '', maxLength: 255 });
  const replyTime = h('select', { name: 'reply_time' }, options([['', '—'], ['in_a_few_minutes', t('settings.replyMinutes')], ['in_a_few_hours', t('settings.replyHours')], ['in_a_day', t('settings.replyDay')]], inbox.reply_time || ''));
  const webhook = h('input', { name: 'webhook_url', type: 'url', value: inbox.webhook_url || '' });
  const greetingOn = h('input', { type: 'checkbox', checked: inbox.greeting_enabled });
  const greeting = h('textarea', { rows: 2, value: inbox.greeting_message || '', maxLength: 2000 });
  const general = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        const channel = {};
        if (web) Object.assign(channel, { website_url: website.value.trim(), widget_color: color.value, welcome_title: title.value, welcome_tagline: tagline.value, reply_time: replyTime.value || null });
        if (inbox.channel_type === 'Channel::Api') channel.webhook_url = webhook.value.trim();
        try {
          await patch(acct(`/inboxes/${id}`), { name: name.value.trim(), greeting_enabled: greetingOn.checked, greeting_message: greeting.value, channel });
          await reloadOne('inboxes');
          toast(t('common.saved'));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    field(t('settings.name'), name),
    web ? [field(t('settings.websiteUrl'), website), field(t('settings.widgetColor'), color), field(t('settings.welcomeTitle'), title), field(t('settings.welcomeTagline'), tagline), field(t('settings.replyTime'), replyTime)] : null,
    inbox.channel_type === 'Channel::Api' ? field(t('settings.webhookUrl'), webhook, t('settings.webhookHint')) : null,
    h('label', { class: 'check' }, greetingOn, t('settings.greetingEnabled')),
    field(t('settings.greetingMessage'), greeting),
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

  replace(
    el,
    pageHead(
      h('span', { class: 'inbox-title' }, channelIcon(inbox.channel_type, 16), inbox.name, h('small', { class: 'muted' }, channelName(inbox.channel_type))),
      h('a', { class: 'btn', href: '#/settings/inboxes' }, t('common.back')),
    ),
    h('div', { class: 'cards' }, snippet, h('section', { class: 'card' }, h('h3', null, t('settings.general')), general), identifier, routingCard(inbox), slaCard(inbox), workingHours(inbox), textsCard(inbox), membersCard(id, members)),
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

/** A number input's value, or null when empty; `scale` converts units (minutes → seconds). */
function numberOrNull(input, scale = 1) {
  const v = input.value.trim();
  if (v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? Math.round(n * scale) : null;
}

/** Seconds shown as minutes (3 s → 0.05). */
function minutes(secs) {
  if (secs === null || secs === undefined || secs === '') return '';
  return String(Math.round((Number(secs) / 60) * 100) / 100);
}

function saveButton() {
  return h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save')));
}

/** How conversations of the inbox reach agents: automatically or by hand, team, re-assignment. */
function routingCard(inbox) {
  const auto = h('input', { type: 'checkbox', checked: inbox.enable_auto_assignment, name: 'enable_auto_assignment' });
  const team = h('select', { name: 'default_team_id' }, options([['', t('settings.noDefaultTeam')], ...app.teams.map((x) => [x.id, x.name])], inbox.default_team_id ?? ''));
  const reassign = h('input', { type: 'number', min: 1, max: 10080, step: 1, name: 'reassign_after_minutes', value: inbox.reassign_after_minutes ?? '', placeholder: t('settings.never') });
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

const SLA_PRIORITIES = ['none', 'low', 'medium', 'high', 'urgent'];

/** Reply targets per priority, when they count, and what happens when one is missed. */
function slaCard(inbox) {
  const policy = inbox.sla_policy || null;
  const targets = (policy && policy.targets) || {};
  const esc = (policy && policy.escalation) || {};
  const enabled = h('input', { type: 'checkbox', checked: Boolean(policy), name: 'sla_enabled' });
  const businessOnly = h('input', { type: 'checkbox', checked: Boolean(policy && policy.only_during_business_hours), name: 'only_during_business_hours' });
  const notify = h('input', { type: 'checkbox', checked: Boolean(esc.notify_supervisors), name: 'notify_supervisors' });
  const raise = h('input', { type: 'checkbox', checked: Boolean(esc.raise_priority), name: 'raise_priority' });
  const reassign = h('input', { type: 'checkbox', checked: Boolean(esc.reassign), name: 'reassign' });
  const rows = SLA_PRIORITIES.map((p) => {
    const tg = targets[p] || {};
    const first = h('input', { type: 'number', min: 0, step: 'any', value: minutes(tg.first_response_time_threshold), 'aria-label': `${t(`priority.${p}`)}: ${t('settings.slaFirst')}`, dataset: { priority: p, target: 'first' } });
    const next = h('input', { type: 'number', min: 0, step: 'any', value: minutes(tg.next_response_time_threshold), 'aria-label': `${t(`priority.${p}`)}: ${t('settings.slaNext')}`, dataset: { priority: p, target: 'next' } });
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
  const locale = h('select', { name: 'locale' }, options([['', t('texts.localeAccount')], ['ru', t('lang.ru')], ['en', t('lang.en')]], inbox.locale || ''));
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
  const box = h('textarea', { rows: 3, maxLength: tpl.max_length, value: own ?? tpl.defaults[lang], 'aria-label': t(`texts.tpl.${tpl.id}`), dataset: { template: tpl.id } });
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
  const input = h('input', { type: 'date', 'aria-label': t('settings.holidayDate') });
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
  const enabled = h('input', { type: 'checkbox', checked: inbox.working_hours_enabled });
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const listId = `tz-${inbox.id}`;
  const tz = h('input', { value: inbox.timezone || 'UTC', list: listId, name: 'timezone', autocomplete: 'off' });
  const ooo = h('textarea', { rows: 2, value: inbox.out_of_office_message || '', maxLength: 2000 });
  const byDay = new Map((inbox.working_hours || []).map((d) => [d.day_of_week, d]));
  const pad = (n) => String(n ?? 0).padStart(2, '0');
  const rows = WEEK.map((dow) => {
    const d = byDay.get(dow) || { day_of_week: dow, closed_all_day: true };
    const closed = h('input', { type: 'checkbox', checked: d.closed_all_day });
    const allDay = h('input', { type: 'checkbox', checked: d.open_all_day });
    const open = h('input', { type: 'time', value: d.open_hour !== null && d.open_hour !== undefined ? `${pad(d.open_hour)}:${pad(d.open_minutes)}` : '09:00' });
    const close = h('input', { type: 'time', value: d.close_hour !== null && d.close_hour !== undefined ? `${pad(d.close_hour)}:${pad(d.close_minutes)}` : '18:00' });
    const sync = () => {
      open.disabled = close.disabled = closed.checked || allDay.checked;
      allDay.disabled = closed.checked;
    };
    closed.addEventListener('change', sync);
    allDay.addEventListener('change', sync);
    sync();
    const row = h('tr', null, h('td', null, t(`day.${dow}`)), h('td', null, h('label', { class: 'check' }, closed, t('settings.closed'))), h('td', null, h('label', { class: 'check' }, allDay, t('settings.allDay'))), h('td', null, open, ' – ', close));
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
  const emails = h('input', { type: 'text', name: 'offhours_notify_emails', value: (inbox.offhours_notify_emails || []).join(', '), placeholder: 'boss@shop.example', autocomplete: 'off' });
  const digest = h('input', { type: 'checkbox', checked: Boolean(inbox.offhours_digest), name: 'offhours_digest' });
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
          });
          toast(t('common.saved'));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    h('label', { class: 'check' }, enabled, t('settings.workingHoursEnabled')),
    field(t('settings.timezone'), tz),
    h('datalist', { id: listId }, zones.map((z) => h('option', { value: z }))),
    h('table', { class: 'hours' }, h('tbody', null, rows)),
    holidays.el,
    field(t('settings.outOfOffice'), ooo),
    field(t('settings.offhoursEmails'), emails, t('settings.offhoursEmailsHint')),
    h('label', { class: 'check' }, digest, t('settings.offhoursDigest')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save'))),
  );
  return h('section', { class: 'card' }, h('h3', null, t('settings.workingHours')), form);
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
