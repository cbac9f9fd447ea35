// Interpreter booth: one WebSocket to the server (docs/booth-protocol.md) for
// the booth's state, chat and signals, and one RTCPeerConnection for audio:
// the server offers floor, relay and partner streams and receives the
// interpreter's microphone. The microphone goes out raw (no echo
// cancellation, noise suppression or gain control); what the interpreter
// hears runs through Web Audio: one gain per source for the sliders and a
// limiter that protects the ears. Every visible string comes from the message
// catalog the server embeds in the page.
//
// This module starts the page and wires its parts, which live in booth/ and
// import one another only downwards, never in a cycle:
//   page       elements, messages, announcements, history (imports nothing here)
//   state      the booth as the server tells it (page)
//   captions   the floor's captions (page)
//   audio      graph, meters, volumes (page, state)
//   conn       WebSocket, reconnection and ping (page)
//   mic        the microphone and the cough mute (audio, conn, page, state)
//   media      WebRTC (audio, conn, mic, page)
//   render     painting the booth (audio, conn, mic, page, state)
//   notices    the producer's messages to the booth, with a chime (audio, page)
//   chat       chat, messages to the producer, slow-down (conn, page, state)
//   stats      the audio connection's statistics (conn, media)
//   latency    the server's clock, the floor's delay and its report (audio, conn, media, page)
//   controls   the buttons and the cough (conn, mic, page, render, state)
//   protocol   messages from the server (chat, conn, latency, media, mic, notices, page, render, state)
//   keys       shortcuts (controls)
//   hook       window.tolkBooth for the browser tests (reads most of the above)
// What a lower part hands up (conn: a message, a drop, a lost connection, a
// ping, a refreshed state, the end of the session; mic: a new track, a
// repaint) is wired
// here, with wireConn and wireMic, before anything starts. The ping (every
// 2 s) also measures the floor's delay; a revoked session lets go of the
// microphone.

import { bindVolumes, ensureGraph, resumeAudio } from './booth/audio.js';
import { startFloorCaptions } from './booth/captions.js';
import { bindChat } from './booth/chat.js';
import { connect, markUnsupported, onlineAgain, paintRTT, refreshConn, wireConn, ws } from './booth/conn.js';
import { bindControls } from './booth/controls.js';
import { expose } from './booth/hook.js';
import { bindKeys } from './booth/keys.js';
import { clearFloorDelay, measureFloor } from './booth/latency.js';
import { closeMedia, media, useMicTrack } from './booth/media.js';
import { ensureMic, releaseMic, wireMic } from './booth/mic.js';
import { ui } from './booth/page.js';
import { onMessage } from './booth/protocol.js';
import { fillInputs, paintBooth, paintControls } from './booth/render.js';
import { connectionLost } from './booth/state.js';
import { pollStats } from './booth/stats.js';

wireConn({
  message: onMessage,
  dropped: () => {
    closeMedia();
    clearFloorDelay();
  },
  ping: () => {
    pollStats();
    measureFloor();
  },
  refreshed: paintControls,
  mediaState: () => (media ? media.state : null),
  over: releaseMic,
  lost: connectionLost,
});
wireMic({ trackChanged: useMicTrack, paint: paintControls });

bindChat();
bindControls();
bindKeys();
bindVolumes();

ui.audioStart.addEventListener('click', resumeAudio);
ui.micRetry.addEventListener('click', () => {
  ensureGraph();
  resumeAudio();
  ensureMic(true);
});
// Browsers start sound only after a gesture: any press on the page will do.
document.addEventListener('pointerdown', resumeAudio, true);
document.addEventListener('keydown', resumeAudio, true);
window.addEventListener('online', onlineAgain);
window.addEventListener('pagehide', () => {
  if (ws) ws.close(1000);
  closeMedia();
});

if (!window.RTCPeerConnection || !window.WebSocket) markUnsupported();
fillInputs();
paintBooth();
paintRTT();
ensureGraph();
ensureMic(false);
connect();
refreshConn();
startFloorCaptions();
expose();
document.documentElement.dataset.ready = 'true';
