// Three Troupe nodes sharing one real PostgreSQL and one real Redis, started and stopped by this
// file on 127.0.0.1: a WebSocket client on node A sees, in order and without gaps, a generation
// started through node B; a client that drops mid-stream resumes on node C from its last seq
// without a gap or a duplicate; a Redis outage of 5 s loses nothing and duplicates nothing; a
// PostgreSQL outage answers 503 + Retry-After at once and everything recovers without restarts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { wsSubscribe } from './lib/client.mjs';
import { Cluster } from './lib/cluster.mjs';
import { sampleCharacter, checkTurnEvents, isFinished } from './lib/fixtures.mjs';
import { pollUntil, sleep } from './lib/util.mjs';

const T = { timeout: 120000 };

// Generations of about 2.5 s, so that a client can drop in the middle of one.
const cluster = new Cluster({
  prefix: 'failover',
  settings: { 'llm.sim_first_token_ms': 20, 'llm.sim_token_delay_ms': 30, 'llm.sim_reply_tokens': 80 },
});
const pg = cluster.pg;
const redis = cluster.redis;
let api; // a, b, c: Api of bob on that node
let character;

before(async () => {
  await cluster.start();
  api = cluster.apis(await cluster.addUser('bob'));
  character = await api.a.createCharacter(sampleCharacter());
});

after(() => cluster.teardown());

function assertConsecutive(events, what) {
  const seqs = events.map((e) => e.seq);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `${what}: gap or duplicate in ${seqs.join(',')}`);
}

