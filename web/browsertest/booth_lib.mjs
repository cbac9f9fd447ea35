// Shared harness of the booth scripts: one Chromium per booth page (each
// browser fakes its own microphone from a WAV file), a timeline of actions
// that can drive several pages in one run, and the booth's facts as JSON.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { harness, agreeingPeaks, sleep, round1 } from './lib.mjs';

// toneWav writes a 48 kHz mono 16-bit WAV of a sine at hz (amplitude amp,
// full scale 1) and returns its path; Chromium loops it as the microphone.
export function toneWav(hz, { seconds = 4, amp = 0.3, dir = os.tmpdir() } = {}) {
  const rate = 48000;
  // Whole periods, so the loop has no click.
  const n = Math.round(Math.round(seconds * hz) * (rate / hz));
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(amp * 32767 * Math.sin((2 * Math.PI * hz * i) / rate)), i * 2);
  const head = Buffer.alloc(44);
  head.write('RIFF', 0);
  head.writeUInt32LE(36 + data.length, 4);
  head.write('WAVE', 8);
  head.write('fmt ', 12);
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20);
  head.writeUInt16LE(1, 22);
  head.writeUInt32LE(rate, 24);
  head.writeUInt32LE(rate * 2, 28);
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36);
  head.writeUInt32LE(data.length, 40);
  const file = path.join(dir, `tolk-mic-${hz}hz-${process.pid}.wav`);
  fs.writeFileSync(file, Buffer.concat([head, data]));
  return file;
}

// parseJSONArg reads a JSON option given inline or as @FILE.
export function parseJSONArg(s, what) {
  if (!s) return [];
  const text = s.startsWith('@') ? fs.readFileSync(s.slice(1), 'utf8') : s;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what} is not JSON: ${err.message}`);
  }
}

// run is the harness for booth scripts: body({opts, out, launch}) gets a
// launch(who, {micFile, micHz}) that starts a browser whose microphone plays
// micFile (or a tone of micHz made here) and opens a page in it, labelled
// who; the pages' errors are reported keyed by who.
export function run(name, defaults, body) {
  return harness(name, { timeout: 90, ...defaults }, async ({ opts, out, launch, onClose }) => {
    const launchBooth = async (who, { micFile, micHz }) => {
      let file = micFile;
      if (!file) {
        file = toneWav(micHz);
        onClose(() => fs.rmSync(file, { force: true }));
      }
      return launch(who, [
        '--use-fake-ui-for-media-stream',
        '--use-fake-device-for-media-stream',
        `--use-file-for-fake-audio-capture=${file}`,
      ]);
    };
    await body({ opts, out, launch: launchBooth });
  });
}

// openBooth loads the booth page and waits for its script; it returns the
// milliseconds until the page's state was want ("connected", or "error" to
// check a refusal, whose reason goes to out.reason).
export async function openBooth(page, { url, event, lang, token, ui, want = 'connected' }, out) {
  out.step = 'open booth';
  const q = new URLSearchParams({ token });
  if (ui) q.set('lang', ui);
  const target = `${url}/booth/${encodeURIComponent(event)}/${encodeURIComponent(lang)}?${q}`;
  const t0 = Date.now();
  const resp = await page.goto(target, { waitUntil: 'load', timeout: 20000 });
  out.page_status = resp ? resp.status() : 0;
  // A server may refuse the page itself for a bad token, before any socket.
  if (want === 'error' && [401, 403, 404].includes(out.page_status)) {
    out.reason = `page refused with ${out.page_status}`;
    return Date.now() - t0;
  }
  if (!resp || resp.status() !== 200) throw new Error(`GET ${target}: ${resp ? resp.status() : 'no response'}`);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true' && window.tolkBooth, null, { timeout: 10000 });
  out.page_lang = await page.evaluate(() => document.documentElement.lang);
  out.dir = await page.evaluate(() => document.documentElement.dir);
  out.step = 'connect';
  await waitFor(page, { state: want }, 20000);
  if (want === 'error') out.reason = await page.evaluate(() => window.tolkBooth.conn.reason);
  return Date.now() - t0;
}

// facts reads what a condition can test from the page.
async function facts(page) {
  return page.evaluate(() => {
    const b = window.tolkBooth;
    return {
      state: b.state,
      reason: b.conn.reason,
      onAir: b.onAir(),
      mic: b.mic,
      cough: b.cough,
      handover: b.handover,
      warning: b.warning,
      input: b.input,
      members: b.members().length,
      partners: b.members().filter((m) => !m.self && m.connected).length,
      chat: b.chat().length,
      lastChat: (b.chat().slice(-1)[0] || {}).text || null,
    };
  });
}

// matches tells whether facts f satisfy condition want ({state: 'connected',
// onAir: 'on', chat: 2 (at least), …}); it returns the first mismatch or null.
function mismatch(f, want) {
  for (const [k, v] of Object.entries(want)) {
    if (!(k in f)) return `unknown condition ${k}`;
    if ((k === 'chat' || k === 'partners' || k === 'members') && typeof v === 'number') {
      if (f[k] < v) return `${k} ${f[k]} < ${v}`;
    } else if (f[k] !== v) return `${k} is ${JSON.stringify(f[k])}, want ${JSON.stringify(v)}`;
  }
  return null;
}

// waitFor polls the page until want holds; an error state fails at once
// unless that is what is wanted.
export async function waitFor(page, want, timeoutMs) {
  const t0 = Date.now();
  let f = null;
  let miss = null;
  for (;;) {
    f = await facts(page);
    miss = mismatch(f, want);
    if (!miss) return Date.now() - t0;
    if (f.state === 'error' && want.state !== 'error') throw new Error(`state error (${f.reason}) while waiting for ${JSON.stringify(want)}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`waited ${timeoutMs} ms for ${JSON.stringify(want)}: ${miss}`);
    await sleep(50);
  }
}

