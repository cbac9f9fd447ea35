// The editor of the selected cue, shown inside its row: start and end
// (typed as a time or in milliseconds, nudged with the arrow keys), the
// text (saved on Ctrl+Enter or when it loses the focus), the reviewed mark,
// the reading checks as the text is typed, and the conflict panel.
//
// Two editors at once: every change names the version it was made against.
// The text is compared with the version the editor started typing on: a
// newer version with the same text (a time changed, a reviewed mark) moves
// that base on quietly; a newer text, from the change feed or from a 409
// answer to a save, shows in the conflict panel while the editor's own text
// stays in the field, to be saved over it or dropped.

import { api, APIError } from './api.js';
import { measure, reading, warningTexts } from './checks.js';
import { apply, indexOf, model, runEnd, runStart, toRecording } from './model.js';
import { list, move, selectedCue } from './list.js';
import { dateTime, iso, num, on, parseTime, record, say, setText, t, timecode, ui } from './page.js';

export const edit = {
  base: null, // the cue as the text field started from
  conflict: null, // the newer cue the editor has to decide about
  saving: 0,
  saves: [], // round trips of text saves, ms
  conflicts: 0,
};

// drafts keep, by cue id, a text the editor left unsaved behind a conflict
// (or a refused save) when moving to another cue: it comes back, with the
// conflict, when the cue is selected again.
const drafts = new Map();

const dirty = () => !!edit.base && ui.text.value !== edit.base.text;

// status writes the editor's status line; error marks it as a problem.
export function status(s, error) {
  setText(ui.cueStatus, s);
  ui.cueStatus.classList.toggle('error', !!error);
}

// problem puts a refused request in words.
export function problem(e) {
  if (e instanceof APIError && e.body && e.body.overlaps) {
    const o = e.body.overlaps;
    const i = indexOf(o.id);
    return t('edit.error.overlap', { n: i >= 0 ? num(i + 1, 0) : '?', start: timecode(runStart(o)), end: timecode(runEnd(o)) });
  }
  return (e && e.message) || String(e);
}

function showChecks() {
  const c = selectedCue();
  if (!c) return;
  const ms = timeValue(ui.end, runEnd(c)) - timeValue(ui.start, runStart(c));
  const r = reading(ui.text.value, ms, model.limits);
  setText(ui.measure, measure(r));
  ui.measure.classList.toggle('over', r.warnings.includes('reading_speed'));
  const items = warningTexts(r, ms, model.limits).map((s) => {
    const li = document.createElement('li');
    li.textContent = s;
    return li;
  });
  ui.warnings.replaceChildren(...items);
  setText(ui.length, t('edit.cue.length', { seconds: num(Math.max(0, ms) / 1000, 1) }));
}

function timeValue(input, fallback) {
  const v = parseTime(input.value);
  return v === null ? fallback : v;
}

function showMeta(c) {
  const who = c.edited_role === 'recognizer' ? t('edit.cue.by_recognizer') : iso(c.edited_by || c.edited_role);
  setText(ui.meta, t('edit.cue.meta', { version: num(c.version, 0), by: who, at: dateTime(new Date(c.edited_at)) }));
}

// fill shows cue c in the editor; keepText leaves the editor's own text.
function fill(c, keepText) {
  ui.text.lang = model.lang;
  if (document.activeElement !== ui.start) ui.start.value = timecode(runStart(c));
  if (document.activeElement !== ui.end) ui.end.value = timecode(runEnd(c));
  if (!keepText && ui.text.value !== c.text) ui.text.value = c.text;
  ui.reviewed.checked = !!c.reviewed;
  ui.merge.disabled = indexOf(c.id) >= model.cues.length - 1;
  showMeta(c);
  showChecks();
}

function hideConflict() {
  edit.conflict = null;
  ui.conflict.hidden = true;
}

// conflict shows the newer cue c beside the editor's own text.
function conflict(c, refused) {
  edit.conflict = c;
  edit.conflicts++;
  const who = c.edited_role === 'recognizer' ? t('edit.cue.by_recognizer') : iso(c.edited_by || c.edited_role);
  setText(ui.conflictText, t(refused ? 'edit.conflict.refused' : 'edit.conflict.changed', { by: who }));
  setText(ui.conflictTheirs, c.text || t('edit.cues.no_text'));
  ui.conflict.hidden = false;
  record({ kind: 'conflict', id: c.id, version: c.version, text: c.text, refused: !!refused });
}

