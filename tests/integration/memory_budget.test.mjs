// Memory budget (server.memory_limit_bytes): the real binary is driven over its limit with real
// resident memory — the admin-only ballast, an mmap'd block whose every page is written — and must
// stay alive, trim above the soft mark, refuse new work with 503 + Retry-After above the hard mark
// while a running generation finishes on its open stream, report not-ready, and recover when the
// memory is given back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, sampleCharacter, isFinished } from './lib/fixtures.mjs';
import { expectError, expectStatus } from './lib/client.mjs';
import { pollUntil } from './lib/util.mjs';

const MiB = 1024 * 1024;
const ctx = useServer({ name: 'memory-budget', settings: { 'server.memory_check_interval_ms': 100 } });

function metric(text, name) {
  const line = text.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function memory() {
  return expectStatus(await ctx.api.get('/debug/memory'), 200);
}

async function ballast(bytes) {
  return expectStatus(await ctx.api.put('/debug/memory/ballast', { bytes }), 200);
}

test('over the limit the server sheds new work, finishes running work and recovers', { timeout: 120000 }, async () => {
  // Without a budget: the admin status says so, and readiness is fine.
  assert.equal((await memory()).enabled, false);
  const rss0 = metric((await ctx.api.get('/metrics', { token: null })).text, 'process_resident_memory_bytes');
  assert.ok(rss0 > 0);

  // Restart with a limit 160 MiB above today's RSS and a slow simulator (a reply takes ~3 s).
  await ctx.server.restart({
    settings: {
      'server.memory_limit_bytes': Math.round(rss0 + 160 * MiB),
      'server.memory_soft_percent': 85,
      'llm.sim_token_delay_ms': 100,
      'llm.sim_reply_tokens': 30,
    },
  });
  let m = await memory();
  assert.equal(m.enabled, true);
  assert.equal(m.state, 'normal');
  assert.equal(m.hard_bytes, Math.round(rss0 + 160 * MiB));
  expectStatus(await ctx.api.get('/readyz', { token: null }), 200);

  // Admin only; bad sizes rejected.
  const plain = await ctx.server.addUser('plain');
  expectError(await ctx.api.put('/debug/memory/ballast', { bytes: MiB }, { token: plain }), 403, 'forbidden');
  expectError(await ctx.api.put('/debug/memory/ballast', { bytes: -1 }), 400);

  const c = await ctx.api.createCharacter(sampleCharacter());
  const chatA = await ctx.api.createChat(c.id);
  const chatB = await ctx.api.createChat(c.id);

  // Soft mark: real memory between the marks → trim hooks run, requests still served.
  m = await memory();
  const target = m.soft_bytes + (m.hard_bytes - m.soft_bytes) / 2;
  m = await ballast(Math.round(target - m.used_bytes + m.ballast_bytes));
  assert.equal(m.state, 'soft', `between the marks: ${JSON.stringify(m)}`);
  assert.ok(m.trims_total >= 1, 'trim hooks ran');
  expectStatus(await ctx.api.get(`/api/chats/${chatA.id}`), 200);

  // A generation running on an open stream when the hard mark is crossed.
  const sse = await ctx.api.sse(chatA.id);
  assert.equal(sse.status, 200);
  const posted = await ctx.api.postMessage(chatA.id, 'Tell me a long story.');
  const genId = posted.generation.id;
  await sse.events.waitFor((e) => e.json?.type === 'token' && e.json?.generation_id === genId, 10000, 'first token');

  m = await memory();
  m = await ballast(Math.round(m.hard_bytes - m.used_bytes + m.ballast_bytes + 32 * MiB));
  assert.equal(m.state, 'hard', `over the hard mark: ${JSON.stringify(m)}`);

  // Alive, not ready (with the reason), refusing new work.
  expectStatus(await ctx.api.get('/healthz', { token: null }), 200);
  const ready = await ctx.api.get('/readyz', { token: null });
  assert.equal(ready.status, 503);
  assert.equal(ready.json.status, 'not_ready');
  assert.match(ready.json.reason, /memory limit reached/);
  const refused = await ctx.api.post(`/api/chats/${chatB.id}/messages`, { content: 'hello?' });
  const err = expectError(refused, 503, 'unavailable');
  assert.match(err.message, /memory limit/);
  assert.ok(Number(refused.headers.get('retry-after')) >= 1, 'Retry-After');
  expectError(await ctx.api.post('/api/characters', sampleCharacter()), 503, 'unavailable');
  expectError(await ctx.api.get(`/api/chats/${chatB.id}/messages`), 503, 'unavailable');
  await assert.rejects(ctx.api.ws(), (e) => e.status === 503, 'new WebSocket refused');
  expectStatus(await ctx.api.get('/api/stats'), 200);

  // The running generation finishes on its stream.
  const done = (await sse.events.waitFor((e) => isFinished(genId)(e.json ?? {}), 20000, 'the running generation to finish')).json;
  assert.equal(done.generation.status, 'completed');
  sse.close();
  assert.equal((await memory()).state, 'hard', 'still over the mark while the ballast is held');

  const metrics = (await ctx.api.get('/metrics', { token: null })).text;
  assert.equal(metric(metrics, 'troupe_memory_budget_state'), 2);
  assert.ok(metric(metrics, 'troupe_memory_budget_shed_total') >= 4);
  assert.equal(metric(metrics, 'troupe_memory_budget_limit_bytes'), m.limit_bytes);
  assert.ok(metric(metrics, 'troupe_memory_budget_used_bytes') >= m.hard_bytes);

  // Give the memory back: ready again and serving.
  m = await ballast(0);
  assert.notEqual(m.state, 'hard');
  await pollUntil(async () => (await ctx.api.get('/readyz', { token: null })).status === 200, { timeoutMs: 5000, what: 'ready again' });
  const turn = await ctx.api.turn(chatB.id, 'Back to normal?');
  assert.equal(turn.generation.status, 'completed');
  assert.equal((await ctx.api.generation(genId)).status, 'completed');
  assert.ok(ctx.server.running, 'the process stayed alive throughout');
});
