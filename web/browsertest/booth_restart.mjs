// booth_restart.mjs BASE_URL --event E --lang fr --token T --fake-mic FILE.wav [--restart-timeout 60]
//
// One booth page across a restart of the server, which the caller does:
// opens /booth/{event}/{lang}?token=T in Chromium with a fake microphone (the
// WAV file, looped), presses the mic button and waits to be on air, then
// writes "ON_AIR" on stderr. The caller kills the server and starts it again
// on the same address; the page must notice, show and announce that it is
// reconnecting, reconnect by itself and be on air again without a click.
// Then it writes "BACK" on stderr and keeps the page open until a line
// comes on stdin (the caller has measured what listeners hear).
//
// Prints one JSON object:
//   ok, error?          finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   before, during, after   the page's DOM at each moment: onair {state, stale, text, who},
//                       conn {state, text}, mic_pressed, hook {state, on_air, mic, awaiting_back}
//   reconnect_ms        from the first moment seen disconnected to on air again
//   announced           every text the live region (role=status) said, in order
//   states              connection states seen, in order
//   kinds               the page's history of the loss: lost-on-air, back {onAir}
//   sockets             WebSockets the page opened
//   page_errors?, console_errors?

import readline from 'node:readline';
import { openBooth, run, waitFor } from './booth_lib.mjs';

// dom reads what the interpreter sees and what a screen reader gets.
function dom(page) {
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    const b = window.tolkBooth;
    return {
      onair: { state: $('onair').dataset.state, stale: $('onair').dataset.stale, text: $('onair-text').textContent, who: $('onair-who').textContent },
      conn: { state: $('conn').dataset.state, text: $('conn-text').textContent },
      mic_pressed: $('mic').getAttribute('aria-pressed'),
      hook: { state: b.state, on_air: b.onAir(), mic: b.mic, awaiting_back: b.awaitingBack },
    };
  });
}

run('booth_restart', { event: '', lang: '', token: '', fakeMic: '', restartTimeout: 60 }, async ({ opts, out, launch }) => {
  const page = await launch('a', { micFile: opts.fakeMic });
  // Every announcement, as a screen reader would get it.
  await page.addInitScript(() => {
    window.__said = [];
    document.addEventListener('DOMContentLoaded', () => {
      const el = document.getElementById('announce');
      new MutationObserver(() => {
        const s = el.textContent.trim();
        if (s) window.__said.push(s);
      }).observe(el, { childList: true, characterData: true, subtree: true });
    });
  });
  await openBooth(page, { url: opts.url, event: opts.event, lang: opts.lang, token: opts.token }, out);
  out.step = 'mic on';
  await page.click('#mic');
  await waitFor(page, { onAir: 'on', mic: true }, 10000);
  out.before = await dom(page);
  process.stderr.write('ON_AIR\n');

  out.step = 'wait for the server to go';
  await page.waitForFunction(() => window.tolkBooth.state !== 'connected', null, { timeout: opts.restartTimeout * 1000, polling: 20 });
  const lostAt = Date.now();
  // The page shows the loss at once; read it while it lasts.
  await page.waitForFunction(() => window.tolkBooth.awaitingBack, null, { timeout: 5000, polling: 20 });
  out.during = await dom(page);

  out.step = 'wait to be on air again';
  await page.waitForFunction(() => {
    const b = window.tolkBooth;
    return b.state === 'connected' && b.onAir() === 'on' && b.mic && !b.awaitingBack;
  }, null, { timeout: opts.restartTimeout * 1000, polling: 50 });
  out.reconnect_ms = Date.now() - lostAt;
  // Announcements are gathered for 80 ms before they are said.
  await page.waitForTimeout(300);
  out.after = await dom(page);
  process.stderr.write('BACK\n');

  out.step = 'wait for the caller';
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => {
    rl.once('line', resolve);
    rl.once('close', resolve);
  });
  rl.close();

  const facts = await page.evaluate(() => ({ said: window.__said, history: window.tolkBooth.history(), sockets: window.tolkBooth.conn.sockets }));
  out.announced = facts.said;
  out.states = [];
  for (const h of facts.history) if (h.kind === 'conn' && out.states[out.states.length - 1] !== h.state) out.states.push(h.state);
  out.kinds = facts.history.filter((h) => h.kind === 'lost-on-air' || h.kind === 'back').map((h) => ({ kind: h.kind, on_air: h.onAir }));
  out.sockets = facts.sockets;
});