// measure listens to a received stream (floor, relay, partner) or to the
// microphone for at least minMs and reports its dominant frequency (the median
// of count readings in a row that agree within tolHz; stable false when they
// never did before timeoutMs) and its loudest moment: "playing" when the
// peak level went above -60 dBFS. Speech has pauses, so the level is the
// maximum over the whole listen, not one reading.
export async function measure(page, stream, { count = 5, intervalMs = 150, tolHz = 4, minMs = 2000, timeoutMs = 8000 } = {}) {
  const t0 = Date.now();
  const peaks = agreeingPeaks(count, tolHz);
  let stable = null;
  let maxPeak = -Infinity;
  let maxRms = -Infinity;
  for (;;) {
    const r = await page.evaluate((s) => ({ p: window.tolkBooth.peakHz(s), l: window.tolkBooth.level(s) }), stream);
    if (r.l) {
      maxPeak = Math.max(maxPeak, r.l.peakDb);
      maxRms = Math.max(maxRms, r.l.rmsDb);
    }
    if (!stable) stable = peaks.add(r.p);
    const waited = Date.now() - t0;
    if ((stable && waited >= minMs) || waited >= timeoutMs) break;
    await sleep(intervalMs);
  }
  const peak = stable || peaks.last();
  const fin = (x) => (Number.isFinite(x) ? round1(x) : null);
  return {
    stream,
    peak_hz: peak.hz,
    peak_db: peak.db,
    stable: !!stable,
    level_peak_dbfs: fin(maxPeak),
    level_rms_dbfs: fin(maxRms),
    playing: Number.isFinite(maxPeak) && maxPeak > -60,
    ms: Date.now() - t0,
  };
}

