// Durability across restarts: graceful SIGTERM during a slow generation, kill -9 during a slow
// generation, kill -9 in the middle of concurrent turns on many chats; acknowledged messages and
// finished replies survive, seq keeps increasing after a restart.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { wsSubscribe } from './lib/client.mjs';
import { useServer, sampleCharacter, tokenText, isFinished } from './lib/fixtures.mjs';
import { withTimeout, sleep, pollUntil } from './lib/util.mjs';

const T = { timeout: 60000 };
// [sim:slow] streams 200 ms per token: 30 tokens ≈ 6 s, so a stop always lands mid-stream.
const ctx = useServer({
  name: 'restart',
  settings: { 'llm.sim_reply_tokens': 30, 'generation.flush_interval_ms': 100, 'server.shutdown_grace_ms': 1000 },
});

// Quick replies (8 tokens, 1 ms apart): a kill lands as often in a turn's commit as in its stream.
const fast = useServer({
  name: 'restart-fast',
  settings: { 'llm.sim_first_token_ms': 1, 'llm.sim_token_delay_ms': 1, 'llm.sim_reply_tokens': 8 },
});

// One text is a prefix of the other: persisted partial text and what a client saw may differ by
// the tokens in flight at the moment of the stop.
function prefixConsistent(a, b) {
  return a.startsWith(b) || b.startsWith(a);
}

// Starts a slow reply and waits until `n` tokens were streamed. Returns what was seen.
async function slowReplyInFlight(chatId, n) {
  const afterSeq = (await ctx.api.getChat(chatId)).last_seq;
  const sse = await ctx.api.sse(chatId, { afterSeq });
  const posted = await ctx.api.postMessage(chatId, 'A very long tale, please [sim:slow]');
  let count = 0;
  await sse.events.waitFor((e) => e.type === 'token' && ++count >= n, 15000, `${n} tokens`);
  const events = sse.events.all.map((e) => e.json);
  return { sse, posted, afterSeq, events, streamed: tokenText(events, posted.generation.id) };
}

describe('restart', () => {
  test('SIGTERM during a slow generation: graceful exit, partial reply kept', T, async () => {
    const srv = ctx.server;
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const t1 = await ctx.api.turn(chat.id, 'first, acknowledged');
    const ws = await ctx.api.ws();
    await wsSubscribe(ws, chat.id, (await ctx.api.getChat(chat.id)).last_seq);
    const flight = await slowReplyInFlight(chat.id, 3);

    const exit = await srv.stop({ signal: 'SIGTERM', timeoutMs: 15000 });
    flight.sse.close();
    assert.equal(exit.forced, false, 'exited on SIGTERM without SIGKILL');
    assert.ok(exit.ms < 10000, `exited within a few seconds (took ${exit.ms} ms)`);
    const wsClose = await withTimeout(ws.closed, 3000, 'WebSocket close on shutdown');
    ws.close();

    await srv.restart();
    const msgs = await ctx.api.messages(chat.id);
    const ids = msgs.map((m) => m.id);
    for (const id of [t1.message.id, t1.reply.id, flight.posted.message.id, flight.posted.reply.id]) assert.ok(ids.includes(id), `message ${id} survived`);
    const reply = msgs.find((m) => m.id === flight.posted.reply.id);
    assert.ok(['stopped', 'interrupted'].includes(reply.status), `reply status after SIGTERM: ${reply.status}`);
    assert.ok(reply.content.length > 0, 'partial text kept');
    assert.ok(prefixConsistent(reply.content, flight.streamed), `persisted "${reply.content}" vs streamed "${flight.streamed}"`);
    const gen = await ctx.api.generation(flight.posted.generation.id);
    assert.ok(['stopped', 'interrupted'].includes(gen.status), `generation status: ${gen.status}`);
    assert.equal((await ctx.api.getChat(chat.id)).generation, null, 'nothing runs after the restart');
    const again = await ctx.api.turn(chat.id, 'still here?');
    assert.equal(again.generation.status, 'completed');

    assert.equal(wsClose.code, 1001, 'shutdown closes WebSockets with 1001');
    assert.equal(exit.code, 0, `clean exit code after SIGTERM (code=${exit.code} signal=${exit.signal}); see ${srv.logPath}`);
  });

  test('kill -9 during a slow generation: acknowledged messages survive, reply interrupted, seq keeps increasing', T, async () => {
    const srv = ctx.server;
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const acked = [];
    for (let i = 0; i < 5; i++) acked.push((await ctx.api.turn(chat.id, `acknowledged ${i}`)).message.id);
    const flight = await slowReplyInFlight(chat.id, 4);
    acked.push(flight.posted.message.id);
    const seqBefore = Math.max((await ctx.api.getChat(chat.id)).last_seq, ...flight.sse.events.all.map((e) => e.seq));

    await srv.kill9();
    flight.sse.close();
    await srv.restart();

    const msgs = await ctx.api.messages(chat.id, 'limit=200');
    const ids = msgs.map((m) => m.id);
    for (const id of acked) assert.ok(ids.includes(id), `acknowledged user message ${id} survived kill -9`);
    const reply = msgs.find((m) => m.id === flight.posted.reply.id);
    assert.ok(reply, 'the reply placeholder survived');
    assert.equal(reply.status, 'interrupted');
    assert.ok(reply.content.length > 0, 'text flushed before the kill is kept');
    assert.ok(prefixConsistent(reply.content, flight.streamed), `persisted "${reply.content}" vs streamed "${flight.streamed}"`);
    assert.equal((await ctx.api.generation(flight.posted.generation.id)).status, 'interrupted');

    const chatAfter = await ctx.api.getChat(chat.id);
    assert.equal(chatAfter.generation, null);
    assert.ok(chatAfter.last_seq >= seqBefore, `last_seq ${chatAfter.last_seq} went backwards from ${seqBefore}`);

    // A subscriber holding the pre-restart seq gets the new events with larger seqs.
    const sse = await ctx.api.sse(chat.id, { afterSeq: seqBefore });
    try {
      const posted = await ctx.api.postMessage(chat.id, 'after the crash');
      const events = await sse.events.collectUntil((e) => isFinished(posted.generation.id)(e.json ?? {}), 15000, 'finish after restart');
      for (const e of events) {
        if (e.type === 'resync') assert.ok(e.seq >= seqBefore);
        else assert.ok(e.seq > seqBefore, `event ${e.type} seq ${e.seq} reuses a pre-restart seq (≤ ${seqBefore})`);
      }
      assert.equal(events.at(-1).json.generation.status, 'completed');
    } finally {
      sse.close();
    }
  });
});

