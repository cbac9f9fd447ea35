// The booth's audio connection: one RTCPeerConnection over which the server
// offers floor, relay and partner streams and receives the microphone.

import { backoff, iceGatheringDone } from '../shared/net.js';
import { attach, detach, ensureGraph } from './audio.js';
import { dropped, paintRTT, refreshConn, rtt, send, ws } from './conn.js';
import { ensureMic, mic } from './mic.js';
import { STREAMS, record } from './page.js';

// ---- WebRTC -----------------------------------------------------------------------------
// The server offers; this page answers with every candidate (no trickle).
// A new offer from the same server session (same o= id) renegotiates the
// running connection (an ICE restart); any other starts a fresh one.

export let media = null; // {pc, session, state, micSender, streams, restarts, graceTimer, restartTimer}
let offers = Promise.resolve();

export function queueOffer(sdp) {
  const sock = ws;
  offers = offers.then(() => answer(sdp, sock)).catch((err) => {
    record({ kind: 'media-error', error: String((err && err.message) || err) });
    if (ws === sock && media) {
      media.state = 'failed';
      refreshConn();
      askRestart();
    }
  });
}

function sessionOf(sdp) {
  const m = /^o=\S+ (\S+) /m.exec(sdp);
  return m ? m[1] : '';
}

// sections splits an SDP into its session part and media sections.
function sections(sdp) {
  const parts = sdp.split(/\r?\n(?=m=)/);
  return { head: parts[0], media: parts.slice(1) };
}

// micMids lists the mids of audio sections the server only receives: where
// the microphone goes.
function micMids(sdp) {
  const out = [];
  for (const sec of sections(sdp).media) {
    if (!/^m=audio /.test(sec) || !/^a=recvonly\s*$/m.test(sec)) continue;
    const m = /^a=mid:(\S+)/m.exec(sec);
    if (m) out.push(m[1]);
  }
  return out;
}

function newMedia(session) {
  const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  const m = { pc, session, state: 'new', micSender: null, streams: {}, trackStream: {}, restarts: 0, graceTimer: 0, restartTimer: 0 };
  pc.addEventListener('track', (ev) => {
    if (media !== m) return;
    const stream = ev.streams && ev.streams[0];
    const id = stream ? stream.id : '';
    const name = STREAMS.includes(id) ? id : null;
    m.trackStream[ev.track.id] = name || id;
    if (!name) {
      record({ kind: 'track', stream: id, ignored: true });
      return;
    }
    m.streams[name] = ev.track;
    attach(name, stream, ev.track);
  });
  pc.addEventListener('connectionstatechange', () => {
    if (media !== m) return;
    const s = pc.connectionState;
    m.state = s;
    record({ kind: 'media', state: s });
    window.clearTimeout(m.graceTimer);
    if (s === 'connected') {
      window.clearTimeout(m.restartTimer);
      m.restarts = 0;
    } else if (s === 'disconnected') {
      // ICE often recovers by itself within a few seconds.
      m.graceTimer = window.setTimeout(askRestart, 3000);
    } else if (s === 'failed') {
      askRestart();
    }
    refreshConn();
  });
  return m;
}

// useMicTrack gives the microphone's track, or its absence, to the sender
// that carries it.
export function useMicTrack() {
  if (media && media.micSender) media.micSender.replaceTrack(mic.track).catch(() => {});
}

export function closeMedia() {
  if (!media) return;
  const m = media;
  media = null;
  window.clearTimeout(m.graceTimer);
  window.clearTimeout(m.restartTimer);
  try {
    m.pc.close();
  } catch (e) {
    // already closed
  }
  for (const name of STREAMS) detach(name);
  rtt.media = null;
  paintRTT();
}

// askRestart asks the server for a new offer, again with a growing pause
// while the audio does not come back. When two new offers have not brought
// it back, the whole session starts again on a new socket (the server then
// builds a new peer), rather than leaving the interpreter without sound.
function askRestart() {
  const m = media;
  if (!m || m.state === 'connected') return;
  window.clearTimeout(m.restartTimer);
  if (m.restarts >= 2 && ws) {
    record({ kind: 'restart', n: m.restarts + 1, session: true });
    dropped(ws, 4000, true);
    return;
  }
  if (send({ type: 'restart' })) {
    m.restarts++;
    record({ kind: 'restart', n: m.restarts });
  }
  m.restartTimer = window.setTimeout(askRestart, 4000 + backoff(m.restarts, 8000));
}

async function answer(sdp, sock) {
  if (ws !== sock) return;
  ensureGraph();
  // The answer does not wait for the microphone permission: the floor
  // plays at once and the track joins the sender when it arrives.
  ensureMic(false);
  const session = sessionOf(sdp);
  if (!media || media.session !== session || media.pc.signalingState === 'closed') {
    closeMedia();
    media = newMedia(session);
  }
  const m = media;
  const pc = m.pc;
  const mids = micMids(sdp);
  // The offer already states how the microphone is to be encoded (Opus
  // fmtp: FEC, mono, bitrate): the server writes it, the page takes it as is.
  await pc.setRemoteDescription({ type: 'offer', sdp });
  for (const tr of pc.getTransceivers()) {
    if (tr.stopped || tr.mid === null) continue;
    if (mids.includes(tr.mid)) {
      tr.direction = 'sendonly';
      if (!m.micSender || m.micSender === tr.sender) {
        m.micSender = tr.sender;
        await tr.sender.replaceTrack(mic.track);
      }
    } else if (tr.receiver && tr.receiver.track && tr.receiver.track.kind === 'audio') {
      tr.direction = 'recvonly';
    }
  }
  if (!m.micSender) record({ kind: 'media-error', error: 'offer has no section for the microphone' });
  const ans = await pc.createAnswer();
  await pc.setLocalDescription(ans);
  await iceGatheringDone(pc, 5000);
  if (ws !== sock || media !== m) return;
  send({ type: 'answer', sdp: pc.localDescription.sdp });
  record({ kind: 'answer', session, renegotiation: m.answered === true });
  m.answered = true;
}
