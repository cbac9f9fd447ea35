// The replay page's own elements (the pickers, volume, meter, captions area
// and state line are the watch page's: watch/page.js finds them), and how
// times are written.

import { $, config } from '../watch/page.js';

export const view = {
  runs: $('runs'),
  runsState: $('runs-state'),
  player: $('player'),
  heading: $('player-heading'),
  back: $('back'),
  forward: $('forward'),
  seek: $('seek'),
  time: $('time'),
};

const locale = config.locale || document.documentElement.lang || 'en';

// clock writes seconds as a position: 4:05, or 1:02:03 past an hour.
export function clock(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor(s / 60) % 60;
  const ss = String(s % 60).padStart(2, '0');
  return h ? h + ':' + String(m).padStart(2, '0') + ':' + ss : m + ':' + ss;
}

// when writes a run's start in the page's locale: date and time of day.
export function when(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  try {
    return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
  } catch (e) {
    return d.toLocaleString();
  }
}

// list joins names as the locale lists them.
export function list(names) {
  try {
    return new Intl.ListFormat(locale, { style: 'long', type: 'conjunction' }).format(names);
  } catch (e) {
    return names.join(', ');
  }
}
