// hls_subtitles.mjs BASE_URL [--event test] [--lang en] [--behind 6] [--cues 4] [--timeout 90]
//
// Plays an event's LL-HLS master in hls.js (the copy the watch page serves)
// --behind seconds behind the live edge, more than the recognizer's lag, so
// cues are known before their words play. It selects the subtitle track of --lang
// and records the cues hls.js exposes (CUES_PARSED) and, from the audio
// itself, the media time of every tone burst onset (a Web Audio processor
// on the element's output). Used on a floor of beeps whose words are timed
// on the beeps, so each cue should start at a beep.
//
// Prints one JSON object:
//   ok, error?           finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   subtitle_tracks      [{name, lang}] hls.js lists
//   cues                 [{text, start, end}] cues hls.js exposed for the selected track (media time, s)
//   onsets               media times (s) at which a tone burst began in the audio heard (this
//                        includes the Web Audio path's own latency, which varies with load)
//   audio_frags          [{sn, start, type}] where hls.js placed each audio segment (media time, s)
//   pairs                [{text, cue, onset, diff_ms}] each cue with the onset nearest its start
//   played_from          media time playback began at
//   log                  hls.js subtitle events, for diagnosis
//   page_errors?, console_errors?

import { run, sleep } from './lib.mjs';

await run('hls_subtitles', { event: 'test', lang: 'en', behind: 6, cues: 4, timeout: 90 }, async ({ opts, out, page }) => {
  out.step = 'open page';
  // The watch page carries hls.js; this script drives its own player.
  const target = `${opts.url}/watch/${encodeURIComponent(opts.event)}`;
  const resp = await page.goto(target, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`GET ${target}: ${resp ? resp.status() : 'no response'}`);
  await page.waitForFunction(() => typeof window.Hls === 'function', null, { timeout: 10000 });

  out.step = 'start player';
  await page.evaluate(({ src, lang, behind }) => {
    const t = { cues: [], onsets: [], frags: [], tracks: [], errors: [], playedFrom: null };
    window.__subs = t;
    const media = document.createElement('audio');
    document.body.appendChild(media);
    const hls = new window.Hls({
      lowLatencyMode: false,
      enableWorker: false, // as on the watch page, whose CSP allows no blob: worker
      liveSyncDuration: behind,
      liveMaxLatencyDuration: behind + 10,
      maxLiveSyncPlaybackRate: 1,
      renderTextTracksNatively: false,
      subtitleDisplay: true,
    });
    window.__hls = hls;
    window.__media = media;
    hls.on(window.Hls.Events.SUBTITLE_TRACKS_UPDATED, (_, d) => {
      t.tracks = d.subtitleTracks.map((x) => ({ name: x.name, lang: x.lang || '' }));
      const i = d.subtitleTracks.findIndex((x) => x.lang === lang);
      if (i >= 0 && hls.subtitleTrack !== i) hls.subtitleTrack = i;
    });
    // Where hls.js put each audio segment on the media timeline.
    hls.on(window.Hls.Events.FRAG_BUFFERED, (_, d) => {
      const f = d.frag;
      if ((f.type === 'main' || f.type === 'audio') && typeof f.sn === 'number' && t.frags.length < 500) {
        t.frags.push({ sn: f.sn, start: f.start, type: f.type });
      }
    });
    hls.on(window.Hls.Events.CUES_PARSED, (_, d) => {
      for (const c of d.cues) t.cues.push({ text: c.text, start: c.startTime, end: c.endTime, track: d.track });
    });
    t.log = [];
    for (const ev of ['SUBTITLE_TRACK_SWITCH', 'SUBTITLE_TRACK_LOADED', 'SUBTITLE_FRAG_PROCESSED', 'INIT_PTS_FOUND']) {
      hls.on(window.Hls.Events[ev], (_, d) => { if (t.log.length < 40) t.log.push(ev + ' ' + (d.frag ? d.frag.sn : d.id ?? '') + ' ' + (d.success ?? '') + ' ' + (d.initPTS ?? '')); });
    }
    hls.on(window.Hls.Events.ERROR, (_, d) => {
      if (t.log.length < 40) t.log.push('ERROR ' + d.details);
      if (d.fatal) t.errors.push(`${d.type}: ${d.details}`);
    });

    // Onsets: a burst starts when 2.7 ms blocks turn loud after at least
    // 200 ms of quiet. The processor is handed what the element just played,
    // so the block's media time is the element's time minus the samples
    // still to come in this buffer.
    const ctx = new AudioContext();
    const srcNode = ctx.createMediaElementSource(media);
    const proc = ctx.createScriptProcessor(256, 1, 1);
    const block = 128;
    let quiet = 0;
    proc.onaudioprocess = (ev) => {
      const x = ev.inputBuffer.getChannelData(0);
      const now = media.currentTime;
      if (media.paused || media.readyState < 3) return;
      for (let b = 0; b + block <= x.length; b += block) {
        let e = 0;
        for (let i = b; i < b + block; i++) e += x[i] * x[i];
        const rms = Math.sqrt(e / block);
        if (rms > 0.05) {
          if (quiet * block >= 0.2 * ctx.sampleRate) t.onsets.push(now - (x.length - b) / ctx.sampleRate);
          quiet = 0;
        } else {
          quiet++;
        }
      }
    };
    srcNode.connect(proc);
    proc.connect(ctx.destination);
    media.addEventListener('playing', () => {
      if (t.playedFrom === null) t.playedFrom = media.currentTime;
    });
    hls.loadSource(src);
    hls.attachMedia(media);
    hls.on(window.Hls.Events.MANIFEST_PARSED, () => {
      ctx.resume();
      media.play().catch((err) => t.errors.push(String(err)));
    });
  }, { src: `${opts.url}/hls/${encodeURIComponent(opts.event)}/master.m3u8`, lang: opts.lang, behind: opts.behind });

  out.step = `wait for ${opts.cues} cues heard`;
  // A cue counts once its start has been played past (its onset heard).
  const deadline = Date.now() + Math.max(10, opts.timeout - 10) * 1000;
  for (;;) {
    const s = await page.evaluate(() => {
      const t = window.__subs;
      const now = window.__media.currentTime;
      return { errors: t.errors, heard: t.cues.filter((c) => c.start + 0.5 < now).length };
    });
    if (s.errors.length) throw new Error(`hls.js: ${s.errors.join('; ')}`);
    if (s.heard >= opts.cues) break;
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  const t = await page.evaluate(() => window.__subs);
  await page.evaluate(() => window.__hls.destroy());
  out.subtitle_tracks = t.tracks;
  out.log = t.log;
  out.played_from = t.playedFrom === null ? null : round3(t.playedFrom);
  out.onsets = t.onsets.map(round3);
  out.audio_frags = t.frags.map((f) => ({ sn: f.sn, start: round3(f.start), type: f.type }));
  // hls.js may parse a segment's cues more than once (playlist reloads).
  const seen = new Set();
  out.cues = [];
  for (const c of t.cues) {
    const k = `${c.start.toFixed(3)}|${c.text}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.cues.push({ text: c.text, start: round3(c.start), end: round3(c.end) });
  }
  out.pairs = [];
  for (const c of out.cues) {
    let best = null;
    for (const o of t.onsets) if (best === null || Math.abs(o - c.start) < Math.abs(best - c.start)) best = o;
    if (best !== null && Math.abs(best - c.start) < 1) {
      out.pairs.push({ text: c.text, cue: c.start, onset: round3(best), diff_ms: Math.round((best - c.start) * 1000) });
    }
  }
  if (out.pairs.length < opts.cues) throw new Error(`${out.pairs.length} cues matched a heard onset, want ${opts.cues}`);
  out.step = 'finish';
});

function round3(x) {
  return Math.round(x * 1000) / 1000;
}
