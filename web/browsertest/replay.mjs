// replay.mjs BASE_URL [--event test] [--switch fr] [--caption en] [--cues a,b] [--timeout 120]
//
// Opens /replay/{event} in Chromium and uses it as a viewer would, by
// keyboard where a viewer can: opens the newest run from the list (Enter on
// its button), picks the --caption language, presses Play (Enter on the
// button), hears the first language, switches the audio to --switch through
// the picker (the tone changes), seeks to the middle with the seek bar and
// keeps playing, skips back with J, and waits for the page to draw each of
// --cues.
//
// Prints one JSON object:
//   ok, error?           finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   runs                 [{id, duration, live, languages}] the page lists
//   buttons              [{text, current}] the list's buttons
//   tracks               [{lang, name}] audio tracks hls.js lists
//   first                {lang, hz, db, stable} what plays first
//   switched             {lang, hz, db, stable, switch_ms} after the picker
//   advancing            {from, to}: position over 2 s of wall clock after Play
//   seek                 {to, landed, later, state, lang}: position asked, reached, 2 s later
//   skip_back            {from, to} positions around J
//   shown                [{text, at}] captions the page drew, with the position
//   caption_lines        lines on screen at the end
//   states               the state line's history
//   errors               player errors the page met
//   page_errors?, console_errors?

import { agreeingPeaks, round1, run, sleep } from './lib.mjs';

async function peak(page, timeoutMs = 10000) {
  const t0 = Date.now();
  const peaks = agreeingPeaks(5, 4);
  while (Date.now() - t0 < timeoutMs) {
    const stable = peaks.add(await page.evaluate(() => window.tolkReplay.peakHz()));
    if (stable) return { ...stable, stable: true };
    await sleep(200);
  }
  return { ...peaks.last(), stable: false };
}

async function waitPage(page, what, fn, arg, timeoutMs = 20000) {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 100 });
  } catch (e) {
    const errs = await page.evaluate(() => window.tolkReplay && window.tolkReplay.errors());
    throw new Error(`timed out waiting for ${what}` + (errs && errs.length ? ` (errors: ${errs.join('; ')})` : ''));
  }
}

await run('replay', { event: 'test', switch: 'fr', caption: 'en', cues: [], timeout: 120 }, async ({ opts, out, page }) => {
  out.step = 'open page';
  const target = `${opts.url}/replay/${encodeURIComponent(opts.event)}`;
  const resp = await page.goto(target, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`GET ${target}: ${resp ? resp.status() : 'no response'}`);
  await waitPage(page, 'the list of runs', () => document.documentElement.dataset.ready === 'true' && window.tolkReplay && window.tolkReplay.loaded);
  out.runs = await page.evaluate(() => window.tolkReplay.runs());
  if (!out.runs.length) throw new Error('the page lists no run');
  out.buttons = await page.$$eval('button.run', (bs) => bs.map((b) => ({ text: b.textContent, current: b.getAttribute('aria-current') })));

  out.step = 'open the newest run by keyboard';
  const newest = out.runs[out.runs.length - 1].id;
  await page.focus(`button.run[data-run="${newest}"]`);
  await page.keyboard.press('Enter');
  await waitPage(page, 'the run to open', (id) => window.tolkReplay.run() === id && !document.getElementById('player').hidden, newest);

  out.step = 'captions';
  await page.selectOption('#captions', opts.caption);

  out.step = 'play';
  await page.focus('#play');
  await page.keyboard.press('Enter');
  await waitPage(page, 'playing', () => window.tolkReplay.state === 'playing');
  out.tracks = await page.evaluate(() => window.tolkReplay.tracks());
  const a0 = await page.evaluate(() => window.tolkReplay.position());
  await sleep(2000);
  const a1 = await page.evaluate(() => window.tolkReplay.position());
  out.advancing = { from: round1(a0), to: round1(a1) };
  out.first = { lang: await page.evaluate(() => window.tolkReplay.lang()), ...(await peak(page)) };

  out.step = `switch to ${opts.switch}`;
  const t0 = Date.now();
  await page.selectOption('#lang', opts.switch);
  await waitPage(page, `hls.js to play ${opts.switch}`, (l) => window.tolkReplay.lang() === l && window.tolkReplay.switches() > 0, opts.switch);
  const switchMs = Date.now() - t0;
  // What was buffered before the switch may still be the old language.
  const m = await page.evaluate(() => ({ pos: window.tolkReplay.position(), ahead: window.tolkReplay.bufferAhead() }));
  await waitPage(page, 'playback past the old buffer', (to) => window.tolkReplay.position() >= to, m.pos + Math.min(m.ahead, 6) + 0.5);
  out.switched = { lang: await page.evaluate(() => window.tolkReplay.lang()), ...(await peak(page)), switch_ms: switchMs };

  out.step = 'seek to the middle';
  const dur = await page.evaluate(() => window.tolkReplay.duration());
  const mid = Math.floor(dur / 2);
  await page.focus('#seek');
  await page.evaluate((v) => {
    const s = document.getElementById('seek');
    s.value = String(v);
    s.dispatchEvent(new Event('input', { bubbles: true }));
    s.dispatchEvent(new Event('change', { bubbles: true }));
  }, mid);
  await waitPage(page, 'the seek', (v) => window.tolkReplay.position() >= v && !window.tolkReplay.paused(), mid);
  const landed = await page.evaluate(() => window.tolkReplay.position());
  await waitPage(page, 'playback after the seek', (v) => window.tolkReplay.position() >= v + 2, landed);
  out.seek = {
    to: mid,
    landed: round1(landed),
    later: round1(await page.evaluate(() => window.tolkReplay.position())),
    state: await page.evaluate(() => window.tolkReplay.state),
    lang: await page.evaluate(() => window.tolkReplay.lang()),
    valuetext: await page.$eval('#seek', (s) => s.getAttribute('aria-valuetext')),
  };

  out.step = 'captions drawn';
  for (const cue of opts.cues) {
    await waitPage(page, `the caption "${cue}"`, (c) => window.tolkReplay.shown.some((s) => s.text === c), cue, 15000);
  }
  out.shown = await page.evaluate(() => window.tolkReplay.shown.slice());
  out.caption_lines = await page.evaluate(() => window.tolkReplay.captions());

  out.step = 'skip back with J';
  await page.focus('body');
  const b0 = await page.evaluate(() => window.tolkReplay.position());
  await page.keyboard.press('j');
  await sleep(300);
  out.skip_back = { from: round1(b0), to: round1(await page.evaluate(() => window.tolkReplay.position())) };
  out.states = await page.evaluate(() => window.tolkReplay.history.map((h) => h.state));
  out.state_text = await page.$eval('#state', (s) => s.textContent);
  out.errors = await page.evaluate(() => window.tolkReplay.errors());
});
