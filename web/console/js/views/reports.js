// Reports (supervisors and administrators; docs/reports.md): a period with the period before
// it, summary cards, conversations per day and the weekday × hour traffic as inline SVG with
// their numbers in tables, breakdowns per agent, team, inbox, channel, label and source with
// their CSV files, and the satisfaction answers with their comments; above them the live
// "now" strip, below them the conversations export (views/exports.js).

import { h, replace } from '../dom.js';
import { t, getLang, locale, fullStamp } from '../i18n.js';
import { getAccount, get, qs, ApiError } from '../api.js';
import { agentById, inboxById } from '../store.js';
import { icon, errorText, channelName, ratingStars, toast } from '../ui.js';
import * as notify from '../notify.js';
import { liveStrip, exportSection } from './exports.js';

const SVG_NS = 'http://www.w3.org/2000/svg';
const DAY = 86400;
/** The longest period the API accepts (docs/api.md, Reports). */
const MAX_DAYS = 400;

/** The summary cards: field, how it is shown, and whether a fall is the good direction. */
const CARDS = [
  ['conversations_count', 'count'],
  ['incoming_messages_count', 'count'],
  ['outgoing_messages_count', 'count'],
  ['avg_first_response_time', 'time', true],
  ['reply_time', 'time', true],
  ['avg_resolution_time', 'time', true],
  ['resolutions_count', 'count'],
  ['reopened_count', 'count', true],
  ['missed_count', 'count', true],
  ['sla_misses_count', 'count', true],
  ['avg_csat', 'score'],
  ['conversions_count', 'count'],
];

/** Breakdown tabs: the summary_reports dimension and its CSV file. */
const DIMS = [
  ['agent', 'agents'],
  ['team', 'teams'],
  ['inbox', 'inboxes'],
  ['channel', 'channels'],
  ['label', 'labels'],
  ['sources', 'sources'],
];

const v2 = (path) => `/api/v2/accounts/${getAccount()}${path}`;

/** "45 s", "12 min", "1 h 5 min", "2 d 3 h": a duration of seconds. */
/**
 * While conversations stored before reports existed are still being counted in the
 * background, says how far it is: the numbers are short until then.
 */
function backfillNotice(status) {
  if (!status || status.backfill_complete) return null;
  const pct = Math.floor((status.progress || 0) * 100);
  return h('p', { class: 'notice', role: 'status', dataset: { notice: 'backfill' } }, t('reports.backfilling', { pct }));
}

export function duration(secs) {
  const s = Math.round(Number(secs) || 0);
  if (s < 60) return t('time.seconds', { n: s });
  const min = Math.round(s / 60);
  if (min < 60) return t('time.min', { n: min });
  if (min < 1440) {
    const hrs = Math.floor(min / 60);
    const m = min % 60;
    return m ? t('time.hourMin', { h: hrs, m }) : t('time.hour', { n: hrs });
  }
  const d = Math.floor(min / 1440);
  const hrs = Math.floor((min % 1440) / 60);
  return hrs ? t('reports.dayHour', { d, h: hrs }) : t('time.day', { n: d });
}

const num = (n) => new Intl.NumberFormat(locale()).format(n);
const score = (n) => (n === null || n === undefined ? '—' : new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(n));
const cell = (v, kind) => (v === null || v === undefined ? '—' : kind === 'time' ? duration(v) : kind === 'score' ? score(v) : num(v));

/** Local midnight of a `YYYY-MM-DD` date, in epoch seconds (NaN when unreadable). */
function midnight(ymd) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(ymd || '');
  if (!m) return NaN;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime() / 1000;
}

function ymd(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function svgEl(tag, attrs = {}, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const k of kids.flat(Infinity)) if (k !== null && k !== undefined) el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return el;
}

export class ReportsPage {
  constructor() {
    const today = new Date();
    const weekAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
    this.range = { preset: '7', from: ymd(weekAgo), to: ymd(today), businessHours: false };
    this.dim = 'agent';
    this.sourcesBy = 'source';
    this.seq = 0;
    this.csatPage = 1;
    this.controlsEl = h('div', { class: 'report-controls', dataset: { part: 'controls' } });
    this.bodyEl = h('div', { class: 'report-body' });
    this.el = h(
      'div',
      { class: 'page-scroll' },
      h(
        'div',
        { class: 'page wide-page reports-page', dataset: { page: 'reports' } },
        h('header', { class: 'page-head' }, h('h1', null, t('nav.reports'))),
        h('p', { class: 'muted small' }, t('reports.hint')),
        liveStrip(),
        this.controlsEl,
        this.bodyEl,
      ),
    );
    this.renderControls();
  }

