// watch_access.mjs BASE_URL --event test --passcode P --listener L --listener-id ID --producer P
//                  [--lang en] [--timeout 150]
//
// A closed event in Chromium. The viewer opens /watch/{event}: the page is
// the passcode form (answered 401) with the focus in the field; types a
// wrong passcode with the keyboard and presses Enter: the form comes back
// with the error; types the right one: the watch page, whose Play over
// Standard (HLS, hls.js with the session cookie) goes live and plays the
// floor. A second browser opens the listener's link (?token=), plays over
// WebRTC, and the producer revokes that token: how long until the server's
// WHEP session ends (the status's WebRTC listeners of --lang fall to 0), the
// page leaves "live", and the page shows the form again saying its access
// ended.
//
// Prints one JSON object:
//   form               {status, focused, heading, field_type, alert}: the first visit
//   wrong              {status, alert, invalid, focused}: after the wrong passcode
//   right              {status, url, cookie_http_only}: after the right one
//   hls                {connect_ms, state, peak_hz, peak_db, stable, hls_js, requests_401}
//   listener           {landed, status, url, connect_ms, state, peak_hz}
//   revoke             {answered_ms, server_end_ms, page_end_ms, page_state, form_ms, form_error}
//   ok, error?, page_errors?, console_errors?

import { harness, chooseMode, chooseLang, pressPlay, stablePeak, sleep } from './lib.mjs';

const defaults = { event: 'test', passcode: '', listener: '', listenerId: '', producer: '', lang: 'en', timeout: 150 };

