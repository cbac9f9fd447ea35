// The watch page itself: its configuration, messages and preferences, the
// elements the script drives, and the choice of language and mode to start
// with.

import { readJSON, storage, translator } from '../shared/page.js';

export const $ = (id) => document.getElementById(id);

export const config = readJSON('tolk-config') || {};
export const renditions = Array.isArray(config.renditions) ? config.renditions : [];
export const t = translator(readJSON('tolk-messages') || {});

export const ui = {
  lang: $('lang'),
  play: $('play'),
  volume: $('volume'),
  meter: $('meter'),
  cover: $('meter-cover'),
  state: $('state'),
  modes: Array.from(document.querySelectorAll('input[name="mode"]')),
  captions: $('captions'),
  captionsField: $('captions-field'),
  captionsLabel: $('captions-label'),
  captionsNone: $('captions-none'),
  captionArea: $('caption-area'),
  delay: $('delay'),
};

export const store = storage('tolk.watch.');
export const params = new URLSearchParams(window.location.search);

// ---- language and mode -------------------------------------------------

const norm = (tag) => String(tag || '').trim().toLowerCase().replace(/_/g, '-');
const baseOf = (tag) => norm(tag).split('-')[0];

// matchTag finds the tag in tags that best serves want: the same tag, else
// the same base language.
export function matchTag(want, tags) {
  if (!want) return null;
  const w = norm(want);
  return tags.find((x) => norm(x) === w) ||
    tags.find((x) => norm(x) === baseOf(w)) ||
    tags.find((x) => baseOf(x) === baseOf(w)) || null;
}

export function initialLang() {
  const tags = renditions.map((r) => r.tag);
  const wants = [params.get('audio'), store.get('audio')]
    .concat(Array.from(navigator.languages || [navigator.language]), [config.locale]);
  for (const w of wants) {
    const m = matchTag(w, tags);
    if (m) return m;
  }
  const floor = renditions.find((r) => r.floor);
  return floor ? floor.tag : (tags[0] || '');
}

export function langName(tag) {
  const r = renditions.find((x) => x.tag === tag);
  return r ? r.name : tag;
}

const modesAvailable = ui.modes.map((m) => m.value);

export function initialMode() {
  for (const m of [params.get('mode'), store.get('mode')]) {
    if (m && modesAvailable.includes(m)) return m;
  }
  if (modesAvailable.includes('webrtc') && window.RTCPeerConnection) return 'webrtc';
  return modesAvailable.includes('hls') ? 'hls' : (modesAvailable[0] || '');
}