describe('crash under load', () => {
  test('kill -9 amid concurrent turns: every acknowledged message and finished reply survives', T, async () => {
    const srv = fast.server;
    const c = await fast.api.createCharacter(sampleCharacter());
    const chats = [];
    for (let i = 0; i < 10; i++) chats.push(await fast.api.createChat(c.id));
    const acked = []; // 202 answers: {chat, key, content, message, reply, gen}
    const done = new Map(); // reply id -> text, for replies whose generation was seen completed
    const surprises = [];

    // One client per chat: post (with an idempotency key), wait until the reply finished, read
    // its text, repeat; it stops at the first failed request (the server is gone).
    async function client(chat, w) {
      for (let n = 0; ; n++) {
        const key = `crash-${w}-${n}`;
        const content = `client ${w} says ${n}`;
        let res;
        try {
          res = await fast.api.post(`/api/chats/${chat.id}/messages`, { content }, { headers: { 'Idempotency-Key': key }, timeoutMs: 5000 });
        } catch {
          return;
        }
        if (res.status !== 202) {
          surprises.push(`POST ${key}: ${res.status} ${res.text.slice(0, 200)}`);
          return;
        }
        const t = { chat: chat.id, key, content, message: res.json.message.id, reply: res.json.reply.id, gen: res.json.generation.id };
        acked.push(t);
        try {
          let g;
          for (;;) {
            g = await fast.api.get(`/api/generations/${t.gen}`, { timeoutMs: 5000 });
            if (g.status !== 200 || g.json.status !== 'running') break;
            await sleep(15);
          }
          if (g.status !== 200) return;
          if (g.json.status !== 'completed') surprises.push(`generation ${t.gen}: ${g.json.status}`);
          const page = await fast.api.get(`/api/chats/${chat.id}/messages?limit=2`, { timeoutMs: 5000 });
          if (page.status !== 200) return;
          const reply = page.json.messages.find((m) => m.id === t.reply);
          if (reply && reply.status === 'completed') done.set(t.reply, reply.content);
        } catch {
          return;
        }
      }
    }

    const clients = chats.map((chat, w) => client(chat, w));
    await pollUntil(async () => acked.length >= 8 * chats.length, { timeoutMs: 30000, what: 'turns before the kill' });
    await sleep(Math.floor(Math.random() * 40)); // any moment: in a commit, a stream or between turns
    await srv.kill9();
    await withTimeout(Promise.all(clients), 20000, 'clients to notice the kill');
    await srv.restart();
    assert.deepEqual(surprises, [], 'before the kill every turn was accepted and completed');

    for (const chat of chats) {
      const msgs = await fast.api.allMessages(chat.id);
      assert.ok(msgs.length < 200, 'the whole chat fits one page (the check sees every message)');
      const byId = new Map(msgs.map((m) => [m.id, m]));
      for (const t of acked.filter((x) => x.chat === chat.id)) {
        const m = byId.get(t.message);
        assert.ok(m, `acknowledged message ${t.message} (${t.key}) survived kill -9`);
        assert.equal(m.content, t.content);
        const reply = byId.get(t.reply);
        assert.ok(reply, `reply ${t.reply} of ${t.key} survived`);
        assert.ok(['completed', 'interrupted'].includes(reply.status), `reply ${t.reply} is ${reply.status}`);
        if (done.has(t.reply)) {
          assert.equal(reply.status, 'completed', `finished reply ${t.reply} stays completed`);
          assert.equal(reply.content, done.get(t.reply), `finished reply ${t.reply} keeps its text`);
        }
      }
      assert.ok(!msgs.some((m) => m.status === 'streaming'), 'no reply is left streaming');
      assert.equal((await fast.api.getChat(chat.id)).generation, null, 'nothing runs after the restart');
    }

    // The idempotency keys were stored with their turns: a retry after the crash creates nothing.
    for (const chat of chats) {
      const last = acked.filter((x) => x.chat === chat.id).at(-1);
      if (!last) continue;
      const retry = await fast.api.post(`/api/chats/${chat.id}/messages`, { content: last.content }, { headers: { 'Idempotency-Key': last.key } });
      assert.equal(retry.status, 202, `retry of ${last.key}: ${retry.text.slice(0, 200)}`);
      assert.equal(retry.headers.get('idempotent-replayed'), 'true');
      assert.equal(retry.json.message.id, last.message);
    }
    // And every chat takes new turns.
    await Promise.all(chats.map(async (chat) => {
      const t = await fast.api.turn(chat.id, 'after the crash');
      assert.equal(t.generation.status, 'completed');
    }));
  });
});