  mounted() {
    notify.setBaseTitle(`${t('nav.reports')} · Parley`);
    this.load();
  }

  route() {}

  destroy() {
    this.seq++;
  }

  /** {since, until, timezone_offset, business_hours} of the chosen period, or an error text. */
  period() {
    const r = this.range;
    let since;
    let until;
    if (r.preset === 'custom') {
      since = midnight(r.from);
      const to = midnight(r.to);
      if (!Number.isFinite(since) || !Number.isFinite(to)) return { error: t('reports.badDates') };
      if (to < since) return { error: t('reports.badOrder') };
      const end = new Date(to * 1000);
      until = new Date(end.getFullYear(), end.getMonth(), end.getDate() + 1).getTime() / 1000;
    } else {
      const now = new Date();
      until = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).getTime() / 1000;
      since = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1 - Number(r.preset)).getTime() / 1000;
    }
    if (until - since > MAX_DAYS * DAY + 3600) return { error: t('reports.tooLong', { n: MAX_DAYS }) };
    // The browser's UTC offset now, in hours: the server's days and hours are the reader's.
    const offset = -new Date().getTimezoneOffset() / 60;
    return { since, until, timezone_offset: offset, business_hours: r.businessHours ? 'true' : null };
  }

  renderControls() {
    const r = this.range;
    const preset = (key, label) =>
      h(
        'button',
        {
          type: 'button',
          class: ['seg', r.preset === key && 'active'],
          'aria-pressed': String(r.preset === key),
          dataset: { range: key },
          onclick: () => {
            r.preset = key;
            this.renderControls();
            if (key !== 'custom') this.load();
          },
        },
        label,
      );
    const from = h('input', { type: 'date', name: 'from', value: r.from, 'aria-label': t('reports.from') });
    const to = h('input', { type: 'date', name: 'to', value: r.to, 'aria-label': t('reports.to') });
    const custom = h(
      'form',
      {
        class: 'report-dates',
        hidden: r.preset !== 'custom',
        onsubmit: (e) => {
          e.preventDefault();
          r.from = from.value;
          r.to = to.value;
          this.load();
        },
      },
      h('label', null, t('reports.from'), ' ', from),
      h('label', null, t('reports.to'), ' ', to),
      h('button', { type: 'submit', class: 'btn small', dataset: { action: 'apply-range' } }, t('reports.apply')),
    );
    const bh = h('input', {
      type: 'checkbox',
      name: 'business_hours',
      checked: r.businessHours,
      onchange: (e) => {
        r.businessHours = e.target.checked;
        this.load();
      },
    });
    replace(
      this.controlsEl,
      h(
        'div',
        { class: 'segmented', role: 'group', 'aria-label': t('reports.period') },
        preset('7', t('reports.last7')),
        preset('30', t('reports.last30')),
        preset('custom', t('reports.custom')),
      ),
      custom,
      h('label', { class: 'check', title: t('reports.businessHoursHint') }, bh, ' ', t('reports.businessHours')),
    );
  }

  async load() {
    const seq = ++this.seq;
    const p = this.period();
    if (p.error) {
      replace(this.bodyEl, h('p', { class: 'form-error', role: 'alert', dataset: { error: 'range' } }, p.error));
      return;
    }
    this.params = p;
    this.csatPage = 1;
    this.bodyEl.setAttribute('aria-busy', 'true');
    try {
      const [summary, series, traffic, csat, csatMetrics, status] = await Promise.all([
        get(v2(`/reports/summary${qs(p)}`)),
        get(v2(`/reports${qs({ ...p, metric: 'conversations_count', group_by: 'day' })}`)),
        get(v2(`/reports/conversation_traffic${qs({ ...p, format: 'json' })}`)),
        get(`/api/v1/accounts/${getAccount()}/csat_survey_responses${qs({ ...p, page: 1 })}`),
        get(`/api/v1/accounts/${getAccount()}/csat_survey_responses/metrics${qs(p)}`),
        get(v2('/reports/status')),
      ]);
      if (seq !== this.seq) return;
      this.breakdownEl = h('div', { class: 'report-breakdown' });
      this.csatList = csat || [];
      this.csatListEl = h('div', { class: 'csat-list' });
      replace(
        this.bodyEl,
        backfillNotice(status),
        this.cards(summary),
        this.seriesChart(series || []),
        this.heatMap(traffic),
        h('section', { class: 'report-section', dataset: { section: 'breakdown' } }, h('h2', null, t('reports.breakdown')), this.breakdownEl),
        this.csatSection(csatMetrics),
        exportSection(() => this.period()),
      );
      this.bodyEl.removeAttribute('aria-busy');
      this.renderCsatList(csat && csat.length === 25);
      this.loadBreakdown();
    } catch (e) {
      if (seq !== this.seq) return;
      this.bodyEl.removeAttribute('aria-busy');
      const denied = e instanceof ApiError && e.status === 403;
      replace(this.bodyEl, h('p', { class: 'form-error', role: 'alert', dataset: { error: denied ? 'forbidden' : 'load' } }, denied ? t('reports.forbidden') : errorText(e)));
    }
  }

  // ---- summary cards ----

  cards(s) {
    const prev = s.previous || {};
    return h(
      'section',
      { class: 'report-cards', 'aria-label': t('reports.summary'), dataset: { section: 'cards' } },
      CARDS.map(([key, kind, lowerIsBetter]) => {
        const cur = s[key];
        const before = prev[key];
        return h(
          'div',
          { class: 'report-card', dataset: { metric: key } },
          h('div', { class: 'report-card-label' }, t(`reports.metric.${key}`)),
          h('div', { class: 'report-card-value', dataset: { value: cur === null || cur === undefined ? '' : String(cur) } }, cell(cur, kind)),
          delta(cur, before, kind, lowerIsBetter),
        );
      }),
    );
  }

  // ---- conversations per day ----

  seriesChart(points) {
    const W = 720;
    const H = 200;
    const padL = 36;
    const padB = 24;
    const top = 10;
    const max = Math.max(1, ...points.map((p) => p.value));
    const step = points.length ? (W - padL) / points.length : 1;
    const bar = Math.max(2, Math.min(40, step * 0.7));
    const y = (v) => top + (H - top - padB) * (1 - v / max);
    const dateFmt = new Intl.DateTimeFormat(locale(), { day: 'numeric', month: 'short' });
    const label = (ts) => dateFmt.format(new Date(ts * 1000));
    const every = Math.max(1, Math.ceil(points.length / 10));
    const chart = svgEl(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, class: 'report-chart', role: 'img', 'aria-label': t('reports.perDayChart', { n: points.reduce((a, p) => a + p.value, 0) }), 'data-chart': 'conversations' },
      svgEl('line', { x1: padL, y1: y(0), x2: W, y2: y(0), class: 'axis' }),
      svgEl('line', { x1: padL, y1: y(max), x2: W, y2: y(max), class: 'grid' }),
      svgEl('text', { x: padL - 6, y: y(max) + 4, class: 'tick', 'text-anchor': 'end' }, num(max)),
      svgEl('text', { x: padL - 6, y: y(0) + 4, class: 'tick', 'text-anchor': 'end' }, '0'),
      points.map((p, i) => {
        const x = padL + i * step + (step - bar) / 2;
        return svgEl(
          'rect',
          { x: x.toFixed(1), y: y(p.value).toFixed(1), width: bar.toFixed(1), height: Math.max(0, y(0) - y(p.value)).toFixed(1), rx: 2, class: 'bar', 'data-value': p.value, 'data-timestamp': p.timestamp },
          svgEl('title', {}, `${label(p.timestamp)}: ${num(p.value)}`),
        );
      }),
      points.map((p, i) => (i % every === 0 ? svgEl('text', { x: (padL + i * step + step / 2).toFixed(1), y: H - 6, class: 'tick', 'text-anchor': 'middle' }, label(p.timestamp)) : null)),
    );
    const table = h(
      'table',
      { class: 'data compact', dataset: { table: 'conversations' } },
      h('caption', { class: 'sr-only' }, t('reports.perDay')),
      h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('reports.day')), h('th', { scope: 'col', class: 'num' }, t('reports.metric.conversations_count')))),
      h(
        'tbody',
        null,
        points.map((p) => h('tr', null, h('th', { scope: 'row' }, new Intl.DateTimeFormat(locale(), { weekday: 'short', day: 'numeric', month: 'long' }).format(new Date(p.timestamp * 1000))), h('td', { class: 'num' }, num(p.value)))),
      ),
    );
    return h(
      'section',
      { class: 'report-section', dataset: { section: 'series' } },
      h('h2', null, t('reports.perDay')),
      h('div', { class: 'chart-box' }, chart),
      h('details', { class: 'chart-numbers' }, h('summary', null, t('reports.numbers')), table),
    );
  }

  // ---- weekday × hour ----

  heatMap(traffic) {
    const data = (traffic && traffic.data) || [];
    // The server sends Sunday first; the week is shown from Monday, as both languages do.
    const order = [1, 2, 3, 4, 5, 6, 0];
    const max = Math.max(1, ...data.flat());
    const cellW = 26;
    const cellH = 22;
    const padL = 44;
    const padT = 18;
    const W = padL + 24 * cellW;
    const H = padT + 7 * cellH;
    const dayShort = (d) => new Intl.DateTimeFormat(locale(), { weekday: 'short' }).format(new Date(2024, 0, 7 + d));
    const total = data.flat().reduce((a, b) => a + b, 0);
    const chart = svgEl(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, class: 'report-heat', role: 'img', 'aria-label': t('reports.trafficChart', { n: total }), 'data-chart': 'traffic' },
      Array.from({ length: 24 }, (_, hr) => (hr % 3 === 0 ? svgEl('text', { x: padL + hr * cellW + cellW / 2, y: 12, class: 'tick', 'text-anchor': 'middle' }, String(hr)) : null)),
      order.map((d, row) => [
        svgEl('text', { x: padL - 6, y: padT + row * cellH + cellH / 2 + 4, class: 'tick', 'text-anchor': 'end' }, dayShort(d)),
        Array.from({ length: 24 }, (_, hr) => {
          const v = (data[d] && data[d][hr]) || 0;
          return svgEl(
            'rect',
            { x: padL + hr * cellW + 1, y: padT + row * cellH + 1, width: cellW - 2, height: cellH - 2, rx: 3, class: 'heat-cell', 'fill-opacity': v ? (0.15 + 0.85 * (v / max)).toFixed(2) : null, 'data-value': v, 'data-day': d, 'data-hour': hr, ...(v ? {} : { class: 'heat-cell empty' }) },
            svgEl('title', {}, `${t(`day.${d}`)}, ${String(hr).padStart(2, '0')}:00–${String(hr + 1).padStart(2, '0')}:00: ${num(v)}`),
          );
        }),
      ]),
    );
    const table = h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data compact heat-table', dataset: { table: 'traffic' } },
        h('caption', { class: 'sr-only' }, t('reports.traffic')),
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, t('reports.weekday')), Array.from({ length: 24 }, (_, hr) => h('th', { scope: 'col', class: 'num' }, String(hr))))),
        h('tbody', null, order.map((d) => h('tr', null, h('th', { scope: 'row' }, t(`day.${d}`)), Array.from({ length: 24 }, (_, hr) => h('td', { class: 'num' }, num((data[d] && data[d][hr]) || 0)))))),
      ),
    );
    return h(
      'section',
      { class: 'report-section', dataset: { section: 'traffic' } },
      h('h2', null, t('reports.traffic')),
      h('p', { class: 'muted small' }, t('reports.trafficHint')),
      h('div', { class: 'chart-box' }, chart),
      h('details', { class: 'chart-numbers' }, h('summary', null, t('reports.numbers')), table),
    );
  }

  // ---- breakdowns ----

  async loadBreakdown() {
    const seq = this.seq;
    const el = this.breakdownEl;
    const dim = this.dim;
    const tabs = h(
      'div',
      { class: 'tabs', role: 'tablist', 'aria-label': t('reports.breakdown') },
      DIMS.map(([d]) =>
        h(
          'button',
          {
            type: 'button',
            role: 'tab',
            class: ['tab', d === dim && 'active'],
            'aria-selected': String(d === dim),
            dataset: { dim: d },
            onclick: () => {
              this.dim = d;
              this.loadBreakdown();
            },
          },
          t(`reports.dim.${d}`),
        ),
      ),
    );
    const csvPath = (DIMS.find(([d]) => d === dim) || [])[1];
    const tools = h('div', { class: 'report-tools' });
    if (dim === 'sources') {
      tools.append(
        h(
          'label',
          null,
          t('reports.sourcesBy'),
          ' ',
          h(
            'select',
            {
              name: 'by',
              value: this.sourcesBy,
              onchange: (e) => {
                this.sourcesBy = e.target.value;
                this.loadBreakdown();
              },
            },
            ['source', 'medium', 'campaign', 'referrer'].map((b) => h('option', { value: b }, t(`reports.by.${b}`))),
          ),
        ),
      );
    }
    if (csvPath) {
      tools.append(
        h(
          'button',
          { type: 'button', class: 'btn small', dataset: { action: 'csv', csv: csvPath }, onclick: (e) => this.download(csvPath, e.currentTarget) },
          icon('download', { size: 14 }),
          t('reports.csv'),
        ),
      );
    }
    const tableEl = h('div', { class: 'table-scroll' }, h('p', { class: 'muted' }, t('common.loading')));
    replace(el, tabs, tools, tableEl);
    try {
      const path = dim === 'sources' ? `/summary_reports/sources${qs({ ...this.params, by: this.sourcesBy })}` : `/summary_reports/${dim}${qs(this.params)}`;
      const rows = (await get(v2(path))) || [];
      if (seq !== this.seq || dim !== this.dim) return;
      replace(tableEl, dim === 'sources' ? sourcesTable(rows) : breakdownTable(dim, rows));
    } catch (e) {
      if (seq !== this.seq || dim !== this.dim) return;
      replace(tableEl, h('p', { class: 'form-error' }, errorText(e)));
    }
  }

  /** Fetches a CSV file over the session and saves it under the server's file name. */
  async download(file, btn) {
    btn.disabled = true;
    try {
      const by = file === 'sources' ? this.sourcesBy : null;
      const res = await fetch(v2(`/reports/${file}${qs({ ...this.params, by, lang: getLang() })}`), { credentials: 'same-origin', headers: { Accept: 'text/csv' } });
      if (!res.ok) throw new ApiError(res.status, 'http_error', `HTTP ${res.status}`);
      const blob = await res.blob();
      const m = /filename="?([^";]+)"?/.exec(res.headers.get('content-disposition') || '');
      const a = h('a', { href: URL.createObjectURL(blob), download: m ? m[1] : `${file}.csv`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) {
      toast(errorText(e), 'error');
    } finally {
      btn.disabled = false;
    }
  }

  // ---- satisfaction ----

  csatSection(m) {
    const metrics = m || {};
    const dist = metrics.ratings_count || {};
    const total = metrics.total_count || 0;
    return h(
      'section',
      { class: 'report-section', dataset: { section: 'csat' } },
      h('h2', null, t('reports.csat')),
      h(
        'div',
        { class: 'csat-summary' },
        h('div', { dataset: { csat: 'count' } }, h('b', null, num(total)), ' ', t('reports.csatAnswers', { n: total })),
        h('div', { dataset: { csat: 'average' } }, t('reports.csatAverage'), ' ', h('b', null, score(metrics.average_rating))),
        h('div', { dataset: { csat: 'satisfied' } }, t('reports.csatSatisfied'), ' ', h('b', null, total ? `${Math.round((100 * (metrics.satisfied_count || 0)) / total)}%` : '—')),
        h(
          'div',
          { class: 'csat-dist' },
          ['5', '4', '3', '2', '1'].map((k) => h('span', { class: 'csat-dist-row', title: t('csat.score', { n: k }) }, `${k}★ `, h('b', null, num(dist[k] || 0)))),
        ),
      ),
      this.csatListEl,
    );
  }

  renderCsatList(more) {
    const list = this.csatList;
    if (!list.length) {
      replace(this.csatListEl, h('p', { class: 'muted empty-note' }, t('reports.csatNone')));
      return;
    }
    const table = h(
      'table',
      { class: 'data', dataset: { table: 'csat' } },
      h('caption', { class: 'sr-only' }, t('reports.csat')),
      h('thead', null, h('tr', null, [t('reports.csatScore'), t('reports.csatComment'), t('reports.conversation'), t('reports.dim.agent'), t('reports.dim.inbox'), t('reports.when')].map((x) => h('th', { scope: 'col' }, x)))),
      h(
        'tbody',
        null,
        list.map((r) => {
          const agent = r.assigned_agent_id ? agentById(r.assigned_agent_id) : null;
          const inbox = inboxById(r.inbox_id);
          return h(
            'tr',
            { dataset: { csat: r.id, rating: r.rating } },
            h('td', { class: 'nowrap' }, ratingStars(r.rating)),
            h('td', { class: 'csat-comment-cell' }, r.feedback_message || h('span', { class: 'muted' }, '—')),
            h('td', null, h('a', { href: `#/conversations/${r.conversation_id}` }, `#${r.conversation_id}`)),
            h('td', null, agent ? agent.available_name || agent.name : '—'),
            h('td', null, inbox ? inbox.name : '—'),
            h('td', { class: 'nowrap' }, fullStamp(r.created_at)),
          );
        }),
      ),
    );
    const moreBtn = more
      ? h(
          'button',
          {
            type: 'button',
            class: 'btn small',
            dataset: { action: 'csat-more' },
            onclick: async (e) => {
              const seq = this.seq;
              e.currentTarget.disabled = true;
              try {
                const next = (await get(`/api/v1/accounts/${getAccount()}/csat_survey_responses${qs({ ...this.params, page: this.csatPage + 1 })}`)) || [];
                if (seq !== this.seq) return;
                this.csatPage += 1;
                this.csatList = this.csatList.concat(next);
                this.renderCsatList(next.length === 25 && this.csatPage < 400);
              } catch (ex) {
                toast(errorText(ex), 'error');
                e.currentTarget.disabled = false;
              }
            },
          },
          t('reports.more'),
        )
      : null;
    replace(this.csatListEl, h('div', { class: 'table-scroll' }, table), moreBtn);
  }
}

