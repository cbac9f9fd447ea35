// What the interpreter hears, through Web Audio: one gain per source for the
// sliders and a limiter that protects the ears; the level meters; the volume
// sliders.

import * as audio from '../shared/audio.js';
import { $, STREAMS, record, store, t, ui } from './page.js';
import { booth } from './state.js';

// ---- audio graph -----------------------------------------------------------------------
// floor, relay, partner: source → analyser → gain → limiter → speakers;
// mic: source → analyser → (silent) so the meter reads it without sidetone.

export let ctx = null;
let limiter = null;
export const chains = {}; // name → {analyser, probe, gain, source, el, track}

export function ensureGraph() {
  if (ctx) return true;
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return false;
  try {
    try {
      ctx = new AC({ latencyHint: 'interactive', sampleRate: 48000 });
    } catch (e) {
      ctx = new AC({ latencyHint: 'interactive' });
    }
    limiter = ctx.createDynamicsCompressor();
    limiter.threshold.value = -6;
    limiter.knee.value = 0;
    limiter.ratio.value = 20;
    limiter.attack.value = 0.002;
    limiter.release.value = 0.15;
    limiter.connect(ctx.destination);
    const silent = ctx.createGain();
    silent.gain.value = 0;
    silent.connect(ctx.destination);
    for (const name of STREAMS.concat(['mic'])) {
      const analyser = audio.analyser(ctx);
      const gain = ctx.createGain();
      gain.gain.value = 0;
      analyser.connect(gain);
      gain.connect(name === 'mic' ? silent : limiter);
      chains[name] = { analyser, probe: audio.probe(analyser), gain, source: null, el: null, track: null };
    }
    ctx.addEventListener('statechange', paintAudioNotice);
  } catch (e) {
    ctx = null;
    return false;
  }
  applyGains();
  paintAudioNotice();
  return true;
}

function paintAudioNotice() {
  ui.audioNotice.hidden = !ctx || ctx.state !== 'suspended';
  if (ctx && ctx.state === 'running') startMeters();
}

export function resumeAudio() {
  if (ctx && ctx.state === 'suspended') ctx.resume().catch(() => {});
}

// Perceived loudness follows the square of the slider better than the slider.
const sliderGain = (el) => Math.pow(Number(el.value) / 100, 2);

export function applyGains() {
  if (!ctx) return;
  const input = booth.input || 'floor';
  const v = sliderGain(ui.volInput);
  const set = (name, g) => chains[name].gain.gain.setTargetAtTime(g, ctx.currentTime, 0.02);
  set('floor', input === 'floor' ? v : 0);
  set('relay', input === 'floor' ? 0 : v);
  set('partner', sliderGain(ui.volPartner));
}

// attach routes a received stream into its chain. Chrome hands a remote
// stream's samples to Web Audio only while a media element plays it, so a
// muted element plays it too.
export function attach(name, stream, track) {
  if (!ensureGraph()) return;
  const ch = chains[name];
  detach(name);
  const el = document.createElement('audio');
  el.muted = true;
  el.autoplay = true;
  el.srcObject = stream;
  const p = el.play();
  if (p && p.catch) p.catch(() => {});
  ch.el = el;
  ch.track = track;
  try {
    ch.source = ctx.createMediaStreamSource(stream);
    ch.source.connect(ch.analyser);
  } catch (e) {
    ch.source = null;
  }
  record({ kind: 'track', stream: name });
}

export function detach(name) {
  const ch = chains[name];
  if (!ch) return;
  audio.release(ch.source, ch.el);
  ch.source = null;
  ch.el = null;
  ch.track = null;
}

export function level(name) {
  const ch = chains[name];
  if (!ch || !ch.source) return null;
  return ch.probe.level();
}

export function peakHz(name) {
  const ch = chains[name];
  if (!ch || !ch.source) return null;
  return ch.probe.peakHz();
}

// ---- the producer's chime ---------------------------------------------------------
// Two short rising notes through the limiter, quieter than the floor's
// peaks: enough to be noticed in the headphones, not to startle. It is
// played only while the sound runs (a chime held back until the first
// gesture would come too late to mean anything).

export let chimes = 0;

export function chime() {
  if (!ensureGraph() || ctx.state !== 'running') return false;
  const t0 = ctx.currentTime + 0.02;
  [[880, 0], [1318.5, 0.17]].forEach(([hz, at]) => {
    const osc = ctx.createOscillator();
    const env = ctx.createGain();
    osc.frequency.value = hz;
    env.gain.setValueAtTime(0, t0 + at);
    env.gain.linearRampToValueAtTime(0.2, t0 + at + 0.01);
    env.gain.setTargetAtTime(0, t0 + at + 0.06, 0.05);
    osc.connect(env);
    env.connect(limiter);
    osc.start(t0 + at);
    osc.stop(t0 + at + 0.4);
    osc.addEventListener('ended', () => env.disconnect());
  });
  chimes++;
  return true;
}

// ---- meters ----------------------------------------------------------------------

const meterText = { silent: () => t('booth.meter.silent'), value: (db) => t('booth.meter.value', { db }) };
const meters = {
  mic: audio.meter($('mic-meter'), $('mic-meter-cover'), meterText),
  floor: audio.meter($('floor-meter'), $('floor-meter-cover'), meterText),
};
let meterFrame = 0;

function drawMeters(now) {
  meterFrame = window.requestAnimationFrame(drawMeters);
  for (const name of ['mic', 'floor']) {
    const l = level(name);
    meters[name].update(l ? l.peakDb : null, now);
  }
}

function startMeters() {
  if (!meterFrame && ctx) meterFrame = window.requestAnimationFrame(drawMeters);
}

// bindVolumes restores the sliders and follows them.
export function bindVolumes() {
  for (const [el, out, key] of [[ui.volInput, ui.volInputValue, 'vol-input'], [ui.volPartner, ui.volPartnerValue, 'vol-partner']]) {
    const saved = store.get(key);
    const v = Number(saved);
    if (saved !== null && v >= 0 && v <= 100) el.value = String(v);
    const show = () => {
      out.value = el.value;
      el.setAttribute('aria-valuetext', t('booth.volume.value', { percent: el.value }));
    };
    show();
    el.addEventListener('input', () => {
      store.set(key, el.value);
      show();
      applyGains();
    });
  }
}
