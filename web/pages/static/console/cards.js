// Painting the language cards from each status: who is on air, the mute and
// warnings, the program, voice and floor-bed meters, every interpreter with
// their microphone and link, listeners, latency and captions.

import * as shared from '../shared/audio.js';
import { meterText } from './audio.js';
import { $, CAPTION_KEYS, LINK_KEYS, db, finite, floorWord, iso, ms, nameOf, num, pct, qualityWord, renditions, say, setClamped, setData, setHidden, setText, t } from './page.js';

// ---- link quality -------------------------------------------------------------------

// linkQuality grades an interpreter's link, both ways: poor beyond 5 % loss,
// 300 ms round trip or 50 ms jitter; fair beyond 1 %, 150 ms or 30 ms.
export function linkQuality(it) {
  if (!it || !it.connected) return 'unknown';
  const loss = Math.max(finite(it.loss) ? it.loss : 0, finite(it.down_loss) ? it.down_loss : 0);
  const rtt = finite(it.rtt_ms) ? it.rtt_ms : null;
  const jit = Math.max(finite(it.jitter_ms) ? it.jitter_ms : 0, finite(it.down_jitter_ms) ? it.down_jitter_ms : 0);
  if (loss > 0.05 || (rtt !== null && rtt > 300) || jit > 50) return 'poor';
  if (loss > 0.01 || (rtt !== null && rtt > 150) || jit > 30) return 'fair';
  if (rtt === null && !it.jitter_buffer) return 'unknown';
  return 'good';
}

// inputText says what an interpreter hears as source.
export function inputText(input) {
  if (typeof input === 'string' && input.startsWith('relay:')) return t('console.interp.relay', { name: iso(nameOf(input.slice(6))) });
  return t('console.interp.floor');
}

const micKeys = { on: 'console.interp.mic_on', off: 'console.interp.mic_off', cough: 'console.interp.cough' };

// ---- cards ----------------------------------------------------------------------------

const cards = renditions.map((r, i) => {
  const id = (s) => $('c' + i + '-' + s);
  const m = (name) => {
    const el = id(name);
    return el ? shared.meter(el, id(name + '-cover'), meterText) : null;
  };
  return {
    tag: r.tag,
    floor: !!r.floor,
    el: $('c' + i),
    onair: id('onair'),
    warning: id('warning'),
    interps: id('interps'),
    nobody: id('nobody'),
    quality: id('quality'),
    listeners: id('listeners'),
    latency: id('latency'),
    captions: id('captions'),
    captionsState: id('captions-state'),
    mute: id('mute'),
    program: m('program'),
    voice: m('voice'),
    bed: m('bed'),
    programVal: id('program-val'),
    voiceVal: id('voice-val'),
    bedVal: id('bed-val'),
    prev: null,
    interpKey: '',
  };
});

// paintCards paints every card from status s.
export function paintCards(s) {
  const now = performance.now();
  for (const c of cards) {
    const l = s.languages.find((x) => x && x.tag === c.tag);
    if (l) paintCard(c, l, s, now);
  }
}

function paintCard(c, l, s, now) {
  const booth = l.booth || null;
  const muted = !!(booth && booth.muted);
  const warning = booth && booth.warning === 'two_mics_open';
  const onAir = typeof l.on_air === 'string' && l.on_air ? l.on_air : null;
  const name = nameOf(c.tag);
  // The interpreter lost while on air (a dropped connection or a restart
  // of the server), awaited back on air.
  const awaitedID = booth && booth.resume && booth.resume.id !== undefined ? String(booth.resume.id) : null;
  const awaitedIt = awaitedID && Array.isArray(l.interpreters) ? l.interpreters.find((x) => x && String(x.id) === awaitedID) : null;
  const awaited = awaitedID && !onAir ? String((awaitedIt && awaitedIt.name) || t('console.interp.unnamed')) : null;

  // Who is heard.
  if (c.floor) {
    const st = s.floor && s.floor.state ? s.floor.state : 'missing';
    setData(c.onair, 'state', st === 'live' ? 'original' : 'missing');
    setText(c.onair, t('console.card.original_state', { state: floorWord(st) }));
  } else if (l.rebroadcast) {
    // A rebroadcast plays each language as recorded: no booth to steer.
    setData(c.onair, 'state', 'rebroadcast');
    setText(c.onair, t('console.card.rebroadcast'));
    if (c.mute) c.mute.hidden = true;
  } else {
    setData(c.onair, 'state', muted ? 'muted' : onAir ? 'air' : awaited ? 'awaiting' : 'floor');
    setText(c.onair, muted ? t('console.card.muted') : onAir ? t('console.card.on_air', { name: iso(onAir) })
      : awaited ? t('console.card.awaiting', { name: iso(awaited) }) : t('console.card.floor_only'));
    setHidden(c.warning, !warning);
    if (c.mute) {
      setText(c.mute, t(muted ? 'console.card.release' : 'console.card.mute'));
      setData(c.mute, 'muted', String(muted));
    }
  }
  setData(c.el, 'muted', String(muted));
  setData(c.el, 'warning', String(!!warning));
  setData(c.el, 'onair', String(!!onAir && !muted));

  // Meters: the bars move with every status; the numbers beside them.
  const prog = l.program || {};
  c.program.update(finite(prog.peak_db) ? prog.peak_db : l.program_dbfs, now);
  setText(c.programVal, finite(prog.short_term_lufs) && prog.short_term_lufs > -70
    ? t('console.unit.lufs_value', { v: num(prog.short_term_lufs, 1) })
    : t('console.meter.silent'));
  if (c.voice) {
    c.voice.update(finite(l.voice_db) ? l.voice_db : null, now);
    setText(c.voiceVal, db(l.voice_db));
  }
  if (c.bed) {
    // The floor bed's bar; beside it, how far it is ducked while it is.
    const duck = finite(l.duck_db) ? l.duck_db : 0;
    const ducked = !!l.ducking || duck < -0.5;
    c.bed.update(finite(l.floor_bed_db) ? l.floor_bed_db : null, now);
    setText(c.bedVal, ducked ? t('console.card.ducking', { v: num(duck, 1) }) : db(l.floor_bed_db));
    setData(c.bedVal, 'ducking', String(ducked));
  }

  if (c.interps) paintInterpreters(c, Array.isArray(l.interpreters) ? l.interpreters : [], awaitedID);
  if (c.quality) paintQuality(c, s.floor);

  const lis = l.listeners || {};
  setClamped(c.listeners, t('console.card.listeners_value', { webrtc: num(lis.webrtc), hls: num(lis.hls) }));
  // Latency in milliseconds, the unit said once by the label.
  const lat = l.latency || {};
  const n = (x) => (finite(x) ? num(x) : t('console.none'));
  if (c.floor) {
    const web = lat.webrtc && lat.webrtc.players > 0 ? n(lat.webrtc.median_ms) : t('console.none');
    const hls = lat.hls && lat.hls.players > 0 ? n(lat.hls.median_ms) : t('console.none');
    setClamped(c.latency, t('console.card.latency_floor', { webrtc: web, hls }));
  } else {
    setClamped(c.latency, t('console.card.latency_value', { ear: n(lat.floor_to_ear_ms), mouth: n(lat.mouth_to_webrtc_ms) }));
  }
  const cap = l.captions || {};
  let cs = 'none';
  if (cap.available) cs = cap.last_error && !cap.running ? 'error' : cap.running ? 'live' : 'stopped';
  setData(c.captions, 'state', cs);
  setText(c.captionsState, t(CAPTION_KEYS[cs]));

  // What changed, said once.
  const prev = c.prev;
  if (prev) {
    if (!c.floor && prev.onAir !== onAir) say(onAir ? t('console.say.on_air', { lang: name, name: iso(onAir) }) : t('console.say.floor_only', { lang: name }));
    if (prev.muted !== muted) say(t(muted ? 'console.say.muted' : 'console.say.released', { lang: name }));
    if (!prev.warning && warning) say(t('console.say.two_mics', { lang: name }));
  }
  c.prev = { onAir, muted, warning };
}

