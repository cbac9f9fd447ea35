// watch_webrtc.mjs BASE_URL [--event demo] [--lang fr] [--switch es,de] [--listen 3] [--timeout 90]
//
// Opens /watch/{event} in Chromium, chooses Low latency (WebRTC), picks the
// language, presses Play and reports the state, the dominant frequency of
// what plays (the page's Web Audio analyser), the inbound-rtp audio stats from
// getStats, and the WHEP requests the page made. --switch changes language
// through the picker afterwards (a new WHEP session each) and measures again.
// Finally it presses Stop and checks that the page ended its WHEP session(s)
// with DELETE.
//
// Prints one JSON object:
//   ok, error?           finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   lang, connect_ms     language asked for; Play pressed → state "live"
//   state                page state after Play ("live")
//   peak_hz, peak_db, stable   dominant frequency of what plays (stable: 5 samples within 4 Hz)
//   level_peak_dbfs, level_rms_dbfs   level of what plays
//   connection_state     RTCPeerConnection.connectionState
//   inbound              inbound-rtp audio: {packetsReceived, packetsLost, jitter (s), bytesReceived,
//                        concealedSamples, totalSamplesReceived, jitterBufferDelay,
//                        jitterBufferEmittedCount, codec}
//   packets_growing      packetsReceived grew while listening
//   switches             per --switch entry: the same facts for that language, plus connect_ms
//   stopped              Stop pressed and the state went back to "idle"
//   whep                 [{method, path, status, content_type?, location?}] WHEP requests seen
//   whep_sessions_left_open   201 POSTs minus successful DELETEs (0 expected)
//   page_errors?, console_errors?

import { run, openWatch, chooseMode, chooseLang, pressPlay, waitState, stablePeak, sleep } from './lib.mjs';

await run('watch_webrtc', { event: 'demo', lang: 'en', switch: [], listen: 3, timeout: 90 }, async ({ opts, out, page }) => {
  out.event = opts.event;
  const whep = [];
  const answered = new WeakSet();
  page.on('response', (r) => {
    const req = r.request();
    if (!new URL(req.url()).pathname.startsWith('/whep/')) return;
    answered.add(req);
    whep.push({
      method: req.method(),
      path: new URL(req.url()).pathname,
      status: r.status(),
      content_type: req.method() === 'POST' ? req.headers()['content-type'] || null : undefined,
      location: r.headers()['location'] || undefined,
    });
  });
  page.on('requestfailed', (req) => {
    // A keepalive DELETE is reported failed after its response when the page
    // lets go of it; only requests that got no answer count.
    if (!answered.has(req) && new URL(req.url()).pathname.startsWith('/whep/')) {
      whep.push({ method: req.method(), path: new URL(req.url()).pathname, status: 0, failure: req.failure() && req.failure().errorText });
    }
  });

  await openWatch(page, opts, out);
  await chooseMode(page, 'webrtc', out);
  out.mode = 'webrtc';
  await chooseLang(page, opts.lang, out);
  out.lang = opts.lang;
  out.connect_ms = await pressPlay(page, out);
  out.state = await page.evaluate(() => window.tolkWatch.state);

  const listen = async (lang) => {
    out.step = `listen to ${lang}`;
    const first = await page.evaluate(() => window.tolkWatch.rtcStats());
    const t0 = Date.now();
    const peak = await stablePeak(page, { timeoutMs: 10000 });
    const left = opts.listen * 1000 - (Date.now() - t0);
    if (left > 0) await sleep(left);
    const stats = await page.evaluate(() => window.tolkWatch.rtcStats());
    const level = await page.evaluate(() => window.tolkWatch.level());
    const inb = stats && stats.inbound;
    const firstInb = first && first.inbound;
    return {
      lang,
      state: await page.evaluate(() => window.tolkWatch.state),
      peak_hz: peak.hz,
      peak_db: peak.db,
      stable: peak.stable,
      level_peak_dbfs: level ? Math.round(level.peakDb * 10) / 10 : null,
      level_rms_dbfs: level ? Math.round(level.rmsDb * 10) / 10 : null,
      connection_state: stats ? stats.connectionState : null,
      inbound: inb,
      packets_growing: !!(inb && firstInb && inb.packetsReceived > firstInb.packetsReceived),
    };
  };

  const r = await listen(opts.lang);
  Object.assign(out, {
    peak_hz: r.peak_hz,
    peak_db: r.peak_db,
    stable: r.stable,
    level_peak_dbfs: r.level_peak_dbfs,
    level_rms_dbfs: r.level_rms_dbfs,
    connection_state: r.connection_state,
    inbound: r.inbound,
    packets_growing: r.packets_growing,
  });

  out.switches = [];
  for (const lang of opts.switch) {
    const t0 = Date.now();
    await chooseLang(page, lang, out);
    out.step = `reconnect to ${lang}`;
    // The page opens a new WHEP session for the language: wait for it.
    await page.waitForFunction(() => window.tolkWatch.state !== 'live', null, { timeout: 5000, polling: 20 }).catch(() => {});
    await waitState(page, 'live', 20000);
    const connectMs = Date.now() - t0;
    const s = await listen(lang);
    s.connect_ms = connectMs;
    out.switches.push(s);
  }

  out.step = 'stop';
  await page.click('#play');
  await waitState(page, 'idle', 5000);
  const posts = () => whep.filter((x) => x.method === 'POST' && x.status === 201).length;
  const deletes = () => whep.filter((x) => x.method === 'DELETE').length;
  // DELETE is sent with keepalive and not awaited by the page: give it time.
  for (let i = 0; i < 30 && deletes() < posts(); i++) await sleep(100);
  out.stopped = true;
  out.whep = whep;
  out.whep_sessions_left_open = posts() - whep.filter((x) => x.method === 'DELETE' && x.status >= 200 && x.status < 300).length;
});
