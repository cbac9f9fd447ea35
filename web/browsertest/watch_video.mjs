// watch_video.mjs BASE_URL [--event demo] [--langs fr] [--timeout 120]
//
// Opens /watch/{event} in Chromium, chooses Standard (HLS), presses Play and
// reports the floor's picture on the page (size, decoded frames, whether the
// stage shows it), then switches to each --langs entry through the page's
// picker and reports that the picture keeps going (frames decoded on) and
// the language plays; finally puts the captions over the picture by
// keyboard.
//
// Prints one JSON object:
//   ok, error?        finished / why not
//   video_at_load     the page's configuration said the event has video
//   picture_at_start  the same as picture, when the page first plays
//   picture           {video, width, height, frames, shown} once playing
//   switches          per language: {lang, track, frames_before, frames_after, peak_hz, state}
//   captions_over     the caption area sits on the stage after the checkbox is ticked by keyboard
//   tracks            [{name, lang}] audio tracks hls.js lists

import { run, openWatch, chooseMode, chooseLang, pressPlay, stablePeak, sleep } from './lib.mjs';

await run('watch_video', { event: 'demo', langs: [], timeout: 120 }, async ({ opts, out, page }) => {
  await openWatch(page, opts, out);
  // Whether the page knew of the picture when it loaded, or found it later
  // through the event API.
  out.video_at_load = await page.evaluate(() => !!JSON.parse(document.getElementById('tolk-config').textContent).video);
  await chooseMode(page, 'hls', out);
  out.connect_ms = await pressPlay(page, out);
  out.picture_at_start = await page.evaluate(() => window.tolkWatch.picture());
  out.step = 'picture';
  await page.waitForFunction(() => {
    const p = window.tolkWatch.picture();
    return p.shown && p.width > 0 && p.frames > 10;
  }, null, { timeout: 45000, polling: 100 });
  out.picture = await page.evaluate(() => window.tolkWatch.picture());
  out.tracks = await page.evaluate(() => window.tolkWatch.audioTracks().map((t) => ({ name: t.name, lang: t.lang })));
  out.switches = [];
  for (const lang of opts.langs) {
    const before = await page.evaluate(() => window.tolkWatch.picture().frames);
    await chooseLang(page, lang, out);
    out.step = `switch to ${lang}`;
    await page.waitForFunction((want) => {
      const t = window.tolkWatch.audioTrack();
      return t && t.lang === want;
    }, lang, { timeout: 15000, polling: 50 });
    await sleep(3000);
    const peak = await stablePeak(page, { timeoutMs: 10000 });
    const track = await page.evaluate(() => window.tolkWatch.audioTrack());
    out.switches.push({
      lang,
      track: track ? track.lang : null,
      frames_before: before,
      frames_after: await page.evaluate(() => window.tolkWatch.picture().frames),
      peak_hz: peak.hz,
      state: await page.evaluate(() => window.tolkWatch.state),
    });
  }
  out.step = 'captions over the picture';
  await page.focus('#captions-over');
  await page.keyboard.press('Space');
  out.captions_over = await page.evaluate(() => window.tolkWatch.picture().captionsOver);
});
