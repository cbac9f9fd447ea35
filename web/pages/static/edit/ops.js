// The operations on cues beside typing: split at the playhead, merge with
// the next, add, delete, undo (the cue's last change, or the editor's last
// operation), mark reviewed, and times taken from the playhead. Each answer
// goes into the list at once; the change feed brings it to other editors.

import { api, APIError } from './api.js';
import { dirtyText, problem, refill, saveText, setReviewed, setTimes, status } from './editor.js';
import { list, playCue, rowButton, select, selectedCue } from './list.js';
import { apply, cueAt, indexOf, model, runEnd, runStart, toRecording } from './model.js';
import { player, position } from './player.js';
import { record, say, t, timecode, ui } from './page.js';

// playhead is the player's position in run time (ms).
export const playhead = () => Math.round(position() * 1000);

// kindName names an operation's kind.
export function kindName(kind) {
  const key = {
    edit: 'edit.kind.edit',
    add: 'edit.kind.add',
    delete: 'edit.kind.delete',
    split: 'edit.kind.split',
    merge: 'edit.kind.merge',
    shift: 'edit.kind.shift',
    replace: 'edit.kind.replace',
    restore: 'edit.kind.restore',
    undo: 'edit.kind.undo',
    recognizer: 'edit.kind.recognizer',
  }[kind];
  return key ? t(key) : kind;
}

function failed(e) {
  if (e instanceof APIError && e.status === 409 && Array.isArray(e.body.cues)) apply(e.body.cues, 'conflict');
  status(problem(e), true);
  say(problem(e));
}

// split cuts the selected cue at the playhead; in the text field, the text
// is cut at the cursor (otherwise the words are shared out by time).
export async function split() {
  const c = selectedCue();
  if (!c) return;
  const at = playhead();
  if (!player.el || at <= runStart(c) || at >= runEnd(c)) {
    status(t('edit.cue.split_outside'), true);
    say(t('edit.cue.split_outside'));
    return;
  }
  const body = { at_ms: toRecording(at), version: c.version };
  const text = ui.text.value;
  const caret = ui.text.selectionStart;
  if (document.activeElement === ui.text && caret > 0 && caret < text.length && text.slice(0, caret).trim() && text.slice(caret).trim()) {
    body.text_before = text.slice(0, caret);
    body.text_after = text.slice(caret);
  } else if (dirtyText() && !(await saveText())) {
    return;
  }
  try {
    const res = await api.action(model.lang, c.id, 'split', { ...body, version: (model.byId.get(c.id) || c).version });
    apply(res.cues, 'op');
    refill();
    record({ kind: 'split', id: c.id, cues: model.cues.length });
    say(t('edit.say.split', { at: timecode(at) }));
  } catch (e) {
    failed(e);
  }
}

// merge joins the selected cue and the next.
export async function merge() {
  const c = selectedCue();
  if (!c) return;
  const next = model.cues[indexOf(c.id) + 1];
  if (!next) {
    status(t('edit.cue.merge_last'), true);
    return;
  }
  if (dirtyText() && !(await saveText())) return;
  const cur = model.byId.get(c.id) || c;
  try {
    const res = await api.action(model.lang, c.id, 'merge', { version: cur.version, next_version: next.version });
    apply(res.cues, 'op');
    refill();
    record({ kind: 'merge', id: c.id, cues: model.cues.length });
    say(t('edit.say.merged'));
  } catch (e) {
    failed(e);
  }
}

// remove deletes the selected cue; undo brings it back.
export async function remove() {
  const c = selectedCue();
  if (!c) return;
  const hadFocus = ui.editor.contains(document.activeElement);
  try {
    const cue = await api.remove(model.lang, c.id, c.version);
    apply([cue], 'op');
    say(t('edit.say.deleted'));
    if (hadFocus && list.selected !== null) rowButton(list.selected).focus();
  } catch (e) {
    failed(e);
  }
}

// add makes an empty cue at the playhead (after the cue under it), two
// seconds long or up to the next cue, and puts the cursor in its text.
export async function add() {
  let start = player.el ? playhead() : 0;
  const under = cueAt(start);
  if (under) start = runEnd(under);
  else if (!player.el && selectedCue()) start = runEnd(selectedCue());
  const next = model.cues.find((c) => runStart(c) >= start);
  const end = Math.min(start + 2000, next ? runStart(next) : Infinity);
  if (end - start < 100) {
    status(t('edit.error.no_room'), true);
    say(t('edit.error.no_room'));
    return;
  }
  try {
    const cue = await api.add(model.lang, { start_ms: toRecording(start), end_ms: toRecording(end), text: '' });
    apply([cue], 'op');
    select(cue.id);
    ui.text.focus();
    say(t('edit.say.added', { start: timecode(start) }));
  } catch (e) {
    failed(e);
  }
}

function undone(res) {
  apply(res.cues || [], 'op');
  refill();
  say(t('edit.say.undone', { kind: kindName(res.op && res.op.kind) }));
}

function nothing(e) {
  if (e instanceof APIError && e.status === 409 && !Array.isArray(e.body.cues)) {
    status(t('edit.say.nothing'), true);
    say(t('edit.say.nothing'));
    return;
  }
  failed(e);
}

// undoCue takes back the selected cue's last change.
export async function undoCue() {
  const c = selectedCue();
  if (!c) return;
  try {
    undone(await api.action(model.lang, c.id, 'undo', { version: c.version }));
  } catch (e) {
    nothing(e);
  }
}

// undoLast takes back the editor's last operation.
export async function undoLast() {
  if (!model.lang) return;
  try {
    undone(await api.undo(model.lang));
  } catch (e) {
    nothing(e);
  }
}

// atPlayhead starts or ends the selected cue at the playhead.
export function atPlayhead(which) {
  const c = selectedCue();
  if (!c || !player.el) return;
  setTimes(c, { [which]: playhead() });
}

export function toggleReviewed() {
  const c = selectedCue();
  if (!c) return;
  ui.reviewed.checked = !c.reviewed;
  setReviewed(!c.reviewed);
}

export function startOps() {
  ui.split.addEventListener('click', split);
  ui.merge.addEventListener('click', merge);
  ui.del.addEventListener('click', remove);
  ui.cueUndo.addEventListener('click', undoCue);
  ui.undoLast.addEventListener('click', undoLast);
  ui.addCue.addEventListener('click', add);
  ui.cuePlay.addEventListener('click', () => playCue(selectedCue()));
}
