// The booth's buttons: microphone, handover, take, slow down, the input
// picker, and the cough key that mutes while held.

import { reconnectNow, send } from './conn.js';
import { coughHeld, holdCough, mic } from './mic.js';
import { record, ui } from './page.js';
import { enabled } from './render.js';
import { booth, handoverRole, isMe, myMic } from './state.js';

export function toggleMic() {
  if (!enabled(ui.mic)) return;
  const on = !myMic(booth);
  if (on && !mic.track) return;
  send({ type: 'mic', on });
}

export function doHandoverKey() {
  const hr = handoverRole(booth);
  if (hr === 'incoming') click(ui.accept, 'accept');
  else if (!booth.handover && isMe(booth.on_air)) click(ui.handover, 'handover');
}

function click(btn, type) {
  if (!enabled(btn)) return;
  send({ type });
}

// Cough: mute while held, by pointer, by the button's own keys, or by C.
// The track is muted here (mic.js) as well as on the server, so a cough
// never depends on how fast the message travels.
const coughBy = new Set();

export function cough(source, down) {
  if (down) {
    if (!enabled(ui.cough) && !coughBy.size) return;
    coughBy.add(source);
  } else coughBy.delete(source);
  const held = coughBy.size > 0;
  if (held === coughHeld) return;
  holdCough(held);
  ui.cough.setAttribute('aria-pressed', held ? 'true' : 'false');
  send({ type: 'cough', down: held });
  record({ kind: 'cough', down: held });
}

// releaseAll lets go of a cough however it is held: a key or button
// released outside the page never arrives.
export function releaseAll() {
  for (const s of Array.from(coughBy)) cough(s, false);
}

// bindControls wires the buttons and the input picker.
export function bindControls() {
  ui.mic.addEventListener('click', toggleMic);
  ui.handover.addEventListener('click', () => click(ui.handover, 'handover'));
  ui.accept.addEventListener('click', () => click(ui.accept, 'accept'));
  ui.cancel.addEventListener('click', () => click(ui.cancel, 'cancel'));
  ui.take.addEventListener('click', () => click(ui.take, 'take'));
  ui.slowDown.addEventListener('click', () => click(ui.slowDown, 'slow_down'));
  ui.reconnect.addEventListener('click', reconnectNow);
  ui.input.addEventListener('change', () => {
    const v = ui.input.value;
    if (!send({ type: 'input', source: v })) ui.input.value = booth.input;
  });

  ui.cough.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault();
    try {
      ui.cough.setPointerCapture(ev.pointerId);
    } catch (e) {
      // capture is a convenience
    }
    cough('pointer', true);
  });
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
    ui.cough.addEventListener(type, () => cough('pointer', false));
  }
  ui.cough.addEventListener('keydown', (ev) => {
    if (ev.key !== ' ' && ev.key !== 'Enter') return;
    ev.preventDefault();
    ev.stopPropagation();
    if (!ev.repeat) cough('button-key', true);
  });
  ui.cough.addEventListener('keyup', (ev) => {
    if (ev.key !== ' ' && ev.key !== 'Enter') return;
    ev.preventDefault();
    cough('button-key', false);
  });
  ui.cough.addEventListener('click', (ev) => ev.preventDefault());
  ui.cough.addEventListener('contextmenu', (ev) => ev.preventDefault());
}
