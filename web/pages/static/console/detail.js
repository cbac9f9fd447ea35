// The detail drawer of one language: its live controls (duck depth, voice
// and floor gain, each applied on change through the producer API, with the
// server's refusal shown beside it), the booth (mute, direct takes, a
// message), every interpreter's link and jitter buffer, the floor inputs,
// latency, captions and the mix's outputs with their readers.

import { patchLanguage, setBooth, switchFloor } from './api.js';
import { sendNotice } from './alerts.js';
import { linkQuality, inputText } from './cards.js';
import { fillKV } from './kv.js';
import { listen } from './monitor.js';
import { $, LINK_KEYS, cardOf, db, finite, floorWord, iso, ms, nameOf, num, pct, qualityWord, record, say, setHidden, setText, t } from './page.js';
import { languageOf, session, status } from './state.js';

const el = {
  dialog: $('detail'),
  heading: $('detail-heading'),
  close: $('detail-close'),
  mix: $('detail-mix'),
  boothSec: $('detail-booth'),
  mute: $('detail-mute'),
  direct: $('detail-direct'),
  boothError: $('booth-error'),
  messageForm: $('message-form'),
  messageInput: $('message-input'),
  messageStatus: $('message-status'),
  interpsSec: $('detail-interps-sec'),
  interps: $('detail-interps'),
  inputsSec: $('detail-inputs-sec'),
  inputs: $('detail-inputs'),
  inputsError: $('inputs-error'),
  latency: $('detail-latency'),
  captions: $('detail-captions'),
  outputs: $('detail-outputs'),
};

// The three live controls: a slider and a number field each, in step.
const controls = {
  duck: { key: 'duck_db', limits: 'duck_db', box: $('ctl-duck'), range: $('duck-range'), num: $('duck-num'), error: $('duck-error'), touched: 0 },
  voice: { key: 'voice_gain_db', limits: 'gain_db', box: $('ctl-voice'), range: $('voice-range'), num: $('voice-num'), error: $('voice-error'), touched: 0 },
  floor: { key: 'floor_gain_db', limits: 'gain_db', box: $('ctl-floor'), range: $('floor-range'), num: $('floor-num'), error: $('floor-error'), touched: 0 },
};

export let openTag = '';
let opener = null;

export function openDetail(tag, button) {
  const was = openTag;
  openTag = tag;
  opener = button || null;
  for (const b of document.querySelectorAll('.card .card-title')) b.setAttribute('aria-expanded', String(b.closest('.card').dataset.lang === tag));
  const floor = !session.booths.has(tag);
  el.dialog.dataset.floor = String(floor);
  setText(el.heading, t('console.detail.heading', { name: nameOf(tag), tag }));
  setHidden(controls.duck.box, floor);
  setHidden(controls.voice.box, floor);
  setHidden(el.boothSec, floor);
  setHidden(el.interpsSec, floor);
  setHidden(el.inputsSec, !floor);
  if (was !== tag) {
    for (const c of Object.values(controls)) {
      c.touched = 0;
      setText(c.error, '');
    }
    setText(el.boothError, '');
    setText(el.messageStatus, '');
    setText(el.inputsError, '');
    el.interps.replaceChildren();
    el.inputs.replaceChildren();
    inputRows.clear();
  }
  for (const c of Object.values(controls)) {
    const [lo, hi] = session.limits[c.limits];
    for (const input of [c.range, c.num]) {
      input.min = String(lo);
      input.max = String(hi);
    }
  }
  if (!el.dialog.open) el.dialog.show();
  paintDetail(true);
  el.close.focus();
  record({ kind: 'detail', lang: tag });
}

export function closeDetail() {
  if (!openTag) return;
  const tag = openTag;
  openTag = '';
  if (el.dialog.open) el.dialog.close();
  for (const b of document.querySelectorAll('.card .card-title')) b.setAttribute('aria-expanded', 'false');
  const i = cardOf(tag);
  const back = opener && document.contains(opener) ? opener : i >= 0 ? $('c' + i + '-details') : null;
  if (back) back.focus();
}

