// The console's one WebSocket (docs/console-protocol.md): connecting, live,
// reconnecting with backoff when it drops, and two final states: revoked
// (closed with 4003: the token was revoked; the page does not come back) and
// refused (the server will not let this token in: 401, 403, 404).
//
// It is the transport under the console's features and imports none of
// them: what it hands up comes in through wireConn.

import { backoff, wsURL } from '../shared/net.js';
import { config, record, say, setText, t, ui } from './page.js';

const hooks = {
  message: () => {}, // the data of each message from the server
  dropped: () => {}, // the socket ended (close the monitor peer)
  state: () => {}, // the connection state changed
};

export function wireConn(h) {
  Object.assign(hooks, h);
}

export const CLOSE_REVOKED = 4003;
const PING_MS = 3000;
const PONG_LOSS = 3; // unanswered pings before the socket counts as dead

export let state = ''; // connecting | live | reconnecting | revoked | refused
export let reason = '';
export let ws = null;
export let attempts = 0;
export let lastClose = null; // {code, opened, at}
export const rtt = { ms: null };
let timer = 0;
let retryAt = 0;
let countdown = 0;

const keys = {
  connecting: 'console.conn.connecting',
  live: 'console.conn.live',
  reconnecting: 'console.conn.reconnecting',
  revoked: 'console.conn.revoked',
  refused: 'console.conn.refused',
};

function setState(s, why) {
  const changed = s !== state || (why || '') !== reason;
  state = s;
  reason = why || '';
  if (changed) {
    record({ kind: 'conn', state: s, reason });
    say(t(keys[s], { reason }));
  }
  paint();
  const final = s === 'revoked' || s === 'refused';
  ui.banner.hidden = !final;
  if (final) setText(ui.banner, s === 'revoked' ? t('console.banner.revoked') : t('console.conn.refused', { reason }));
  document.documentElement.dataset.state = s;
  if (changed) hooks.state(s);
}

function paint() {
  let text = t(keys[state] || keys.connecting, { reason });
  window.clearTimeout(countdown);
  if (state === 'reconnecting' && retryAt > performance.now()) {
    text = t('console.conn.retry_in', { seconds: Math.ceil((retryAt - performance.now()) / 1000) });
    countdown = window.setTimeout(paint, 250);
  }
  setText(ui.connText, text);
  ui.conn.dataset.state = state;
}

export function connect() {
  window.clearTimeout(timer);
  retryAt = 0;
  if (state === 'revoked' || state === 'refused' || (ws && ws.readyState <= 1)) return;
  let sock;
  try {
    sock = new WebSocket(wsURL(config.ws));
  } catch (e) {
    setState('refused', t('console.error.unsupported'));
    return;
  }
  ws = sock;
  let opened = false;
  sock.addEventListener('open', () => {
    if (ws !== sock) return;
    opened = true;
    startPing();
  });
  sock.addEventListener('message', (ev) => {
    if (ws === sock && typeof ev.data === 'string') hooks.message(ev.data);
  });
  sock.addEventListener('close', (ev) => {
    if (ws === sock) dropped(sock, ev.code, opened);
  });
  if (state !== 'reconnecting') setState('connecting');
}

// welcomed notes the server's welcome: the console is live.
export function welcomed() {
  attempts = 0;
  lastClose = null;
  setState('live');
}

async function dropped(sock, code, opened) {
  ws = null;
  stopPing();
  hooks.dropped();
  lastClose = { code, opened, at: Math.round(performance.now()) };
  try {
    sock.close();
  } catch (e) {
    // already closed
  }
  if (code === CLOSE_REVOKED) {
    setState('revoked');
    return;
  }
  if (!opened) {
    // A refused upgrade looks like any network failure to a WebSocket;
    // ask the same URL over plain HTTP to tell "not allowed" from "down".
    const st = await probeStatus();
    if (st === 401 || st === 403 || st === 404) {
      setState('refused', t(st === 404 ? 'console.error.not_found' : st === 403 ? 'console.error.forbidden' : 'console.error.unauthorized'));
      return;
    }
  }
  attempts++;
  const delay = backoff(attempts, 15000);
  retryAt = performance.now() + delay;
  timer = window.setTimeout(connect, delay);
  setState('reconnecting');
}

async function probeStatus() {
  const u = new URL(wsURL(config.ws));
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  const ctl = new AbortController();
  const tm = window.setTimeout(() => ctl.abort(), 5000);
  try {
    const res = await fetch(u.href, { cache: 'no-store', credentials: 'same-origin', signal: ctl.signal });
    return res.status;
  } catch (e) {
    return 0;
  } finally {
    window.clearTimeout(tm);
  }
}

// onlineAgain reconnects at once when the network comes back.
export function onlineAgain() {
  if (!ws && state === 'reconnecting') connect();
}

export function send(msg) {
  if (!ws || ws.readyState !== 1) return false;
  try {
    ws.send(JSON.stringify(msg));
    return true;
  } catch (e) {
    return false;
  }
}

export function close() {
  if (ws) ws.close(1000);
}

// ---- ping: the round trip, and a dead socket found --------------------------------

let pingTimer = 0;
let unanswered = 0;

function startPing() {
  stopPing();
  unanswered = 0;
  pingTimer = window.setInterval(() => {
    if (unanswered >= PONG_LOSS && ws) {
      // A half-open connection can stay "open" for minutes: end it here.
      dropped(ws, 4000, true);
      return;
    }
    unanswered++;
    send({ type: 'ping', t: Math.round(performance.now() * 1000) / 1000 });
  }, PING_MS);
}

function stopPing() {
  window.clearInterval(pingTimer);
  pingTimer = 0;
}

export function onPong(m) {
  unanswered = 0;
  const sent = Number(m.t);
  if (Number.isFinite(sent) && performance.now() >= sent) rtt.ms = Math.round(performance.now() - sent);
}