/** "▲ 12%" / "▼ 5%" against the previous period; green when the change is for the better. */
function delta(cur, before, kind, lowerIsBetter) {
  const el = (cls, text, title) => h('div', { class: ['report-delta', cls], title, dataset: { delta: cls } }, text);
  if (cur === null || cur === undefined || before === null || before === undefined) return el('none', t('reports.noPrevious'), t('reports.vsPrevious'));
  const prevText = t('reports.previousWas', { value: cell(before, kind) });
  if (cur === before) return el('same', `= ${t('reports.noChange')}`, prevText);
  // Nothing before (an average of nothing is 0 too): new, neither better nor worse.
  if (!before) return el('new', `▲ ${t('reports.new')}`, prevText);
  const pct = Math.round((Math.abs(cur - before) / Math.abs(before)) * 100);
  const up = cur > before;
  const good = up !== Boolean(lowerIsBetter);
  return el(good ? 'better' : 'worse', `${up ? '▲' : '▼'} ${num(pct)}%`, prevText);
}

const COLS = [
  ['conversations_count', 'count'],
  ['resolved_conversations_count', 'count'],
  ['avg_first_response_time', 'time'],
  ['avg_reply_time', 'time'],
  ['avg_resolution_time', 'time'],
  ['missed_count', 'count'],
  ['avg_csat', 'score'],
  ['conversions_count', 'count'],
];

