// A strip with the floor's live captions when the floor language has them:
// a help with names and numbers. It never speaks to a screen reader. When
// the event says the floor language has none, the strip says so instead.

import { captionFeed, captionView } from '../shared/captions.js';
import { eventInfo } from '../shared/net.js';
import { config } from './page.js';

export const floorCaps = { lang: '', state: 'off', lines: () => [], count: 0, none: false };

export function startFloorCaptions() {
  const box = document.getElementById('floor-captions');
  const area = document.getElementById('floor-caption-area');
  const none = document.getElementById('floor-captions-none');
  const floorTag = config.floor && config.floor.tag;
  if (!box || !area || !config.event || !floorTag) return;
  eventInfo(config.event).then((info) => {
    if (!info || !Array.isArray(info.captions)) return; // unknown: say nothing
    const c = info.captions.find((x) => x && x.tag === floorTag && typeof x.live === 'string');
    if (!c) {
      if (!none) return;
      area.hidden = true;
      none.hidden = false;
      box.hidden = false;
      floorCaps.none = true;
      return;
    }
    const view = captionView(area, { announce: false });
    // A closed event's captions open to the interpreter's own token.
    const live = info.access ? withToken(c.live) : c.live;
    box.hidden = false;
    floorCaps.lang = c.tag;
    floorCaps.lines = view.lines;
    captionFeed(live, {
      state: (st) => {
        floorCaps.state = st;
      },
      message: (m) => {
        floorCaps.count++;
        view.show(m);
      },
    });
  });
}

// withToken adds the booth's token (from its WebSocket's address) to path.
function withToken(path) {
  const token = new URL(config.ws || '', window.location.href).searchParams.get('token');
  if (!token) return path;
  const u = new URL(path, window.location.href);
  u.searchParams.set('token', token);
  return u.pathname + u.search;
}
