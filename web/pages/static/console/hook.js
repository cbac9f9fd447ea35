// The test hook: read-only facts for the browser tests (window.tolkConsole);
// the page never relies on them.

import { alertsShown } from './alerts.js';
import { audioState, beeps, level } from './audio.js';
import { attempts, lastClose, reason, state } from './conn.js';
import { openTag } from './detail.js';
import { listening, peerState, wanted } from './monitor.js';
import { copy, history } from './page.js';
import { session, status, statusCount } from './state.js';
import { revocations, tokens } from './tokens.js';

export function expose() {
  window.tolkConsole = Object.freeze({
    get state() {
      return state;
    },
    get conn() {
      return { state, reason, attempts, lastClose: lastClose ? copy(lastClose) : null };
    },
    get status() {
      return copy(status);
    },
    get statusCount() {
      return statusCount;
    },
    get you() {
      return copy(session.you);
    },
    get listening() {
      return listening;
    },
    get wanted() {
      return wanted;
    },
    get monitor() {
      return { peer: peerState, audio: audioState() };
    },
    // monitorLevel is the monitor track's level (an AnalyserNode), dBFS.
    monitorLevel: () => level(),
    alerts: () => alertsShown(),
    beeps: () => copy(beeps),
    tokens: () => copy(tokens),
    revocations: () => copy(revocations),
    get detail() {
      return openTag;
    },
    history: () => copy(history),
  });
}
