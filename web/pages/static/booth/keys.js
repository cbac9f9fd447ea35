// The booth's keyboard shortcuts.

import { cough, doHandoverKey, releaseAll, toggleMic } from './controls.js';

// Shortcuts: M toggles the microphone, C held coughs, H hands over or
// accepts. Physical keys (event.code), so every keyboard layout works; never
// while typing in a field or with a modifier held.
function typing(el) {
  if (!el || !el.tagName) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  return !['range', 'button', 'checkbox', 'radio', 'submit', 'reset'].includes(el.type);
}

// bindKeys listens for the shortcuts, and lets go of a held cough when the
// page loses the keyboard.
export function bindKeys() {
  document.addEventListener('keydown', (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    switch (ev.code) {
      case 'KeyM':
        ev.preventDefault();
        if (!ev.repeat) toggleMic();
        break;
      case 'KeyC':
        ev.preventDefault();
        if (!ev.repeat) cough('key', true);
        break;
      case 'KeyH':
        ev.preventDefault();
        if (!ev.repeat) doHandoverKey();
        break;
      default:
    }
  });
  document.addEventListener('keyup', (ev) => {
    if (ev.code === 'KeyC') cough('key', false);
  });
  // A key or button released outside the page never arrives: let go on blur.
  window.addEventListener('blur', releaseAll);
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) releaseAll();
  });
}
