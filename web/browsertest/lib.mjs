// Shared harness of the browser tests: argument parsing, Debian's Chromium
// through playwright-core, an overall deadline, and one JSON object on stdout.
import { chromium } from 'playwright-core';

// CHROMIUM is the browser the tests drive: Debian's chromium-headless-shell,
// the headless build of the same Chromium without the desktop browser around
// it (a launch costs a fraction of the CPU), or $CHROMIUM.
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium-headless-shell';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection',
];

// parseArgs reads "URL --key value --flag" into { url, ...options }; values
// keep the type of their default (number, boolean, string, list).
export function parseArgs(argv, defaults) {
  const out = { ...defaults };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      rest.push(a);
      continue;
    }
    let key = a.slice(2);
    let val;
    const eq = key.indexOf('=');
    if (eq >= 0) {
      val = key.slice(eq + 1);
      key = key.slice(0, eq);
    }
    key = key.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option --${a.slice(2)}`);
    const def = defaults[key];
    if (typeof def === 'boolean' && val === undefined) {
      out[key] = true;
      continue;
    }
    if (val === undefined) {
      if (i + 1 >= argv.length) throw new Error(`option ${a} needs a value`);
      val = argv[++i];
    }
    if (typeof def === 'number') {
      const n = Number(val);
      if (!Number.isFinite(n)) throw new Error(`option --${key}: ${val} is not a number`);
      out[key] = n;
    } else if (typeof def === 'boolean') {
      out[key] = val === 'true' || val === '1';
    } else if (Array.isArray(def)) {
      out[key] = val.split(',').map((s) => s.trim()).filter(Boolean);
    } else {
      out[key] = val;
    }
  }
  if (rest.length !== 1) throw new Error('usage: SCRIPT BASE_URL [--options]');
  const url = new URL(rest[0]);
  out.url = url.origin + url.pathname.replace(/\/+$/, '');
  return out;
}

// harness parses the arguments and runs body({opts, out, launch, onClose})
// under the --timeout deadline. launch(who, extraArgs) starts a Chromium
// (CHROMIUM_ARGS plus extraArgs) and returns a page in it whose errors are
// reported under who (null: a script's only page); onClose(fn) has fn run
// once the browsers are closed, on the deadline too. It prints one JSON
// object: what body put in out, plus ok, error and the pages' errors. The
// exit status is 0 when body finished, 1 when it threw, 2 on the deadline
// and 3 on bad arguments.
export async function harness(name, defaults, body) {
  const out = { script: name, ok: false };
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2), { timeout: 60, locale: 'en-US', ...defaults });
  } catch (err) {
    out.error = String(err.message || err);
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(3);
  }
  out.url = opts.url;
  const browsers = [];
  const errors = new Map(); // who → { page: [], console: [] }
  const closers = [];
  let printed = false;
  const print = (code) => {
    if (printed) return;
    printed = true;
    const put = (key, who, list) => {
      if (!list.length) return;
      if (who === null) out[key] = list;
      else (out[key] = out[key] || {})[who] = list;
    };
    for (const [who, e] of errors) {
      put('page_errors', who, e.page);
      put('console_errors', who, e.console.slice(0, 20));
    }
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exitCode = code;
  };
  const closeAll = async () => {
    // The bound's timer must not keep the script alive once the browsers
    // are closed: unref'd, node exits as soon as they are.
    const bound = new Promise((r) => setTimeout(r, 5000).unref());
    await Promise.race([Promise.all(browsers.map((b) => b.close().catch(() => {}))), bound]);
    for (const fn of closers) fn();
  };
  const deadline = setTimeout(async () => {
    out.error = `timed out after ${opts.timeout} s` + (out.step ? ` during ${out.step}` : '');
    print(2);
    await closeAll();
    process.exit(2);
  }, opts.timeout * 1000);

  const launch = async (who, extraArgs = []) => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS.concat(extraArgs) });
    browsers.push(browser);
    const context = await browser.newContext({ locale: opts.locale });
    const page = await context.newPage();
    const e = { page: [], console: [] };
    errors.set(who, e);
    page.on('pageerror', (err) => e.page.push(String(err.message || err)));
    page.on('console', (msg) => {
      if (msg.type() === 'error') e.console.push(msg.text());
    });
    return page;
  };

  try {
    await body({ opts, out, launch, onClose: (fn) => closers.push(fn) });
    delete out.step;
    out.ok = true;
    print(0);
  } catch (err) {
    out.error = String((err && err.message) || err).split('\n')[0];
    print(1);
  } finally {
    clearTimeout(deadline);
    await closeAll();
  }
}

// run is the harness for a script of one page: it launches Chromium and
// runs body({opts, out, page}).
export function run(name, defaults, body) {
  return harness(name, defaults, async ({ opts, out, launch }) => {
    out.step = 'launch';
    const page = await launch(null);
    await body({ opts, out, page });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// openWatch loads the watch page and waits for its script to be ready.
export async function openWatch(page, opts, out) {
  out.step = 'open page';
  const target = `${opts.url}/watch/${encodeURIComponent(opts.event)}`;
  const resp = await page.goto(target, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`GET ${target}: ${resp ? resp.status() : 'no response'}`);
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true' && window.tolkWatch, null, { timeout: 10000 });
  out.page_lang = await page.evaluate(() => document.documentElement.lang);
}

// chooseMode selects a playback mode through the page's radio group.
export async function chooseMode(page, mode, out) {
  out.step = `choose ${mode}`;
  await page.check(`#mode-${mode}`);
  const got = await page.evaluate(() => window.tolkWatch.mode);
  if (got !== mode) throw new Error(`mode is ${got} after choosing ${mode}`);
}

