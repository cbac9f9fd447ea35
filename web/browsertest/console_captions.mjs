// console_captions.mjs BASE_URL --event test --token PRODUCER [--timeout 60]
//
// Opens the producer console of an event with captions in a language
// without audio, waits until that language has shown a cue, and reads the
// list as a producer and a screen reader get it.
//
// Prints one JSON object:
//   ok, error?, step
//   items       [{lang, name, name_lang, mt, mt_spoken, mt_title, state, data_state, facts}]: the list's
//               entries (facts: [[label, value, value_lang]])
//   heading     the section's heading; aria: the section's accessibility tree (YAML)
//   page_errors?, console_errors?

import { harness } from './lib.mjs';

await harness('console_captions', { event: 'test', token: '' }, async ({ opts, out, launch }) => {
  const page = await launch(null);
  out.step = 'open';
  const q = new URLSearchParams({ token: opts.token });
  const resp = await page.goto(`${opts.url}/console/${encodeURIComponent(opts.event)}?${q}`, { waitUntil: 'load', timeout: 20000 });
  if (!resp || resp.status() !== 200) throw new Error(`console page: ${resp ? resp.status() : 'no response'}`);
  out.step = 'wait for a cue';
  await page.waitForFunction(
    () => {
      const li = document.querySelector('#caption-only:not([hidden]) .push');
      return !!li && [...li.querySelectorAll('.kv dd')].some((d) => d.lang && d.textContent);
    },
    null,
    { timeout: Math.max(10, opts.timeout - 15) * 1000, polling: 100 },
  );
  out.step = 'read';
  out.heading = await page.$eval('#caption-only-heading', (h) => h.textContent);
  out.items = await page.$$eval('#caption-only .push', (lis) =>
    lis.map((li) => {
      const mt = li.querySelector('.mt');
      return {
        lang: li.dataset.lang,
        name: li.querySelector('.push-name').textContent,
        name_lang: li.querySelector('.push-name').lang,
        mt: mt && !mt.hidden ? mt.querySelector('[aria-hidden="true"]').textContent : '',
        mt_spoken: mt && !mt.hidden ? mt.querySelector('.sr-only').textContent : '',
        mt_title: mt ? mt.title : '',
        state: li.querySelector('.push-state').textContent,
        data_state: li.dataset.state,
        facts: [...li.querySelectorAll('.kv > div')].map((d) => [d.children[0].textContent, d.children[1].textContent, d.children[1].lang || '']),
      };
    }),
  );
  out.aria = await page.locator('#caption-only').ariaSnapshot();
  out.step = 'done';
});
