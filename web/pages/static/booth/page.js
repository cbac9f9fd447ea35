// The booth page itself: its configuration, messages and preferences, the
// elements the script drives, the live region that announces changes, and
// the history the browser tests read.

import { readJSON, storage, translator } from '../shared/page.js';

export const $ = (id) => document.getElementById(id);
export const config = readJSON('tolk-config') || {};
export const t = translator(readJSON('tolk-messages') || {});
export const store = storage('tolk.booth.');

export const ui = {
  conn: $('conn'),
  connText: $('conn-text'),
  rtt: $('rtt'),
  floorDelay: $('floor-delay'),
  reconnect: $('reconnect'),
  revokedNotice: $('revoked-notice'),
  audioNotice: $('audio-notice'),
  audioStart: $('audio-start'),
  micNotice: $('mic-notice'),
  micError: $('mic-error'),
  micRetry: $('mic-retry'),
  warning: $('warning'),
  mutedBanner: $('muted-banner'),
  producerBox: $('producer-box'),
  producerLog: $('producer-log'),
  onair: $('onair'),
  onairText: $('onair-text'),
  onairWho: $('onair-who'),
  mic: $('mic'),
  micBadge: $('mic-badge'),
  cough: $('cough'),
  handover: $('handover'),
  accept: $('accept'),
  cancel: $('cancel'),
  take: $('take'),
  handoverStatus: $('handover-status'),
  slowDown: $('slow-down'),
  slowDownStatus: $('slow-down-status'),
  refused: $('refused'),
  input: $('input'),
  volInput: $('vol-input'),
  volInputValue: $('vol-input-value'),
  volPartner: $('vol-partner'),
  volPartnerValue: $('vol-partner-value'),
  members: $('members'),
  membersNone: $('members-none'),
  chatLog: $('chat-log'),
  chatForm: $('chat-form'),
  chatInput: $('chat-input'),
  chatStatus: $('chat-status'),
  producerForm: $('producer-form'),
  producerInput: $('producer-input'),
  producerStatus: $('producer-status'),
  announce: $('announce'),
};

export const STREAMS = ['floor', 'relay', 'partner'];
export const MAX_TEXT = 500;
export const PING_MS = 2000;
export const PONG_LOSS = 3; // unanswered pings before the socket counts as dead

// ---- announcements --------------------------------------------------------
// One polite live region for every change of state. Changes made in the
// same moment are read as one sentence; a repeated sentence is read again.

let pendingSay = [];
let sayTimer = 0;

export function say(text) {
  if (!text) return;
  pendingSay.push(text);
  if (sayTimer) return;
  sayTimer = window.setTimeout(() => {
    sayTimer = 0;
    const s = pendingSay.join(' ');
    pendingSay = [];
    if (ui.announce.textContent === s) {
      ui.announce.textContent = '';
      window.setTimeout(() => (ui.announce.textContent = s), 60);
    } else {
      ui.announce.textContent = s;
    }
  }, 80);
}

export function setText(el, s) {
  if (el && el.textContent !== s) el.textContent = s;
}

// ---- history (for tests and diagnosis) -------------------------------------

export const history = [];
export function record(entry) {
  entry.at = Math.round(performance.now());
  history.push(entry);
  if (history.length > 500) history.shift();
}

// showStatus writes a transient line that clears itself after a while.
export function showStatus(el, s, ms) {
  setText(el, s);
  window.clearTimeout(el._timer);
  el._timer = window.setTimeout(() => setText(el, ''), ms || 8000);
}

// clockTime is a time of day as hours and minutes in the page's locale.
const timeFmt = (() => {
  try {
    return new Intl.DateTimeFormat(config.locale || undefined, { hour: '2-digit', minute: '2-digit' });
  } catch (e) {
    return null;
  }
})();
export const clockTime = (d) => (timeFmt ? timeFmt.format(d) : d.toISOString().slice(11, 16));

export const idOf = (x) => (x === null || x === undefined ? null : String(x));

// Names are isolated from the sentence around them, so that a Latin name
// in an Arabic sentence (or the reverse) keeps both in order.
export const iso = (s) => '\u2068' + s + '\u2069';

// copy is a deep copy of plain data, for the test hook.
export const copy = (x) => JSON.parse(JSON.stringify(x));
