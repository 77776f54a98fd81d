// Invitations into other accounts (docs/api.md, "Inviting an existing user"): an
// administrator who adds an e-mail that already belongs to a user only invites them; the
// membership starts when that user accepts here.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { get, post } from '../api.js';
import { toast, errorText } from '../ui.js';

/** Shows the signed-in user's pending invitations in `container`, one notice each. */
export async function invitationsNotice(container) {
  let list;
  try {
    list = await get('/api/v1/profile/invitations', { quiet401: true });
  } catch {
    return; // Not worth an error of its own: the console works without it.
  }
  for (const inv of (list && list.payload) || []) container.append(notice(inv));
}

function notice(inv) {
  const el = h('div', { class: 'invitation', role: 'status', dataset: { invitation: String(inv.id) } });
  const answer = async (verb) => {
    el.querySelectorAll('button').forEach((b) => (b.disabled = true));
    try {
      await post(`/api/v1/profile/invitations/${inv.id}/${verb}`);
      if (verb === 'accept') {
        // The new account appears in the profile: start again with it.
        location.reload();
        return;
      }
      el.remove();
    } catch (e) {
      toast(errorText(e), 'error');
      el.querySelectorAll('button').forEach((b) => (b.disabled = false));
    }
  };
  el.append(
    h('p', null, t('invite.text', { account: inv.account_name, role: t(`role.${inv.role}`) })),
    h('button', { type: 'button', class: 'btn primary', dataset: { action: 'accept' }, onclick: () => answer('accept') }, t('invite.accept')),
    h('button', { type: 'button', class: 'btn', dataset: { action: 'decline' }, onclick: () => answer('decline') }, t('invite.decline')),
  );
  return el;
}
