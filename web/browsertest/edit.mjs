// edit.mjs BASE_URL --token EDITOR --token2 OTHER_EDITOR [--event test] [--lang en]
//          [--new TEXT] [--mine TEXT] [--theirs TEXT] [--timeout 120]
//
// Opens the caption editor /edit/{event}?token= in Chromium and works as an
// editor would, by keyboard where one can: waits for the list of cues and
// the player, reads each cue's confidence (shown, said, its least sure
// words marked), presses Alt+Q on the first cue (the doubtful second is
// selected) and the "Next doubtful cue" button, clicks the first cue (it plays, the level strip has levels),
// tabs into its text, types --new and saves with Ctrl+Enter (which moves on
// to the next cue). A second editor, through the API with --token2, then
// saves over the first cue against the version the page started from: 409.
// Right after the edit, the SRT export and the run's WebVTT are fetched.
// The page's editor types --mine into the second cue while the second
// editor saves --theirs there: the page shows their text and keeps the
// typed one; Ctrl+Enter is refused with 409 and the page shows the newer
// text; "Save my text over it" saves it. Then Alt+↑ and Alt+M merge the two
// cues, Alt+P plays the merged cue, Alt+K pauses it, Alt+S splits it at the
// playhead; Alt+H opens the shortcuts' help and Escape closes it.
//
// Prints one JSON object:
//   ok, error?            finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   first_list_ms         from navigation to the first list of cues on the page
//   cues                  [{id, start, end, text, version}] as first listed
//   player                {state, audio} once the player is ready
//   confidence            {rows: [{state, shown, marked}], names: [the rows' aria snapshots],
//                          next: {selected, focus, count, again} after Alt+Q and the button, edited: the first row after the edit}
//   play                  {id, position, playing} after clicking the first cue
//   level                 dBFS the strip has at 1.5 s
//   typed                 {focus: [ids Tab went through], saved, version, save_ms, selected_after}
//   exports               {srt, vtt: {status, body}}: the SRT export and the run's first WebVTT segment after the edit
//   stale                 {status, text}: the second editor's stale PATCH of the first cue
//   conflict              {seen_ms, panel, theirs, field, refused, saved, final}
//   merge                 {before, after, end}
//   split                 {before, after, at, position}
//   help                  {opened, closed, rows}
//   saves                 [ms] every text save's round trip
//   errors, history       the player's errors, the page's history (last 40)
//   page_errors?, console_errors?

import { round1, run, sleep } from './lib.mjs';

async function waitPage(page, what, fn, arg, timeoutMs = 20000) {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 50 });
  } catch (e) {
    const h = await page.evaluate(() => window.tolkEdit && window.tolkEdit.history.slice(-12)).catch(() => null);
    throw new Error(`timed out waiting for ${what}` + (h ? ` (history: ${JSON.stringify(h)})` : ''));
  }
}

const ed = (page, fn, arg) => page.evaluate(fn, arg);

