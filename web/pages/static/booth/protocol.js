// Messages from the server (docs/booth-protocol.md), each handed to the part
// of the page it concerns.

import { onChat, onSignal } from './chat.js';
import { markReplaced, onPong, refreshConn, send, welcome } from './conn.js';
import { onPongClock } from './latency.js';
import { queueOffer } from './media.js';
import { coughHeld } from './mic.js';
import { onProducer } from './notices.js';
import { record, say, showStatus, t, ui } from './page.js';
import { fillInputs, paintBooth } from './render.js';
import { applyWelcome, me, onState } from './state.js';

export function onMessage(data) {
  if (typeof data !== 'string' || data.length > 65536) return;
  let m;
  try {
    m = JSON.parse(data);
  } catch (e) {
    return;
  }
  if (!m || typeof m !== 'object') return;
  switch (m.type) {
    case 'welcome':
      onWelcome(m);
      break;
    case 'offer':
      if (typeof m.sdp === 'string') queueOffer(m.sdp);
      break;
    case 'state':
      onState(m);
      paintBooth();
      break;
    case 'chat':
      onChat(m);
      break;
    case 'signal':
      onSignal(m);
      break;
    case 'pong':
      onPong(m);
      onPongClock(m);
      break;
    case 'producer':
      onProducer(m);
      break;
    case 'error':
      onRefused(m);
      break;
    case 'replaced':
      markReplaced();
      break;
    default:
    // A newer server may say more; what this page does not know it ignores.
  }
}

function onWelcome(m) {
  welcome();
  applyWelcome(m);
  fillInputs();
  record({ kind: 'welcome', you: me ? me.id : null });
  // A cough held across a reconnect is still held.
  if (coughHeld) send({ type: 'cough', down: true });
  refreshConn();
}

function onRefused(m) {
  const keys = {
    not_allowed: 'booth.refused.not_allowed',
    bad_state: 'booth.refused.bad_state',
    bad_message: 'booth.refused.bad_message',
  };
  const s = t(keys[m.code] || 'booth.refused.other');
  record({ kind: 'refused', code: String(m.code || '') });
  showStatus(ui.refused, s);
  say(s);
}
