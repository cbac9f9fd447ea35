// The booth's connection: its state as the interpreter sees it, the
// WebSocket to the server (docs/booth-protocol.md) with its reconnection,
// and the ping that measures the round trip and finds a dead socket.
//
// It is the transport under the booth's features and imports none of them:
// what it hands up (messages, a drop, each ping, a refreshed state) and the
// audio connection's state it reads come in through wireConn.

import { backoff, wsURL } from '../shared/net.js';
import { PING_MS, PONG_LOSS, config, record, say, setText, t, ui } from './page.js';

// ---- what the connection hands up ------------------------------------------------
// booth.js wires these before the first connect: message (the data of each
// message from the server), dropped (the socket ended: close the audio),
// ping (each ping sent: poll the statistics), refreshed (the state was
// refreshed: repaint what depends on it), mediaState (the audio
// connection's state, null without one), over (the session ended for
// good: the token was revoked) and lost (the socket ended and the page
// tries again: the connection was lost, not refused or replaced).

const hooks = {
  message: () => {},
  dropped: () => {},
  lost: () => {},
  ping: () => {},
  refreshed: () => {},
  mediaState: () => null,
  over: () => {},
};

export function wireConn(h) {
  Object.assign(hooks, h);
}

// ---- connection state --------------------------------------------------------
// connecting → connected (socket welcomed and audio flowing) → reconnecting
// (socket or audio lost, trying again) → connected …; replaced and error
// are final until the interpreter asks again; revoked (the producer took the
// token back, close code 4003) is final: a new connection would be refused.

export let conn = '';
export let connReason = '';
let everConnected = false;
export let fatal = ''; // reason of a refusal that retrying will not heal
export let replaced = false;
export let revoked = false;
export let sockets = 0; // WebSockets opened by this page
export let ws = null;
export let wsOpen = false;
export let welcomed = false;
export let wsAttempts = 0;
let wsTimer = 0;
export let retryAt = 0;
export let lastClose = null;
let countdownTimer = 0;

const connKeys = {
  connecting: 'booth.conn.connecting',
  connected: 'booth.conn.connected',
  reconnecting: 'booth.conn.reconnecting',
  replaced: 'booth.conn.replaced',
  revoked: 'booth.conn.revoked',
  error: 'booth.conn.error',
};

function deriveConn() {
  if (revoked) return ['revoked', ''];
  if (fatal) return ['error', fatal];
  if (replaced) return ['replaced', ''];
  const mediaState = hooks.mediaState();
  if (wsOpen && welcomed && mediaState === 'connected') return ['connected', ''];
  let reason = '';
  if (!wsOpen) reason = lastClose ? t('booth.error.network') : '';
  else if (mediaState === 'failed' || mediaState === 'disconnected') reason = t('booth.error.media');
  return [everConnected || wsAttempts > 0 ? 'reconnecting' : 'connecting', reason];
}

export function refreshConn() {
  const [s, reason] = deriveConn();
  if (s === 'connected') everConnected = true;
  const changed = s !== conn || reason !== connReason;
  // A new reason within the same state (the socket is back, the audio not
  // yet) is shown, not said again.
  const said = s !== conn || (s === 'error' && reason !== connReason);
  conn = s;
  connReason = reason;
  if (changed) record({ kind: 'conn', state: s, reason });
  if (said) {
    if (s === 'error') say(t('booth.conn.error', { reason }));
    else if (s === 'revoked') say(t('booth.revoked.detail'));
    else say(t(connKeys[s]));
  }
  paintConn();
  ui.reconnect.hidden = s !== 'replaced' && s !== 'error';
  ui.revokedNotice.hidden = s !== 'revoked';
  document.documentElement.dataset.state = s;
  hooks.refreshed();
}

function paintConn() {
  let text;
  if (conn === 'error') text = t('booth.conn.error', { reason: connReason });
  else if (conn === 'reconnecting' && !wsOpen && retryAt > performance.now()) {
    text = t('booth.conn.retry_in', { seconds: Math.ceil((retryAt - performance.now()) / 1000) });
  } else text = t(connKeys[conn] || connKeys.connecting);
  setText(ui.connText, text);
  ui.conn.dataset.state = conn;
  window.clearTimeout(countdownTimer);
  if (conn === 'reconnecting' && !wsOpen && retryAt > performance.now()) {
    countdownTimer = window.setTimeout(paintConn, 250);
  }
}

// ---- WebSocket --------------------------------------------------------------------

// probeURL is the socket's URL over HTTP, to learn why an upgrade failed.
function probeURL() {
  const u = new URL(wsURL(config.ws));
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  return u.href;
}

// HANDSHAKE_MS bounds the WebSocket's opening handshake.
const HANDSHAKE_MS = 10000;

