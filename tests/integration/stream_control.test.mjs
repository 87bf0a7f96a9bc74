// Resuming streams (WS after_seq, SSE Last-Event-ID, resync), stopping a generation, one
// generation per chat (409), and idempotent POST retries.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, expectStatus, wsSubscribe } from './lib/client.mjs';
import { useServer, sampleCharacter, isFinished, tokenText, assertStrictlyIncreasing } from './lib/fixtures.mjs';
import { sleep } from './lib/util.mjs';

const T = { timeout: 40000 };
// [sim:slow] streams 200 ms per token: 16 tokens ≈ 3.2 s.
const ctx = useServer({ name: 'stream-control', settings: { 'llm.sim_reply_tokens': 16 } });

async function freshChat() {
  const c = await ctx.api.createCharacter(sampleCharacter());
  const chat = await ctx.api.createChat(c.id);
  return { chat, lastSeq: (await ctx.api.getChat(chat.id)).last_seq };
}

describe('resume', () => {
  test('WS: reconnect with after_seq = last seen gets exactly the missing events, then live', T, async () => {
    const { chat, lastSeq } = await freshChat();
    const reference = await ctx.api.sse(chat.id, { afterSeq: lastSeq });
    const first = await ctx.api.ws();
    try {
      await wsSubscribe(first, chat.id, lastSeq);
      const posted = await ctx.api.postMessage(chat.id, 'Slowly now [sim:slow]');
      const genId = posted.generation.id;

      const part1 = [];
      let tokens = 0;
      await first.waitFor((m) => {
        part1.push(m);
        if (m.type === 'token') tokens++;
        return tokens >= 3;
      }, 10000, 'three tokens');
      first.close();
      const lastSeen = part1.at(-1).seq;
      await sleep(700); // tokens keep flowing while we are away

      const second = await ctx.api.ws();
      try {
        await wsSubscribe(second, chat.id, lastSeen);
        const part2 = await second.queue.collectUntil(isFinished(genId), 15000, 'finish after resume');
        const ref = (await reference.events.collectUntil((e) => isFinished(genId)(e.json ?? {}), 15000)).map((e) => e.json);

        assert.deepEqual(part1, ref.filter((e) => e.seq <= lastSeen), 'first connection saw a prefix of the stream');
        assert.deepEqual(part2, ref.filter((e) => e.seq > lastSeen), 'resumed connection: no gaps, no duplicates');
        assert.ok(part2.filter((e) => e.type === 'token').length >= 2, 'tokens missed while away are replayed');
        assertStrictlyIncreasing([...part1, ...part2].map((e) => e.seq));
        const finished = part2.at(-1);
        assert.equal(finished.generation.status, 'completed');
        assert.equal(tokenText([...part1, ...part2], genId), finished.message.content);
      } finally {
        second.close();
      }
    } finally {
      first.close();
      reference.close();
    }
  });

  test('SSE: reconnect with Last-Event-ID', T, async () => {
    const { chat, lastSeq } = await freshChat();
    const reference = await ctx.api.sse(chat.id, { afterSeq: lastSeq });
    try {
      const first = await ctx.api.sse(chat.id, { afterSeq: lastSeq });
      const posted = await ctx.api.postMessage(chat.id, 'Slowly over SSE [sim:slow]');
      const genId = posted.generation.id;
      const part1 = [];
      let tokens = 0;
      await first.events.waitFor((e) => {
        part1.push(e);
        if (e.type === 'token') tokens++;
        return tokens >= 3;
      }, 10000, 'three tokens');
      first.close();
      const lastId = part1.at(-1).id;
      await sleep(700);

      const second = await ctx.api.sse(chat.id, { lastEventId: lastId });
      try {
        assert.equal(second.status, 200);
        const part2 = (await second.events.collectUntil((e) => isFinished(genId)(e.json ?? {}), 15000)).map((e) => e.json);
        const ref = (await reference.events.collectUntil((e) => isFinished(genId)(e.json ?? {}), 15000)).map((e) => e.json);
        assert.deepEqual(part2, ref.filter((e) => e.seq > Number(lastId)), 'no gaps, no duplicates after Last-Event-ID');
        assert.equal(tokenText([...part1.map((e) => e.json), ...part2], genId), part2.at(-1).message.content);
      } finally {
        second.close();
      }
    } finally {
      reference.close();
    }
  });
});

