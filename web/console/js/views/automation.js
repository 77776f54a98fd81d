// Settings → Automation (administrators: rules that answer events, with a dry run over the
// last week's conversations) and Settings → Macros (named lists of actions agents run on a
// conversation; see conversation.js, key M). The contract is docs/automation.md.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, patch, del, acct } from '../api.js';
import { app } from '../store.js';
import { field, toast, errorText, icon, options } from '../ui.js';
import { listPage, rowButton, formDialog } from './settings_list.js';

export const EVENTS = ['message_created', 'conversation_created', 'conversation_updated', 'conversation_opened', 'conversation_resolved'];

const TEXT_OPS = ['contains', 'does_not_contain', 'starts_with', 'equal_to', 'not_equal_to', 'is_present', 'is_not_present'];
const EQ_OPS = ['equal_to', 'not_equal_to'];
const PRESENCE_OPS = ['equal_to', 'not_equal_to', 'is_present', 'is_not_present'];

/** Condition attributes and their operators (the server checks the same list). */
export const ATTRIBUTES = [
  ['content', TEXT_OPS],
  ['message_type', EQ_OPS],
  ['inbox_id', EQ_OPS],
  ['channel_type', EQ_OPS],
  ['team_id', PRESENCE_OPS],
  ['assignee_id', PRESENCE_OPS],
  ['status', EQ_OPS],
  ['priority', PRESENCE_OPS],
  ['labels', PRESENCE_OPS],
  ['working_hours', EQ_OPS],
  ['browser_language', TEXT_OPS],
  ['country_code', TEXT_OPS],
  ['referer', TEXT_OPS],
  ['page_url', TEXT_OPS],
  ['utm_source', TEXT_OPS],
  ['utm_medium', TEXT_OPS],
  ['utm_campaign', TEXT_OPS],
  ['utm_term', TEXT_OPS],
  ['utm_content', TEXT_OPS],
  ['email', TEXT_OPS],
  ['phone_number', TEXT_OPS],
  ['name', TEXT_OPS],
  ['city', TEXT_OPS],
  ['company', TEXT_OPS],
  ['mail_subject', TEXT_OPS],
  ['contact_attribute', TEXT_OPS],
  ['conversation_attribute', TEXT_OPS],
];

export const ACTIONS = [
  'assign_team',
  'assign_agent',
  'remove_assigned_team',
  'add_label',
  'remove_label',
  'change_priority',
  'send_message',
  'add_private_note',
  'send_email_to_team',
  'send_webhook_event',
  'snooze_conversation',
  'resolve_conversation',
  'open_conversation',
  'change_status',
  'mute_conversation',
];
const NO_PARAMS = new Set(['remove_assigned_team', 'resolve_conversation', 'open_conversation', 'mute_conversation']);

const attrLabel = (k) => t(`auto.attr.${k}`);
const opLabel = (k) => t(`auto.op.${k}`);
const actionLabel = (k) => t(`auto.action.${k}`);

/** A value chooser fitting the attribute: a list where the values are known. */
function valueInput(attr, current) {
  const v = current && current.length ? current : [];
  const select = (pairs) => h('select', { name: 'value', dataset: { role: 'value' } }, options(pairs, v[0]));
  switch (attr) {
    case 'inbox_id':
      return select(app.inboxes.map((i) => [i.id, i.name]));
    case 'team_id':
      return select(app.teams.map((x) => [x.id, x.name]));
    case 'assignee_id':
      return select(app.agents.map((a) => [a.id, a.available_name || a.name]));
    case 'status':
      return select(['open', 'pending', 'snoozed', 'resolved'].map((s) => [s, t(`status.${s}`)]));
    case 'priority':
      return select(['urgent', 'high', 'medium', 'low'].map((p) => [p, t(`priority.${p}`)]));
    case 'message_type':
      return select(['incoming', 'outgoing', 'template'].map((m) => [m, t(`auto.msgType.${m}`)]));
    case 'channel_type':
      return select(['web_widget', 'api', 'telegram', 'email'].map((c) => [c, c]));
    case 'working_hours':
      return select([['true', t('auto.inHours')], ['false', t('auto.offHours')]]);
    case 'labels':
      return select(app.labels.map((l) => [l.title, l.title]));
    default:
      return h('input', { name: 'value', dataset: { role: 'value' }, maxLength: 1000, placeholder: t('auto.valuesHint'), value: v.join(', ') });
  }
}

