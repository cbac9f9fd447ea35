// edit_rows.mjs BASE_URL --event test --token EDITOR --lang fr [--timeout 60]
//
// Opens the caption editor, picks --lang and reads each cue row as an editor
// and a screen reader get it: how sure its text is, or that it is a machine
// translation.
//
// Prints one JSON object:
//   ok, error?, step
//   rows        [{state, shown, name}]: the row's data-conf, its words on screen and its accessible
//               name (the row button's accessibility tree, YAML)
//   page_errors?, console_errors?

import { harness } from './lib.mjs';

await harness('edit_rows', { event: 'test', token: '', lang: '' }, async ({ opts, out, launch }) => {
  const page = await launch(null);
  out.step = 'open';
  const resp = await page.goto(`${opts.url}/edit/${encodeURIComponent(opts.event)}?token=${encodeURIComponent(opts.token)}`, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`editor page: ${resp ? resp.status() : 'no response'}`);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 20000 });
  if (opts.lang) {
    out.step = 'pick the language';
    await page.selectOption('#lang', opts.lang);
    await page.waitForFunction((l) => window.tolkEdit.lang() === l && window.tolkEdit.loaded && window.tolkEdit.cues().length > 0, opts.lang, { timeout: 20000 });
  }
  out.step = 'read the rows';
  out.rows = await page.$$eval('#cues .cue', (lis) => lis.map((li) => ({ state: li.dataset.conf, shown: li.querySelector('.cue-conf-text').textContent })));
  const ids = await page.$$eval('#cues .cue', (lis) => lis.map((li) => li.dataset.id));
  for (const [i, id] of ids.entries()) out.rows[i].name = await page.locator(`#cues li[data-id="${id}"] .cue-row`).ariaSnapshot();
  out.step = 'done';
});
