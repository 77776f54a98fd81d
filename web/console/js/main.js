// Entry point: decides between the setup page, the sign-in page and the console.

import { get, ApiError, setUnauthorizedHandler } from './api.js';
import { getLang, t } from './i18n.js';
import { h, replace } from './dom.js';
import { renderSetup, renderLogin } from './views/auth.js';
import { startConsole, stopConsole } from './views/shell.js';

const root = document.getElementById('app');
document.documentElement.lang = getLang();

let signedIn = false;

setUnauthorizedHandler(() => {
  if (!signedIn) return;
  signedIn = false;
  stopConsole();
  renderLogin(root, enter, { notice: t('login.expired') });
});

function enter(profile) {
  signedIn = true;
  startConsole(root, profile, { onSignedOut: () => showLogin() });
}

function showLogin() {
  signedIn = false;
  stopConsole();
  renderLogin(root, enter);
}

async function boot() {
  root.classList.remove('boot');
  root.removeAttribute('aria-busy');
  let profile = null;
  try {
    profile = await get('/api/v1/profile', { quiet401: true });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) {
      return fatal(e);
    }
  }
  if (profile) return enter(profile);
  try {
    const s = await get('/api/v1/setup');
    // Right after setup a new shop sees the first-run guide, not an empty list.
    // replaceState: no extra history entry and no hashchange before the console listens.
    if (s && s.setup_needed)
      return renderSetup(root, (p) => {
        history.replaceState(null, '', '#/welcome');
        enter(p);
      });
  } catch (e) {
    return fatal(e);
  }
  showLogin();
}

function fatal(e) {
  replace(
    root,
    h(
      'main',
      { class: 'auth' },
      h(
        'div',
        { class: 'auth-card' },
        h('h1', null, t('error.unreachable')),
        h('p', { class: 'muted' }, (e && e.message) || ''),
        h('button', { class: 'btn primary', type: 'button', onclick: () => location.reload() }, t('common.retry')),
      ),
    ),
  );
}

boot();
