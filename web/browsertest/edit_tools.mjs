// edit_tools.mjs BASE_URL --token EDITOR [--event test] [--timeout 120]
//
// Works the caption editor's other tools in Chromium, by keyboard where one
// can, on the replay test event (English cues at 1–3 s and 11–14 s):
// types a start in milliseconds, nudges an end with ↑ and Shift+↓, tries an
// end that overlaps the next cue (refused, said), marks the cue reviewed
// (Alt+R), saves a text too long to read (the warnings), finds (Alt+F,
// Enter) and replaces all, undoes that (Alt+Z), shifts the cues after 10 s
// by 500 ms, restores the first cue's original from its history, adds a cue
// at the playhead (Alt+N) and types it, deletes it and undoes that, and
// drags the first cue's start on the level strip.
//
// Prints one JSON object:
//   ok, error?        finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   typed_start, nudged_end, overlap {status, end}, reviewed {cue, row}
//   long {warnings, flags, measure}, find {count, selected}, replace {text, status}
//   undo {text}, shift {start, end, status}, restore {text, start, end, reviewed, versions}
//   add {count, text, start, end}, remove {count, undone}, drag {from, to, want}
//   page_errors?, console_errors?

import { run, sleep } from './lib.mjs';

async function waitPage(page, what, fn, arg, timeoutMs = 15000) {
  try {
    await page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 50 });
  } catch (e) {
    const h = await page.evaluate(() => window.tolkEdit && window.tolkEdit.history.slice(-10)).catch(() => null);
    const s = await page.evaluate(() => document.getElementById('cue-status').textContent).catch(() => '');
    throw new Error(`timed out waiting for ${what} (status "${s}", history ${JSON.stringify(h)})`);
  }
}

const cues = (page) => page.evaluate(() => window.tolkEdit.cues());
const cue = async (page, i) => (await cues(page))[i];
const text = (page, sel) => page.$eval(sel, (e) => e.textContent.trim());

// stripGeometry is where the level strip is and the time at its left edge
// (the strip shows 10 s around the playhead).
function stripGeometry(page) {
  return page.evaluate(() => {
    const r = document.getElementById('strip').getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height, from: Math.max(0, window.tolkEdit.position() - 5) };
  });
}

// typeInto replaces a field's value by typing, as an editor would.
async function typeInto(page, sel, value) {
  await page.focus(sel);
  await page.keyboard.press('Control+A');
  await page.keyboard.type(value);
}

