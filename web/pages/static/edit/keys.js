// The keyboard shortcuts (the table is the server's, pages.Shortcuts, also
// listed in the help dialog): Alt with a letter or a sign, so that they work
// in the text and time fields too. The fields' own keys (Ctrl+Enter, Esc,
// the arrows in a time field) are the editor's.

import { nudge } from './editor.js';
import { openHistory } from './history.js';
import { move, nextDoubtful, playCue, selectedCue } from './list.js';
import { add, atPlayhead, merge, split, toggleReviewed, undoLast } from './ops.js';
import { player, position, seek, toggle } from './player.js';
import { record, shortcuts, ui } from './page.js';

const STEP = 2; // seconds, Alt+J and Alt+L

const actions = {
  play: toggle,
  back: () => seek(position() - STEP),
  forward: () => seek(position() + STEP),
  play_cue: () => playCue(selectedCue()),
  prev: () => move(-1, { focus: !ui.editor.contains(document.activeElement) }),
  next: () => move(1, { focus: !ui.editor.contains(document.activeElement) }),
  next_doubtful: () => nextDoubtful(1),
  prev_doubtful: () => nextDoubtful(-1),
  start_here: () => atPlayhead('start'),
  end_here: () => atPlayhead('end'),
  start_earlier: () => nudge('start', -100),
  start_later: () => nudge('start', 100),
  end_earlier: () => nudge('end', -100),
  end_later: () => nudge('end', 100),
  split,
  merge,
  reviewed: toggleReviewed,
  add,
  undo: undoLast,
  find: () => {
    ui.find.focus();
    ui.find.select();
  },
  help: openHelp,
};

let back = null; // where the focus was before the help opened

export function openHelp() {
  if (ui.help.open) return;
  back = document.activeElement;
  ui.help.showModal();
}

function onKey(e) {
  if (e.defaultPrevented || e.repeat || e.metaKey) return;
  if (ui.help.open || ui.history.open) return; // a dialog has the keyboard
  const s = shortcuts.find((k) => !k.field && k.code === e.code && !!k.alt === e.altKey && !!k.shift === e.shiftKey && !!k.ctrl === e.ctrlKey);
  if (!s || !actions[s.action]) return;
  e.preventDefault();
  e.stopPropagation();
  record({ kind: 'key', action: s.action, player: !!player.el });
  actions[s.action]();
}

export function startKeys() {
  document.addEventListener('keydown', onKey);
  ui.helpOpen.addEventListener('click', openHelp);
  ui.help.addEventListener('close', () => {
    (back && document.contains(back) ? back : ui.helpOpen).focus();
    back = null;
  });
  ui.play.addEventListener('click', toggle);
  ui.back.addEventListener('click', () => seek(position() - STEP));
  ui.forward.addEventListener('click', () => seek(position() + STEP));
}
