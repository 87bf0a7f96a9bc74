// Durability across restarts: graceful SIGTERM during a slow generation, kill -9 during a slow
// generation, acknowledged messages survive, seq keeps increasing after a restart.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { wsSubscribe } from './lib/client.mjs';
import { useServer, sampleCharacter, tokenText, isFinished } from './lib/fixtures.mjs';
import { withTimeout } from './lib/util.mjs';

const T = { timeout: 60000 };
// [sim:slow] streams 200 ms per token: 30 tokens ≈ 6 s, so a stop always lands mid-stream.
const ctx = useServer({
  name: 'restart',
  settings: { 'llm.sim_reply_tokens': 30, 'generation.flush_interval_ms': 100, 'server.shutdown_grace_ms': 1000 },
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
