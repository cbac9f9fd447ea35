// watch_janus.mjs BASE_URL [--event demo] [--lang en] [--switch fr] [--listen 2] [--token PRODUCER] [--timeout 60]
//
// Opens /watch/{event} of an event whose low-latency mode plays from Janus
// (config sfu.watch), chooses Low latency, picks the language, presses Play
// and reports what plays: the state, the dominant frequency and level from
// the page's Web Audio analyser, and the inbound-rtp audio stats. --switch
// changes language through the picker (a new Janus session each) and
// measures again. Finally it presses Stop. Every request to the Janus API
// and to tolk's WHEP is listed. With --token (a producer's), it then opens
// the console in another tab and reads its Restreams panel once every
// output listed is connected.
//
// Prints one JSON object:
//   ok, error?                       finished / why not
//   state, peak_hz, level_rms_dbfs, inbound, packets_growing   for --lang
//   switches                          the same per --switch entry
//   janus                             [{method, kind, status}] Janus API requests ("create", "attach",
//                                     "message:watch", "message:start", "destroy", "poll")
//   whep                              WHEP requests seen (none expected)
//   stopped                           Stop pressed and the state went back to "idle"
//   console                           with --token: [{id, state, name, url, facts: {term: value}}]

import { run, openWatch, chooseMode, chooseLang, pressPlay, waitState, stablePeak, sleep } from './lib.mjs';

await run('watch_janus', { event: 'demo', lang: 'en', switch: [], listen: 2, token: '', timeout: 60 }, async ({ opts, out, page }) => {
  const janus = [];
  const whep = [];
  page.on('response', (r) => {
    const req = r.request();
    const u = new URL(req.url());
    if (u.pathname.startsWith('/whep/')) whep.push({ method: req.method(), path: u.pathname, status: r.status() });
    if (!u.pathname.startsWith('/janus')) return;
    let kind = 'poll';
    if (req.method() === 'POST') {
      try {
        const b = JSON.parse(req.postData() || '{}');
        kind = b.janus === 'message' ? 'message:' + (b.body && b.body.request) : b.janus;
      } catch (e) {
        kind = 'unreadable';
      }
    } else if (req.method() === 'OPTIONS') kind = 'preflight';
    janus.push({ method: req.method(), kind, status: r.status() });
  });

  await openWatch(page, opts, out);
  await chooseMode(page, 'webrtc', out);
  await chooseLang(page, opts.lang, out);
  out.lang = opts.lang;
  out.connect_ms = await pressPlay(page, out);

  const listen = async (lang) => {
    out.step = `listen to ${lang}`;
    const first = await page.evaluate(() => window.tolkWatch.rtcStats());
    const peak = await stablePeak(page, { timeoutMs: 10000 });
    await sleep(opts.listen * 1000);
    const stats = await page.evaluate(() => window.tolkWatch.rtcStats());
    const level = await page.evaluate(() => window.tolkWatch.level());
    const inb = stats && stats.inbound;
    const firstInb = first && first.inbound;
    return {
      lang,
      state: await page.evaluate(() => window.tolkWatch.state),
      peak_hz: peak.hz,
      stable: peak.stable,
      level_rms_dbfs: level ? Math.round(level.rmsDb * 10) / 10 : null,
      connection_state: stats ? stats.connectionState : null,
      inbound: inb,
      packets_growing: !!(inb && firstInb && inb.packetsReceived > firstInb.packetsReceived),
    };
  };

  Object.assign(out, await listen(opts.lang));
  out.switches = [];
  for (const lang of opts.switch) {
    const t0 = Date.now();
    await chooseLang(page, lang, out);
    out.step = `reconnect to ${lang}`;
    await page.waitForFunction(() => window.tolkWatch.state !== 'live', null, { timeout: 5000, polling: 20 }).catch(() => {});
    await waitState(page, 'live', 20000);
    const s = await listen(lang);
    s.connect_ms = Date.now() - t0;
    out.switches.push(s);
  }

  out.step = 'stop';
  await page.click('#play');
  await waitState(page, 'idle', 5000);
  // The page destroys its Janus session with a keepalive request it does
  // not wait for: give it a moment.
  const destroys = () => janus.filter((x) => x.kind === 'destroy').length;
  for (let i = 0; i < 30 && destroys() < 1 + opts.switch.length; i++) await sleep(100);
  out.stopped = true;
  out.janus = janus;
  out.whep = whep;
  if (opts.token) out.console = await readConsole(await page.context().newPage(), opts);
});

// readConsole reads the console's outputs once all are connected.
async function readConsole(page, opts) {
  const q = new URLSearchParams({ token: opts.token });
  const resp = await page.goto(`${opts.url}/console/${encodeURIComponent(opts.event)}?${q}`, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`console page: ${resp ? resp.status() : 'no response'}`);
  await page.waitForFunction(() => {
    const items = document.querySelectorAll('#pushes:not([hidden]) .push');
    return items.length > 0 && Array.from(items).every((li) => li.dataset.state === 'connected');
  }, null, { timeout: 15000 });
  return page.$$eval('#pushes .push', (items) => items.map((li) => {
    const facts = {};
    li.querySelectorAll('dl.kv dt').forEach((dt) => {
      const dd = dt.nextElementSibling;
      facts[dt.textContent.trim()] = dd ? dd.textContent.trim() : '';
    });
    const text = (sel) => {
      const el = li.querySelector(sel);
      return el ? el.textContent.trim() : '';
    };
    return { id: li.dataset.id, state: li.dataset.state, name: text('.push-name'), url: text('.push-url'), facts };
  }));
}
