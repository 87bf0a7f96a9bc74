// Chats and a full turn over Server-Sent Events: greeting and alternate greetings, POST message →
// 202, event order and seq, final content equals the streamed tokens, history, replay, keep-alive,
// and generations that keep running after the client goes away.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, expectStatus, openSse } from './lib/client.mjs';
import { useServer, sampleCharacter, isId, checkTurnEvents, isFinished } from './lib/fixtures.mjs';

const T = { timeout: 30000 };
const ctx = useServer({
  name: 'chat-sse',
  settings: { 'llm.sim_reply_tokens': 12, 'llm.sim_token_delay_ms': 10, 'server.keepalive_interval_ms': 300 },
});

describe('chats', () => {
  test('a new chat starts with the greeting; alternate greetings are swipes', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id, { title: 'First chat' });
    assert.ok(isId(chat.id));
    assert.equal(chat.character_id, c.id);
    assert.equal(chat.title, 'First chat');
    assert.ok(Number.isInteger(chat.last_seq));
    const msgs = await ctx.api.messages(chat.id);
    assert.equal(msgs.length, 1);
    const g = msgs[0];
    assert.equal(g.role, 'assistant');
    assert.equal(g.content, 'Greetings, traveler.');
    assert.equal(g.status, 'ok');
    assert.equal(g.chat_id, chat.id);
    assert.equal(g.swipe_count, 3, 'first_mes + 2 alternate greetings');
    assert.equal(g.swipe_index, 0);
    assert.equal(chat.leaf_id, g.id);

    const full = await ctx.api.getChat(chat.id);
    assert.equal(full.generation, null);
    assert.equal(full.leaf_id, g.id);

    const list = expectStatus(await ctx.api.get(`/api/chats?character_id=${c.id}`), 200);
    assert.deepEqual(list.chats.map((x) => x.id), [chat.id]);
    assert.equal(list.next_after, null);
  });

  test('chat list pagination and delete', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await ctx.api.createChat(c.id)).id);
    const seen = [];
    let after = null;
    for (let guard = 0; guard < 10; guard++) {
      const page = expectStatus(await ctx.api.get(`/api/chats?character_id=${c.id}&limit=2${after ? `&after=${after}` : ''}`), 200);
      seen.push(...page.chats.map((x) => x.id));
      if (page.next_after === null) break;
      after = page.next_after;
    }
    assert.deepEqual(seen, ids);
    assert.equal((await ctx.api.del(`/api/chats/${ids[0]}`)).status, 204);
    expectError(await ctx.api.get(`/api/chats/${ids[0]}`), 404, 'not_found');
    expectError(await ctx.api.post('/api/chats', { character_id: 99999999 }), 404, 'not_found');
  });
});

