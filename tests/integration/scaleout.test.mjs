// Two Troupe nodes sharing one real PostgreSQL (store) and one real Redis (bus), all started and
// stopped by this file on 127.0.0.1: a user created with `troupe user add --store`, a turn posted
// through node A streamed in order and without gaps to a WebSocket client on node B, REST reads
// through node B, /readyz, and Redis loss (node degraded, REST still working).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Api, wsSubscribe } from './lib/client.mjs';
import { TroupeServer, TROUPE_BIN } from './lib/server.mjs';
import { Cluster, freePort, metric, readyz } from './lib/cluster.mjs';
import { sampleCharacter, checkTurnEvents, isFinished } from './lib/fixtures.mjs';
import { pollUntil } from './lib/util.mjs';

const T = { timeout: 60000 };

const cluster = new Cluster({ names: ['a', 'b'], prefix: 'scaleout', settings: { 'llm.sim_reply_tokens': 20 }, waitReady: false });
const { pg, redis } = cluster;
let nodeA;
let nodeB;
let alice; // { a: Api on node A, b: Api on node B }

before(async () => {
  await cluster.start();
  nodeA = cluster.node('a');
  nodeB = cluster.node('b');
  alice = cluster.apis(await cluster.addUser('alice'));
});

after(async () => {
  await cluster.teardown();
});

describe('two nodes on PostgreSQL and Redis', () => {
  test('both nodes become ready once the bus is connected', T, async () => {
    for (const node of [nodeA, nodeB]) {
      await pollUntil(async () => (await readyz(node)).status === 200, { timeoutMs: 10000, what: `${node.name} ready` });
      const r = await readyz(node);
      assert.equal(r.body.ready, true);
    }
  });

  test('a turn through node A streams in order, without gaps, to a WebSocket client on node B', T, async () => {
    const c = await alice.a.createCharacter(sampleCharacter());
    const chat = await alice.a.createChat(c.id);
    // The chat created through A is visible through B (shared store).
    const seen = await alice.b.getChat(chat.id);
    assert.equal(seen.id, chat.id);
    const afterSeq = seen.last_seq;

    const ws = await alice.b.ws();
    const deliveredOnB = /^troupe_bus_delivery_seconds_count\{transport="ws"\}/;
    const deliveredOnA = /^troupe_bus_delivery_seconds_count\{transport="ws"\}/;
    try {
      const sub = await wsSubscribe(ws, chat.id, afterSeq);
      assert.equal(sub.type, 'subscribed', JSON.stringify(sub));
      const beforeB = await metric(nodeB, deliveredOnB);
      const beforeA = await metric(nodeA, deliveredOnA);
      const posted = await alice.a.postMessage(chat.id, 'Hello from node A');
      const events = await ws.queue.collectUntil(isFinished(posted.generation.id), 20000, 'generation.finished on node B');
      const chatEvents = events.filter((e) => e.chat_id === chat.id);
      const { tokens, finished } = checkTurnEvents(chatEvents, posted, afterSeq);
      const seqs = chatEvents.map((e) => e.seq);
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `gap in seqs: ${seqs.join(',')}`);
      const tokenCount = chatEvents.filter((e) => e.type === 'token').length;
      assert.ok(tokenCount >= 10, `the whole generation streamed (${tokenCount} token events)`);
      assert.equal(finished.generation.status, 'completed');
      // Node B timed the delivery of the events published on node A (publish -> socket write);
      // node A has no subscriber and delivered nothing.
      await pollUntil(async () => (await metric(nodeB, deliveredOnB)) - beforeB >= chatEvents.length, {
        timeoutMs: 5000,
        what: 'delivery histogram on node B',
      });
      assert.equal(await metric(nodeA, deliveredOnA), beforeA);
      assert.equal(finished.message.content, tokens);

      // REST through node B reads the stored reply.
      const msgs = await alice.b.messages(chat.id);
      assert.equal(msgs.at(-1).id, posted.reply.id);
      assert.equal(msgs.at(-1).content, tokens);
      assert.equal(msgs.at(-1).status, 'completed');
    } finally {
      ws.close();
    }
  });

  test('an unreachable PostgreSQL stops the node at start-up with a clear error', T, async () => {
    const port = await freePort(); // nothing listens there
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-it-nopg-'));
    try {
      const r = await new Promise((resolve) => {
        execFile(TROUPE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--store', `postgres://troupe@127.0.0.1:${port}/postgres`],
          { timeout: 30000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /cannot open the PostgreSQL store/);
      assert.doesNotMatch(r.stdout, /listening on/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two nodes starting together on an empty database: both start, one admin is created', T, async () => {
    await pg.createDatabase('race');
    const url = pg.urlFor('race');
    const nodes = [1, 2].map((i) => new TroupeServer({ name: `scaleout-race-${i}`, args: ['--store', url] }));
    try {
      for (const n of nodes) n.starts = 1; // which of them prints the admin token is not known
      await Promise.all(nodes.map((n) => n.start()));
      await pollUntil(() => nodes.some((n) => n.adminToken), { timeoutMs: 5000, what: 'an admin token' });
      assert.equal(nodes.filter((n) => n.adminToken).length, 1);
      const token = nodes.find((n) => n.adminToken).adminToken;
      for (const n of nodes) assert.equal((await new Api(n, token).get('/api/characters')).status, 200);
    } finally {
      for (const n of nodes) await n.cleanup();
    }
  });

  test('Redis stopped: /readyz reports the bus degraded, REST keeps working', T, async () => {
    await redis.stop();
    for (const node of [nodeA, nodeB]) {
      await pollUntil(async () => (await readyz(node)).status === 503, { timeoutMs: 10000, what: `${node.name} degraded` });
      const r = await readyz(node);
      assert.equal(r.body.ready, false);
      assert.match(r.body.reason, /^bus degraded: /);
    }
    const metrics = await (await fetch(`${nodeB.baseUrl}/metrics`)).text();
    assert.match(metrics, /troupe_bus_state\{state="connected"\} 0/);
    assert.match(metrics, /troupe_bus_reconnects \d+/);

    // REST through both nodes: write through B, read through A.
    const c = await alice.b.createCharacter(sampleCharacter());
    const chat = await alice.b.createChat(c.id);
    const msgs = await alice.a.messages(chat.id);
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].role, 'assistant');
  });
});
