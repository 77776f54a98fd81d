// Settings → Webhooks (administrators): the account's outgoing webhooks, their signing
// secrets, pause state and delivery log (docs/webhooks.md). The list is
// #/settings/webhooks, one webhook's page #/settings/webhooks/<id>.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, patch, del, acct, qs } from '../api.js';
import { field, toast, errorText, icon, confirmDialog, copyText } from '../ui.js';
import { pageHead } from './inbox-settings.js';
import { listPage, formDialog } from './settings_list.js';

/** Every event name the API accepts; the ones Parley does not send yet are marked. */
const EVENTS = [
  'message_created',
  'message_updated',
  'conversation_created',
  'conversation_updated',
  'conversation_status_changed',
  'contact_updated',
  'contact_created',
  'webwidget_triggered',
  'conversation_typing_on',
  'conversation_typing_off',
  'inbox_created',
  'inbox_updated',
];

export function webhooksSettings(el, sub, live) {
  if (sub) return webhookDetail(el, sub, live);
  return webhookList(el, live);
}

function statusBadge(w) {
  const paused = w.status === 'paused';
  return h('span', { class: ['badge', paused ? 'danger' : 'ok'], dataset: { status: w.status } }, t(paused ? 'webhooks.paused' : 'webhooks.active'));
}

function webhookList(el, live) {
  const newBtn = h('button', { type: 'button', class: 'btn primary', dataset: { action: 'new-webhook' }, onclick: async () => {
    const created = await webhookForm(null);
    if (created) location.hash = `#/settings/webhooks/${created.id}`;
  } }, icon('plus', { size: 15 }), t('webhooks.new'));
  return listPage(el, live, async () => (await get(acct('/webhooks'))).payload.webhooks, {
    title: t('settings.webhooks'),
    button: newBtn,
    hint: t('webhooks.hint'),
    list: 'webhooks',
    columns: [t('webhooks.target'), t('webhooks.events'), t('webhooks.status'), ''],
    empty: t('webhooks.none'),
    row: (w) =>
      h(
        'tr',
        { dataset: { webhook: w.id } },
        h('td', null, h('a', { href: `#/settings/webhooks/${w.id}` }, w.name || w.url), w.name ? h('div', { class: 'muted small' }, w.url) : null),
        h('td', null, w.subscriptions.join(', ')),
        h('td', null, statusBadge(w)),
        h('td', { class: 'right' }, h('a', { class: 'btn small', href: `#/settings/webhooks/${w.id}` }, t('webhooks.open'))),
      ),
  });
}

/** The create/edit dialog; resolves with the saved webhook, or undefined when dismissed. */
function webhookForm(w) {
  const url = h('input', { name: 'url', type: 'url', required: true, maxLength: 2048, placeholder: 'https://crm.example/parley', value: w ? w.url : '' });
  const name = h('input', { name: 'name', maxLength: 255, value: w ? w.name || '' : '' });
  const chosen = new Set(w ? w.subscriptions : ['message_created', 'conversation_created', 'conversation_status_changed']);
  const boxes = EVENTS.map((ev) => {
    const box = h('input', { type: 'checkbox', name: 'subscriptions', value: ev, checked: chosen.has(ev) });
    return { ev, box, el: h('label', { class: 'check' }, box, ' ', h('code', null, ev)) };
  });
  const subs = () => boxes.filter((b) => b.box.checked).map((b) => b.ev);
  return formDialog(w ? t('webhooks.edit') : t('webhooks.new'), { error: 'webhook', submit: w ? t('common.save') : t('common.create') }, () => ({
    fields: [
      field(t('webhooks.url'), url, t('webhooks.urlHint')),
      field(t('settings.name'), name),
      h('fieldset', { class: 'webhook-events' }, h('legend', null, t('webhooks.events')), boxes.map((b) => b.el)),
    ],
    // The browser's own check first, in the console's words.
    check: () => {
      if (!/^https?:\/\/[^\s/]+/i.test(url.value.trim())) return t('webhooks.badUrl');
      return subs().length ? null : t('webhooks.noEvents');
    },
    save: async () => {
      const body = { url: url.value.trim(), name: name.value.trim(), subscriptions: subs() };
      return (w ? await patch(acct(`/webhooks/${w.id}`), body) : await post(acct('/webhooks'), body)).payload.webhook;
    },
    failure: (ex) => (ex && ex.field === 'url' ? `${t('webhooks.badUrl')} ${errorText(ex)}` : errorText(ex)),
  }));
}

