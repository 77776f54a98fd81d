// Debian's Chromium driven by playwright-core. Playwright's own browser download cannot
// work on these machines, so the executable is always the system one.

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.PARLEY_E2E_CHROMIUM || '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps dialling Google's hosts, which this
// machine's closed network refuses; tests must only ever talk to loopback.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** True for http(s) URLs on 127.0.0.0/8, localhost or [::1]; also data: and blob: URLs. */
export function isLoopback(url) {
  const u = new URL(url);
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  const host = u.hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Makes a page offline except for loopback: every other request is aborted and recorded, so
 * a test can assert that the page needed nothing from the internet.
 */
export async function offlineExceptLoopback(page) {
  const blocked = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (isLoopback(url)) return route.continue();
    blocked.push(url);
    return route.abort('internetdisconnected');
  });
  return blocked;
}

/**
 * A new page with the checks every UI test wants: requests leaving loopback are blocked and
 * recorded (`blocked`), and uncaught JavaScript errors are recorded (`errors`). A test ends
 * with `assert.deepEqual(blocked, [])` and `assert.deepEqual(errors, [])`.
 */
export async function openPage(browser, { viewport = { width: 1280, height: 900 }, locale = 'en-US' } = {}) {
  const context = await browser.newContext({ viewport, locale });
  const page = await context.newPage();
  const blocked = await offlineExceptLoopback(page);
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return { page, blocked, errors, close: () => context.close() };
}