function paintInterpreters(c, list, awaitedID) {
  setHidden(c.nobody, list.length > 0);
  const rows = list.map((it) => {
    const q = linkQuality(it);
    const mic = micKeys[it.mic] ? it.mic : 'off';
    const nums = [];
    if (it.connected) {
      nums.push(t('console.interp.link', { rtt: ms(it.rtt_ms), loss: pct(it.loss), jitter: ms(it.jitter_ms) }));
      if (finite(it.floor_to_ear_ms)) nums.push(t('console.interp.ear', { v: ms(it.floor_to_ear_ms) }));
    }
    if (typeof it.input === 'string' && it.input.startsWith('relay:')) nums.push(inputText(it.input));
    return { id: String(it.id), name: String(it.name || t('console.interp.unnamed')), connected: !!it.connected, air: !!it.on_air, mic, q, nums: nums.join(' · '),
      awaited: !it.connected && String(it.id) === awaitedID };
  });
  const key = JSON.stringify(rows);
  if (key === c.interpKey) return;
  c.interpKey = key;
  const frag = document.createDocumentFragment();
  for (const r of rows) {
    const li = document.createElement('li');
    li.className = 'interp';
    li.dataset.connected = String(r.connected);
    li.dataset.onair = String(r.air);
    li.dataset.id = r.id;
    const line = document.createElement('div');
    line.className = 'interp-line';
    const n = document.createElement('span');
    n.className = 'iname';
    n.textContent = r.name;
    line.append(n);
    const chip = (cls, text, data) => {
      const s = document.createElement('span');
      s.className = 'chip ' + cls;
      s.textContent = text;
      if (data) for (const [k, v] of Object.entries(data)) s.dataset[k] = v;
      line.append(' ', s);
    };
    // On air says the microphone is open; otherwise the microphone's state.
    if (r.awaited) chip('chip-away', t('console.interp.reconnecting'), { awaited: 'true' });
    else if (!r.connected) chip('chip-away', t('console.interp.away'));
    else if (r.air) chip('chip-air', t('console.interp.on_air'));
    else chip('chip-mic', t(micKeys[r.mic]), { mic: r.mic });
    li.append(line);
    // The link's grade, then its numbers.
    if (r.connected || r.nums) {
      const d = document.createElement('div');
      d.className = 'interp-nums num';
      if (r.connected) {
        const q = document.createElement('span');
        q.className = 'chip chip-link';
        q.dataset.q = r.q;
        q.textContent = t(LINK_KEYS[r.q]);
        d.append(q, ' ');
      }
      d.append(r.nums);
      li.append(d);
    }
    frag.append(li);
  }
  c.interps.replaceChildren(frag);
}

function paintQuality(c, floor) {
  const inputs = floor && Array.isArray(floor.inputs) ? floor.inputs : [];
  const on = inputs.find((x) => x && x.on_program) || inputs[0];
  const q = on && on.quality;
  if (!q || !q.verdict) {
    setClamped(c.quality, '');
    return;
  }
  setData(c.quality, 'verdict', q.verdict);
  setClamped(c.quality, t('console.quality.line', {
    verdict: qualityWord(q.verdict),
    snr: num(q.snr_db),
    bw: num(finite(q.bandwidth_hz) ? q.bandwidth_hz / 1000 : null, 1),
  }));
}