// paintDetail shows the open language from the latest status.
export function paintDetail(force) {
  if (!openTag || !status) return;
  const l = languageOf(openTag);
  if (!l) return;
  const set = l.settings || {};
  const values = { duck: set.duck_db, voice: set.voice_gain_db, floor: set.floor_gain_db };
  for (const [name, c] of Object.entries(controls)) {
    const v = values[name];
    // Not while the producer is at the control, nor just after a change.
    const busy = c.box.contains(document.activeElement) || performance.now() - c.touched < 2000;
    if (finite(v) && (force || !busy)) {
      if (c.range.value !== String(v)) c.range.value = String(v);
      if (c.num.value !== String(v)) c.num.value = String(v);
    }
  }
  fillKV(el.mix, [
    [t('console.detail.ducking_now'), l.ducking ? t('console.detail.ducking_by', { v: db(l.duck_db) }) : t('console.detail.not_ducking'), l.ducking ? 'on' : ''],
    [t('console.detail.limiter'), db(l.limiter_db)],
    [t('console.meter.program'), t('console.detail.program_value', { peak: db(l.program && l.program.peak_db), lufs: num(l.program && l.program.short_term_lufs, 1) })],
  ]);
  const booth = l.booth;
  if (booth) {
    setText(el.mute, t(booth.muted ? 'console.card.release' : 'console.card.mute'));
    el.mute.dataset.muted = String(!!booth.muted);
    if (document.activeElement !== el.direct) el.direct.checked = !!booth.direct_take;
    paintInterpreters(Array.isArray(l.interpreters) ? l.interpreters : []);
  } else {
    paintInputs(status.floor && Array.isArray(status.floor.inputs) ? status.floor.inputs : []);
  }
  const lat = l.latency || {};
  const viewer = (v) => (v && v.players > 0 ? t('console.detail.viewer_latency', { median: ms(v.median_ms), worst: ms(v.worst_ms), n: v.players }) : t('console.none'));
  const latPairs = [];
  if (booth) {
    latPairs.push([t('console.detail.floor_to_ear'), ms(lat.floor_to_ear_ms)], [t('console.detail.mouth_to_webrtc'), ms(lat.mouth_to_webrtc_ms)]);
  }
  latPairs.push([t('console.latency.webrtc'), viewer(lat.webrtc)], [t('console.latency.hls'), viewer(lat.hls)]);
  const lis = l.listeners || {};
  latPairs.push([t('console.card.listeners'), t('console.card.listeners_value', { webrtc: num(lis.webrtc), hls: num(lis.hls) })]);
  fillKV(el.latency, latPairs);
  const cap = l.captions || {};
  let capState = t(!cap.available ? 'console.captions.none' : cap.running ? 'console.captions.live' : 'console.captions.stopped');
  if (cap.available && cap.running && finite(cap.lag_ms) && cap.lag_ms > 0) capState = t('console.captions.live_lag', { lag: ms(cap.lag_ms) });
  const capPairs = [[t('console.detail.captions_state'), capState]];
  if (cap.available) {
    capPairs.push(
      [t('console.detail.last_cue'), cap.last_cue ? cap.last_cue : t('console.none')],
      [t('console.detail.caption_lag'), ms(cap.lag_ms)],
      [t('console.detail.cues'), t('console.detail.cue_counts', { cues: num(cap.cues), errors: num(cap.errors), dropped: num(cap.dropped) }), cap.errors > 0 ? 'warn' : ''],
    );
    if (cap.fallback && typeof cap.fallback === 'object') {
      capPairs.push([t('console.detail.fallback'), t('console.detail.fallback_counts', { shown: num(cap.fallback.shown), held: num(cap.fallback.held) })]);
    }
    if (cap.last_error) capPairs.push([t('console.detail.last_error'), cap.last_error, 'warn']);
  }
  fillKV(el.captions, capPairs);
  const outPairs = [];
  for (const o of Array.isArray(l.outputs) ? l.outputs : []) {
    for (const r of Array.isArray(o.readers) ? o.readers : []) {
      outPairs.push([o.name + ' → ' + r.name, t('console.detail.reader', { received: num(r.received), dropped: num(r.dropped) }), r.dropped > 0 ? 'warn' : '']);
    }
  }
  fillKV(el.outputs, outPairs);
}

