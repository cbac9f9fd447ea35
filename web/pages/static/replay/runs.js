// The list of the event's recorded runs (GET /api/events/{event}/replays):
// one button per run, newest first, with its start, length and languages.
// The run named by ?run=, else the newest, is opened at start; nothing
// plays until the viewer presses Play.

import { accessLost } from '../watch/access.js';
import { config, params, t } from '../watch/page.js';
import { clock, list, view, when } from './view.js';

export let runs = [];
export let loaded = false;
let open = () => {};

function valid(r) {
  return r && typeof r.id === 'string' && typeof r.hls === 'string' && Array.isArray(r.languages) && r.languages.length > 0;
}

function say(text) {
  if (view.runsState) view.runsState.textContent = text;
}

// loadRuns asks for the runs and calls pick(run) for the one to open, and
// again for each the viewer chooses.
export function loadRuns(pick) {
  open = pick;
  if (!config.recorded || !config.replays) return;
  fetch(config.replays, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    .then((r) => {
      if (r.status === 401) {
        accessLost();
        throw new Error(t('watch.error.access'));
      }
      if (!r.ok) throw new Error(t('watch.error.http', { status: r.status }));
      return r.json();
    })
    .then((body) => showRuns(Array.isArray(body && body.replays) ? body.replays.filter(valid) : []))
    .catch((e) => say(t('replay.runs.error', { reason: e && e.message ? e.message : t('watch.error.network') })));
}

function showRuns(found) {
  loaded = true;
  runs = found.map((r) => ({ ...r, captions: Array.isArray(r.captions) ? r.captions : [] }));
  if (!runs.length) {
    say(t('replay.runs.none'));
    return;
  }
  say(t('replay.runs.choose'));
  const items = runs
    .slice()
    .reverse()
    .map((r) => {
      const li = document.createElement('li');
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'run';
      b.dataset.run = r.id;
      const head = document.createElement('span');
      head.className = 'run-when';
      head.textContent = when(r.start);
      const meta = document.createElement('span');
      meta.className = 'run-meta';
      const names = r.languages.map((l) => l.name || l.tag);
      meta.textContent = t('replay.runs.meta', { duration: clock(r.duration), languages: list(names) }) +
        (r.live ? ' · ' + t('replay.runs.live') : '');
      // The space keeps the two apart in the button's accessible name.
      b.append(head, ' ', meta);
      b.addEventListener('click', () => choose(r));
      li.append(b);
      return li;
    });
  view.runs.replaceChildren(...items);
  view.runs.hidden = false;
  const want = params.get('run');
  choose(runs.find((r) => r.id === want) || runs[runs.length - 1], true);
}

// choose opens run and marks its button; the address names it, so the page
// can be shared or reloaded at that run.
function choose(run, first) {
  for (const b of view.runs.querySelectorAll('button.run')) {
    if (b.dataset.run === run.id) b.setAttribute('aria-current', 'true');
    else b.removeAttribute('aria-current');
  }
  if (!first) {
    const u = new URL(window.location.href);
    u.searchParams.set('run', run.id);
    window.history.replaceState(null, '', u.pathname + u.search);
  }
  open(run);
}
