// watch_captions.mjs BASE_URL [--event demo] [--lang en] [--cues 1] [--partials] [--picker-only] [--timeout 120]
//
// Opens /watch/{event} in Chromium, chooses Standard (HLS), picks the caption
// language through the page's picker, presses Play and waits for --cues
// settled cues over the live caption WebSocket. --picker-only reports the
// caption field as the viewer meets it (options, the sentence shown when the
// event has no captions, what a screen reader is given, the keyboard) and
// stops there: no playback.
//
// Prints one JSON object:
//   ok, error?           finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   caption_picker       --picker-only: [{value, label, disabled}] the picker's options in order
//   caption_field        --picker-only: {field_visible, picker_visible, note_visible, note,
//                        note_aria_hidden, aria}: aria is the field's accessibility tree (YAML)
//   keyboard             --picker-only, when the picker shows: {values, caption_lang}: the
//                        picker's value after each of three ArrowDown presses from Off, and
//                        the caption language the page then follows
//   caption_choice       {label, mt_badge}: the picked option's words and, for machine
//                        translation, the mark on the caption area ({text, label}; null if none)
//   mt_badge_end         the machine-translation mark on the caption area at the end ({text, label}; null if none)
//   cues_mt              for each settled cue received, whether the server marked it machine-translated
//   subtitle_tracks      [{name, lang}] WebVTT subtitle renditions hls.js lists
//   caption_options      values of the caption picker ("" is Off)
//   caption_state        state of the caption feed ("live")
//   cues                 [{text, start, end, shown_at_media_time}]: settled cues, with the
//                        audio element's currentTime when each arrived
//   partials_seen        partial lines received before the last cue
//   partials             [{text, shown}] partial lines with the wall-clock ms of the
//                        frame that painted each (--partials; the last 400)
//   lines                caption lines on screen at the end
//   blanks               times the caption area was left empty (after the DOM changes of one
//                        task, what the next frame paints) while a partial line was showing
//                        and no cue had faded: a settled cue must replace the line it settles
//                        without a blank frame between them; [{text}] the line that went blank
//                        (a line that turns out to be noise is cleared on purpose: scripted
//                        recognizers say none)
//   first_cue_ms         live → the wait for the cues ends
//   page_errors?, console_errors?  uncaught page exceptions and console errors

import { run, openWatch, chooseMode, pressPlay, sleep } from './lib.mjs';

// mtBadge is the machine-translation mark on the caption area as shown:
// {text, label}, or null while it is hidden.
function mtBadge(page) {
  return page.evaluate(() => {
    const badge = document.getElementById('caption-mt');
    return badge && !badge.hidden ? { text: badge.textContent, label: badge.getAttribute('aria-label') } : null;
  });
}

// reportPicker describes the caption field and drives the picker by keyboard.
async function reportPicker(page, out) {
  out.step = 'caption field';
  // Without a server-given list the page asks the event API first.
  await page.waitForFunction(() => !document.getElementById('captions-field').hidden, null, { timeout: 10000 });
  out.caption_picker = await page.$$eval('#captions option', (os) => os.map((o) => ({ value: o.value, label: o.textContent, disabled: o.disabled })));
  const visible = (sel) => page.locator(sel).isVisible();
  const note = page.locator('#captions-none');
  out.caption_field = {
    field_visible: await visible('#captions-field'),
    picker_visible: await visible('#captions'),
    note_visible: await note.isVisible(),
    note: (await note.textContent()).trim(),
    note_aria_hidden: await note.evaluate((n) => !!n.closest('[aria-hidden="true"]')),
    aria: await page.locator('#captions-field').ariaSnapshot(),
  };
  if (!out.caption_field.picker_visible) return;
  out.step = 'caption picker by keyboard';
  await page.focus('#captions');
  const values = [];
  for (let i = 0; i < 3; i++) {
    await page.keyboard.press('ArrowDown');
    values.push(await page.$eval('#captions', (s) => s.value));
  }
  out.keyboard = { values, caption_lang: await page.evaluate(() => window.tolkWatch.captions().lang) };
}

