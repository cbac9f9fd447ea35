// Helpers shared by tolk's pages (watch, booth): the embedded configuration and
// message catalog, local preferences, ICE gathering without trickle, the
// Web Audio analyser, its level and frequency readings and the meter that
// shows them, the event API, and the live caption feed with its view. Loaded before the page's own
// script; defines window.tolkCommon.
(function () {
  'use strict';

  function readJSON(id) {
    const el = document.getElementById(id);
    if (!el) return null;
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return null;
    }
  }

  // translator returns t(key, vars): the catalog message with its {name}
  // placeholders filled in, or a visible marker for a missing key.
  function translator(messages) {
    const has = (k) => Object.prototype.hasOwnProperty.call(messages, k);
    return function t(key, vars) {
      let s = has(key) ? messages[key] : '⟦missing:' + key + '⟧';
      if (vars) {
        for (const k of Object.keys(vars)) s = s.split('{' + k + '}').join(String(vars[k]));
      }
      return s;
    };
  }

  // storage keeps small preferences; private modes that refuse storage just
  // do not remember them.
  function storage(prefix) {
    return {
      get(k) {
        try {
          return window.localStorage.getItem(prefix + k);
        } catch (e) {
          return null;
        }
      },
      set(k, v) {
        try {
          window.localStorage.setItem(prefix + k, v);
        } catch (e) {
          // not persisted
        }
      },
    };
  }

  // iceGatheringDone resolves when the connection has gathered every
  // candidate, or after ms (an unreachable interface can hang gathering);
  // tolk's servers take complete descriptions, not trickled candidates.
  function iceGatheringDone(pc, ms) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (pc.iceGatheringState !== 'complete') return;
        pc.removeEventListener('icegatheringstatechange', done);
        window.clearTimeout(timer);
        resolve();
      };
      const timer = window.setTimeout(() => {
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      }, ms);
      pc.addEventListener('icegatheringstatechange', done);
    });
  }

  // backoff is the delay before retry number attempt (1, 2, …): 0.5 s
  // doubling to max, ±20 % jitter so that many clients do not return at once.
  function backoff(attempt, max) {
    const base = Math.min(max || 15000, 500 * Math.pow(2, Math.min(Math.max(attempt, 1) - 1, 6)));
    return base * (0.8 + 0.4 * Math.random());
  }

  const toDb = (x) => (x > 1e-6 ? 20 * Math.log10(x) : -120);

  // probe reads an AnalyserNode: level() gives the peak and RMS in dBFS of
  // the analyser's window, peakHz() the frequency of the strongest FFT bin
  // refined by parabolic interpolation between its neighbours.
  function probe(analyser) {
    let timeBuf = null;
    let freqBuf = null;
    return {
      level() {
        if (!timeBuf || timeBuf.length !== analyser.fftSize) timeBuf = new Float32Array(analyser.fftSize);
        analyser.getFloatTimeDomainData(timeBuf);
        let peak = 0;
        let sum = 0;
        for (let i = 0; i < timeBuf.length; i++) {
          const v = timeBuf[i];
          const a = v < 0 ? -v : v;
          if (a > peak) peak = a;
          sum += v * v;
        }
        return { peakDb: toDb(peak), rmsDb: toDb(Math.sqrt(sum / timeBuf.length)) };
      },
      peakHz() {
        const n = analyser.frequencyBinCount;
        if (!freqBuf || freqBuf.length !== n) freqBuf = new Float32Array(n);
        analyser.getFloatFrequencyData(freqBuf);
        let best = 1;
        for (let i = 2; i < n - 1; i++) if (freqBuf[i] > freqBuf[best]) best = i;
        const b = freqBuf[best];
        if (!Number.isFinite(b)) return { hz: null, db: null };
        const a = freqBuf[best - 1];
        const c = freqBuf[best + 1];
        let p = 0;
        const den = a - 2 * b + c;
        if (Number.isFinite(a) && Number.isFinite(c) && den !== 0) p = Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / den));
        return { hz: ((best + p) * analyser.context.sampleRate) / analyser.fftSize, db: b };
      },
    };
  }

  // analyser makes the node a page's meters and probe read: 8192 samples
  // (about 170 ms at 48 kHz), lightly smoothed, so that both pages report
  // levels alike.
  function analyser(ctx) {
    const a = ctx.createAnalyser();
    a.fftSize = 8192;
    a.smoothingTimeConstant = 0.3;
    return a;
  }

  // release disconnects a Web Audio source node and stops the media element
  // that played its stream; either may be null.
  function release(node, el) {
    if (node) {
      try {
        node.disconnect();
      } catch (e) {
        // not connected
      }
    }
    if (el) {
      el.pause();
      el.srcObject = null;
    }
  }

  const METER_FLOOR = -60;

  // meter drives a role="meter" element whose cover child hides the scale
  // above the level. The bar rises at once and falls at 20 dB/s; the
  // accessible value changes at most twice a second so that screen readers
  // are not flooded. The cover is scaled, not resized, so that a level
  // painted every frame costs no layout.
  function meter(el, cover, text) {
    let db = METER_FLOOR;
    let last = 0;
    let ariaLast = 0;
    let shown = null;
    function paint(now, force) {
      const frac = (db - METER_FLOOR) / -METER_FLOOR;
      cover.style.setProperty('transform', 'scaleX(' + (1 - frac).toFixed(3) + ')');
      if (!force && now - ariaLast < 500) return;
      ariaLast = now;
      const rounded = Math.round(db);
      if (rounded === shown) return;
      shown = rounded;
      el.setAttribute('aria-valuenow', String(rounded));
      el.setAttribute('aria-valuetext', rounded <= METER_FLOOR ? text.silent() : text.value(rounded));
    }
    return {
      // update shows a new reading (peak dBFS, or null for none) at time now (ms).
      update(peakDb, now) {
        const dt = last ? Math.min(0.25, (now - last) / 1000) : 0;
        last = now;
        const v = Math.max(METER_FLOOR, Math.min(0, peakDb === null || peakDb === undefined ? METER_FLOOR : peakDb));
        db = v >= db ? v : Math.max(v, db - 20 * dt);
        paint(now, false);
      },
      reset() {
        db = METER_FLOOR;
        last = 0;
        paint(performance.now(), true);
      },
    };
  }

  // eventInfo asks the event API (same origin) about an event: it resolves
  // to the answer's JSON, or to null when there is none.
  function eventInfo(id) {
    return fetch('/api/events/' + encodeURIComponent(id), { headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null);
  }

  // wsURL turns a same-origin path (or an http(s) URL) into a ws(s) URL.
  function wsURL(path) {
    const u = new URL(String(path || ''), window.location.href);
    if (u.protocol === 'https:') u.protocol = 'wss:';
    else if (u.protocol === 'http:') u.protocol = 'ws:';
    return u.href;
  }

  // captionFeed keeps a WebSocket to a live caption feed open, reconnecting
  // with backoff, and hands each message ({type: "partial"|"cue", lang, start,
  // end, text}) to on.message; on.state hears 'connecting', 'live',
  // 'reconnecting' and 'off'. close() ends it for good.
  function captionFeed(path, on) {
    let sock = null;
    let timer = 0;
    let attempts = 0;
    let closed = false;
    const state = (s) => {
      if (on.state) on.state(s);
    };
    function connect() {
      if (closed) return;
      let ws;
      try {
        ws = new WebSocket(wsURL(path));
      } catch (e) {
        again();
        return;
      }
      sock = ws;
      ws.addEventListener('open', () => {
        if (sock !== ws) return;
        attempts = 0;
        state('live');
      });
      ws.addEventListener('message', (ev) => {
        if (sock !== ws || typeof ev.data !== 'string') return;
        let m;
        try {
          m = JSON.parse(ev.data);
        } catch (e) {
          return;
        }
        if (m && (m.type === 'partial' || m.type === 'cue') && typeof m.text === 'string') on.message(m);
      });
      ws.addEventListener('close', () => {
        if (sock !== ws) return;
        sock = null;
        again();
      });
    }
    function again() {
      if (closed) return;
      attempts++;
      state('reconnecting');
      timer = window.setTimeout(connect, backoff(attempts, 15000));
    }
    state('connecting');
    connect();
    return {
      close() {
        closed = true;
        window.clearTimeout(timer);
        const ws = sock;
        sock = null;
        if (ws) ws.close();
        state('off');
      },
    };
  }

  // captionView shows a live caption feed in el: the settled cue in a child
  // that screen readers announce politely (once per cue), the line being
  // recognized in one they do not (it changes several times a second). CSS
  // keeps the last two lines in view. A cue fades after its duration plus a
  // moment when nothing follows it. With opts.announce false nothing is
  // announced (an interpreter at work must not hear a screen reader).
  function captionView(el, opts) {
    el.textContent = '';
    const cue = document.createElement('div');
    cue.className = 'cap-cue';
    cue.setAttribute('aria-live', opts && opts.announce === false ? 'off' : 'polite');
    cue.setAttribute('aria-atomic', 'true');
    const partial = document.createElement('div');
    partial.className = 'cap-partial';
    partial.setAttribute('aria-live', 'off');
    el.append(cue, partial);
    let fade = 0;
    const setLines = (box, text) => {
      box.textContent = '';
      for (const line of String(text).split('\n')) {
        if (!line.trim()) continue;
        const d = document.createElement('div');
        d.className = 'cap-line';
        d.textContent = line;
        box.append(d);
      }
    };
    const sync = () => {
      el.dataset.empty = cue.childElementCount || partial.childElementCount ? 'false' : 'true';
    };
    sync();
    return {
      show(m) {
        if (m.type === 'cue') {
          window.clearTimeout(fade);
          setLines(partial, '');
          setLines(cue, m.text);
          const hold = Math.min(10000, Math.max(3000, ((Number(m.end) || 0) - (Number(m.start) || 0)) * 1000 + 2000));
          fade = window.setTimeout(() => {
            setLines(cue, '');
            sync();
          }, hold);
        } else {
          setLines(partial, m.text);
        }
        sync();
      },
      clear() {
        window.clearTimeout(fade);
        setLines(cue, '');
        setLines(partial, '');
        sync();
      },
      // lines are the caption lines on screen now, the last two.
      lines() {
        return Array.from(el.querySelectorAll('.cap-line'))
          .map((d) => d.textContent)
          .slice(-2);
      },
    };
  }

  window.tolkCommon = Object.freeze({
    readJSON, translator, storage, iceGatheringDone, backoff, analyser, probe, release, meter, eventInfo, wsURL, captionFeed, captionView,
  });
})();
