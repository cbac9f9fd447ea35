// Interpreter booth: one WebSocket to the server (docs/booth-protocol.md) for
// the booth's state, chat and signals, and one RTCPeerConnection for audio:
// the server offers floor, relay and partner streams and receives the
// interpreter's microphone. The microphone goes out raw (no echo
// cancellation, noise suppression or gain control); what the interpreter
// hears runs through Web Audio: one gain per source for the sliders and a
// limiter that protects the ears. Every visible string comes from the message
// catalog the server embeds in the page.
//
// This module starts the page; its parts live in booth/: page (elements,
// messages, announcements), conn (WebSocket and ping), protocol (messages
// from the server), state (the booth as the server tells it), render, chat,
// controls, keys (shortcuts), audio (graph, meters, volumes), mic, media
// (WebRTC), stats, captions (the floor's) and hook (window.tolkBooth).

import { bindVolumes, ensureGraph, resumeAudio } from './booth/audio.js';
import { startFloorCaptions } from './booth/captions.js';
import { bindChat } from './booth/chat.js';
import { connect, markUnsupported, onlineAgain, paintRTT, refreshConn, ws } from './booth/conn.js';
import { bindControls } from './booth/controls.js';
import { expose } from './booth/hook.js';
import { bindKeys } from './booth/keys.js';
import { closeMedia } from './booth/media.js';
import { ensureMic } from './booth/mic.js';
import { ui } from './booth/page.js';
import { fillInputs, paintBooth } from './booth/render.js';

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