describe('resync when after_seq is older than the retained events', () => {
  const small = useServer({ name: 'stream-resync', settings: { 'generation.replay_events': 4, 'llm.sim_reply_tokens': 12 } });

  test('first event is resync with the latest seq', T, async () => {
    const c = await small.api.createCharacter(sampleCharacter());
    const chat = await small.api.createChat(c.id);
    await small.api.turn(chat.id, 'fill the ring');
    const last = (await small.api.getChat(chat.id)).last_seq;
    assert.ok(last > 5);
    const sse = await small.api.sse(chat.id, { afterSeq: 0 });
    try {
      const ev = await sse.events.next(5000);
      assert.equal(ev.type, 'resync');
      assert.equal(ev.json.chat_id, chat.id);
      assert.equal(ev.json.seq, last);
    } finally {
      sse.close();
    }
  });
});

describe('stop', () => {
  test('stop → generation stopped, partial text persisted', T, async () => {
    const { chat, lastSeq } = await freshChat();
    const sse = await ctx.api.sse(chat.id, { afterSeq: lastSeq });
    try {
      const posted = await ctx.api.postMessage(chat.id, 'Go on and on [sim:slow]');
      const genId = posted.generation.id;
      await sse.events.waitFor((e) => e.type === 'token', 10000, 'first token');
      await sse.events.waitFor((e) => e.type === 'token', 10000, 'second token');
      const stop = await ctx.api.post(`/api/generations/${genId}/stop`, {});
      const g = expectStatus(stop, 202);
      assert.equal(g.id, genId);

      const finished = await sse.events.waitFor((e) => isFinished(genId)(e.json ?? {}), 5000, 'finish after stop');
      assert.equal(finished.json.generation.status, 'stopped');
      const streamed = tokenText(sse.events.all.map((e) => e.json), genId);
      assert.ok(streamed.length > 0);
      assert.equal(finished.json.message.content, streamed, 'persisted text = the tokens streamed before the stop');
      assert.equal(finished.json.message.status, 'stopped');

      const msgs = await ctx.api.messages(chat.id);
      const reply = msgs.find((m) => m.id === posted.reply.id);
      assert.equal(reply.status, 'stopped');
      assert.equal(reply.content, streamed);
      assert.equal((await ctx.api.generation(genId)).status, 'stopped');
      assert.equal((await ctx.api.getChat(chat.id)).generation, null);
      expectError(await ctx.api.post('/api/generations/99999999/stop', {}), 404, 'not_found');
    } finally {
      sse.close();
    }
  });
});

describe('one generation per chat', () => {
  test('a second POST while one runs → 409; afterwards it works', T, async () => {
    const { chat } = await freshChat();
    const posted = await ctx.api.postMessage(chat.id, 'Long one [sim:slow]');
    const running = await ctx.api.getChat(chat.id);
    assert.equal(running.generation?.id, posted.generation.id, 'GET chat shows the running generation');
    assert.equal(running.generation.status, 'running');

    expectError(await ctx.api.post(`/api/chats/${chat.id}/messages`, { content: 'me too' }), 409, 'conflict');
    expectError(await ctx.api.post(`/api/chats/${chat.id}/generations`, { kind: 'regenerate' }), 409, 'conflict');
    const during = await ctx.api.messages(chat.id);
    assert.ok(!during.some((m) => m.content === 'me too'), 'the refused message was not stored');

    expectStatus(await ctx.api.post(`/api/generations/${posted.generation.id}/stop`, {}), 202);
    await ctx.api.waitGeneration(posted.generation.id, { timeoutMs: 5000 });
    const next = await ctx.api.turn(chat.id, 'now it is my turn');
    assert.equal(next.generation.status, 'completed');
  });
});

describe('racing posts', () => {
  test('concurrent POSTs to one chat: exactly one 202, the rest 409', T, async () => {
    const { chat } = await freshChat();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => ctx.api.post(`/api/chats/${chat.id}/messages`, { content: `racer ${i}` })));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [202, 409, 409, 409, 409, 409], `statuses: ${statuses}`);
    for (const r of results.filter((x) => x.status === 409)) expectError(r, 409, 'conflict');
    const winner = results.find((r) => r.status === 202).json;
    await ctx.api.waitGeneration(winner.generation.id);
    const users = (await ctx.api.messages(chat.id)).filter((m) => m.role === 'user');
    assert.deepEqual(users.map((m) => m.id), [winner.message.id], 'only the winner stored a message');
  });
});

