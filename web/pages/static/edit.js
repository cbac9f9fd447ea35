// Caption editor: the cues of one language beside the recording's player,
// a level strip of the audio around the playhead, and everything subtitlers
// do to cues (text, times, split, merge, shift, find and replace, reviewed
// marks, undo, versions), with the reading checks. Two editors can work at
// once: the page follows every change through the API's change feed, and a
// save against a version someone else has changed shows their text beside
// the editor's own. Every visible string comes from the message catalog the
// server embeds in the page.
//
// This module starts the page and wires its parts, which live in edit/ and
// import one another only downwards, never in a cycle:
//   page      configuration, messages, elements, events, announcements, times
//   api       the editor API with the page's token
//   checks    reading speed and line length, in words
//   model     the cues of the open language and run, the change feed
//   player    hls.js on the run's VOD, in the caption language
//   list      the rows of cues, selection and keyboard moves in the list
//   editor    the selected cue's fields, saving, conflicts
//   ops       split, merge, add, delete, undo, reviewed, playhead times
//   history   a cue's versions and restore
//   tools     find and replace, shift, exports
//   strip     the level strip, dragging cue edges
//   runs      the language and recording pickers
//   keys      the keyboard shortcuts and the help dialog
//   hook      window.tolkEdit for the browser tests

import { startEditor } from './edit/editor.js';
import { startHistory } from './edit/history.js';
import { expose } from './edit/hook.js';
import { startKeys } from './edit/keys.js';
import { startList } from './edit/list.js';
import { startOps } from './edit/ops.js';
import { startRuns } from './edit/runs.js';
import { startStrip } from './edit/strip.js';
import { startTools } from './edit/tools.js';

startList();
startEditor();
startOps();
startHistory();
startTools();
startStrip();
startKeys();
expose();
startRuns().finally(() => {
  document.documentElement.dataset.ready = 'true';
});
