// Messages from the server (docs/console-protocol.md), each handed to the
// part that owns it; and the staleness of what the page shows.

import { onSignal } from './alerts.js';
import { paintCaptionOnly } from './captiononly.js';
import { paintCards } from './cards.js';
import { onPong, state as connState, welcomed } from './conn.js';
import { paintDetail } from './detail.js';
import { onListening, onOffer, onRefused } from './monitor.js';
import { record, setData, ui } from './page.js';
import { paintPushes } from './pushes.js';
import { applyStatus, applyWelcome, statusAt } from './state.js';
import { paintTop } from './topbar.js';

export function onMessage(data) {
  let m;
  try {
    m = JSON.parse(data);
  } catch (e) {
    return;
  }
  if (!m || typeof m !== 'object') return;
  switch (m.type) {
    case 'welcome':
      applyWelcome(m);
      welcomed();
      break;
    case 'offer':
      if (typeof m.sdp === 'string') onOffer(m.sdp);
      break;
    case 'status':
      if (applyStatus(m.status)) {
        paintTop(m.status);
        paintCards(m.status);
        paintPushes(m.status);
        paintCaptionOnly(m.status);
        paintDetail(false);
        checkStale();
      }
      break;
    case 'signal':
      onSignal(m);
      break;
    case 'listening':
      onListening(m);
      break;
    case 'pong':
      onPong(m);
      break;
    case 'error':
      record({ kind: 'error', code: m.code, message: m.message });
      onRefused();
      break;
  }
}

// checkStale marks the grid stale when the status stops coming: the values
// on it may be out of date.
export function checkStale() {
  const stale = connState !== 'live' || !statusAt || performance.now() - statusAt > 2000;
  setData(ui.grid, 'stale', String(stale));
}
