// Settings → Bots (administrators): agent bots that answer an inbox's new conversations
// before people do (docs/bots.md). A bot is Parley's built-in one (answers from canned
// responses, tells the working hours, asks for a name and phone, hands off) or an external
// service at an URL that answers through the API with the bot's token. The list is
// #/settings/bots, one bot's page #/settings/bots/<id>.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, patch, del, acct } from '../api.js';
import { app } from '../store.js';
import { field, toast, errorText, icon, confirmDialog, modal, copyText, options } from '../ui.js';
import { pageHead } from './inbox-settings.js';
import { listPage, formDialog } from './settings_list.js';
import { deliveryLog } from './webhooks.js';

export function botsSettings(el, sub, live) {
  if (sub) return botDetail(el, sub, live);
  return botList(el, live);
}

const inboxName = (id) => (app.inboxes.find((i) => i.id === id) || { name: `#${id}` }).name;

function botList(el, live) {
  const newBtn = h('button', { type: 'button', class: 'btn primary', dataset: { action: 'new-bot' }, onclick: async () => {
    const created = await newBotForm();
    if (created) {
      await showToken(created.access_token);
      location.hash = `#/settings/bots/${created.id}`;
    }
  } }, icon('plus', { size: 15 }), t('bots.new'));
  return listPage(el, live, () => get(acct('/agent_bots')), {
    title: t('settings.bots'),
    button: newBtn,
    hint: t('bots.hint'),
    list: 'bots',
    columns: [t('settings.name'), t('bots.type'), t('bots.inboxes'), ''],
    empty: t('bots.none'),
    row: (b) =>
      h(
        'tr',
        { dataset: { bot: b.id } },
        h('td', null, h('a', { href: `#/settings/bots/${b.id}` }, b.name), b.description ? h('div', { class: 'muted small' }, b.description) : null),
        h('td', null, t(`bots.type.${b.bot_type}`)),
        h('td', null, b.inbox_ids.length ? b.inbox_ids.map(inboxName).join(', ') : h('span', { class: 'muted' }, t('bots.noInboxes'))),
        h('td', { class: 'right' }, h('a', { class: 'btn small', href: `#/settings/bots/${b.id}` }, t('webhooks.open'))),
      ),
  });
}

/** The new-bot dialog: name and kind; resolves with the created bot (with its token). */
function newBotForm() {
  const name = h('input', { name: 'name', required: true, maxLength: 255 });
  const type = h('select', { name: 'bot_type' }, options([['builtin', t('bots.type.builtin')], ['webhook', t('bots.type.webhook')]], 'builtin'));
  const url = h('input', { name: 'outgoing_url', type: 'url', maxLength: 2048, placeholder: 'https://bot.example/parley' });
  const urlField = field(t('bots.url'), url, t('bots.urlHint'));
  const syncType = () => {
    urlField.hidden = type.value !== 'webhook';
  };
  type.addEventListener('change', syncType);
  syncType();
  return formDialog(t('bots.new'), { error: 'bot', submit: t('common.create'), narrow: true }, () => ({
    fields: [field(t('settings.name'), name), field(t('bots.type'), type, t('bots.typeHint')), urlField],
    check: () => (name.value.trim() ? null : t('bots.nameRequired')),
    save: () => {
      const body = { name: name.value.trim(), bot_type: type.value };
      if (type.value === 'webhook') body.outgoing_url = url.value.trim();
      return post(acct('/agent_bots'), body);
    },
  }));
}

/** Shows a bot's token once (it is stored hashed and cannot be shown again). */
function showToken(token) {
  if (!token) return Promise.resolve();
  return modal(t('bots.token'), (close) =>
    h(
      'div',
      { class: 'modal-body stack' },
      h('p', null, t('bots.tokenOnce')),
      h('input', { readOnly: true, value: token, class: 'mono', dataset: { token: '' }, 'aria-label': t('bots.token') }),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'btn', dataset: { action: 'copy-token' }, onclick: () => copyText(token) }, t('webhooks.copy')),
        h('button', { type: 'button', class: 'btn primary', dataset: { action: 'token-done' }, onclick: () => close(true) }, t('bots.tokenDone')),
      ),
    ),
  );
}

