// The player's controls: Play/Pause, back and forward 10 s, the seek bar
// (a slider: arrow keys, Page Up/Down, Home and End move it; its value is
// read out as "position of duration"), the audio language, the volume, and
// the shortcuts K (play/pause), J and L (back, forward) anywhere on the page
// but in a field.

import { applyGain, volume } from '../watch/audio.js';
import { config, matchTag, params, store, t, ui } from '../watch/page.js';
import { captionChoice, drawCaptions, fillCaptions } from './captions.js';
import { duration, load, onPlayer, pause, play, player, playing, position, seek, setLang } from './player.js';
import { setState } from './status.js';
import { clock, view, when } from './view.js';

const SKIP = 10; // seconds
let dragging = false;
let frame = 0;

function toggle() {
  if (!player.el) return;
  if (playing()) pause();
  else play();
}

function skip(by) {
  if (!player.el) return;
  seek(position() + by);
  drawCaptions();
}

// showTime writes the position on the seek bar and beside it.
function showTime() {
  const d = duration();
  const pos = position();
  const max = Math.max(0, Math.floor(d));
  if (view.seek.max !== String(max)) view.seek.max = String(max);
  if (!dragging) view.seek.value = String(Math.min(max, Math.floor(pos)));
  const shown = dragging ? Number(view.seek.value) : pos;
  const text = t('replay.seek.value', { position: clock(shown), duration: clock(d) });
  if (view.seek.getAttribute('aria-valuetext') !== text) view.seek.setAttribute('aria-valuetext', text);
  const line = clock(shown) + ' / ' + clock(d);
  if (view.time.textContent !== line) view.time.textContent = line;
}

// While the run plays, the captions and the time follow every frame.
function tick() {
  frame = 0;
  drawCaptions();
  showTime();
  if (playing()) frame = window.requestAnimationFrame(tick);
}

function playState() {
  const on = playing();
  ui.play.dataset.playing = on ? 'true' : 'false';
  ui.play.textContent = on ? t('replay.pause') : t('replay.play');
  if (on && !frame) frame = window.requestAnimationFrame(tick);
  showTime();
}

// audioChoice is the language to start a run with: the link's, the
// viewer's last choice, the browser's languages, the page's; else the
// floor (the run's first language).
function audioChoice(run) {
  const tags = run.languages.map((l) => l.tag);
  const wants = [params.get('audio'), store.get('audio')]
    .concat(Array.from(navigator.languages || [navigator.language]), [config.locale]);
  for (const w of wants) {
    const m = matchTag(w, tags);
    if (m) return m;
  }
  return tags[0];
}

// showRun opens run in the player, ready to play, with the languages chosen.
export function showRun(run) {
  const lang = audioChoice(run);
  const cap = captionChoice(run);
  load(run, lang, cap);
  view.heading.textContent = t('replay.player.heading', { start: when(run.start) });
  ui.lang.replaceChildren(
    // The first language is the floor: the room's own.
    ...run.languages.map((l, i) => {
      const o = document.createElement('option');
      o.value = l.tag;
      o.lang = l.tag;
      o.textContent = i === 0 ? t('watch.audio.floor', { name: l.name || l.tag }) : l.name || l.tag;
      return o;
    }),
  );
  ui.lang.value = lang;
  fillCaptions(run, cap);
  for (const b of [ui.play, view.back, view.forward, view.seek]) b.disabled = false;
  view.player.hidden = false;
  setState('idle');
  playState();
}

function typing(el) {
  if (!el || !el.tagName) return false;
  const tag = el.tagName.toLowerCase();
  if (tag === 'select' || tag === 'textarea' || el.isContentEditable) return true;
  return tag === 'input' && el.type !== 'range' && el.type !== 'checkbox' && el.type !== 'radio';
}

// bindControls wires the controls; they stay disabled until a run is open.
export function bindControls() {
  onPlayer({ time: showTime, play: playState, tracks: showTime });
  ui.play.addEventListener('click', toggle);
  view.back.addEventListener('click', () => skip(-SKIP));
  view.forward.addEventListener('click', () => skip(SKIP));

  // Dragging shows where the run would be; letting go (or a key) seeks.
  view.seek.addEventListener('input', () => {
    dragging = true;
    showTime();
  });
  view.seek.addEventListener('change', () => {
    dragging = false;
    seek(Number(view.seek.value));
    drawCaptions();
  });

  ui.lang.addEventListener('change', () => {
    store.set('audio', ui.lang.value);
    setLang(ui.lang.value);
  });

  if (ui.volume) {
    const v = Number(store.get('volume'));
    if (store.get('volume') !== null && v >= 0 && v <= 100) ui.volume.value = String(v);
    ui.volume.addEventListener('input', () => {
      store.set('volume', ui.volume.value);
      applyGain();
      if (player.el && !player.node) player.el.volume = volume();
    });
  }

  document.addEventListener('keydown', (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || !player.el || typing(ev.target)) return;
    const k = ev.key.toLowerCase();
    if (k === 'k') toggle();
    else if (k === 'j') skip(-SKIP);
    else if (k === 'l') skip(SKIP);
    else return;
    ev.preventDefault();
  });

  window.addEventListener('pagehide', () => pause());
  setState('idle');
}
