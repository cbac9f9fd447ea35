// booth.mjs BASE_URL --event demo --lang fr --token T [--fake-mic FILE.wav | --mic-hz 660]
//          [--actions JSON|@FILE] [--floor-hz 440] [--ui fr] [--listen 2] [--want-state connected|error]
//          [--timeout 90]
//
// Opens /booth/{event}/{lang}?token=T in Chromium with a fake microphone (the
// WAV file, looped, or a sine at --mic-hz), waits for "connected", measures the
// floor, plays the actions (see runSteps in booth_lib.mjs, e.g.
// [{"click":"mic"},{"waitFor":{"onAir":"on"}},{"hold":"c","ms":500}]) and
// reports the booth's facts. --floor-hz makes a floor that does not peak there
// (±10 Hz) an error; --ui sets the interface locale (?lang=). --want-state error
// checks a refusal instead (a bad token): the page must end in state "error";
// the report then has reason and stops there.
//
// Prints one JSON object:
//   ok, error?            finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   event, lang, page_lang, dir   the booth and the page's <html lang dir>
//   connect_ms            page load → state "connected" (socket welcomed, audio connected)
//   page_status           HTTP status of the booth page
//   reason                with --want-state error: the reason the page shows (or "page refused
//                         with 401|403|404" when the server refused the page itself)
//   floor                 {peak_hz, peak_db, stable, level_peak_dbfs, level_rms_dbfs, playing, ms}: dominant
//                         frequency (stable: 5 readings within 4 Hz) and the loudest peak/RMS over
//                         ≥ 2 s of listening; playing = peak above -60 dBFS
//   mic                   the same for the page's own microphone (what the meter reads)
//   states                connection states seen, in order (connecting, connected, reconnecting, …)
//   on_air_seen           on-air light values seen (off, on, partner)
//   warnings_seen, refused   warnings shown; error codes the server answered
//   answers, restarts     SDP answers sent; ICE restarts asked for
//   rtt                   {ws_ms (WebSocket ping/pong), media_ms (ICE candidate pair)}
//   connection_state      RTCPeerConnection.connectionState
//   inbound               per stream (floor, relay, partner): getStats inbound-rtp {packetsReceived,
//                         packetsLost, jitter, bytesReceived, concealedSamples, totalSamplesReceived,
//                         jitterBufferDelay, jitterBufferEmittedCount, audioLevel, codec}
//   inbound_floor_growing floor packetsReceived grew while listening
//   outbound              the microphone's outbound-rtp {packetsSent, bytesSent, targetBitrate, codec}
//   mic_settings          getSettings() of the microphone track (echoCancellation, …)
//   chat                  [{name, text}] the booth chat as the page shows it
//   final                 {state, on_air, mic, handover, warning, input, members} at the end
//   floor_captions        the floor-caption strip: {shown, lang, none, note_visible, note}: lang when it
//                         follows the floor's captions; note is the text shown when the floor has none
//   steps                 per action: {i, who, action, ok, ms, result?}
//   page_errors?, console_errors?

import { run, openBooth, runSteps, measure, snapshot, pageReport, parseJSONArg } from './booth_lib.mjs';
import { sleep } from './lib.mjs';

// floorCaptions reports the floor-caption strip once the page has asked the
// event API whether the floor has captions (it stays hidden if it never hears).
async function floorCaptions(page) {
  await page.waitForFunction(() => !document.getElementById('floor-captions').hidden, null, { timeout: 5000 }).catch(() => {});
  const note = page.locator('#floor-captions-none');
  const fc = await page.evaluate(() => window.tolkBooth.floorCaptions());
  return {
    shown: await page.locator('#floor-captions').isVisible(),
    lang: fc.lang,
    none: fc.none,
    note_visible: await note.isVisible(),
    note: (await note.textContent()).trim(),
  };
}

await run('booth', {
  event: 'demo', lang: 'fr', token: '', fakeMic: '', micHz: 660, actions: '', floorHz: 0, ui: '', listen: 2, wantState: 'connected',
}, async ({ opts, out, launch }) => {
  if (!opts.token && opts.wantState !== 'error') throw new Error('--token is required');
  const actions = parseJSONArg(opts.actions, '--actions');
  if (!Array.isArray(actions)) throw new Error('--actions must be a JSON array');
  out.event = opts.event;
  out.lang = opts.lang;
  out.step = 'launch';
  const page = await launch('a', { micFile: opts.fakeMic, micHz: opts.micHz });
  const ms = await openBooth(page, { url: opts.url, event: opts.event, lang: opts.lang, token: opts.token, ui: opts.ui, want: opts.wantState }, out);
  if (opts.wantState !== 'connected') {
    out.state = opts.wantState;
    if (out.page_status === 200) out.states = (await snapshot(page)).states;
    return;
  }
  out.connect_ms = ms;

  out.step = 'listen to the floor';
  const first = await snapshot(page);
  out.floor = await measure(page, 'floor');
  out.mic = await measure(page, 'mic');
  await sleep(opts.listen * 1000);
  const second = await snapshot(page);
  const pk = (s) => (s.inbound && s.inbound.floor ? s.inbound.floor.packetsReceived : 0);
  out.inbound_floor_growing = pk(second) > pk(first);
  if (opts.floorHz && !(out.floor.stable && Math.abs(out.floor.peak_hz - opts.floorHz) <= 10)) {
    throw new Error(`floor peaks at ${out.floor.peak_hz} Hz, want ${opts.floorHz}`);
  }

  await runSteps({ a: page }, actions, out, opts);

  out.step = 'report';
  out.floor_captions = await floorCaptions(page);
  Object.assign(out, pageReport(await snapshot(page)));
});
