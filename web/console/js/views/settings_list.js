// The shape every Settings list page shares (webhooks, automation rules, macros…): load the
// items, show the error if that fails, else a head with its button, a hint and a table of
// the items (or a note when there are none); row buttons that may ask first and report
// failures in a toast; and the wide create/edit dialog around a form.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { toast, errorText, confirmDialog, modal } from '../ui.js';
import { pageHead } from './inbox-settings.js';

/**
 * Draws a list page into `el`: `load()` resolves with the items; `page` describes it:
 * `{title, button, hint, list, columns, row(item), empty}` (`list` names the table in
 * `data-list`). Nothing is drawn when the view was left meanwhile (`live()` false).
 */
export async function listPage(el, live, load, page) {
  let items;
  try {
    items = await load();
  } catch (e) {
    if (live()) replace(el, h('p', { class: 'form-error' }, errorText(e)));
    return;
  }
  if (!live()) return;
  replace(
    el,
    pageHead(page.title, page.button),
    h('p', { class: 'muted' }, page.hint),
    items.length
      ? h(
          'table',
          { class: 'data', dataset: { list: page.list } },
          h('thead', null, h('tr', null, page.columns.map((x) => h('th', null, x)))),
          h('tbody', null, items.map(page.row)),
        )
      : h('p', { class: 'muted empty-note' }, page.empty),
  );
}

/**
 * A small row button (`data-action` = `action`) that runs `run()` and then `done()`; with
 * `confirm` (a question) it asks first, and it is drawn as dangerous. Failures go to a toast.
 */
export function rowButton(label, action, run, done, confirm) {
  return h(
    'button',
    {
      type: 'button',
      class: ['btn', 'small', confirm && 'danger'],
      dataset: { action },
      onclick: async () => {
        if (confirm && !(await confirmDialog(confirm, label))) return;
        try {
          await run();
          done();
        } catch (e) {
          toast(errorText(e), 'error');
        }
      },
    },
    label,
  );
}

/**
 * A wide create/edit dialog around a form. `build(close)` gives the form's parts:
 * `{fields, buttons, check(), save(), failure(ex)}`: `fields` the nodes above the error
 * line, `buttons` shown before the submit button, `check()` a problem to show before
 * sending (or null), `save()` sends and resolves with what the dialog resolves with,
 * `failure(ex)` (optional) the words for a refused save. `names` = `{error, submit, narrow}`:
 * the error line's `data-error`, the submit button's label, and whether the dialog is the
 * narrow one (a form of two or three fields). Resolves with the saved value, or undefined
 * when dismissed.
 */
export function formDialog(title, names, build) {
  return modal(title, (close) => {
    const err = h('div', { class: 'form-error', hidden: true, role: 'alert', dataset: { error: names.error } });
    const btn = h('button', { type: 'submit', class: 'btn primary' }, names.submit);
    const form = build(close, err);
    const fail = (text) => {
      err.hidden = false;
      err.textContent = text;
    };
    return h(
      'form',
      {
        class: 'modal-body stack',
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          err.hidden = true;
          const problem = form.check ? form.check() : null;
          if (problem) return fail(problem);
          btn.disabled = true;
          try {
            const saved = await form.save();
            toast(t('common.saved'));
            close(saved);
          } catch (ex) {
            fail(form.failure ? form.failure(ex) : errorText(ex));
            btn.disabled = false;
          }
        },
      },
      ...form.fields,
      err,
      h('div', { class: 'actions' }, ...(form.buttons || []), btn),
    );
  }, { wide: !names.narrow });
}
