// hls_latency.mjs BASE_URL [--event demo] [--lang en] [--duration 10] [--warmup 2] [--interval 0.5] [--timeout 90]
//
// Opens /watch/{event} in Chromium, chooses Standard (HLS), presses Play and
// samples, for --duration seconds, two measures of how far behind live the
// player is: hls.js's own `latency` (distance from the live edge of the
// playlist) and the wall clock minus the EXT-X-PROGRAM-DATE-TIME of what plays
// (hls.playingDate), i.e. glass-to-glass latency when the server stamps PDT
// from the capture clock. Both are reported in milliseconds.
//
// Prints one JSON object:
//   ok, error?           finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   connect_ms           Play pressed → state "live"
//   samples              number of samples taken
//   latency_ms           hls.js latency {min, median, mean, max, last}
//   pdt_latency_ms       Date.now() − hls.playingDate, same summary (null without PDT)
//   samples_without_pdt, samples_not_live
//   target_latency_ms    hls.js targetLatency at the end
//   low_latency_mode     hls.js lowLatencyMode (true)
//   part_target_s        EXT-X-PART-INF PART-TARGET (null: no LL-HLS parts)
//   target_duration_s, live   from the playing playlist
//   final_state

import { run, openWatch, chooseMode, chooseLang, pressPlay, sleep, summary } from './lib.mjs';

await run('hls_latency', { event: 'demo', lang: '', duration: 10, warmup: 2, interval: 0.5, timeout: 90 }, async ({ opts, out, page }) => {
  out.event = opts.event;
  await openWatch(page, opts, out);
  await chooseMode(page, 'hls', out);
  out.mode = 'hls';
  if (opts.lang) {
    await chooseLang(page, opts.lang, out);
    out.lang = opts.lang;
  }
  out.connect_ms = await pressPlay(page, out);
  out.step = 'warm up';
  await sleep(opts.warmup * 1000);

  out.step = 'sample';
  const latency = [];
  const pdt = [];
  let last = null;
  let missingPDT = 0;
  let notLive = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < opts.duration * 1000) {
    const s = await page.evaluate(() => ({ l: window.tolkWatch.latency(), state: window.tolkWatch.state }));
    if (s.state !== 'live') notLive++;
    if (s.l) {
      last = s.l;
      if (Number.isFinite(s.l.latency)) latency.push(s.l.latency * 1000);
      if (s.l.playingDate) pdt.push(s.l.now - s.l.playingDate);
      else missingPDT++;
    }
    await sleep(opts.interval * 1000);
  }
  if (!latency.length) throw new Error('hls.js reported no latency');
  out.samples = latency.length;
  out.latency_ms = summary(latency);
  out.pdt_latency_ms = summary(pdt);
  out.samples_without_pdt = missingPDT;
  out.samples_not_live = notLive;
  out.target_latency_ms = last && Number.isFinite(last.targetLatency) ? Math.round(last.targetLatency * 1000) : null;
  out.low_latency_mode = last ? last.lowLatencyMode : null;
  out.part_target_s = last ? last.partTarget || null : null;
  out.target_duration_s = last ? last.targetDuration : null;
  out.live = last ? last.live : null;
  out.final_state = await page.evaluate(() => window.tolkWatch.state);
});
