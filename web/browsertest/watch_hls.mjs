// watch_hls.mjs BASE_URL [--event demo] [--langs en,fr,es,de] [--settle 1] [--timeout 120]
//
// Opens /watch/{event} in Chromium, chooses Standard (HLS), presses Play and
// reports what hls.js lists as audio tracks, whether playback advances, and for
// each language (switched through the page's picker: the same player loads
// that language's master, master.m3u8?audio={lang}) the dominant frequency of what plays, from the page's Web Audio
// analyser on the media element.
//
// Prints one JSON object:
//   ok, error?           finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   connect_ms           Play pressed → state "live"
//   state, final_state   page state after Play and at the end ("live")
//   hls_js               hls.js version used (null: the browser's own HLS)
//   tracks               [{name, lang}] audio tracks hls.js lists
//   playback             {start_s, end_s, rate, paused}: media clock over 2 s of wall clock
//   advancing            true when currentTime grew by more than half the wall time
//   switches             per --langs entry: {lang, track: {name, lang}, peak_hz, peak_db,
//                        stable, switch_ms (picker → hls.js AUDIO_TRACK_SWITCHED),
//                        measured_ms (picker → measurement), state}
//   manifest_loads       master playlist requests (one at the start, one per switch)
//   page_errors?, console_errors?  uncaught page exceptions and console errors

import { run, openWatch, chooseMode, chooseLang, pressPlay, stablePeak, sleep, round1 } from './lib.mjs';

await run('watch_hls', { event: 'demo', langs: [], settle: 1, timeout: 120 }, async ({ opts, out, page }) => {
  out.event = opts.event;
  const manifests = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.endsWith('/master.m3u8')) manifests.push(r.url());
  });
  await openWatch(page, opts, out);
  await chooseMode(page, 'hls', out);
  out.mode = 'hls';
  out.connect_ms = await pressPlay(page, out);
  out.state = await page.evaluate(() => window.tolkWatch.state);
  out.hls_js = await page.evaluate(() => (window.Hls && window.Hls.isSupported() ? window.Hls.version : null));

  out.step = 'audio tracks';
  out.tracks = await page.evaluate(() => window.tolkWatch.audioTracks().map((t) => ({ name: t.name, lang: t.lang })));

  out.step = 'playback';
  const m0 = await page.evaluate(() => window.tolkWatch.media());
  const w0 = Date.now();
  await sleep(2000);
  const m1 = await page.evaluate(() => window.tolkWatch.media());
  const wall = (Date.now() - w0) / 1000;
  out.playback = {
    start_s: round1(m0.currentTime),
    end_s: round1(m1.currentTime),
    rate: Math.round(((m1.currentTime - m0.currentTime) / wall) * 100) / 100,
    paused: m1.paused,
  };
  out.advancing = m1.currentTime - m0.currentTime > 0.5 * wall && !m1.paused;

  out.switches = [];
  for (const lang of opts.langs) {
    const before = await page.evaluate(() => window.tolkWatch.audioTrack());
    const t0 = Date.now();
    await chooseLang(page, lang, out);
    out.step = `switch to ${lang}`;
    // Wait until hls.js has switched to a track of that language, unless it
    // already plays one.
    let switchMs = 0;
    if (!before || before.lang !== lang) {
      await page.waitForFunction(
        ([want, n]) => {
          const t = window.tolkWatch.audioTrack();
          return t && t.lang === want && t.switches > n;
        },
        [lang, before ? before.switches : 0],
        { timeout: 15000, polling: 50 },
      );
      switchMs = Date.now() - t0;
    }
    // Audio buffered before the switch may still be in the old language:
    // measure only once playback has passed all of it.
    const m = await page.evaluate(() => window.tolkWatch.media());
    const wait = Math.max(opts.settle, m.bufferAhead + 0.3);
    await page.waitForFunction(
      ([from, s]) => window.tolkWatch.media() && window.tolkWatch.media().currentTime >= from + s,
      [m.currentTime, wait],
      { timeout: 15000 + wait * 2000, polling: 100 },
    );
    const peak = await stablePeak(page, { timeoutMs: 10000 });
    const track = await page.evaluate(() => window.tolkWatch.audioTrack());
    out.switches.push({
      lang,
      track: track ? { name: track.name, lang: track.lang } : null,
      peak_hz: peak.hz,
      peak_db: peak.db,
      stable: peak.stable,
      switch_ms: switchMs,
      measured_ms: Date.now() - t0,
      state: await page.evaluate(() => window.tolkWatch.state),
    });
  }
  out.step = 'finish';
  out.manifest_loads = manifests.length;
  out.final_state = await page.evaluate(() => window.tolkWatch.state);
});
