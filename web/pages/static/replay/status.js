// The state line: what the player does, written only when it changes so
// that screen readers announce each change once; and its history for the
// browser tests.

import { t, ui } from '../watch/page.js';

const keys = {
  idle: 'replay.state.idle',
  loading: 'replay.state.loading',
  playing: 'replay.state.playing',
  paused: 'replay.state.paused',
  ended: 'replay.state.ended',
  error: 'replay.state.error',
};

export let state = 'idle';
export const history = [];

// setState shows state s; vars fill its message ({lang}, {position},
// {reason}).
export function setState(s, vars) {
  const text = t(keys[s], vars);
  const changed = s !== state || !ui.state || ui.state.textContent !== text;
  state = s;
  if (!changed) return;
  history.push({ state: s, text, at: Math.round(performance.now()) });
  if (history.length > 200) history.shift();
  if (!ui.state) return;
  ui.state.textContent = text;
  ui.state.dataset.state = s;
  document.documentElement.dataset.state = s;
}
