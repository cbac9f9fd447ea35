// booth_producer.mjs BASE_URL --event test --lang fr --token T --producer P --token-id ID
//                   [--mic-hz 660] [--notice TEXT] [--notice-all TEXT] [--quiet 6] [--timeout 150]
//
// One booth page in Chromium (fake microphone) under the producer's hand,
// through the producer API with the producer token P:
//   1. the page takes the channel (mic), then measures and reports how far the
//      floor it plays trails the program; the script waits until the server's
//      status shows that (interpreters[].floor_to_ear_ms of this interpreter);
//   2. a notice to this booth (POST /api/events/{event}/notices {lang, text}),
//      then one to every booth ({text}): the page shows both, newest first,
//      announces each and plays its chime;
//   3. the producer mutes the booth (POST /api/events/{event}/booths/{lang}
//      {"muted": true}): the page shows the muted state, not ON AIR, and
//      announces it once; then releases it;
//   4. the producer revokes the token (DELETE /api/events/{event}/tokens/{ID}):
//      the page says access was revoked and, for --quiet seconds, opens no new
//      WebSocket and sends no request to the booth's socket URL.
//
// Prints one JSON object:
//   ok, error?        finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   connect_ms        page load → "connected"
//   delay             {page_ms (the page's latest floor delay), sent (latency reports sent), clock (the
//                     clock of the receiver's timestamps: origin|date|performance), clock_rtt_ms,
//                     status_ms (floor_to_ear_ms in the status), status_after_ms, shown (the text
//                     near the round trip), jitter_buffer_ms (Chrome's mean jitter buffer delay of the
//                     floor), output_latency_ms}
//   notices           {answers: [HTTP status, …], shown: [{text, all, time}], announced: [texts],
//                     chimes, box_visible, heading, newest_first}
//   mute              {status, onair_state, onair_text, onair_who, banner_visible, banner, on_air_before,
//                     announced: [texts with the muted sentence], announcements (how many times),
//                     hook_muted, released: {onair_state, banner_visible}}
//   revoke            {status, ms (DELETE → page state "revoked"), state, conn_text, notice_visible, notice,
//                     close_code, mic_live_before, mic_live_after (the microphone is released),
//                     sockets_before, sockets_after (page hook), new_websockets (seen by the
//                     browser during --quiet), socket_url_requests, token_live (the token list's "live")}
//   page_errors?, console_errors?

import { run, openBooth, waitFor } from './booth_lib.mjs';
import { sleep } from './lib.mjs';

