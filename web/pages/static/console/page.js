// The console page itself: its configuration, messages and preferences, the
// elements the script drives, the live region that announces changes, number
// formats, and the history the browser tests read.

import { readJSON, storage, translator } from '../shared/page.js';

export const $ = (id) => document.getElementById(id);
export const config = readJSON('tolk-config') || {};
export const t = translator(readJSON('tolk-messages') || {});
export const store = storage('tolk.console.');

export const renditions = Array.isArray(config.renditions) ? config.renditions : [];

export const ui = {
  root: $('console'),
  conn: $('conn'),
  connText: $('conn-text'),
  banner: $('banner'),
  grid: $('grid'),
  floorState: $('floor-state'),
  floorSource: $('floor-source'),
  floorMeter: $('floor-meter'),
  floorMeterCover: $('floor-meter-cover'),
  floorLufs: $('floor-lufs'),
  latWebRTC: $('lat-webrtc'),
  latHLS: $('lat-hls'),
  recState: $('rec-state'),
  monitorText: $('monitor-text'),
  monitorMeter: $('monitor-meter'),
  monitorMeterCover: $('monitor-meter-cover'),
  monitorVolume: $('monitor-volume'),
  monitorStop: $('monitor-stop'),
  tokensOpen: $('tokens-open'),
  sound: $('sound'),
  soundHint: $('sound-hint'),
  alerts: $('alerts'),
  alertsNone: $('alerts-none'),
  noticeForm: $('notice-form'),
  noticeInput: $('notice-input'),
  noticeStatus: $('notice-status'),
  announce: $('announce'),
};

export const MAX_TEXT = 500;

// ---- announcements ------------------------------------------------------------
// One polite live region for changes of state. Changes made in the same
// moment are read as one sentence; a repeated sentence is read again.

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

// setClamped sets a text the card cuts to its lines, and keeps the whole of
// it as the element's tooltip.
export function setClamped(el, s) {
  setText(el, s);
  if (el && el.title !== s) el.title = s;
}

export function setHidden(el, hidden) {
  if (el && el.hidden !== hidden) el.hidden = hidden;
}

export function setData(el, key, v) {
  if (el && el.dataset[key] !== v) el.dataset[key] = v;
}

// showStatus writes a transient line that clears itself after a while.
export function showStatus(el, s, ms) {
  setText(el, s);
  window.clearTimeout(el._timer);
  if (s) el._timer = window.setTimeout(() => setText(el, ''), ms || 8000);
}

// ---- history (for tests and diagnosis) -----------------------------------------

export const history = [];
export function record(entry) {
  entry.at = Math.round(performance.now());
  history.push(entry);
  if (history.length > 500) history.shift();
}

// copy is a deep copy of plain data, for the test hook.
export const copy = (x) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));

// Names are isolated from the sentence around them, so that a Latin name
// in an Arabic sentence (or the reverse) keeps both in order.
export const iso = (s) => '\u2068' + s + '\u2069';

// ---- numbers and times in the page's locale ----------------------------------------

function numberFormat(digits) {
  try {
    return new Intl.NumberFormat(config.locale || undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  } catch (e) {
    return { format: (x) => x.toFixed(digits) };
  }
}
const fmt0 = numberFormat(0);
const fmt1 = numberFormat(1);

const finite = (x) => typeof x === 'number' && Number.isFinite(x);

// num formats a number with 0 or 1 decimals, or the "none" mark.
export const num = (x, digits) => (finite(x) ? (digits ? fmt1 : fmt0).format(x) : t('console.none'));
// Levels below -80 dBFS read as silence (the meters' scale ends at -60).
export const db = (x) => (finite(x) && x > -80 ? t('console.unit.db_value', { v: fmt1.format(x) }) : t('console.meter.silent'));
export const ms = (x) => (finite(x) ? t('console.unit.ms_value', { v: fmt0.format(x) }) : t('console.none'));
export const pct = (x) => (finite(x) ? t('console.unit.pct_value', { v: fmt1.format(x * 100) }) : t('console.none'));
export { finite };

const timeFmt = (() => {
  try {
    return new Intl.DateTimeFormat(config.locale || undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  } catch (e) {
    return null;
  }
})();
export const clockTime = (d) => (timeFmt ? timeFmt.format(d) : d.toISOString().slice(11, 19));

const dateFmt = (() => {
  try {
    return new Intl.DateTimeFormat(config.locale || undefined, { dateStyle: 'short', timeStyle: 'short' });
  } catch (e) {
    return null;
  }
})();
export const dateTime = (d) => (dateFmt ? dateFmt.format(d) : d.toISOString().slice(0, 16).replace('T', ' '));

// ---- languages ----------------------------------------------------------------------

// nameOf is a language's name from the page's configuration.
export function nameOf(tag) {
  const r = renditions.find((x) => x.tag === tag);
  return r ? r.name || tag : tag;
}

// cardOf is the index of a language's card (its element ids start "c{i}-").
export const cardOf = (tag) => renditions.findIndex((x) => x.tag === tag);

// The words for states the status names, by state.
export const FLOOR_KEYS = { live: 'console.floor.live', missing: 'console.floor.missing', ended: 'console.floor.ended' };
export const floorWord = (s) => t(FLOOR_KEYS[s] || FLOOR_KEYS.missing);
export const CAPTION_KEYS = { none: 'console.captions.none', live: 'console.captions.live', stopped: 'console.captions.stopped', error: 'console.captions.error' };
export const LINK_KEYS = { good: 'console.link.good', fair: 'console.link.fair', poor: 'console.link.poor', unknown: 'console.link.unknown' };
export const QUALITY_KEYS = { silent: 'console.quality.silent', good: 'console.quality.good', fair: 'console.quality.fair', poor: 'console.quality.poor' };
export const qualityWord = (v) => t(QUALITY_KEYS[v] || QUALITY_KEYS.silent);
