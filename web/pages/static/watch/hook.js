// The test hook: read-only facts for the browser tests (window.tolkWatch);
// the page never relies on them.

import { measure, peakHz } from './audio.js';
import { capHistory, capLang, capState, capView } from './captions.js';
import { measureNow, report } from './report.js';
import { current, lang, mode, wantPlay } from './session.js';
import { history, state, stateReason } from './status.js';

function hlsTracks(h) {
  return (h.audioTracks || []).map((x, i) => ({ index: i, id: x.id, name: x.name, lang: x.lang || '', groupId: x.groupId || '' }));
}

export function expose() {
  window.tolkWatch = Object.freeze({
    get state() {
      return state;
    },
    get reason() {
      return stateReason;
    },
    get mode() {
      return mode;
    },
    get lang() {
      return lang;
    },
    get playing() {
      return wantPlay;
    },
    history: () => history.slice(),
    audioTracks() {
      if (current && current.hls) return hlsTracks(current.hls);
      const list = current && current.el && current.el.audioTracks;
      if (list) return Array.from(list).map((x, i) => ({ index: i, id: x.id, name: x.label, lang: x.language }));
      return [];
    },
    audioTrack() {
      if (!current || !current.hls) return null;
      const i = current.hls.audioTrack;
      const tr = hlsTracks(current.hls)[i];
      return tr ? Object.assign({ switches: current.switches, missing: !!current.missing }, tr) : null;
    },
    level: measure,
    // picture is what the stage shows: the element's size, its decoded
    // frames, whether the stage is visible and the captions over it.
    picture() {
      const el = current && current.el;
      const stage = document.getElementById('stage');
      const q = el && el.getVideoPlaybackQuality ? el.getVideoPlaybackQuality() : null;
      return {
        video: !!(el && el.tagName === 'VIDEO'),
        width: el ? el.videoWidth || 0 : 0,
        height: el ? el.videoHeight || 0 : 0,
        frames: q ? q.totalVideoFrames : 0,
        time: el ? el.currentTime : 0,
        shown: !!(stage && !stage.hidden),
        captionsOver: !!(stage && document.getElementById('caption-area') && document.getElementById('caption-area').parentNode === stage),
      };
    },
    report() {
      const c = report.clock;
      return {
        id: report.id,
        sent: report.sent,
        stopped: report.stopped,
        status: report.status,
        halted: report.halted,
        latencyMs: report.latencyMs,
        nextMs: report.nextMs,
        clock: { ready: c.ready, rtt: c.rtt, offset: c.offset },
        // programLagMs: how far the program trails its epoch on the server's
        // wall clock now (a floor whose clock runs slow, or a loaded
        // machine); wall clock − program date includes it, the delay not.
        programLagMs: c.ready && report.epochMs > 0
          ? performance.now() + c.offset - (report.epochMs + c.programAt(performance.now()) / 48)
          : null,
        delayText: document.getElementById('delay') ? document.getElementById('delay').textContent : null,
      };
    },
    delayNow: measureNow,
    peakHz,
    captions() {
      return {
        lang: capLang,
        state: capState,
        lines: capView ? capView.lines() : [],
        history: capHistory.map((h) => Object.assign({}, h)),
      };
    },
    subtitleTracks() {
      const h = current && current.hls;
      return h ? (h.subtitleTracks || []).map((x) => ({ name: x.name, lang: x.lang || '' })) : [];
    },
    media() {
      const el = current && current.el;
      if (!el) return null;
      let ahead = 0;
      for (let i = 0; i < el.buffered.length; i++) {
        if (el.buffered.start(i) <= el.currentTime && el.currentTime <= el.buffered.end(i)) ahead = el.buffered.end(i) - el.currentTime;
      }
      return { currentTime: el.currentTime, paused: el.paused, ended: el.ended, readyState: el.readyState, bufferAhead: ahead };
    },
    latency() {
      const h = current && current.hls;
      if (!h) return null;
      const d = h.playingDate;
      const details = h.latestLevelDetails;
      return {
        latency: h.latency,
        targetLatency: h.targetLatency,
        maxLatency: h.maxLatency,
        drift: h.drift,
        playingDate: d ? d.getTime() : null,
        now: Date.now(),
        lowLatencyMode: h.lowLatencyMode,
        partTarget: details ? details.partTarget : null,
        targetDuration: details ? details.targetduration : null,
        live: details ? details.live : null,
      };
    },
    async rtcStats() {
      const pc = current && current.pc;
      if (!pc) return null;
      const report = await pc.getStats();
      let inbound = null;
      let video = null;
      const codecs = {};
      report.forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') inbound = r;
        if (r.type === 'inbound-rtp' && r.kind === 'video') video = r;
        if (r.type === 'codec') codecs[r.id] = r.mimeType;
      });
      const shown = document.querySelector('#picture video');
      const videoStats = video && {
        framesDecoded: video.framesDecoded || 0,
        frameWidth: video.frameWidth || 0,
        frameHeight: video.frameHeight || 0,
        keyFramesDecoded: video.keyFramesDecoded || 0,
        pliCount: video.pliCount || 0,
        codec: codecs[video.codecId] || null,
        elementWidth: shown ? shown.videoWidth : 0,
      };
      if (!inbound) return { connectionState: pc.connectionState, inbound: null, video: videoStats };
      return {
        connectionState: pc.connectionState,
        video: videoStats,
        inbound: {
          packetsReceived: inbound.packetsReceived,
          packetsLost: inbound.packetsLost,
          jitter: inbound.jitter,
          bytesReceived: inbound.bytesReceived,
          concealedSamples: inbound.concealedSamples,
          totalSamplesReceived: inbound.totalSamplesReceived,
          jitterBufferDelay: inbound.jitterBufferDelay,
          jitterBufferEmittedCount: inbound.jitterBufferEmittedCount,
          codec: codecs[inbound.codecId] || null,
        },
      };
    },
  });
}
