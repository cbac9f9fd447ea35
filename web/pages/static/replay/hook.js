// window.tolkReplay: what the browser tests read of the page. Nothing here
// changes what the page does.

import { measure, peakHz } from '../watch/audio.js';
import { captionLines, shown } from './captions.js';
import { audioLang, audioTracks, duration, player, position } from './player.js';
import { loaded, runs } from './runs.js';
import { history, state } from './status.js';

export function expose() {
  window.tolkReplay = {
    get state() {
      return state;
    },
    history,
    get loaded() {
      return loaded;
    },
    runs: () => runs.map((r) => ({ id: r.id, duration: r.duration, live: r.live, languages: r.languages.map((l) => l.tag) })),
    run: () => (player.run ? player.run.id : null),
    tracks: audioTracks,
    lang: audioLang,
    chosen: () => player.lang,
    captionLang: () => player.capLang,
    cues: () => (player.cues[player.capLang] || []).length,
    captions: captionLines,
    shown,
    position,
    duration,
    // bufferAhead is how far the element has buffered past the position.
    bufferAhead: () => {
      const el = player.el;
      if (!el) return 0;
      for (let i = 0; i < el.buffered.length; i++) {
        if (el.buffered.start(i) <= el.currentTime + 0.05 && el.currentTime < el.buffered.end(i)) return el.buffered.end(i) - el.currentTime;
      }
      return 0;
    },
    paused: () => !player.el || player.el.paused,
    switches: () => player.switches,
    errors: () => player.errors.slice(),
    level: measure,
    peakHz,
  };
}
