// Playing over LL-HLS: hls.js (window.Hls, loaded before this module), or
// the browser's own HLS player.

import { accessLost } from './access.js';
import { volume } from './audio.js';
import { config, langName, matchTag, renditions, t } from './page.js';
import { showPicture, watchForVideo } from './picture.js';
import { attachElement, current, ended, fail, play, restart, retry, wentLive } from './session.js';
import { setState, state } from './status.js';

function hlsTrackIndex(tracks, tag) {
  const tags = tracks.map((x) => x.lang || '');
  const m = matchTag(tag, tags.filter(Boolean));
  if (m) return tags.indexOf(m);
  const name = langName(tag);
  return tracks.findIndex((x) => x.name === name);
}

// hlsMaster is the master playlist hls.js loads for a language: the one
// whose main audio is that language (?audio=), so that hls.js plays it as
// the variant's own audio. As an alternate rendition hls.js stalls at a
// discontinuity (a server restart), waiting for a timestamp offset that
// only main fragments give; as main audio it plays on.
export function hlsMaster(lang) {
  const tag = matchTag(lang, renditions.map((r) => r.tag));
  const u = new URL(config.hls, window.location.href);
  if (tag) u.searchParams.set('audio', tag);
  return u.pathname + u.search;
}

export function startHLS(s) {
  // A <video> element plays either: the picture when the master lists
  // one, audio alone otherwise (the stage then stays hidden).
  const el = document.createElement('video');
  el.preload = 'auto';
  el.setAttribute('aria-label', t('watch.video.label'));
  showPicture(el);
  // An audio-only start looks for a picture that comes later and, when
  // it does, starts again with the master that lists it.
  watchForVideo(() => current === s && s.alive, () => restart());
  const hlsjs = !!(window.Hls && window.Hls.isSupported());
  if (!hlsjs && !el.canPlayType('application/vnd.apple.mpegurl')) {
    fail(s, t('watch.error.unsupported'));
    return;
  }
  if (hlsjs) attachElement(s, el, null);
  else {
    // Safari's own player: Web Audio taps of HLS elements have been silent
    // there, so the element plays directly and the meter stays at rest.
    s.el = el;
    el.volume = volume();
  }
  el.addEventListener('playing', () => wentLive(s));
  el.addEventListener('waiting', () => {
    window.clearTimeout(s.waitTimer);
    s.waitTimer = window.setTimeout(() => {
      if (current === s && s.alive && state === 'live') setState('reconnecting');
    }, 2000);
  });
  el.addEventListener('ended', () => ended(s));

  if (!hlsjs) {
    el.addEventListener('error', () => retry(s, t('watch.error.media')));
    const pick = () => selectNativeTrack(s);
    if (el.audioTracks && el.audioTracks.addEventListener) el.audioTracks.addEventListener('addtrack', pick);
    el.addEventListener('loadedmetadata', pick);
    el.src = config.hls;
    play(s);
    return;
  }

  const Hls = window.Hls;
  const rideRetry = { maxNumRetry: 20, retryDelayMs: 500, maxRetryDelayMs: 1000 };
  const ridePolicy = {
    default: {
      maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000,
      timeoutRetry: rideRetry, errorRetry: rideRetry,
    },
  };
  const hls = new Hls({
    lowLatencyMode: true,
    enableWorker: false, // no blob: worker, so the page's CSP stays strict
    backBufferLength: 30,
    audioPreference: { lang: s.lang },
    // Captions come over the WebSocket, with the partial line; at the live
    // edge WebVTT cues arrive after their words. hls.js only lists them.
    subtitleDisplay: false,
    renderTextTracksNatively: false,
    // A server restarting (a deploy, a crash) is away for a few seconds and
    // its playlists go on where they were: keep asking, about 15 s, before
    // giving up and starting the player again.
    playlistLoadPolicy: ridePolicy,
    fragLoadPolicy: ridePolicy,
  });
  s.hls = hls;
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    if (s.alive) play(s);
  });
  // The track list is known once hls.js has picked a variant (and its
  // audio group); audioPreference has usually chosen already.
  hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, () => {
    if (s.alive) selectHLSTrack(s);
  });
  hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, () => {
    if (!s.alive) return;
    s.switches++;
    if (state === 'live') setState('live'); // names the new language
  });
  const noteEnd = (_, data) => {
    if (data && data.details && data.details.endList) s.endList = true;
  };
  hls.on(Hls.Events.LEVEL_LOADED, noteEnd);
  // After a server restart the playlist may start past everything
  // buffered (the segments of the gap were never written): hls.js 1.7
  // looks for the fragment after its last one in the old discontinuity,
  // finds none, and at times never moves the playhead on. When all that
  // is buffered ends before the playlist's first segment, nothing more can
  // be played there: go to the live edge. (After loading a master the
  // buffer is empty: hls.js picks the start itself.)
  hls.on(Hls.Events.LEVEL_UPDATED, (_, data) => {
    const d = data && data.details;
    const edge = hls.liveSyncPosition;
    const b = el.buffered;
    if (s.alive && d && d.live && edge !== null && b.length && b.end(b.length - 1) < d.fragmentStart &&
      el.currentTime < d.fragmentStart - 0.5) {
      el.currentTime = Math.max(d.fragmentStart, edge);
    }
  });
  hls.on(Hls.Events.AUDIO_TRACK_LOADED, noteEnd);
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (!s.alive || !data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !s.recovered) {
      s.recovered = true;
      hls.recoverMediaError();
      return;
    }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      const code = data.response && data.response.code;
      if (code === 401) {
        fail(s, t('watch.error.access'));
        accessLost();
        return;
      }
      retry(s, code ? t('watch.error.http', { status: code }) : t('watch.error.network'));
      return;
    }
    retry(s, t('watch.error.media'));
  });
  s.master = hlsMaster(s.lang);
  hls.loadSource(s.master);
  hls.attachMedia(el);
}

// switchHLSLanguage makes the playing hls.js instance play the session's
// language: it loads that language's master into the same player and
// element (the audio graph stays), which starts again at the live edge.
// With a picture, the video fragments give hls.js the timing it needs at a
// discontinuity, so the audio rendition is switched in place instead: no
// reload of the picture. The captions are not hls.js's and go on as they
// are.
export function switchHLSLanguage(s) {
  const src = hlsMaster(s.lang);
  const video = (s.hls.levels || []).some((l) => l.videoCodec);
  if (src === s.master || video) {
    s.hls.config.audioPreference = { lang: s.lang };
    selectHLSTrack(s);
    return;
  }
  s.master = src;
  s.hls.config.audioPreference = { lang: s.lang };
  s.hls.loadSource(src);
}

// selectHLSTrack checks that hls.js plays the session's language, the
// master's main audio, and points it there if it does not.
export function selectHLSTrack(s) {
  const tracks = s.hls.audioTracks || [];
  if (!tracks.length) return; // not known yet: AUDIO_TRACKS_UPDATED will call again
  const i = hlsTrackIndex(tracks, s.lang);
  if (i < 0) {
    // The master playlist lacks the language; a later one may have it.
    s.missing = true;
    retry(s, t('watch.error.language'));
    return;
  }
  s.missing = false;
  if (s.hls.audioTrack !== i) s.hls.audioTrack = i;
}

export function selectNativeTrack(s) {
  const list = s.el && s.el.audioTracks;
  if (!list || !list.length) return;
  const tracks = Array.from(list).map((x) => ({ lang: x.language, name: x.label }));
  const i = hlsTrackIndex(tracks, s.lang);
  if (i < 0) return;
  for (let k = 0; k < list.length; k++) list[k].enabled = k === i;
}
