// The recording's player: hls.js (window.Hls, loaded before this module) on
// the run's VOD master playlist, or the browser's own HLS player, in an
// audio element the page does not show (its buttons and the strip are the
// controls). It plays the audio of the caption language when the run has
// it, the floor otherwise. Times here are run time in seconds.

import { withToken } from './api.js';
import { clock, config, emit, record, setText, t, ui } from './page.js';

export const player = {
  run: null,
  el: null,
  hls: null,
  lang: '',
  stopAt: null, // playing one cue: where to pause, seconds
  errors: [],
  state: 'idle',
};

export const position = () => (player.el ? player.el.currentTime : 0);
export const playing = () => !!(player.el && !player.el.paused && !player.el.ended);

export function duration() {
  const el = player.el;
  if (el && Number.isFinite(el.duration)) return el.duration;
  if (el && el.seekable && el.seekable.length) return el.seekable.end(el.seekable.length - 1);
  return player.run ? player.run.duration : 0;
}

function setState(state, vars) {
  player.state = state;
  const key = {
    idle: 'edit.player.idle',
    off: 'edit.player.off',
    none: 'edit.player.none',
    loading: 'edit.player.loading',
    ready: 'edit.player.ready',
    playing: 'edit.player.playing',
    paused: 'edit.player.paused',
    error: 'edit.player.error',
  }[state];
  setText(ui.playerState, t(key, vars));
  setText(ui.play, playing() ? t('edit.player.pause') : t('edit.player.play'));
  record({ kind: 'player', state });
}

let frame = 0;
function tick() {
  frame = 0;
  const el = player.el;
  if (!el) return;
  if (player.stopAt !== null && el.currentTime >= player.stopAt) {
    player.stopAt = null;
    el.pause();
  }
  setText(ui.clock, clock(el.currentTime));
  emit('time', el.currentTime);
  if (playing()) frame = window.requestAnimationFrame(tick);
}

function langName(tag) {
  const l = player.run && player.run.languages.find((x) => x.tag === tag);
  return l ? l.name || l.tag : tag;
}

// audioLang is the run's language for the caption language: the same, or
// the floor's (the first) when the run has no audio in it.
function audioLang(run, lang) {
  const tags = run.languages.map((l) => l.tag);
  const exact = tags.find((x) => x.toLowerCase() === lang.toLowerCase());
  if (exact) return exact;
  const base = tags.find((x) => x.split('-')[0].toLowerCase() === lang.split('-')[0].toLowerCase());
  return base || tags[0] || '';
}

export function unload() {
  if (player.hls) player.hls.destroy();
  if (player.el) {
    player.el.pause();
    player.el.removeAttribute('src');
    player.el.load();
  }
  Object.assign(player, { run: null, el: null, hls: null, stopAt: null });
  for (const b of [ui.play, ui.back, ui.forward]) b.disabled = true;
}

function fail(reason) {
  player.errors.push(reason);
  setState('error', { reason });
}

// load prepares run with the audio for caption language lang; run null
// leaves the page without a player.
export function load(run, lang) {
  unload();
  if (!run) {
    setState(config.recorded ? 'none' : 'off');
    emit('time', 0);
    return;
  }
  const el = document.createElement('audio');
  el.preload = 'auto';
  Object.assign(player, { run, el, lang: audioLang(run, lang) });
  const mine = (fn) => (...args) => {
    if (player.el === el) fn(...args);
  };
  const ready = mine(() => {
    for (const b of [ui.play, ui.back, ui.forward]) b.disabled = false;
    if (player.state === 'loading' || player.state === 'idle') setState('ready', { lang: langName(player.lang) });
  });
  el.addEventListener('loadedmetadata', ready);
  el.addEventListener('playing', mine(() => {
    setState('playing', { lang: langName(player.lang) });
    if (!frame) frame = window.requestAnimationFrame(tick);
  }));
  el.addEventListener('pause', mine(() => {
    setState('paused', { position: clock(el.currentTime) });
    tick();
  }));
  el.addEventListener('seeked', mine(tick));
  el.addEventListener('timeupdate', mine(() => {
    if (!frame) tick();
  }));
  el.addEventListener('durationchange', mine(() => emit('time', el.currentTime)));
  setState('loading');
  const src = withToken(config.vod + encodeURIComponent(run.id) + '/master.m3u8');
  const Hls = window.Hls;
  if (!(Hls && Hls.isSupported())) {
    if (!el.canPlayType('application/vnd.apple.mpegurl')) {
      fail(t('edit.player.unsupported'));
      return;
    }
    el.addEventListener('error', mine(() => fail(t('edit.player.media'))));
    el.addEventListener('loadedmetadata', mine(selectAudio));
    el.src = src;
    return;
  }
  const hls = new Hls({
    enableWorker: false, // no blob: worker, so the page's CSP stays strict
    startPosition: 0,
    backBufferLength: 90,
    audioPreference: { lang: player.lang },
    renderTextTracksNatively: false,
    subtitleDisplay: false,
  });
  player.hls = hls;
  hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, mine(selectAudio));
  hls.on(Hls.Events.MANIFEST_PARSED, mine(() => {
    hls.subtitleTrack = -1; // the page shows the cues itself
  }));
  hls.on(Hls.Events.ERROR, mine((_, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !player.recovered) {
      player.recovered = true;
      hls.recoverMediaError();
      return;
    }
    const code = data.response && data.response.code;
    fail(code ? t('edit.error.http', { status: code }) : t('edit.player.media'));
  }));
  hls.loadSource(src);
  hls.attachMedia(el);
}

function selectAudio() {
  const want = player.lang.toLowerCase();
  if (player.hls) {
    const tracks = player.hls.audioTracks || [];
    const i = tracks.findIndex((x) => (x.lang || '').toLowerCase() === want);
    if (i >= 0 && player.hls.audioTrack !== i) player.hls.audioTrack = i;
    return;
  }
  const list = player.el && player.el.audioTracks;
  if (!list) return;
  for (let k = 0; k < list.length; k++) list[k].enabled = (list[k].language || '').toLowerCase() === want;
}

// audioTrack is the language the player plays now.
export function audioTrack() {
  if (!player.hls) return player.lang;
  const tr = (player.hls.audioTracks || [])[player.hls.audioTrack];
  return tr ? tr.lang || '' : '';
}

// play starts or resumes; it must run inside the click or key press that
// asks for it, since browsers let a user's gesture start sound.
export function play() {
  const el = player.el;
  if (!el) return;
  if (el.ended) el.currentTime = 0;
  const p = el.play();
  if (p && p.catch) {
    p.catch((e) => {
      if (player.el === el && e && e.name !== 'AbortError') fail(t('edit.player.media'));
    });
  }
}

export function pause() {
  if (player.el) player.el.pause();
}

export function toggle() {
  player.stopAt = null;
  if (playing()) pause();
  else play();
}

export function seek(seconds) {
  const el = player.el;
  if (!el) return;
  const end = duration();
  el.currentTime = Math.max(0, Math.min(Number(seconds) || 0, end > 0.2 ? end - 0.05 : end));
  tick();
}

// playRange plays from one run time to another (seconds) and stops there.
export function playRange(start, end) {
  if (!player.el) return;
  seek(start);
  player.stopAt = end;
  play();
}
