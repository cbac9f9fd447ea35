// Watch page: plays one language of a live event, at low latency over WebRTC
// (WHEP) or at scale over LL-HLS (hls.js, or the browser's own HLS player), with
// a level meter and a state line. Every visible string comes from the message
// catalog the server embeds in the page; nothing is loaded from elsewhere.
//
// This module starts the page and wires its parts, which live in watch/ and
// import one another only downwards, never in a cycle (shared helpers come
// from shared/):
//   page       elements, messages, the first choice of language and mode
//   access     a closed event's passcode form; reloading when access ends (page)
//   status     the state line (page)
//   audio      graph and meter (page)
//   session    the sessions, their retries, the Play button (audio, page, status)
//   hlsplayer  playing over LL-HLS (audio, page, session, status)
//   webrtc     playing over WebRTC (page, session, status)
//   janus      playing over WebRTC from a Janus mountpoint (page, session, status, webrtc)
//   picture    the stage that shows a session's picture; captions over it (page)
//   captions   the caption picker and view (page, session, status)
//   report     the players' report and the delay shown (audio, page, session, status)
//   controls   Play, language, mode, volume (hlsplayer, page, session, status)
//   hook       window.tolkWatch for the browser tests (audio, captions, report, session, status)
// The session starts the players, the state line names the session's
// language and each change of state reaches the report through what is wired
// here (usePlayers, statusLang, statusChanged).

import { bindAccess } from './watch/access.js';
import { startCaptions } from './watch/captions.js';
import { bindControls } from './watch/controls.js';
import { startJanus } from './watch/janus.js';
import { startHLS } from './watch/hlsplayer.js';
import { showStart } from './watch/starts.js';
import { expose } from './watch/hook.js';
import { bindPicture } from './watch/picture.js';
import { bindReport, reportState } from './watch/report.js';
import { config } from './watch/page.js';
import { playingLang, usePlayers } from './watch/session.js';
import { statusChanged, statusLang } from './watch/status.js';
import { startWebRTC } from './watch/webrtc.js';

// A closed event's page without access is its passcode form: no player.
if (!bindAccess()) {
  // Low latency plays from Janus when the event forwards there (sfu.watch).
  usePlayers({ webrtc: config.janus ? startJanus : startWebRTC, hls: startHLS });
  statusLang(playingLang);
  statusChanged(reportState);

  // The report's pagehide comes first: it sends "stopped" before the
  // controls end the session.
  bindReport();
  bindControls();
  startCaptions();
  bindPicture();
  showStart();
  expose();
}
document.documentElement.dataset.ready = 'true';
