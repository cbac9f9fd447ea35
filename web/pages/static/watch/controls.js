// The watch page's controls: Play, the language picker, the mode and the
// volume.

import { selectNativeTrack, switchHLSLanguage } from './hlsplayer.js';
import { renditions, store, ui } from './page.js';
import { applyVolume, current, lang, mode, restart, setLang, setMode, stop, toggle, updateButton, wantPlay } from './session.js';
import { setState, state } from './status.js';

// bindControls wires the controls and shows the page at rest.
export function bindControls() {
  ui.play.addEventListener('click', toggle);

  if (ui.lang) {
    ui.lang.value = lang;
    ui.lang.addEventListener('change', () => {
      setLang(ui.lang.value);
      store.set('audio', lang);
      // Waiting to retry: the next attempt takes the new language.
      if (!wantPlay || !current || !current.alive) return;
      if (current.mode === 'hls' && current.hls) {
        current.lang = lang;
        switchHLSLanguage(current);
      } else if (current.mode === 'hls' && current.el && !current.hls) {
        current.lang = lang;
        selectNativeTrack(current);
        if (state === 'live') setState('live');
      } else {
        restart(); // WebRTC: one connection per language
      }
    });
  }

  for (const radio of ui.modes) {
    radio.checked = radio.value === mode;
    radio.addEventListener('change', () => {
      if (!radio.checked) return;
      setMode(radio.value);
      store.set('mode', mode);
      if (wantPlay) restart();
    });
  }

  if (ui.volume) {
    const v = Number(store.get('volume'));
    if (store.get('volume') !== null && v >= 0 && v <= 100) ui.volume.value = String(v);
    ui.volume.addEventListener('input', () => {
      store.set('volume', ui.volume.value);
      applyVolume();
    });
  }

  // Leaving the page ends the server's session rather than letting it time out.
  window.addEventListener('pagehide', () => {
    if (wantPlay) stop();
  });

  ui.play.disabled = !renditions.length || !mode;
  updateButton();
  setState('idle');
}
