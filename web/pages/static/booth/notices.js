// Messages from the producer: shown in their own area at the top of the
// page, newest first, with the time; read out by the announcer and marked by
// a short chime, so that an interpreter notices them without looking away
// from the speaker.

import { chime } from './audio.js';
import { clockTime, record, say, t, ui } from './page.js';

const MAX_NOTICES = 50;
const FRESH_MS = 20000; // how long the newest stays highlighted

export const notices = []; // newest first: {text, at (ms), all}
let freshTimer = 0;

export function onProducer(m) {
  const text = typeof m.text === 'string' ? m.text.trim() : '';
  if (!text) return;
  const when = m.at ? new Date(m.at) : new Date();
  const at = Number.isNaN(when.getTime()) ? Date.now() : when.getTime();
  const n = { text, at, all: !!m.all };
  notices.unshift(n);
  if (notices.length > MAX_NOTICES) notices.pop();

  const li = document.createElement('li');
  li.className = 'producer-item';
  li.dataset.all = String(n.all);
  const time = document.createElement('time');
  const d = new Date(at);
  time.dateTime = d.toISOString();
  time.textContent = clockTime(d);
  const body = document.createElement('bdi');
  body.className = 'producer-text';
  body.textContent = text;
  li.append(time, ' ');
  if (n.all) {
    const tag = document.createElement('span');
    tag.className = 'tag tag-all';
    tag.textContent = t('booth.notice.all');
    li.append(tag, ' ');
  }
  li.append(body);
  for (const old of ui.producerLog.querySelectorAll('[data-fresh]')) delete old.dataset.fresh;
  li.dataset.fresh = 'true';
  ui.producerLog.prepend(li);
  while (ui.producerLog.children.length > MAX_NOTICES) ui.producerLog.lastElementChild.remove();
  ui.producerBox.hidden = false;
  window.clearTimeout(freshTimer);
  freshTimer = window.setTimeout(() => delete li.dataset.fresh, FRESH_MS);

  say(t(n.all ? 'booth.notice.announce_all' : 'booth.notice.announce', { text }));
  const heard = chime();
  record({ kind: 'producer', all: n.all, chime: heard });
}