describe('a full turn over SSE', () => {
  test('POST message → 202, events, history', T, async () => {
    const api = ctx.api;
    const c = await api.createCharacter(sampleCharacter());
    const chat = await api.createChat(c.id);
    const greeting = (await api.messages(chat.id))[0];
    const afterSeq = (await api.getChat(chat.id)).last_seq;

    const sse = await api.sse(chat.id, { afterSeq });
    try {
      assert.equal(sse.status, 200);
      assert.match(sse.headers.get('content-type') ?? '', /text\/event-stream/);

      const res = await api.post(`/api/chats/${chat.id}/messages`, { content: 'Hello there, bard!' });
      const posted = expectStatus(res, 202);
      assert.equal(posted.message.role, 'user');
      assert.equal(posted.message.content, 'Hello there, bard!');
      assert.equal(posted.message.chat_id, chat.id);
      assert.equal(posted.message.parent_id, greeting.id);
      assert.equal(posted.reply.role, 'assistant');
      assert.equal(posted.reply.parent_id, posted.message.id);
      assert.equal(posted.generation.backend, 'sim');
      assert.equal(posted.generation.kind, 'reply');
      assert.equal(posted.generation.chat_id, chat.id);
      assert.equal(posted.generation.message_id, posted.reply.id);
      assert.ok(['running', 'completed'].includes(posted.generation.status));

      const events = await sse.events.collectUntil((e) => isFinished(posted.generation.id)(e.json ?? {}), 15000, 'generation.finished');
      for (const e of events) {
        assert.equal(e.id, String(e.seq), 'SSE id is the seq');
        assert.equal(e.event, e.type, 'SSE event name is the type');
      }
      const { tokens, finished } = checkTurnEvents(events.map((e) => e.json), posted, afterSeq);
      assert.equal(events.filter((e) => e.type === 'token').length, 12, 'the simulator streams llm.sim_reply_tokens tokens');
      assert.equal(finished.generation.status, 'completed');
      assert.equal(finished.message.status, 'completed');
      assert.equal(finished.message.content, tokens, 'final content is the concatenated tokens');
      assert.ok(tokens.length > 0);

      const msgs = await api.messages(chat.id);
      assert.deepEqual(msgs.map((m) => m.role), ['assistant', 'user', 'assistant']);
      assert.equal(msgs[1].id, posted.message.id);
      assert.equal(msgs[1].status, 'ok');
      assert.equal(msgs[2].id, posted.reply.id);
      assert.equal(msgs[2].status, 'completed');
      assert.equal(msgs[2].content, tokens);
      assert.equal(msgs[2].generation_id, posted.generation.id);

      const gen = await api.generation(posted.generation.id);
      assert.equal(gen.status, 'completed');
      assert.equal(gen.backend, 'sim');
      assert.ok(gen.finished_at >= gen.started_at);

      const after = await api.getChat(chat.id);
      assert.equal(after.generation, null);
      assert.equal(after.leaf_id, posted.reply.id);
      assert.ok(after.last_seq >= events.at(-1).seq);

      // A late subscriber with the same after_seq gets the very same events (replay).
      const late = await api.sse(chat.id, { afterSeq });
      try {
        const replay = await late.events.collectUntil((e) => isFinished(posted.generation.id)(e.json ?? {}), 10000, 'replayed finish');
        assert.deepEqual(replay.map((e) => e.json), events.map((e) => e.json));
      } finally {
        late.close();
      }

      // The next turn works once the first finished.
      const second = await api.turn(chat.id, 'And another thing.');
      assert.equal(second.generation.status, 'completed');
    } finally {
      sse.close();
    }
  });

  test('unicode content round-trips', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter({ name: 'Zoë 漢字 😀' }));
    assert.equal(c.name, 'Zoë 漢字 😀');
    const chat = await ctx.api.createChat(c.id);
    const text = 'héllo 😀 漢字 e\u0301 "quotes" \\ back\nslash\ttab';
    const t = await ctx.api.turn(chat.id, text);
    assert.equal(t.message.content, text);
    const msgs = await ctx.api.messages(chat.id);
    assert.equal(msgs[1].content, text);
  });

  test('token by query parameter; 404 for an unknown chat', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const viaQuery = await openSse(`${ctx.server.baseUrl}/api/chats/${chat.id}/events?after_seq=0&access_token=${ctx.server.adminToken}`);
    assert.equal(viaQuery.status, 200);
    viaQuery.close();
    const missing = await ctx.api.sse(99999999, { afterSeq: 0 });
    assert.equal(missing.status, 404);
    assert.equal(missing.json?.error?.code, 'not_found');
  });

  test('keep-alive comments arrive every keepalive_interval_ms', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const sse = await ctx.api.sse(chat.id, { afterSeq: (await ctx.api.getChat(chat.id)).last_seq });
    try {
      const comment = await sse.comments.next(3000);
      assert.match(comment, /keep-alive/);
    } finally {
      sse.close();
    }
  });
});

describe('failures', () => {
  test('[sim:fail] → generation failed, partial text kept, the chat stays usable', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const afterSeq = (await ctx.api.getChat(chat.id)).last_seq;
    const sse = await ctx.api.sse(chat.id, { afterSeq });
    try {
      const posted = await ctx.api.postMessage(chat.id, 'This will break [sim:fail]');
      const events = (await sse.events.collectUntil((e) => isFinished(posted.generation.id)(e.json ?? {}), 15000)).map((e) => e.json);
      const finished = events.at(-1);
      assert.equal(finished.generation.status, 'failed');
      assert.ok(finished.generation.error.length > 0, 'the failure carries an error');
      const streamed = events.filter((e) => e.type === 'token').map((e) => e.text).join('');
      assert.equal(finished.message.content, streamed);
      const reply = (await ctx.api.messages(chat.id)).at(-1);
      assert.equal(reply.id, posted.reply.id);
      assert.equal(reply.status, 'failed');
      assert.equal(reply.content, streamed);
      const gen = await ctx.api.generation(posted.generation.id);
      assert.equal(gen.status, 'failed');
      assert.equal(gen.error, finished.generation.error);
      const next = await ctx.api.turn(chat.id, 'try again');
      assert.equal(next.generation.status, 'completed');
    } finally {
      sse.close();
    }
  });
});

describe('generation is owned by the server', () => {
  test('closing the stream at once does not stop the generation', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const afterSeq = (await ctx.api.getChat(chat.id)).last_seq;
    const sse = await ctx.api.sse(chat.id, { afterSeq });
    const posted = await ctx.api.postMessage(chat.id, 'Tell me a long story [sim:slow]');
    await sse.events.waitFor((e) => e.type === 'token', 5000, 'first token');
    sse.close();
    const quick = await ctx.api.sse(chat.id, { afterSeq });
    quick.close();

    const gen = await ctx.api.waitGeneration(posted.generation.id, { timeoutMs: 20000 });
    assert.equal(gen.status, 'completed');
    const msgs = await ctx.api.messages(chat.id);
    const reply = msgs.at(-1);
    assert.equal(reply.id, posted.reply.id);
    assert.equal(reply.status, 'completed');
    assert.ok(reply.content.length > 0);
  });
});
