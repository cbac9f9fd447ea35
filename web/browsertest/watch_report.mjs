// watch_report.mjs BASE_URL --event test --lang fr --producer P [--modes hls,webrtc] [--wait 25] [--timeout 180]
//
// The watch page in Chromium reports what it plays (POST /api/events/{event}/viewers),
// and the producer's status (GET /api/events/{event}/status with the producer
// token P) counts it. For each mode: choose it and the language, press Play,
// poll the status until the page is counted with a latency (HLS: the
// language's listeners.hls and latency.hls.players; WebRTC:
// latency.webrtc.players); press Stop and time how long until it is no longer
// counted. Once no mode left counts HLS players, a second page plays HLS and
// is closed while playing: its last report (a beacon on pagehide) must take it
// off the count too. Beside all this, a page whose reports are refused with 429
// (the script answers them) must stop reporting and keep playing.
//
// Prints one JSON object:
//   ok, error?       finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   modes            per mode: {mode, connect_ms (Play → live), counted_ms (live → counted with a
//                    latency), listeners (the language's listeners then), latency (the status's
//                    latency.{mode}: players, median_ms, worst_ms), lang_latency (the language's),
//                    page (tolkWatch.report(): id, sent, stopped, status, halted, latencyMs, nextMs,
//                    clock, delayText), delay_visible, samples ([page latency_ms, …] while counted),
//                    cross ({page_ms: the page's delay now, pdt_ms: wall clock − hls.playingDate,
//                    hlsjs_latency_ms: hls.js's own estimate; jitter_buffer_ms: WebRTC's mean jitter
//                    buffer delay}),
//                    stop_ms (Stop → no longer counted), after_stop (the status's counts then),
//                    delay_hidden_after_stop}
//   close            {counted_ms, close_ms (page closed → no longer counted: its "stopped" went out as a
//                    beacon on pagehide, which the browser no longer shows the script once the page is gone)}
//   refused          a page whose reports are answered 429: {requests (reports it sent in 7 s of playing),
//                    state, page (tolkWatch.report()), delay_visible, requests_after_stop}
//   reports          every report the browser saw: [{state, protocol, lang, latency_ms, status}]
//   page_errors?, console_errors?

import { harness, openWatch, chooseMode, chooseLang, pressPlay, waitState, sleep } from './lib.mjs';