function breakdownTable(dim, rows) {
  if (!rows.length) return h('p', { class: 'muted empty-note' }, t('reports.noRows'));
  const name = (r) => (dim === 'channel' ? channelName(r.name) : r.name);
  return h(
    'table',
    { class: 'data compact', dataset: { table: `breakdown-${dim}` } },
    h('caption', { class: 'sr-only' }, t(`reports.dim.${dim}`)),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, t(`reports.dim.${dim}`)), COLS.map(([k]) => h('th', { scope: 'col', class: 'num' }, t(`reports.col.${k}`))))),
    h(
      'tbody',
      null,
      rows.map((r) => h('tr', { dataset: { row: r.id ?? r.name } }, h('th', { scope: 'row' }, name(r)), COLS.map(([k, kind]) => h('td', { class: 'num', dataset: { col: k } }, cell(r[k], kind))))),
    ),
  );
}

function sourcesTable(rows) {
  if (!rows.length) return h('p', { class: 'muted empty-note' }, t('reports.noRows'));
  return h(
    'table',
    { class: 'data compact', dataset: { table: 'breakdown-sources' } },
    h('caption', { class: 'sr-only' }, t('reports.dim.sources')),
    h('thead', null, h('tr', null, [t('reports.dim.sources'), t('reports.col.conversations_count'), t('reports.col.conversions_count'), t('reports.conversionRate')].map((x, i) => h('th', { scope: 'col', class: i ? 'num' : null }, x)))),
    h(
      'tbody',
      null,
      rows.map((r) =>
        h(
          'tr',
          { dataset: { row: r.key ?? '' } },
          h('th', { scope: 'row' }, r.key ?? h('span', { class: 'muted' }, t('reports.noneGiven'))),
          h('td', { class: 'num' }, num(r.conversations_count)),
          h('td', { class: 'num' }, num(r.conversions_count)),
          h('td', { class: 'num' }, `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format((r.conversion_rate || 0) * 100)}%`),
        ),
      ),
    ),
  );
}