// snapshot gathers a page's state, statistics and round-trip times.
export async function snapshot(page) {
  const s = await page.evaluate(async () => {
    const b = window.tolkBooth;
    return {
      state: b.state,
      conn: b.conn,
      me: b.me,
      onAir: b.onAir(),
      mic: b.mic,
      handover: b.handover,
      warning: b.warning,
      input: b.input,
      members: b.members(),
      rtt: b.rtt(),
      stats: await b.rtcStats(),
      micSettings: b.micSettings(),
      audio: b.audio(),
      history: b.history(),
      chat: b.chat(),
    };
  });
  const hist = s.history;
  const states = [];
  for (const h of hist) if (h.kind === 'conn' && states[states.length - 1] !== h.state) states.push(h.state);
  const onAir = [];
  for (const h of hist) if (h.kind === 'booth' && onAir[onAir.length - 1] !== h.onAir) onAir.push(h.onAir);
  return {
    state: s.state,
    conn: s.conn,
    me: s.me,
    on_air: s.onAir,
    mic: s.mic,
    handover: s.handover,
    warning: s.warning,
    input: s.input,
    members: s.members,
    states,
    on_air_seen: onAir,
    warnings_seen: [...new Set(hist.filter((h) => h.kind === 'booth' && h.warning).map((h) => h.warning))],
    refused: hist.filter((h) => h.kind === 'refused').map((h) => h.code),
    answers: hist.filter((h) => h.kind === 'answer').length,
    restarts: hist.filter((h) => h.kind === 'restart').length,
    rtt: { ws_ms: s.rtt.ws === null ? null : round1(s.rtt.ws), media_ms: s.rtt.media === null ? null : round1(s.rtt.media) },
    connection_state: s.stats ? s.stats.connectionState : null,
    inbound: s.stats ? s.stats.inbound : null,
    outbound: s.stats ? s.stats.outbound : null,
    mic_settings: s.micSettings,
    audio: s.audio,
    chat: s.chat.map((c) => ({ name: c.name, text: c.text })),
  };
}

// pageReport is what booth.mjs and booth2.mjs print of a page at the end,
// from its snapshot.
export function pageReport(s) {
  return {
    states: s.states,
    on_air_seen: s.on_air_seen,
    warnings_seen: s.warnings_seen,
    refused: s.refused,
    answers: s.answers,
    restarts: s.restarts,
    rtt: s.rtt,
    connection_state: s.connection_state,
    inbound: s.inbound,
    outbound: s.outbound,
    mic_settings: s.mic_settings,
    chat: s.chat,
    final: { state: s.state, on_air: s.on_air, mic: s.mic, handover: s.handover, warning: s.warning, input: s.input, members: s.members },
  };
}

const BUTTONS = ['mic', 'cough', 'handover', 'accept', 'cancel', 'take', 'slow-down', 'reconnect', 'audio-start', 'mic-retry', 'chat-send', 'producer-send'];
const KEYS = { m: 'KeyM', c: 'KeyC', h: 'KeyH' };

