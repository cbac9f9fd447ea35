// Chromium as a WHIP floor publisher with a camera and a microphone (the
// fake devices): it offers H.264 first, publishes for --seconds, and reports
// what its encoder did. The test on the Go side checks the program's video.
import { harness, sleep } from './lib.mjs';

await harness('whip_video', { event: 'test', key: '', seconds: 6, codec: 'video/H264' }, async ({ opts, out, launch }) => {
  const page = await launch(null, ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
  out.step = 'open';
  // A blank page of the server's origin (so the WHIP POST is same-origin),
  // served by the browser itself: tolk's own pages' Permissions-Policy
  // rightly gives no page of it the camera.
  await page.route(`${opts.url}/publisher.html`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>publisher</title>' }));
  await page.goto(`${opts.url}/publisher.html`);
  out.step = 'publish';
  const res = await page.evaluate(async ({ url, event, key, seconds, codec }) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 1280, height: 720, frameRate: 30 } });
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) {
      const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video') {
        const all = RTCRtpSender.getCapabilities('video').codecs;
        const want = all.filter((c) => c.mimeType === codec && (codec !== 'video/H264' ||
          (/packetization-mode=1/.test(c.sdpFmtpLine || '') && /profile-level-id=42e01f/.test(c.sdpFmtpLine || ''))));
        if (!want.length) throw new Error(`no ${codec} in ${all.map((c) => c.mimeType).join(' ')}`);
        tr.setCodecPreferences(want.concat(all.filter((c) => !want.includes(c))));
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      setTimeout(resolve, 3000);
    });
    const resp = await fetch(`${url}/whip/${event}`, {
      method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${key}` }, body: pc.localDescription.sdp,
    });
    if (resp.status !== 201) throw new Error(`whip answered ${resp.status}: ${await resp.text()}`);
    const location = resp.headers.get('Location');
    await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
    const t0 = Date.now();
    while (pc.connectionState !== 'connected') {
      if (Date.now() - t0 > 10000) throw new Error(`connection ${pc.connectionState}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const report = {};
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        report.framesEncoded = s.framesEncoded;
        report.keyFramesEncoded = s.keyFramesEncoded;
        report.pliCount = s.pliCount;
        report.encoder = s.encoderImplementation;
        report.width = s.frameWidth;
        report.codecId = s.codecId;
      }
    });
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'codec' && s.id === report.codecId) report.codec = s.mimeType;
    });
    await fetch(new URL(location, url), { method: 'DELETE', headers: { Authorization: `Bearer ${key}` } });
    pc.close();
    stream.getTracks().forEach((t) => t.stop());
    return report;
  }, { url: opts.url, event: opts.event, key: opts.key, seconds: opts.seconds, codec: opts.codec });
  Object.assign(out, res);
  await sleep(100);
});
