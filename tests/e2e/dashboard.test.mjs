// Dashboard: live charts fed by GET /api/stats while chat turns run; keyboard reading of a chart;
// phone width.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, openPage, shot, until, useEnvironment } from './lib/browser.mjs';

const env = useEnvironment('dashboard', { settings: { 'llm.sim_token_delay_ms': 10, 'llm.sim_reply_tokens': 24 } });

async function runTurns(n) {
  const c = await env.server.api('POST', '/api/characters', { name: 'Orla', description: '{{char}} keeps the lighthouse.' });
  const chat = await env.server.api('POST', '/api/chats', { character_id: c.id });
  for (let i = 0; i < n; i++) {
    await env.server.api('POST', `/api/chats/${chat.id}/messages`, { content: `Turn ${i}: any ships tonight?` });
    await until(async () => (await env.server.api('GET', `/api/chats/${chat.id}`)).generation === null, { timeout: 20000, message: 'reply to finish' });
  }
}

// Pixels of the chart canvas close to the given colour (the series line), and the sample count the
// chart reports having drawn.
async function chartInk(page, title, [r, g, b]) {
  return page.locator(`figure[data-chart="${title}"] canvas`).evaluate((canvas, [r0, g0, b0]) => {
    const ctx = canvas.getContext('2d');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let ink = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - r0) < 40 && Math.abs(data[i + 1] - g0) < 40 && Math.abs(data[i + 2] - b0) < 40) ink += 1;
    }
    return { ink, points: Number(canvas.dataset.points || 0) };
  }, [r, g, b]);
}

const tileText = (page, key) => page.locator(`[data-tile="${key}"] .tile-value`).innerText();
const ACCENT_LIGHT = [0x5b, 0x4b, 0xdb];

test('/api/stats needs a token and reports the registry figures', async () => {
  const anon = await fetch(`${env.server.baseUrl}/api/stats`);
  assert.equal(anon.status, 401);
  const s = await env.server.api('GET', '/api/stats');
  assert.equal(typeof s.time_ms, 'number');
  assert.equal(typeof s.generations.finished_total, 'number');
  assert.ok(s.tasks.live > 0, 'live tasks counted');
  assert.ok(s.memory.rss_bytes > 1 << 20, 'RSS reported');
  assert.equal(s.event_loop_lag.cumulative.length, s.event_loop_lag.bounds.length + 1);
});

test('the dashboard draws live charts while chat turns run', async () => {
  const { context, page, problems } = await openPage(env, { hash: '#/dashboard' });
  try {
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    assert.equal(await page.locator('.topnav a[aria-current="page"]').innerText(), 'Dashboard');
    await until(async () => /^Updated /.test(await page.locator('.dash-status').innerText()), { message: 'first poll' });
    const firstStatus = await page.locator('.dash-status').innerText();
    assert.match(await tileText(page, 'tasks'), /^\d+$/);
    assert.match(await tileText(page, 'rssMiB'), /MiB$/);
    assert.equal(await tileText(page, 'ttftP95'), '–', 'no reply yet, no first-token figure');

    const before = await env.server.api('GET', '/api/stats');
    await runTurns(4);

    // Numbers update: the first-token tile gets a value, the status time moves on.
    await until(async () => /ms$/.test(await tileText(page, 'ttftP95')), { timeout: 10000, message: 'first-token tile' });
    await until(async () => (await page.locator('.dash-status').innerText()) !== firstStatus, { message: 'status to move on' });
    // The turns chart saw a non-zero rate and drew it in the accent colour.
    await until(async () => {
      const { ink, points } = await chartInk(page, 'Turns per second', ACCENT_LIGHT);
      return points >= 3 && ink > 40;
    }, { timeout: 10000, message: 'turns chart drawn' });
    const ttft = await chartInk(page, 'Time to first token', ACCENT_LIGHT);
    assert.ok(ttft.points >= 1 && ttft.ink > 4, `first-token chart has data (${JSON.stringify(ttft)})`);
    const after = await env.server.api('GET', '/api/stats');
    assert.ok(after.generations.finished_total >= before.generations.finished_total + 4, 'server counted the turns');
    const maxRate = await page.locator('figure[data-chart="Turns per second"] .chart-readout').innerText();
    assert.match(maxRate, /finished replies/);

    // Retrieval: "no data" when the server has no such metric, a readout otherwise.
    const retrieval = page.locator('figure[data-chart="Memory retrieval latency"]');
    if (after.retrieval === null) assert.match(await retrieval.locator('.chart-readout').innerText(), /No data/);
    assert.match(await retrieval.locator('canvas').getAttribute('aria-label'), /^Memory retrieval latency\./);

    // Keyboard: focus a chart and step back through its samples.
    const chart = page.locator('figure[data-chart="Time to first token"]');
    await chart.focus();
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowLeft');
    assert.match(await chart.locator('.chart-readout').innerText(), /^\d+ s ago: median /);
    await shot(page, 'dashboard');

    // Pause stops the updates.
    await page.getByRole('button', { name: 'Pause' }).click();
    assert.equal(await page.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed'), 'true');
    const frozen = await page.locator('.dash-status').innerText();
    await page.waitForTimeout(1500);
    assert.equal(await page.locator('.dash-status').innerText(), frozen);
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('the dashboard fits a phone screen', async () => {
  const { context, page, problems } = await openPage(env, { hash: '#/dashboard', viewport: { width: 390, height: 844 } });
  try {
    await until(async () => Number(await page.locator('figure[data-chart="Turns per second"] canvas').getAttribute('data-points')) >= 1, { message: 'a turns-per-second point' });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px)`);
    const box = await page.locator('figure[data-chart="Live tasks"] canvas').boundingBox();
    assert.ok(box.width > 250 && box.width <= 390, `chart spans the screen (${box.width}px)`);
    await shot(page, 'dashboard-phone');
    assertClean(problems);
  } finally {
    await context.close();
  }
});
