// window.tolkEdit: what the browser tests read of the page. Nothing here
// changes what the page does.

import { edit } from './editor.js';
import { list } from './list.js';
import { model, runEnd, runStart } from './model.js';
import { audioTrack, player, playing, position } from './player.js';
import { runs } from './runs.js';
import { levelAt, strip } from './strip.js';
import { history } from './page.js';

export function expose() {
  window.tolkEdit = {
    history,
    get loaded() {
      return model.loaded;
    },
    lang: () => model.lang,
    run: () => (model.run ? model.run.id : null),
    runs: () => runs.list.map((r) => ({ id: r.id, duration: r.duration, live: r.live })),
    cues: () => model.cues.map((c) => ({ id: c.id, start: runStart(c), end: runEnd(c), text: c.text, version: c.version, reviewed: c.reviewed, warnings: (c.checks && c.checks.warnings) || [], confidence: c.confidence || null })),
    seq: () => model.seq,
    feedAnswers: () => model.feedAnswers,
    selected: () => list.selected,
    firstListMs: () => model.firstListMs,
    saves: () => edit.saves.slice(),
    conflict: () => (edit.conflict ? { id: edit.conflict.id, version: edit.conflict.version, text: edit.conflict.text } : null),
    conflicts: () => edit.conflicts,
    playerState: () => player.state,
    audio: audioTrack,
    position,
    playing,
    errors: () => player.errors.slice(),
    levelAt,
    levelsFetched: () => strip.fetched,
    draws: () => strip.draws,
  };
}
