// Watch page: plays one language of a live event, at low latency over WebRTC
// (WHEP) or at scale over LL-HLS (hls.js, or the browser's own HLS player), with
// a level meter and a state line. Every visible string comes from the message
// catalog the server embeds in the page; nothing is loaded from elsewhere.
//
// This module starts the page; its parts live in watch/: page (elements,
// messages, the first choice of language and mode), status (the state line),
// audio (graph and meter), session, hlsplayer, webrtc, controls, captions and
// hook (window.tolkWatch). Shared helpers come from shared/.

import { startCaptions } from './watch/captions.js';
import { bindControls } from './watch/controls.js';
import { expose } from './watch/hook.js';

bindControls();
startCaptions();
expose();
document.documentElement.dataset.ready = 'true';
