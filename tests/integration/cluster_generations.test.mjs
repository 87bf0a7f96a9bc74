// Generations across three Troupe nodes sharing one real PostgreSQL (store) and one real Redis
// (bus, chat leases), all started and stopped by this file on 127.0.0.1: a stop request sent to
// another node stops the generation within a second; two simultaneous turns on one chat through
// two nodes run exactly one generation; kill -9 of the node running a generation leaves it
// "interrupted" (not "running" for ever), frees the chat once its lease expires, and loses no
// acknowledged message.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, metric } from './lib/cluster.mjs';
import { sampleCharacter } from './lib/fixtures.mjs';
import { pollUntil, sleep } from './lib/util.mjs';

const T = { timeout: 90000 };
const LOCK_TTL_MS = 3000;

// Long generations (about 2.5 s) so that they are still running when stopped or killed.
const cluster = new Cluster({
  names: ['a', 'b', 'c'],
  prefix: 'cluster',
  settings: {
    'llm.sim_first_token_ms': 20,
    'llm.sim_token_delay_ms': 30,
    'llm.sim_reply_tokens': 80,
    'bus.lock_ttl_ms': LOCK_TTL_MS,
  },
});
const { redis } = cluster;
const nodes = cluster.nodes; // a, b, c: TroupeServer
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

// Waits until the reply of a running generation has some stored text (the node is streaming).
async function waitStreaming(reader, chatId, replyId) {
  await pollUntil(async () => {
    const msgs = await reader.messages(chatId);
    const reply = msgs.find((m) => m.id === replyId);
    return reply && reply.content.length > 0;
  }, { timeoutMs: 10000, intervalMs: 20, what: 'partial reply text stored' });
}