function paintInterpreters(list) {
  while (el.interps.children.length > list.length) el.interps.lastElementChild.remove();
  list.forEach((it, i) => {
    let box = el.interps.children[i];
    if (!box) {
      box = document.createElement('div');
      box.className = 'dinterp';
      const h = document.createElement('h4');
      const dl = document.createElement('dl');
      dl.className = 'kv';
      box.append(h, dl);
      el.interps.append(box);
    }
    const [h, dl] = box.children;
    const q = linkQuality(it);
    const title = t('console.detail.interp_title', { name: iso(String(it.name || t('console.interp.unnamed'))), state: t(it.connected ? 'console.interp.connected' : 'console.interp.away') });
    if (h.textContent !== title) h.textContent = title;
    box.dataset.q = q;
    const jb = it.jitter_buffer || null;
    const pairs = [
      [t('console.detail.mic'), t(it.mic === 'on' ? 'console.interp.mic_on' : it.mic === 'cough' ? 'console.interp.cough' : 'console.interp.mic_off') + (it.on_air ? ' · ' + t('console.interp.on_air') : '')],
      [t('console.detail.input'), inputText(it.input)],
    ];
    if (it.connected) {
      pairs.push(
        [t('console.detail.level'), db(it.level_db)],
        [t('console.detail.link'), t(LINK_KEYS[q]), q],
        [t('console.detail.rtt'), ms(it.rtt_ms)],
        [t('console.detail.uplink'), t('console.detail.loss_jitter', { loss: pct(it.loss), jitter: ms(it.jitter_ms) })],
        [t('console.detail.downlink'), t('console.detail.loss_jitter', { loss: pct(it.down_loss), jitter: ms(it.down_jitter_ms) })],
        [t('console.detail.floor_to_ear'), ms(it.floor_to_ear_ms)],
      );
      if (jb) {
        pairs.push(
          [t('console.detail.jb_depth'), t('console.detail.jb_depth_value', { depth: ms(jb.depth_ms), target: ms(jb.target_ms) })],
          [t('console.detail.jb_packets'), t('console.detail.jb_packets_value', { packets: num(jb.packets), lost: num(jb.lost), fec: num(jb.fec_recovered) })],
          [t('console.detail.jb_repairs'), t('console.detail.jb_repairs_value', { concealed: num(jb.concealed), late: num(jb.late), underruns: num(jb.underruns) })],
        );
      }
    }
    fillKV(dl, pairs);
  });
}

// ---- floor inputs ----------------------------------------------------------------

const inputRows = new Map(); // id → {li, name, facts, onAir, hear}

function paintInputs(list) {
  const ids = new Set(list.map((x) => String(x.id)));
  for (const [id, row] of inputRows) {
    if (!ids.has(id)) {
      row.li.remove();
      inputRows.delete(id);
    }
  }
  for (const x of list) {
    const id = String(x.id);
    let row = inputRows.get(id);
    if (!row) {
      row = inputRow(id);
      inputRows.set(id, row);
      el.inputs.append(row.li);
    }
    const q = x.quality || {};
    setText(row.name, t('console.detail.input_title', { name: String(x.name || id), state: floorWord(x.state) }));
    row.li.dataset.program = String(!!x.on_program);
    fillKV(row.facts, [
      [t('console.detail.quality'), t('console.quality.line', { verdict: qualityWord(q.verdict), snr: num(q.snr_db), bw: num(finite(q.bandwidth_hz) ? q.bandwidth_hz / 1000 : null, 1) }), q.verdict],
      [t('console.detail.loudness'), t('console.detail.loudness_value', { lufs: num(q.loudness_lufs, 1), peak: db(q.peak_db) }), q.clipping ? 'warn' : ''],
    ]);
    row.onAir.disabled = !!x.on_program;
    setText(row.onAir, t(x.on_program ? 'console.detail.on_program' : 'console.detail.take_input'));
  }
}

