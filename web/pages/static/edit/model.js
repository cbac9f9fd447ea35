// The cues of the open language and recording, kept current: loaded once,
// then followed with the change feed (GET …/cues?since=SEQ&wait=25), which
// brings every editor's changes, the page's own included, and the
// recognizer's new cues while an event runs. Cues keep the API's recording
// time (start_ms, end_ms); the page shows and takes run time, the player's
// time: recording time less the run's offset.

import { api } from './api.js';
import { backoff } from '../shared/net.js';
import { banner, emit, record, t } from './page.js';

export const model = {
  lang: '',
  run: null, // {id, offset (s), duration (s), live, languages}, or null: no player
  offset: 0, // ms
  cues: [], // by start
  byId: new Map(),
  seq: 0,
  limits: null,
  loaded: false,
  gen: 0, // grows at every open: answers for an earlier one are dropped
  firstListMs: null, // from the page's start to its first list of cues
  feedAnswers: 0,
};

let feedAbort = null;

export const runStart = (c) => c.start_ms - model.offset;
export const runEnd = (c) => c.end_ms - model.offset;
// toRecording turns run time into recording time, as the API takes it.
export const toRecording = (ms) => Math.max(0, Math.round(ms + model.offset));

// inRun says whether a cue belongs to the open recording.
function inRun(c) {
  const r = model.run;
  if (!r) return true;
  const to = r.live ? Infinity : model.offset + r.duration * 1000;
  return c.end_ms > model.offset && c.start_ms < to;
}

function sort() {
  model.cues.sort((a, b) => a.start_ms - b.start_ms || a.id - b.id);
}

export const indexOf = (id) => model.cues.findIndex((c) => c.id === id);

// cueAt is the cue under run time ms, or null.
export function cueAt(ms) {
  const rec = ms + model.offset;
  return model.cues.find((c) => c.start_ms <= rec && rec < c.end_ms) || null;
}

// apply takes in cues from an answer or the feed: newer versions replace
// older ones, deleted cues and cues outside the recording leave the list.
// It emits "cues" with the ids that changed and where they came from.
export function apply(list, source) {
  if (!Array.isArray(list) || !list.length) return;
  const changed = [];
  let order = false;
  for (const c of list) {
    if (!c || typeof c.id !== 'number') continue;
    const old = model.byId.get(c.id);
    if (old && old.version > c.version) continue;
    if (c.deleted || !inRun(c)) {
      if (old) {
        model.byId.delete(c.id);
        model.cues.splice(model.cues.indexOf(old), 1);
        changed.push(c.id);
      }
      continue;
    }
    if (old && old.version === c.version && old.seq === c.seq) continue;
    model.byId.set(c.id, c);
    if (old) {
      model.cues[model.cues.indexOf(old)] = c;
      order = order || old.start_ms !== c.start_ms;
    } else {
      model.cues.push(c);
      order = true;
    }
    changed.push(c.id);
  }
  if (order) sort();
  if (changed.length) emit('cues', changed, source);
}

// open loads the cues of lang in run (null: every cue) and follows them.
export async function open(lang, run) {
  const gen = ++model.gen;
  if (feedAbort) feedAbort.abort();
  feedAbort = null;
  Object.assign(model, { lang, run, offset: run ? Math.round(run.offset * 1000) : 0, cues: [], byId: new Map(), seq: 0, loaded: false });
  emit('cues', null, 'open');
  if (!lang) return;
  let q = '';
  if (run) {
    q = 'from_ms=' + model.offset;
    if (!run.live) q += '&to_ms=' + Math.ceil(model.offset + run.duration * 1000);
  }
  try {
    const [r, limits] = await Promise.all([api.cues(lang, q), api.limits(lang).catch(() => null)]);
    if (gen !== model.gen) return;
    model.limits = limits;
    model.seq = Number(r.headers.get('X-Cue-Seq')) || 0;
    apply(r.body, 'list');
    model.loaded = true;
    if (model.firstListMs === null) model.firstListMs = Math.round(performance.now());
    record({ kind: 'loaded', lang, run: run ? run.id : null, cues: model.cues.length, seq: model.seq });
    emit('cues', null, 'loaded');
    banner('');
  } catch (e) {
    if (gen !== model.gen) return;
    banner(t('edit.error.load', { reason: e.message }));
    return;
  }
  follow(gen);
}

// follow asks for the changes after the seq it knows, one long request at a
// time, until another language or recording is opened.
async function follow(gen) {
  let attempt = 0;
  while (gen === model.gen) {
    const ctrl = new AbortController();
    feedAbort = ctrl;
    try {
      const r = await api.cues(model.lang, 'since=' + model.seq + '&wait=25', ctrl.signal);
      if (gen !== model.gen) return;
      attempt = 0;
      model.feedAnswers++;
      const seq = Number(r.headers.get('X-Cue-Seq'));
      apply(r.body, 'feed');
      if (Number.isFinite(seq) && seq > model.seq) model.seq = seq;
      banner('');
    } catch (e) {
      if (gen !== model.gen || (e && e.name === 'AbortError')) return;
      if (e.status === 401 || e.status === 403) {
        banner(t('edit.error.token'));
        return;
      }
      banner(t('edit.error.follow'));
      attempt++;
      await new Promise((r) => window.setTimeout(r, backoff(attempt, 15000)));
    }
  }
}
