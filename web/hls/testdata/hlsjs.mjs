// Opens a watch-like test page in headless Chromium and prints the page's
// result (window.result) as JSON once window.done is set.
// Usage: node hlsjs.mjs URL TIMEOUT_MS
import { chromium } from 'playwright-core';

const [url, timeout] = [process.argv[2], Number(process.argv[3] || 60000)];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium-headless-shell',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
  ],
});
try {
  const page = await browser.newPage();
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push('pageerror: ' + e.message));
  await page.goto(url);
  try {
    await page.waitForFunction(() => window.done === true, null, { timeout });
  } catch (e) {
    logs.push('wait: ' + e.message);
  }
  const result = await page.evaluate(() => window.result);
  console.log(JSON.stringify({ result, logs }));
} finally {
  await browser.close();
}
