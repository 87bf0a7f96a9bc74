// The OpenAI-compatible backend against a scripted fake upstream: successful stream and the prompt
// it was built from, error chunk, garbage, dropped connection, stalls (first-token and idle
// timeouts), HTTP 500, retries before the first token, and stop closing the upstream request.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { expectStatus } from './lib/client.mjs';
import { useServer, isFinished, tokenText } from './lib/fixtures.mjs';
import { startFakeUpstream, modes, chunkTexts } from './lib/fake_upstream.mjs';

const T = { timeout: 30000 };
const up = await startFakeUpstream();
after(() => up.close());

const ctx = useServer({
  name: 'openai',
  settings: {
    'llm.backend': 'openai',
    'llm.base_url': up.baseUrl,
    'llm.model': 'fake-model',
    'llm.api_key': 'sk-fake-key',
    'llm.retries': 0,
    'llm.first_token_timeout_ms': 800,
    'llm.idle_timeout_ms': 800,
  },
});

const CARD = {
  name: 'Aria',
  description: '{{char}} guards the northern gate for {{user}}.',
  personality: 'stern but kind',
  scenario: "Winter at {{char}}'s post.",
  first_mes: 'State your business.',
  mes_example: '<START>\n{{user}}: May I pass?\n{{char}}: Who goes there, {{user}}?',
};

let seq = 0;
async function newChat() {
  const c = await ctx.api.createCharacter({ ...CARD });
  const p = await ctx.api.createPersona({ name: `Sam`, description: 'Sam is a travelling blacksmith.' });
  return { character: c, persona: p, chat: await ctx.api.createChat(c.id, { persona_id: p.id, title: `upstream ${++seq}` }) };
}

// Posts a message with `mode` scripted for the next upstream request; waits for the end.
async function turnWith(mode, content = 'Let me through.') {
  const { chat } = await newChat();
  const before = up.completions.length;
  up.enqueue(mode);
  const posted = await ctx.api.postMessage(chat.id, content);
  assert.equal(posted.generation.backend, 'openai');
  const gen = await ctx.api.waitGeneration(posted.generation.id, { timeoutMs: 15000 });
  const reply = (await ctx.api.messages(chat.id)).find((m) => m.id === posted.reply.id);
  return { chat, posted, gen, reply, request: up.completions[before] };
}

