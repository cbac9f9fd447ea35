// Captions, independent of the audio language and of playback: a viewer may
// read one language while listening to another, or read without listening.
// Captions come over a WebSocket in both modes (the partial line, and settled
// cues sooner than a WebVTT segment at the live edge).

import { captionFeed, captionView } from '../shared/captions.js';
import { eventInfo } from '../shared/net.js';
import { accessLost } from './access.js';
import { config, matchTag, params, renditions, store, t, ui } from './page.js';
import { current } from './session.js';
import { state } from './status.js';

let captionList = Array.isArray(config.captions) ? config.captions : null;
export let capLang = '';
export let capState = 'off';
let capFeed = null;
let capToken = null; // the running feed's identity; a closed one's callbacks do nothing
export let capView = null;
export const capHistory = [];
let capBadge = null; // says the captions shown are machine translation

function mediaTime() {
  const el = current && current.el;
  return el && !el.srcObject && state === 'live' && !el.paused ? el.currentTime : null;
}

function setCaptions(tag) {
  const c = captionList && captionList.find((x) => x.tag === tag);
  capToken = null;
  if (capFeed) capFeed.close();
  capFeed = null;
  if (capView) capView.clear();
  capLang = c ? c.tag : '';
  if (ui.captionArea) ui.captionArea.hidden = !c;
  if (capBadge) capBadge.hidden = !(c && c.machine_translation);
  if (!c) {
    capState = 'off';
    return;
  }
  if (ui.captionArea) ui.captionArea.setAttribute('lang', c.tag);
  const token = {};
  capToken = token;
  capFeed = captionFeed(c.live, {
    state: (st) => {
      if (capToken === token) capState = st;
    },
    revoked: () => {
      if (capToken === token) accessLost();
    },
    message: (m) => {
      if (capToken !== token) return;
      const h = { type: m.type, text: m.text, start: m.start, end: m.end, mt: !!m.mt, at: Math.round(performance.now()), media: mediaTime() };
      capHistory.push(h);
      if (capHistory.length > 500) capHistory.shift();
      if (capView) capView.show(m);
      // A language whose captions fall back to machine translation while no
      // interpreter is on air marks the cues that are.
      if (capBadge && !c.machine_translation) {
        if (m.type === 'cue') capBadge.hidden = !m.mt;
        else if (m.type === 'partial') capBadge.hidden = true;
      }
      // The frame that paints it: wall-clock ms, to compare with the server's.
      requestAnimationFrame(() => {
        h.shown = Math.round((performance.timeOrigin + performance.now()) * 10) / 10;
      });
    },
  });
}

function captionOption(tag, label, disabled) {
  const o = document.createElement('option');
  o.value = tag;
  o.lang = tag;
  o.textContent = label;
  o.disabled = disabled;
  return o;
}

// fillCaptions builds the picker: Off, the languages with captions, then
// every audio language without them, disabled and labelled so. With none at
// all the field says so instead of offering a picker.
function fillCaptions(list) {
  captionList = list.filter((c) => c && typeof c.tag === 'string' && typeof c.live === 'string');
  if (!ui.captions) return;
  const tags = captionList.map((c) => c.tag);
  const off = Array.from(ui.captions.options).find((o) => o.value === '');
  const opts = [off || captionOption('', t('watch.captions.off'), false)];
  for (const c of captionList) {
    const name = c.name || c.tag;
    const o = captionOption(c.tag, c.machine_translation ? t('watch.captions.mt_option', { name }) : name, false);
    if (c.machine_translation) o.dataset.mt = 'true';
    opts.push(o);
  }
  for (const r of renditions) {
    if (!tags.includes(r.tag)) opts.push(captionOption(r.tag, t('watch.captions.unavailable', { name: r.name || r.tag }), true));
  }
  ui.captions.replaceChildren(...opts);
  const none = !captionList.length;
  ui.captions.hidden = none;
  if (ui.captionsLabel) ui.captionsLabel.hidden = none;
  if (ui.captionsNone) ui.captionsNone.hidden = !none;
  if (ui.captionsField) ui.captionsField.hidden = false;
  let want = '';
  for (const w of [params.get('captions'), store.get('captions')]) {
    if (w === 'off') break;
    const m = matchTag(w, tags);
    if (m) {
      want = m;
      break;
    }
  }
  ui.captions.value = want;
  setCaptions(want);
}

// startCaptions builds the caption view and its picker, from the page's
// configuration or else from the event API.
export function startCaptions() {
  capView = ui.captionArea ? captionView(ui.captionArea) : null;
  if (ui.captionArea) {
    // Machine-translated captions carry a visible mark, and its words for
    // screen readers, whenever they are shown.
    capBadge = document.createElement('span');
    capBadge.className = 'cap-mt';
    capBadge.id = 'caption-mt';
    capBadge.setAttribute('role', 'note');
    capBadge.setAttribute('aria-label', t('watch.captions.mt_long'));
    capBadge.title = t('watch.captions.mt_long');
    capBadge.textContent = t('watch.captions.mt');
    capBadge.hidden = true;
    ui.captionArea.prepend(capBadge);
  }
  if (ui.captions) {
    ui.captions.addEventListener('change', () => {
      store.set('captions', ui.captions.value || 'off');
      setCaptions(ui.captions.value);
    });
  }

  if (captionList) fillCaptions(captionList);
  else if (config.event) {
    // The server did not list them: ask the event API (same origin). Without
    // an answer the field stays hidden: "no captions" would be a guess.
    eventInfo(config.event).then((info) => {
      if (info && Array.isArray(info.captions)) fillCaptions(info.captions);
    });
  }
}