function inputRow(id) {
  const li = document.createElement('li');
  li.className = 'input';
  const name = document.createElement('h4');
  const facts = document.createElement('dl');
  facts.className = 'kv';
  const row = document.createElement('div');
  row.className = 'row';
  const onAir = document.createElement('button');
  onAir.type = 'button';
  onAir.className = 'small';
  const hear = document.createElement('button');
  hear.type = 'button';
  hear.className = 'small';
  hear.dataset.inputListen = id;
  hear.setAttribute('aria-pressed', 'false');
  hear.textContent = t('console.card.listen');
  const labelId = 'input-' + id.replace(/[^A-Za-z0-9_-]/g, '_') + '-name';
  name.id = labelId;
  onAir.setAttribute('aria-describedby', labelId);
  hear.setAttribute('aria-describedby', labelId);
  onAir.addEventListener('click', async () => {
    const r = await switchFloor(id);
    setText(el.inputsError, r.ok ? '' : t('console.error.refused', { error: r.error }));
    if (r.ok) say(t('console.say.input', { name: id }));
  });
  hear.addEventListener('click', () => listen('input:' + id));
  row.append(onAir, hear);
  li.append(name, facts, row);
  return { li, name, facts, onAir, hear };
}

// ---- binding ---------------------------------------------------------------------

// applyControl sends one control's value; the server's refusal (400) is
// shown beside it and the next status puts the control back.
async function applyControl(c, raw) {
  c.touched = performance.now();
  const v = Number(raw);
  if (raw === '' || !Number.isFinite(v)) {
    setText(c.error, t('console.error.number'));
    return;
  }
  const tag = openTag;
  const r = await patchLanguage(tag, { [c.key]: v });
  c.touched = performance.now();
  setText(c.error, r.ok ? '' : t('console.error.refused', { error: r.error }));
  record({ kind: 'patch', lang: tag, key: c.key, value: v, ok: r.ok, status: r.status });
}

export async function toggleMute(tag, errorEl) {
  const l = languageOf(tag);
  const muted = !!(l && l.booth && l.booth.muted);
  const r = await setBooth(tag, { muted: !muted });
  record({ kind: 'mute', lang: tag, muted: !muted, ok: r.ok });
  setText(errorEl, r.ok ? '' : t('console.error.refused', { error: r.error }));
  if (r.ok) say(t(!muted ? 'console.say.muted' : 'console.say.released', { lang: nameOf(tag) }));
}

export function bindDetail() {
  for (const c of Object.values(controls)) {
    c.range.addEventListener('input', () => {
      c.num.value = c.range.value;
      c.touched = performance.now();
    });
    c.num.addEventListener('input', () => {
      c.touched = performance.now();
      if (c.num.value !== '' && Number.isFinite(Number(c.num.value))) c.range.value = c.num.value;
    });
    c.range.addEventListener('change', () => applyControl(c, c.range.value));
    c.num.addEventListener('change', () => applyControl(c, c.num.value));
  }
  el.close.addEventListener('click', closeDetail);
  el.dialog.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') {
      ev.preventDefault();
      closeDetail();
    }
  });
  el.dialog.addEventListener('close', () => {
    if (openTag) closeDetail();
  });
  el.mute.addEventListener('click', () => toggleMute(openTag, el.boothError));
  el.direct.addEventListener('change', async () => {
    const want = el.direct.checked;
    const r = await setBooth(openTag, { direct_take: want });
    setText(el.boothError, r.ok ? '' : t('console.error.refused', { error: r.error }));
    if (!r.ok) el.direct.checked = !want;
  });
  el.messageForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    sendNotice(openTag, el.messageInput, el.messageStatus);
  });
}