describe('generations across three nodes on PostgreSQL and Redis', () => {
  test('stop sent to node C stops the generation running on node B within a second', T, async () => {
    const chat = await api.b.createChat(character.id);
    const posted = await api.b.postMessage(chat.id, 'Tell me a long story');
    await waitStreaming(api.c, chat.id, posted.reply.id);
    assert.equal((await api.c.generation(posted.generation.id)).status, 'running');

    const t0 = Date.now();
    const res = await api.c.post(`/api/generations/${posted.generation.id}/stop`);
    assert.equal(res.status, 202);
    const g = await api.c.waitGeneration(posted.generation.id, { timeoutMs: 5000 });
    const ms = Date.now() - t0;
    assert.equal(g.status, 'stopped');
    assert.ok(ms < 1000, `stopped after ${ms} ms`);
    const reply = (await api.a.messages(chat.id)).find((m) => m.id === posted.reply.id);
    assert.equal(reply.status, 'stopped');
    assert.ok(reply.content.length > 0, 'partial text kept');

    // The chat is free again at once, on any node.
    const next = await api.a.postMessage(chat.id, 'Shorter, please');
    await api.a.post(`/api/generations/${next.generation.id}/stop`);
    assert.equal((await api.b.waitGeneration(next.generation.id)).status, 'stopped');
  });

  test('two simultaneous turns on one chat through two nodes: exactly one runs, the other gets 409', T, async () => {
    const pairs = [['a', 'b'], ['b', 'c'], ['c', 'a'], ['a', 'c'], ['b', 'a'], ['c', 'b']];
    for (const [x, y] of pairs) {
      const chat = await api.a.createChat(character.id);
      const before = (await api.a.messages(chat.id)).length;
      const [rx, ry] = await Promise.all([
        api[x].post(`/api/chats/${chat.id}/messages`, { content: `from ${x}` }),
        api[y].post(`/api/chats/${chat.id}/messages`, { content: `from ${y}` }),
      ]);
      const statuses = [rx.status, ry.status].sort();
      assert.deepEqual(statuses, [202, 409], `nodes ${x}/${y}: ${rx.status} ${ry.status}`);
      const loser = rx.status === 409 ? rx : ry;
      assert.equal(loser.json.error.code, 'conflict');
      const winner = rx.status === 202 ? rx.json : ry.json;
      // Only the winner's turn is stored: its user message and its reply.
      const msgs = await api.b.messages(chat.id);
      assert.equal(msgs.length, before + 2);
      assert.equal(msgs.at(-2).id, winner.message.id);
      await api[x].post(`/api/generations/${winner.generation.id}/stop`);
      const g = await api.c.waitGeneration(winner.generation.id);
      assert.equal(g.status, 'stopped');
    }
  });

  test('a generation whose chat lease is taken over stops as interrupted with its text', T, async () => {
    const chat = await api.b.createChat(character.id);
    const posted = await api.b.postMessage(chat.id, 'Tell me about the sea');
    await waitStreaming(api.a, chat.id, posted.reply.id);
    const lossesBefore = await metric(nodes.b, /^troupe_chat_lease_losses_total/);
    // As if the lease had expired during a long pause of node B and someone else took the chat.
    await redis.cli('SET', `troupe:{chat:${chat.id}}:generation`, 'someone-else', 'PX', '1000');
    const g = await api.a.waitGeneration(posted.generation.id, { timeoutMs: LOCK_TTL_MS + 5000 });
    assert.equal(g.status, 'interrupted');
    const reply = (await api.c.messages(chat.id)).find((m) => m.id === posted.reply.id);
    assert.equal(reply.status, 'interrupted');
    assert.ok(reply.content.length > 0, 'partial text kept');
    assert.equal(await metric(nodes.b, /^troupe_chat_lease_losses_total/), lossesBefore + 1);
    // Once the other holder's lease runs out, the chat works again.
    await pollUntil(async () => (await api.c.post(`/api/chats/${chat.id}/messages`, { content: 'again' })).status === 202,
      { timeoutMs: 5000, intervalMs: 100, what: 'the chat free again' });
  });

  test('Redis stopped: turns keep working on provisional leases, and after Redis is back too', T, async () => {
    const chat = await api.a.createChat(character.id);
    await redis.stop();
    for (const n of Object.values(nodes)) {
      await pollUntil(async () => (await fetch(`${n.baseUrl}/readyz`)).status === 503, { timeoutMs: 10000, what: `${n.name} degraded` });
    }
    const during = await api.b.turn(chat.id, 'Is the bus down?', { timeoutMs: 20000 });
    assert.equal(during.generation.status, 'completed');
    await redis.start();
    for (const n of Object.values(nodes)) {
      await pollUntil(async () => (await fetch(`${n.baseUrl}/readyz`)).status === 200, { timeoutMs: 15000, what: `${n.name} ready again` });
    }
    const afterwards = await api.c.turn(chat.id, 'And now?', { timeoutMs: 20000 });
    assert.equal(afterwards.generation.status, 'completed');
    const ids = new Set((await api.a.allMessages(chat.id)).map((m) => m.id));
    for (const t of [during, afterwards]) assert.ok(ids.has(t.message.id));
  });

  test('kill -9 of the node running a generation: interrupted, lock expires, next turn works, nothing acknowledged lost', T, async () => {
    const chat = await api.b.createChat(character.id);
    const acknowledged = [];
    const first = await api.a.turn(chat.id, 'First, a short hello', { timeoutMs: 20000 });
    acknowledged.push(first.message.id);
    const posted = await api.a.postMessage(chat.id, 'Now a long story');
    acknowledged.push(posted.message.id);
    await waitStreaming(api.b, chat.id, posted.reply.id);

    await nodes.a.kill9();
    // Right after the kill the chat is still leased to the dead node.
    const early = await api.b.post(`/api/chats/${chat.id}/messages`, { content: 'too early' });
    assert.equal(early.status, 409);
    assert.equal((await api.b.generation(posted.generation.id)).status, 'running');

    // The sweepers of B and C notice the expired lease and mark it interrupted.
    const g = await api.c.waitGeneration(posted.generation.id, { timeoutMs: 4 * LOCK_TTL_MS + 5000 });
    assert.equal(g.status, 'interrupted');
    const reply = (await api.b.messages(chat.id)).find((m) => m.id === posted.reply.id);
    assert.equal(reply.status, 'interrupted');
    assert.ok(reply.content.length > 0, 'partial text kept');
    const recovered = (await metric(nodes.b, /^troupe_generations_recovered_total/)) +
      (await metric(nodes.c, /^troupe_generations_recovered_total/));
    assert.ok(recovered >= 1, `recovered ${recovered}`);

    // The lock has expired: a new turn works through another node.
    const next = await api.c.postMessage(chat.id, 'Are you still there?');
    acknowledged.push(next.message.id);
    await sleep(200);
    assert.equal((await api.b.generation(next.generation.id)).status, 'running');
    const done = await api.b.waitGeneration(next.generation.id, { timeoutMs: 20000 });
    assert.equal(done.status, 'completed');

    // Every acknowledged user message is in the history.
    const history = await api.c.allMessages(chat.id);
    const ids = new Set(history.map((m) => m.id));
    for (const id of acknowledged) assert.ok(ids.has(id), `acknowledged message ${id} kept`);
    assert.equal(history.find((m) => m.id === next.message.id).content, 'Are you still there?');
  });
});
