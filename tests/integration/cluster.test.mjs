// Three Troupe nodes sharing one real PostgreSQL (store) and one real Redis (bus), all started and
// stopped by this file on 127.0.0.1 (lib/cluster.mjs): fan-out of a generation to a WebSocket
// client on another node (in order, no gap), resuming a dropped stream on a third node (WS and
// SSE), a 5 s Redis outage (REST keeps working, /readyz degraded then ready, fan-out resumes, no
// duplicate), and a PostgreSQL restart (fast 503 + Retry-After + JSON error, /readyz 503, recovery
// without restarting a node).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { wsSubscribe } from './lib/client.mjs';
import { Cluster, readyz } from './lib/cluster.mjs';
import { sampleCharacter, checkTurnEvents, isFinished } from './lib/fixtures.mjs';
import { pollUntil, sleep } from './lib/util.mjs';

const T = { timeout: 90000 };
const REPLY_TOKENS = 40;

const cluster = new Cluster({
  names: ['a', 'b', 'c'],
  prefix: 'nodes',
  settings: { 'llm.sim_reply_tokens': REPLY_TOKENS, 'llm.sim_token_delay_ms': 20 },
});
let api = {}; // a, b, c: Api of alice on that node
let character;

before(async () => {
  await cluster.start();
  api = cluster.apis(await cluster.addUser('alice'));
  character = await api.a.createCharacter(sampleCharacter());
});

after(async () => {
  await cluster.teardown();
});

function assertContiguous(seqs, what) {
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `${what}: gap or duplicate in ${seqs.join(',')}`);
}

// Checks that the events of one turn, seen by one client, are complete and match the stored reply.
async function checkWholeTurn(events, posted, afterSeq, reader) {
  const chatEvents = events.filter((e) => e.chat_id === posted.message.chat_id);
  const { tokens, finished } = checkTurnEvents(chatEvents, posted, afterSeq);
  assertContiguous(chatEvents.map((e) => e.seq), 'turn events');
  assert.equal(chatEvents[0].seq, afterSeq + 1, 'the first event follows after_seq');
  assert.equal(chatEvents.filter((e) => e.type === 'token').length, REPLY_TOKENS, 'every token');
  assert.equal(finished.generation.status, 'completed');
  const stored = (await reader.messages(posted.message.chat_id)).find((m) => m.id === posted.reply.id);
  assert.equal(stored.content, tokens);
  assert.equal(finished.message.content, tokens);
}

