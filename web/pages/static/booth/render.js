// Painting the booth: the on-air sign (and the producer's mute), the
// controls and what they allow, the handover line, the members and the
// input picker.

import { applyGains } from './audio.js';
import { welcomed, wsOpen } from './conn.js';
import { mic } from './mic.js';
import { iso, setText, t, ui } from './page.js';
import { awaitingBack, booth, floor, handoverRole, isMe, me, myMic, nameOf, onAirOf, partners, relays } from './state.js';

function enable(btn, on) {
  btn.setAttribute('aria-disabled', on ? 'false' : 'true');
}
export const enabled = (btn) => btn.getAttribute('aria-disabled') !== 'true';

export function paintControls() {
  const live = wsOpen && welcomed && !!me;
  const s = booth;
  const hr = handoverRole(s);
  const partnerHere = partners(s).some((x) => x.connected);
  // Without a microphone nothing may put this interpreter on air (it would
  // be silence on air); closing an open one is always possible.
  const canSpeak = !!mic.track;
  enable(ui.mic, live && (canSpeak || myMic(s)));
  enable(ui.cough, live && canSpeak);
  enable(ui.handover, live && isMe(s.on_air) && !s.handover && partnerHere);
  enable(ui.accept, live && canSpeak && hr === 'incoming');
  enable(ui.cancel, live && hr === 'offered');
  enable(ui.take, live && canSpeak && !isMe(s.on_air) && (s.on_air === null || s.direct_take));
  enable(ui.slowDown, live);
  // What the page last heard may be out of date while it is not connected.
  ui.onair.dataset.stale = String(!live);
  paintWho();
}

// paintWho names who the on-air light is about: the partner on air, the
// producer's mute, this interpreter on their way back on air after a lost
// connection, or a partner awaited back on air.
function paintWho() {
  const s = booth;
  const air = s.muted ? 'muted' : onAirOf(s);
  let who = '';
  if (air === 'partner') who = nameOf(s, s.on_air);
  else if (air === 'muted') who = t('booth.onair.muted_floor');
  else if (awaitingBack) who = t('booth.onair.reconnecting');
  else if (air === 'off' && s.resume && !isMe(s.resume.id)) who = t('booth.onair.awaiting', { name: nameOf(s, s.resume.id) });
  setText(ui.onairWho, who);
}

const airKeys = { on: 'booth.onair.on', partner: 'booth.onair.partner', off: 'booth.onair.off', muted: 'booth.onair.muted' };

export function paintBooth() {
  const s = booth;
  // While the producer mutes the booth nobody in it is heard: the light
  // says so, whoever holds the channel.
  const air = s.muted ? 'muted' : onAirOf(s);
  ui.onair.dataset.state = air;
  setText(ui.onairText, t(airKeys[air]));
  ui.mutedBanner.hidden = !s.muted;

  const open = myMic(s);
  ui.mic.setAttribute('aria-pressed', open ? 'true' : 'false');
  setText(ui.micBadge, t(open ? 'booth.mic.open' : 'booth.mic.closed'));

  const hr = handoverRole(s);
  let hs = '';
  if (hr === 'incoming') hs = t('booth.handover.incoming', { name: nameOf(s, s.handover.from) });
  else if (hr === 'offered') hs = t('booth.handover.offered', { name: nameOf(s, s.handover.to) });
  else if (hr === 'other') hs = t('booth.handover.between', { from: nameOf(s, s.handover.from), to: nameOf(s, s.handover.to) });
  setText(ui.handoverStatus, hs);
  ui.handoverStatus.dataset.role = hr || '';

  ui.warning.hidden = s.warning !== 'two_mics_open';
  if (ui.input.value !== s.input && Array.from(ui.input.options).some((o) => o.value === s.input)) ui.input.value = s.input;
  paintMembers();
  applyGains();
  paintControls();
}

function paintMembers() {
  const list = booth.members;
  ui.membersNone.hidden = partners(booth).length > 0;
  const frag = document.createDocumentFragment();
  for (const x of list) {
    const li = document.createElement('li');
    li.className = 'member';
    li.dataset.connected = String(x.connected);
    li.dataset.onAir = String(booth.on_air === x.id);
    li.dataset.self = String(isMe(x.id));
    const name = document.createElement('span');
    name.className = 'member-name';
    const n = iso(x.name || t('booth.members.unnamed'));
    name.textContent = isMe(x.id) ? t('booth.members.you', { name: n }) : n;
    li.appendChild(name);
    const tags = [];
    tags.push(['presence', t(x.connected ? 'booth.members.connected' : 'booth.members.away')]);
    tags.push(['mic', t(x.mic ? 'booth.members.mic_open' : 'booth.members.mic_closed')]);
    if (booth.on_air === x.id) tags.push(['air', t('booth.members.on_air')]);
    if (x.cough) tags.push(['cough', t('booth.members.coughing')]);
    for (const [kind, text] of tags) {
      const b = document.createElement('span');
      b.className = 'tag tag-' + kind;
      if (kind === 'mic') b.dataset.on = String(x.mic);
      b.textContent = text;
      li.appendChild(document.createTextNode(' '));
      li.appendChild(b);
    }
    frag.appendChild(li);
  }
  ui.members.replaceChildren(frag);
}

export function fillInputs() {
  const want = ui.input.value;
  const opts = [['floor', t('booth.input.floor', { name: floor.name || floor.tag }), floor.tag]];
  for (const r of relays) opts.push(['relay:' + r.tag, t('booth.input.relay', { name: r.name }), r.tag]);
  const same = opts.length === ui.input.options.length &&
    opts.every((o, i) => ui.input.options[i].value === o[0] && ui.input.options[i].textContent === o[1]);
  if (same) return;
  ui.input.replaceChildren(...opts.map(([value, text, lang]) => {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    if (lang) o.lang = lang;
    return o;
  }));
  const keep = booth.input || want;
  ui.input.value = opts.some((o) => o[0] === keep) ? keep : 'floor';
}
