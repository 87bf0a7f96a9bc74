// Debian's chromium driven by playwright-core (which never downloads a browser). One browser and
// one server per test file; each test gets a fresh context. Page errors, CSP violations and
// dialogs are recorded so tests can assert there were none.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { ARTIFACTS, startServer } from './server.mjs';

export const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
export const ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Sets up `ctx.server` and `ctx.browser` for the file.
export function useEnvironment(name, { settings } = {}) {
  const ctx = { server: null, browser: null };
  before(async () => {
    ctx.server = await startServer({ name, settings });
    // launch() runs the browser on a new, empty temporary profile and removes it on close.
    ctx.browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30000 });
  });
  after(async () => {
    await ctx.browser?.close().catch(() => {});
    await ctx.server?.stop();
  });
  return ctx;
}

// A fresh context + page with problem recording. `signedIn` stores the token before loading.
// `setup(context)` runs before the first navigation (routes, init scripts).
export async function openPage(ctx, { viewport = { width: 1280, height: 820 }, signedIn = true, colorScheme = 'light', hash = '#/', contextOptions = {}, setup = null } = {}) {
  const context = await ctx.browser.newContext({ viewport, colorScheme, acceptDownloads: true, ...contextOptions });
  context.setDefaultTimeout(10000);
  const page = await context.newPage();
  const problems = { errors: [], csp: [], dialogs: [] };
  page.on('pageerror', (e) => problems.errors.push(e.message));
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to/i.test(t)) problems.csp.push(t);
    else if (m.type() === 'error' && !/Failed to load resource/.test(t)) problems.errors.push(t);
  });
  page.on('dialog', async (d) => {
    problems.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  if (signedIn) {
    await context.addInitScript((token) => {
      if (!sessionStorage.getItem('e2e-init')) {
        sessionStorage.setItem('e2e-init', '1');
        localStorage.setItem('troupe.token', token);
      }
    }, ctx.server.token);
  }
  if (setup) await setup(context);
  await page.goto(ctx.server.baseUrl + '/' + hash);
  return { context, page, problems };
}

export function assertClean(problems) {
  assert.deepEqual(problems.errors, [], 'page errors');
  assert.deepEqual(problems.csp, [], 'CSP violations');
  assert.deepEqual(problems.dialogs, [], 'unexpected dialogs');
}

export async function shot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

// Polls `fn` until it returns a truthy value; bounded by `timeout`.
export async function until(fn, { timeout = 10000, interval = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${message} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

// Visible text with markdown markers and whitespace differences removed, for comparing a bubble
// with the stored message content.
export function plain(text) {
  return String(text).replace(/[*_`]/g, '').replace(/\s+/g, ' ').trim();
}