describe('three nodes on PostgreSQL and Redis', () => {
  test('a WebSocket client on node A sees the generation started through node B, in order, without gaps', T, async () => {
    const chat = await api.b.createChat(character.id);
    const afterSeq = (await api.a.getChat(chat.id)).last_seq;
    const ws = await api.a.ws();
    try {
      assert.equal((await wsSubscribe(ws, chat.id, afterSeq)).type, 'subscribed');
      const posted = await api.b.postMessage(chat.id, 'Hello from node B');
      const events = await ws.queue.collectUntil(isFinished(posted.generation.id), 20000, 'generation.finished on node A');
      await checkWholeTurn(events, posted, afterSeq, api.c);
    } finally {
      ws.close();
    }
  });

  test('a WebSocket client that drops mid-stream resumes on node C from its last seq', T, async () => {
    const chat = await api.a.createChat(character.id);
    const afterSeq = (await api.a.getChat(chat.id)).last_seq;
    const first = await api.a.ws();
    const seen = [];
    let posted;
    try {
      await wsSubscribe(first, chat.id, afterSeq);
      posted = await api.b.postMessage(chat.id, 'A long answer, please');
      // Read a few tokens, then drop the connection.
      let tokens = 0;
      seen.push(...await first.queue.collectUntil((e) => e.type === 'token' && ++tokens >= 5, 10000, 'five tokens on node A'));
    } finally {
      first.close();
    }
    const firstPart = seen.filter((e) => e.chat_id === chat.id);
    assert.ok(firstPart.length > 0);
    const lastSeq = firstPart.at(-1).seq;
    const second = await api.c.ws();
    try {
      assert.equal((await wsSubscribe(second, chat.id, lastSeq)).type, 'subscribed');
      const rest = await second.queue.collectUntil(isFinished(posted.generation.id), 20000, 'generation.finished on node C');
      const secondPart = rest.filter((e) => e.chat_id === chat.id);
      assert.equal(secondPart[0].seq, lastSeq + 1, 'resumed right after the last seen seq');
      await checkWholeTurn([...firstPart, ...secondPart], posted, afterSeq, api.b);
    } finally {
      second.close();
    }
  });

  test('an SSE client that drops mid-stream resumes on node C with Last-Event-ID', T, async () => {
    const chat = await api.a.createChat(character.id);
    const afterSeq = (await api.a.getChat(chat.id)).last_seq;
    const first = await api.a.sse(chat.id, { afterSeq });
    assert.equal(first.status, 200);
    const posted = await api.b.postMessage(chat.id, 'A long answer over SSE');
    let tokens = 0;
    let firstPart;
    try {
      firstPart = (await first.events.collectUntil((e) => e.type === 'token' && ++tokens >= 5, 10000, 'five tokens over SSE'))
        .map((e) => e.json).filter((e) => e && e.chat_id === chat.id);
    } finally {
      first.close();
    }
    const lastSeq = firstPart.at(-1).seq;
    const second = await api.c.sse(chat.id, { lastEventId: lastSeq });
    assert.equal(second.status, 200);
    try {
      const rest = (await second.events.collectUntil((e) => e.json && isFinished(posted.generation.id)(e.json), 20000, 'finished over SSE'))
        .map((e) => e.json).filter((e) => e && e.chat_id === chat.id);
      assert.equal(rest[0].seq, lastSeq + 1, 'resumed right after Last-Event-ID');
      await checkWholeTurn([...firstPart, ...rest], posted, afterSeq, api.b);
    } finally {
      second.close();
    }
  });

  test('Redis stopped for 5 s: REST works on every node, /readyz degraded then ready, fan-out resumes, no duplicates', T, async () => {
    const chat = await api.a.createChat(character.id);
    const afterSeq = (await api.a.getChat(chat.id)).last_seq;
    const ws = await api.a.ws();
    try {
      await wsSubscribe(ws, chat.id, afterSeq);
      await cluster.redis.stop();
      const downAt = Date.now();
      await cluster.allDegraded();
      for (const n of cluster.list) assert.match((await readyz(n)).body.reason, /^bus degraded: /);
      // REST on every node during the outage, including a whole turn.
      const during = [];
      for (const name of ['a', 'b', 'c']) {
        const c = await api[name].createChat(character.id);
        assert.equal((await api[name].messages(c.id)).length, 1);
      }
      during.push(await api.b.turn(chat.id, 'While the bus is down', { timeoutMs: 20000 }));
      await sleep(Math.max(0, 5000 - (Date.now() - downAt)));
      await cluster.redis.start();
      await cluster.allReady({ timeoutMs: 20000 });

      // Fan-out resumes: the subscriber on A sees a turn through B (events missed during the
      // outage may be replayed first, never twice).
      const posted = await api.b.postMessage(chat.id, 'The bus is back');
      await ws.queue.waitFor(isFinished(posted.generation.id), 20000, 'generation.finished after the outage');
      const seqs = ws.queue.all.filter((e) => e.chat_id === chat.id && Number.isInteger(e.seq)).map((e) => e.seq);
      assert.equal(new Set(seqs).size, seqs.length, `a seq seen twice: ${seqs.join(',')}`);
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `out of order: ${seqs.join(',')}`);
      await api.c.waitGeneration(posted.generation.id);

      // History holds each message once: greeting + two turns.
      const history = await api.c.allMessages(chat.id);
      const ids = history.map((m) => m.id);
      assert.equal(new Set(ids).size, ids.length, 'a message stored twice');
      assert.equal(history.length, 5);
      for (const t of [...during, posted]) assert.ok(ids.includes(t.message.id) && ids.includes(t.reply.id));
    } finally {
      ws.close();
    }
  });

  test('PostgreSQL stopped: fast 503 + Retry-After + JSON error, /readyz 503, recovery without a node restart', T, async () => {
    const chat = await api.a.createChat(character.id);
    const pids = cluster.list.map((n) => n.proc.pid);
    await cluster.pg.stop();
    try {
      for (const name of ['a', 'b', 'c']) {
        for (const path of [`/api/chats/${chat.id}/messages`, '/api/characters']) {
          const t0 = Date.now();
          const res = await api[name].get(path, { timeoutMs: 10000 });
          const ms = Date.now() - t0;
          assert.equal(res.status, 503, `${name} GET ${path}: ${res.status} ${JSON.stringify(res.json)}`);
          assert.ok(ms < 3000, `${name} GET ${path} answered after ${ms} ms`);
          assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
          assert.equal(res.json.error.code, 'unavailable');
          assert.equal(typeof res.json.error.message, 'string');
        }
        const post = await api[name].post(`/api/chats/${chat.id}/messages`, { content: 'nobody home' });
        assert.equal(post.status, 503);
        assert.equal(post.json.error.code, 'unavailable');
      }
      for (const n of cluster.list) {
        await pollUntil(async () => (await readyz(n)).status === 503, { timeoutMs: 5000, what: `${n.name} /readyz 503` });
        assert.match((await readyz(n)).body.reason, /^store unavailable: /);
      }
    } finally {
      await cluster.pg.start();
    }
    await cluster.allReady({ timeoutMs: 20000 });
    for (const name of ['a', 'b', 'c']) {
      await pollUntil(async () => (await api[name].get('/api/characters')).status === 200, { timeoutMs: 10000, what: `${name} REST again` });
    }
    const t = await api.c.turn(chat.id, 'Back again?', { timeoutMs: 20000 });
    assert.equal(t.generation.status, 'completed');
    assert.deepEqual(cluster.list.map((n) => n.proc.pid), pids, 'no node restarted');
    assert.ok(cluster.list.every((n) => n.running));
  });
});
