// booth2.mjs BASE_URL --event demo --lang fr --token-a A --token-b B --timeline JSON|@FILE
//           [--fake-mic-a FILE.wav | --mic-hz-a 660] [--fake-mic-b FILE.wav | --mic-hz-b 880]
//           [--lang-b fr] [--ui fr] [--timeout 120]
//
// Two interpreters of one booth (or of two booths with --lang-b), each in its
// own Chromium with its own fake microphone, driven by ONE timeline so that a
// handover can be played step by step:
//   [{"who":"a","click":"mic"}, {"who":"a","waitFor":{"onAir":"on"}},
//    {"who":"b","waitFor":{"onAir":"partner"}}, {"who":"a","click":"handover"},
//    {"who":"b","waitFor":{"handover":"incoming"}}, {"who":"b","key":"h"},
//    {"who":"b","waitFor":{"onAir":"on","mic":true}}, {"who":"a","waitFor":{"onAir":"partner","mic":false}},
//    {"who":"a","measure":"partner","expectHz":880}]
// Steps are those of runSteps in booth_lib.mjs; "who" is "a" or "b" (default a).
// a opens first, b once a is connected; with the same token for both, b
// replaces a (a's state becomes "replaced"; the floor is then not measured).
//
// Prints one JSON object:
//   ok, error?      finished / why not (exit 1 on error, 2 on timeout, 3 on bad arguments)
//   a, b            per page, as booth.mjs reports it: {page_lang, dir, connect_ms, floor, states,
//                   on_air_seen, warnings_seen, refused, answers, restarts, rtt, connection_state,
//                   inbound, outbound, mic_settings, chat, final}
//   steps           per timeline step: {i, who, action, ok, ms, result?}
//   page_errors?, console_errors?   keyed by a / b

import { run, openBooth, runSteps, measure, snapshot, pageReport, parseJSONArg } from './booth_lib.mjs';

await run('booth2', {
  event: 'demo', lang: 'fr', langB: '', tokenA: '', tokenB: '', fakeMicA: '', fakeMicB: '', micHzA: 660, micHzB: 880,
  timeline: '', ui: '', timeout: 120,
}, async ({ opts, out, launch }) => {
  if (!opts.tokenA || !opts.tokenB) throw new Error('--token-a and --token-b are required');
  const steps = parseJSONArg(opts.timeline, '--timeline');
  if (!Array.isArray(steps)) throw new Error('--timeline must be a JSON array');
  out.event = opts.event;
  out.lang = opts.lang;
  const who = {
    a: { token: opts.tokenA, lang: opts.lang, micFile: opts.fakeMicA, micHz: opts.micHzA },
    b: { token: opts.tokenB, lang: opts.langB || opts.lang, micFile: opts.fakeMicB, micHz: opts.micHzB },
  };
  const pages = {};
  for (const k of ['a', 'b']) {
    out.step = `launch ${k}`;
    pages[k] = await launch(k, who[k]);
  }
  // a joins first, then b: with the same token for both, b replaces a.
  const reports = { a: {}, b: {} };
  for (const k of ['a', 'b']) {
    const o = reports[k];
    out.step = `open ${k}`;
    o.connect_ms = await openBooth(pages[k], { url: opts.url, event: opts.event, lang: who[k].lang, token: who[k].token, ui: opts.ui }, o);
    delete o.step;
  }
  out.step = 'listen to the floor';
  await Promise.all(['a', 'b'].map(async (k) => {
    if (opts.tokenA !== opts.tokenB) reports[k].floor = await measure(pages[k], 'floor');
  }));
  out.a = reports.a;
  out.b = reports.b;

  await runSteps(pages, steps, out, opts);

  out.step = 'report';
  for (const k of ['a', 'b']) {
    Object.assign(reports[k], pageReport(await snapshot(pages[k])));
  }
});
