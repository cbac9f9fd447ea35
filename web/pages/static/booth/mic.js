// The interpreter's microphone. It goes out raw (no echo cancellation, noise
// suppression or gain control); its meter reads it without sidetone. A held
// cough mutes its track.

import { chains, ctx, ensureGraph } from './audio.js';
import { send } from './conn.js';
import { record, say, setText, t, ui } from './page.js';
import { booth, myMic } from './state.js';

export const mic = { stream: null, track: null, error: '', pending: null };

// What the microphone hands up, wired by booth.js: trackChanged (the track
// came or went: give it to the audio connection) and paint (repaint the
// controls that depend on it).
const hooks = {
  trackChanged: () => {},
  paint: () => {},
};

export function wireMic(h) {
  Object.assign(hooks, h);
}

// The track is muted here while a cough is held, as well as on the server,
// so a cough never depends on how fast the message travels (controls.js
// holds it).
export let coughHeld = false;

export function holdCough(held) {
  coughHeld = held;
  if (mic.track) mic.track.enabled = !held;
}

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
          hooks.trackChanged();
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
      hooks.trackChanged();
      hooks.paint();
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

// releaseMic stops the microphone for good (the session is over): the
// browser's recording indicator goes out.
export function releaseMic() {
  if (mic.stream) for (const tr of mic.stream.getTracks()) tr.stop();
  if (chains.mic && chains.mic.source) chains.mic.source.disconnect();
  mic.stream = null;
  mic.track = null;
  record({ kind: 'mic-device', ok: false, released: true });
  hooks.trackChanged();
  hooks.paint();
}

function showMicError(why) {
  setText(ui.micError, t('booth.error.mic', { reason: why }));
  ui.micNotice.hidden = false;
  say(ui.micError.textContent);
  hooks.paint();
}
