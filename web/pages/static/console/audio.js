// The console's sound: one AudioContext for the monitor (what the producer
// hears: the monitor track → analyser → volume → speakers) and the alert
// beeps. Browsers start sound only after a gesture: the first press on the
// page unlocks it, and until then the page says so.

import * as shared from '../shared/audio.js';
import { record, setHidden, store, t, ui } from './page.js';

export let ctx = null;
let analyser = null;
let probe = null;
let volume = null;
let alertGain = null;
let source = null;
let el = null;
export let soundOn = store.get('sound') !== 'off';
export const beeps = []; // {kind, at, played}

function ensure() {
  if (ctx) return true;
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return false;
  try {
    ctx = new AC({ latencyHint: 'interactive' });
    analyser = shared.analyser(ctx);
    probe = shared.probe(analyser);
    volume = ctx.createGain();
    analyser.connect(volume);
    volume.connect(ctx.destination);
    alertGain = ctx.createGain();
    alertGain.gain.value = 0.5;
    alertGain.connect(ctx.destination);
    ctx.addEventListener('statechange', paintSound);
  } catch (e) {
    ctx = null;
    return false;
  }
  applyVolume();
  paintSound();
  return true;
}

// unlock is called on every press: it creates or resumes the context.
export function unlock() {
  if (!ensure()) return;
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
}

export const running = () => !!ctx && ctx.state === 'running';

function paintSound() {
  ui.sound.setAttribute('aria-pressed', soundOn ? 'true' : 'false');
  setHidden(ui.soundHint, !soundOn || running());
}

export function toggleSound() {
  soundOn = !soundOn;
  store.set('sound', soundOn ? 'on' : 'off');
  unlock();
  paintSound();
  if (soundOn) beep('message');
}

export function applyVolume() {
  if (!volume) return;
  const v = Math.pow(Number(ui.monitorVolume.value) / 100, 2);
  volume.gain.setTargetAtTime(v, ctx.currentTime, 0.02);
}

// beep sounds an alert: two rising tones for a message, three low pulses
// for "slow down". It returns whether it could sound.
export function beep(kind) {
  const entry = { kind, at: Date.now(), played: false };
  beeps.push(entry);
  if (beeps.length > 100) beeps.shift();
  if (!soundOn || !running()) return false;
  const now = ctx.currentTime + 0.01;
  const tones = kind === 'slow_down'
    ? [[392, 0, 0.16], [392, 0.22, 0.16], [392, 0.44, 0.3]]
    : [[880, 0, 0.12], [1320, 0.15, 0.2]];
  for (const [hz, at, dur] of tones) {
    const osc = ctx.createOscillator();
    const g = ctx.createGain();
    osc.type = kind === 'slow_down' ? 'square' : 'sine';
    osc.frequency.value = hz;
    g.gain.setValueAtTime(0, now + at);
    g.gain.linearRampToValueAtTime(kind === 'slow_down' ? 0.15 : 0.35, now + at + 0.01);
    g.gain.setValueAtTime(kind === 'slow_down' ? 0.15 : 0.35, now + at + dur - 0.03);
    g.gain.linearRampToValueAtTime(0, now + at + dur);
    osc.connect(g);
    g.connect(alertGain);
    osc.start(now + at);
    osc.stop(now + at + dur + 0.02);
  }
  entry.played = true;
  return true;
}

// playMonitor routes the monitor track into the graph. Chrome hands a remote
// stream's samples to Web Audio only while a media element plays it, so a
// muted element plays it too.
export function playMonitor(stream) {
  ensure();
  stopMonitor();
  el = document.createElement('audio');
  el.muted = true;
  el.autoplay = true;
  el.srcObject = stream;
  el.play().catch(() => {});
  if (!ctx) return;
  try {
    source = ctx.createMediaStreamSource(stream);
    source.connect(analyser);
  } catch (e) {
    record({ kind: 'monitor-error', error: String(e && e.message) });
  }
}

export function stopMonitor() {
  shared.release(source, el);
  source = null;
  el = null;
}

// level is the monitor's peak and RMS in dBFS over the last ~170 ms.
export const level = () => (probe ? probe.level() : null);

export function audioState() {
  return ctx ? ctx.state : 'none';
}

export const meterText = {
  silent: () => t('console.meter.silent'),
  value: (v) => t('console.unit.db_value', { v }),
};