/** One condition row; `read()` gives the condition (or null when incomplete). */
function conditionRow(c, onRemove) {
  const custom = c && c.custom_attribute_type;
  const attr = h('select', { name: 'attribute', dataset: { role: 'attribute' } }, options(ATTRIBUTES.map(([k]) => [k, attrLabel(k)]), custom || (c ? c.attribute_key : 'content')));
  const key = h('input', { name: 'custom_key', placeholder: t('auto.customKey'), maxLength: 255, value: custom ? c.attribute_key : '' });
  const op = h('select', { name: 'operator', dataset: { role: 'operator' } });
  const join = h('select', { name: 'join', dataset: { role: 'join' } }, options([['and', t('auto.and')], ['or', t('auto.or')]], (c && c.query_operator) || 'and'));
  const valueBox = h('span', { class: 'auto-value' });
  let value = null;
  const sync = (keepOp) => {
    const ops = (ATTRIBUTES.find(([k]) => k === attr.value) || [null, TEXT_OPS])[1];
    const was = keepOp || op.value;
    replace(op, options(ops.map((o) => [o, opLabel(o)]), ops.includes(was) ? was : ops[0]));
    key.hidden = !['contact_attribute', 'conversation_attribute'].includes(attr.value);
    value = valueInput(attr.value, c && attr.value === (custom || c.attribute_key) ? c.values.map(String) : []);
    replace(valueBox, value);
    value.hidden = ['is_present', 'is_not_present'].includes(op.value);
  };
  attr.onchange = () => sync();
  op.onchange = () => {
    value.hidden = ['is_present', 'is_not_present'].includes(op.value);
  };
  sync(c ? c.filter_operator : 'contains');
  const el = h(
    'div',
    { class: 'auto-row', dataset: { row: 'condition' } },
    attr,
    key,
    op,
    valueBox,
    join,
    h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('auto.remove'), onclick: () => onRemove(el) }, icon('x', { size: 14 })),
  );
  return {
    el,
    join,
    read() {
      const isCustom = ['contact_attribute', 'conversation_attribute'].includes(attr.value);
      const presence = ['is_present', 'is_not_present'].includes(op.value);
      const raw = value.tagName === 'SELECT' ? [value.value] : value.value.split(',').map((s) => s.trim()).filter(Boolean);
      const values = raw.map((x) => (/^\d+$/.test(x) && /_id$/.test(attr.value) ? Number(x) : x));
      const cond = {
        attribute_key: isCustom ? key.value.trim() : attr.value,
        filter_operator: op.value,
        values: presence ? [] : values,
        query_operator: join.value,
      };
      if (isCustom) cond.custom_attribute_type = attr.value;
      return cond;
    },
  };
}

