// How far what a page plays trails the program. Program time is the server's
// media time in 48 kHz samples; RTP timestamps of every stream the server
// sends are program time (mod 2^32) and HLS program date-times count from
// its epoch. The server's answers (booth pongs, players' reports) carry its
// clock and the program time being played then, from which the page
// estimates the program time now on its own clock.

export const PER_MS = 48; // program samples per millisecond
const WRAP = 2 ** 32;

// serverClock estimates the server's clock from request/answer pairs. The
// offset between the clocks comes from the pair with the smallest round
// trip among the recent ones (its answer was stamped nearest the middle);
// the program time is anchored at the latest answer, both of whose numbers
// are the server's own, so a drifting program clock is followed.
export function serverClock({ keep = 12, maxAgeMs = 120000 } = {}) {
  const samples = []; // {rtt, offset, at}
  let anchor = null; // {serverMs, pts}
  let best = null;
  function pick(now) {
    while (samples.length && (samples.length > keep || now - samples[0].at > maxAgeMs)) samples.shift();
    best = null;
    for (const s of samples) if (!best || s.rtt < best.rtt) best = s;
  }
  return {
    // add takes one answer: tSend and tRecv on the page's clock
    // (performance.now()), the server's clock and program time in it.
    add(tSend, tRecv, serverMs, pts) {
      if (![tSend, tRecv, serverMs].every(Number.isFinite) || tRecv < tSend) return;
      samples.push({ rtt: tRecv - tSend, offset: serverMs - (tSend + tRecv) / 2, at: tRecv });
      if (Number.isFinite(pts) && pts >= 0) anchor = { serverMs, pts };
      pick(tRecv);
    },
    get ready() {
      return !!best && !!anchor;
    },
    // rtt and offset of the pair in use (offset: server clock − page clock).
    get rtt() {
      return best ? best.rtt : null;
    },
    get offset() {
      return best ? best.offset : null;
    },
    // programAt is the program time being played on the server at page
    // time pageMs (performance.now()), or null before the first answer.
    programAt(pageMs) {
      if (!best || !anchor) return null;
      return anchor.pts + (pageMs + best.offset - anchor.serverMs) * PER_MS;
    },
  };
}

// pageTimeOf turns the timestamp of an RTCRtpSynchronizationSource into page
// time. The specification stamps it performance.timeOrigin +
// performance.now() (Chromium 156 does: Unix-epoch milliseconds); older
// browsers used the performance clock itself or the wall clock. The frame
// was played a moment ago, so the clock in which it is youngest is the one.
export function pageTimeOf(ts) {
  const now = performance.now();
  const ages = [
    ['origin', performance.timeOrigin + now - ts],
    ['date', Date.now() - ts],
    ['performance', now - ts],
  ];
  let best = ages[0];
  for (const a of ages) if (Math.abs(a[1]) < Math.abs(best[1])) best = a;
  return { at: now - best[1], clock: best[0], age: best[1] };
}

// outputMs is the audio output's own delay, from an AudioContext.
export function outputMs(ctx) {
  if (!ctx) return 0;
  if (ctx.outputLatency > 0) return ctx.outputLatency * 1000;
  return ctx.baseLatency > 0 ? ctx.baseLatency * 1000 : 0;
}

// receiverDelay measures how far the audio a receiver last played trails
// the program: the program time at the moment it was played less its RTP
// timestamp, plus the output's delay (ms). It returns {ms, clock} or null
// when nothing was played lately or the clock is not known yet.
export function receiverDelay(receiver, clock, outMs) {
  if (!receiver || typeof receiver.getSynchronizationSources !== 'function' || !clock.ready) return null;
  let src = null;
  for (const s of receiver.getSynchronizationSources()) {
    if (Number.isFinite(s.timestamp) && Number.isFinite(s.rtpTimestamp) && (!src || s.timestamp > src.timestamp)) src = s;
  }
  if (!src) return null;
  const played = pageTimeOf(src.timestamp);
  if (played.age > 2000) return null; // nothing played for a while
  const prog = clock.programAt(played.at);
  let d = (prog - src.rtpTimestamp) % WRAP;
  if (d < 0) d += WRAP;
  if (d > WRAP / 2) d -= WRAP; // ahead of the program: the clock estimate is off
  return bounded(d / PER_MS + (outMs || 0), played.clock);
}

// programDateDelay measures an HLS player's delay: the program time now
// less the program time of its playhead, dated by EXT-X-PROGRAM-DATE-TIME,
// which counts from epochMs (program time zero), plus the output's delay.
export function programDateDelay(playingDate, epochMs, clock, outMs) {
  if (!playingDate || !(epochMs > 0) || !clock.ready) return null;
  const t = playingDate instanceof Date ? playingDate.getTime() : Number(playingDate);
  if (!Number.isFinite(t)) return null;
  const playhead = (t - epochMs) * PER_MS;
  return bounded((clock.programAt(performance.now()) - playhead) / PER_MS + (outMs || 0), 'program-date');
}

// bounded keeps a measurement that makes sense: a little below zero is the
// clock estimate's error (read as zero), far below or beyond ten minutes is
// a wrong reading.
function bounded(ms, clock) {
  if (!Number.isFinite(ms) || ms < -100 || ms > 600000) return null;
  return { ms: Math.max(0, ms), clock };
}