// newer takes in a newer version of the selected cue.
function newer(c) {
  if (!edit.base || c.version <= edit.base.version) return;
  if (!dirty()) {
    edit.base = c;
    hideConflict();
    fill(c);
    return;
  }
  if (c.text === edit.base.text) {
    edit.base = c; // the text the editor started on is still the cue's
    fill(c, true);
    return;
  }
  fill(c, true);
  if (!edit.conflict || edit.conflict.version < c.version) conflict(c, false);
}

// saveFor saves text as cue id's text against version; base is the cue
// the text was typed on. It resolves to true when the text is saved; a 409
// leaves a draft (and, for the selected cue, the conflict panel).
async function saveFor(id, base, text, version) {
  const t0 = performance.now();
  edit.saving++;
  if (list.selected === id) status(t('edit.cue.saving'));
  try {
    const cue = await api.patch(model.lang, id, { text, version });
    const ms = Math.round(performance.now() - t0);
    edit.saves.push(ms);
    record({ kind: 'saved', id, version: cue.version, ms });
    drafts.delete(id);
    if (list.selected === id) {
      edit.base = cue;
      hideConflict();
      status(t('edit.cue.saved'));
    }
    apply([cue], 'save');
    say(t('edit.cue.saved'));
    return true;
  } catch (e) {
    if (e instanceof APIError && e.status === 409 && e.body.cue) {
      apply([e.body.cue], 'conflict');
      if (list.selected === id) {
        conflict(e.body.cue, true);
        status(t('edit.conflict.status'), true);
      } else {
        drafts.set(id, { base, text, conflict: e.body.cue });
        say(t('edit.conflict.status'));
      }
      return false;
    }
    if (list.selected === id) status(problem(e), true);
    else say(problem(e));
    return false;
  } finally {
    edit.saving--;
  }
}

// saveText saves the text field as the selected cue's text, against the
// version the field started from (over: against the newer one of the
// conflict, which the editor chose to save over).
export function saveText(over) {
  const c = selectedCue();
  if (!c || !edit.base || !dirty()) return Promise.resolve(true);
  // Without over, a save behind a conflict is still tried against the
  // version the text was typed on: the server refuses it (409) with the
  // cue as it is now, which the panel then shows.
  const version = over && edit.conflict ? edit.conflict.version : edit.base.version;
  return saveFor(c.id, edit.base, ui.text.value, version);
}

// setTimes changes the selected cue's start or end (run time, ms).
export async function setTimes(c, times) {
  const body = { version: c.version };
  if (times.start !== undefined) body.start_ms = toRecording(times.start);
  if (times.end !== undefined) body.end_ms = toRecording(times.end);
  try {
    const cue = await api.patch(model.lang, c.id, body);
    apply([cue], 'save');
    status(t('edit.cue.times_saved', { start: timecode(runStart(cue)), end: timecode(runEnd(cue)) }));
    return cue;
  } catch (e) {
    if (e instanceof APIError && e.status === 409 && e.body.cue) apply([e.body.cue], 'conflict');
    status(problem(e), true);
    const cur = model.byId.get(c.id);
    if (cur && list.selected === c.id) fill(cur, true);
    return null;
  }
}

// setReviewed marks the selected cue reviewed or not.
export async function setReviewed(on) {
  const c = selectedCue();
  if (!c) return;
  try {
    const cue = await api.patch(model.lang, c.id, { reviewed: on, version: c.version });
    apply([cue], 'save');
    say(on ? t('edit.say.reviewed') : t('edit.say.unreviewed'));
  } catch (e) {
    if (e instanceof APIError && e.status === 409 && e.body.cue) apply([e.body.cue], 'conflict');
    ui.reviewed.checked = !!(model.byId.get(c.id) || c).reviewed;
    status(problem(e), true);
  }
}

// ---- time fields: typed, or nudged with the arrow keys -------------------------------

let nudgeTimer = 0;

function commitTime(input) {
  window.clearTimeout(nudgeTimer);
  nudgeTimer = 0;
  const c = selectedCue();
  if (!c) return;
  const v = parseTime(input.value);
  const which = input === ui.start ? 'start' : 'end';
  const cur = which === 'start' ? runStart(c) : runEnd(c);
  if (v === null) {
    status(t('edit.cue.bad_time'), true);
    input.value = timecode(cur);
    return;
  }
  if (v === cur) return;
  setTimes(c, { [which]: v }).then((cue) => {
    // A refused time goes back to the cue's, also in a field with the focus.
    const now = model.byId.get(c.id);
    if (!cue && now && list.selected === c.id) {
      input.value = timecode(which === 'start' ? runStart(now) : runEnd(now));
      showChecks();
    }
  });
}

