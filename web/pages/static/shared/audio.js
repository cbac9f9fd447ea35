// The Web Audio analyser both pages use, its level and frequency readings,
// and the level meter that shows them.

const toDb = (x) => (x > 1e-6 ? 20 * Math.log10(x) : -120);

// probe reads an AnalyserNode: level() gives the peak and RMS in dBFS of
// the analyser's window, peakHz() the frequency of the strongest FFT bin
// refined by parabolic interpolation between its neighbours.
export function probe(analyser) {
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
export function analyser(ctx) {
  const a = ctx.createAnalyser();
  a.fftSize = 8192;
  a.smoothingTimeConstant = 0.3;
  return a;
}

// release disconnects a Web Audio source node and stops the media element
// that played its stream; either may be null.
export function release(node, el) {
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
export function meter(el, cover, text) {
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
