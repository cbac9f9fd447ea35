// The top bar: the floor (its state, source and level) and the latency of
// every language together, as the players report it.

import * as shared from '../shared/audio.js';
import { meterText } from './audio.js';
import { finite, floorWord, ms, num, say, setData, setText, t, ui } from './page.js';

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
