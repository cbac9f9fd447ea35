// Playing sessions: one attempt to play one language in one mode, its end,
// its retries, and the Play button that starts and stops them. The players
// (hlsplayer.js, webrtc.js) sit above this module and drive a session
// through its exports; watch.js hands them in (usePlayers).

import { release } from '../shared/audio.js';
import { backoff } from '../shared/net.js';
import { analyser, applyGain, ctx, ensureGraph, startMeter, stopMeter, volume } from './audio.js';
import { initialLang, initialMode, t, ui } from './page.js';
import { hidePicture } from './picture.js';
import { setState } from './status.js';

// The language and mode chosen: the next session plays them.
export let lang = initialLang();
export let mode = initialMode();

export function setLang(v) {
  lang = v;
}

export function setMode(v) {
  mode = v;
}

// ---- sessions --------------------------------------------------------------
// A session is one attempt to play one language in one mode. Switching
// language in WebRTC mode, switching mode, retrying and stopping all end the
// current session; callbacks of an ended session do nothing.

export let current = null;
let seq = 0;
export let wantPlay = false;
let attempts = 0;
let retryTimer = 0;

// playingLang is the language of the session that plays, else the one chosen.
export function playingLang() {
  return current ? current.lang : lang;
}

// The players, by mode: each starts a session (watch.js wires them).
const players = { webrtc: () => {}, hls: () => {} };

export function usePlayers(p) {
  Object.assign(players, p);
}

function start(retrying) {
  window.clearTimeout(retryTimer);
  if (current) teardown(current);
  const s = { id: ++seq, mode, lang, alive: true, switches: 0 };
  current = s;
  if (!retrying) setState('connecting');
  if (mode === 'webrtc') players.webrtc(s);
  else players.hls(s);
  if (current === s) startMeter();
}

export function stop() {
  wantPlay = false;
  window.clearTimeout(retryTimer);
  if (current) teardown(current);
  current = null;
  attempts = 0;
  stopMeter();
  setState('idle');
  updateButton();
}

function teardown(s) {
  s.alive = false;
  if (s.torn) return;
  s.torn = true;
  window.clearTimeout(s.graceTimer);
  window.clearTimeout(s.waitTimer);
  if (s.abort) s.abort.abort();
  if (s.onEnd) s.onEnd(); // a player's own end (janus.js)
  if (s.hls) s.hls.destroy();
  // Close the peer connection only once the DELETE is answered (or after
  // 2 s), so the server hears "gone" from the resource, not from a dead
  // transport. The session is already mute: its callbacks do nothing.
  const pc = s.pc;
  const deleted = deleteResource(s);
  if (pc && deleted) {
    const timer = window.setTimeout(() => pc.close(), 2000);
    deleted.finally(() => {
      window.clearTimeout(timer);
      pc.close();
    });
  } else if (pc) pc.close();
  release(s.node, s.el);
  if (s.el) hidePicture(s.el);
  if (s.el) {
    s.el.removeAttribute('src');
    try {
      s.el.load();
    } catch (e) {
      // nothing to unload
    }
  }
}

// retry ends a failed session and starts a new one after an exponential,
// jittered backoff (0.5 s doubling to 15 s); the state says "reconnecting".
export function retry(s, reason) {
  if (current !== s || !s.alive) return;
  teardown(s);
  attempts++;
  const delay = backoff(attempts, 15000);
  setState('reconnecting', reason);
  retryTimer = window.setTimeout(() => {
    if (wantPlay && current === s) start(true);
  }, delay);
}

// fail ends a session for good: the user must press Play again.
export function fail(s, reason) {
  if (current !== s) return;
  teardown(s);
  current = null;
  wantPlay = false;
  stopMeter();
  setState('error', reason);
  updateButton();
}

export function ended(s) {
  if (current !== s) return;
  teardown(s);
  current = null;
  wantPlay = false;
  stopMeter();
  setState('ended');
  updateButton();
}

export function wentLive(s) {
  if (current !== s || !s.alive) return;
  window.clearTimeout(s.waitTimer);
  attempts = 0;
  setState('live');
}

// attachElement routes a media element (hls.js) or a stream (WebRTC) into the
// audio graph; without Web Audio the element plays on its own.
export function attachElement(s, el, stream) {
  s.el = el;
  if (!ensureGraph()) {
    el.volume = volume();
    return;
  }
  try {
    if (stream) {
      // Chrome feeds a remote stream to Web Audio only while a media element
      // plays it; the element stays muted and the graph is what is heard.
      el.muted = true;
      s.node = ctx.createMediaStreamSource(stream);
    } else {
      s.node = ctx.createMediaElementSource(el);
    }
    s.node.connect(analyser);
  } catch (e) {
    s.node = null;
    el.muted = false;
    el.volume = volume();
  }
}

// applyVolume follows the volume slider: in the graph, and on an element
// that plays outside it.
export function applyVolume() {
  const v = applyGain();
  if (current && current.el && !current.node) current.el.volume = v;
}

export function play(s) {
  const p = s.el.play();
  if (p && p.catch) {
    p.catch((err) => {
      if (current !== s || !s.alive) return;
      if (err && err.name === 'NotAllowedError') stop();
    });
  }
}

// deleteResource ends the server's WHEP session; keepalive lets the request
// outlive the page when it is being closed.
export function deleteResource(s) {
  const r = s.resource;
  if (!r) return null;
  s.resource = null;
  return fetch(r, { method: 'DELETE', keepalive: true }).catch(() => {});
}

export function updateButton() {
  ui.play.textContent = wantPlay ? t('watch.stop') : t('watch.play');
  ui.play.dataset.playing = wantPlay ? 'true' : 'false';
}

// toggle is the Play button: it stops what plays, or starts playing.
export function toggle() {
  if (wantPlay) {
    stop();
    return;
  }
  wantPlay = true;
  ensureGraph();
  attempts = 0;
  updateButton();
  start(false);
}

// restart starts a new session at once, as if for the first time.
export function restart() {
  attempts = 0;
  start(false);
}
