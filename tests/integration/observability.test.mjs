// Observability: /metrics in the Prometheus text format (checked with promtool when installed),
// the live task dump (/debug/tasks) and that tasks return to their baseline after turns.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TROUPE_BIN } from './lib/server.mjs';
import { useServer, sampleCharacter } from './lib/fixtures.mjs';
import { pollUntil } from './lib/util.mjs';

const T = { timeout: 60000 };
const ctx = useServer({ settings: { 'llm.sim_token_delay_ms': 1, 'llm.sim_first_token_ms': 1 } });

function metricValue(text, name, labels = '') {
  const line = text.split('\n').find((l) => l.startsWith(name + labels + ' '));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('metrics', () => {
  test('exposition is valid and counts a chat turn', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    await ctx.api.turn(chat.id, 'Hello there');
    const res = await ctx.api.get('/metrics', { token: null });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/plain/);
    const text = res.text;
    assert.ok(metricValue(text, 'troupe_generations_total', '{outcome="completed"}') >= 1, 'completed generations counted');
    assert.ok(metricValue(text, 'troupe_http_requests_total', '{route="POST /api/chats/{id}/messages",status="202"}') >= 1);
    assert.ok(metricValue(text, 'troupe_generation_time_to_first_token_seconds_count') >= 1);
    // The chat's creation cached its greeting: the turn's generation started before its write.
    assert.ok(metricValue(text, 'troupe_turns_started_before_stored', '{result="started"}') >= 1);
    assert.ok(metricValue(text, 'troupe_turns_started_before_stored', '{result="stored_with_turn"}') >= 0);
    assert.ok(metricValue(text, 'troupe_event_loop_lag_seconds_count') >= 1);
    assert.ok(metricValue(text, 'process_resident_memory_bytes') > 0);
    assert.ok(metricValue(text, 'process_open_fds') > 0);
    assert.ok(text.includes('troupe_tasks_live{name="http.accept"} 1'));
    // The turn's commits went through the WAL write layer: several appends per buffer written.
    const buffers = metricValue(text, 'troupe_db_wal_buffer_writes');
    assert.ok(buffers >= 1, 'WAL buffers written');
    assert.ok(metricValue(text, 'troupe_db_wal_appends_buffered') >= 2 * buffers, 'appends per buffer');
    assert.equal(metricValue(text, 'troupe_db_wal_buffer_write_failures'), 0);
    const promtool = spawnSync('promtool', ['--version']);
    if (promtool.error) {
      assert.fail('promtool is required for this test (apt package prometheus; scripts/install-deps installs it)');
    }
    const out = spawnSync('promtool', ['check', 'metrics'], { input: text });
    assert.equal(out.status, 0, `promtool: ${out.stdout}${out.stderr}`);
  });
});

describe('task dump', () => {
  test('admin only; text, json with total, and debug=2', T, async () => {
    const token = await ctx.server.addUser('plain-user');
    const denied = await ctx.api.get('/debug/tasks', { token });
    assert.equal(denied.status, 403);
    assert.equal(denied.json.error.code, 'forbidden');
    assert.equal((await ctx.api.get('/debug/tasks', { token: null })).status, 401);

    const text = await ctx.api.get('/debug/tasks');
    assert.equal(text.status, 200);
    assert.match(text.text, /live task\(s\)/);
    assert.match(text.text, /http\.accept/);
    const json = await ctx.api.get('/debug/tasks?format=json');
    assert.ok(Number.isInteger(json.json.total) && json.json.total >= 2);
    assert.ok(json.json.groups.some((g) => g.name === 'http.accept' && g.count === 1));
    const all = await ctx.api.get('/debug/tasks?format=json&debug=2');
    assert.equal(all.json.tasks.length, all.json.total);
    assert.ok(all.json.tasks.every((t) => typeof t.owner === 'string' && typeof t.state === 'string'));
  });

  test('a running generation and its stream appear, then the count returns to baseline', T, async () => {
    const total = async () => (await ctx.api.get('/debug/tasks?format=json')).json.total;
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const baseline = await total();
    const sse = await ctx.api.sse(chat.id, { afterSeq: (await ctx.api.getChat(chat.id)).last_seq });
    const posted = await ctx.api.postMessage(chat.id, 'a slow one [sim:slow]');
    await sse.events.waitFor((e) => e.type === 'token', 5000, 'first token');
    const during = await ctx.api.get('/debug/tasks?format=json&debug=2');
    assert.ok(during.json.tasks.some((t) => t.name === 'generation' && t.owner === `chat:${chat.id}`));
    await ctx.api.post(`/api/generations/${posted.generation.id}/stop`, {});
    await ctx.api.waitGeneration(posted.generation.id);
    sse.close();
    await pollUntil(async () => (await total()) <= baseline, { timeoutMs: 5000, what: 'tasks back to baseline' });
  });
});