await run('edit_tools', { event: 'test', token: '', timeout: 120 }, async ({ opts, out, page }) => {
  out.step = 'open the page';
  await page.setViewportSize({ width: 1366, height: 900 });
  await page.goto(`${opts.url}/edit/${encodeURIComponent(opts.event)}?token=${encodeURIComponent(opts.token)}`, { waitUntil: 'load' });
  await waitPage(page, 'the cues and the player', () => window.tolkEdit && window.tolkEdit.loaded && window.tolkEdit.cues().length === 2 && window.tolkEdit.playerState() === 'ready');
  const [first, second] = await cues(page);

  out.step = 'times typed and nudged';
  await page.click(`#cues li[data-id="${first.id}"] .cue-row`);
  await page.keyboard.press('Alt+KeyK');
  await waitPage(page, 'the pause', () => !window.tolkEdit.playing());
  await typeInto(page, '#cue-start', '1200');
  await page.keyboard.press('Enter');
  await waitPage(page, 'the typed start', (id) => window.tolkEdit.cues().find((c) => c.id === id).start === 1200, first.id);
  out.typed_start = (await cue(page, 0)).start;
  await page.focus('#cue-end');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Shift+ArrowDown');
  await waitPage(page, 'the nudged end', (id) => window.tolkEdit.cues().find((c) => c.id === id).end === 3190, first.id);
  out.nudged_end = (await cue(page, 0)).end;

  out.step = 'an overlapping end';
  await typeInto(page, '#cue-end', '0:11.500');
  await page.keyboard.press('Enter');
  await waitPage(page, 'the refusal', () => document.getElementById('cue-status').classList.contains('error'));
  out.overlap = { status: await text(page, '#cue-status'), end: (await cue(page, 0)).end, field: await page.$eval('#cue-end', (e) => e.value) };

  out.step = 'reviewed with Alt+R';
  await page.keyboard.press('Alt+KeyR');
  await waitPage(page, 'the reviewed mark', (id) => window.tolkEdit.cues().find((c) => c.id === id).reviewed, first.id);
  out.reviewed = { cue: true, row: await page.$eval(`#cues li[data-id="${first.id}"]`, (e) => e.dataset.reviewed), box: await page.$eval('#cue-reviewed', (e) => e.checked) };

  out.step = 'a text too long to read';
  await typeInto(page, '#cue-text', 'This line is far too long to read in the two seconds it is shown for');
  out.long = { measure: await text(page, '#cue-measure'), typing: await page.$$eval('#cue-warnings li', (ls) => ls.map((l) => l.textContent)) };
  await page.keyboard.press('Control+Enter');
  await waitPage(page, 'the warnings', (id) => window.tolkEdit.cues().find((c) => c.id === id).warnings.length > 0, first.id);
  out.long.warnings = (await cue(page, 0)).warnings;
  out.long.flags = await text(page, `#cues li[data-id="${first.id}"] .cue-flags`);

  out.step = 'find with Alt+F and Enter';
  await page.keyboard.press('Alt+ArrowUp');
  await waitPage(page, 'the first cue', (id) => window.tolkEdit.selected() === id, first.id);
  await page.keyboard.press('Alt+KeyF');
  out.find = { focus: await page.evaluate(() => document.activeElement.id) };
  await page.keyboard.type('halfway');
  out.find.count = await text(page, '#find-count');
  await page.keyboard.press('Enter');
  await waitPage(page, 'the found cue', (id) => window.tolkEdit.selected() === id, second.id);
  out.find.selected = second.id;

  out.step = 'replace all';
  await typeInto(page, '#replace', 'Midway');
  await page.check('#whole-word');
  await page.click('#replace-all');
  await waitPage(page, 'the replacement', (id) => window.tolkEdit.cues().find((c) => c.id === id).text === 'Midway through', second.id);
  out.replace = { text: 'Midway through', status: await text(page, '#find-count') };

  out.step = 'undo with Alt+Z';
  await page.keyboard.press('Alt+KeyZ');
  await waitPage(page, 'the undo', (id) => window.tolkEdit.cues().find((c) => c.id === id).text === 'Halfway through', second.id);
  out.undo = { text: 'Halfway through' };

  out.step = 'shift the cues after 10 s';
  await typeInto(page, '#shift-from', '0:10');
  await typeInto(page, '#shift-by', '500');
  await page.click('#shift-go');
  await waitPage(page, 'the shift', (id) => window.tolkEdit.cues().find((c) => c.id === id).start === 11500, second.id);
  const moved = await cue(page, 1);
  out.shift = { start: moved.start, end: moved.end, status: await text(page, '#shift-status') };

  out.step = 'restore the original from the history';
  await page.click(`#cues li[data-id="${first.id}"] .cue-row`);
  await page.keyboard.press('Alt+KeyK');
  await page.click('#cue-history');
  await waitPage(page, 'the versions', () => document.querySelectorAll('#history-list li').length >= 4);
  const versions = await page.$$eval('#history-list li .version-head', (hs) => hs.map((h) => h.textContent));
  await page.click('#history-original');
  await waitPage(page, 'the restore', (id) => window.tolkEdit.cues().find((c) => c.id === id).text === 'Welcome to the replay', first.id);
  const back = await cue(page, 0);
  out.restore = { text: back.text, start: back.start, end: back.end, reviewed: back.reviewed, versions, dialog: await page.$eval('#history', (d) => d.open) };

  out.step = 'add a cue with Alt+N at 6 s, clicked on the strip';
  await page.keyboard.press('Escape'); // the dialog is closed already: nothing happens
  const at = await stripGeometry(page);
  await page.mouse.click(at.left + (6 - at.from) * (at.width / 10), at.top + at.height / 2);
  await waitPage(page, 'the playhead at 6 s', () => Math.abs(window.tolkEdit.position() - 6) < 0.2);
  await page.keyboard.press('Alt+KeyN');
  await waitPage(page, 'the new cue', () => window.tolkEdit.cues().length === 3);
  out.add = { focus: await page.evaluate(() => document.activeElement.id) };
  await page.keyboard.type('A new cue');
  await page.keyboard.press('Control+Enter');
  await waitPage(page, 'its text', () => window.tolkEdit.cues()[1].text === 'A new cue');
  const added = await cue(page, 1);
  Object.assign(out.add, { count: 3, text: added.text, start: added.start, end: added.end });

  out.step = 'delete it, then undo';
  await page.click(`#cues li[data-id="${added.id}"] .cue-row`);
  await page.keyboard.press('Alt+KeyK');
  await page.click('#cue-delete');
  await waitPage(page, 'the deletion', () => window.tolkEdit.cues().length === 2);
  out.remove = { count: 2, focus: await page.evaluate(() => document.activeElement.className) };
  await page.keyboard.press('Alt+KeyZ');
  await waitPage(page, 'the cue back', () => window.tolkEdit.cues().length === 3);
  out.remove.undone = (await cue(page, 1)).text;

  out.step = 'drag the first cue\'s start on the strip';
  await page.click(`#cues li[data-id="${first.id}"] .cue-row`);
  await page.keyboard.press('Alt+KeyK');
  await waitPage(page, 'the pause', () => !window.tolkEdit.playing());
  await sleep(100);
  const g = await stripGeometry(page);
  const c0 = await cue(page, 0);
  const px = g.width / 10;
  const x0 = g.left + (c0.start / 1000 - g.from) * px;
  const y = g.top + g.height / 2;
  await page.mouse.move(x0, y);
  await page.mouse.down();
  await page.mouse.move(x0 - 0.2 * px, y, { steps: 4 });
  await page.mouse.move(x0 - 0.4 * px, y, { steps: 4 });
  await page.mouse.up();
  await waitPage(page, 'the dragged start', (a) => window.tolkEdit.cues().find((c) => c.id === a.id).start !== a.start, { id: first.id, start: c0.start });
  out.drag = { from: c0.start, to: (await cue(page, 0)).start, want: c0.start - 400 };
});
