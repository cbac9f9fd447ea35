// The players' report (docs/http.md, "Players' reports"): while a session
// plays, the page tells the server every next_ms (5 s) what it plays, how,
// and how far behind the program; "stopped" when playback stops or the page
// goes. The answers carry the server's clock, against which the delay is
// measured: over WebRTC from the RTP timestamps the receiver last played,
// over HLS from the program date of the playhead. The delay is also shown,
// discreetly. A 4xx answer ends the reports for this page load (429: too
// many players report; the page keeps playing).

import { outputMs, programDateDelay, receiverDelay, serverClock } from '../shared/latency.js';
import { ctx } from './audio.js';
import { config, t, ui } from './page.js';
import { current } from './session.js';
import { state } from './status.js';

const url = '/api/events/' + encodeURIComponent(config.event || '') + '/viewers';
const clock = serverClock();

// What the reports did, for the test hook.
export const report = {
  id: randomID(),
  sent: 0, // "playing" reports answered
  stopped: 0, // "stopped" reports sent
  status: 0, // the latest answer's HTTP status
  halted: config.event ? 0 : -1, // the 4xx that ended the reports
  latencyMs: null, // the latest delay measured
  epochMs: 0,
  nextMs: 5000,
  clock,
};

let playing = null; // {lang, protocol} while the server counts this page
let timer = 0;
// Reports go one after another, so that a "stopped" never overtakes the
// "playing" before it on another connection.
let chain = Promise.resolve();

// randomID is 22 characters of [A-Za-z0-9_-], new for each page load.
function randomID() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const playingSession = () => (current && current.alive && state === 'live' ? current : null);

// reportState follows the page's state line (watch.js wires it): a session
// that goes live is reported at once, as is a switch of language or mode;
// any other state ends the report.
export function reportState() {
  const s = playingSession();
  if (s) {
    if (!playing || playing.lang !== s.lang || playing.protocol !== s.mode) queueReport();
  } else if (playing) stopReport(false);
}

function queueReport() {
  window.clearTimeout(timer);
  timer = 0;
  chain = chain.then(sendPlaying).catch(() => {});
}

function schedule(ms) {
  window.clearTimeout(timer);
  timer = window.setTimeout(queueReport, ms);
}

function post(body) {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, cache: 'no-store' });
}

async function sendPlaying() {
  const s = playingSession();
  if (!s || report.halted) return;
  const body = { id: report.id, lang: s.lang, protocol: s.mode, state: 'playing' };
  const ms = measure(s);
  if (ms !== null) body.latency_ms = Math.round(ms);
  showDelay(ms);
  playing = { lang: s.lang, protocol: s.mode };
  const t0 = performance.now();
  let res;
  try {
    res = await post(JSON.stringify(body));
  } catch (e) {
    if (playing) schedule(report.nextMs);
    return;
  }
  const t1 = performance.now();
  report.status = res.status;
  if (res.status >= 400 && res.status < 500) {
    halt(res.status);
    return;
  }
  if (res.ok) {
    report.sent++;
    try {
      take(await res.json(), t0, t1);
    } catch (e) {
      // an answer without the clock: the delay stays unknown
    }
  }
  if (!playing) return; // stopped meanwhile
  // The first answer brings the clock: measure and report again soon,
  // rather than a whole period later.
  schedule(ms === null && clock.ready ? 1000 : report.nextMs);
}

function take(a, t0, t1) {
  clock.add(t0, t1, Number(a.server_ms), Number(a.pts));
  if (Number(a.epoch_ms) > 0) report.epochMs = Number(a.epoch_ms);
  const next = Number(a.next_ms);
  if (Number.isFinite(next)) report.nextMs = Math.min(60000, Math.max(1000, next));
}

// measure is the session's delay behind the program (ms), or null.
function measure(s) {
  if (!clock.ready) return null;
  const out = outputMs(ctx);
  let d = null;
  if (s.mode === 'webrtc') {
    const rx = s.pc ? s.pc.getReceivers().find((r) => r.track && r.track.kind === 'audio') : null;
    d = receiverDelay(rx, clock, out);
  } else {
    d = programDateDelay(s.hls ? s.hls.playingDate : nativeDate(s.el), report.epochMs, clock, out);
  }
  return d ? d.ms : null;
}

// measureNow is the playing session's delay now (ms), or null; for the
// test hook.
export function measureNow() {
  const s = playingSession();
  return s ? measure(s) : null;
}

// nativeDate is the program date of the playhead in the browser's own HLS
// player (Safari), or null.
function nativeDate(el) {
  if (!el || typeof el.getStartDate !== 'function') return null;
  const start = el.getStartDate().getTime();
  return Number.isFinite(start) ? new Date(start + el.currentTime * 1000) : null;
}

// stopReport tells the server this page stopped playing; beacon for a page
// that is going away (the request must outlive it).
function stopReport(beacon) {
  window.clearTimeout(timer);
  timer = 0;
  showDelay(null);
  const was = playing;
  playing = null;
  if (!was || report.halted) return;
  const body = JSON.stringify({ id: report.id, lang: was.lang, protocol: was.protocol, state: 'stopped' });
  report.stopped++;
  if (!beacon) {
    chain = chain.then(() => post(body)).catch(() => {});
    return;
  }
  try {
    // The server reads JSON whatever the type says.
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: 'application/json' }))) return;
  } catch (e) {
    // no beacon: a keepalive request does the same
  }
  fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body, keepalive: true }).catch(() => {});
}

function halt(status) {
  report.halted = status;
  window.clearTimeout(timer);
  timer = 0;
  playing = null;
  showDelay(null);
}

const secondsFmt = (() => {
  try {
    return new Intl.NumberFormat(config.locale || undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  } catch (e) {
    return { format: (x) => x.toFixed(1) };
  }
})();

function showDelay(ms) {
  report.latencyMs = ms === null ? null : Math.round(ms);
  if (!ui.delay) return;
  ui.delay.hidden = ms === null;
  const text = ms === null ? '' : t('watch.delay.value', { seconds: secondsFmt.format(ms / 1000) });
  if (ui.delay.textContent !== text) ui.delay.textContent = text;
}

// bindReport ends the report when the page goes (before the controls stop
// the session, so the beacon carries it) and resumes it when a frozen page
// comes back.
export function bindReport() {
  window.addEventListener('pagehide', () => stopReport(true));
  document.addEventListener('freeze', () => stopReport(true));
  document.addEventListener('resume', reportState);
}