/** The parameter editor of an action; `read()` gives `action_params`. */
function paramInput(name, params) {
  const p = params || [];
  const sel = (pairs) => {
    const s = h('select', { name: 'param', dataset: { role: 'param' } }, options(pairs, p[0]));
    return { el: s, read: () => [/^\d+$/.test(s.value) ? Number(s.value) : s.value] };
  };
  const text = (ph, multi) => {
    const i = multi
      ? h('textarea', { name: 'param', dataset: { role: 'param' }, rows: 2, maxLength: 10000, placeholder: ph }, p[0] || '')
      : h('input', { name: 'param', dataset: { role: 'param' }, maxLength: 2048, placeholder: ph, value: p.join(', ') });
    return { el: i, read: () => (multi ? [i.value] : i.value.split(',').map((s) => s.trim()).filter(Boolean)) };
  };
  switch (name) {
    case 'assign_team':
      return sel(app.teams.map((x) => [x.id, x.name]));
    case 'assign_agent':
      return sel(app.agents.map((a) => [a.id, a.available_name || a.name]));
    case 'change_priority':
      return sel(['urgent', 'high', 'medium', 'low', 'none'].map((x) => [x, t(`priority.${x}`)]));
    case 'change_status':
      return sel(['open', 'pending', 'resolved'].map((x) => [x, t(`status.${x}`)]));
    case 'add_label':
    case 'remove_label':
      return text(t('auto.labelsHint'));
    case 'send_message':
    case 'add_private_note':
      return text(t('auto.messageHint'), true);
    case 'send_webhook_event': {
      const i = h('input', { name: 'param', type: 'url', dataset: { role: 'param' }, maxLength: 2048, placeholder: 'https://crm.example/hook', value: p[0] || '' });
      return { el: i, read: () => [i.value.trim()] };
    }
    case 'snooze_conversation': {
      const i = h('input', { name: 'param', type: 'number', min: 1, dataset: { role: 'param' }, placeholder: t('auto.snoozeHint'), value: p[0] ? Math.round(p[0] / 60) : '' });
      return { el: i, read: () => (i.value.trim() ? [Math.round(Number(i.value) * 60)] : []) };
    }
    case 'send_email_to_team': {
      const v = p[0] || {};
      const team = h('select', { name: 'team', dataset: { role: 'param-team' } }, options(app.teams.map((x) => [x.id, x.name]), (v.team_ids || [])[0]));
      const msg = h('textarea', { name: 'param', dataset: { role: 'param' }, rows: 2, maxLength: 10000, placeholder: t('auto.messageHint') }, v.message || '');
      return { el: h('span', { class: 'stack-inline' }, team, msg), read: () => [{ message: msg.value, team_ids: [Number(team.value)] }] };
    }
    default:
      return { el: h('span', { class: 'muted small' }, t('auto.noParams')), read: () => [] };
  }
}

function actionRow(a, onRemove, forMacro) {
  const names = ACTIONS.filter((n) => !(forMacro && n === 'send_email_to_team'));
  const name = h('select', { name: 'action', dataset: { role: 'action' } }, options(names.map((n) => [n, actionLabel(n)]), a ? a.action_name : names[0]));
  const box = h('span', { class: 'auto-value' });
  let param = null;
  const sync = () => {
    param = paramInput(name.value, a && a.action_name === name.value ? a.action_params : []);
    replace(box, param.el);
  };
  name.onchange = sync;
  sync();
  const el = h(
    'div',
    { class: 'auto-row', dataset: { row: 'action' } },
    name,
    box,
    h('button', { type: 'button', class: 'icon-btn', 'aria-label': t('auto.remove'), onclick: () => onRemove(el) }, icon('x', { size: 14 })),
  );
  return { el, read: () => ({ action_name: name.value, action_params: NO_PARAMS.has(name.value) ? [] : param.read() }) };
}

/** A list editor of rows with an "add" button. */
function rowList(kind, initial, make) {
  const rows = [];
  const box = h('div', { class: 'auto-rows', dataset: { list: kind } });
  const remove = (el) => {
    const i = rows.findIndex((r) => r.el === el);
    if (i >= 0) rows.splice(i, 1);
    el.remove();
  };
  const add = (item) => {
    const r = make(item, remove);
    rows.push(r);
    box.append(r.el);
  };
  (initial.length ? initial : [null]).forEach(add);
  const addBtn = h('button', { type: 'button', class: 'btn small', dataset: { action: `add-${kind}` }, onclick: () => add(null) }, icon('plus', { size: 14 }), t(`auto.add.${kind}`));
  return { el: h('div', null, box, addBtn), rows };
}

export function automationSettings(el, _sub, live) {
  return ruleList(el, live);
}