describe('three nodes: ordering, resume on another node, Redis and PostgreSQL outages', () => {
  test('a WebSocket client on node A sees the generation started through node B in order, without gaps', T, async () => {
    const chat = await api.b.createChat(character.id);
    const afterSeq = (await api.a.getChat(chat.id)).last_seq;
    const ws = await api.a.ws();
    try {
      assert.equal((await wsSubscribe(ws, chat.id, afterSeq)).type, 'subscribed');
      const posted = await api.b.postMessage(chat.id, 'Hello through node B');
      const events = (await ws.queue.collectUntil(isFinished(posted.generation.id), 30000, 'finished on node A'))
        .filter((e) => e.chat_id === chat.id);
      const { tokens, finished } = checkTurnEvents(events, posted, afterSeq);
      assertConsecutive(events, 'node A');
      assert.equal(finished.generation.status, 'completed');
      assert.equal((await api.c.messages(chat.id)).at(-1).content, tokens);
    } finally {
      ws.close();
    }
  });

  test('a client that drops mid-stream resumes on node C from its last seq, no gap, no duplicate', T, async () => {
    const chat = await api.a.createChat(character.id);
    const afterSeq = (await api.a.getChat(chat.id)).last_seq;
    const ws = await api.b.ws();
    assert.equal((await wsSubscribe(ws, chat.id, afterSeq)).type, 'subscribed');
    const posted = await api.a.postMessage(chat.id, 'A long story, please');
    // Take a few tokens on node B, then drop the connection in the middle of the generation.
    const first = await ws.queue.collectUntil((e) => e.type === 'token' && e.chat_id === chat.id, 15000, 'first token on B');
    const more = await ws.queue.idle(300);
    ws.close(); // terminate: no close handshake, like a lost connection
    const seen = [...first, ...more].filter((e) => e.chat_id === chat.id);
    assert.ok(!seen.some(isFinished(posted.generation.id)), 'dropped before the end');
    const last = seen.at(-1).seq;

    // Reconnect to node C over SSE with the last seq seen.
    const sse = await api.c.sse(chat.id, { afterSeq: last });
    try {
      assert.equal(sse.status, 200);
      const rest = (await sse.events.collectUntil((e) => isFinished(posted.generation.id)(e.json ?? {}), 30000, 'finished on node C'))
        .map((e) => e.json).filter((e) => e && e.chat_id === chat.id);
      assert.equal(rest[0].seq, last + 1, `resumed right after ${last}, got ${rest[0].seq}`);
      const all = [...seen, ...rest];
      assertConsecutive(all, 'B then C');
      const { tokens, finished } = checkTurnEvents(all, posted, afterSeq);
      assert.equal(finished.generation.status, 'completed');
      assert.equal(finished.message.content, tokens, 'the tokens of both connections make the whole reply');
    } finally {
      sse.close();
    }
  });

  test('Redis stopped for 5 s: REST keeps working, fan-out resumes, no duplicate message or seq', T, async () => {
    const chat = await api.a.createChat(character.id);
    const ws = await api.c.ws();
    try {
      assert.equal((await wsSubscribe(ws, chat.id, (await api.c.getChat(chat.id)).last_seq)).type, 'subscribed');
      await redis.stop();
      const down = Date.now();
      await cluster.allDegraded();
      const during = await api.b.turn(chat.id, 'Is anyone there?', { timeoutMs: 30000 });
      assert.equal(during.generation.status, 'completed');
      assert.equal((await api.a.getChat(chat.id)).id, chat.id);
      await sleep(Math.max(0, 5000 - (Date.now() - down)));
      await redis.start();
      await cluster.allReady({ timeoutMs: 20000 });
      // Fan-out works again: a turn through B reaches the subscriber on C.
      const posted = await api.b.postMessage(chat.id, 'And now?');
      const events = await ws.queue.collectUntil(isFinished(posted.generation.id), 30000, 'finished on C after the outage');
      const seqs = events.filter((e) => e.chat_id === chat.id && e.seq !== undefined).map((e) => e.seq);
      assert.equal(new Set(seqs).size, seqs.length, `no seq delivered twice: ${seqs.join(',')}`);
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `increasing: ${seqs.join(',')}`);
      await api.c.waitGeneration(posted.generation.id, { timeoutMs: 20000 });
      // Each message exactly once in the stored history.
      const history = await api.a.allMessages(chat.id);
      const ids = history.map((m) => m.id);
      assert.equal(new Set(ids).size, ids.length);
      assert.equal(history.filter((m) => m.content === 'Is anyone there?').length, 1);
      assert.equal(history.filter((m) => m.content === 'And now?').length, 1);
    } finally {
      ws.close();
    }
  });

  test('PostgreSQL stopped: 503 + Retry-After at once, then recovery without restarting a node', T, async () => {
    const chat = await api.a.createChat(character.id);
    await pg.stop();
    try {
      for (const name of ['a', 'b', 'c']) {
        const t0 = Date.now();
        const res = await api[name].get(`/api/chats/${chat.id}`);
        const ms = Date.now() - t0;
        assert.equal(res.status, 503, `node ${name}: ${res.status} ${JSON.stringify(res.json)}`);
        assert.equal(res.json.error.code, 'unavailable');
        assert.ok(Number(res.headers.get('retry-after')) >= 1, 'Retry-After');
        assert.ok(ms < 6000, `node ${name} answered after ${ms} ms`);
      }
      const post = await api.b.post(`/api/chats/${chat.id}/messages`, { content: 'while the database is down' });
      assert.equal(post.status, 503);
    } finally {
      await pg.start();
    }
    for (const name of ['a', 'b', 'c']) {
      await pollUntil(async () => (await api[name].get(`/api/chats/${chat.id}`)).status === 200,
        { timeoutMs: 20000, intervalMs: 200, what: `node ${name} serving again` });
    }
    const t = await api.c.turn(chat.id, 'Back again', { timeoutMs: 30000 });
    assert.equal(t.generation.status, 'completed');
    const history = await api.a.allMessages(chat.id);
    assert.equal(history.filter((m) => m.content === 'while the database is down').length, 0, 'nothing half-stored');
    assert.equal(history.filter((m) => m.content === 'Back again').length, 1);
  });
});
