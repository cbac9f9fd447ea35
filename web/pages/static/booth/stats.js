// Statistics of the audio connection: the media round trip the page shows,
// and what the browser tests read.

import { paintRTT, rtt } from './conn.js';
import { media } from './media.js';

let statsBusy = false;

export async function pollStats() {
  const m = media;
  if (!m || statsBusy) return;
  statsBusy = true;
  try {
    const report = await m.pc.getStats();
    const pair = selectedPair(report);
    if (media === m) {
      rtt.media = pair && typeof pair.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : null;
      paintRTT();
    }
  } catch (e) {
    // the connection closed meanwhile
  } finally {
    statsBusy = false;
  }
}

function selectedPair(report) {
  let pair = null;
  report.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pair = report.get(r.selectedCandidatePairId) || pair;
  });
  if (pair) return pair;
  report.forEach((r) => {
    if (!pair && r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') pair = r;
  });
  return pair;
}

export async function rtcStats() {
  const m = media;
  if (!m) return null;
  const report = await m.pc.getStats();
  const codecs = {};
  report.forEach((r) => {
    if (r.type === 'codec') codecs[r.id] = { mimeType: r.mimeType, sdpFmtpLine: r.sdpFmtpLine || '' };
  });
  const inbound = {};
  let outbound = null;
  report.forEach((r) => {
    if (r.kind !== 'audio') return;
    if (r.type === 'inbound-rtp') {
      const name = m.trackStream[r.trackIdentifier] || r.trackIdentifier || r.id;
      inbound[name] = {
        packetsReceived: r.packetsReceived,
        packetsLost: r.packetsLost,
        jitter: r.jitter,
        bytesReceived: r.bytesReceived,
        concealedSamples: r.concealedSamples,
        totalSamplesReceived: r.totalSamplesReceived,
        jitterBufferDelay: r.jitterBufferDelay,
        jitterBufferEmittedCount: r.jitterBufferEmittedCount,
        audioLevel: r.audioLevel,
        codec: codecs[r.codecId] || null,
      };
    } else if (r.type === 'outbound-rtp') {
      outbound = {
        packetsSent: r.packetsSent,
        bytesSent: r.bytesSent,
        targetBitrate: r.targetBitrate,
        codec: codecs[r.codecId] || null,
      };
    }
  });
  const pair = selectedPair(report);
  return {
    connectionState: m.pc.connectionState,
    inbound,
    outbound,
    candidatePair: pair ? { currentRoundTripTime: pair.currentRoundTripTime, state: pair.state } : null,
  };
}
