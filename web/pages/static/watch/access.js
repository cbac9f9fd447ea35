// A closed event's page: the passcode form the server renders in place of
// the player works without this module; it offers to show the passcode as
// typed and keeps a second press from sending the form twice. When the
// server refuses the player's access later (its token revoked, its session
// expired), the page reloads once, and the server shows the form with the
// reason.

import { $, config } from './page.js';

// bindAccess wires the form and tells whether the page is one (the player
// is then absent and nothing else is wired).
export function bindAccess() {
  if (!config.locked) return false;
  document.documentElement.dataset.access = 'locked';
  const form = $('access-form');
  const field = $('passcode');
  const show = $('passcode-show');
  const showField = $('passcode-show-field');
  const submit = $('access-submit');
  if (!form || !field) return true;
  if (show && showField) {
    showField.hidden = false;
    show.addEventListener('change', () => {
      field.type = show.checked ? 'text' : 'password';
    });
  }
  form.addEventListener('submit', (ev) => {
    if (submit.disabled) {
      ev.preventDefault();
      return;
    }
    // After this event, so the press still submits.
    window.setTimeout(() => {
      submit.disabled = true;
      submit.setAttribute('aria-busy', 'true');
    }, 0);
  });
  return true;
}

let reloading = false;

// accessLost reloads the page, once: the server answers with the form.
export function accessLost() {
  if (reloading) return;
  reloading = true;
  document.documentElement.dataset.access = 'lost';
  window.location.reload();
}
