// The list of cues: one row per cue (its number, times, text, the reviewed
// mark and the reading warnings), the selected one holding the cue editor.
// The list is one stop in the tab order: the arrow keys, Home, End, Page Up
// and Page Down move through it, Enter (or a click) selects a cue and plays
// it, Tab goes on into its editor. Rows are kept by cue id and only moved,
// added or removed as the cues change, so a change from elsewhere never
// takes the focus from the field being typed in.
//
// Each row says how sure its text is (confidence in the API): the
// recognizer's words, its doubtful cues marked in words and, for the
// screen reader, in a sentence, its least sure words marked in the text;
// "Edited" once a person has changed or reviewed it. Alt+Q and Alt+Shift+Q
// (or the "Next doubtful cue" button) go to the next or previous doubtful
// cue in time order, wrapping, so an editor goes through those first.

import { warningTexts } from './checks.js';
import { cueAt, indexOf, model, runEnd, runStart } from './model.js';
import { playing, playRange } from './player.js';
import { emit, num, on, record, say, setText, t, timecode, ui } from './page.js';

const percent = new Intl.NumberFormat(document.documentElement.lang || undefined, { style: 'percent', maximumFractionDigits: 0 });
const pct = (x) => percent.format(x);
const doubtful = (c) => !!(c.confidence && c.confidence.doubtful);

export const list = { selected: null, playingId: null };

const rows = new Map(); // id → li

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function makeRow(id) {
  const li = el('li', 'cue');
  li.dataset.id = String(id);
  const b = el('button', 'cue-row');
  b.type = 'button';
  b.tabIndex = -1;
  const n = el('span', 'cue-num');
  n.append(el('span', 'sr-only'), el('span', 'cue-n'));
  n.lastChild.setAttribute('aria-hidden', 'true');
  const times = el('span', 'cue-times num');
  times.dir = 'ltr'; // a time range reads left to right in every script
  const text = el('span', 'cue-text');
  text.dir = 'auto'; // the cue's language, not the page's
  text.lang = model.lang;
  const conf = el('span', 'cue-conf');
  conf.append(el('span', 'sr-only'), el('span', 'cue-conf-text'));
  conf.lastChild.setAttribute('aria-hidden', 'true');
  b.append(n, times, text, conf, el('span', 'cue-flags'));
  li.append(b);
  return li;
}

function fillRow(li, c, i) {
  const b = li.firstChild;
  const [n, times, text, conf, flags] = b.children;
  setText(n.firstChild, t('edit.cues.number', { n: num(i + 1, 0) }));
  setText(n.lastChild, num(i + 1, 0));
  setText(times, t('edit.cues.times', { start: timecode(runStart(c)), end: timecode(runEnd(c)) }));
  fillText(text, c);
  text.classList.toggle('empty', !c.text);
  li.dataset.conf = fillConf(conf, c.confidence, c.machine_translated);
  const marks = [];
  if (c.reviewed) marks.push(t('edit.cues.reviewed'));
  marks.push(...warningTexts(c.checks, c.end_ms - c.start_ms, model.limits));
  setText(flags, marks.join(' · '));
  li.dataset.warn = c.checks && c.checks.warnings && c.checks.warnings.length ? 'true' : 'false';
  li.dataset.reviewed = c.reviewed ? 'true' : 'false';
}

// fillText writes the cue's text, its least sure words in <mark> while the
// text is the recognizer's.
function fillText(span, c) {
  const low = c.text && c.confidence && c.confidence.low_words;
  if (!low || !low.length) {
    if (span.firstElementChild) span.textContent = '';
    setText(span, c.text || t('edit.cues.no_text'));
    return;
  }
  const marked = new Set(low);
  const nodes = [];
  let i = 0;
  for (const part of c.text.split(/(\s+)/)) {
    if (!part) continue;
    if (/^\s+$/.test(part)) {
      nodes.push(part);
      continue;
    }
    if (marked.has(i++)) nodes.push(el('mark', 'low-word', part));
    else nodes.push(part);
  }
  span.replaceChildren(...nodes);
}

