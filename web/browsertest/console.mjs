// console.mjs BASE_URL --event test --token PRODUCER --control CONTROL_URL
//             [--langs fr,de] [--revoke-name Anne] [--ui en] [--timeout 150]
//
// Drives the producer console (/console/{event}?token=) in Chromium through
// what a producer does, while the Go test (the "control" server) plays the
// booths and the listeners on request:
//   POST CONTROL/listeners?lang=L&n=N   make N WebRTC listeners of L (connect or hang up)
//   POST CONTROL/drop                    cut every connection between the page and the server
//   POST CONTROL/signal?lang=L&kind=slow_down|message[&text=T]
//                                        the booth of L sends it; answers {"sent_ms"}, the
//                                        server's wall clock just before sending
// Every time compared across the page and the Go test is wall-clock time
// (Date.now() on the same machine).
//
// Prints one JSON object:
//   ok, error?, step         finished / why not / the step it was in
//   page_lang, dir, ready_ms
//   names                    {lang: [interpreter names on the card]}
//   meters                   {lang: {first, second, moved}}: program peak and LUFS text read twice
//   listeners                [{lang, n, ms, text}]: the card following N listeners, ms after asking
//   monitor                  {lang: {rms_db, peak_db, listening_ms, pressed}}: the monitor's level (RMS of an
//                            AnalyserNode on its track) once it plays lang; monitor_stopped
//   alerts                   [{kind, lang, sent_ms, shown_ms, delay_ms, beeped, card_flag}]
//   reply                    {text, ok}: answer to a message, sent from the alert
//   notice_all               {text, status}
//   mute                     {muted_ms, released_ms}: click → status shows booth.muted (and back)
//   duck                     {applied, error}: a duck depth applied from the drawer; a refused value's error
//   token_created            {link_ok}
//   reconnect                {connections_cut, reconnecting_ms, live_ms, rms_db, states}: the network to the
//                            server cut (POST CONTROL/drop) while listening: the page reconnects and hears again
//   direct_take              true once allowing direct takes from the drawer shows in the status
//   revoke                   {name, clicked_at, answered_at, ok, row_revoked}
//   live_after_revoke        {state, status_count}: the console after revoking another's token
//   self_revoke              {state, close_code, attempts, banner, ms}: after revoking its own token, 2.5 s on
//   page_errors?, console_errors?

import { harness, sleep } from './lib.mjs';

async function waitFn(page, fn, arg, timeoutMs, what) {
  try {
    const h = await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 20 });
    return await h.jsonValue();
  } catch (err) {
    throw new Error(`${what}: not within ${timeoutMs} ms`);
  }
}

