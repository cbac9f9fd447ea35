// watch_webrtc_video.mjs BASE_URL [--event test] [--lang en] [--switch fr] [--timeout 90]
//
// Opens /watch/{event} in Chromium, chooses Low latency (WebRTC), presses
// Play and waits for the floor's picture over WHEP; reports the video's
// inbound-rtp stats (frames decoded, size, codec), the stage's element and
// what plays (frequency and level of the page's analyser). Then it switches
// language (--switch, a new WHEP session) while sampling the stage every
// 50 ms, and reports whether a picture stayed on it throughout and what the
// new session decodes.
//
// Prints one JSON object:
//   ok, error?                   finished / why not
//   state                        page state after Play
//   first_picture_ms             Play pressed → the stage shows a picture
//   video                        {framesDecoded, frameWidth, frameHeight, keyFramesDecoded, pliCount, codec, elementWidth}
//   shown, width, height         the stage's visibility and its <video>'s size
//   peak_hz, level_rms_dbfs      what plays
//   switch                       {lang, state, peak_hz, min_width, hidden_samples, samples, video, picture_ms}

import { run, openWatch, chooseMode, chooseLang, pressPlay, waitState, stablePeak, sleep } from './lib.mjs';

await run('watch_webrtc_video', { event: 'test', lang: 'en', switch: [], timeout: 90 }, async ({ opts, out, page }) => {
  await openWatch(page, opts, out);
  await chooseMode(page, 'webrtc', out);
  await chooseLang(page, opts.lang, out);
  const t0 = Date.now();
  await pressPlay(page, out);
  out.state = await page.evaluate(() => window.tolkWatch.state);
  out.step = 'wait for the picture';
  const stage = () => page.evaluate(() => {
    const st = document.getElementById('stage');
    const v = document.querySelector('#picture video');
    return { shown: !!(st && !st.hidden), width: v ? v.videoWidth : 0, height: v ? v.videoHeight : 0 };
  });
  await page.waitForFunction(() => {
    const st = document.getElementById('stage');
    const v = document.querySelector('#picture video');
    return st && !st.hidden && v && v.videoWidth > 0;
  }, null, { timeout: 20000, polling: 50 });
  out.first_picture_ms = Date.now() - t0;
  await sleep(2000);
  Object.assign(out, await stage());
  const stats = await page.evaluate(() => window.tolkWatch.rtcStats());
  out.video = stats && stats.video;
  const peak = await stablePeak(page, { timeoutMs: 10000 });
  out.peak_hz = peak.hz;
  const level = await page.evaluate(() => window.tolkWatch.level());
  out.level_rms_dbfs = level ? Math.round(level.rmsDb * 10) / 10 : null;

  for (const lang of opts.switch) {
    out.step = `switch to ${lang}`;
    const samples = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push(await stage());
        await sleep(50);
      }
    })();
    const s0 = Date.now();
    await chooseLang(page, lang, out);
    await page.waitForFunction(() => window.tolkWatch.state !== 'live', null, { timeout: 5000, polling: 20 }).catch(() => {});
    await waitState(page, 'live', 20000);
    // The new session's own picture: its stats decode frames.
    await page.waitForFunction(async () => {
      const s = await window.tolkWatch.rtcStats();
      return s && s.video && s.video.framesDecoded > 0;
    }, null, { timeout: 20000, polling: 100 });
    const pictureMs = Date.now() - s0;
    await sleep(1500);
    sampling = false;
    await sampler;
    const st = await page.evaluate(() => window.tolkWatch.rtcStats());
    const p = await stablePeak(page, { timeoutMs: 10000 });
    out.switch = {
      lang,
      state: await page.evaluate(() => window.tolkWatch.state),
      peak_hz: p.hz,
      picture_ms: pictureMs,
      samples: samples.length,
      hidden_samples: samples.filter((x) => !x.shown).length,
      min_width: Math.min(...samples.map((x) => x.width)),
      video: st && st.video,
    };
  }
});