await run('watch_captions', { event: 'demo', lang: 'en', cues: 1, partials: false, pickerOnly: false, timeout: 120 }, async ({ opts, out, page }) => {
  out.event = opts.event;
  out.lang = opts.lang;
  await openWatch(page, opts, out);
  if (opts.pickerOnly) {
    await reportPicker(page, out);
    out.step = 'finish';
    return;
  }
  await chooseMode(page, 'hls', out);

  out.step = 'caption picker';
  // Without a server-given list the page asks the event API first.
  await page.waitForFunction(
    (want) => Array.from(document.querySelectorAll('#captions option')).some((o) => o.value === want),
    opts.lang,
    { timeout: 10000 },
  ).catch(() => {});
  out.caption_options = await page.$$eval('#captions option', (os) => os.map((o) => o.value));
  if (!out.caption_options.includes(opts.lang)) throw new Error(`captions ${opts.lang} are not in the picker (${out.caption_options.join(', ')})`);
  await page.selectOption('#captions', opts.lang);
  out.caption_choice = {
    label: await page.$eval('#captions', (sel) => (sel.selectedOptions[0] ? sel.selectedOptions[0].textContent : '')),
    mt_badge: await mtBadge(page),
  };
  // A MutationObserver's callback runs once the task that changed the DOM is
  // done, before the page paints: the state it sees is the frame shown.
  await page.evaluate(() => {
    const area = document.getElementById('caption-area');
    const text = (sel) => Array.from(area.querySelectorAll(sel + ' .cap-line')).map((d) => d.textContent).join('\n');
    window.tolkBlanks = [];
    let partial = '';
    new MutationObserver(() => {
      const now = { partial: text('.cap-partial'), cue: text('.cap-cue') };
      if (partial && !now.partial && !now.cue) window.tolkBlanks.push({ text: partial });
      partial = now.partial;
    }).observe(area, { childList: true, subtree: true, characterData: true });
  });

  await pressPlay(page, out);
  const t0 = Date.now();

  out.step = 'subtitle tracks';
  await page.waitForFunction(() => window.tolkWatch.subtitleTracks().length > 0, null, { timeout: 10000 }).catch(() => {});
  out.subtitle_tracks = await page.evaluate(() => window.tolkWatch.subtitleTracks());

  out.step = `wait for ${opts.cues} settled cue(s)`;
  await page.waitForFunction(
    (n) => window.tolkWatch.captions().history.filter((h) => h.type === 'cue' && h.media !== null).length >= n,
    opts.cues,
    { timeout: Math.max(10, opts.timeout - 15) * 1000, polling: 100 },
  );
  out.first_cue_ms = Date.now() - t0;
  const caps = await page.evaluate(() => window.tolkWatch.captions());
  // Cues that arrived while the audio played (the feed opens with the picker).
  const cues = caps.history.filter((h) => h.type === 'cue' && h.media !== null);
  const lastCueAt = cues[cues.length - 1].at;
  const startAt = caps.history.length ? caps.history[0].at : 0;
  out.cues = cues.map((h) => ({ text: h.text, start: h.start, end: h.end, shown_at_media_time: h.media === null ? null : Math.round(h.media * 100) / 100 }));
  out.partials_seen = caps.history.filter((h) => h.type === 'partial' && h.at <= lastCueAt).length;
  out.partials_while_playing = caps.history.filter((h) => h.type === 'partial' && h.media !== null && h.at <= lastCueAt).length;
  if (opts.partials) {
    out.partials = caps.history.filter((h) => h.type === 'partial' && h.shown).slice(-400).map((h) => ({ text: h.text, shown: h.shown }));
  }
  out.caption_state = caps.state;
  out.caption_lang = caps.lang;
  out.history_span_ms = lastCueAt - startAt;
  await sleep(200);
  out.lines = await page.evaluate(() => window.tolkWatch.captions().lines);
  out.mt_badge_end = await mtBadge(page);
  out.cues_mt = await page.evaluate(() => window.tolkWatch.captions().history.filter((h) => h.type === 'cue').map((h) => !!h.mt));
  out.blanks = await page.evaluate(() => window.tolkBlanks);
  out.step = 'finish';
});
