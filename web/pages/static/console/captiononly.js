// Languages with captions and no audio (the floor's captions,
// machine-translated, for a language nobody interprets): each one's state,
// cue count, drops and errors, and its last cue, from the status. A change
// of state is announced.

import { fillKV } from './kv.js';
import { CAPTION_KEYS, $, iso, num, say, setData, setHidden, setText, t } from './page.js';

const items = new Map(); // tag -> {li, name, state, kv, last}

function item(c) {
  const n = items.size;
  const li = document.createElement('li');
  li.className = 'push';
  li.dataset.lang = c.tag;
  const head = document.createElement('p');
  head.className = 'push-head';
  const name = document.createElement('span');
  name.className = 'push-name';
  name.id = 'caption-only-' + n + '-name';
  // The mark's letters for the eye, its words for a screen reader.
  const mt = document.createElement('span');
  mt.className = 'mt';
  const mtShort = document.createElement('span');
  mtShort.setAttribute('aria-hidden', 'true');
  const mtLong = document.createElement('span');
  mtLong.className = 'sr-only';
  mt.append(mtShort, mtLong);
  const state = document.createElement('span');
  state.className = 'push-state';
  state.id = 'caption-only-' + n + '-state';
  head.append(name, ' ', mt, ' ', state);
  const kv = document.createElement('dl');
  kv.className = 'kv';
  li.append(head, kv);
  return { li, name, mt, mtShort, mtLong, state, kv, last: '' };
}

function paintOne(c) {
  if (!c || typeof c !== 'object' || typeof c.tag !== 'string') return;
  let it = items.get(c.tag);
  if (!it) {
    it = item(c);
    items.set(c.tag, it);
    $('caption-only-list').append(it.li);
  }
  const label = typeof c.name === 'string' && c.name ? c.name : c.tag;
  setText(it.name, label);
  it.name.lang = c.tag;
  setHidden(it.mt, !c.machine_translation);
  setText(it.mtShort, t('console.caption_only.mt'));
  setText(it.mtLong, t('console.caption_only.mt_full'));
  it.mt.title = t('console.caption_only.mt_full');
  const cap = c.captions && typeof c.captions === 'object' ? c.captions : {};
  let cs = 'none';
  if (cap.available) cs = cap.last_error && !cap.running ? 'error' : cap.running ? 'live' : 'stopped';
  setText(it.state, t(CAPTION_KEYS[cs]));
  setData(it.li, 'state', cs);
  const pairs = [
    [t('console.caption_only.cues'), num(Number(cap.cues) || 0)],
    [t('console.caption_only.dropped'), num(Number(cap.dropped) || 0), Number(cap.dropped) > 0 ? 'bad' : ''],
    [t('console.caption_only.errors'), num(Number(cap.errors) || 0), Number(cap.errors) > 0 ? 'bad' : ''],
  ];
  if (typeof cap.last_cue === 'string' && cap.last_cue) pairs.push([t('console.caption_only.last_cue'), cap.last_cue, '', c.tag]);
  if (typeof cap.last_error === 'string' && cap.last_error) pairs.push([t('console.caption_only.last_error'), cap.last_error, cs === 'error' ? 'bad' : '']);
  fillKV(it.kv, pairs);
  if (it.last && it.last !== cs) say(t('console.caption_only.now', { name: iso(label), state: t(CAPTION_KEYS[cs]) }));
  it.last = cs;
}

// paintCaptionOnly shows the status's captions without audio; the section
// stays hidden for an event that has none.
export function paintCaptionOnly(s) {
  const list = Array.isArray(s.caption_only) ? s.caption_only : [];
  setHidden($('caption-only'), list.length === 0);
  list.forEach(paintOne);
}
