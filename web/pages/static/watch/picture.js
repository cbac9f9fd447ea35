// The floor's picture: the stage above the pickers shows the media element
// of the session that plays, once it decodes a picture; an audio-only event
// keeps the stage hidden and the page looks as it always did. Captions sit
// under the picture, or over its lower part when the viewer asks (kept).
// The players call showPicture with their element; a WebRTC player that
// receives video may do the same.

import { eventInfo } from '../shared/net.js';
import { $, config, store, ui } from './page.js';

const stage = $('stage');
const picture = $('picture');
const overField = $('captions-over-field');
const over = $('captions-over');

// hasVideo: the event's master playlist lists the picture (the page's
// configuration said so, or the event API since).
export let hasVideo = !!config.video;

let shown = null;

function placeCaptions() {
  if (!ui.captionArea || !stage) return;
  const onTop = !!(over && over.checked && shown && !stage.hidden);
  if (onTop && ui.captionArea.parentNode !== stage) stage.appendChild(ui.captionArea);
  if (!onTop && ui.captionArea.parentNode === stage) {
    // Back under the picture, where the template put it.
    const anchor = $('state');
    anchor.parentNode.insertBefore(ui.captionArea, anchor);
  }
}

function update() {
  const on = !!(shown && shown.videoWidth > 0 && shown.isConnected);
  if (stage) stage.hidden = !on;
  if (overField) overField.hidden = !on;
  placeCaptions();
}

// showPicture puts el (a <video>) on the stage; the stage appears when the
// element has a picture and goes when it has none.
export function showPicture(el) {
  if (!picture) return;
  shown = el;
  el.setAttribute('playsinline', '');
  picture.replaceChildren(el);
  for (const ev of ['loadedmetadata', 'resize', 'emptied']) el.addEventListener(ev, update);
  update();
}

// hidePicture takes a session's element off the stage.
export function hidePicture(el) {
  if (shown !== el) return;
  shown = null;
  if (picture) picture.replaceChildren();
  update();
}

// watchForVideo asks the event API, while an audio-only session plays, for
// the picture: a floor that starts sending video adds the video variants
// to the master playlist once its first video segment exists, and the
// player must read the master again to see them. onVideo is called once.
export function watchForVideo(alive, onVideo) {
  if (hasVideo || !config.event) return;
  const check = () => {
    if (!alive()) return;
    eventInfo(config.event).then((info) => {
      if (!alive()) return;
      if (info && info.video) {
        hasVideo = true;
        onVideo();
        return;
      }
      window.setTimeout(check, 5000);
    });
  };
  window.setTimeout(check, 5000);
}

export function bindPicture() {
  if (!over) return;
  over.checked = store.get('captionsOver') === 'true';
  over.addEventListener('change', () => {
    store.set('captionsOver', over.checked ? 'true' : 'false');
    placeCaptions();
  });
}
