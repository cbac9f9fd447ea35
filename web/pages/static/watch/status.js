// The state line: what the player is doing, written only when it changes so
// that screen readers announce each change once; and its history for the
// browser tests.

import { langName, t, ui } from './page.js';

// The language a live state names: the playing session's, else the one
// chosen. The session knows it; watch.js wires it in (statusLang), since
// the session sits above this module.
let liveLang = () => '';

export function statusLang(fn) {
  liveLang = fn;
}

// What follows the state (the players' report) hears every setState, also
// one that repeats the state (a live player that switched language); wired
// by watch.js.
let onChange = () => {};

export function statusChanged(fn) {
  onChange = fn;
}

const stateKeys = {
  idle: 'watch.state.idle',
  connecting: 'watch.state.connecting',
  live: 'watch.state.live',
  reconnecting: 'watch.state.reconnecting',
  ended: 'watch.state.ended',
  error: 'watch.state.error',
};
export let state = 'idle';
export let stateReason = '';
export const history = [];

export function setState(s, reason) {
  const changed = s !== state || (reason || '') !== stateReason || !history.length;
  state = s;
  stateReason = reason || '';
  if (changed) {
    history.push({ state: s, reason: stateReason, at: Math.round(performance.now()) });
    if (history.length > 200) history.shift();
  }
  let text = t(stateKeys[s]);
  if (s === 'live') text = t('watch.state.live', { lang: langName(liveLang()) });
  if (s === 'error') text = t('watch.state.error', { reason: stateReason });
  // Only a real change is written, so screen readers announce each once.
  if (ui.state.textContent !== text) ui.state.textContent = text;
  ui.state.dataset.state = s;
  document.documentElement.dataset.state = s;
  onChange(s);
}
