// Fairness limits: per-user request rate (429 + Retry-After) and connections per client address
// (429 before any request is read). Concurrent generations: limits_generations.test.mjs.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { useServer } from './lib/fixtures.mjs';
import { sleep } from './lib/util.mjs';

const T = { timeout: 60000 };
const ctx = useServer({
  settings: {
    'limits.user_requests_per_second': 5,
    'limits.user_burst': 10,
    'limits.ip_connections': 8,
  },
});

describe('per-user limits', () => {
  test('request rate: a burst beyond the bucket gets 429 with Retry-After, then recovers', T, async () => {
    const token = await ctx.server.addUser('rate-user');
    const api = ctx.api.withToken(token);
    // Tokens refill while the burst is sent (5/s), so how many requests pass before the first 429
    // depends on how fast they are answered: send until one is refused and bound the count.
    const t0 = Date.now();
    let allowed = 0;
    let limited = null;
    for (let i = 0; i < 200 && !limited; i++) {
      const r = await api.get('/api/personas');
      if (r.status === 429) limited = r;
      else assert.equal(r.status, 200, `request ${i}`);
      if (r.status === 200) allowed++;
    }
    const elapsed = (Date.now() - t0) / 1000;
    assert.ok(limited, `a 429 within 200 requests (${allowed} allowed in ${elapsed}s)`);
    assert.ok(allowed >= 10, `the whole burst of 10 is allowed first: ${allowed}`);
    assert.ok(allowed <= 10 + Math.ceil(5 * elapsed) + 1, `no more than burst + refill: ${allowed} in ${elapsed}s`);
    assert.equal(limited.json.error.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // Another user is not affected.
    assert.equal((await ctx.api.get('/api/personas')).status, 200);
    await sleep(1100);
    assert.equal((await api.get('/api/personas')).status, 200, 'tokens refill');
  });
});

describe('per-address connections', () => {
  test('connections beyond limits.ip_connections get 429 and the rest keep working', T, async () => {
    const socks = [];
    try {
      for (let i = 0; i < 8; i++) {
        const s = net.connect(ctx.server.port, '127.0.0.1');
        await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
        socks.push(s);
      }
      await sleep(200);
      const extra = net.connect(ctx.server.port, '127.0.0.1');
      const reply = await new Promise((resolve) => {
        let data = '';
        extra.on('data', (d) => { data += d; });
        extra.on('close', () => resolve(data));
        extra.on('error', () => resolve(data));
        setTimeout(() => { extra.destroy(); resolve(data); }, 5000);
      });
      assert.match(reply, /^HTTP\/1\.1 429/);
      assert.match(reply, /Retry-After: 1/i);
      assert.match(reply, /"code":"rate_limited"/);
    } finally {
      for (const s of socks) s.destroy();
    }
    await sleep(300);
    assert.equal((await ctx.api.get('/healthz', { token: null })).status, 200, 'slots are given back');
  });
});
