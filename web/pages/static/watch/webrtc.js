// Playing over WebRTC (WHEP): one peer connection per language, its
// resource deleted when the session ends.

import { iceGatheringDone } from '../shared/net.js';
import { accessLost } from './access.js';
import { config, t } from './page.js';
import { attachElement, deleteResource, fail, play, retry, wentLive } from './session.js';
import { setState } from './status.js';

class HTTPError extends Error {
  constructor(status) {
    super('HTTP ' + status);
    this.status = status;
  }
}

// Client errors other than these will not heal by retrying.
const retryable = new Set([404, 408, 409, 425, 429]);

export async function startWebRTC(s) {
  if (!window.RTCPeerConnection) {
    fail(s, t('watch.error.unsupported'));
    return;
  }
  let pc;
  try {
    pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  } catch (e) {
    fail(s, t('watch.error.unsupported'));
    return;
  }
  s.pc = pc;
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.addEventListener('track', (ev) => {
    if (!s.alive) return;
    const stream = (ev.streams && ev.streams[0]) || new MediaStream([ev.track]);
    const el = document.createElement('audio');
    el.autoplay = true;
    el.srcObject = stream;
    attachElement(s, el, stream);
    play(s);
    if (pc.connectionState === 'connected') wentLive(s);
  });
  pc.addEventListener('connectionstatechange', () => {
    if (!s.alive) return;
    switch (pc.connectionState) {
      case 'connected':
        window.clearTimeout(s.graceTimer);
        if (s.el) wentLive(s);
        break;
      case 'disconnected':
        // ICE may come back by itself; give it a moment before a new session.
        setState('reconnecting');
        window.clearTimeout(s.graceTimer);
        s.graceTimer = window.setTimeout(() => retry(s, t('watch.error.network')), 3000);
        break;
      case 'failed':
        retry(s, t('watch.error.network'));
        break;
    }
  });

  try {
    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringDone(pc, 5000);
    if (!s.alive) return;
    const url = new URL(String(config.whep).split('{lang}').join(encodeURIComponent(s.lang)), window.location.href);
    s.abort = new AbortController();
    const timer = window.setTimeout(() => s.abort.abort(), 15000);
    let res;
    try {
      res = await fetch(url.href, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp' },
        body: pc.localDescription.sdp,
        signal: s.abort.signal,
      });
    } finally {
      window.clearTimeout(timer);
    }
    const loc = res.headers.get('Location');
    if (res.status === 201 && loc) s.resource = new URL(loc, url).href;
    if (!s.alive) {
      deleteResource(s);
      return;
    }
    if (res.status !== 201) throw new HTTPError(res.status);
    const answer = await res.text();
    if (!s.alive) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    watchTransport(s, pc);
  } catch (err) {
    if (!s.alive) return;
    if (err instanceof HTTPError) {
      const reason = t('watch.error.http', { status: err.status });
      if (err.status === 401) {
        // A closed event that no longer lets this page in.
        fail(s, t('watch.error.access'));
        accessLost();
        return;
      }
      if (err.status >= 400 && err.status < 500 && !retryable.has(err.status)) fail(s, reason);
      else retry(s, reason);
      return;
    }
    retry(s, t('watch.error.network'));
  }
}

// watchTransport retries at once when the server ends the session (its DTLS
// close alert closes the transport: a restart, a revoked token), rather than
// after ICE notices the silence and the grace for a network blip.
function watchTransport(s, pc) {
  const rx = pc.getReceivers().find((r) => r.transport);
  const dtls = rx && rx.transport;
  if (!dtls || !dtls.addEventListener) return;
  dtls.addEventListener('statechange', () => {
    if (s.alive && dtls.state === 'closed') retry(s, t('watch.error.network'));
  });
}