await harness('watch_report', { event: 'test', lang: 'fr', producer: '', modes: ['hls', 'webrtc'], wait: 25, timeout: 180 },
  async ({ opts, out, launch }) => {
    if (!opts.producer) throw new Error('--producer is required');
    const ev = encodeURIComponent(opts.event);
    const status = async () => {
      const res = await fetch(new URL(`/api/events/${ev}/status`, opts.url), { headers: { Authorization: `Bearer ${opts.producer}` } });
      if (res.status !== 200) throw new Error(`status: ${res.status}`);
      return res.json();
    };
    const counts = (st, mode) => {
      const lang = st.languages.find((l) => l.tag === opts.lang) || { listeners: {}, latency: {} };
      return {
        listeners: lang.listeners,
        latency: st.latency[mode],
        lang_latency: lang.latency[mode],
      };
    };
    // until polls the status until cond(counts) holds; it returns the
    // milliseconds it took and the counts.
    const until = async (mode, what, cond, ms) => {
      const t0 = Date.now();
      for (;;) {
        const c = counts(await status(), mode);
        if (cond(c)) return { ms: Date.now() - t0, c };
        if (Date.now() - t0 > ms) throw new Error(`${what} not seen in the status within ${ms} ms: ${JSON.stringify(c)}`);
        await sleep(100);
      }
    };
    const reports = [];
    const watchReports = (page) => {
      page.on('request', (r) => {
        if (!new URL(r.url()).pathname.endsWith('/viewers') || r.method() !== 'POST') return;
        let body = {};
        try {
          body = JSON.parse(r.postData() || '{}');
        } catch (e) {
          body = { unreadable: true };
        }
        const rec = { state: body.state, protocol: body.protocol, lang: body.lang, latency_ms: body.latency_ms, type: r.resourceType() };
        reports.push(rec);
        r.response().then((res) => {
          rec.status = res ? res.status() : 0;
        }).catch(() => {});
      });
    };
    const counted = (mode) => (c) => c.latency.players >= 1 && (mode === 'webrtc' || c.listeners.hls >= 1);
    const gone = (mode) => (c) => c.latency.players === 0 && (mode === 'webrtc' ? c.listeners.webrtc === 0 : c.listeners.hls === 0);

    // A server that refuses reports (429: too many players report) is not
    // asked again, and the page plays on. Its reports never reach the
    // server, so it plays beside the others without changing their counts.
    const refusedPage = async () => {
      const page3 = await launch('refused');
      let refused = 0;
      await page3.route('**/viewers', (route) => {
        refused++;
        route.fulfill({ status: 429, contentType: 'application/json', body: '{"error": "too many players report already; keep playing"}' });
      });
      const o = {};
      await openWatch(page3, opts, o);
      await chooseMode(page3, 'hls', o);
      await chooseLang(page3, opts.lang, o);
      await pressPlay(page3, o);
      await sleep(7000);
      out.refused = {
        requests: refused,
        state: await page3.evaluate(() => window.tolkWatch.state),
        page: await page3.evaluate(() => window.tolkWatch.report()),
        delay_visible: await page3.isVisible('#delay'),
      };
      await page3.click('#play');
      await waitState(page3, 'idle', 5000);
      await sleep(300);
      out.refused.requests_after_stop = refused;
    };
    // A page closed while it plays HLS: its "stopped" beacon on pagehide
    // takes it off the count.
    const closeWhilePlaying = async () => {
      const page2 = await launch('closing');
      watchReports(page2);
      const o = {};
      await openWatch(page2, opts, o);
      await chooseMode(page2, 'hls', o);
      await chooseLang(page2, opts.lang, o);
      await pressPlay(page2, o);
      const seen = await until('hls', 'the second page', counted('hls'), opts.wait * 1000);
      const t0 = Date.now();
      await page2.close({ runBeforeUnload: true });
      const off = await until('hls', 'the closed page gone', gone('hls'), 20000);
      out.close = { counted_ms: seen.ms, close_ms: Date.now() - t0, status_ms: off.ms };
    };
    // The refused page from the start, the closing one as soon as no mode
    // left counts HLS players.
    // (A failure there is reported when they are awaited at the end, not as
    // an unhandled rejection before.)
    const beside = [];
    const alongside = (p) => {
      p.catch(() => {});
      beside.push(p);
    };
    alongside(refusedPage());
    const lastHLS = opts.modes.lastIndexOf('hls');
    out.step = 'launch';
    const page = await launch(null);
    watchReports(page);
    await openWatch(page, opts, out);
    out.modes = [];
    for (const [i, mode] of opts.modes.entries()) {
      const r = { mode };
      out.modes.push(r);
      await chooseMode(page, mode, out);
      await chooseLang(page, opts.lang, out);
      r.connect_ms = await pressPlay(page, out);
      out.step = `${mode}: counted`;
      const seen = await until(mode, `a ${mode} player with a latency`, counted(mode), opts.wait * 1000);
      r.counted_ms = seen.ms;
      Object.assign(r, seen.c);
      // Another period: the page keeps reporting, the latency stays put.
      out.step = `${mode}: reporting`;
      r.samples = [];
      const t0 = Date.now();
      while (Date.now() - t0 < 6000) {
        const p = await page.evaluate(() => window.tolkWatch.report());
        if (p.latencyMs !== null && r.samples[r.samples.length - 1] !== p.latencyMs) r.samples.push(p.latencyMs);
        await sleep(1000);
      }
      // The page's delay beside what hls.js says of its own (the wall clock
      // less the program date of the playhead) at the same moment.
      r.cross = await page.evaluate(async () => {
        const l = window.tolkWatch.latency();
        const c = {
          page_ms: window.tolkWatch.delayNow(),
          pdt_ms: l && l.playingDate ? l.now - l.playingDate : null,
          hlsjs_latency_ms: l && l.latency ? l.latency * 1000 : null,
          program_lag_ms: window.tolkWatch.report().programLagMs,
        };
        const st = await window.tolkWatch.rtcStats();
        const i = st && st.inbound;
        if (i && i.jitterBufferEmittedCount) c.jitter_buffer_ms = (i.jitterBufferDelay / i.jitterBufferEmittedCount) * 1000;
        return c;
      });
      const again = counts(await status(), mode);
      r.latency_later = again.latency;
      r.page = await page.evaluate(() => window.tolkWatch.report());
      r.delay_visible = await page.isVisible('#delay');
      out.step = `${mode}: stop`;
      await page.click('#play');
      await waitState(page, 'idle', 5000);
      const off = await until(mode, `the ${mode} player gone`, gone(mode), 20000);
      r.stop_ms = off.ms;
      r.after_stop = off.c;
      r.delay_hidden_after_stop = !(await page.isVisible('#delay'));
      if (i === lastHLS) alongside(closeWhilePlaying());
    }

    await Promise.all(beside);
    out.step = 'report';
    out.reports = reports;
  });
