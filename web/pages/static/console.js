// Producer console: the event's status (five times a second), booth signals
// and a monitor peer over one WebSocket (docs/console-protocol.md); the
// producer's controls through the JSON API with the same token. Every
// visible string comes from the message catalog the server embeds.
//
// This module starts the page and wires its parts, which live in console/
// and import one another only downwards, never in a cycle:
//   page      elements, messages, announcements, formats (imports nothing here)
//   state     what the server says: welcome, latest status (page)
//   api       the producer API with the token (page)
//   conn      WebSocket, reconnection, ping (page)
//   audio     AudioContext, monitor playback and level, alert beeps (page)
//   kv        lists of facts (nothing)
//   monitor   the monitor peer and what is heard (audio, conn, page)
//   cards     painting the language cards (audio, page)
//   topbar    floor and latency summary (audio, page)
//   alerts    booth traffic, replies, notices (api, audio, page)
//   detail    one language's controls and facts (alerts, api, cards, kv, monitor, page, state)
//   tokens    the tokens dialog (api, page, state)
//   glossary  the event's vocabulary for the recognizers (api, page)
//   pushes    the pushes to platforms, started and stopped (api, kv, page)
//   controls  card and top-bar buttons (audio, detail, monitor, page)
//   protocol  messages from the server (alerts, cards, conn, detail, monitor, page, pushes, state, topbar)
//   hook      window.tolkConsole for the browser tests
// What the connection hands up (a message, a drop, a state) is wired here.

import { bindNotice } from './console/alerts.js';
import { unlock } from './console/audio.js';
import { close, connect, onlineAgain, wireConn } from './console/conn.js';
import { bindControls } from './console/controls.js';
import { bindDetail } from './console/detail.js';
import { bindGlossary } from './console/glossary.js';
import { expose } from './console/hook.js';
import { closePeer } from './console/monitor.js';
import { checkStale, onMessage } from './console/protocol.js';
import { bindTokens, endTokens } from './console/tokens.js';

wireConn({
  message: onMessage,
  dropped: closePeer,
  state: (s) => {
    checkStale();
    if (s === 'revoked' || s === 'refused') endTokens();
  },
});

bindControls();
bindDetail();
bindNotice();
bindTokens();
bindGlossary();

// Browsers start sound only after a gesture: any press on the page will do.
document.addEventListener('pointerdown', unlock, true);
document.addEventListener('keydown', unlock, true);
window.addEventListener('online', onlineAgain);
window.addEventListener('pagehide', () => {
  close();
  closePeer();
});
window.setInterval(checkStale, 1000);

unlock();
connect();
expose();
document.documentElement.dataset.ready = 'true';
