// The tools beside the player: find (the next cue with a word) and replace
// (in every cue of the language, one operation that undo takes back), shift
// every cue from a time on, and the links that download the edited cues
// (the whole language, or only the open recording, its times counted from
// the recording's start as its player counts them).

import { api, withToken } from './api.js';
import { problem } from './editor.js';
import { select, selectedCue } from './list.js';
import { apply, indexOf, model, toRecording } from './model.js';
import { position } from './player.js';
import { config, num, on, parseTime, record, say, setText, t, timecode, ui } from './page.js';

const EXPORTS = [
  ['export-srt', 'srt'],
  ['export-vtt', 'vtt'],
  ['export-ttml', 'ttml'],
  ['export-stl', 'stl'],
  ['export-ebu-tt-d', 'ebu-tt-d.xml'],
];

// ---- find and replace -----------------------------------------------------------------

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// matcher is the find field as a regular expression, as the server matches:
// Unicode case folding unless "match case", whole words not inside longer
// ones. null when the field is empty.
function matcher() {
  const find = ui.find.value;
  if (!find) return null;
  let src = escape(find);
  if (ui.wholeWord.checked) src = '(?<![\\p{L}\\p{N}_])' + src + '(?![\\p{L}\\p{N}_])';
  return new RegExp(src, ui.matchCase.checked ? 'u' : 'iu');
}

function countMatches() {
  const re = matcher();
  if (!re) {
    setText(ui.findCount, '');
    return;
  }
  const n = model.cues.filter((c) => re.test(c.text)).length;
  setText(ui.findCount, t('edit.find.count', { n: num(n, 0) }));
}

// findNext selects the next cue (after the selected one, round the end) that
// has the word.
export function findNext() {
  const re = matcher();
  if (!re || !model.cues.length) return;
  const from = selectedCue() ? indexOf(selectedCue().id) : -1;
  for (let k = 1; k <= model.cues.length; k++) {
    const c = model.cues[(from + k) % model.cues.length];
    if (re.test(c.text)) {
      select(c.id);
      say(t('edit.find.found', { n: num(indexOf(c.id) + 1, 0), text: c.text }));
      return;
    }
  }
  setText(ui.findCount, t('edit.find.count', { n: num(0, 0) }));
  say(t('edit.find.count', { n: num(0, 0) }));
}

async function replaceAll(e) {
  e.preventDefault();
  if (!ui.find.value || !model.lang) {
    ui.find.focus();
    return;
  }
  try {
    const res = await api.replace(model.lang, {
      find: ui.find.value,
      replace: ui.replace.value,
      whole_word: ui.wholeWord.checked,
      case: ui.matchCase.checked,
    });
    apply(res.cues || [], 'op');
    const s = res.op ? t('edit.find.done', { replaced: num(res.replaced || 0, 0), changed: num(res.changed, 0) }) : t('edit.find.none');
    setText(ui.findCount, s);
    say(s);
    record({ kind: 'replace', changed: res.changed, replaced: res.replaced || 0 });
  } catch (err) {
    setText(ui.findCount, problem(err));
  }
}

// ---- shift ------------------------------------------------------------------------------

async function shift(e) {
  e.preventDefault();
  const from = parseTime(ui.shiftFrom.value);
  const by = Math.round(Number(ui.shiftBy.value));
  if (from === null) {
    setText(ui.shiftStatus, t('edit.cue.bad_time'));
    ui.shiftFrom.focus();
    return;
  }
  if (!by || !Number.isFinite(by)) {
    setText(ui.shiftStatus, t('edit.shift.need_offset'));
    ui.shiftBy.focus();
    return;
  }
  try {
    const res = await api.shift(model.lang, { from_ms: toRecording(from), offset_ms: by });
    // The moved cues come with the change feed.
    const s = res.op ? t('edit.shift.done', { n: num(res.changed, 0), ms: num(by, 0) }) : t('edit.shift.none');
    setText(ui.shiftStatus, s);
    say(s);
    record({ kind: 'shift', changed: res.changed });
  } catch (err) {
    setText(ui.shiftStatus, problem(err));
  }
}

// ---- exports ----------------------------------------------------------------------------

function exportLinks() {
  const lang = model.lang;
  const r = model.run;
  for (const [id, ext] of EXPORTS) {
    const a = document.getElementById(id);
    if (!lang) {
      a.removeAttribute('href');
      continue;
    }
    let url = config.api + '/captions/' + encodeURIComponent(lang) + '.' + ext;
    if (r && ui.exportRun.checked) {
      const from = Math.round(r.offset * 1000);
      url += '?from=' + from + 'ms';
      if (!r.live) url += '&to=' + Math.ceil(from + r.duration * 1000) + 'ms';
    }
    a.href = withToken(url);
    a.setAttribute('download', lang + (r && ui.exportRun.checked ? '-' + r.id : '') + '.' + ext);
  }
}

export function startTools() {
  for (const el of [ui.find, ui.wholeWord, ui.matchCase]) el.addEventListener('input', countMatches);
  ui.find.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.altKey && !e.ctrlKey) {
      e.preventDefault();
      findNext();
    }
  });
  ui.findNext.addEventListener('click', findNext);
  ui.findForm.addEventListener('submit', replaceAll);
  ui.shiftForm.addEventListener('submit', shift);
  ui.shiftHere.addEventListener('click', () => {
    ui.shiftFrom.value = timecode(Math.round(position() * 1000));
    ui.shiftFrom.focus();
  });
  ui.exportRun.addEventListener('change', exportLinks);
  on('run', exportLinks);
  on('cues', () => {
    countMatches();
    ui.addCue.disabled = !model.loaded || !config.editable;
  });
  exportLinks();
}