export function connect() {
  window.clearTimeout(wsTimer);
  retryAt = 0;
  if (revoked || fatal || replaced || (ws && ws.readyState <= 1)) return;
  let sock;
  try {
    sock = new WebSocket(wsURL(config.ws));
  } catch (e) {
    fatal = t('booth.error.unsupported');
    refreshConn();
    return;
  }
  ws = sock;
  sockets++;
  let opened = false;
  // A handshake that never ends (a half-open connection, a stalled proxy,
  // a server still starting) would otherwise hold the page in "connecting"
  // with no retry: give it up and reconnect as after any failure.
  const handshake = window.setTimeout(() => {
    if (ws === sock && !opened) dropped(sock, 1006, false);
  }, HANDSHAKE_MS);
  sock.addEventListener('open', () => {
    window.clearTimeout(handshake);
    if (ws !== sock) return;
    opened = true;
    wsOpen = true;
    startPing();
    refreshConn();
  });
  sock.addEventListener('message', (ev) => {
    if (ws === sock) hooks.message(ev.data);
  });
  sock.addEventListener('close', (ev) => {
    window.clearTimeout(handshake);
    if (ws === sock) dropped(sock, ev.code, opened);
  });
  refreshConn();
}

// dropped handles the end of a socket: ours, the server's, or a dead one.
export async function dropped(sock, code, opened) {
  ws = null;
  wsOpen = false;
  welcomed = false;
  stopPing();
  hooks.dropped();
  lastClose = { code, opened, at: Math.round(performance.now()) };
  try {
    sock.close();
  } catch (e) {
    // already closed
  }
  if (code === 4003) {
    revoked = true;
    hooks.over();
    refreshConn();
    return;
  }
  if (code === 4001 || replaced) {
    replaced = true;
    refreshConn();
    return;
  }
  // An application close in the 44xx range says the token was refused
  // while connected (revoked, or the booth removed).
  if (code === 4401 || code === 4403 || code === 4404) {
    fatal = refusalReason(code - 4000);
    refreshConn();
    return;
  }
  if (!opened) {
    // A refused upgrade looks like any network failure to a WebSocket;
    // ask the same URL over plain HTTP to tell "not allowed" from "down".
    const status = await probeStatus();
    if (status === 401 || status === 403 || status === 404) {
      fatal = refusalReason(status);
      refreshConn();
      return;
    }
  }
  scheduleReconnect();
}

function refusalReason(status) {
  if (status === 401) return t('booth.error.unauthorized');
  if (status === 403) return t('booth.error.forbidden');
  return t('booth.error.not_found');
}

async function probeStatus() {
  const ctl = new AbortController();
  const timer = window.setTimeout(() => ctl.abort(), 5000);
  try {
    const res = await fetch(probeURL(), { cache: 'no-store', credentials: 'same-origin', signal: ctl.signal });
    return res.status;
  } catch (e) {
    return 0;
  } finally {
    window.clearTimeout(timer);
  }
}

function scheduleReconnect() {
  hooks.lost();
  window.clearTimeout(wsTimer);
  wsAttempts++;
  const delay = backoff(wsAttempts, 15000);
  retryAt = performance.now() + delay;
  wsTimer = window.setTimeout(connect, delay);
  refreshConn();
}

// reconnectNow skips the wait (network back, or the interpreter asked).
export function reconnectNow() {
  if (ws || revoked) return;
  fatal = '';
  replaced = false;
  wsAttempts = Math.max(wsAttempts, 1);
  connect();
}

// onlineAgain reconnects at once when the network comes back.
export function onlineAgain() {
  if (!ws && !fatal && !replaced && !revoked) {
    wsAttempts = Math.max(wsAttempts, 1);
    connect();
  }
}

// welcome notes the server's welcome: the session is up.
export function welcome() {
  welcomed = true;
  wsAttempts = 0;
  lastClose = null;
}

// markReplaced notes that another page took this booth seat.
export function markReplaced() {
  replaced = true;
  refreshConn();
}

// markUnsupported notes a browser without WebRTC or WebSocket.
export function markUnsupported() {
  fatal = t('booth.error.unsupported');
}

export function send(msg) {
  if (!ws || !wsOpen || ws.readyState !== 1) return false;
  try {
    ws.send(JSON.stringify(msg));
    return true;
  } catch (e) {
    return false;
  }
}

// ---- ping ------------------------------------------------------------------------

let pingTimer = 0;
let unanswered = 0;
export const rtt = { ws: null, media: null };

function startPing() {
  stopPing();
  unanswered = 0;
  const tick = () => {
    if (unanswered >= PONG_LOSS && ws) {
      // A half-open connection can stay "open" for minutes: end it here.
      const sock = ws;
      dropped(sock, 4000, true);
      return;
    }
    unanswered++;
    send({ type: 'ping', t: Math.round(performance.now() * 1000) / 1000 });
    hooks.ping();
  };
  tick();
  pingTimer = window.setInterval(tick, PING_MS);
}

function stopPing() {
  window.clearInterval(pingTimer);
  pingTimer = 0;
}

export function onPong(m) {
  unanswered = 0;
  const sent = Number(m.t);
  if (!Number.isFinite(sent)) return;
  const d = performance.now() - sent;
  if (d >= 0 && d < 60000) rtt.ws = d;
  paintRTT();
}

export function paintRTT() {
  const ms = (x) => (x === null ? '–' : String(Math.round(x)));
  const s = rtt.ws === null && rtt.media === null ? t('booth.rtt.unknown') : t('booth.rtt.value', { ws: ms(rtt.ws), media: ms(rtt.media) });
  setText(ui.rtt, s);
}
