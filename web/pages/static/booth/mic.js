// The interpreter's microphone. It goes out raw (no echo cancellation, noise
// suppression or gain control); its meter reads it without sidetone.

import { chains, ctx, ensureGraph } from './audio.js';
import { send } from './conn.js';
import { coughHeld } from './controls.js';
import { media } from './media.js';
import { record, say, setText, t, ui } from './page.js';
import { paintControls } from './render.js';
import { booth, myMic } from './state.js';

export const mic = { stream: null, track: null, error: '', pending: null };

const MIC_CONSTRAINTS = {
  echoCancellation: false,
  noiseSuppression: false,
  autoGainControl: false,
  channelCount: 1,
  sampleRate: 48000,
};

// ensureMic asks for the microphone once (again when retry is set). A
// refusal leaves the booth listening: the interpreter sees why and can try
// again without losing the connection.
export function ensureMic(retry) {
  if (mic.track && mic.track.readyState === 'live') return Promise.resolve(mic.track);
  if (mic.pending) return mic.pending;
  if (mic.error && !retry) return Promise.resolve(null);
  mic.pending = (async () => {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw Object.assign(new Error('unsupported'), { name: 'NotSupportedError' });
    try {
      return await navigator.mediaDevices.getUserMedia({ audio: MIC_CONSTRAINTS, video: false });
    } catch (err) {
      if (err && err.name === 'OverconstrainedError') {
        return navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false }, video: false });
      }
      throw err;
    }
  })()
    .then((stream) => {
      mic.stream = stream;
      mic.track = stream.getAudioTracks()[0] || null;
      mic.error = '';
      if (mic.track) {
        mic.track.enabled = !coughHeld;
        mic.track.addEventListener('ended', () => {
          mic.track = null;
          // A dead microphone must not hold the channel: closing it brings
          // the floor back for the listeners.
          if (myMic(booth)) send({ type: 'mic', on: false });
          showMicError(t('booth.error.mic_ended'));
          refreshMicSender();
        });
        if (ensureGraph()) {
          const ch = chains.mic;
          if (ch.source) ch.source.disconnect();
          ch.source = ctx.createMediaStreamSource(stream);
          ch.source.connect(ch.analyser);
        }
      }
      ui.micNotice.hidden = true;
      record({ kind: 'mic-device', ok: !!mic.track, settings: mic.track && mic.track.getSettings ? mic.track.getSettings() : null });
      refreshMicSender();
      paintControls();
      return mic.track;
    })
    .catch((err) => {
      const name = err && err.name;
      const why = name === 'NotAllowedError' || name === 'SecurityError'
        ? t('booth.error.mic_denied')
        : name === 'NotFoundError' || name === 'OverconstrainedError'
          ? t('booth.error.mic_missing')
          : t('booth.error.mic_failed');
      mic.error = why;
      showMicError(why);
      record({ kind: 'mic-device', ok: false, error: String(name || err) });
      return null;
    })
    .finally(() => {
      mic.pending = null;
    });
  return mic.pending;
}

function showMicError(why) {
  setText(ui.micError, t('booth.error.mic', { reason: why }));
  ui.micNotice.hidden = false;
  say(ui.micError.textContent);
  paintControls();
}

function refreshMicSender() {
  if (media && media.micSender) media.micSender.replaceTrack(mic.track).catch(() => {});
}
