// console_layout.mjs BASE_URL --event test --token PRODUCER --control CONTROL_URL --shots DIR
//                    [--sizes 1440x900,1366x768] [--slow-down it] [--message de] [--locales en,ar,…]
//                    [--every-locale] [--timeout 150]
//
// Opens the producer console of a busy event in Chromium at laptop sizes and
// checks that the whole grid of languages (every card and the booth traffic)
// fits the window without scrolling, in light and dark, and right to left
// (ar). It asks the control server (see console.mjs) for a "slow down" from
// one booth and a message from another first, so the alerts are on screen,
// and takes screenshots: each size, dark, Arabic, the detail drawer and the
// tokens dialog.
//
// Prints one JSON object:
//   ok, error?, step
//   shots     [{name, file, width, height, scheme, locale, cards, cols, grid_bottom, fits, overflow_x}]:
//             grid_bottom is the lowest edge of a card or of the traffic panel in CSS pixels;
//             fits: grid_bottom ≤ the window's height and no horizontal overflow; natural_bottom: where the
//             cards end when the grid does not stretch them to the window
//   locales   {ui: {cards, cols, grid_bottom, fits, overflow_x}}: the page in each interface language
//             (--locales) at the last size; with --every-locale a screenshot of each too
//   page_errors?, console_errors?

import path from 'node:path';
import { harness, sleep } from './lib.mjs';

async function control(opts, p) {
  const res = await fetch(opts.control + p, { method: 'POST' });
  if (!res.ok) throw new Error(`control ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

async function open(page, opts, ui) {
  const q = new URLSearchParams({ token: opts.token });
  if (ui) q.set('lang', ui);
  const resp = await page.goto(`${opts.url}/console/${encodeURIComponent(opts.event)}?${q}`, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`console page: ${resp ? resp.status() : 'no response'}`);
  await page.waitForFunction(() => window.tolkConsole && window.tolkConsole.state === 'live' && window.tolkConsole.statusCount > 2, null, { timeout: 15000 });
  // The interpreters are on the cards once the status names them.
  await page.waitForFunction(() => document.querySelectorAll('.interp').length > 0, null, { timeout: 15000 });
}

// measure tells whether the grid fits the window.
function measure(page) {
  return page.evaluate(() => {
    const boxes = [...document.querySelectorAll('.card, .traffic')].map((c) => c.getBoundingClientRect());
    const bottom = Math.max(...boxes.map((b) => b.bottom));
    const cols = getComputedStyle(document.getElementById('grid')).gridTemplateColumns.split(' ').length;
    const overflowX = document.documentElement.scrollWidth > window.innerWidth;
    // What sticks out sideways, to say what to fix.
    const wide = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width && (r.right > window.innerWidth + 1 || r.left < -1) && wide.length < 5) wide.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className}`);
    }
    // The height the cards need, without the grid stretching them to the
    // window: the slack left tells how close a locale comes to the edge.
    const grid = document.getElementById('grid');
    grid.style.minBlockSize = '0';
    const natural = Math.max(...[...document.querySelectorAll('.card, .traffic')].map((c) => c.getBoundingClientRect().bottom));
    grid.style.minBlockSize = '';
    return { cards: document.querySelectorAll('.card').length, cols, grid_bottom: Math.round(bottom), natural_bottom: Math.round(natural), fits: bottom <= window.innerHeight && !overflowX, overflow_x: overflowX, wide };
  });
}

await harness('console_layout', {
  event: 'test', token: '', control: '', shots: '', sizes: ['1440x900', '1366x768'], slowDown: 'it', message: 'de', timeout: 150,
  locales: ['en', 'ar', 'de', 'es', 'fr', 'it', 'ja', 'ko', 'pt', 'ru', 'tr', 'zh'], everyLocale: false,
}, async ({ opts, out, launch }) => {
  if (!opts.token || !opts.control || !opts.shots) throw new Error('--token, --control and --shots are required');
  out.step = 'launch';
  const page = await launch(null);
  out.shots = [];
  const shoot = async (name, extra) => {
    const file = path.join(opts.shots, `console-${name}.png`);
    await sleep(600); // a few more statuses: meters settle
    await page.screenshot({ path: file });
    const vp = page.viewportSize();
    out.shots.push({ name, file, width: vp.width, height: vp.height, ...extra, ...(await measure(page)) });
  };
  const [w0, h0] = opts.sizes[0].split('x').map(Number);
  await page.setViewportSize({ width: w0, height: h0 });
  out.step = 'open';
  await open(page, opts);
  out.step = 'alerts';
  await control(opts, `/signal?lang=${opts.slowDown}&kind=slow_down`);
  await control(opts, `/signal?lang=${opts.message}&kind=message&text=${encodeURIComponent('Could the speaker use the microphone? We lose him when he turns away.')}`);
  await page.waitForFunction(() => window.tolkConsole.alerts().length >= 2, null, { timeout: 5000 });
  await page.click('.card[data-lang="fr"] .listen');
  await page.waitForFunction(() => window.tolkConsole.listening === 'fr', null, { timeout: 5000 });

  for (const size of opts.sizes) {
    out.step = `shoot ${size}`;
    const [w, h] = size.split('x').map(Number);
    await page.setViewportSize({ width: w, height: h });
    await shoot(size, { scheme: 'light', locale: 'en' });
  }
  out.step = 'dark';
  await page.setViewportSize({ width: w0, height: h0 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await shoot(`${opts.sizes[0]}-dark`, { scheme: 'dark', locale: 'en' });
  await page.emulateMedia({ colorScheme: 'light' });

  out.step = 'detail drawer';
  await page.click('.card[data-lang="fr"] .card-title');
  await page.waitForFunction(() => document.getElementById('detail').open, null, { timeout: 3000 });
  await shoot(`${opts.sizes[0]}-detail`, { scheme: 'light', locale: 'en' });
  await page.keyboard.press('Escape');

  out.step = 'tokens dialog';
  await page.click('#tokens-open');
  await page.waitForFunction(() => document.querySelectorAll('#token-rows tr').length > 0, null, { timeout: 5000 });
  await shoot(`${opts.sizes[0]}-tokens`, { scheme: 'light', locale: 'en' });
  await page.click('#tokens-close');

  out.step = 'arabic';
  const last = opts.sizes[opts.sizes.length - 1];
  const [wl, hl] = last.split('x').map(Number);
  await page.setViewportSize({ width: wl, height: hl });
  await open(page, opts, 'ar');
  await control(opts, `/signal?lang=${opts.slowDown}&kind=slow_down`);
  await page.waitForFunction(() => window.tolkConsole.alerts().length >= 1, null, { timeout: 5000 });
  await shoot(`${last}-ar`, { scheme: 'light', locale: 'ar' });

  // Every interface language at the smallest size: longer words must not
  // push the grid off the screen.
  out.locales = {};
  for (const ui of opts.locales) {
    out.step = `locale ${ui}`;
    await open(page, opts, ui);
    await sleep(400);
    out.locales[ui] = await measure(page);
    if (opts.everyLocale) await page.screenshot({ path: path.join(opts.shots, `console-locale-${ui}.png`) });
  }
});
