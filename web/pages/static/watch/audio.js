// What plays goes through Web Audio (every source → analyser → volume →
// speakers), which feeds the level meter.

import * as audio from '../shared/audio.js';
import { t, ui } from './page.js';

// ---- audio graph: every source → analyser → volume → speakers -------------

export let ctx = null;
export let analyser = null;
let probe = null;
let gain = null;

export function volume() {
  return ui.volume ? Number(ui.volume.value) / 100 : 1;
}

// ensureGraph creates the AudioContext; it must first run inside the click
// that starts playback, since browsers only let a user gesture start sound.
export function ensureGraph() {
  if (ctx) {
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    return true;
  }
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return false;
  try {
    ctx = new AC();
    analyser = audio.analyser(ctx);
    probe = audio.probe(analyser);
    gain = ctx.createGain();
    gain.gain.value = volume();
    analyser.connect(gain);
    gain.connect(ctx.destination);
  } catch (e) {
    ctx = null;
    analyser = null;
    probe = null;
    return false;
  }
  return true;
}

// applyGain sets the graph's volume to the slider's and returns it
// (session.js applies it also to an element that plays outside the graph).
export function applyGain() {
  const v = volume();
  if (gain) gain.gain.setTargetAtTime(v, ctx.currentTime, 0.02);
  return v;
}

// measure returns the peak and RMS level in dBFS of the last ~170 ms.
export const measure = () => (probe ? probe.level() : null);
// peakHz returns the dominant frequency of what plays.
export const peakHz = () => (probe ? probe.peakHz() : null);

// ---- meter ---------------------------------------------------------------

const meter = audio.meter(ui.meter, ui.cover, {
  silent: () => t('watch.meter.silent'),
  value: (db) => t('watch.meter.value', { db }),
});
let meterFrame = 0;

function drawMeter(now) {
  meterFrame = window.requestAnimationFrame(drawMeter);
  const m = measure();
  meter.update(m ? m.peakDb : null, now);
}

export function startMeter() {
  if (!meterFrame && analyser) meterFrame = window.requestAnimationFrame(drawMeter);
}

export function stopMeter() {
  if (meterFrame) window.cancelAnimationFrame(meterFrame);
  meterFrame = 0;
  meter.reset();
}
