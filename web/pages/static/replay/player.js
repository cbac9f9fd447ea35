// Playing one recorded run: hls.js (window.Hls, loaded before this module)
// on the run's VOD master playlist, or the browser's own HLS player. The
// element plays through the watch page's audio graph (volume, meter). Every
// language is an audio track of the one player, so switching language keeps
// the position; the caption language's WebVTT cues are collected here and
// drawn by captions.js.

import { accessLost } from '../watch/access.js';
import { analyser, ctx, ensureGraph, startMeter, stopMeter, volume } from '../watch/audio.js';
import { matchTag, t } from '../watch/page.js';
import { setState, state } from './status.js';
import { clock } from './view.js';

// player is the run being played: its element, hls.js, the chosen
// languages and the cues hls.js has parsed, by caption language.
export const player = {
  run: null,
  el: null,
  hls: null,
  node: null,
  lang: '',
  capLang: '',
  cues: {},
  switches: 0,
  errors: [],
};

// What the controls follow: time (position or duration changed), tracks
// (the languages are known), play (playing or paused).
const on = { time() {}, tracks() {}, play() {} };

export function onPlayer(handlers) {
  Object.assign(on, handlers);
}

function langName(tag) {
  const l = player.run && player.run.languages.find((x) => x.tag === tag);
  return l ? l.name || l.tag : tag;
}

function trackIndex(tracks, tag) {
  const tags = tracks.map((x) => x.lang || '');
  const m = matchTag(tag, tags.filter(Boolean));
  if (m) return tags.indexOf(m);
  return tracks.findIndex((x) => x.name === langName(tag));
}

// duration is the run's length as the player knows it: the playlist's,
// or, for a run still being recorded, how far it can seek.
export function duration() {
  const el = player.el;
  if (!el) return 0;
  if (Number.isFinite(el.duration)) return el.duration;
  if (el.seekable && el.seekable.length) return el.seekable.end(el.seekable.length - 1);
  return player.run ? player.run.duration : 0;
}

export function position() {
  return player.el ? player.el.currentTime : 0;
}

export function playing() {
  return !!(player.el && !player.el.paused && !player.el.ended);
}

// unload ends the run being played.
export function unload() {
  const p = player;
  if (p.hls) p.hls.destroy();
  if (p.node) {
    try {
      p.node.disconnect();
    } catch (e) {
      // not connected
    }
  }
  if (p.el) {
    p.el.pause();
    p.el.removeAttribute('src');
    p.el.load();
  }
  Object.assign(p, { run: null, el: null, hls: null, node: null, cues: {} });
  stopMeter();
}

function fail(reason) {
  player.errors.push(reason);
  setState('error', { reason });
}

// load prepares run (an entry of the replays list) in language lang with
// captions capLang ('' for none); nothing plays before play().
export function load(run, lang, capLang) {
  unload();
  const el = document.createElement('audio');
  el.preload = 'auto';
  Object.assign(player, { run, el, lang, capLang, cues: {} });
  const hlsjs = !!(window.Hls && window.Hls.isSupported());
  if (!hlsjs && !el.canPlayType('application/vnd.apple.mpegurl')) {
    fail(t('watch.error.unsupported'));
    return;
  }
  const mine = (fn) => (...args) => {
    if (player.el === el) fn(...args);
  };
  el.addEventListener('timeupdate', mine(() => on.time()));
  el.addEventListener('durationchange', mine(() => on.time()));
  el.addEventListener('seeked', mine(() => on.time()));
  el.addEventListener('playing', mine(() => {
    setState('playing', { lang: langName(player.lang) });
    on.play();
  }));
  el.addEventListener('pause', mine(() => {
    if (!el.ended) setState('paused', { position: clock(el.currentTime) });
    on.play();
  }));
  el.addEventListener('waiting', mine(() => setState('loading')));
  el.addEventListener('ended', mine(() => {
    setState('ended');
    on.play();
  }));

  if (!hlsjs) {
    // Safari's own player: its audio and text tracks are the run's.
    el.addEventListener('error', mine(() => fail(t('watch.error.media'))));
    el.addEventListener('loadedmetadata', mine(() => {
      selectAudio();
      selectSubtitles(player.capLang);
      on.tracks();
    }));
    el.src = run.hls;
    return;
  }

  const Hls = window.Hls;
  const hls = new Hls({
    enableWorker: false, // no blob: worker, so the page's CSP stays strict
    startPosition: 0, // a run still being recorded starts at its beginning too
    backBufferLength: 60,
    audioPreference: { lang },
    // The page draws the cues: an audio element shows none.
    renderTextTracksNatively: false,
    subtitleDisplay: !!capLang,
  });
  player.hls = hls;
  hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, mine(() => {
    selectAudio();
    on.tracks();
  }));
  hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, mine(() => {
    player.switches++;
    if (state === 'playing') setState('playing', { lang: langName(player.lang) });
  }));
  hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, mine(() => selectSubtitles(player.capLang)));
  hls.on(Hls.Events.CUES_PARSED, mine((_, d) => {
    const tag = d.subtitleTrack && d.subtitleTrack.lang;
    if (!tag || !Array.isArray(d.cues)) return;
    const list = player.cues[tag] || (player.cues[tag] = []);
    for (const c of d.cues) {
      // A cue over a segment boundary comes with both segments.
      if (!list.some((x) => x.start === c.startTime && x.end === c.endTime && x.text === c.text)) {
        list.push({ start: c.startTime, end: c.endTime, text: c.text });
      }
    }
    list.sort((a, b) => a.start - b.start);
  }));
  hls.on(Hls.Events.ERROR, mine((_, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !player.recovered) {
      player.recovered = true;
      hls.recoverMediaError();
      return;
    }
    const code = data.response && data.response.code;
    if (code === 401) {
      fail(t('watch.error.access'));
      accessLost();
      return;
    }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      fail(code ? t('watch.error.http', { status: code }) : t('watch.error.network'));
      return;
    }
    fail(t('watch.error.media'));
  }));
  hls.loadSource(run.hls);
  hls.attachMedia(el);
}

