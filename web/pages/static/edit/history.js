// A cue's history in a dialog: every version, oldest first, with what made
// it (the recognizer, an edit, a split…), who and when, its times and text;
// any earlier version, or the recognizer's original, can be restored (the
// restore is one more version, which undo takes back).

import { api } from './api.js';
import { problem, refill, status } from './editor.js';
import { selectedCue } from './list.js';
import { apply, indexOf, model } from './model.js';
import { kindName } from './ops.js';
import { dateTime, iso, num, record, say, setText, t, timecode, ui } from './page.js';

const view = { id: null, versions: [] };

function item(v, current) {
  const li = document.createElement('li');
  li.className = 'version';
  if (v.undone) li.classList.add('undone');
  const head = document.createElement('p');
  head.className = 'version-head';
  const who = v.role === 'recognizer' ? t('edit.cue.by_recognizer') : iso(v.by);
  let s = t('edit.history.entry', { version: num(v.version, 0), kind: kindName(v.kind), by: who, at: dateTime(new Date(v.at)) });
  if (v.undone) s += ' · ' + t('edit.history.undone');
  if (v.deleted) s += ' · ' + t('edit.history.deleted');
  if (v.version === current.version) s += ' · ' + t('edit.history.current');
  head.textContent = s;
  const times = document.createElement('p');
  times.className = 'version-times num';
  times.dir = 'ltr';
  times.textContent = t('edit.cues.times', { start: timecode(v.start_ms - model.offset), end: timecode(v.end_ms - model.offset) });
  const text = document.createElement('blockquote');
  text.dir = 'auto';
  text.lang = model.lang;
  text.textContent = v.text || t('edit.cues.no_text');
  li.append(head, times, text);
  if (v.version !== current.version && !v.deleted) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = t('edit.history.restore');
    b.setAttribute('aria-label', t('edit.history.restore_version', { version: num(v.version, 0) }));
    b.addEventListener('click', () => restore(v.version));
    li.append(b);
  }
  return li;
}

async function show(id) {
  const c = model.byId.get(id);
  if (!c) return;
  view.id = id;
  setText(ui.historyHeading, t('edit.history.heading', { n: num(indexOf(id) + 1, 0) }));
  setText(ui.historyState, t('edit.history.loading'));
  ui.historyList.replaceChildren();
  ui.historyOriginal.disabled = !c.original;
  try {
    const body = await api.versions(model.lang, id);
    if (view.id !== id) return;
    view.versions = body.versions || [];
    apply([body.cue], 'history');
    ui.historyList.replaceChildren(...view.versions.map((v) => item(v, body.cue)));
    ui.historyOriginal.disabled = !body.cue.original;
    setText(ui.historyState, t('edit.history.count', { n: num(view.versions.length, 0) }));
  } catch (e) {
    setText(ui.historyState, problem(e));
  }
}

// restore makes version `to` (0: the recognizer's original) the cue's text
// and times again.
async function restore(to) {
  const c = model.byId.get(view.id);
  if (!c) return;
  try {
    const cue = await api.action(model.lang, c.id, 'restore', { version: c.version, to_version: to });
    apply([cue], 'op');
    refill();
    record({ kind: 'restore', id: c.id, to });
    ui.history.close();
    const s = to ? t('edit.say.restored', { version: num(to, 0) }) : t('edit.say.restored_original');
    status(s);
    say(s);
  } catch (e) {
    setText(ui.historyState, problem(e));
  }
}

export function openHistory() {
  const c = selectedCue();
  if (!c) return;
  if (!ui.history.open) ui.history.showModal();
  show(c.id);
}

export function startHistory() {
  ui.historyOpen.addEventListener('click', openHistory);
  ui.historyOriginal.addEventListener('click', () => restore(0));
  ui.history.addEventListener('close', () => {
    view.id = null;
    ui.historyOpen.focus();
  });
}
