// console_push.mjs BASE_URL --event test --token PRODUCER [--timeout 90]
//
// Opens the producer console of an event with one push configured stopped,
// reaches the push's Start button with the Tab key alone, presses Enter,
// waits until the push is connected, then stops it the same way. Reads what a
// screen reader gets: the button's name and description, and the polite
// announcements.
//
// Prints one JSON object:
//   ok, error?, step
//   tabs        Tab presses it took to reach the button
//   name        the push's name as shown; url the URL as shown
//   described   the text the button is described by (name and state)
//   buttons     the button's text before starting, while connected, after stopping
//   states      the push's data-state as it changed
//   announced   what the live region said
//   facts       the push's list of facts while connected
//   page_errors?, console_errors?

import { harness, sleep } from './lib.mjs';

await harness('console_push', { event: 'test', token: '' }, async ({ opts, out, launch }) => {
  const page = await launch(null);
  out.step = 'open';
  const q = new URLSearchParams({ token: opts.token });
  const resp = await page.goto(`${opts.url}/console/${encodeURIComponent(opts.event)}?${q}`, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`console page: ${resp ? resp.status() : 'no response'}`);
  await page.waitForFunction(() => document.querySelectorAll('#pushes:not([hidden]) .push').length === 1, null, { timeout: 15000 });
  out.states = [];
  out.announced = [];
  await page.exposeFunction('tolkPushState', (s) => out.states.push(s));
  await page.exposeFunction('tolkAnnounced', (s) => out.announced.push(s));
  await page.evaluate(() => {
    const li = document.querySelector('.push');
    window.tolkPushState(li.dataset.state);
    new MutationObserver(() => window.tolkPushState(li.dataset.state)).observe(li, { attributes: true, attributeFilter: ['data-state'] });
    const ann = document.getElementById('announce');
    new MutationObserver(() => ann.textContent && window.tolkAnnounced(ann.textContent)).observe(ann, { childList: true, characterData: true, subtree: true });
  });
  const read = () =>
    page.evaluate(() => {
      const li = document.querySelector('.push');
      const b = li.querySelector('button');
      const described = (b.getAttribute('aria-describedby') || '').split(' ').map((id) => (document.getElementById(id) || {}).textContent || '').join(' ');
      const facts = [...li.querySelectorAll('.kv > div')].map((d) => d.textContent);
      return { button: b.textContent, described, name: li.querySelector('.push-name').textContent, url: li.querySelector('.push-url').textContent, facts };
    });
  out.buttons = [];
  let r = await read();
  out.name = r.name;
  out.url = r.url;
  out.buttons.push(r.button);

  // Reach the button by keyboard alone.
  out.step = 'tab';
  await page.evaluate(() => document.activeElement && document.activeElement.blur());
  out.tabs = 0;
  for (; out.tabs < 200; out.tabs++) {
    const on = await page.evaluate(() => !!document.activeElement && document.activeElement.closest('.push') !== null && document.activeElement.tagName === 'BUTTON');
    if (on) break;
    await page.keyboard.press('Tab');
  }
  if (out.tabs >= 200) throw new Error('the push button cannot be reached with Tab');
  out.described = (await read()).described;

  out.step = 'start';
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('.push').dataset.state === 'connected', null, { timeout: 40000 });
  await sleep(1500); // a bitrate to show
  r = await read();
  out.buttons.push(r.button);
  out.facts = r.facts;
  out.connectedDescribed = r.described;

  out.step = 'stop';
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.closest('.push') !== null);
  if (!focused) throw new Error('the button lost the focus');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('.push').dataset.state === 'stopped', null, { timeout: 20000 });
  await sleep(500);
  out.buttons.push((await read()).button);
  out.step = 'done';
});