function ruleList(el, live) {
  const again = () => ruleList(el, live);
  const newBtn = h('button', { type: 'button', class: 'btn primary', dataset: { action: 'new-rule' }, onclick: async () => (await ruleForm(null)) && again() }, icon('plus', { size: 15 }), t('auto.newRule'));
  return listPage(el, live, async () => (await get(acct('/automation_rules'))).payload, {
    title: t('settings.automation'),
    button: newBtn,
    hint: t('auto.hint'),
    list: 'rules',
    columns: [t('settings.name'), t('auto.event'), t('auto.actions'), t('auto.active'), ''],
    empty: t('auto.none'),
    row: (r) => {
      const toggle = h('input', {
        type: 'checkbox',
        checked: r.active,
        'aria-label': t('auto.active'),
        dataset: { action: 'toggle-rule' },
        onchange: async () => {
          try {
            await patch(acct(`/automation_rules/${r.id}`), { active: toggle.checked });
            toast(t('common.saved'));
          } catch (e) {
            toggle.checked = !toggle.checked;
            toast(errorText(e), 'error');
          }
        },
      });
      return h(
        'tr',
        { dataset: { rule: r.id } },
        h('td', null, h('strong', null, r.name), r.description ? h('div', { class: 'muted small' }, r.description) : null),
        h('td', null, t(`auto.event.${r.event_name}`)),
        h('td', null, r.actions.map((a) => actionLabel(a.action_name)).join(', ')),
        h('td', null, toggle),
        h(
          'td',
          { class: 'right nowrap' },
          h('button', { type: 'button', class: 'btn small', dataset: { action: 'edit-rule' }, onclick: async () => (await ruleForm(r)) && again() }, t('common.edit')),
          ' ',
          rowButton(t('auto.clone'), 'clone-rule', () => post(acct(`/automation_rules/${r.id}/clone`)), again),
          ' ',
          rowButton(t('common.delete'), 'delete-rule', () => del(acct(`/automation_rules/${r.id}`)), again, t('auto.deleteConfirm', { name: r.name })),
        ),
      );
    },
  });
}

/** The rule dialog; resolves with the saved rule, or undefined when dismissed. */
function ruleForm(r) {
  const name = h('input', { name: 'name', required: true, maxLength: 255, value: r ? r.name : '' });
  const description = h('input', { name: 'description', maxLength: 2000, value: r ? r.description || '' : '' });
  const event = h('select', { name: 'event_name' }, options(EVENTS.map((e) => [e, t(`auto.event.${e}`)]), r ? r.event_name : 'message_created'));
  const active = h('input', { type: 'checkbox', name: 'active', checked: r ? r.active : true });
  const conds = rowList('condition', r ? r.conditions : [], (c, rm) => conditionRow(c, rm));
  const acts = rowList('action', r ? r.actions : [], (a, rm) => actionRow(a, rm, false));
  const readConds = () => conds.rows.map((x) => x.read());
  return formDialog(r ? t('auto.editRule') : t('auto.newRule'), { error: 'rule', submit: r ? t('common.save') : t('common.create') }, (close, err) => {
    const result = h('div', { class: 'dry-run', dataset: { result: 'dry-run' } });
    const tryBtn = h('button', { type: 'button', class: 'btn', dataset: { action: 'dry-run' }, onclick: async () => {
      err.hidden = true;
      tryBtn.disabled = true;
      try {
        const out = await post(acct('/automation_rules/dry_run'), { event_name: event.value, conditions: readConds() });
        replace(
          result,
          h('p', null, t('auto.dryRunResult', { n: out.matches.length, checked: out.checked })),
          out.matches.length
            ? h('ul', { class: 'dry-run-list' }, out.matches.map((m) => h('li', { dataset: { match: m.id } }, h('a', { href: `#/conversations/${m.id}`, onclick: () => close(undefined) }, `#${m.id}`), ' ', m.contact_name || '', m.message ? h('span', { class: 'muted' }, ` — “${m.message}”`) : null)))
            : null,
        );
      } catch (ex) {
        err.hidden = false;
        err.textContent = errorText(ex);
      }
      tryBtn.disabled = false;
    } }, icon('search', { size: 14 }), t('auto.dryRun'));
    return {
      fields: [
        field(t('settings.name'), name),
        field(t('auto.description'), description),
        field(t('auto.when'), event),
        h('fieldset', null, h('legend', null, t('auto.conditions')), h('p', { class: 'muted small' }, t('auto.conditionsHint')), conds.el),
        h('fieldset', null, h('legend', null, t('auto.actions')), acts.el),
        h('label', { class: 'check' }, active, t('auto.active')),
        result,
      ],
      buttons: [tryBtn],
      check: () => (name.value.trim() ? null : t('auto.nameRequired')),
      save: async () => {
        const body = {
          name: name.value.trim(),
          description: description.value.trim() || null,
          event_name: event.value,
          active: active.checked,
          conditions: readConds(),
          actions: acts.rows.map((x) => x.read()),
        };
        return r ? (await patch(acct(`/automation_rules/${r.id}`), body)).payload : post(acct('/automation_rules'), body);
      },
    };
  });
}

