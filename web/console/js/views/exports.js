// Exports in the console (docs/reports.md, "Exports"): the "now" strip of live conversation
// counts and the conversations-with-messages export of the Reports page, and a
// conversation's transcript (download, send by e-mail).
//
// The export is a streamed download: the server sends the number of rows first
// (`X-Export-Rows`), the console counts the rows as they arrive and shows how far it is,
// then saves the file. Cancelling aborts the download, which frees the server's place.

import { h, replace } from '../dom.js';
import { t, getLang, locale } from '../i18n.js';
import { getAccount, get, post, qs, ApiError } from '../api.js';
import { app } from '../store.js';
import { icon, errorText, toast, modal, field, options } from '../ui.js';

const v2 = (path) => `/api/v2/accounts/${getAccount()}${path}`;
const v1 = (path) => `/api/v1/accounts/${getAccount()}${path}`;
const num = (n) => new Intl.NumberFormat(locale()).format(n);

/** Saves a Blob under a file name. */
function save(blob, name) {
  const a = h('a', { href: URL.createObjectURL(blob), download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}

function fileName(res, fallback) {
  const m = /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') || '');
  return m ? m[1] : fallback;
}

/** The error of a failed fetch, from its JSON body when it has one. */
async function failure(res) {
  let err = {};
  try {
    const data = await res.json();
    err = (data && data.error) || {};
  } catch {
    err = {};
  }
  return new ApiError(res.status, err.code || 'http_error', err.message || `HTTP ${res.status}`, err.field);
}

// ---- the "now" strip ----

const LIVE = ['open', 'unattended', 'unassigned', 'pending'];

/** The live counts of the account, with a refresh button; loads itself. */
export function liveStrip() {
  const values = h('div', { class: 'live-values' });
  const el = h(
    'section',
    { class: 'report-section live-strip', dataset: { section: 'live' }, 'aria-label': t('live.title') },
    h(
      'div',
      { class: 'live-head' },
      h('h2', null, t('live.title')),
      h('button', { type: 'button', class: 'icon-btn', title: t('live.refresh'), 'aria-label': t('live.refresh'), dataset: { action: 'live-refresh' }, onclick: () => load() }, icon('refresh', { size: 14 })),
    ),
    values,
  );
  const load = async () => {
    values.setAttribute('aria-busy', 'true');
    try {
      const m = (await get(v2('/reports/conversations'))) || {};
      replace(
        values,
        LIVE.map((k) =>
          h(
            'div',
            { class: 'live-item', dataset: { live: k, value: String(m[k] ?? 0) }, title: t(`live.${k}Hint`) },
            h('div', { class: 'live-value' }, num(m[k] ?? 0)),
            h('div', { class: 'live-label' }, t(`live.${k}`)),
          ),
        ),
      );
    } catch (e) {
      replace(values, h('p', { class: 'form-error' }, errorText(e)));
    } finally {
      values.removeAttribute('aria-busy');
    }
  };
  load();
  return el;
}

// ---- the conversations export ----

/** Counts CSV rows across chunks: line ends outside quoted cells. */
class RowCounter {
  constructor() {
    this.quoted = false;
    this.rows = 0;
  }
  feed(text) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) this.quoted = !this.quoted;
      else if (c === 10 && !this.quoted) this.rows++;
    }
  }
}

/**
 * The export section of the Reports page: filters, a button, progress while it runs.
 * `period()` gives the page's `{since, until}` (or `{error}`).
 */
