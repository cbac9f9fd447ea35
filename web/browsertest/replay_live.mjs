// replay_live.mjs BASE_URL [--event test] [--grow 29] [--timeout 90]
//
// Opens /replay/{event} on a run still being recorded, presses Play (the K
// key) and reports where playback starts (the run's beginning, not its
// live edge), that it advances, and how the run's length grows as the run
// is recorded further (the test records more while this waits for --grow
// seconds).
//
// Prints one JSON object:
//   ok, error?           finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   runs                 [{id, duration, live, languages}] the page lists
//   meta                 the run's line in the list
//   started              {position, duration}: once playing
//   advanced             position 2 s of wall clock later
//   grown                {duration, ms}: the length once at least --grow, and how long that took
//   state                the state line's state at the end
//   errors               player errors the page met

import { round1, run, sleep } from './lib.mjs';

await run('replay_live', { event: 'test', grow: 29, timeout: 90 }, async ({ opts, out, page }) => {
  out.step = 'open page';
  const target = `${opts.url}/replay/${encodeURIComponent(opts.event)}`;
  const resp = await page.goto(target, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`GET ${target}: ${resp ? resp.status() : 'no response'}`);
  await page.waitForFunction(() => window.tolkReplay && window.tolkReplay.loaded && window.tolkReplay.run(), null, { timeout: 15000 });
  out.runs = await page.evaluate(() => window.tolkReplay.runs());
  out.meta = await page.$eval('button.run .run-meta', (m) => m.textContent);

  out.step = 'play with K';
  await page.focus('body');
  await page.keyboard.press('k');
  await page.waitForFunction(() => window.tolkReplay.state === 'playing', null, { timeout: 20000, polling: 100 });
  out.started = await page.evaluate(() => ({ position: window.tolkReplay.position(), duration: window.tolkReplay.duration() }));
  await sleep(2000);
  out.advanced = round1(await page.evaluate(() => window.tolkReplay.position()));

  out.step = `wait for the run to grow to ${opts.grow} s`;
  const t0 = Date.now();
  await page.waitForFunction((g) => window.tolkReplay.duration() >= g, opts.grow, { timeout: 45000, polling: 200 });
  out.grown = { duration: round1(await page.evaluate(() => window.tolkReplay.duration())), ms: Date.now() - t0 };
  out.state = await page.evaluate(() => window.tolkReplay.state);
  out.errors = await page.evaluate(() => window.tolkReplay.errors());
});
