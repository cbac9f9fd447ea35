// Captions of the run being played, independent of its audio language: the
// picker (Off, the run's caption languages, then its audio languages
// without captions, disabled and labelled so) and the cue at the current
// position, drawn with the watch page's caption view (announced politely,
// once per cue).

import { captionView } from '../shared/captions.js';
import { matchTag, params, store, t, ui } from '../watch/page.js';
import { activeCues, player, selectSubtitles } from './player.js';

let capView = null;
let last = '';
// shown is what was drawn, with the position it was drawn at (for tests).
export const shown = [];

function option(tag, label, disabled) {
  const o = document.createElement('option');
  o.value = tag;
  o.lang = tag;
  o.textContent = label;
  o.disabled = disabled;
  return o;
}

// captionChoice is the caption language to start a run with: the link's,
// else the viewer's last choice, if the run has it.
export function captionChoice(run) {
  const tags = run.captions.map((c) => c.tag);
  for (const w of [params.get('captions'), store.get('captions')]) {
    if (w === 'off') return '';
    const m = matchTag(w, tags);
    if (m) return m;
  }
  return '';
}

// fillCaptions builds the picker for run with want chosen.
export function fillCaptions(run, want) {
  if (!ui.captions) return;
  const tags = run.captions.map((c) => c.tag);
  const opts = [option('', t('watch.captions.off'), false)];
  for (const c of run.captions) opts.push(option(c.tag, c.name || c.tag, false));
  for (const l of run.languages) {
    if (!tags.includes(l.tag)) opts.push(option(l.tag, t('watch.captions.unavailable', { name: l.name || l.tag }), true));
  }
  ui.captions.replaceChildren(...opts);
  const none = !tags.length;
  ui.captions.hidden = none;
  if (ui.captionsLabel) ui.captionsLabel.hidden = none;
  if (ui.captionsNone) ui.captionsNone.hidden = !none;
  ui.captions.value = want;
  show(want);
}

function show(tag) {
  last = '';
  if (capView) capView.clear();
  if (!ui.captionArea) return;
  ui.captionArea.hidden = !tag;
  if (tag) ui.captionArea.setAttribute('lang', tag);
}

// startCaptions builds the view and follows the picker.
export function startCaptions() {
  capView = ui.captionArea ? captionView(ui.captionArea) : null;
  if (!ui.captions) return;
  ui.captions.addEventListener('change', () => {
    const tag = ui.captions.value;
    store.set('captions', tag || 'off');
    show(tag);
    selectSubtitles(tag);
    drawCaptions();
  });
}

// drawCaptions shows the cue at the current position; called on every
// frame while the run plays and after every seek.
export function drawCaptions() {
  if (!capView) return;
  const cues = activeCues();
  const text = cues.map((c) => c.text).join('\n');
  if (text === last) return;
  last = text;
  if (!text) {
    capView.clear();
    return;
  }
  capView.show({ type: 'cue', text, start: cues[0].start, end: cues[cues.length - 1].end });
  shown.push({ text, at: player.el ? player.el.currentTime : null });
  if (shown.length > 200) shown.shift();
}

// captionLines are the lines on screen now.
export function captionLines() {
  return capView ? capView.lines() : [];
}