export function macrosSettings(el, _sub, live) {
  return macroList(el, live);
}

function macroList(el, live) {
  const again = () => macroList(el, live);
  const newBtn = h('button', { type: 'button', class: 'btn primary', dataset: { action: 'new-macro' }, onclick: async () => (await macroForm(null)) && again() }, icon('plus', { size: 15 }), t('auto.newMacro'));
  return listPage(el, live, async () => (await get(acct('/macros'))).payload, {
    title: t('settings.macros'),
    button: newBtn,
    hint: t('auto.macrosHint'),
    list: 'macros',
    columns: [t('settings.name'), t('auto.visibility'), t('auto.actions'), ''],
    empty: t('auto.noMacros'),
    row: (m) =>
      h(
        'tr',
        { dataset: { macro: m.id } },
        h('td', null, h('strong', null, m.name)),
        h('td', null, t(`auto.visibility.${m.visibility}`)),
        h('td', null, m.actions.map((a) => actionLabel(a.action_name)).join(', ')),
        h(
          'td',
          { class: 'right nowrap' },
          h('button', { type: 'button', class: 'btn small', dataset: { action: 'edit-macro' }, onclick: async () => (await macroForm(m)) && again() }, t('common.edit')),
          ' ',
          rowButton(t('common.delete'), 'delete-macro', () => del(acct(`/macros/${m.id}`)), again, t('auto.deleteConfirm', { name: m.name })),
        ),
      ),
  });
}

function macroForm(m) {
  const name = h('input', { name: 'name', required: true, maxLength: 255, value: m ? m.name : '' });
  const visibility = h('select', { name: 'visibility' }, options(['global', 'personal'].map((v) => [v, t(`auto.visibility.${v}`)]), m ? m.visibility : 'global'));
  const acts = rowList('action', m ? m.actions : [], (a, rm) => actionRow(a, rm, true));
  return formDialog(m ? t('auto.editMacro') : t('auto.newMacro'), { error: 'macro', submit: m ? t('common.save') : t('common.create') }, () => ({
    fields: [field(t('settings.name'), name), field(t('auto.visibility'), visibility), h('fieldset', null, h('legend', null, t('auto.actions')), acts.el)],
    check: () => (name.value.trim() ? null : t('auto.nameRequired')),
    save: async () => {
      const body = { name: name.value.trim(), visibility: visibility.value, actions: acts.rows.map((x) => x.read()) };
      return (m ? await patch(acct(`/macros/${m.id}`), body) : await post(acct('/macros'), body)).payload;
    },
  }));
}

/** The macros the signed-in member may run (for the conversation view's menu). */
export async function runnableMacros() {
  return (await get(acct('/macros'))).payload;
}
