// The glossary dialog: the event's terms, speaker names and background text,
// which the recognizers adapt to from their next utterance (docs/http.md,
// PUT /api/events/{event}/glossary), kept across restarts of the server.
// One entry a line.

import { getGlossary, putGlossary } from './api.js';
import { $, record, say, showStatus, t } from './page.js';

const el = {
  dialog: $('glossary'),
  open: $('glossary-open'),
  close: $('glossary-close'),
  form: $('glossary-form'),
  terms: $('glossary-terms'),
  speakers: $('glossary-speakers'),
  text: $('glossary-text'),
  save: $('glossary-save'),
  status: $('glossary-status'),
};

const lines = (s) => s.split('\n').map((x) => x.trim()).filter((x) => x);

function fail(error) {
  el.status.dataset.error = 'true';
  showStatus(el.status, t('console.error.refused', { error }), 15000);
}

async function load() {
  const r = await getGlossary();
  if (!r.ok) {
    fail(r.error);
    return;
  }
  const g = r.data || {};
  el.terms.value = (Array.isArray(g.terms) ? g.terms : []).join('\n');
  el.speakers.value = (Array.isArray(g.speakers) ? g.speakers : []).join('\n');
  el.text.value = typeof g.text === 'string' ? g.text : '';
}

async function save(ev) {
  ev.preventDefault();
  el.save.disabled = true;
  const r = await putGlossary({ terms: lines(el.terms.value), speakers: lines(el.speakers.value), text: el.text.value });
  el.save.disabled = false;
  record({ kind: 'glossary', ok: r.ok, status: r.status });
  if (!r.ok) {
    fail(r.error);
    return;
  }
  el.status.dataset.error = 'false';
  const msg = t('console.glossary.saved', { version: r.data && r.data.version });
  showStatus(el.status, msg);
  say(msg);
}

// openGlossary shows the dialog and moves the focus into the terms only once
// the saved glossary has filled the fields: typing started earlier would be
// overwritten by the answer.
export async function openGlossary() {
  if (!el.dialog.open) el.dialog.showModal();
  el.status.dataset.error = 'false';
  showStatus(el.status, '');
  await load();
  if (el.dialog.open) el.terms.focus();
}

export function bindGlossary() {
  el.open.addEventListener('click', openGlossary);
  el.close.addEventListener('click', () => el.dialog.close());
  el.dialog.addEventListener('close', () => el.open.focus());
  el.form.addEventListener('submit', save);
}