await run('booth_producer', {
  event: 'test', lang: 'fr', token: '', producer: '', tokenId: '', micHz: 660,
  notice: 'Speaker changes in two minutes', noticeAll: 'Coffee break at 10:30', quiet: 6, timeout: 150,
}, async ({ opts, out, launch }) => {
  if (!opts.token || !opts.producer || !opts.tokenId) throw new Error('--token, --producer and --token-id are required');
  const api = (method, path, body) => fetch(new URL(path, opts.url), {
    method,
    headers: { Authorization: `Bearer ${opts.producer}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const ev = encodeURIComponent(opts.event);
  const status = async () => {
    const res = await api('GET', `/api/events/${ev}/status`);
    if (res.status !== 200) throw new Error(`status: ${res.status}`);
    return res.json();
  };

  out.step = 'launch';
  const page = await launch('a', { micHz: opts.micHz });
  const sockets = [];
  page.on('websocket', (ws) => sockets.push({ url: ws.url(), at: Date.now() }));
  const socketPath = `/booth/${ev}/${encodeURIComponent(opts.lang)}/ws`;
  const socketRequests = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === socketPath) socketRequests.push({ method: r.method(), at: Date.now() });
  });
  out.connect_ms = await openBooth(page, { url: opts.url, event: opts.event, lang: opts.lang, token: opts.token }, out);
  // Everything the announcer says, in order.
  await page.evaluate(() => {
    window.__said = [];
    const el = document.getElementById('announce');
    new MutationObserver(() => {
      if (el.textContent) window.__said.push(el.textContent);
    }).observe(el, { childList: true, characterData: true, subtree: true });
  });
  const said = () => page.evaluate(() => window.__said.slice());
  const me = await page.evaluate(() => window.tolkBooth.me.id);

  out.step = 'take the channel';
  await page.click('#mic');
  await waitFor(page, { onAir: 'on', mic: true }, 10000);

  out.step = 'floor delay in the status';
  let st = null;
  let mine = null;
  const t0 = Date.now();
  for (;;) {
    st = await status();
    const lang = st.languages.find((l) => l.tag === opts.lang);
    mine = lang && lang.interpreters.find((i) => i.id === me);
    const fd = await page.evaluate(() => window.tolkBooth.floorDelay());
    if (mine && typeof mine.floor_to_ear_ms === 'number' && fd.sent >= 2) break;
    if (Date.now() - t0 > 20000) throw new Error(`no floor_to_ear_ms in the status after 20 s (page: ${JSON.stringify(fd)})`);
    await sleep(250);
  }
  const fd = await page.evaluate(() => window.tolkBooth.floorDelay());
  const stats = await page.evaluate(() => window.tolkBooth.rtcStats());
  const floorIn = stats && stats.inbound && stats.inbound.floor;
  out.delay = {
    page_ms: fd.ms,
    sent: fd.sent,
    clock: fd.clock,
    clock_rtt_ms: fd.clockRtt === null ? null : Math.round(fd.clockRtt * 10) / 10,
    status_ms: mine.floor_to_ear_ms,
    status_after_ms: Date.now() - t0,
    lang_floor_to_ear_ms: st.languages.find((l) => l.tag === opts.lang).latency.floor_to_ear_ms,
    shown: (await page.textContent('#floor-delay')).trim(),
    shown_visible: await page.isVisible('#floor-delay'),
    jitter_buffer_ms: floorIn && floorIn.jitterBufferEmittedCount
      ? Math.round((floorIn.jitterBufferDelay / floorIn.jitterBufferEmittedCount) * 1000) : null,
    output_latency_ms: await page.evaluate(() => {
      const a = window.tolkBooth.audio();
      return a ? a.outputLatencyMs : null;
    }),
  };

  out.step = 'producer notices';
  const answers = [];
  const chimes0 = await page.evaluate(() => window.tolkBooth.chimes());
  answers.push((await api('POST', `/api/events/${ev}/notices`, { lang: opts.lang, text: opts.notice })).status);
  await page.waitForFunction((n) => window.tolkBooth.notices().length >= n, 1, { timeout: 10000 });
  answers.push((await api('POST', `/api/events/${ev}/notices`, { text: opts.noticeAll })).status);
  await page.waitForFunction((n) => window.tolkBooth.notices().length >= n, 2, { timeout: 10000 });
  await sleep(300); // the announcer writes after a short pause
  const items = await page.$$eval('#producer-log li', (lis) => lis.map((li) => ({
    text: li.querySelector('.producer-text').textContent,
    all: li.dataset.all === 'true',
    tag: li.querySelector('.tag-all') ? li.querySelector('.tag-all').textContent : null,
    time: li.querySelector('time').textContent,
    fresh: li.dataset.fresh === 'true',
  })));
  const heard = await said();
  out.notices = {
    answers,
    shown: items,
    newest_first: items.length === 2 && items[0].text === opts.noticeAll && items[1].text === opts.notice,
    box_visible: await page.isVisible('#producer-box'),
    heading: (await page.textContent('#producer-heading')).trim(),
    announced: heard.filter((s) => s.includes(opts.notice) || s.includes(opts.noticeAll)),
    chimes: (await page.evaluate(() => window.tolkBooth.chimes())) - chimes0,
  };

  out.step = 'mute';
  const onAirBefore = await page.getAttribute('#onair', 'data-state');
  const saidBefore = (await said()).length;
  const mres = await api('POST', `/api/events/${ev}/booths/${encodeURIComponent(opts.lang)}`, { muted: true });
  await page.waitForFunction(() => window.tolkBooth.muted === true, null, { timeout: 10000 });
  await sleep(1500); // more states may follow; the announcement must come once
  const mutedSaid = (await said()).slice(saidBefore);
  const mutedSentence = await page.evaluate(() => {
    const m = JSON.parse(document.getElementById('tolk-messages').textContent);
    return m['booth.announce.muted'];
  });
  out.mute = {
    status: mres.status,
    on_air_before: onAirBefore,
    hook_muted: await page.evaluate(() => window.tolkBooth.muted),
    onair_state: await page.getAttribute('#onair', 'data-state'),
    onair_text: (await page.textContent('#onair-text')).trim(),
    onair_who: (await page.textContent('#onair-who')).trim(),
    banner_visible: await page.isVisible('#muted-banner'),
    banner: (await page.textContent('#muted-banner')).trim(),
    announced: mutedSaid,
    announcements: mutedSaid.filter((s) => s.includes(mutedSentence)).length,
  };
  await api('POST', `/api/events/${ev}/booths/${encodeURIComponent(opts.lang)}`, { muted: false });
  await page.waitForFunction(() => window.tolkBooth.muted === false, null, { timeout: 10000 });
  out.mute.released = {
    onair_state: await page.getAttribute('#onair', 'data-state'),
    banner_visible: await page.isVisible('#muted-banner'),
  };

  out.step = 'revoke';
  const socketsBefore = sockets.length;
  const hookBefore = await page.evaluate(() => window.tolkBooth.conn.sockets);
  const micBefore = await page.evaluate(() => window.tolkBooth.micLive());
  const r0 = Date.now();
  const dres = await api('DELETE', `/api/events/${ev}/tokens/${encodeURIComponent(opts.tokenId)}`);
  await waitFor(page, { state: 'revoked' }, 10000);
  const revokedMs = Date.now() - r0;
  const requestsAt = socketRequests.filter((x) => x.at >= r0).length;
  await sleep(opts.quiet * 1000);
  const list = await (await api('GET', `/api/events/${ev}/tokens`)).json();
  const tok = (list.tokens || []).find((x) => x.id === opts.tokenId);
  const conn = await page.evaluate(() => window.tolkBooth.conn);
  out.revoke = {
    status: dres.status,
    ms: revokedMs,
    state: await page.evaluate(() => window.tolkBooth.state),
    conn_text: (await page.textContent('#conn-text')).trim(),
    notice_visible: await page.isVisible('#revoked-notice'),
    notice: (await page.textContent('#revoked-notice')).trim(),
    reconnect_visible: await page.isVisible('#reconnect'),
    mic_live_before: micBefore,
    mic_live_after: await page.evaluate(() => window.tolkBooth.micLive()),
    close_code: conn.lastClose ? conn.lastClose.code : null,
    sockets_before: hookBefore,
    sockets_after: conn.sockets,
    new_websockets: sockets.length - socketsBefore,
    socket_url_requests: socketRequests.filter((x) => x.at >= r0).length,
    socket_url_requests_by_revoked: requestsAt,
    token_revoked: tok ? !!tok.revoked : null,
    token_live: tok ? tok.live : null,
    said: (await said()).slice(-2),
  };
});