// fillConf writes how sure the cue is, short on screen and as a sentence
// for the screen reader; it returns the row's state: doubtful, sure,
// edited, mt (a machine translation of the floor's words) or none (no
// confidence known).
function fillConf(span, k, mt) {
  const [sr, shown] = span.children;
  let state = 'none';
  let short = '';
  let long = '';
  if (k && k.by === 'editor') {
    state = 'edited';
    short = t('edit.conf.edited');
    long = t('edit.conf.label_edited');
  } else if (mt) {
    state = 'mt';
    short = t('edit.conf.mt');
    long = t('edit.conf.label_mt');
  } else if (k) {
    state = k.doubtful ? 'doubtful' : 'sure';
    const a = { mean: pct(k.mean), min: pct(k.min) };
    short = t(k.doubtful ? 'edit.conf.doubtful' : 'edit.conf.sure', a);
    long = t(k.doubtful ? 'edit.conf.label_doubtful' : 'edit.conf.label_sure', a);
  }
  setText(sr, long);
  setText(shown, short);
  return state;
}

// render brings the rows in line with the model. When only some cues
// changed and none came or went, only their rows are filled again.
function render(ids) {
  const inPlace = (id) => {
    const i = indexOf(id);
    const prev = rows.get(id).previousSibling;
    return i === 0 ? !prev : !!prev && prev.dataset.id === String(model.cues[i - 1].id);
  };
  if (ids && model.cues.length === rows.size && ids.every((id) => rows.has(id) && model.byId.has(id) && inPlace(id))) {
    for (const id of ids) fillRow(rows.get(id), model.byId.get(id), indexOf(id));
    count();
    return;
  }
  const want = new Set(model.cues.map((c) => c.id));
  for (const [id, li] of rows) {
    if (!want.has(id)) {
      if (li.contains(ui.editor)) {
        ui.editor.hidden = true;
        document.body.append(ui.editor);
      }
      li.remove();
      rows.delete(id);
    }
  }
  let cursor = ui.list.firstChild;
  model.cues.forEach((c, i) => {
    let li = rows.get(c.id);
    if (!li) {
      li = makeRow(c.id);
      rows.set(c.id, li);
    }
    fillRow(li, c, i);
    if (li === cursor) cursor = cursor.nextSibling;
    else ui.list.insertBefore(li, cursor);
  });
  if (list.selected !== null && !rows.has(list.selected)) {
    const next = model.cues.find((c) => c.start_ms >= (list.lastStart || 0)) || model.cues[model.cues.length - 1];
    select(next ? next.id : null);
  } else if (list.selected === null && model.cues.length) {
    rows.get(model.cues[0].id).firstChild.tabIndex = 0;
  }
  ui.empty.hidden = !model.loaded || model.cues.length > 0;
  count();
}

function count() {
  if (!model.loaded) {
    setText(ui.cuesCount, model.lang ? t('edit.cues.loading') : '');
    return;
  }
  const warn = model.cues.filter((c) => c.checks && c.checks.warnings && c.checks.warnings.length).length;
  const rev = model.cues.filter((c) => c.reviewed).length;
  const doubt = model.cues.filter(doubtful).length;
  setText(ui.cuesCount, t('edit.cues.count', { n: num(model.cues.length, 0), warnings: num(warn, 0), reviewed: num(rev, 0) }) +
    ' · ' + t('edit.cues.doubtful_count', { n: num(doubt, 0) }));
}

export const selectedCue = () => (list.selected === null ? null : model.byId.get(list.selected) || null);
export const rowButton = (id) => (rows.has(id) ? rows.get(id).firstChild : null);