async function control(opts, path) {
  const res = await fetch(opts.control + path, { method: 'POST' });
  if (!res.ok) throw new Error(`control ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

// card is the index of a language's card.
const card = (page, lang) => page.evaluate((l) => {
  const el = document.querySelector(`.card[data-lang="${l}"]`);
  return el ? Number(el.id.slice(1)) : -1;
}, lang);

await harness('console', {
  event: 'test', token: '', control: '', langs: ['fr', 'de'], revokeName: 'Anne', ui: '', timeout: 150,
}, async ({ opts, out, launch }) => {
  if (!opts.token || !opts.control) throw new Error('--token and --control are required');
  const [la, lb] = opts.langs;
  out.step = 'launch';
  const page = await launch(null);
  await page.setViewportSize({ width: 1440, height: 900 });

  out.step = 'open console';
  const q = new URLSearchParams({ token: opts.token });
  if (opts.ui) q.set('lang', opts.ui);
  const t0 = Date.now();
  const resp = await page.goto(`${opts.url}/console/${encodeURIComponent(opts.event)}?${q}`, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`console page: ${resp ? resp.status() : 'no response'}`);
  await waitFn(page, () => document.documentElement.dataset.ready === 'true' && window.tolkConsole, null, 10000, 'page ready');
  await waitFn(page, () => window.tolkConsole.state === 'live' && window.tolkConsole.statusCount > 0, null, 15000, 'console live');
  out.ready_ms = Date.now() - t0;
  out.page_lang = await page.evaluate(() => document.documentElement.lang);
  out.dir = await page.evaluate(() => document.documentElement.dir);
  const ca = await card(page, la);
  const cb = await card(page, lb);

  out.step = 'interpreters on the cards';
  out.names = {};
  for (const [lang, i] of [[la, ca], [lb, cb]]) {
    out.names[lang] = await waitFn(page, (i) => {
      const names = Array.from(document.querySelectorAll(`#c${i}-interps .interp[data-connected="true"] .iname`)).map((n) => n.textContent);
      return names.length ? names : false;
    }, i, 15000, `interpreters of ${lang}`);
  }

  out.step = 'meters';
  out.meters = {};
  const readMeter = (i) => page.evaluate((i) => ({
    valuenow: document.getElementById(`c${i}-program`).getAttribute('aria-valuenow'),
    cover: document.getElementById(`c${i}-program-cover`).style.transform,
    text: document.getElementById(`c${i}-program-val`).textContent,
  }), i);
  for (const [lang, i] of [[la, ca], [lb, cb]]) {
    const peak = (l) => page.evaluate((l) => {
      const s = window.tolkConsole.status.languages.find((x) => x.tag === l);
      return { peak_db: s.program.peak_db, lufs: s.program.short_term_lufs, at: window.tolkConsole.status.at };
    }, l);
    const first = { status: await peak(lang), dom: await readMeter(i) };
    await sleep(1200);
    const second = { status: await peak(lang), dom: await readMeter(i) };
    out.meters[lang] = {
      first, second,
      moved: (first.status.peak_db !== second.status.peak_db || first.status.lufs !== second.status.lufs) &&
        (first.dom.cover !== second.dom.cover || first.dom.text !== second.dom.text),
    };
  }

  out.step = 'listeners';
  out.listeners = [];
  for (const n of [2, 0]) {
    const asked = Date.now();
    await control(opts, `/listeners?lang=${la}&n=${n}`);
    const text = await waitFn(page, ([i, n]) => {
      const el = document.getElementById(`c${i}-listeners`);
      const s = window.tolkConsole.status.languages.find((x) => x.tag === el.closest('.card').dataset.lang);
      return s.listeners.webrtc === n && el.textContent.includes(String(n)) ? el.textContent : false;
    }, [ca, n], 20000, `${n} listeners on ${la}`);
    out.listeners.push({ lang: la, n, ms: Date.now() - asked, text });
  }

  out.step = 'listen';
  out.monitor = {};
  await waitFn(page, () => window.tolkConsole.monitor.peer === 'connected', null, 15000, 'monitor peer connected');
  for (const [lang, i] of [[la, ca], [lb, cb]]) {
    const clicked = Date.now();
    await page.click(`#c${i}-listen`);
    await waitFn(page, (l) => window.tolkConsole.listening === l, lang, 5000, `listening to ${lang}`);
    const listening = Date.now() - clicked;
    const lv = await waitFn(page, () => {
      const m = window.tolkConsole.monitorLevel();
      return m && m.rmsDb > -50 ? m : false;
    }, null, 10000, `monitor level of ${lang} clearly above silence (-50 dBFS)`);
    out.monitor[lang] = {
      rms_db: Math.round(lv.rmsDb * 10) / 10, peak_db: Math.round(lv.peakDb * 10) / 10, listening_ms: listening,
      pressed: await page.getAttribute(`#c${i}-listen`, 'aria-pressed'),
    };
  }
  await page.click('#monitor-stop');
  await waitFn(page, () => window.tolkConsole.listening === '', null, 5000, 'monitor stopped');
  out.monitor_stopped = true;

  out.step = 'booth signals';
  out.alerts = [];
  for (const [kind, text] of [['slow_down', ''], ['message', 'Can you send the slides?']]) {
    const before = await page.evaluate(() => window.tolkConsole.alerts().length);
    const sent = await control(opts, `/signal?lang=${la}&kind=${kind}&text=${encodeURIComponent(text)}`);
    const a = await waitFn(page, (n) => {
      const list = window.tolkConsole.alerts();
      return list.length > n ? list[list.length - 1] : false;
    }, before, 5000, `${kind} alert`);
    const flag = await page.evaluate((i) => {
      const f = document.getElementById(`c${i}-alert`);
      return f && !f.hidden ? f.textContent : null;
    }, ca);
    const item = await page.evaluate(() => {
      const li = document.querySelector('#alerts .alert');
      return li ? { kind: li.dataset.kind, text: li.querySelector('.alert-text').textContent } : null;
    });
    out.alerts.push({ kind: a.kind, lang: a.lang, from: a.from, sent_ms: sent.sent_ms, shown_ms: a.shownAt, delay_ms: a.shownAt - sent.sent_ms, beeped: a.beeped, card_flag: flag, item });
  }
  // Answer the message from its alert, then dismiss it.
  out.step = 'reply';
  const reply = 'Slides are on their way.';
  await page.click('#alerts .alert:first-child button.reply');
  await page.fill('#alerts .alert:first-child form.reply input', reply);
  await page.press('#alerts .alert:first-child form.reply input', 'Enter');
  const replied = await waitFn(page, () => {
    const li = document.querySelector('#alerts .alert:first-child');
    return li && li.dataset.answered === 'true' ? li.querySelector('form.reply .status-line').textContent : false;
  }, null, 5000, 'reply sent');
  out.reply = { text: reply, status: replied };
  const count = await page.evaluate(() => document.querySelectorAll('#alerts .alert').length);
  await page.click('#alerts .alert:first-child button.dismiss');
  out.reply.dismissed = (await page.evaluate(() => document.querySelectorAll('#alerts .alert').length)) === count - 1;

  out.step = 'notice to all booths';
  const notice = 'Five minutes to the break.';
  await page.fill('#notice-input', notice);
  await page.click('#notice-send');
  out.notice_all = { text: notice, status: await waitFn(page, () => document.getElementById('notice-status').textContent || false, null, 5000, 'notice sent') };

  out.step = 'mute';
  let clicked = Date.now();
  await page.click(`#c${ca}-mute`);
  await waitFn(page, (l) => {
    const s = window.tolkConsole.status.languages.find((x) => x.tag === l);
    return s.booth.muted === true && document.querySelector(`.card[data-lang="${l}"]`).dataset.muted === 'true';
  }, la, 5000, `${la} muted in the status`);
  out.mute = { muted_ms: Date.now() - clicked, pill: await page.textContent(`#c${ca}-onair`) };
  clicked = Date.now();
  await page.click(`#c${ca}-mute`);
  await waitFn(page, (l) => window.tolkConsole.status.languages.find((x) => x.tag === l).booth.muted === false, la, 5000, `${la} released`);
  out.mute.released_ms = Date.now() - clicked;

  out.step = 'reconnect';
  // Listening to la, the network drops: the page reconnects with backoff and
  // hears la again on the new session.
  await page.click(`#c${ca}-listen`);
  await waitFn(page, (l) => window.tolkConsole.listening === l, la, 5000, `listening to ${la} before the drop`);
  const countBefore = await page.evaluate(() => window.tolkConsole.statusCount);
  const dropped = Date.now();
  const cut = await control(opts, '/drop');
  await waitFn(page, () => window.tolkConsole.state === 'reconnecting', null, 10000, 'reconnecting after the drop');
  const seenReconnecting = Date.now() - dropped;
  await waitFn(page, () => window.tolkConsole.state === 'live', null, 20000, 'live again');
  const liveAgain = Date.now() - dropped;
  await waitFn(page, (n) => window.tolkConsole.statusCount > n + 2, countBefore, 10000, 'statuses again');
  await waitFn(page, (l) => window.tolkConsole.listening === l, la, 10000, `listening to ${la} again`);
  const lvAgain = await waitFn(page, () => {
    const m = window.tolkConsole.monitorLevel();
    return m && m.rmsDb > -50 ? m : false;
  }, null, 10000, `monitor level of ${la} after reconnecting`);
  const states = await page.evaluate(() => {
    const out = [];
    for (const h of window.tolkConsole.history()) if (h.kind === 'conn' && out[out.length - 1] !== h.state) out.push(h.state);
    return out;
  });
  out.reconnect = { connections_cut: cut.dropped, reconnecting_ms: seenReconnecting, live_ms: liveAgain, rms_db: Math.round(lvAgain.rmsDb * 10) / 10, states };
  await page.click('#monitor-stop');

  out.step = 'duck depth';
  await page.click(`#c${ca}-details`);
  await waitFn(page, (l) => window.tolkConsole.detail === l && document.getElementById('detail').open, la, 3000, 'detail drawer');
  await page.fill('#duck-num', '-20');
  await page.press('#duck-num', 'Enter');
  await waitFn(page, (l) => window.tolkConsole.status.languages.find((x) => x.tag === l).settings.duck_db === -20, la, 5000, 'duck depth -20 applied');
  await page.fill('#duck-num', '-70');
  await page.press('#duck-num', 'Enter');
  const err = await waitFn(page, () => document.getElementById('duck-error').textContent || false, null, 5000, 'refused duck depth shown');
  out.duck = { applied: -20, error: err };
  out.step = 'direct take';
  await page.check('#detail-direct');
  await waitFn(page, (l) => window.tolkConsole.status.languages.find((x) => x.tag === l).booth.direct_take === true, la, 5000, 'direct take allowed');
  out.direct_take = true;
  await page.keyboard.press('Escape');
  await waitFn(page, () => !document.getElementById('detail').open, null, 3000, 'drawer closed');

  out.step = 'glossary';
  // By keyboard: open the dialog, fill it, save; then a refused entry.
  await page.focus('#glossary-open');
  await page.keyboard.press('Enter');
  await waitFn(page, () => document.getElementById('glossary').open && document.activeElement.id === 'glossary-terms', null, 3000, 'glossary dialog with the focus on the terms');
  await page.keyboard.type('Zyphrex\nclean energy');
  await page.fill('#glossary-speakers', 'Ada Oyelaran\nKenji Brennholt');
  await page.fill('#glossary-text', 'Keynote: Ada Oyelaran.');
  await page.focus('#glossary-save');
  await page.keyboard.press('Enter');
  const saved = await waitFn(page, () => document.getElementById('glossary-status').textContent || false, null, 5000, 'glossary saved');
  await page.fill('#glossary-terms', 'x'.repeat(101));
  await page.focus('#glossary-save');
  await page.keyboard.press('Enter');
  const refused = await waitFn(page, () => document.getElementById('glossary-status').dataset.error === 'true' && document.getElementById('glossary-status').textContent, null, 5000, 'glossary refused');
  await page.keyboard.press('Escape');
  await waitFn(page, () => !document.getElementById('glossary').open, null, 3000, 'glossary dialog closed');
  out.glossary = { saved, refused, focus_back: await page.evaluate(() => document.activeElement.id) };

  out.step = 'tokens';
  await page.click('#tokens-open');
  await waitFn(page, () => document.getElementById('tokens').open && document.querySelectorAll('#token-rows tr').length > 0, null, 5000, 'token list');
  await page.selectOption('#token-role', 'interpreter');
  await page.selectOption('#token-lang', lb);
  await page.fill('#token-name', 'Extra');
  await page.click('#token-create');
  const link = await waitFn(page, () => document.getElementById('token-link').value || false, null, 5000, 'new token link');
  out.token_created = { link_ok: link.startsWith(opts.url + '/booth/') && link.includes('token=') };

  out.step = 'revoke';
  const row = await waitFn(page, (name) => {
    for (const tr of document.querySelectorAll('#token-rows tr[data-revoked="false"]')) {
      if (tr.querySelector('th').textContent.startsWith(name)) return tr.dataset.token;
    }
    return false;
  }, opts.revokeName, 5000, `token row of ${opts.revokeName}`);
  out.revoke_live_before = Number(await page.getAttribute(`#token-rows tr[data-token="${row}"] td[data-live]`, 'data-live'));
  await page.click(`#token-rows tr[data-token="${row}"] button[data-revoke]`);
  await page.click(`#token-rows tr[data-token="${row}"] button[data-revoke-confirm]`);
  const rev = await waitFn(page, () => {
    const r = window.tolkConsole.revocations();
    return r.length && r[0].answeredAt ? r[0] : false;
  }, null, 5000, 'revocation answered');
  const revoked = await waitFn(page, (id) => {
    const tr = document.querySelector(`#token-rows tr[data-token="${id}"]`);
    return tr && tr.dataset.revoked === 'true';
  }, row, 5000, 'row shows the token revoked');
  out.revoke = { name: opts.revokeName, clicked_at: rev.clickedAt, answered_at: rev.answeredAt, ok: rev.ok, row_revoked: revoked };
  out.live_after_revoke = await page.evaluate(() => ({ state: window.tolkConsole.state, status_count: window.tolkConsole.statusCount }));

  out.step = 'revoke this console';
  // Revoking the console's own token: the page says so and stays away.
  const you = await page.evaluate(() => window.tolkConsole.you.id);
  await page.click(`#token-rows tr[data-token="${you}"] button[data-revoke]`);
  const selfClicked = Date.now();
  await page.click(`#token-rows tr[data-token="${you}"] button[data-revoke-confirm]`);
  await waitFn(page, () => window.tolkConsole.state === 'revoked', null, 5000, 'console revoked');
  const revokedMs = Date.now() - selfClicked;
  await page.click('#tokens-close');
  await sleep(2500);
  out.self_revoke = await page.evaluate(() => ({
    state: window.tolkConsole.state,
    close_code: window.tolkConsole.conn.lastClose && window.tolkConsole.conn.lastClose.code,
    attempts: window.tolkConsole.conn.attempts,
    banner: document.getElementById('banner').hidden ? null : document.getElementById('banner').textContent,
  }));
  out.self_revoke.ms = revokedMs;
});
