// watch_captions.mjs BASE_URL [--event demo] [--lang en] [--cues 1] [--partials] [--timeout 120]
//
// Opens /watch/{event} in Chromium, chooses Standard (HLS), picks the caption
// language through the page's picker, presses Play and waits for --cues
// settled cues over the live caption WebSocket.
//
// Prints one JSON object:
//   ok, error?           finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   subtitle_tracks      [{name, lang}] WebVTT subtitle renditions hls.js lists
//   caption_options      values of the caption picker ("" is Off)
//   caption_state        state of the caption feed ("live")
//   cues                 [{text, start, end, shown_at_media_time}]: settled cues, with the
//                        audio element's currentTime when each arrived
//   partials_seen        partial lines received before the last cue
//   partials             [{text, shown}] partial lines with the wall-clock ms of the
//                        frame that painted each (--partials; the last 400)
//   lines                caption lines on screen at the end
//   first_cue_ms         live → the wait for the cues ends
//   page_errors?, console_errors?  uncaught page exceptions and console errors

import { run, openWatch, chooseMode, pressPlay, sleep } from './lib.mjs';

await run('watch_captions', { event: 'demo', lang: 'en', cues: 1, partials: false, timeout: 120 }, async ({ opts, out, page }) => {
  out.event = opts.event;
  out.lang = opts.lang;
  await openWatch(page, opts, out);
  await chooseMode(page, 'hls', out);

  out.step = 'caption picker';
  // Without a server-given list the page asks the event API first.
  await page.waitForFunction(
    (want) => Array.from(document.querySelectorAll('#captions option')).some((o) => o.value === want),
    opts.lang,
    { timeout: 10000 },
  ).catch(() => {});
  out.caption_options = await page.$$eval('#captions option', (os) => os.map((o) => o.value));
  if (!out.caption_options.includes(opts.lang)) throw new Error(`captions ${opts.lang} are not in the picker (${out.caption_options.join(', ')})`);
  await page.selectOption('#captions', opts.lang);

  await pressPlay(page, out);
  const t0 = Date.now();

  out.step = 'subtitle tracks';
  await page.waitForFunction(() => window.tolkWatch.subtitleTracks().length > 0, null, { timeout: 10000 }).catch(() => {});
  out.subtitle_tracks = await page.evaluate(() => window.tolkWatch.subtitleTracks());

  out.step = `wait for ${opts.cues} settled cue(s)`;
  await page.waitForFunction(
    (n) => window.tolkWatch.captions().history.filter((h) => h.type === 'cue' && h.media !== null).length >= n,
    opts.cues,
    { timeout: Math.max(10, opts.timeout - 15) * 1000, polling: 100 },
  );
  out.first_cue_ms = Date.now() - t0;
  const caps = await page.evaluate(() => window.tolkWatch.captions());
  // Cues that arrived while the audio played (the feed opens with the picker).
  const cues = caps.history.filter((h) => h.type === 'cue' && h.media !== null);
  const lastCueAt = cues[cues.length - 1].at;
  const startAt = caps.history.length ? caps.history[0].at : 0;
  out.cues = cues.map((h) => ({ text: h.text, start: h.start, end: h.end, shown_at_media_time: h.media === null ? null : Math.round(h.media * 100) / 100 }));
  out.partials_seen = caps.history.filter((h) => h.type === 'partial' && h.at <= lastCueAt).length;
  out.partials_while_playing = caps.history.filter((h) => h.type === 'partial' && h.media !== null && h.at <= lastCueAt).length;
  if (opts.partials) {
    out.partials = caps.history.filter((h) => h.type === 'partial' && h.shown).slice(-400).map((h) => ({ text: h.text, shown: h.shown }));
  }
  out.caption_state = caps.state;
  out.caption_lang = caps.lang;
  out.history_span_ms = lastCueAt - startAt;
  await sleep(200);
  out.lines = await page.evaluate(() => window.tolkWatch.captions().lines);
  out.step = 'finish';
});