describe('troupe tasks (the dump analyser)', () => {
  test('reads a live server and saved dumps, and shows growth', T, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-tasks-'));
    try {
      const url = `http://127.0.0.1:${ctx.server.port}`;
      const first = path.join(dir, 'a.json');
      const live = spawnSync(TROUPE_BIN, ['tasks', '--url', url, '--token', ctx.server.adminToken, '--save', first], { encoding: 'utf8', timeout: 20000 });
      assert.equal(live.status, 0, live.stderr);
      assert.match(live.stdout, /live task\(s\)/);
      assert.match(live.stdout, /http\.accept \[running\]/);
      assert.match(live.stdout, /past deadline: 0/);
      // A second dump with an open SSE stream shows up as growth.
      const c = await ctx.api.createCharacter(sampleCharacter());
      const chat = await ctx.api.createChat(c.id);
      const sse = await ctx.api.sse(chat.id, { afterSeq: (await ctx.api.getChat(chat.id)).last_seq });
      const second = path.join(dir, 'b.json');
      try {
        const r = spawnSync(TROUPE_BIN, ['tasks', '--url', url, '--token', ctx.server.adminToken, '--save', second], { encoding: 'utf8', timeout: 20000 });
        assert.equal(r.status, 0, r.stderr);
      } finally {
        sse.close();
      }
      const cmp = spawnSync(TROUPE_BIN, ['tasks', '--file', first, '--compare', second], { encoding: 'utf8', timeout: 20000 });
      assert.equal(cmp.status, 0, cmp.stderr);
      assert.match(cmp.stdout, /growth: \d+ -> \d+ \([+-]?\d+\)/);
      assert.match(cmp.stdout, /\+1\thttp\.session \[sse: awaiting event\]/);
      const bad = spawnSync(TROUPE_BIN, ['tasks', '--url', url, '--token', 'trp_wrong'], { encoding: 'utf8', timeout: 20000 });
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /401/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('profiles', () => {
  // google-pprof symbolizes with nm over the whole binary: minutes for a sanitizer build on a
  // busy two-core machine, so this test gets a longer bound than the others.
  test('CPU profile is readable by google-pprof; admin only; one at a time; heap report', { timeout: 240000 }, async () => {
    const token = await ctx.server.addUser('profile-user');
    assert.equal((await ctx.api.get('/debug/pprof/profile?seconds=1', { token })).status, 403);
    assert.equal((await ctx.api.get('/debug/pprof/profile?seconds=0')).status, 400);
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const pending = ctx.api.get('/debug/pprof/profile?seconds=2', { timeoutMs: 15000 });
    await new Promise((r) => setTimeout(r, 200));
    const second = await ctx.api.get('/debug/pprof/profile?seconds=1');
    assert.equal(second.status, 409, 'one profile at a time');
    for (let i = 0; i < 5; i++) await ctx.api.turn(chat.id, `busy ${i}`);
    const prof = await pending;
    assert.equal(prof.status, 200);
    assert.ok(prof.buf.length > 64);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-prof-'));
    try {
      const file = path.join(dir, 'cpu.prof');
      fs.writeFileSync(file, prof.buf);
      const out = spawnSync('google-pprof', ['--text', TROUPE_BIN, file], { encoding: 'utf8', timeout: 180000 });
      assert.equal(out.status, 0, `google-pprof (apt package google-perftools): ${out.error ?? ''} ${out.stderr}`);
      assert.match(out.stdout, /Total: \d+ samples/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const heap = await ctx.api.get('/debug/pprof/heap');
    // jemalloc builds (release) answer a report; sanitizer builds use another allocator.
    if (heap.status === 200) assert.match(heap.text, /jemalloc|heap/i);
    else assert.equal(heap.json.error.code, 'unavailable');
  });
});