// chooseLang selects an audio language through the page's picker.
export async function chooseLang(page, lang, out) {
  out.step = `choose language ${lang}`;
  const values = await page.$$eval('#lang option', (os) => os.map((o) => o.value));
  if (!values.includes(lang)) throw new Error(`language ${lang} is not in the picker (${values.join(', ')})`);
  await page.selectOption('#lang', lang);
}

// pressPlay presses the play button and waits for the state to become live;
// it returns the milliseconds from the press to live.
export async function pressPlay(page, out, timeoutMs = 20000) {
  out.step = 'play';
  const t0 = Date.now();
  await page.click('#play');
  await waitState(page, 'live', timeoutMs);
  return Date.now() - t0;
}

// waitState waits for the page's state; an error state fails at once.
export async function waitState(page, want, timeoutMs) {
  const handle = await page.waitForFunction(
    (w) => {
      const s = window.tolkWatch.state;
      if (s === w) return { ok: true };
      if (s === 'error') return { ok: false, reason: window.tolkWatch.reason };
      return false;
    },
    want,
    { timeout: timeoutMs, polling: 100 },
  ).catch(async (err) => {
    const s = await page.evaluate(() => [window.tolkWatch.state, window.tolkWatch.reason]).catch(() => ['?', '']);
    throw new Error(`state ${s[0]}${s[1] ? ' (' + s[1] + ')' : ''} instead of ${want}: ${String(err.message).split('\n')[0]}`);
  });
  const v = await handle.jsonValue();
  if (!v.ok) throw new Error(`state error instead of ${want}: ${v.reason}`);
}

// stablePeak samples the page's peak frequency until `count` consecutive
// samples agree within `tolHz`, and returns their median with how long it took.
export async function stablePeak(page, { count = 5, intervalMs = 200, tolHz = 4, timeoutMs = 10000 } = {}) {
  const t0 = Date.now();
  const peaks = agreeingPeaks(count, tolHz);
  while (Date.now() - t0 < timeoutMs) {
    const stable = peaks.add(await page.evaluate(() => window.tolkWatch.peakHz()));
    if (stable) return { ...stable, stable: true, ms: Date.now() - t0 };
    await sleep(intervalMs);
  }
  return { ...peaks.last(), stable: false, ms: Date.now() - t0 };
}

// agreeingPeaks follows peak readings ({hz, db}, hz null when there is no
// peak): add returns the median {hz, db} of the last count readings once
// they agree within tolHz (null until then; a reading without a peak starts
// over), last the latest reading, rounded.
export function agreeingPeaks(count, tolHz) {
  const recent = [];
  let last = null;
  return {
    add(p) {
      last = p;
      if (!(p && p.hz !== null && p.db > -100)) {
        recent.length = 0;
        return null;
      }
      recent.push(p);
      if (recent.length > count) recent.shift();
      const hz = recent.map((x) => x.hz);
      if (recent.length < count || Math.max(...hz) - Math.min(...hz) > tolHz) return null;
      return { hz: round1(median(hz)), db: round1(median(recent.map((x) => x.db))) };
    },
    last() {
      return { hz: last && last.hz !== null ? round1(last.hz) : null, db: last && last.db !== null ? round1(last.db) : null };
    },
  };
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const round1 = (x) => Math.round(x * 10) / 10;

export function summary(xs) {
  if (!xs.length) return null;
  const sum = xs.reduce((a, b) => a + b, 0);
  return {
    min: Math.round(Math.min(...xs)),
    median: Math.round(median(xs)),
    mean: Math.round(sum / xs.length),
    max: Math.round(Math.max(...xs)),
    last: Math.round(xs[xs.length - 1]),
  };
}
