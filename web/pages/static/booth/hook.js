// The test hook: read-only facts for the browser tests (window.tolkBooth);
// the page never relies on them.

import { outputMs } from '../shared/latency.js';
import { chimes, ctx, level, peakHz } from './audio.js';
import { floorCaps } from './captions.js';
import { chatLines } from './chat.js';
import { conn, connReason, lastClose, retryAt, rtt, sockets, welcomed, ws, wsAttempts, wsOpen } from './conn.js';
import { clock, floorDelay } from './latency.js';
import { media } from './media.js';
import { coughHeld, mic } from './mic.js';
import { notices } from './notices.js';
import { copy, history } from './page.js';
import { rtcStats } from './stats.js';
import { awaitingBack, booth, handoverRole, isMe, me, myMic, onAirOf } from './state.js';

export function expose() {
  window.tolkBooth = Object.freeze({
    get state() {
      return conn;
    },
    get conn() {
      return {
        state: conn,
        reason: connReason,
        ws: ws ? (wsOpen ? 'open' : 'connecting') : 'closed',
        welcomed,
        media: media ? media.state : 'none',
        attempts: wsAttempts,
        retryInMs: retryAt ? Math.max(0, Math.round(retryAt - performance.now())) : 0,
        lastClose: lastClose ? copy(lastClose) : null,
        restarts: media ? media.restarts : 0,
        sockets,
      };
    },
    get me() {
      return me ? copy(me) : null;
    },
    get mic() {
      return myMic(booth);
    },
    get cough() {
      return coughHeld;
    },
    get input() {
      return booth.input;
    },
    get handover() {
      return handoverRole(booth);
    },
    get warning() {
      return booth.warning;
    },
    get directTake() {
      return booth.direct_take;
    },
    get muted() {
      return booth.muted;
    },
    // Lost while on air and not yet told by the server whether back on air.
    get awaitingBack() {
      return awaitingBack;
    },
    get resume() {
      return booth.resume ? copy(booth.resume) : null;
    },
    notices: () => copy(notices),
    chimes: () => chimes,
    floorDelay: () => Object.assign(copy(floorDelay), { clockRtt: clock.rtt, clockOffset: clock.offset }),
    members: () => booth.members.map((x) => Object.assign(copy(x), { self: isMe(x.id) })),
    onAir: () => onAirOf(booth),
    rtt: () => ({ ws: rtt.ws, media: rtt.media }),
    floorLevel: () => level('floor'),
    micLevel: () => level('mic'),
    level,
    peakHz,
    history: () => copy(history),
    chat: () => copy(chatLines),
    audio: () => (ctx ? { state: ctx.state, sampleRate: ctx.sampleRate, outputLatencyMs: outputMs(ctx) } : null),
    micSettings: () => (mic.track && mic.track.getSettings ? copy(mic.track.getSettings()) : null),
    micLive: () => !!(mic.track && mic.track.readyState === 'live'),
    rtcStats,
    floorCaptions: () => ({ lang: floorCaps.lang, state: floorCaps.state, lines: floorCaps.lines(), messages: floorCaps.count, none: floorCaps.none }),
  });
}
