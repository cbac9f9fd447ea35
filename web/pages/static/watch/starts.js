// A scheduled event (a rebroadcast of a recorded run) says when it starts,
// in the viewer's own time zone, until it does.

import { config, $, t } from './page.js';

export function showStart() {
  const el = $('starts');
  const at = config.starts ? new Date(config.starts) : null;
  if (!el || !at || isNaN(at.getTime())) return;
  const wait = at.getTime() - Date.now();
  if (wait <= 0) return;
  let when;
  try {
    when = new Intl.DateTimeFormat(config.locale || undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(at);
  } catch {
    when = at.toLocaleString();
  }
  el.textContent = t('watch.starts', { time: when });
  el.hidden = false;
  // Timers longer than about 24.8 days overflow; such a page is reloaded first.
  setTimeout(() => { el.hidden = true; }, Math.min(wait, 2 ** 31 - 1));
}
