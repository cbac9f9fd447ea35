// Playing over WebRTC (WHEP): one peer connection per language, its
// resource deleted when the session ends. The peer asks for the floor's
// picture too: the server sends it beside the language (in the language's
// stream, so the browser lip-syncs them) when the event has video, and it
// plays in a <video> on the stage. A language switch is a new session: the
// picture shown stays on the stage (its last frame once its session ends)
// until the new session decodes one, so the picture never goes blank.

import { iceGatheringDone } from '../shared/net.js';
import { accessLost } from './access.js';
import { config, t } from './page.js';
import { hidePicture, showPicture } from './picture.js';
import { attachElement, current, deleteResource, fail, play, retry, wentLive } from './session.js';
import { setState } from './status.js';

class HTTPError extends Error {
  constructor(status) {
    super('HTTP ' + status);
    this.status = status;
  }
}

// Client errors other than these will not heal by retrying.
const retryable = new Set([404, 408, 409, 425, 429]);

// The picture on the stage: its element and the session it came with.
let picture = null;
let pictureCheck = 0;

// showVideo plays a session's video track in a <video> of its own (the
// session's audio element is the one the session ends with) and puts it on
// the stage once it has decoded a picture, in place of the one before.
function showVideo(s, track) {
  const el = document.createElement('video');
  el.muted = true; // the sound plays from the session's audio
  el.autoplay = true;
  el.setAttribute('playsinline', '');
  el.setAttribute('aria-label', t('watch.video.label'));
  el.srcObject = new MediaStream([track]);
  const ready = () => {
    if (!s.alive || el.videoWidth === 0 || (picture && picture.el === el)) return;
    picture = { el, s };
    showPicture(el);
    watchPicture();
  };
  el.addEventListener('loadedmetadata', ready);
  el.addEventListener('resize', ready);
  const p = el.play();
  if (p && p.catch) p.catch(() => {});
}

// watchPicture takes the picture off the stage when no WebRTC session
// plays any more (stopped, or another mode), or when the session after it
// has had 10 s to show its own and has none (the floor stopped sending
// video).
function watchPicture() {
  window.clearInterval(pictureCheck);
  let since = 0;
  pictureCheck = window.setInterval(() => {
    if (!picture) {
      window.clearInterval(pictureCheck);
      return;
    }
    const c = current;
    let gone = !c || c.mode !== 'webrtc';
    if (!gone && c !== picture.s) {
      since = since || Date.now();
      gone = Date.now() - since > 10000;
    } else since = 0;
    if (gone) {
      hidePicture(picture.el);
      picture.el.srcObject = null;
      picture = null;
      window.clearInterval(pictureCheck);
    }
  }, 500);
}

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
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addEventListener('track', (ev) => {
    if (!s.alive) return;
    if (ev.track.kind === 'video') {
      showVideo(s, ev.track);
      return;
    }
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
