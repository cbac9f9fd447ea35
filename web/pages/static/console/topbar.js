// The top bar: the floor (its state, source and level), the latency of
// every language together, as the players report it, and the recording
// (its state, length and size, and a warning when the disk will fill up).

import * as shared from '../shared/audio.js';
import { meterText } from './audio.js';
import { clockTime, finite, floorWord, ms, num, say, setData, setHidden, setText, t, ui } from './page.js';

const floorMeter = shared.meter(ui.floorMeter, ui.floorMeterCover, meterText);
let prevFloor = '';

export function paintTop(s) {
  const f = s.floor || {};
  const st = f.state === 'live' || f.state === 'ended' ? f.state : 'missing';
  setData(ui.floorState, 'state', st);
  setText(ui.floorState, floorWord(st));
  if (prevFloor && prevFloor !== st) say(t('console.say.floor', { state: floorWord(st) }));
  prevFloor = st;
  setText(ui.floorSource, sourceName(f));
  const lv = f.level || {};
  floorMeter.update(finite(lv.peak_db) ? lv.peak_db : null, performance.now());
  setText(ui.floorLufs, finite(lv.short_term_lufs) && lv.short_term_lufs > -70
    ? t('console.unit.lufs_value', { v: num(lv.short_term_lufs, 1) })
    : t('console.meter.silent'));

  const lat = s.latency || {};
  setText(ui.latWebRTC, latency(lat.webrtc));
  setText(ui.latHLS, latency(lat.hls));
  paintRecording(s.recording || {});
}

const REC_KEYS = {
  off: 'console.recording.off',
  waiting: 'console.recording.waiting',
  recording: 'console.recording.recording',
  stopped: 'console.recording.stopped',
  failed: 'console.recording.failed',
};
let prevRec = { state: '', warning: '' };

// paintRecording shows the run's recording beside the title, in little
// room: its state, or while recording its length (its size in the
// tooltip); a full disk ahead or an error takes the place of the length,
// the whole of it in the tooltip, and is announced once. Nothing shows
// for an event that is not recorded.
function paintRecording(r) {
  const st = REC_KEYS[r.state] ? r.state : 'off';
  const fullAt = r.full_at ? clockTime(new Date(r.full_at)) : '';
  const warning = st === 'recording' && r.warning && fullAt ? r.warning : '';
  const word = t(REC_KEYS[st]);
  let text = word;
  let tip = word;
  if (st === 'failed') {
    tip = word + ' · ' + (r.error || '');
  } else if (warning === 'disk_full_before_end' && r.end) {
    text = t('console.recording.disk_low', { time: fullAt });
    tip = t('console.recording.full_before_end', { time: fullAt, end: clockTime(new Date(r.end)) });
  } else if (warning) {
    text = tip = t('console.recording.disk_low', { time: fullAt });
  } else if (st === 'recording' || st === 'stopped') {
    const progress = t('console.recording.progress', { duration: hms(r.seconds), size: t('console.recording.size', { v: num((r.bytes || 0) / 1e6, 1) }) });
    if (st === 'recording') text = hms(r.seconds);
    tip = word + ' · ' + progress;
  }
  setData(ui.recState, 'state', warning ? 'warning' : st);
  setText(ui.recState, text);
  tip = t('console.recording.heading') + ' · ' + tip;
  if (ui.recState.title !== tip) ui.recState.title = tip;
  // An event that is not recorded shows nothing: the room is the title's.
  setHidden(ui.recState.parentElement, st === 'off');
  if (st === 'failed' && prevRec.state !== 'failed') say(t('console.say.recording_failed', { error: r.error || '' }));
  if (warning && warning !== prevRec.warning) say(t('console.say.recording_disk', { time: fullAt }));
  prevRec = { state: st, warning };
}

// hms formats seconds as h:mm:ss.
function hms(sec) {
  const s = Math.max(0, Math.floor(finite(sec) ? sec : 0));
  const two = (x) => String(x).padStart(2, '0');
  return Math.floor(s / 3600) + ':' + two(Math.floor(s / 60) % 60) + ':' + two(s % 60);
}

// sourceName names the floor input on the program: its name, or its
// source without the path a file source carries.
function sourceName(f) {
  const inputs = Array.isArray(f.inputs) ? f.inputs : [];
  const on = inputs.find((x) => x && x.on_program);
  if (on && on.name) return on.name;
  const src = String((on && on.source) || f.source || '');
  if (src.startsWith('file:')) return src.slice(5).split('/').pop();
  return src;
}

function latency(v) {
  if (!v || !(v.players > 0)) return t('console.none');
  return t('console.latency.value', { median: ms(v.median_ms), worst: ms(v.worst_ms) });
}
