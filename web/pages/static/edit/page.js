// The caption editor page itself: its configuration and messages, the
// elements the script drives, a small event bus between its parts, the live
// region that announces what happened, and the time formats (run time in
// milliseconds, written m:ss.mmm or h:mm:ss.mmm).

import { readJSON, storage, translator } from '../shared/page.js';

export const $ = (id) => document.getElementById(id);
export const config = readJSON('tolk-config') || {};
export const t = translator(readJSON('tolk-messages') || {});
export const prefs = storage('tolk.edit.');

export const languages = Array.isArray(config.languages) ? config.languages : [];
export const shortcuts = Array.isArray(config.shortcuts) ? config.shortcuts : [];

export const ui = {
  lang: $('lang'),
  run: $('run'),
  undoLast: $('undo-last'),
  helpOpen: $('help-open'),
  banner: $('banner'),
  play: $('play'),
  back: $('back'),
  forward: $('forward'),
  clock: $('clock'),
  playerState: $('player-state'),
  strip: $('strip'),
  findForm: $('find-form'),
  find: $('find'),
  replace: $('replace'),
  wholeWord: $('whole-word'),
  matchCase: $('match-case'),
  findCount: $('find-count'),
  findNext: $('find-next'),
  shiftForm: $('shift-form'),
  shiftFrom: $('shift-from'),
  shiftBy: $('shift-by'),
  shiftHere: $('shift-here'),
  shiftStatus: $('shift-status'),
  exportRun: $('export-run'),
  exports: $('exports'),
  cuesCount: $('cues-count'),
  addCue: $('add-cue'),
  nextDoubtful: $('next-doubtful'),
  follow: $('follow'),
  list: $('cues'),
  empty: $('cues-empty'),
  editor: $('cue-editor'),
  start: $('cue-start'),
  end: $('cue-end'),
  length: $('cue-length'),
  text: $('cue-text'),
  measure: $('cue-measure'),
  warnings: $('cue-warnings'),
  conflict: $('cue-conflict'),
  conflictText: $('cue-conflict-text'),
  conflictTheirs: $('cue-conflict-theirs'),
  takeTheirs: $('cue-take-theirs'),
  keepMine: $('cue-keep-mine'),
  reviewed: $('cue-reviewed'),
  save: $('cue-save'),
  cuePlay: $('cue-play'),
  split: $('cue-split'),
  merge: $('cue-merge'),
  cueUndo: $('cue-undo'),
  historyOpen: $('cue-history'),
  del: $('cue-delete'),
  cueStatus: $('cue-status'),
  meta: $('cue-meta'),
  help: $('help'),
  history: $('history'),
  historyHeading: $('history-heading'),
  historyState: $('history-state'),
  historyList: $('history-list'),
  historyOriginal: $('history-original'),
  announce: $('announce'),
};

// ---- events between the parts --------------------------------------------------
// "cues" (the list changed: the ids changed, or null for all), "select"
// (another cue is selected), "time" (the playhead moved), "run" (another
// language or recording is open).

const handlers = {};

export function on(name, fn) {
  (handlers[name] = handlers[name] || []).push(fn);
}

export function emit(name, ...args) {
  for (const fn of handlers[name] || []) {
    try {
      fn(...args);
    } catch (e) {
      record({ kind: 'error', name, error: String((e && e.message) || e) });
      window.setTimeout(() => {
        throw e;
      });
    }
  }
}

// ---- announcements -------------------------------------------------------------

let sayTimer = 0;
let pending = [];

// say has the screen reader read a sentence (those of one moment together).
export function say(text) {
  if (!text) return;
  pending.push(text);
  if (sayTimer) return;
  sayTimer = window.setTimeout(() => {
    sayTimer = 0;
    const s = pending.join(' ');
    pending = [];
    if (ui.announce.textContent === s) {
      ui.announce.textContent = '';
      window.setTimeout(() => (ui.announce.textContent = s), 60);
    } else {
      ui.announce.textContent = s;
    }
  }, 80);
}

export function setText(el, s) {
  if (el && el.textContent !== s) el.textContent = s;
}

// banner shows a problem that concerns the whole page ('' hides it).
export function banner(s) {
  setText(ui.banner, s);
  ui.banner.hidden = !s;
}

// ---- history (for tests and diagnosis) -------------------------------------------

export const history = [];
export function record(entry) {
  entry.at = Math.round(performance.now());
  history.push(entry);
  if (history.length > 500) history.shift();
}

// Names are isolated from the sentence around them, so that a Latin name in
// an Arabic sentence keeps both in order.
export const iso = (s) => '\u2068' + s + '\u2069';

// ---- times -------------------------------------------------------------------------

const pad = (n, w) => String(n).padStart(w, '0');

// timecode writes milliseconds as m:ss.mmm (h:mm:ss.mmm from an hour on).
export function timecode(ms) {
  const neg = ms < 0;
  let v = Math.round(Math.abs(ms));
  const milli = v % 1000;
  v = Math.floor(v / 1000);
  const s = v % 60;
  v = Math.floor(v / 60);
  const m = v % 60;
  const h = Math.floor(v / 60);
  const body = (h ? h + ':' + pad(m, 2) : String(m)) + ':' + pad(s, 2) + '.' + pad(milli, 3);
  return (neg ? '−' : '') + body;
}

// clock writes seconds to the tenth, for the running clock.
export function clock(seconds) {
  const ms = Math.max(0, Math.round(seconds * 10) * 100);
  return timecode(ms).replace(/\d\d$/, '');
}

// parseTime reads what an editor types as a time: milliseconds ("62500",
// "62500ms"), seconds ("62.5", "62,5s") or a timecode ("1:02.5",
// "0:01:02,500"). It returns milliseconds, or null.
export function parseTime(input) {
  let s = String(input || '').trim().replace(/\s+/g, '').replace(/,/g, '.').toLowerCase();
  if (!s) return null;
  if (/^\d+ms$/.test(s)) return Number(s.slice(0, -2));
  if (/^\d+$/.test(s)) return Number(s);
  if (/^\d+(\.\d+)?s$/.test(s)) s = s.slice(0, -1);
  const parts = s.split(':');
  if (parts.length > 3 || !parts.every((p, i) => (i === parts.length - 1 ? /^\d+(\.\d+)?$/.test(p) : /^\d+$/.test(p)))) return null;
  let sec = 0;
  for (const p of parts) sec = sec * 60 + Number(p);
  const ms = Math.round(sec * 1000);
  return Number.isFinite(ms) ? ms : null;
}

// ---- numbers and dates in the page's locale -------------------------------------------

function numberFormat(digits) {
  try {
    return new Intl.NumberFormat(config.locale || undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  } catch (e) {
    return { format: (x) => x.toFixed(digits) };
  }
}
const fmt0 = numberFormat(0);
const fmt1 = numberFormat(1);
export const num = (x, digits) => (digits ? fmt1 : fmt0).format(x);

const dateFmt = (() => {
  try {
    return new Intl.DateTimeFormat(config.locale || undefined, { dateStyle: 'medium', timeStyle: 'short' });
  } catch (e) {
    return null;
  }
})();
export const dateTime = (d) => (dateFmt ? dateFmt.format(d) : d.toISOString().slice(0, 16).replace('T', ' '));