// runSteps plays a timeline on the pages (an object label → page). A step
// names its page with "who" (default: the first). Steps:
//   {click: "mic"|"handover"|"accept"|"cancel"|"take"|"slow-down"|"reconnect"|…}
//   {key: "m"|"h"}                       press a shortcut
//   {hold: "c"|"cough", ms: 800}         hold the C key, or the Cough button, for ms
//   {wait: ms}
//   {waitFor: {state, onAir, mic, cough, handover, warning, input, partners, chat, lastChat}, timeout: ms}
//   {expect: {…same…}}                   must hold now
//   {input: "floor"|"relay:TAG"}         choose what to listen to
//   {chat: "text"} / {producer: "text"}  type into the field and press Enter
//   {volume: {input: 0..100, partner: 0..100}}
//   {measure: "floor"|"relay"|"partner"|"mic", expectHz?: n, tolHz?: n}
//   {reload: true}                       reload the page and wait for "connected"
//   {fetch: "/path", method: "POST"}     a request to the server under test (test hooks)
//   {snapshot: "label"}                  record the page's facts in the step's result
//   {screenshot: "FILE.png"}             the whole page as an image
// It returns one record per step: {i, who, action, ok, ms, result?}.
export async function runSteps(pages, steps, out, openOpts) {
  const labels = Object.keys(pages);
  const log = [];
  out.steps = log;
  for (let i = 0; i < steps.length; i++) {
    const st = steps[i] || {};
    const who = st.who || labels[0];
    const page = pages[who];
    if (!page) throw new Error(`step ${i}: no page "${who}"`);
    const action = Object.keys(st).find((k) => k !== 'who' && k !== 'timeout' && k !== 'ms' && k !== 'expectHz' && k !== 'tolHz' && k !== 'method') || 'nothing';
    const rec = { i, who, action: action === 'nothing' ? action : `${action} ${JSON.stringify(st[action])}` };
    out.step = `step ${i} (${who}: ${rec.action})`;
    const t0 = Date.now();
    switch (action) {
      case 'click': {
        if (!BUTTONS.includes(st.click)) throw new Error(`step ${i}: unknown button ${st.click}`);
        // A control the page shows as unavailable (aria-disabled) is pressed
        // anyway: the step proves the page then does nothing.
        const disabled = (await page.getAttribute('#' + st.click, 'aria-disabled', { timeout: 5000 })) === 'true';
        await page.click('#' + st.click, { timeout: 5000, force: disabled });
        if (disabled) rec.result = { disabled: true };
        break;
      }
      case 'key': {
        const code = KEYS[String(st.key).toLowerCase()];
        if (!code) throw new Error(`step ${i}: unknown key ${st.key}`);
        await page.keyboard.press(code);
        break;
      }
      case 'hold': {
        const ms = st.ms || 800;
        if (st.hold === 'cough') {
          const box = await page.locator('#cough').boundingBox();
          await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
          await page.mouse.down();
          await sleep(ms);
          rec.result = await facts(page);
          await page.mouse.up();
        } else {
          const code = KEYS[String(st.hold).toLowerCase()];
          if (!code) throw new Error(`step ${i}: unknown key ${st.hold}`);
          await page.keyboard.down(code);
          await sleep(ms);
          rec.result = await facts(page);
          await page.keyboard.up(code);
        }
        break;
      }
      case 'wait':
        await sleep(Number(st.wait) || 0);
        break;
      case 'waitFor':
        await waitFor(page, st.waitFor, st.timeout || 10000);
        break;
      case 'expect': {
        const miss = mismatch(await facts(page), st.expect);
        if (miss) throw new Error(`step ${i} (${who}): expected ${JSON.stringify(st.expect)}: ${miss}`);
        break;
      }
      case 'input':
        await page.selectOption('#input', st.input);
        break;
      case 'chat':
      case 'producer': {
        const sel = action === 'chat' ? '#chat-input' : '#producer-input';
        await page.fill(sel, String(st[action]));
        await page.press(sel, 'Enter');
        break;
      }
      case 'volume':
        await page.evaluate((v) => {
          for (const [k, x] of Object.entries(v)) {
            const el = document.getElementById('vol-' + k);
            if (!el) continue;
            el.value = String(x);
            el.dispatchEvent(new Event('input', { bubbles: true }));
          }
        }, st.volume);
        break;
      case 'measure': {
        const r = await measure(page, st.measure, { timeoutMs: st.timeout || 8000 });
        rec.result = r;
        if (st.expectHz && !(r.stable && Math.abs(r.peak_hz - st.expectHz) <= (st.tolHz || 10))) {
          throw new Error(`step ${i} (${who}): ${st.measure} peaks at ${r.peak_hz} Hz (stable ${r.stable}), want ${st.expectHz}`);
        }
        break;
      }
      case 'reload':
        await page.reload({ waitUntil: 'load' });
        await page.waitForFunction(() => document.documentElement.dataset.ready === 'true' && window.tolkBooth, null, { timeout: 10000 });
        await waitFor(page, { state: 'connected' }, st.timeout || 20000);
        break;
      case 'fetch': {
        const res = await fetch(new URL(st.fetch, openOpts.url), { method: st.method || 'GET' });
        rec.result = { status: res.status };
        break;
      }
      case 'snapshot':
        rec.result = await snapshot(page);
        break;
      case 'screenshot':
        await page.screenshot({ path: String(st.screenshot), fullPage: true });
        break;
      case 'nothing':
        break;
      default:
        throw new Error(`step ${i}: unknown action ${action}`);
    }
    rec.ok = true;
    rec.ms = Date.now() - t0;
    log.push(rec);
  }
}
