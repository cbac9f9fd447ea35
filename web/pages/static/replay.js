// Replay page: lists an event's recorded runs and plays one as HLS VOD
// (hls.js, or the browser's own HLS player), with the watch page's audio
// language and caption pickers, volume and level meter, a seek bar, skip
// buttons and keyboard shortcuts. Captions are drawn by the page, from the
// cues of the run's WebVTT renditions. Every visible string comes from the
// message catalog the server embeds in the page.
//
// This module starts the page and wires its parts, which live in replay/ and
// import one another only downwards, never in a cycle. The replay page is
// the watch page's sibling: it reuses the watch page's own modules (page:
// elements, messages, preferences; audio: graph, meter, volume; access) and
// the shared ones:
//   view      the replay page's elements and time formats (watch/page)
//   status    the state line (view)
//   player    hls.js on one run: languages, caption cues, play, seek (watch/audio, watch/access, status, view)
//   captions  the caption picker and the cues drawn (shared/captions, player)
//   runs      the list of runs (watch/access, view)
//   controls  Play, skip, seek bar, language, volume, keys (captions, player, status, view)
//   hook      window.tolkReplay for the browser tests (captions, player, runs, status)

import { startCaptions } from './replay/captions.js';
import { bindControls, showRun } from './replay/controls.js';
import { expose } from './replay/hook.js';
import { loadRuns } from './replay/runs.js';

bindControls();
startCaptions();
loadRuns(showRun);
expose();
document.documentElement.dataset.ready = 'true';
