// What the server says about the booth: who this interpreter is, the floor
// and relay languages, and the booth state (members, who is on air, a
// handover under way, warnings, the input heard, the producer's mute), with
// what each change announces.

import { config, idOf, iso, record, say, t } from './page.js';

export let me = null; // {id, name}
export let floor = config.floor || { tag: '', name: '' };
export let relays = Array.isArray(config.relays) ? config.relays : [];

// applyWelcome takes who this page is and the languages from the welcome.
export function applyWelcome(m) {
  if (m.you && m.you.id !== undefined) me = { id: String(m.you.id), name: String(m.you.name || '') };
  if (m.floor && m.floor.tag) floor = { tag: String(m.floor.tag), name: String(m.floor.name || m.floor.tag) };
  if (Array.isArray(m.relays)) {
    relays = m.relays.filter((r) => r && r.tag).map((r) => ({ tag: String(r.tag), name: String(r.name || r.tag) }));
  }
}

// ---- booth state --------------------------------------------------------------

export let booth = { members: [], on_air: null, handover: null, warning: null, input: 'floor', direct_take: false, muted: false, resume: null };
let haveState = false;

// ---- back on air after a lost connection ----------------------------------------
// A connection lost while this interpreter is on air (the network, or the
// server restarting) keeps their place: the server puts them back on air by
// itself when the page reconnects within its grace time (resume in the
// state), and the floor is heard meanwhile. The page says so when the
// connection goes and when it comes back.

export let awaitingBack = false;

// connectionLost notes a lost connection (each failed attempt calls it
// again; only the first counts).
export function connectionLost() {
  if (awaitingBack || !haveState || onAirOf(booth) !== 'on') return;
  awaitingBack = true;
  record({ kind: 'lost-on-air' });
  say(t('booth.announce.lost_on_air'));
}

// onState takes the booth state the server sends and announces what changed;
// painting it is the caller's (protocol.js).
export function onState(m) {
  const next = {
    members: Array.isArray(m.members)
      ? m.members.filter((x) => x && x.id !== undefined).map((x) => ({
        id: String(x.id),
        name: String(x.name || ''),
        connected: !!x.connected,
        mic: !!x.mic,
        cough: !!x.cough,
        on_air: !!x.on_air,
      }))
      : [],
    on_air: idOf(m.on_air),
    handover: m.handover && m.handover.from !== undefined ? { from: idOf(m.handover.from), to: idOf(m.handover.to) } : null,
    warning: m.warning ? String(m.warning) : null,
    input: typeof m.input === 'string' && m.input ? m.input : booth.input,
    direct_take: !!m.direct_take,
    // The producer has taken the language back to the floor: nobody in
    // the booth is heard until released.
    muted: m.muted === true,
    // Who was lost while on air and is awaited back on air.
    resume: m.resume && m.resume.id !== undefined && m.resume.id !== null ? { id: String(m.resume.id) } : null,
  };
  const prev = haveState ? booth : null;
  booth = next;
  haveState = true;
  if (awaitingBack) {
    // The first state after a lost connection: back on air, or not (then
    // announceChanges says who is).
    awaitingBack = false;
    const back = onAirOf(next) === 'on';
    record({ kind: 'back', onAir: back });
    if (back) say(t('booth.announce.back_on_air'));
  }
  announceChanges(prev, next);
  record({
    kind: 'booth',
    onAir: onAirOf(next),
    mic: myMic(next),
    handover: handoverRole(next),
    warning: next.warning,
    input: next.input,
    members: next.members.length,
    muted: next.muted,
  });
}

export const isMe = (id) => !!me && id !== null && id === me.id;
export const member = (s, id) => s.members.find((x) => x.id === id) || null;
export const nameOf = (s, id) => {
  const x = member(s, id);
  return iso(x && x.name ? x.name : t('booth.members.unnamed'));
};
export const partners = (s) => s.members.filter((x) => !isMe(x.id));

export function onAirOf(s) {
  if (!s.on_air) return 'off';
  return isMe(s.on_air) ? 'on' : 'partner';
}

export function myMic(s) {
  const x = me ? member(s, me.id) : null;
  return !!(x && x.mic);
}

// handoverRole is 'offered' (by me), 'incoming' (to me), 'other' or null.
export function handoverRole(s) {
  if (!s.handover) return null;
  if (isMe(s.handover.from)) return 'offered';
  if (isMe(s.handover.to)) return 'incoming';
  return 'other';
}

export function inputName(input) {
  if (!input || input === 'floor') return t('booth.input.floor', { name: floor.name || floor.tag });
  const tag = input.replace(/^relay:/, '');
  const r = relays.find((x) => x.tag === tag);
  return t('booth.input.relay', { name: r ? r.name : tag });
}

function announceChanges(prev, s) {
  if (s.muted !== !!(prev && prev.muted)) {
    say(t(s.muted ? 'booth.announce.muted' : 'booth.announce.unmuted'));
  }
  const air = onAirOf(s);
  if (!prev || air !== onAirOf(prev) || (air === 'partner' && prev.on_air !== s.on_air)) {
    if (air === 'on') say(t('booth.announce.on_air'));
    else if (air === 'partner') say(t('booth.announce.partner_on_air', { name: nameOf(s, s.on_air) }));
    else if (prev) say(t('booth.announce.off_air'));
  }
  if (s.resume && !isMe(s.resume.id) && !(prev && prev.resume && prev.resume.id === s.resume.id)) {
    say(t('booth.announce.partner_lost', { name: nameOf(s, s.resume.id) }));
  }
  if (prev && myMic(prev) !== myMic(s)) say(t(myMic(s) ? 'booth.announce.mic_open' : 'booth.announce.mic_closed'));
  const hr = handoverRole(s);
  const phr = prev ? handoverRole(prev) : null;
  if (hr !== phr || (s.handover && prev && prev.handover && s.handover.to !== prev.handover.to)) {
    if (hr === 'incoming') say(t('booth.handover.incoming', { name: nameOf(s, s.handover.from) }));
    else if (hr === 'offered') say(t('booth.handover.offered', { name: nameOf(s, s.handover.to) }));
    else if (phr && prev.on_air === s.on_air) say(t('booth.announce.handover_withdrawn'));
  }
  if ((s.warning === 'two_mics_open') !== !!(prev && prev.warning === 'two_mics_open')) {
    if (s.warning === 'two_mics_open') say(t('booth.warning.two_mics'));
    else if (prev) say(t('booth.announce.warning_cleared'));
  }
  if (prev) {
    for (const x of partners(s)) {
      const before = member(prev, x.id);
      const name = iso(x.name || t('booth.members.unnamed'));
      if (x.connected && (!before || !before.connected)) say(t('booth.announce.partner_joined', { name }));
      if (!x.connected && before && before.connected) say(t('booth.announce.partner_left', { name }));
      if (before && x.connected && before.mic !== x.mic && !(x.on_air !== before.on_air)) {
        say(t(x.mic ? 'booth.announce.partner_mic_open' : 'booth.announce.partner_mic_closed', { name }));
      }
    }
    for (const x of partners(prev)) {
      if (x.connected && !member(s, x.id)) say(t('booth.announce.partner_left', { name: iso(x.name || t('booth.members.unnamed')) }));
    }
    if (prev.input !== s.input) say(t('booth.announce.input', { name: inputName(s.input) }));
  }
}