// play starts or resumes the run. It must run inside the click or key press
// that asks for it: browsers let a user's gesture start sound.
export function play() {
  const el = player.el;
  if (!el) return;
  if (ensureGraph()) {
    if (!player.node) {
      try {
        player.node = ctx.createMediaElementSource(el);
        player.node.connect(analyser);
      } catch (e) {
        player.node = null;
        el.volume = volume();
      }
    }
    startMeter();
  } else {
    el.volume = volume();
  }
  if (el.ended) el.currentTime = 0;
  setState('loading');
  const p = el.play();
  if (p && p.catch) {
    p.catch((e) => {
      if (player.el === el && e && e.name !== 'AbortError') fail(t('watch.error.media'));
    });
  }
}

export function pause() {
  if (player.el) player.el.pause();
}

// seek moves to seconds from the start, within the run.
export function seek(seconds) {
  const el = player.el;
  if (!el) return;
  const end = duration();
  el.currentTime = Math.max(0, Math.min(Number(seconds) || 0, end > 1 ? end - 0.5 : end));
  on.time();
}

// setLang switches the audio language, keeping the position.
export function setLang(tag) {
  player.lang = tag;
  selectAudio();
  if (state === 'playing') setState('playing', { lang: langName(tag) });
}

function selectAudio() {
  const p = player;
  if (p.hls) {
    const tracks = p.hls.audioTracks || [];
    if (!tracks.length) return; // AUDIO_TRACKS_UPDATED calls again
    const i = trackIndex(tracks, p.lang);
    if (i >= 0 && p.hls.audioTrack !== i) p.hls.audioTrack = i;
    return;
  }
  const list = p.el && p.el.audioTracks;
  if (!list || !list.length) return;
  const i = trackIndex(Array.from(list).map((x) => ({ lang: x.language, name: x.label })), p.lang);
  if (i < 0) return;
  for (let k = 0; k < list.length; k++) list[k].enabled = k === i;
}

// selectSubtitles has the player fetch the cues of caption language tag
// ('' for none).
export function selectSubtitles(tag) {
  const p = player;
  p.capLang = tag;
  if (p.hls) {
    const tracks = p.hls.subtitleTracks || [];
    const i = tag ? trackIndex(tracks, tag) : -1;
    p.hls.subtitleDisplay = i >= 0;
    if (p.hls.subtitleTrack !== i) p.hls.subtitleTrack = i;
    return;
  }
  const list = p.el ? Array.from(p.el.textTracks || []) : [];
  const tracks = list.map((x) => ({ lang: x.language, name: x.label }));
  const i = tag ? trackIndex(tracks, tag) : -1;
  list.forEach((x, k) => {
    x.mode = k === i ? 'hidden' : 'disabled';
  });
}

// activeCues are the caption language's cues at the current position.
export function activeCues() {
  const p = player;
  if (!p.el || !p.capLang) return [];
  const now = p.el.currentTime;
  if (!p.hls) {
    const track = Array.from(p.el.textTracks || []).find((x) => x.mode === 'hidden');
    return track && track.activeCues ? Array.from(track.activeCues).map((c) => ({ start: c.startTime, end: c.endTime, text: c.text })) : [];
  }
  const tag = Object.keys(p.cues).find((k) => matchTag(p.capLang, [k]));
  return (tag ? p.cues[tag] : []).filter((c) => c.start <= now && now < c.end);
}

// audioTracks are the languages the player lists, as {lang, name}.
export function audioTracks() {
  const p = player;
  if (p.hls) return (p.hls.audioTracks || []).map((x) => ({ lang: x.lang || '', name: x.name }));
  return p.el && p.el.audioTracks ? Array.from(p.el.audioTracks).map((x) => ({ lang: x.language, name: x.label })) : [];
}

// audioLang is the language the player plays now.
export function audioLang() {
  const p = player;
  if (p.hls) {
    const tr = (p.hls.audioTracks || [])[p.hls.audioTrack];
    return tr ? tr.lang || '' : '';
  }
  const list = p.el && p.el.audioTracks ? Array.from(p.el.audioTracks) : [];
  const tr = list.find((x) => x.enabled);
  return tr ? tr.language : '';
}
