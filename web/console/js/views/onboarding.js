// The first-run guide ("Getting started", `#/welcome`): the three steps a new shop needs —
// connect the website, invite an operator, set working hours. Whether a step is done comes
// from the server (derived from the account, so work done elsewhere counts); what only the
// browser sees (snippet copied, demo page opened, guide dismissed) is sent to the server so
// the guide looks the same in every browser (docs/api.md, "Onboarding").

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { get, post, patch, acct } from '../api.js';
import { reloadOne } from '../store.js';
import { field, toast, errorText, copyText, icon, options } from '../ui.js';
import * as notify from '../notify.js';

const WEB = 'Channel::WebWidget';

export class OnboardingPage {
  constructor() {
    this.state = null;
    this.inboxes = [];
    this.chosen = null;
    this.body = h('div', { class: 'cards onboarding', dataset: { onboarding: '' } });
    this.el = h('div', { class: 'page-scroll' }, h('div', { class: 'settings-content onboarding-page' }, this.body));
    notify.setBaseTitle(`${t('onboarding.title')} · Parley`);
    this.load();
  }

  route() {
    this.load();
  }

  async load() {
    replace(this.body, h('p', { class: 'muted' }, t('common.loading')));
    try {
      const [state, inboxes] = await Promise.all([get(acct('/onboarding')), get(acct('/inboxes'))]);
      this.state = state;
      this.inboxes = (inboxes.payload || []).filter((i) => i.channel_type === WEB);
      if (!this.inboxes.some((i) => i.id === this.chosen)) this.chosen = this.inboxes.length ? this.inboxes[0].id : null;
      this.draw();
    } catch (e) {
      replace(this.body, h('p', { class: 'form-error' }, errorText(e)));
    }
  }

  /** Sends a flag and redraws with the answer. */
  async mark(change) {
    try {
      this.state = await patch(acct('/onboarding'), change);
      this.draw();
    } catch (e) {
      toast(errorText(e), 'error');
    }
  }

  draw() {
    const s = this.state;
    const done = [s.steps.website, s.steps.operator, s.steps.hours].filter(Boolean).length;
    const head = h(
      'header',
      { class: 'page-head' },
      h('div', null, h('h2', null, t('onboarding.title')), h('p', { class: 'muted small', dataset: { progress: String(done) } }, t('onboarding.progress', { done, total: 3 }))),
      h(
        'div',
        { class: 'page-actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn',
            dataset: { action: 'dismiss-guide' },
            onclick: async () => {
              await this.mark({ dismissed: true });
              location.hash = '#/conversations/mine';
            },
          },
          t('onboarding.dismiss'),
        ),
      ),
    );
    const finished = s.completed ? h('section', { class: 'card onboarding-done', dataset: { completed: '' } }, h('h3', null, t('onboarding.allDone')), h('p', { class: 'muted' }, t('onboarding.allDoneHint'))) : null;
    replace(this.body, head, finished, this.websiteStep(), this.operatorStep(), this.hoursStep());
  }

  step(key, n, doneFlag, title, hint, ...content) {
    return h(
      'section',
      { class: ['card', 'onboarding-step', doneFlag && 'done'], dataset: { step: key, done: doneFlag ? 'true' : 'false' } },
      h(
        'h3',
        { class: 'onboarding-title' },
        h('span', { class: 'onboarding-mark', 'aria-hidden': 'true' }, doneFlag ? icon('check', { size: 14 }) : String(n)),
        title,
        doneFlag ? h('span', { class: 'onboarding-badge' }, t('onboarding.done')) : null,
      ),
      h('p', { class: 'muted small' }, hint),
      content,
    );
  }

  websiteStep() {
    const s = this.state;
    if (!this.inboxes.length) {
      const name = h('input', { name: 'name', required: true, maxLength: 255, value: t('onboarding.defaultInboxName') });
      const url = h('input', { name: 'website_url', type: 'url', required: true, placeholder: 'https://shop.example' });
      const form = h(
        'form',
        {
          class: 'form',
          dataset: { form: 'guide-inbox' },
          onsubmit: async (e) => {
            e.preventDefault();
            try {
              const created = await post(acct('/inboxes'), { name: name.value.trim(), channel: { type: 'web_widget', website_url: url.value.trim() } });
              this.chosen = created.id;
              await reloadOne('inboxes');
              await this.load();
            } catch (ex) {
              toast(errorText(ex), 'error');
            }
          },
        },
        field(t('settings.name'), name),
        field(t('settings.websiteUrl'), url),
        h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('onboarding.createInbox'))),
      );
      return this.step('website', 1, s.steps.website, t('onboarding.websiteTitle'), t('onboarding.websiteHintNew'), form);
    }
    const inbox = this.inboxes.find((i) => i.id === this.chosen) || this.inboxes[0];
    const picker =
      this.inboxes.length > 1
        ? field(
            t('onboarding.chooseInbox'),
            h(
              'select',
              {
                name: 'inbox',
                onchange: (e) => {
                  this.chosen = Number(e.target.value);
                  this.draw();
                },
              },
              options(this.inboxes.map((i) => [i.id, i.name]), inbox.id),
            ),
          )
        : null;
    const script = inbox.web_widget_script || '';
    const demo = `/demo?token=${encodeURIComponent(inbox.inbox_identifier || '')}`;
    return this.step(
      'website',
      1,
      s.steps.website,
      t('onboarding.websiteTitle'),
      t('onboarding.websiteHint'),
      picker,
      h('pre', { class: 'snippet', dataset: { snippet: '' } }, script),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          {
            type: 'button',
            class: 'btn',
            dataset: { action: 'copy-snippet' },
            onclick: async () => {
              await copyText(script);
              if (!s.snippet_copied) await this.mark({ snippet_copied: true });
            },
          },
          icon('copy', { size: 14 }),
          t('common.copy'),
        ),
        h(
          'a',
          {
            class: 'btn primary',
            href: demo,
            target: '_blank',
            rel: 'noopener',
            dataset: { action: 'open-demo' },
            onclick: () => {
              if (!s.demo_opened) this.mark({ demo_opened: true });
            },
          },
          t('onboarding.openDemo'),
        ),
      ),
    );
  }

  operatorStep() {
    return this.step(
      'operator',
      2,
      this.state.steps.operator,
      t('onboarding.operatorTitle'),
      t('onboarding.operatorHint'),
      h('div', { class: 'actions' }, h('a', { class: 'btn', href: '#/settings/agents', dataset: { action: 'open-agents' } }, t('onboarding.openAgents'))),
    );
  }

  hoursStep() {
    const inbox = this.inboxes.find((i) => i.id === this.chosen) || this.inboxes[0];
    const target = inbox ? `#/settings/inboxes/${inbox.id}` : '#/settings/inboxes';
    return this.step(
      'hours',
      3,
      this.state.steps.hours,
      t('onboarding.hoursTitle'),
      t('onboarding.hoursHint'),
      h('div', { class: 'actions' }, h('a', { class: 'btn', href: target, dataset: { action: 'open-hours' } }, t('onboarding.openHours'))),
    );
  }
}

/** "Getting started" in the settings menu: reopens a dismissed guide. */
export async function reopenGuide() {
  try {
    await patch(acct('/onboarding'), { dismissed: false });
  } catch {
    // Agents may not change the flag; the page still opens.
  }
  location.hash = '#/welcome';
}
