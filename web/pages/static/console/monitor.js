// The monitor: one RTCPeerConnection on which the server sends the mix the
// producer listens to. The server offers after its welcome; switching
// languages is a "listen" message, which replaces the server's track without
// renegotiation, so the switch is heard with the next packet.

import * as shared from '../shared/audio.js';
import { iceGatheringDone } from '../shared/net.js';
import { level, meterText, playMonitor, stopMonitor, unlock } from './audio.js';
import { send } from './conn.js';
import { $, iso, nameOf, record, say, setText, t, ui } from './page.js';

export let pc = null;
export let peerState = 'none';
export let listening = ''; // what the server says the monitor carries
export let wanted = ''; // what the producer asked for
let offers = Promise.resolve();

export function onOffer(sdp) {
  offers = offers.then(() => answer(sdp)).catch((err) => {
    record({ kind: 'monitor-error', error: String((err && err.message) || err) });
  });
}

async function answer(sdp) {
  closePeer();
  const p = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
  pc = p;
  peerState = 'new';
  p.addEventListener('track', (ev) => {
    if (pc !== p) return;
    playMonitor((ev.streams && ev.streams[0]) || new MediaStream([ev.track]));
  });
  p.addEventListener('connectionstatechange', () => {
    if (pc !== p) return;
    peerState = p.connectionState;
    record({ kind: 'monitor', state: peerState });
    paint();
  });
  await p.setRemoteDescription({ type: 'offer', sdp });
  await p.setLocalDescription(await p.createAnswer());
  await iceGatheringDone(p, 5000);
  if (pc !== p) return;
  send({ type: 'answer', sdp: p.localDescription.sdp });
  // A new session (after a reconnection) hears again what was asked for.
  if (wanted) send({ type: 'listen', lang: wanted });
}

export function closePeer() {
  if (!pc) return;
  const p = pc;
  pc = null;
  peerState = 'none';
  try {
    p.close();
  } catch (e) {
    // already closed
  }
  stopMonitor();
  listening = '';
  paint();
}

// listen asks for lang's mix on the monitor ("" for nothing); asking for
// what is heard already stops it.
export function listen(lang) {
  unlock();
  wanted = lang === wanted ? '' : lang;
  record({ kind: 'listen', lang: wanted });
  send({ type: 'listen', lang: wanted });
  paint();
}

// onRefused takes back a "listen" the server refused (an error answers it):
// the monitor keeps what it carries.
export function onRefused() {
  if (wanted === listening) return;
  wanted = listening;
  paint();
}

export function onListening(m) {
  listening = typeof m.lang === 'string' ? m.lang : '';
  record({ kind: 'listening', lang: listening });
  say(listening ? t('console.monitor.on', { name: iso(labelOf(listening)) }) : t('console.monitor.off'));
  paint();
}

function labelOf(lang) {
  if (lang.startsWith('input:')) return t('console.monitor.input', { name: lang.slice(6) });
  return nameOf(lang);
}

// paint shows what is heard: the top bar and each card's Listen button
// (pressed while its language is what the producer asked for).
export function paint() {
  const shown = listening || '';
  setText(ui.monitorText, shown ? t('console.monitor.on', { name: iso(labelOf(shown)) }) : wanted ? t('console.monitor.switching') : t('console.monitor.off'));
  ui.monitorStop.disabled = !wanted && !listening;
  document.querySelectorAll('.card').forEach((card) => {
    const b = $(card.id + '-listen');
    if (!b) return;
    const on = card.dataset.lang === wanted;
    b.setAttribute('aria-pressed', on ? 'true' : 'false');
    card.dataset.hearing = String(card.dataset.lang === shown && on);
  });
  for (const b of document.querySelectorAll('[data-input-listen]')) {
    b.setAttribute('aria-pressed', 'input:' + b.dataset.inputListen === wanted ? 'true' : 'false');
  }
  if (shown) startMeter();
  else stopMeter();
}

// ---- the monitor's meter -------------------------------------------------------

const meter = shared.meter(ui.monitorMeter, ui.monitorMeterCover, meterText);
let frame = 0;

function draw(now) {
  frame = window.requestAnimationFrame(draw);
  const m = level();
  meter.update(m ? m.peakDb : null, now);
}

function startMeter() {
  if (!frame) frame = window.requestAnimationFrame(draw);
}

function stopMeter() {
  if (frame) window.cancelAnimationFrame(frame);
  frame = 0;
  meter.reset();
}