await harness('watch_access', defaults, async ({ opts, out, launch }) => {
  for (const k of ['passcode', 'listener', 'listenerId', 'producer']) {
    if (!opts[k]) throw new Error(`--${k} is required`);
  }
  const watchURL = `${opts.url}/watch/${encodeURIComponent(opts.event)}`;
  const api = (path, init = {}) =>
    fetch(new URL(`/api/events/${encodeURIComponent(opts.event)}${path}`, opts.url), {
      ...init,
      headers: { Authorization: `Bearer ${opts.producer}`, ...(init.headers || {}) },
    });

  // ---- the passcode form -------------------------------------------------
  out.step = 'open the form';
  const viewer = await launch('viewer');
  let resp = await viewer.goto(watchURL, { waitUntil: 'load', timeout: 20000 });
  await viewer.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 10000 });
  out.form = await viewer.evaluate(() => ({
    focused: document.activeElement && document.activeElement.id,
    heading: (document.getElementById('access-heading') || {}).textContent || null,
    field_type: (document.getElementById('passcode') || {}).type || null,
    alert: !!document.querySelector('[role="alert"]'),
    show_offered: !document.getElementById('passcode-show-field').hidden,
  }));
  out.form.status = resp.status();

  out.step = 'wrong passcode';
  await viewer.keyboard.type('not-the-passcode');
  [resp] = await Promise.all([viewer.waitForNavigation({ timeout: 15000 }), viewer.keyboard.press('Enter')]);
  out.wrong = await viewer.evaluate(() => {
    const a = document.querySelector('[role="alert"]');
    const f = document.getElementById('passcode');
    return {
      alert: a ? a.textContent.trim() : null,
      error: a ? a.dataset.error : null,
      invalid: f ? f.getAttribute('aria-invalid') : null,
      described_by: f ? f.getAttribute('aria-describedby') : null,
      focused: document.activeElement && document.activeElement.id,
    };
  });
  out.wrong.status = resp.status();

  out.step = 'right passcode';
  // The "show passcode" box, by keyboard: Tab from the field, Space.
  await viewer.keyboard.type(opts.passcode);
  await viewer.keyboard.press('Tab');
  await viewer.keyboard.press('Space');
  out.wrong.shown_as = await viewer.evaluate(() => document.getElementById('passcode').type);
  await viewer.focus('#passcode');
  [resp] = await Promise.all([viewer.waitForNavigation({ timeout: 15000 }), viewer.keyboard.press('Enter')]);
  await viewer.waitForFunction(() => document.documentElement.dataset.ready === 'true' && window.tolkWatch, null, { timeout: 10000 });
  const cookies = await viewer.context().cookies();
  const session = cookies.find((c) => c.name === `tolk_access_${opts.event}`);
  out.right = { status: resp.status(), url: viewer.url(), cookie_http_only: session ? session.httpOnly : null, cookie_same_site: session ? session.sameSite : null };

  out.step = 'play over HLS';
  let refused = 0;
  viewer.on('response', (r) => {
    if (r.status() === 401) refused++;
  });
  await chooseMode(viewer, 'hls', out);
  await chooseLang(viewer, opts.lang, out);
  const hlsConnect = await pressPlay(viewer, out, 30000);
  const hlsPeak = await stablePeak(viewer, { timeoutMs: 15000 });
  out.hls = {
    connect_ms: hlsConnect,
    state: await viewer.evaluate(() => window.tolkWatch.state),
    peak_hz: hlsPeak.hz,
    peak_db: hlsPeak.db,
    stable: hlsPeak.stable,
    hls_js: await viewer.evaluate(() => (window.Hls && window.Hls.isSupported() ? window.Hls.version : null)),
    requests_401: refused,
  };
  await viewer.click('#play'); // stop
  await viewer.close();

  // ---- a listener's link, revoked while it plays -------------------------
  out.step = 'open the listener link';
  const listener = await launch('listener');
  resp = await listener.goto(`${watchURL}?token=${encodeURIComponent(opts.listener)}`, { waitUntil: 'load', timeout: 20000 });
  await listener.waitForFunction(() => document.documentElement.dataset.ready === 'true' && window.tolkWatch, null, { timeout: 10000 });
  out.listener = { status: resp.status(), url: listener.url(), landed: !listener.url().includes('token=') };
  await chooseMode(listener, 'webrtc', out);
  await chooseLang(listener, opts.lang, out);
  out.listener.connect_ms = await pressPlay(listener, out, 30000);
  out.listener.state = await listener.evaluate(() => window.tolkWatch.state);
  out.listener.peak_hz = (await stablePeak(listener, { timeoutMs: 15000 })).hz;
  const webrtcListeners = async () => {
    const st = await (await api('/status')).json();
    const l = (st.languages || []).find((x) => x.tag === opts.lang);
    return l ? l.listeners.webrtc : -1;
  };
  out.listener.server_listeners = await webrtcListeners();

  out.step = 'revoke';
  const t0 = Date.now();
  const del = await api(`/tokens/${opts.listenerId}`, { method: 'DELETE' });
  out.revoke = { status: del.status, answered_ms: Date.now() - t0 };
  // The server's end and the page's, watched side by side.
  const page = (async () => {
    await listener.waitForFunction(() => window.tolkWatch && window.tolkWatch.state !== 'live', null, { timeout: 30000, polling: 20 }).catch(() => {});
    out.revoke.page_end_ms = Date.now() - t0;
  })();
  while ((await webrtcListeners()) !== 0) {
    if (Date.now() - t0 > 20000) throw new Error('the WHEP session outlived its token');
    await sleep(10);
  }
  out.revoke.server_end_ms = Date.now() - t0;
  await page;
  out.step = 'the form again';
  // The page reloads itself: poll across the navigation.
  for (;;) {
    const got = await listener
      .evaluate(() => {
        const e = document.getElementById('access-error');
        return document.documentElement.dataset.access === 'locked' && e ? e.dataset.error : null;
      })
      .catch(() => null);
    if (got) {
      out.revoke.form_ms = Date.now() - t0;
      out.revoke.form_error = got;
      break;
    }
    if (Date.now() - t0 > 40000) throw new Error('the page did not come back to the form');
    await sleep(50);
  }
});