async function botDetail(el, id, live) {
  let b;
  try {
    b = await get(acct(`/agent_bots/${encodeURIComponent(id)}`));
  } catch (e) {
    if (live()) replace(el, h('p', { class: 'form-error' }, errorText(e)), h('a', { href: '#/settings/bots' }, t('common.back')));
    return;
  }
  if (!live()) return;
  const redraw = () => botDetail(el, id, live);
  const cfg = b.bot_config || {};
  const name = h('input', { name: 'name', required: true, maxLength: 255, value: b.name });
  const description = h('textarea', { name: 'description', maxLength: 1000, rows: 2 }, b.description || '');
  const type = h('select', { name: 'bot_type', dataset: { setting: 'bot_type' } }, options([['builtin', t('bots.type.builtin')], ['webhook', t('bots.type.webhook')]], b.bot_type));
  const url = h('input', { name: 'outgoing_url', type: 'url', maxLength: 2048, value: b.outgoing_url || '', placeholder: 'https://bot.example/parley' });
  const words = h('input', { name: 'handoff_words', dataset: { setting: 'handoff_words' }, value: (cfg.handoff_words || []).join(', ') });
  const flag = (key) => h('input', { type: 'checkbox', name: key, dataset: { setting: key }, checked: cfg[key] !== false });
  const canned = flag('answer_from_canned');
  const hours = flag('offhours_info');
  const collect = flag('collect_contact');
  const builtin = h(
    'fieldset',
    { class: 'stack', dataset: { builtin: '' } },
    h('legend', null, t('bots.builtinSteps')),
    h('label', { class: 'check' }, canned, t('bots.answerFromCanned')),
    h('label', { class: 'check' }, hours, t('bots.offhoursInfo')),
    h('label', { class: 'check' }, collect, t('bots.collectContact')),
  );
  const syncType = () => {
    builtin.hidden = type.value !== 'builtin';
  };
  type.addEventListener('change', syncType);
  syncType();
  const err = h('div', { class: 'form-error', hidden: true, role: 'alert', dataset: { error: 'bot' } });
  const form = h(
    'form',
    {
      class: 'stack narrow',
      dataset: { form: 'bot' },
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        err.hidden = true;
        const body = {
          name: name.value.trim(),
          description: description.value.trim(),
          bot_type: type.value,
          outgoing_url: url.value.trim() || null,
          bot_config: {
            handoff_words: words.value.split(',').map((w) => w.trim()).filter(Boolean),
            answer_from_canned: canned.checked,
            offhours_info: hours.checked,
            collect_contact: collect.checked,
          },
        };
        try {
          await patch(acct(`/agent_bots/${b.id}`), body);
          toast(t('common.saved'));
          redraw();
        } catch (ex) {
          err.hidden = false;
          err.textContent = errorText(ex);
        }
      },
    },
    field(t('settings.name'), name),
    field(t('bots.description'), description),
    field(t('bots.type'), type, t('bots.typeHint')),
    field(t('bots.url'), url, t('bots.urlHint')),
    field(t('bots.handoffWords'), words, t('bots.handoffWordsHint')),
    builtin,
    err,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save'))),
  );

  // The inboxes the bot answers in: one bot per inbox, attaching replaces another bot.
  const boxes = app.inboxes.map((i) => ({ i, box: h('input', { type: 'checkbox', value: String(i.id), checked: b.inbox_ids.includes(i.id), dataset: { inbox: i.id } }) }));
  const inboxForm = h(
    'form',
    {
      class: 'stack narrow',
      dataset: { form: 'bot-inboxes' },
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          for (const { i, box } of boxes) {
            const had = b.inbox_ids.includes(i.id);
            if (box.checked && !had) await post(acct(`/inboxes/${i.id}/set_agent_bot`), { agent_bot: b.id });
            if (!box.checked && had) await post(acct(`/inboxes/${i.id}/set_agent_bot`), { agent_bot: null });
          }
          toast(t('common.saved'));
          redraw();
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    boxes.length ? boxes.map(({ i, box }) => h('label', { class: 'check' }, box, i.name)) : h('p', { class: 'muted' }, t('bots.noInboxes')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary', dataset: { action: 'save-inboxes' } }, t('common.save'))),
  );

  const log = h('div', { dataset: { log: 'bot' } });
  const secret = h('input', { readOnly: true, value: b.secret, class: 'mono', dataset: { secret: '' }, 'aria-label': t('webhooks.secret') });
  replace(
    el,
    pageHead(
      b.name,
      h('a', { class: 'btn', href: '#/settings/bots' }, t('common.back')),
      h('button', { type: 'button', class: 'btn danger', dataset: { action: 'delete-bot' }, onclick: async () => {
        if (!(await confirmDialog(t('bots.deleteConfirm', { name: b.name }), t('common.delete')))) return;
        try {
          await del(acct(`/agent_bots/${b.id}`));
          location.hash = '#/settings/bots';
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      } }, t('common.delete')),
    ),
    h(
      'div',
      { class: 'cards' },
      h('section', { class: 'card', dataset: { card: 'bot' } }, h('h3', null, t('settings.general')), form),
      h('section', { class: 'card', dataset: { card: 'bot-inboxes' } }, h('h3', null, t('bots.inboxes')), h('p', { class: 'small muted' }, t('bots.inboxesHint')), inboxForm),
      h(
        'section',
        { class: 'card', dataset: { card: 'bot-token' } },
        h('h3', null, t('bots.token')),
        h('p', { class: 'small muted' }, t('bots.tokenHint')),
        h('div', { class: 'actions left' }, h('button', { type: 'button', class: 'btn', dataset: { action: 'reset-token' }, onclick: async () => {
          if (!(await confirmDialog(t('bots.resetConfirm'), t('bots.resetToken')))) return;
          try {
            const r = await post(acct(`/agent_bots/${b.id}/reset_access_token`));
            await showToken(r.access_token);
          } catch (ex) {
            toast(errorText(ex), 'error');
          }
        } }, icon('key', { size: 15 }), t('bots.resetToken'))),
        b.outgoing_url ? field(t('webhooks.secret'), secret, t('bots.secretHint')) : null,
        b.outgoing_url ? h('div', { class: 'actions left' }, h('button', { type: 'button', class: 'btn', dataset: { action: 'copy-secret' }, onclick: () => copyText(b.secret) }, t('webhooks.copy'))) : null,
      ),
    ),
    b.outgoing_url ? [h('h3', null, t('webhooks.log')), log] : null,
  );
  // What was sent to the bot's address and what it answered.
  if (b.outgoing_url) deliveryLog(log, `/agent_bots/${b.id}`, null, live, redraw, false);
}
