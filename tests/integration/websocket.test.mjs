// WebSocket protocol: auth, subscribe/subscribed, a full turn, ping/pong, errors for bad frames,
// not_found for unknown and foreign chats, unsubscribe, server pings, 1009 for oversized frames.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Api, openWs, wsSubscribe } from './lib/client.mjs';
import { useServer, sampleCharacter, checkTurnEvents, isFinished } from './lib/fixtures.mjs';

const T = { timeout: 30000 };
let chat;
const ctx = useServer(
  { name: 'websocket', settings: { 'server.ws_max_message_bytes': 1024, 'server.keepalive_interval_ms': 300, 'llm.sim_reply_tokens': 10 } },
  async ({ api }) => {
    const c = await api.createCharacter(sampleCharacter());
    chat = await api.createChat(c.id);
  },
);

const isError = (m) => m.type === 'error';

describe('websocket', () => {
  test('a full turn streamed over WS', T, async () => {
    const ws = await ctx.api.ws();
    try {
      const afterSeq = (await ctx.api.getChat(chat.id)).last_seq;
      const sub = await wsSubscribe(ws, chat.id, afterSeq);
      assert.equal(sub.type, 'subscribed');
      assert.equal(sub.chat_id, chat.id);
      const posted = await ctx.api.postMessage(chat.id, 'Hi over websocket');
      const events = await ws.queue.collectUntil(isFinished(posted.generation.id), 15000, 'generation.finished');
      const { tokens, finished } = checkTurnEvents(events, posted, afterSeq);
      assert.equal(finished.generation.status, 'completed');
      assert.equal(finished.message.content, tokens);
      const msgs = await ctx.api.messages(chat.id);
      assert.equal(msgs.at(-1).content, tokens);
      assert.equal(msgs.at(-1).status, 'completed');
    } finally {
      ws.close();
    }
  });

  test('token in the query string; 401 without a token', T, async () => {
    const ws = await ctx.api.ws({ viaQuery: true });
    try {
      ws.send({ type: 'ping' });
      assert.equal((await ws.waitFor((m) => m.type === 'pong' || m.type === 'error', 3000, 'pong')).type, 'pong');
    } finally {
      ws.close();
    }
    await assert.rejects(openWs(ctx.server.wsUrl), (e) => e.status === 401);
  });

  test('ping → pong; bad frames → error and the socket stays usable', T, async () => {
    const ws = await ctx.api.ws();
    try {
      ws.send({ type: 'ping' });
      await ws.waitFor((m) => m.type === 'pong', 3000, 'pong');
      const bad = ['this is not json', '{"type":"no_such_type"}', '{"type":"subscribe"}', '{"type":"subscribe","chat_id":"abc"}', '[1,2,3]', '{"chat_id":1}'];
      for (const frame of bad) {
        ws.sendRaw(frame);
        const err = await ws.waitFor((m) => m.type === 'error' || m.type === 'subscribed', 3000, `error for ${frame}`);
        assert.equal(err.type, 'error', `frame ${frame} must be rejected`);
        assert.equal(typeof err.code, 'string');
        assert.equal(typeof err.message, 'string');
      }
      ws.send({ type: 'ping' });
      await ws.waitFor((m) => m.type === 'pong', 3000, 'pong after errors');
      assert.equal(ws.closeInfo, null, 'bad frames do not close the socket');
    } finally {
      ws.close();
    }
  });

  test('subscribing to an unknown or foreign chat → not_found', T, async () => {
    const other = new Api(ctx.server, await ctx.server.addUser('ws-other'));
    const ws = await other.ws();
    try {
      const r1 = await wsSubscribe(ws, 99999999, 0);
      assert.equal(r1.type, 'error');
      assert.equal(r1.code, 'not_found');
      const r2 = await wsSubscribe(ws, chat.id, 0);
      assert.equal(r2.type, 'error');
      assert.equal(r2.code, 'not_found');
      // No events of the foreign chat leak afterwards.
      const posted = await ctx.api.postMessage(chat.id, 'private words');
      await ctx.api.waitGeneration(posted.generation.id);
      const leaked = (await ws.queue.idle(300)).filter((m) => m.chat_id === chat.id);
      assert.deepEqual(leaked, []);
    } finally {
      ws.close();
    }
  });

  test('unsubscribe stops the events; two subscribers see the same stream', T, async () => {
    const a = await ctx.api.ws();
    const b = await ctx.api.ws();
    try {
      const afterSeq = (await ctx.api.getChat(chat.id)).last_seq;
      await wsSubscribe(a, chat.id, afterSeq);
      await wsSubscribe(b, chat.id, afterSeq);
      const posted = await ctx.api.postMessage(chat.id, 'for both of you');
      const ea = await a.queue.collectUntil(isFinished(posted.generation.id), 15000);
      const eb = await b.queue.collectUntil(isFinished(posted.generation.id), 15000);
      assert.deepEqual(ea, eb);

      b.send({ type: 'unsubscribe', chat_id: chat.id });
      const unsub = await b.waitFor((m) => m.type === 'unsubscribed' || isError(m), 3000, 'unsubscribed');
      assert.equal(unsub.type, 'unsubscribed');
      assert.equal(unsub.chat_id, chat.id);
      const p2 = await ctx.api.postMessage(chat.id, 'only a hears this');
      await a.queue.collectUntil(isFinished(p2.generation.id), 15000);
      const late = (await b.queue.idle(200)).filter((m) => m.chat_id === chat.id);
      assert.deepEqual(late, [], 'no events after unsubscribed');
    } finally {
      a.close();
      b.close();
    }
  });

  test('the server pings every keepalive_interval_ms', T, async () => {
    const ws = await ctx.api.ws();
    try {
      const t0 = Date.now();
      while (ws.pings === 0 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 50));
      assert.ok(ws.pings >= 1, 'at least one ping within 3 s at a 300 ms interval');
    } finally {
      ws.close();
    }
  });

  test('a frame over ws_max_message_bytes closes with 1009', T, async () => {
    const ws = await ctx.api.ws();
    try {
      ws.send({ type: 'ping', pad: 'x'.repeat(4096) });
      const info = await Promise.race([ws.closed, new Promise((r) => setTimeout(() => r(null), 5000))]);
      assert.ok(info, 'socket closed within 5 s');
      assert.equal(info.code, 1009);
    } finally {
      ws.close();
    }
  });
});
