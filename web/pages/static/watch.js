// Watch page: plays one language of a live event, at low latency over WebRTC
// (WHEP) or at scale over LL-HLS (hls.js, or the browser's own HLS player), with
// a level meter and a state line. Every visible string comes from the message
// catalog the server embeds in the page; nothing is loaded from elsewhere.
// Shared helpers come from common.js (window.tolkCommon).
(function () {
  'use strict';

  const C = window.tolkCommon;
  const $ = (id) => document.getElementById(id);

  const config = C.readJSON('tolk-config') || {};
  const renditions = Array.isArray(config.renditions) ? config.renditions : [];
  const t = C.translator(C.readJSON('tolk-messages') || {});

  const ui = {
    lang: $('lang'),
    play: $('play'),
    volume: $('volume'),
    meter: $('meter'),
    cover: $('meter-cover'),
    state: $('state'),
    modes: Array.from(document.querySelectorAll('input[name="mode"]')),
    captions: $('captions'),
    captionsField: $('captions-field'),
    captionsLabel: $('captions-label'),
    captionsNone: $('captions-none'),
    captionArea: $('caption-area'),
  };

  const store = C.storage('tolk.watch.');
  const params = new URLSearchParams(window.location.search);

  // ---- language and mode -------------------------------------------------

  const norm = (tag) => String(tag || '').trim().toLowerCase().replace(/_/g, '-');
  const baseOf = (tag) => norm(tag).split('-')[0];

  // matchTag finds the tag in tags that best serves want: the same tag, else
  // the same base language.
  function matchTag(want, tags) {
    if (!want) return null;
    const w = norm(want);
    return tags.find((x) => norm(x) === w) ||
      tags.find((x) => norm(x) === baseOf(w)) ||
      tags.find((x) => baseOf(x) === baseOf(w)) || null;
  }

  function initialLang() {
    const tags = renditions.map((r) => r.tag);
    const wants = [params.get('audio'), store.get('audio')]
      .concat(Array.from(navigator.languages || [navigator.language]), [config.locale]);
    for (const w of wants) {
      const m = matchTag(w, tags);
      if (m) return m;
    }
    const floor = renditions.find((r) => r.floor);
    return floor ? floor.tag : (tags[0] || '');
  }

  function langName(tag) {
    const r = renditions.find((x) => x.tag === tag);
    return r ? r.name : tag;
  }

  const modesAvailable = ui.modes.map((m) => m.value);

  function initialMode() {
    for (const m of [params.get('mode'), store.get('mode')]) {
      if (m && modesAvailable.includes(m)) return m;
    }
    if (modesAvailable.includes('webrtc') && window.RTCPeerConnection) return 'webrtc';
    return modesAvailable.includes('hls') ? 'hls' : (modesAvailable[0] || '');
  }

  let lang = initialLang();
  let mode = initialMode();

  // ---- state line ----------------------------------------------------------

  const stateKeys = {
    idle: 'watch.state.idle',
    connecting: 'watch.state.connecting',
    live: 'watch.state.live',
    reconnecting: 'watch.state.reconnecting',
    ended: 'watch.state.ended',
    error: 'watch.state.error',
  };
  let state = 'idle';
  let stateReason = '';
  const history = [];

  function setState(s, reason) {
    const changed = s !== state || (reason || '') !== stateReason || !history.length;
    state = s;
    stateReason = reason || '';
    if (changed) {
      history.push({ state: s, reason: stateReason, at: Math.round(performance.now()) });
      if (history.length > 200) history.shift();
    }
    let text = t(stateKeys[s]);
    if (s === 'live') text = t('watch.state.live', { lang: langName(current ? current.lang : lang) });
    if (s === 'error') text = t('watch.state.error', { reason: stateReason });
    // Only a real change is written, so screen readers announce each once.
    if (ui.state.textContent !== text) ui.state.textContent = text;
    ui.state.dataset.state = s;
    document.documentElement.dataset.state = s;
  }

  // ---- audio graph: every source → analyser → volume → speakers -------------

  let ctx = null;
  let analyser = null;
  let probe = null;
  let gain = null;

  function volume() {
    return ui.volume ? Number(ui.volume.value) / 100 : 1;
  }

  // ensureGraph creates the AudioContext; it must first run inside the click
  // that starts playback, since browsers only let a user gesture start sound.
  function ensureGraph() {
    if (ctx) {
      if (ctx.state === 'suspended') ctx.resume().catch(() => {});
      return true;
    }
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return false;
    try {
      ctx = new AC();
      analyser = C.analyser(ctx);
      probe = C.probe(analyser);
      gain = ctx.createGain();
      gain.gain.value = volume();
      analyser.connect(gain);
      gain.connect(ctx.destination);
    } catch (e) {
      ctx = null;
      analyser = null;
      probe = null;
      return false;
    }
    return true;
  }

  function applyVolume() {
    const v = volume();
    if (gain) gain.gain.setTargetAtTime(v, ctx.currentTime, 0.02);
    if (current && current.el && !current.node) current.el.volume = v;
  }

  // measure returns the peak and RMS level in dBFS of the last ~170 ms.
  const measure = () => (probe ? probe.level() : null);
  // peakHz returns the dominant frequency of what plays.
  const peakHz = () => (probe ? probe.peakHz() : null);

  // ---- meter ---------------------------------------------------------------

  const meter = C.meter(ui.meter, ui.cover, {
    silent: () => t('watch.meter.silent'),
    value: (db) => t('watch.meter.value', { db }),
  });
  let meterFrame = 0;

  function drawMeter(now) {
    meterFrame = window.requestAnimationFrame(drawMeter);
    const m = measure();
    meter.update(m ? m.peakDb : null, now);
  }

  function startMeter() {
    if (!meterFrame && analyser) meterFrame = window.requestAnimationFrame(drawMeter);
  }

  function stopMeter() {
    if (meterFrame) window.cancelAnimationFrame(meterFrame);
    meterFrame = 0;
    meter.reset();
  }

  // ---- sessions --------------------------------------------------------------
  // A session is one attempt to play one language in one mode. Switching
  // language in WebRTC mode, switching mode, retrying and stopping all end the
  // current session; callbacks of an ended session do nothing.

  let current = null;
  let seq = 0;
  let wantPlay = false;
  let attempts = 0;
  let retryTimer = 0;

  function start(retrying) {
    window.clearTimeout(retryTimer);
    if (current) teardown(current);
    const s = { id: ++seq, mode, lang, alive: true, switches: 0 };
    current = s;
    if (!retrying) setState('connecting');
    if (mode === 'webrtc') startWebRTC(s);
    else startHLS(s);
    if (current === s) startMeter();
  }

  function stop() {
    wantPlay = false;
    window.clearTimeout(retryTimer);
    if (current) teardown(current);
    current = null;
    attempts = 0;
    stopMeter();
    setState('idle');
    updateButton();
  }

  function teardown(s) {
    s.alive = false;
    if (s.torn) return;
    s.torn = true;
    window.clearTimeout(s.graceTimer);
    window.clearTimeout(s.waitTimer);
    if (s.abort) s.abort.abort();
    if (s.hls) s.hls.destroy();
    // Close the peer connection only once the DELETE is answered (or after
    // 2 s), so the server hears "gone" from the resource, not from a dead
    // transport. The session is already mute: its callbacks do nothing.
    const pc = s.pc;
    const deleted = deleteResource(s);
    if (pc && deleted) {
      const timer = window.setTimeout(() => pc.close(), 2000);
      deleted.finally(() => {
        window.clearTimeout(timer);
        pc.close();
      });
    } else if (pc) pc.close();
    C.release(s.node, s.el);
    if (s.el) {
      s.el.removeAttribute('src');
      try {
        s.el.load();
      } catch (e) {
        // nothing to unload
      }
    }
  }

  // retry ends a failed session and starts a new one after an exponential,
  // jittered backoff (0.5 s doubling to 15 s); the state says "reconnecting".
  function retry(s, reason) {
    if (current !== s || !s.alive) return;
    teardown(s);
    attempts++;
    const delay = C.backoff(attempts, 15000);
    setState('reconnecting', reason);
    retryTimer = window.setTimeout(() => {
      if (wantPlay && current === s) start(true);
    }, delay);
  }

  // fail ends a session for good: the user must press Play again.
  function fail(s, reason) {
    if (current !== s) return;
    teardown(s);
    current = null;
    wantPlay = false;
    stopMeter();
    setState('error', reason);
    updateButton();
  }

  function ended(s) {
    if (current !== s) return;
    teardown(s);
    current = null;
    wantPlay = false;
    stopMeter();
    setState('ended');
    updateButton();
  }

  function wentLive(s) {
    if (current !== s || !s.alive) return;
    window.clearTimeout(s.waitTimer);
    attempts = 0;
    setState('live');
  }

  // attachElement routes a media element (hls.js) or a stream (WebRTC) into the
  // audio graph; without Web Audio the element plays on its own.
  function attachElement(s, el, stream) {
    s.el = el;
    if (!ensureGraph()) {
      el.volume = volume();
      return;
    }
    try {
      if (stream) {
        // Chrome feeds a remote stream to Web Audio only while a media element
        // plays it; the element stays muted and the graph is what is heard.
        el.muted = true;
        s.node = ctx.createMediaStreamSource(stream);
      } else {
        s.node = ctx.createMediaElementSource(el);
      }
      s.node.connect(analyser);
    } catch (e) {
      s.node = null;
      el.muted = false;
      el.volume = volume();
    }
  }

  function play(s) {
    const p = s.el.play();
    if (p && p.catch) {
      p.catch((err) => {
        if (current !== s || !s.alive) return;
        if (err && err.name === 'NotAllowedError') stop();
      });
    }
  }

  // ---- HLS -------------------------------------------------------------------

  function hlsTrackIndex(tracks, tag) {
    const tags = tracks.map((x) => x.lang || '');
    const m = matchTag(tag, tags.filter(Boolean));
    if (m) return tags.indexOf(m);
    const name = langName(tag);
    return tracks.findIndex((x) => x.name === name);
  }

  function startHLS(s) {
    const el = document.createElement('audio');
    el.preload = 'auto';
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
    const hls = new Hls({
      lowLatencyMode: true,
      enableWorker: false, // no blob: worker, so the page's CSP stays strict
      backBufferLength: 30,
      audioPreference: { lang: s.lang },
      // Captions come over the WebSocket, with the partial line; at the live
      // edge WebVTT cues arrive after their words. hls.js only lists them.
      subtitleDisplay: false,
      renderTextTracksNatively: false,
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
        retry(s, code ? t('watch.error.http', { status: code }) : t('watch.error.network'));
        return;
      }
      retry(s, t('watch.error.media'));
    });
    hls.loadSource(config.hls);
    hls.attachMedia(el);
  }

  // selectHLSTrack points hls.js at the session's language. Setting audioTrack
  // switches within the running player: no reload, no gap in the video clock.
  function selectHLSTrack(s) {
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

  function selectNativeTrack(s) {
    const list = s.el && s.el.audioTracks;
    if (!list || !list.length) return;
    const tracks = Array.from(list).map((x) => ({ lang: x.language, name: x.label }));
    const i = hlsTrackIndex(tracks, s.lang);
    if (i < 0) return;
    for (let k = 0; k < list.length; k++) list[k].enabled = k === i;
  }

  // ---- WebRTC (WHEP) ---------------------------------------------------------

  class HTTPError extends Error {
    constructor(status) {
      super('HTTP ' + status);
      this.status = status;
    }
  }

  // Client errors other than these will not heal by retrying.
  const retryable = new Set([404, 408, 409, 425, 429]);

  async function startWebRTC(s) {
    if (!window.RTCPeerConnection) {
      fail(s, t('watch.error.unsupported'));
      return;
    }
    let pc;
    try {
      pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    } catch (e) {
      fail(s, t('watch.error.unsupported'));
      return;
    }
    s.pc = pc;
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.addEventListener('track', (ev) => {
      if (!s.alive) return;
      const stream = (ev.streams && ev.streams[0]) || new MediaStream([ev.track]);
      const el = document.createElement('audio');
      el.autoplay = true;
      el.srcObject = stream;
      attachElement(s, el, stream);
      play(s);
      if (pc.connectionState === 'connected') wentLive(s);
    });
    pc.addEventListener('connectionstatechange', () => {
      if (!s.alive) return;
      switch (pc.connectionState) {
        case 'connected':
          window.clearTimeout(s.graceTimer);
          if (s.el) wentLive(s);
          break;
        case 'disconnected':
          // ICE may come back by itself; give it a moment before a new session.
          setState('reconnecting');
          window.clearTimeout(s.graceTimer);
          s.graceTimer = window.setTimeout(() => retry(s, t('watch.error.network')), 3000);
          break;
        case 'failed':
          retry(s, t('watch.error.network'));
          break;
      }
    });

    try {
      await pc.setLocalDescription(await pc.createOffer());
      await C.iceGatheringDone(pc, 5000);
      if (!s.alive) return;
      const url = new URL(String(config.whep).split('{lang}').join(encodeURIComponent(s.lang)), window.location.href);
      s.abort = new AbortController();
      const timer = window.setTimeout(() => s.abort.abort(), 15000);
      let res;
      try {
        res = await fetch(url.href, {
          method: 'POST',
          headers: { 'Content-Type': 'application/sdp' },
          body: pc.localDescription.sdp,
          signal: s.abort.signal,
        });
      } finally {
        window.clearTimeout(timer);
      }
      const loc = res.headers.get('Location');
      if (res.status === 201 && loc) s.resource = new URL(loc, url).href;
      if (!s.alive) {
        deleteResource(s);
        return;
      }
      if (res.status !== 201) throw new HTTPError(res.status);
      const answer = await res.text();
      if (!s.alive) return;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (err) {
      if (!s.alive) return;
      if (err instanceof HTTPError) {
        const reason = t('watch.error.http', { status: err.status });
        if (err.status >= 400 && err.status < 500 && !retryable.has(err.status)) fail(s, reason);
        else retry(s, reason);
        return;
      }
      retry(s, t('watch.error.network'));
    }
  }

  // deleteResource ends the server's WHEP session; keepalive lets the request
  // outlive the page when it is being closed.
  function deleteResource(s) {
    const r = s.resource;
    if (!r) return null;
    s.resource = null;
    return fetch(r, { method: 'DELETE', keepalive: true }).catch(() => {});
  }

  // ---- controls ------------------------------------------------------------

  function updateButton() {
    ui.play.textContent = wantPlay ? t('watch.stop') : t('watch.play');
    ui.play.dataset.playing = wantPlay ? 'true' : 'false';
  }

  ui.play.addEventListener('click', () => {
    if (wantPlay) {
      stop();
      return;
    }
    wantPlay = true;
    ensureGraph();
    attempts = 0;
    updateButton();
    start(false);
  });

  if (ui.lang) {
    ui.lang.value = lang;
    ui.lang.addEventListener('change', () => {
      lang = ui.lang.value;
      store.set('audio', lang);
      // Waiting to retry: the next attempt takes the new language.
      if (!wantPlay || !current || !current.alive) return;
      if (current.mode === 'hls' && current.hls) {
        current.lang = lang;
        selectHLSTrack(current);
      } else if (current.mode === 'hls' && current.el && !current.hls) {
        current.lang = lang;
        selectNativeTrack(current);
        if (state === 'live') setState('live');
      } else {
        attempts = 0;
        start(false); // WebRTC: one connection per language
      }
    });
  }

  for (const radio of ui.modes) {
    radio.checked = radio.value === mode;
    radio.addEventListener('change', () => {
      if (!radio.checked) return;
      mode = radio.value;
      store.set('mode', mode);
      if (wantPlay) {
        attempts = 0;
        start(false);
      }
    });
  }

  if (ui.volume) {
    const v = Number(store.get('volume'));
    if (store.get('volume') !== null && v >= 0 && v <= 100) ui.volume.value = String(v);
    ui.volume.addEventListener('input', () => {
      store.set('volume', ui.volume.value);
      applyVolume();
    });
  }

  // Leaving the page ends the server's session rather than letting it time out.
  window.addEventListener('pagehide', () => {
    if (wantPlay) stop();
  });

  ui.play.disabled = !renditions.length || !mode;
  updateButton();
  setState('idle');

  // ---- captions ------------------------------------------------------------------
  // Independent of the audio language and of playback: a viewer may read one
  // language while listening to another, or read without listening. Captions
  // come over a WebSocket in both modes (the partial line, and settled cues
  // sooner than a WebVTT segment at the live edge).

  let captionList = Array.isArray(config.captions) ? config.captions : null;
  let capLang = '';
  let capState = 'off';
  let capFeed = null;
  let capToken = null; // the running feed's identity; a closed one's callbacks do nothing
  const capView = ui.captionArea ? C.captionView(ui.captionArea) : null;
  const capHistory = [];

  function mediaTime() {
    const el = current && current.el;
    return el && !el.srcObject && state === 'live' && !el.paused ? el.currentTime : null;
  }

  function setCaptions(tag) {
    const c = captionList && captionList.find((x) => x.tag === tag);
    capToken = null;
    if (capFeed) capFeed.close();
    capFeed = null;
    if (capView) capView.clear();
    capLang = c ? c.tag : '';
    if (ui.captionArea) ui.captionArea.hidden = !c;
    if (!c) {
      capState = 'off';
      return;
    }
    if (ui.captionArea) ui.captionArea.setAttribute('lang', c.tag);
    const token = {};
    capToken = token;
    capFeed = C.captionFeed(c.live, {
      state: (st) => {
        if (capToken === token) capState = st;
      },
      message: (m) => {
        if (capToken !== token) return;
        const h = { type: m.type, text: m.text, start: m.start, end: m.end, at: Math.round(performance.now()), media: mediaTime() };
        capHistory.push(h);
        if (capHistory.length > 500) capHistory.shift();
        if (capView) capView.show(m);
        // The frame that paints it: wall-clock ms, to compare with the server's.
        requestAnimationFrame(() => {
          h.shown = Math.round((performance.timeOrigin + performance.now()) * 10) / 10;
        });
      },
    });
  }

  function captionOption(tag, label, disabled) {
    const o = document.createElement('option');
    o.value = tag;
    o.lang = tag;
    o.textContent = label;
    o.disabled = disabled;
    return o;
  }

  // fillCaptions builds the picker: Off, the languages with captions, then
  // every audio language without them, disabled and labelled so. With none at
  // all the field says so instead of offering a picker.
  function fillCaptions(list) {
    captionList = list.filter((c) => c && typeof c.tag === 'string' && typeof c.live === 'string');
    if (!ui.captions) return;
    const tags = captionList.map((c) => c.tag);
    const off = Array.from(ui.captions.options).find((o) => o.value === '');
    const opts = [off || captionOption('', t('watch.captions.off'), false)];
    for (const c of captionList) opts.push(captionOption(c.tag, c.name || c.tag, false));
    for (const r of renditions) {
      if (!tags.includes(r.tag)) opts.push(captionOption(r.tag, t('watch.captions.unavailable', { name: r.name || r.tag }), true));
    }
    ui.captions.replaceChildren(...opts);
    const none = !captionList.length;
    ui.captions.hidden = none;
    if (ui.captionsLabel) ui.captionsLabel.hidden = none;
    if (ui.captionsNone) ui.captionsNone.hidden = !none;
    if (ui.captionsField) ui.captionsField.hidden = false;
    let want = '';
    for (const w of [params.get('captions'), store.get('captions')]) {
      if (w === 'off') break;
      const m = matchTag(w, tags);
      if (m) {
        want = m;
        break;
      }
    }
    ui.captions.value = want;
    setCaptions(want);
  }

  if (ui.captions) {
    ui.captions.addEventListener('change', () => {
      store.set('captions', ui.captions.value || 'off');
      setCaptions(ui.captions.value);
    });
  }

  if (captionList) fillCaptions(captionList);
  else if (config.event) {
    // The server did not list them: ask the event API (same origin). Without
    // an answer the field stays hidden: "no captions" would be a guess.
    C.eventInfo(config.event).then((info) => {
      if (info && Array.isArray(info.captions)) fillCaptions(info.captions);
    });
  }

  // ---- test hook -------------------------------------------------------------
  // Read-only facts for the browser tests; the page never relies on them.

  function hlsTracks(h) {
    return (h.audioTracks || []).map((x, i) => ({ index: i, id: x.id, name: x.name, lang: x.lang || '', groupId: x.groupId || '' }));
  }

  window.tolkWatch = Object.freeze({
    get state() {
      return state;
    },
    get reason() {
      return stateReason;
    },
    get mode() {
      return mode;
    },
    get lang() {
      return lang;
    },
    get playing() {
      return wantPlay;
    },
    history: () => history.slice(),
    audioTracks() {
      if (current && current.hls) return hlsTracks(current.hls);
      const list = current && current.el && current.el.audioTracks;
      if (list) return Array.from(list).map((x, i) => ({ index: i, id: x.id, name: x.label, lang: x.language }));
      return [];
    },
    audioTrack() {
      if (!current || !current.hls) return null;
      const i = current.hls.audioTrack;
      const tr = hlsTracks(current.hls)[i];
      return tr ? Object.assign({ switches: current.switches, missing: !!current.missing }, tr) : null;
    },
    level: measure,
    peakHz,
    captions() {
      return {
        lang: capLang,
        state: capState,
        lines: capView ? capView.lines() : [],
        history: capHistory.map((h) => Object.assign({}, h)),
      };
    },
    subtitleTracks() {
      const h = current && current.hls;
      return h ? (h.subtitleTracks || []).map((x) => ({ name: x.name, lang: x.lang || '' })) : [];
    },
    media() {
      const el = current && current.el;
      if (!el) return null;
      let ahead = 0;
      for (let i = 0; i < el.buffered.length; i++) {
        if (el.buffered.start(i) <= el.currentTime && el.currentTime <= el.buffered.end(i)) ahead = el.buffered.end(i) - el.currentTime;
      }
      return { currentTime: el.currentTime, paused: el.paused, ended: el.ended, readyState: el.readyState, bufferAhead: ahead };
    },
    latency() {
      const h = current && current.hls;
      if (!h) return null;
      const d = h.playingDate;
      const details = h.latestLevelDetails;
      return {
        latency: h.latency,
        targetLatency: h.targetLatency,
        maxLatency: h.maxLatency,
        drift: h.drift,
        playingDate: d ? d.getTime() : null,
        now: Date.now(),
        lowLatencyMode: h.lowLatencyMode,
        partTarget: details ? details.partTarget : null,
        targetDuration: details ? details.targetduration : null,
        live: details ? details.live : null,
      };
    },
    async rtcStats() {
      const pc = current && current.pc;
      if (!pc) return null;
      const report = await pc.getStats();
      let inbound = null;
      const codecs = {};
      report.forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') inbound = r;
        if (r.type === 'codec') codecs[r.id] = r.mimeType;
      });
      if (!inbound) return { connectionState: pc.connectionState, inbound: null };
      return {
        connectionState: pc.connectionState,
        inbound: {
          packetsReceived: inbound.packetsReceived,
          packetsLost: inbound.packetsLost,
          jitter: inbound.jitter,
          bytesReceived: inbound.bytesReceived,
          concealedSamples: inbound.concealedSamples,
          totalSamplesReceived: inbound.totalSamplesReceived,
          jitterBufferDelay: inbound.jitterBufferDelay,
          jitterBufferEmittedCount: inbound.jitterBufferEmittedCount,
          codec: codecs[inbound.codecId] || null,
        },
      };
    },
  });
  document.documentElement.dataset.ready = 'true';
})();