export function exportSection(period) {
  const any = [['', t('export.any')]];
  const sel = (name, pairs) => h('select', { name }, options(any.concat(pairs), ''));
  const inbox = sel('inbox_id', app.inboxes.map((i) => [i.id, i.name]));
  const team = sel('team_id', app.teams.map((x) => [x.id, x.name]));
  const agent = sel('assignee_id', app.agents.map((a) => [a.id, a.available_name || a.name]));
  const status = sel('status', ['open', 'pending', 'resolved', 'snoozed'].map((s) => [s, t(`export.status.${s}`)]));
  const label = sel('label', app.labels.map((l) => [l.title, l.title]));
  const bar = h('progress', { max: 1, value: 0, hidden: true, dataset: { part: 'export-progress' } });
  const note = h('p', { class: 'muted small', role: 'status', 'aria-live': 'polite', dataset: { part: 'export-status' } });
  let controller = null;
  const startBtn = h('button', { type: 'submit', class: 'btn small primary', dataset: { action: 'export' } }, icon('download', { size: 14 }), t('export.start'));
  const cancelBtn = h('button', { type: 'button', class: 'btn small', hidden: true, dataset: { action: 'export-cancel' }, onclick: () => controller && controller.abort() }, t('export.cancel'));
  const form = h(
    'form',
    {
      class: 'export-form',
      onsubmit: async (e) => {
        e.preventDefault();
        const p = period();
        if (p.error) {
          note.textContent = p.error;
          return;
        }
        controller = new AbortController();
        startBtn.disabled = true;
        cancelBtn.hidden = false;
        bar.hidden = false;
        bar.value = 0;
        note.dataset.state = 'running';
        note.textContent = t('export.starting');
        const query = qs({ since: p.since, until: p.until, inbox_id: inbox.value, team_id: team.value, assignee_id: agent.value, status: status.value, label: label.value, lang: getLang() });
        try {
          const res = await fetch(v2(`/exports/conversations${query}`), { credentials: 'same-origin', headers: { Accept: 'text/csv' }, signal: controller.signal });
          if (!res.ok) throw await failure(res);
          const total = Number(res.headers.get('x-export-rows')) || 0;
          bar.max = Math.max(1, total);
          const counter = new RowCounter();
          const decoder = new TextDecoder();
          const parts = [];
          const reader = res.body.getReader();
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            parts.push(value);
            counter.feed(decoder.decode(value, { stream: true }));
            const rows = Math.max(0, counter.rows - 1);
            bar.value = Math.min(rows, total);
            note.textContent = t('export.progress', { done: num(rows), total: num(total), pct: total ? Math.floor((100 * rows) / total) : 100 });
          }
          const rows = Math.max(0, counter.rows - 1);
          bar.value = bar.max;
          note.dataset.state = 'done';
          note.dataset.rows = String(rows);
          note.textContent = t('export.done', { n: num(rows) });
          save(new Blob(parts, { type: 'text/csv' }), fileName(res, 'conversations.csv'));
        } catch (ex) {
          bar.hidden = true;
          if (ex && ex.name === 'AbortError') {
            note.dataset.state = 'cancelled';
            note.textContent = t('export.cancelled');
          } else {
            note.dataset.state = 'error';
            note.textContent = ex instanceof ApiError && ex.status === 409 ? t('export.busy') : errorText(ex);
          }
        } finally {
          controller = null;
          startBtn.disabled = false;
          cancelBtn.hidden = true;
        }
      },
    },
    h('div', { class: 'export-filters' }, field(t('export.inbox'), inbox), field(t('export.team'), team), field(t('export.agent'), agent), field(t('export.statusLabel'), status), field(t('export.label'), label)),
    h('div', { class: 'export-actions' }, startBtn, cancelBtn, bar),
    note,
  );
  return h('section', { class: 'report-section', dataset: { section: 'export' } }, h('h2', null, t('export.title')), h('p', { class: 'muted small' }, t('export.hint')), form);
}

// ---- transcripts ----

/** Downloads the transcript of conversation `id`. */
export async function downloadTranscript(id) {
  try {
    const res = await fetch(v1(`/conversations/${id}/transcript`), { credentials: 'same-origin' });
    if (!res.ok) throw await failure(res);
    save(await res.blob(), fileName(res, `conversation-${id}-transcript.txt`));
  } catch (e) {
    toast(errorText(e), 'error');
  }
}

/** Asks for an address and e-mails the transcript of conversation `id` there. */
export function mailTranscript(id, email = '') {
  return modal(t('transcript.mailTitle'), (close) => {
    const input = h('input', { type: 'email', name: 'email', required: true, value: email, autocomplete: 'email', autofocus: true });
    const err = h('p', { class: 'form-error', role: 'alert', hidden: true });
    const send = h('button', { type: 'submit', class: 'btn primary', dataset: { action: 'send-transcript' } }, t('transcript.send'));
    return h(
      'form',
      {
        class: 'modal-body',
        onsubmit: async (e) => {
          e.preventDefault();
          send.disabled = true;
          err.hidden = true;
          try {
            await post(v1(`/conversations/${id}/transcript`), { email: input.value.trim() });
            toast(t('transcript.sent', { email: input.value.trim() }));
            close(true);
          } catch (ex) {
            err.hidden = false;
            err.textContent = ex instanceof ApiError && ex.status === 422 && ex.field === 'email' && /smtp_url/.test(ex.message || '') ? t('transcript.noMail') : errorText(ex);
            send.disabled = false;
          }
        },
      },
      field(t('transcript.address'), input, t('transcript.emailHint')),
      err,
      h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn', onclick: () => close(false) }, t('common.cancel')), send),
    );
  });
}