describe('openai backend', () => {
  test('successful stream; the upstream request carries the built prompt', T, async () => {
    const { gen, reply, request } = await turnWith(modes.stream(6, 10));
    assert.equal(gen.status, 'completed');
    assert.equal(gen.backend, 'openai');
    assert.equal(reply.status, 'completed');
    assert.equal(reply.content, chunkTexts(6).join(''));

    assert.ok(request, 'the upstream was called');
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/v1/chat/completions');
    assert.equal(request.headers.authorization, 'Bearer sk-fake-key');
    const body = request.body;
    assert.equal(body.model, 'fake-model');
    assert.equal(body.stream, true);
    assert.ok(Array.isArray(body.messages) && body.messages.length >= 2);
    const system = body.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
    assert.ok(system.includes('Aria guards the northern gate for Sam.'), `system prompt has the card description with macros replaced: ${system}`);
    assert.ok(system.includes('Sam is a travelling blacksmith.'), `system prompt has the persona: ${system}`);
    const all = JSON.stringify(body.messages);
    assert.ok(!all.includes('{{char}}') && !all.includes('{{user}}'), `no raw macros left: ${all}`);
    assert.ok(all.includes('Who goes there, Sam?'), `example dialogue included with macros replaced: ${all}`);
    assert.ok(all.includes('stern but kind'), 'personality included');
    assert.ok(all.includes('State your business.'), 'the greeting is part of the history');
    const last = body.messages.at(-1);
    assert.equal(last.role, 'user');
    assert.ok(String(last.content).includes('Let me through.'));
  });

  test('events stream the upstream chunks as tokens', T, async () => {
    const { chat } = await newChat();
    const afterSeq = (await ctx.api.getChat(chat.id)).last_seq;
    const sse = await ctx.api.sse(chat.id, { afterSeq });
    try {
      up.enqueue(modes.stream(5, 20));
      const posted = await ctx.api.postMessage(chat.id, 'Stream it.');
      const events = (await sse.events.collectUntil((e) => isFinished(posted.generation.id)(e.json ?? {}), 15000)).map((e) => e.json);
      assert.equal(tokenText(events, posted.generation.id), chunkTexts(5).join(''));
      assert.equal(events.at(-1).generation.status, 'completed');
    } finally {
      sse.close();
    }
  });

  test('error chunk → failed with the upstream error, partial text kept', T, async () => {
    const { gen, reply } = await turnWith(modes.errorChunk(2, 'model overloaded'));
    assert.equal(gen.status, 'failed');
    assert.match(gen.error, /model overloaded/);
    assert.equal(reply.status, 'failed');
    assert.equal(reply.content, chunkTexts(2).join(''));
  });

  test('garbage → failed', T, async () => {
    const { gen, reply } = await turnWith(modes.garbage(1));
    assert.equal(gen.status, 'failed');
    assert.ok(gen.error.length > 0, 'an error is reported');
    assert.equal(reply.status, 'failed');
  });

  test('connection dropped mid-stream → failed, partial text kept', T, async () => {
    const { gen, reply } = await turnWith(modes.drop(3));
    assert.equal(gen.status, 'failed');
    assert.ok(gen.error.length > 0);
    assert.equal(reply.status, 'failed');
    assert.equal(reply.content, chunkTexts(3).join(''));
  });

  test('HTTP 500 → failed', T, async () => {
    const { gen, reply } = await turnWith(modes.http(500));
    assert.equal(gen.status, 'failed');
    assert.ok(gen.error.length > 0);
    assert.equal(reply.status, 'failed');
  });

  test('stall before the first token → failed by first_token_timeout_ms', T, async () => {
    const t0 = Date.now();
    const { gen, reply, request } = await turnWith(modes.stallFirst(30000));
    assert.equal(gen.status, 'failed');
    assert.match(gen.error, /time/i);
    assert.equal(reply.status, 'failed');
    assert.ok(Date.now() - t0 < 6000, `timed out promptly (${Date.now() - t0} ms)`);
    await up.waitForClose(request, 2000);
  });

  test('stall mid-stream → failed by idle_timeout_ms, partial text kept', T, async () => {
    const { gen, reply, request } = await turnWith(modes.stallMid(3));
    assert.equal(gen.status, 'failed');
    assert.match(gen.error, /time/i);
    assert.equal(reply.content, chunkTexts(3).join(''));
    await up.waitForClose(request, 2000);
  });

  test('stop during the stream closes the upstream request within 1 s', T, async () => {
    const { chat } = await newChat();
    const afterSeq = (await ctx.api.getChat(chat.id)).last_seq;
    const sse = await ctx.api.sse(chat.id, { afterSeq });
    try {
      const before = up.completions.length;
      up.enqueue(modes.slow(60, 150));
      const posted = await ctx.api.postMessage(chat.id, 'Talk slowly.');
      let n = 0;
      await sse.events.waitFor((e) => e.type === 'token' && ++n >= 2, 10000, 'two tokens');
      const request = up.completions[before];
      assert.ok(request);
      const t0 = Date.now();
      expectStatus(await ctx.api.post(`/api/generations/${posted.generation.id}/stop`, {}), 202);
      const closedAt = await up.waitForClose(request, 3000);
      assert.ok(request.clientClosed, 'the upstream response was cut short');
      assert.ok(closedAt - t0 <= 1000, `upstream closed ${closedAt - t0} ms after stop`);
      const fin = await sse.events.waitFor((e) => isFinished(posted.generation.id)(e.json ?? {}), 5000);
      assert.equal(fin.json.generation.status, 'stopped');
      const reply = (await ctx.api.messages(chat.id)).find((m) => m.id === posted.reply.id);
      assert.equal(reply.status, 'stopped');
      assert.ok(reply.content.length > 0);
      assert.ok(chunkTexts(60).join('').startsWith(reply.content));
    } finally {
      sse.close();
    }
  });
});

describe('openai backend with retries', () => {
  const retry = useServer({
    name: 'openai-retry',
    settings: { 'llm.base_url': up.baseUrl, 'llm.model': 'fake-model', 'llm.retries': 1, 'llm.first_token_timeout_ms': 2000 },
  });

  test('HTTP 500 before the first token is retried', T, async () => {
    const c = await retry.api.createCharacter({ ...CARD });
    const chat = await retry.api.createChat(c.id);
    const before = up.completions.length;
    up.enqueue(modes.http(500), modes.stream(3));
    const t = await retry.api.turn(chat.id, 'Try again', { timeoutMs: 20000 });
    assert.equal(t.generation.status, 'completed');
    assert.equal(up.completions.length - before, 2, 'one failed attempt, one retry');
    const reply = (await retry.api.messages(chat.id)).at(-1);
    assert.equal(reply.content, chunkTexts(3).join(''));
  });
});
