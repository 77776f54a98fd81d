// First-run setup (only while the server has no user) and sign-in.

import { h, replace } from '../dom.js';
import { t, getLang, setLang, LANGS } from '../i18n.js';
import { post } from '../api.js';
import { errorText, field } from '../ui.js';

function langSwitch(rerender) {
  return h(
    'div',
    { class: 'lang-switch', role: 'group', 'aria-label': t('profile.language') },
    LANGS.map((l) =>
      h(
        'button',
        {
          type: 'button',
          class: ['link', l === getLang() && 'active'],
          'aria-pressed': String(l === getLang()),
          onclick: async () => {
            await setLang(l);
            rerender();
          },
        },
        t(`lang.${l}`),
      ),
    ),
  );
}

function card(title, subtitle, form, rerender) {
  return h(
    'main',
    { class: 'auth' },
    h(
      'div',
      { class: 'auth-card' },
      h('div', { class: 'brand' }, h('img', { src: './img/favicon.svg', alt: '', width: 36, height: 36 }), h('span', null, 'Parley')),
      h('h1', null, title),
      subtitle ? h('p', { class: 'muted' }, subtitle) : null,
      form,
      langSwitch(rerender),
    ),
  );
}

function errorBox() {
  return h('div', { class: 'form-error', role: 'alert', hidden: true });
}

function showError(box, e) {
  box.hidden = false;
  box.textContent = typeof e === 'string' ? e : errorText(e);
}

/** The setup page: first administrator and account. `done(profile)` after success. */
export function renderSetup(root, done) {
  const rerender = () => renderSetup(root, done);
  document.title = `${t('setup.title')} · Parley`;
  const name = h('input', { name: 'name', required: true, autocomplete: 'name', maxLength: 255 });
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'email', maxLength: 255 });
  const password = h('input', { name: 'password', type: 'password', required: true, minLength: 8, autocomplete: 'new-password' });
  const account = h('input', { name: 'account_name', required: true, maxLength: 255, placeholder: t('setup.accountPlaceholder') });
  const err = errorBox();
  const submit = h('button', { class: 'btn primary wide', type: 'submit' }, t('setup.submit'));
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: async (e) => {
        e.preventDefault();
        err.hidden = true;
        submit.disabled = true;
        try {
          const r = await post('/api/v1/setup', {
            name: name.value.trim(),
            email: email.value.trim(),
            password: password.value,
            account_name: account.value.trim(),
            locale: getLang(),
          });
          done(r.user);
        } catch (ex) {
          if (ex.status === 409) showError(err, t('setup.alreadyDone'));
          else showError(err, ex);
          submit.disabled = false;
        }
      },
    },
    field(t('setup.name'), name),
    field(t('setup.email'), email),
    field(t('setup.password'), password, t('setup.passwordHint')),
    field(t('setup.account'), account),
    err,
    submit,
  );
  replace(root, card(t('setup.title'), t('setup.subtitle'), form, rerender));
  name.focus();
}

/** The sign-in page. `done(profile)` after success. */
export function renderLogin(root, done, { notice } = {}) {
  const rerender = () => renderLogin(root, done);
  document.title = `${t('login.title')} · Parley`;
  const email = h('input', { name: 'email', type: 'email', required: true, autocomplete: 'username' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const err = errorBox();
  const submit = h('button', { class: 'btn primary wide', type: 'submit' }, t('login.submit'));
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: async (e) => {
        e.preventDefault();
        err.hidden = true;
        submit.disabled = true;
        try {
          const r = await post('/auth/sign_in', { email: email.value.trim(), password: password.value }, { quiet401: true });
          done(r.data);
        } catch (ex) {
          if (ex.status === 401) showError(err, t('login.invalid'));
          else if (ex.status === 429) showError(err, t('login.tooMany'));
          else showError(err, ex);
          submit.disabled = false;
          password.select();
        }
      },
    },
    notice ? h('div', { class: 'notice' }, notice) : null,
    field(t('login.email'), email),
    field(t('login.password'), password),
    err,
    submit,
  );
  replace(root, card(t('login.title'), null, form, rerender));
  email.focus();
}