// select makes cue id the selected one, its row holding the editor; with
// focus its row takes the focus, with play the cue plays.
export function select(id, opts = {}) {
  const c = id === null ? null : model.byId.get(id);
  const prev = list.selected;
  for (const [rid, li] of rows) {
    const on = c && rid === c.id;
    li.firstChild.tabIndex = on ? 0 : -1;
    if (on) li.setAttribute('aria-current', 'true');
    else li.removeAttribute('aria-current');
  }
  list.selected = c ? c.id : null;
  if (c) list.lastStart = c.start_ms;
  if (!c) {
    ui.editor.hidden = true;
    document.body.append(ui.editor);
    if (model.cues.length) rows.get(model.cues[0].id).firstChild.tabIndex = 0;
  } else {
    const li = rows.get(c.id);
    if (ui.editor.parentNode !== li) li.append(ui.editor);
    ui.editor.hidden = false;
    ui.editor.setAttribute('aria-label', t('edit.cue.group', { n: num(indexOf(c.id) + 1, 0) }));
    if (opts.focus) li.firstChild.focus();
    if (opts.scroll !== false) li.scrollIntoView({ block: 'nearest' });
  }
  if (prev !== list.selected) emit('select', c);
  if (c && opts.play) playCue(c);
}

// playCue plays one cue from its start to its end.
export function playCue(c) {
  if (!c) return;
  playRange(runStart(c) / 1000, runEnd(c) / 1000);
  record({ kind: 'play_cue', id: c.id });
}

// move selects the cue delta rows away from the selected one.
export function move(delta, opts) {
  if (!model.cues.length) return;
  let i = list.selected === null ? -1 : indexOf(list.selected);
  i = i < 0 ? (delta > 0 ? 0 : model.cues.length - 1) : Math.max(0, Math.min(model.cues.length - 1, i + delta));
  select(model.cues[i].id, opts);
}

// nextDoubtful selects the next doubtful cue after the selected one (dir
// -1: before it), in time order and wrapping, and says which it is.
export function nextDoubtful(dir) {
  const n = model.cues.length;
  let i = list.selected === null ? -1 : indexOf(list.selected);
  if (i < 0) i = dir > 0 ? -1 : n;
  for (let k = 1; k <= n; k++) {
    const j = (((i + dir * k) % n) + n) % n;
    const c = model.cues[j];
    if (!doubtful(c)) continue;
    select(c.id, { focus: !ui.editor.contains(document.activeElement) });
    record({ kind: 'doubtful', id: c.id });
    say(t('edit.say.doubtful', { n: num(j + 1, 0), min: pct(c.confidence.min) }));
    return;
  }
  say(t('edit.say.no_doubtful'));
}

function onKey(e) {
  const b = e.target.closest('.cue-row');
  if (!b || e.altKey || e.ctrlKey || e.metaKey) return;
  const i = indexOf(Number(b.parentNode.dataset.id));
  let to = null;
  if (e.key === 'ArrowDown') to = i + 1;
  else if (e.key === 'ArrowUp') to = i - 1;
  else if (e.key === 'Home') to = 0;
  else if (e.key === 'End') to = model.cues.length - 1;
  else if (e.key === 'PageDown') to = i + 10;
  else if (e.key === 'PageUp') to = i - 10;
  if (to === null) return;
  e.preventDefault();
  to = Math.max(0, Math.min(model.cues.length - 1, to));
  if (model.cues[to]) select(model.cues[to].id, { focus: true });
}

// follow marks the cue being played and keeps it in view, unless the
// editor is being typed in.
function follow(seconds) {
  const c = playing() ? cueAt(seconds * 1000) : null;
  const id = c ? c.id : null;
  if (id === list.playingId) return;
  if (list.playingId !== null && rows.has(list.playingId)) rows.get(list.playingId).classList.remove('playing');
  list.playingId = id;
  if (id === null) return;
  const li = rows.get(id);
  li.classList.add('playing');
  if (ui.follow.checked && !ui.editor.contains(document.activeElement)) li.scrollIntoView({ block: 'nearest' });
}

export function startList() {
  on('cues', (ids, source) => {
    render(ids);
    if (source === 'loaded' && list.selected === null && model.cues.length) select(model.cues[0].id, { scroll: false });
    if (source === 'open') select(null);
  });
  on('time', follow);
  ui.list.addEventListener('keydown', onKey);
  ui.nextDoubtful.addEventListener('click', () => nextDoubtful(1));
  ui.list.addEventListener('click', (e) => {
    const b = e.target.closest('.cue-row');
    if (!b) return;
    select(Number(b.parentNode.dataset.id), { play: true, scroll: false });
    say(t('edit.say.playing_cue', { n: num(indexOf(list.selected) + 1, 0) }));
  });
}
