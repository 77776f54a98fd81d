// Settings → Campaigns (administrators): proactive invitations the website widget shows
// beside its button (docs/campaigns.md). The list shows each campaign's counters (shown,
// accepted, converted) and turns it on or off; the dialog edits every setting the API has.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, patch, del, acct } from '../api.js';
import { app } from '../store.js';
import { field, toast, errorText, icon, check } from '../ui.js';
import { listPage, rowButton, formDialog } from './settings_list.js';

const websiteInboxes = () => app.inboxes.filter((i) => i.channel_type === 'Channel::WebWidget');
const agentName = (id) => {
  const a = app.agents.find((x) => x.id === id);
  return a ? a.available_name || a.name : '';
};

export function campaignsSettings(el, _sub, live) {
  const redraw = () => campaignsSettings(el, null, live);
  const edit = async (c) => {
    if (await campaignForm(c)) redraw();
  };
  const newBtn = h('button', { type: 'button', class: 'btn primary', dataset: { action: 'new-campaign' }, onclick: () => edit(null) }, icon('plus', { size: 15 }), t('campaigns.new'));
  const inboxName = (id) => (app.inboxes.find((i) => i.id === id) || {}).name || `#${id}`;
  const toggle = async (c, on) => {
    try {
      await patch(acct(`/campaigns/${c.id}`), { enabled: on });
      toast(t('common.saved'));
    } catch (ex) {
      toast(errorText(ex), 'error');
    }
    redraw();
  };
  return listPage(el, live, () => get(acct('/campaigns')), {
    title: t('settings.campaigns'),
    button: newBtn,
    hint: t('campaigns.hint'),
    list: 'campaigns',
    columns: [t('campaigns.title'), t('campaigns.inbox'), t('campaigns.shown'), t('campaigns.accepted'), t('campaigns.converted'), t('campaigns.enabled'), ''],
    empty: websiteInboxes().length ? t('campaigns.none') : t('campaigns.noWebsite'),
    row: (c) => {
      const on = h('input', { type: 'checkbox', checked: c.enabled, 'aria-label': t('campaigns.enabled'), dataset: { action: 'toggle-campaign' }, onchange: (e) => toggle(c, e.target.checked) });
      return h(
        'tr',
        { dataset: { campaign: c.id } },
        h('td', null, h('strong', null, c.title), h('div', { class: 'muted small' }, c.sender_id ? `${agentName(c.sender_id)}: ${c.message}` : c.message)),
        h('td', null, inboxName(c.inbox_id)),
        h('td', { dataset: { count: 'shown' } }, String(c.shown_count)),
        h('td', { dataset: { count: 'accepted' } }, String(c.accepted_count)),
        h('td', { dataset: { count: 'converted' } }, String(c.converted_count)),
        h('td', null, on),
        h(
          'td',
          { class: 'right nowrap' },
          h('button', { type: 'button', class: 'btn small', dataset: { action: 'edit-campaign' }, onclick: () => edit(c) }, t('common.edit')),
          ' ',
          rowButton(t('common.delete'), 'delete-campaign', () => del(acct(`/campaigns/${c.id}`)), redraw, t('campaigns.deleteConfirm', { title: c.title })),
        ),
      );
    },
  });
}

/** A number input that may stay empty (the rule is off). */
function numberInput(name, value, max) {
  return h('input', { name, type: 'number', min: 0, max, step: 1, value: value ?? '', inputmode: 'numeric' });
}

