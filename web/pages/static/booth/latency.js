// How far the floor this interpreter hears trails the program, measured
// here and reported to the server every 2 s (docs/booth-protocol.md,
// latency): the server's clock comes from the pongs, the program time of
// what plays from the floor stream's RTP timestamps.

import { outputMs, receiverDelay, serverClock } from '../shared/latency.js';
import { ctx } from './audio.js';
import { send } from './conn.js';
import { media } from './media.js';
import { record, setText, t, ui } from './page.js';

export const clock = serverClock();
// ms: the latest measurement (null when none); sent: reports sent;
// clock: the clock the receiver's timestamps were found on.
export const floorDelay = { ms: null, sent: 0, clock: '' };

// onPongClock takes a pong: the page's ping time it echoes, now, and the
// server's clock and program time.
export function onPongClock(m) {
  clock.add(Number(m.t), performance.now(), Number(m.server_ms), Number(m.pts));
}

function floorReceiver() {
  const track = media && media.streams.floor;
  if (!track) return null;
  return media.pc.getReceivers().find((r) => r.track === track) || null;
}

// measureFloor measures and reports the floor's delay; the ping (every
// 2 s) calls it.
export function measureFloor() {
  if (!media || media.state !== 'connected') return;
  const d = receiverDelay(floorReceiver(), clock, outputMs(ctx));
  if (!d || d.ms > 60000) return;
  const ms = Math.round(d.ms);
  if (floorDelay.clock !== d.clock) record({ kind: 'latency-clock', clock: d.clock });
  floorDelay.ms = ms;
  floorDelay.clock = d.clock;
  if (send({ type: 'latency', floor_ms: ms })) floorDelay.sent++;
  paintDelay();
}

// clearFloorDelay forgets the measurement when the audio goes.
export function clearFloorDelay() {
  floorDelay.ms = null;
  paintDelay();
}

function paintDelay() {
  const known = floorDelay.ms !== null;
  ui.floorDelay.hidden = !known;
  setText(ui.floorDelay, known ? t('booth.delay.value', { ms: floorDelay.ms }) : '');
}
