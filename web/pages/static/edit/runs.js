// The two pickers at the top: the caption language and the recorded run
// (GET /api/events/{event}/recordings). Choosing either opens that
// language's cues within that run and plays the run in that language; "all
// cues" opens every cue of the language without a player.

import { api } from './api.js';
import { open } from './model.js';
import { load } from './player.js';
import { banner, config, dateTime, emit, languages, prefs, setText, t, timecode, ui } from './page.js';

export const runs = { list: [], loaded: false, current: null };

const ALL = '';

function option(value, label) {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  return o;
}

function fillRuns() {
  const keep = ui.run.value;
  ui.run.replaceChildren();
  for (const r of runs.list.slice().reverse()) {
    let label = t('edit.run.option', { start: dateTime(new Date(r.start)), duration: timecode(r.duration * 1000).replace(/\.\d+$/, '') });
    if (r.live) label += ' · ' + t('edit.run.live');
    ui.run.append(option(r.id, label));
  }
  ui.run.append(option(ALL, runs.list.length ? t('edit.run.all') : config.recorded ? t('edit.run.empty') : t('edit.run.none')));
  const want = runs.list.some((r) => r.id === keep) ? keep : runs.list.length ? runs.list[runs.list.length - 1].id : ALL;
  ui.run.value = want;
}

// choose opens what the pickers say.
export function choose() {
  const lang = ui.lang.value;
  const run = runs.list.find((r) => r.id === ui.run.value) || null;
  runs.current = run;
  prefs.set('lang.' + config.event, lang);
  ui.exportRun.disabled = !run;
  if (!run) ui.exportRun.checked = false;
  open(lang, run);
  load(run, lang);
  emit('run', lang, run);
}

// refresh reads the list of runs again (a live run grows).
async function refresh() {
  try {
    const body = await api.recordings();
    runs.list = (body && Array.isArray(body.recordings) ? body.recordings : []).filter((r) => r.languages && r.languages.length);
  } catch (e) {
    runs.list = [];
    if (config.recorded) banner(t('edit.error.runs', { reason: e.message }));
  }
  runs.loaded = true;
}

export async function startRuns() {
  const saved = prefs.get('lang.' + config.event);
  if (saved && languages.some((l) => l.tag === saved)) ui.lang.value = saved;
  ui.lang.addEventListener('change', choose);
  ui.run.addEventListener('change', choose);
  if (config.recorded) await refresh();
  else runs.loaded = true;
  fillRuns();
  if (!languages.length) {
    setText(ui.cuesCount, t('edit.lang.none'));
    return;
  }
  choose();
  // A run being recorded grows: its length is read again every 30 s, and
  // the cue list's range follows it (a live run's list is open-ended).
  window.setInterval(async () => {
    if (!runs.list.some((r) => r.live)) return;
    const cur = ui.run.value;
    await refresh();
    fillRuns();
    const r = runs.list.find((x) => x.id === cur);
    if (r && runs.current && r.id === runs.current.id) Object.assign(runs.current, { duration: r.duration, live: r.live });
  }, 30000);
}