/** The create/edit dialog; resolves with the saved campaign, or undefined when dismissed. */
function campaignForm(c) {
  const r = (c && c.trigger_rules) || {};
  const inboxes = websiteInboxes();
  const title = h('input', { name: 'title', required: true, maxLength: 255, value: c ? c.title : '' });
  const message = h('textarea', { name: 'message', required: true, maxLength: 1000, rows: 3 }, c ? c.message : '');
  const description = h('input', { name: 'description', maxLength: 2000, value: c ? c.description || '' : '' });
  const inbox = h('select', { name: 'inbox_id' }, inboxes.map((i) => h('option', { value: i.id, selected: c && c.inbox_id === i.id }, i.name)));
  const sender = h(
    'select',
    { name: 'sender_id' },
    h('option', { value: '' }, t('campaigns.senderInbox')),
    app.agents.map((a) => h('option', { value: a.id, selected: c && c.sender_id === a.id }, a.available_name || a.name)),
  );
  const url = h('input', { name: 'url', maxLength: 2048, placeholder: '*/cart*', value: r.url || '' });
  const onPage = numberInput('time_on_page', r.time_on_page, 86400);
  const onSite = numberInput('time_on_site', r.time_on_site, 86400);
  const pages = numberInput('pages_viewed', r.pages_viewed, 1000);
  const utm = h('input', { name: 'utm_source', maxLength: 255, placeholder: 'yandex', value: r.utm_source || '' });
  const returning = h(
    'select',
    { name: 'returning_visitor' },
    [['', 'campaigns.anyVisitor'], ['true', 'campaigns.returningOnly'], ['false', 'campaigns.newOnly']].map(([v, k]) => h('option', { value: v, selected: String(r.returning_visitor ?? '') === v }, t(k))),
  );
  const exit = check(t('campaigns.exitIntent'), { name: 'exit_intent', checked: !!r.exit_intent });
  const hours = check(t('campaigns.businessHours'), { name: 'trigger_only_during_business_hours', checked: !!(c && c.trigger_only_during_business_hours) });
  const capacity = check(t('campaigns.agentsAvailable'), { name: 'only_when_agents_available', checked: c ? c.only_when_agents_available : true });
  const enabled = check(t('campaigns.enabled'), { name: 'enabled', checked: c ? c.enabled : true });
  const again = numberInput('show_again_after_days', c ? c.show_again_after_days : 30, 365);
  const num = (input) => (input.value.trim() === '' ? undefined : Number(input.value));
  return formDialog(c ? t('campaigns.edit') : t('campaigns.new'), { error: 'campaign', submit: c ? t('common.save') : t('common.create') }, () => ({
    fields: [
      field(t('campaigns.title'), title),
      field(t('campaigns.message'), message, t('campaigns.messageHint')),
      field(t('campaigns.description'), description, t('campaigns.descriptionHint')),
      field(t('campaigns.inbox'), inbox),
      field(t('campaigns.sender'), sender),
      h(
        'fieldset',
        { class: 'stack', dataset: { group: 'triggers' } },
        h('legend', null, t('campaigns.triggers')),
        h('p', { class: 'muted small' }, t('campaigns.triggersHint')),
        field(t('campaigns.url'), url, t('campaigns.urlHint')),
        field(t('campaigns.timeOnPage'), onPage),
        field(t('campaigns.timeOnSite'), onSite),
        field(t('campaigns.pagesViewed'), pages),
        exit.el,
        field(t('campaigns.returning'), returning),
        field(t('campaigns.utmSource'), utm),
      ),
      hours.el,
      capacity.el,
      field(t('campaigns.showAgain'), again, t('campaigns.showAgainHint')),
      enabled.el,
    ],
    check: () => (!title.value.trim() ? t('campaigns.needTitle') : !message.value.trim() ? t('campaigns.needMessage') : !inbox.value ? t('campaigns.noWebsite') : null),
    save: () => {
      const rules = {
        url: url.value.trim() || undefined,
        time_on_page: num(onPage),
        time_on_site: num(onSite),
        pages_viewed: num(pages),
        exit_intent: exit.input.checked || undefined,
        returning_visitor: returning.value === '' ? undefined : returning.value === 'true',
        utm_source: utm.value.trim() || undefined,
      };
      const body = {
        title: title.value.trim(),
        message: message.value.trim(),
        description: description.value.trim() || null,
        inbox_id: Number(inbox.value),
        sender_id: sender.value ? Number(sender.value) : null,
        enabled: enabled.input.checked,
        trigger_only_during_business_hours: hours.input.checked,
        only_when_agents_available: capacity.input.checked,
        show_again_after_days: num(again) ?? 30,
        trigger_rules: JSON.parse(JSON.stringify(rules)),
      };
      return c ? patch(acct(`/campaigns/${c.id}`), body) : post(acct('/campaigns'), body);
    },
  }));
}
