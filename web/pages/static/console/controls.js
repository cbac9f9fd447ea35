// The buttons of the cards and the top bar: listen (the monitor), mute or
// release a booth, the detail drawer; the monitor's volume and stop; the
// alert sound.

import { applyVolume, toggleSound, unlock } from './audio.js';
import { closeDetail, openDetail, openTag, toggleMute } from './detail.js';
import { listen, wanted } from './monitor.js';
import { $, renditions, store, ui } from './page.js';

export function bindControls() {
  renditions.forEach((r, i) => {
    const b = (s) => $('c' + i + '-' + s);
    b('listen').addEventListener('click', () => listen(r.tag));
    const mute = b('mute');
    if (mute) mute.addEventListener('click', () => toggleMute(r.tag, b('error')));
    b('details').addEventListener('click', (ev) => {
      if (openTag === r.tag) closeDetail();
      else openDetail(r.tag, ev.currentTarget);
    });
  });
  ui.monitorStop.addEventListener('click', () => {
    if (wanted) listen(wanted);
  });
  const vol = store.get('volume');
  if (vol !== null && Number.isFinite(Number(vol))) ui.monitorVolume.value = vol;
  ui.monitorVolume.addEventListener('input', () => {
    unlock();
    applyVolume();
    store.set('volume', ui.monitorVolume.value);
  });
  ui.sound.addEventListener('click', toggleSound);
}