async function webhookDetail(el, id, live) {
  let w;
  try {
    w = (await get(acct('/webhooks'))).payload.webhooks.find((x) => String(x.id) === String(id));
  } catch (e) {
    if (live()) replace(el, h('p', { class: 'form-error' }, errorText(e)));
    return;
  }
  if (!live()) return;
  if (!w) {
    replace(el, h('p', { class: 'form-error' }, t('webhooks.notFound')), h('a', { href: '#/settings/webhooks' }, t('common.back')));
    return;
  }
  const redraw = () => webhookDetail(el, id, live);
  const act = (fn) => async () => {
    try {
      await fn();
      redraw();
    } catch (ex) {
      toast(errorText(ex), 'error');
    }
  };
  const secret = h('input', { readOnly: true, value: w.secret, class: 'mono', dataset: { secret: '' }, 'aria-label': t('webhooks.secret') });
  const log = h('div', { dataset: { log: '' } });
  replace(
    el,
    pageHead(
      w.name || w.url,
      h('a', { class: 'btn', href: '#/settings/webhooks' }, t('common.back')),
      h('button', { type: 'button', class: 'btn', dataset: { action: 'edit-webhook' }, onclick: async () => {
        if (await webhookForm(w)) redraw();
      } }, t('common.edit')),
      h('button', { type: 'button', class: 'btn danger', dataset: { action: 'delete-webhook' }, onclick: async () => {
        if (!(await confirmDialog(t('webhooks.deleteConfirm', { name: w.name || w.url }), t('common.delete')))) return;
        try {
          await del(acct(`/webhooks/${w.id}`));
          location.hash = '#/settings/webhooks';
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      } }, t('common.delete')),
    ),
    h('p', null, h('code', null, w.url), ' ', statusBadge(w)),
    w.status === 'paused'
      ? h(
          'div',
          { class: 'notice warn', role: 'status', dataset: { paused: '' } },
          h('p', null, t('webhooks.pausedNotice')),
          w.pause_reason ? h('p', { class: 'muted' }, w.pause_reason) : null,
          h('button', { type: 'button', class: 'btn primary', dataset: { action: 'resume-webhook' }, onclick: act(() => post(acct(`/webhooks/${w.id}/resume`))) }, t('webhooks.resume')),
        )
      : null,
    h('p', null, t('webhooks.events'), ': ', w.subscriptions.join(', ')),
    field(t('webhooks.secret'), secret, t('webhooks.secretHint')),
    h(
      'div',
      { class: 'actions left' },
      h('button', { type: 'button', class: 'btn', dataset: { action: 'copy-secret' }, onclick: () => copyText(w.secret) }, t('webhooks.copy')),
      h('button', { type: 'button', class: 'btn', dataset: { action: 'rotate-secret' }, onclick: async () => {
        if (!(await confirmDialog(t('webhooks.rotateConfirm'), t('webhooks.rotate')))) return;
        await act(() => post(acct(`/webhooks/${w.id}/rotate_secret`)))();
      } }, t('webhooks.rotate')),
    ),
    h('h3', null, t('webhooks.log')),
    log,
  );
  deliveryLog(log, `/webhooks/${w.id}`, null, live, redraw, true);
}

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : '';
}

/**
 * The delivery log of a receiver at `base` (`/webhooks/7`, `/agent_bots/3`: whatever has
 * `…/deliveries`), newest first with "more"; with `redeliver`, each row can be sent again.
 */
export async function deliveryLog(box, base, before, live, redraw, redeliver) {
  let page;
  try {
    page = await get(acct(`${base}/deliveries${qs({ before })}`));
  } catch (e) {
    if (live()) box.append(h('p', { class: 'form-error' }, errorText(e)));
    return;
  }
  if (!live()) return;
  if (!before && !page.payload.length) {
    replace(box, h('p', { class: 'muted empty-note', dataset: { empty: '' } }, t('webhooks.noDeliveries')));
    return;
  }
  let table = box.querySelector('table');
  if (!table) {
    table = h('table', { class: 'data' }, h('thead', null, h('tr', null, [t('webhooks.time'), t('webhooks.event'), t('webhooks.status'), t('webhooks.code'), t('webhooks.duration'), ''].map((x) => h('th', null, x)))), h('tbody'));
    replace(box, table);
  }
  const body = table.querySelector('tbody');
  for (const d of page.payload) {
    const details = h(
      'details',
      null,
      h('summary', null, t('webhooks.details')),
      d.error ? h('p', { class: 'form-error' }, d.error) : null,
      h('p', { class: 'muted' }, t('webhooks.attempts', { n: d.attempts })),
      h('h4', null, t('webhooks.request')),
      h('pre', { class: 'mono' }, d.request_body),
      d.response_body ? [h('h4', null, t('webhooks.response')), h('pre', { class: 'mono' }, d.response_body)] : null,
    );
    body.append(
      h(
        'tr',
        { dataset: { delivery: d.id, status: d.status } },
        h('td', null, when(d.attempted_at || d.created_at)),
        h('td', null, h('code', null, d.event)),
        h('td', null, t(`webhooks.d.${d.status}`)),
        h('td', null, d.response_code == null ? '—' : String(d.response_code)),
        h('td', null, d.duration_ms == null ? '—' : `${d.duration_ms} ms`),
        h(
          'td',
          { class: 'right' },
          redeliver && h('button', { type: 'button', class: 'btn small', dataset: { action: 'redeliver' }, onclick: async () => {
            try {
              await post(acct(`${base}/deliveries/${d.id}/redeliver`));
              toast(t('webhooks.redelivered'));
              redraw();
            } catch (ex) {
              toast(errorText(ex), 'error');
            }
          } }, t('webhooks.redeliver')),
        ),
      ),
      h('tr', { class: 'log-details' }, h('td', { colspan: 6 }, details)),
    );
  }
  const old = box.querySelector('[data-action="more"]');
  if (old) old.remove();
  if (page.meta.next_before) {
    box.append(h('button', { type: 'button', class: 'btn small', dataset: { action: 'more' }, onclick: () => deliveryLog(box, base, page.meta.next_before, live, redraw, redeliver) }, t('webhooks.more')));
  }
}
