// The operator's own settings: name, password, API token, language, notifications.

import { h, replace } from '../dom.js';
import { t, getLang, setLang, LANGS } from '../i18n.js';
import { put, post, get, patch, acct } from '../api.js';
import { app, saveSettings } from '../store.js';
import { field, toast, errorText, copyText, icon, confirmDialog } from '../ui.js';
import * as notify from '../notify.js';
import { rerenderAll } from './shell.js';

export function renderProfile() {
  const el = h('div', { class: 'page-scroll' });
  const page = { el };
  draw(el);
  return page;
}

function card(title, ...body) {
  return h('section', { class: 'card' }, h('h2', null, title), ...body);
}

function draw(el) {
  const p = app.profile;
  document.title = `${t('nav.profile')} · Parley`;
  notify.setBaseTitle(`${t('nav.profile')} · Parley`);

  // Name
  const name = h('input', { value: p.name || '', required: true, maxLength: 255, name: 'name' });
  const display = h('input', { value: p.display_name || '', maxLength: 255, name: 'display_name' });
  const nameForm = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await put('/api/v1/profile', { profile: { name: name.value.trim(), display_name: display.value.trim() } });
          app.profile = { ...app.profile, ...r };
          app.me = { ...app.me, name: r.name, available_name: r.available_name };
          toast(t('common.saved'));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    field(t('profile.name'), name),
    field(t('profile.displayName'), display, t('profile.displayNameHint')),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('common.save'))),
  );

  // Password
  const current = h('input', { type: 'password', required: true, autocomplete: 'current-password', name: 'current_password' });
  const next = h('input', { type: 'password', required: true, minLength: 8, autocomplete: 'new-password', name: 'password' });
  const confirm = h('input', { type: 'password', required: true, minLength: 8, autocomplete: 'new-password', name: 'password_confirmation' });
  const pwErr = h('div', { class: 'form-error', hidden: true, role: 'alert' });
  const pwForm = h(
    'form',
    {
      class: 'stack narrow',
      onsubmit: async (e) => {
        e.preventDefault();
        pwErr.hidden = true;
        if (next.value !== confirm.value) {
          pwErr.hidden = false;
          pwErr.textContent = t('profile.passwordMismatch');
          return;
        }
        try {
          await put('/api/v1/profile', { profile: { current_password: current.value, password: next.value, password_confirmation: confirm.value } });
          current.value = next.value = confirm.value = '';
          toast(t('profile.passwordChanged'));
        } catch (ex) {
          pwErr.hidden = false;
          pwErr.textContent = ex.field === 'current_password' ? t('profile.wrongPassword') : errorText(ex);
        }
      },
    },
    field(t('profile.currentPassword'), current),
    field(t('profile.newPassword'), next, t('setup.passwordHint')),
    field(t('profile.confirmPassword'), confirm),
    pwErr,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn primary' }, t('profile.changePassword'))),
  );

  // API token
  const tokenOut = h('div', { class: 'token-out', hidden: true });
  const tokenBtn = h(
    'button',
    {
      type: 'button',
      class: 'btn',
      onclick: async () => {
        if (!(await confirmDialog(t('profile.tokenConfirm'), t('profile.newToken')))) return;
        try {
          const r = await post('/api/v1/profile/access_token');
          tokenOut.hidden = false;
          const code = h('code', { class: 'mono' }, r.access_token || '');
          replace(tokenOut, h('p', { class: 'small' }, t('profile.tokenOnce')), h('div', { class: 'copy-row' }, code, h('button', { type: 'button', class: 'btn', onclick: () => copyText(r.access_token) }, icon('copy', { size: 14 }), t('common.copy'))));
        } catch (ex) {
          toast(errorText(ex), 'error');
        }
      },
    },
    icon('key', { size: 15 }),
    t('profile.newToken'),
  );

  // Language, notifications, sound
  const langSel = h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': t('profile.language') },
    LANGS.map((l) =>
      h(
        'button',
        {
          type: 'button',
          class: ['seg', l === getLang() && 'active'],
          'aria-pressed': String(l === getLang()),
          dataset: { lang: l },
          onclick: async () => {
            await setLang(l);
            rerenderAll();
          },
        },
        t(`lang.${l}`),
      ),
    ),
  );
  const perm = notify.permission();
  const notifyRow = h(
    'div',
    { class: 'stack' },
    h(
      'label',
      { class: 'check' },
      h('input', { type: 'checkbox', checked: app.settings.notify, onchange: (e) => saveSettings({ notify: e.target.checked }) }),
      t('profile.desktopNotifications'),
    ),
    perm === 'default'
      ? h(
          'button',
          {
            type: 'button',
            class: 'btn',
            onclick: async () => {
              await notify.askPermission();
              draw(el);
            },
          },
          icon('bell', { size: 15 }),
          t('profile.allowNotifications'),
        )
      : h('p', { class: 'small muted' }, t(`profile.permission.${perm}`)),
    h(
      'label',
      { class: 'check' },
      h('input', {
        type: 'checkbox',
        checked: app.settings.sound,
        onchange: (e) => {
          saveSettings({ sound: e.target.checked });
          if (e.target.checked) notify.beep();
        },
      }),
      t('profile.sound'),
    ),
    mentionEmailRow(),
  );

  const acc = (p.accounts || [])[0] || {};
  replace(
    el,
    h(
      'div',
      { class: 'page' },
      h('h1', null, t('nav.profile')),
      h('p', { class: 'muted' }, `${p.email} · ${acc.name || ''} · ${t(`role.${acc.role || 'agent'}`)}`),
      card(t('profile.language'), langSel),
      card(t('profile.you'), nameForm),
      card(t('profile.password'), pwForm),
      card(t('profile.notifications'), notifyRow),
      card(t('profile.apiToken'), h('p', { class: 'small muted' }, t('profile.apiTokenHint')), tokenBtn, tokenOut),
    ),
  );
}

/** "E-mail me when mentioned": Chatwoot's `email_conversation_mention` flag, per account. */
function mentionEmailRow() {
  const FLAG = 'email_conversation_mention';
  const box = h('input', { type: 'checkbox', disabled: true, dataset: { setting: 'mention-email' } });
  const path = acct('/notification_settings');
  get(path)
    .then((s) => {
      box.checked = (s.selected_email_flags || []).includes(FLAG);
      box.disabled = false;
    })
    .catch(() => {});
  box.onchange = async () => {
    box.disabled = true;
    try {
      const s = await patch(path, { notification_settings: { selected_email_flags: box.checked ? [FLAG] : [] } });
      box.checked = (s.selected_email_flags || []).includes(FLAG);
      toast(t('common.saved'));
    } catch (e) {
      box.checked = !box.checked;
      toast(errorText(e), 'error');
    } finally {
      box.disabled = false;
    }
  };
  return h('label', { class: 'check' }, box, t('profile.mentionEmail'));
}