function nudgeKey(e) {
  const steps = { ArrowUp: 100, ArrowDown: -100, PageUp: 1000, PageDown: -1000 };
  if (!(e.key in steps) || e.altKey || e.ctrlKey || e.metaKey) return;
  e.preventDefault();
  const input = e.target;
  const c = selectedCue();
  if (!c) return;
  let step = steps[e.key];
  if (e.shiftKey && Math.abs(step) === 100) step /= 10;
  const cur = timeValue(input, input === ui.start ? runStart(c) : runEnd(c));
  input.value = timecode(Math.max(0, cur + step));
  showChecks();
  window.clearTimeout(nudgeTimer);
  nudgeTimer = window.setTimeout(() => commitTime(input), 600);
}

// nudge moves the selected cue's start or end by ms (the shortcuts).
export function nudge(which, ms) {
  const c = selectedCue();
  if (!c) return;
  const cur = which === 'start' ? runStart(c) : runEnd(c);
  setTimes(c, { [which]: Math.max(0, cur + ms) });
}

// ---- wiring ----------------------------------------------------------------------------

export function startEditor() {
  on('select', (c) => {
    // The cue left behind: its changed text is saved, or kept as a draft
    // while a conflict waits for the editor's choice.
    const left = edit.base;
    if (left && ui.text.value !== left.text && (!c || c.id !== left.id)) {
      if (edit.conflict) drafts.set(left.id, { base: left, text: ui.text.value, conflict: edit.conflict });
      else saveFor(left.id, left, ui.text.value, left.version);
    }
    hideConflict();
    status('');
    edit.base = c;
    if (!c) return;
    const d = drafts.get(c.id);
    fill(c);
    if (d) {
      edit.base = d.base;
      ui.text.value = d.text;
      drafts.delete(c.id);
      showChecks();
      if (d.conflict) conflict(model.byId.get(c.id) || d.conflict, true);
      else newer(c);
    }
  });
  on('cues', (ids) => {
    const c = selectedCue();
    if (!c || (ids && !ids.includes(c.id))) return;
    if (edit.base && c.version > edit.base.version) newer(c);
    else fill(c, dirty());
  });
  ui.text.addEventListener('input', showChecks);
  ui.text.addEventListener('keydown', async (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      if (await saveText()) {
        move(1, { scroll: true });
        ui.text.focus();
      }
    } else if (e.key === 'Escape' && dirty()) {
      e.preventDefault();
      e.stopPropagation();
      ui.text.value = edit.base.text;
      hideConflict();
      showChecks();
      say(t('edit.say.reverted'));
    }
  });
  ui.text.addEventListener('blur', () => {
    // A conflict waits for the editor's choice; otherwise the text is kept.
    if (!edit.conflict && !ui.editor.contains(document.activeElement)) saveText();
  });
  ui.save.addEventListener('click', () => saveText(!!edit.conflict));
  ui.keepMine.addEventListener('click', () => saveText(true));
  ui.takeTheirs.addEventListener('click', () => {
    const c = edit.conflict;
    if (!c) return;
    edit.base = c;
    ui.text.value = c.text;
    hideConflict();
    fill(c);
    ui.text.focus();
  });
  for (const input of [ui.start, ui.end]) {
    input.addEventListener('change', () => commitTime(input));
    input.addEventListener('keydown', nudgeKey);
    input.addEventListener('input', showChecks);
  }
  ui.reviewed.addEventListener('change', () => setReviewed(ui.reviewed.checked));
  // Leaving the page with changed text asks first.
  window.addEventListener('beforeunload', (e) => {
    if (dirty() || drafts.size) e.preventDefault();
  });
}

// refill shows the selected cue as it is now, dropping what the editor had
// typed: after an operation (split, merge, undo, restore) changed its text.
export function refill() {
  const c = selectedCue();
  hideConflict();
  edit.base = c;
  if (c) {
    drafts.delete(c.id);
    fill(c);
  }
}

// dirtyText says whether the text field holds unsaved text.
export const dirtyText = dirty;