describe('idempotent retries', () => {
  test('the same Idempotency-Key returns the same ids and creates nothing', T, async () => {
    const { chat } = await freshChat();
    const key = `k-${Date.now()}-${Math.random()}`;
    const send = () => ctx.api.post(`/api/chats/${chat.id}/messages`, { content: 'exactly once' }, { headers: { 'Idempotency-Key': key } });
    const r1 = await send();
    const b1 = expectStatus(r1, 202);
    assert.notEqual(r1.headers.get('idempotent-replayed'), 'true');
    const r2 = await send(); // the generation may still be running: still a replay, not a 409
    const b2 = expectStatus(r2, 202);
    assert.equal(r2.headers.get('idempotent-replayed'), 'true');
    assert.equal(b2.message.id, b1.message.id);
    assert.equal(b2.reply.id, b1.reply.id);
    assert.equal(b2.generation.id, b1.generation.id);

    await ctx.api.waitGeneration(b1.generation.id);
    const r3 = await send();
    assert.equal(r3.status, 202);
    assert.equal(r3.headers.get('idempotent-replayed'), 'true');
    assert.equal(r3.json.message.id, b1.message.id);
    assert.equal(r3.json.generation.id, b1.generation.id);

    const msgs = await ctx.api.messages(chat.id);
    assert.equal(msgs.filter((m) => m.role === 'user').length, 1);
    assert.equal(msgs.filter((m) => m.content === 'exactly once').length, 1);
    assert.equal(msgs.filter((m) => m.role === 'assistant' && m.generation_id).length, 1, 'one generation');

    // The same key on another chat is a conflict.
    const other = await freshChat();
    const clash = await ctx.api.post(`/api/chats/${other.chat.id}/messages`, { content: 'exactly once' }, { headers: { 'Idempotency-Key': key } });
    expectError(clash, 409, 'conflict');
    assert.equal((await ctx.api.messages(other.chat.id)).length, 1, 'nothing created in the other chat');
  });

  test('simultaneous POSTs with one Idempotency-Key: one turn; the others replay it or get 409', T, async () => {
    for (let round = 0; round < 5; round++) {
      const { chat } = await freshChat();
      const other = await freshChat();
      const key = `race-${round}-${Date.now()}-${Math.random()}`;
      const send = (chatId) => ctx.api.post(`/api/chats/${chatId}/messages`, { content: 'only once' }, { headers: { 'Idempotency-Key': key } });
      // Truly concurrent: all requests are on the wire before any answer arrives.
      const answers = await Promise.all([send(chat.id), send(chat.id), send(chat.id), send(other.chat.id)]);
      const created = answers.filter((r) => r.status === 202 && r.headers.get('idempotent-replayed') !== 'true');
      assert.equal(created.length, 1, `exactly one creates: ${answers.map((r) => r.status).join(',')}`);
      const first = created[0].json;
      // Whichever chat won keeps the key; the other chat stores nothing.
      const won = first.message.chat_id;
      const lost = won === chat.id ? other.chat.id : chat.id;
      for (const r of answers) {
        assert.ok(r.status === 202 || r.status === 409, `${r.status} ${r.text.slice(0, 200)}`);
        if (r.status === 202) {
          assert.equal(r.json.message.id, first.message.id);
          assert.equal(r.json.generation.id, first.generation.id);
        } else {
          expectError(r, 409, 'conflict');
        }
      }
      await ctx.api.waitGeneration(first.generation.id);
      const msgs = await ctx.api.messages(won);
      assert.equal(msgs.filter((m) => m.content === 'only once').length, 1, 'one user message');
      assert.equal(msgs.filter((m) => m.role === 'assistant' && m.generation_id).length, 1, 'one generation');
      assert.equal((await ctx.api.messages(lost)).length, 1, 'nothing in the other chat');
      // Once durable, a retry replays.
      const again = await send(won);
      assert.equal(again.status, 202);
      assert.equal(again.headers.get('idempotent-replayed'), 'true');
      assert.equal(again.json.message.id, first.message.id);
    }
  });
});