await run('edit', { event: 'test', lang: 'en', token: '', token2: '', new: 'Welcome to the edited replay', mine: 'Halfway, as I wrote it', theirs: 'Halfway, as they wrote it', timeout: 120 }, async ({ opts, out, page }) => {
  const api = `${opts.url}/api/events/${encodeURIComponent(opts.event)}/captions/${encodeURIComponent(opts.lang)}`;
  const other = (method, path, body) =>
    fetch(api + path, { method, headers: { Authorization: 'Bearer ' + opts.token2, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) })
      .then(async (r) => ({ status: r.status, body: await r.json() }));

  out.step = 'open the page';
  const target = `${opts.url}/edit/${encodeURIComponent(opts.event)}?token=${encodeURIComponent(opts.token)}`;
  const resp = await page.goto(target, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`GET ${target}: ${resp ? resp.status() : 'no response'}`);
  await waitPage(page, 'the list of cues', () => document.documentElement.dataset.ready === 'true' && window.tolkEdit.loaded && window.tolkEdit.cues().length > 0);
  out.first_list_ms = await ed(page, () => window.tolkEdit.firstListMs());
  out.cues = await ed(page, () => window.tolkEdit.cues());
  out.rows = await page.$$eval('#cues .cue-row', (bs) => bs.map((b) => b.textContent));
  await waitPage(page, 'the player', () => ['ready', 'error'].includes(window.tolkEdit.playerState()));
  out.player = { state: await ed(page, () => window.tolkEdit.playerState()), audio: await ed(page, () => window.tolkEdit.audio()) };
  const [first, second] = out.cues;

  out.step = 'the cues\' confidence, and Alt+Q to the doubtful one';
  const confidence = () => page.$$eval('#cues .cue', (lis) => lis.map((li) => ({
    state: li.dataset.conf,
    shown: li.querySelector('.cue-conf-text').textContent,
    marked: [...li.querySelectorAll('.cue-text mark')].map((m) => m.textContent),
  })));
  out.confidence = { rows: await confidence(), names: [] };
  for (const c of [first, second]) out.confidence.names.push(await page.locator(`#cues li[data-id="${c.id}"] .cue-row`).ariaSnapshot());
  await page.focus(`#cues li[data-id="${first.id}"] .cue-row`);
  await page.keyboard.press('Alt+KeyQ');
  await waitPage(page, 'the doubtful cue selected', (id) => window.tolkEdit.selected() === id, second.id);
  out.confidence.next = {
    selected: await ed(page, () => window.tolkEdit.selected()),
    focus: await ed(page, () => { const li = document.activeElement.closest('li'); return li ? Number(li.dataset.id) : null; }),
    count: await page.$eval('#cues-count', (e) => e.textContent),
  };
  await page.click('#next-doubtful'); // the only doubtful cue: round to it again
  out.confidence.next.again = await ed(page, () => window.tolkEdit.selected());

  out.step = 'click the first cue';
  await page.click(`#cues li[data-id="${first.id}"] .cue-row`);
  await waitPage(page, 'the cue to play', (s) => window.tolkEdit.playing() && window.tolkEdit.position() >= s / 1000, first.start);
  out.play = { id: await ed(page, () => window.tolkEdit.selected()), position: round1(await ed(page, () => window.tolkEdit.position())), playing: await ed(page, () => window.tolkEdit.playing()) };
  await waitPage(page, 'the strip\'s levels', () => window.tolkEdit.levelAt(1.5) !== null);
  out.level = await ed(page, () => window.tolkEdit.levelAt(1.5));

  out.step = 'type the new text by keyboard';
  await page.focus(`#cues li[data-id="${first.id}"] .cue-row`);
  const focus = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('Tab');
    focus.push(await ed(page, () => document.activeElement.id));
  }
  if (focus[2] !== 'cue-text') throw new Error(`Tab went through ${focus.join(', ')}, not to the text`);
  await page.keyboard.press('Control+A');
  await page.keyboard.type(opts.new);
  await page.keyboard.press('Control+Enter');
  await waitPage(page, 'the save', (a) => window.tolkEdit.cues().some((c) => c.id === a.id && c.text === a.text), { id: first.id, text: opts.new });
  const saved = (await ed(page, () => window.tolkEdit.cues())).find((c) => c.id === first.id);
  out.typed = { focus, saved: saved.text, version: saved.version, save_ms: (await ed(page, () => window.tolkEdit.saves())).slice(-1)[0], selected_after: await ed(page, () => window.tolkEdit.selected()), focus_after: await ed(page, () => document.activeElement.id) };
  out.confidence.edited = (await confidence())[0];

  out.step = 'the exports after the edit';
  const runID = await ed(page, () => window.tolkEdit.run());
  const text = (u) => fetch(u).then(async (r) => ({ status: r.status, body: await r.text() }));
  out.exports = {
    srt: await text(`${opts.url}/api/events/${encodeURIComponent(opts.event)}/captions/${encodeURIComponent(opts.lang)}.srt?token=${encodeURIComponent(opts.token)}`),
    vtt: await text(`${opts.url}/vod/${encodeURIComponent(opts.event)}/${encodeURIComponent(runID)}/subs/${encodeURIComponent(opts.lang)}/seg0.vtt?token=${encodeURIComponent(opts.token)}`),
  };

  out.step = 'a second editor saves against a stale version';
  const stale = await other('PATCH', `/cues/${first.id}`, { text: 'A stale change', version: first.version });
  out.stale = { status: stale.status, text: stale.body.cue && stale.body.cue.text };

  out.step = 'two editors on the second cue';
  if ((await ed(page, () => window.tolkEdit.selected())) !== second.id) throw new Error('Ctrl+Enter did not move to the second cue');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(opts.mine);
  const cur = (await other('GET', '/cues')).body.find((c) => c.id === second.id);
  const t0 = Date.now();
  const theirs = await other('PATCH', `/cues/${second.id}`, { text: opts.theirs, version: cur.version });
  if (theirs.status !== 200) throw new Error(`the second editor's save: ${theirs.status}`);
  await waitPage(page, 'the page to see their change', (v) => { const c = window.tolkEdit.conflict(); return c && c.version === v; }, theirs.body.version);
  const seenMs = Date.now() - t0;
  await page.keyboard.press('Control+Enter');
  await waitPage(page, 'the refusal', () => window.tolkEdit.history.some((h) => h.kind === 'conflict' && h.refused));
  out.conflict = {
    seen_ms: seenMs,
    panel: await page.$eval('#cue-conflict', (e) => (e.hidden ? null : e.textContent.replace(/\s+/g, ' ').trim())),
    theirs: await page.$eval('#cue-conflict-theirs', (e) => e.textContent),
    field: await page.$eval('#cue-text', (e) => e.value),
    refused: await ed(page, () => window.tolkEdit.history.filter((h) => h.kind === 'conflict' && h.refused).length),
  };
  await page.click('#cue-keep-mine');
  await waitPage(page, 'my text saved over theirs', (a) => window.tolkEdit.cues().some((c) => c.id === a.id && c.text === a.text), { id: second.id, text: opts.mine });
  out.conflict.saved = await page.$eval('#cue-conflict', (e) => e.hidden);
  out.conflict.final = (await other('GET', '/cues')).body.find((c) => c.id === second.id).text;

  out.step = 'merge with Alt+M';
  await page.keyboard.press('Alt+ArrowUp');
  await waitPage(page, 'the first cue selected', (id) => window.tolkEdit.selected() === id, first.id);
  const before = (await ed(page, () => window.tolkEdit.cues())).length;
  await page.keyboard.press('Alt+KeyM');
  await waitPage(page, 'the merge', (n) => window.tolkEdit.cues().length === n - 1, before);
  const merged = (await ed(page, () => window.tolkEdit.cues()))[0];
  out.merge = { before, after: before - 1, end: merged.end, text: merged.text };

  out.step = 'split with Alt+S at the playhead';
  await page.keyboard.press('Alt+KeyP');
  await waitPage(page, 'the merged cue to play', (s) => window.tolkEdit.playing() && window.tolkEdit.position() >= s / 1000 + 0.8, merged.start);
  await page.keyboard.press('Alt+KeyK');
  await waitPage(page, 'the pause', () => !window.tolkEdit.playing());
  const position = await ed(page, () => window.tolkEdit.position());
  await page.keyboard.press('Alt+KeyS');
  await waitPage(page, 'the split', (n) => window.tolkEdit.cues().length === n + 1, before - 1);
  const parts = await ed(page, () => window.tolkEdit.cues());
  out.split = { before: before - 1, after: parts.length, at: parts[0].end, position: Math.round(position * 1000), texts: parts.map((c) => c.text) };

  out.step = 'help with Alt+H';
  await page.keyboard.press('Alt+KeyH');
  const opened = await ed(page, () => document.getElementById('help').open);
  const rows = await page.$$eval('#help tbody tr', (rs) => rs.length);
  await page.keyboard.press('Escape');
  await sleep(100);
  out.help = { opened, closed: !(await ed(page, () => document.getElementById('help').open)), rows };

  out.saves = await ed(page, () => window.tolkEdit.saves());
  out.errors = await ed(page, () => window.tolkEdit.errors());
  out.history = await ed(page, () => window.tolkEdit.history.slice(-40));
});
