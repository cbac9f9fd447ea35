// Playing from Janus (config sfu.watch): the language's mountpoint of a
// Janus streaming plugin that tolk forwards to, through the Janus HTTP API:
// a session, the streaming plugin attached, "watch" the mountpoint, Janus's
// offer answered (every candidate gathered first), "start". A long poll
// reads Janus's events and keeps the session alive; the session is
// destroyed when the page's session ends. A language switch is a new
// session, as with WHEP. A language without a mountpoint plays over WHEP.

import { iceGatheringDone } from '../shared/net.js';
import { config, t } from './page.js';
import { attachElement, play, retry, wentLive } from './session.js';
import { setState } from './status.js';
import { startWebRTC } from './webrtc.js';

const base = () => String(config.janus.api).replace(/\/+$/, '');
const transaction = () => Math.random().toString(36).slice(2, 14);

// request sends one Janus API request and returns its answer; Janus's own
// errors and the plugin's are thrown.
async function request(s, path, body) {
  const res = await fetch(base() + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(Object.assign({ transaction: transaction() }, body)),
    signal: s.abort.signal,
  });
  if (!res.ok) throw new Error('HTTP ' + res.status);
  const r = await res.json();
  const d = r.plugindata && r.plugindata.data;
  if (r.janus === 'error' || (d && d.error_code)) throw new Error('janus ' + (r.error ? r.error.code : d.error_code));
  return r;
}

export async function startJanus(s) {
  const mounts = (config.janus && config.janus.mounts) || {};
  const mount = mounts[s.lang];
  if (!mount || !window.RTCPeerConnection) {
    startWebRTC(s);
    return;
  }
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  s.pc = pc;
  s.abort = new AbortController();
  pc.addEventListener('track', (ev) => {
    if (!s.alive || ev.track.kind !== 'audio') return;
    const stream = new MediaStream([ev.track]);
    const el = document.createElement('audio');
    el.autoplay = true;
    el.srcObject = stream;
    attachElement(s, el, stream);
    play(s);
    if (pc.connectionState === 'connected') wentLive(s);
  });
  pc.addEventListener('connectionstatechange', () => {
    if (!s.alive) return;
    if (pc.connectionState === 'connected' && s.el) wentLive(s);
    if (pc.connectionState === 'disconnected') {
      setState('reconnecting');
      window.clearTimeout(s.graceTimer);
      s.graceTimer = window.setTimeout(() => retry(s, t('watch.error.network')), 3000);
    }
    if (pc.connectionState === 'failed') retry(s, t('watch.error.network'));
  });
  try {
    const session = await request(s, '', { janus: 'create' });
    const path = '/' + session.data.id;
    // The page's session ends: so does Janus's (keepalive outlives a
    // closing page).
    s.onEnd = () => {
      fetch(base() + path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ janus: 'destroy', transaction: transaction() }),
        keepalive: true,
      }).catch(() => {});
    };
    if (!s.alive) {
      s.onEnd(); // ended while Janus made the session
      return;
    }
    const handle = await request(s, path, { janus: 'attach', plugin: 'janus.plugin.streaming' });
    const hpath = path + '/' + handle.data.id;
    await request(s, hpath, { janus: 'message', body: { request: 'watch', id: mount } });
    await events(s, pc, path, hpath);
  } catch (err) {
    if (s.alive) retry(s, t('watch.error.network'));
  }
}

// events long-polls the session until the page's session ends: it answers
// Janus's offer and ends the session when Janus hangs up.
async function events(s, pc, path, hpath) {
  while (s.alive) {
    const res = await fetch(base() + path + '?maxev=1&rid=' + Date.now(), { signal: s.abort.signal });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    const ev = await res.json();
    if (!s.alive) return;
    const d = ev.plugindata && ev.plugindata.data;
    if (ev.janus === 'hangup' || (d && d.error_code) || (d && d.result && d.result.status === 'stopped')) {
      throw new Error('janus hung up');
    }
    if (ev.jsep && ev.jsep.type === 'offer') {
      await pc.setRemoteDescription(ev.jsep);
      await pc.setLocalDescription(await pc.createAnswer());
      await iceGatheringDone(pc, 5000);
      if (!s.alive) return;
      await request(s, hpath, {
        janus: 'message',
        body: { request: 'start' },
        jsep: { type: 'answer', sdp: pc.localDescription.sdp },
      });
    }
  }
}
