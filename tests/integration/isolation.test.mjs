// Cross-user isolation: user B gets 404 not_found on every route with user A's ids (exactly like an
// id that does not exist), cannot subscribe to A's chat, and A's data is unchanged afterwards.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { Api, expectError, expectStatus, openSse, wsSubscribe } from './lib/client.mjs';
import { useServer, sampleCharacter } from './lib/fixtures.mjs';

const T = { timeout: 60000 };
// Slow replies run 100 × 200 ms, so A's second chat has a generation running during the checks.
const NOPE = 99999999;
let A;
let B;
const a = {};
const ctx = useServer({ name: 'isolation', settings: { 'llm.sim_reply_tokens': 100 } }, setup);

async function snapshot() {
  const strip = (chat) => {
    const { generation, ...rest } = chat;
    return rest;
  };
  return {
    character: expectStatus(await A.get(`/api/characters/${a.character.id}`), 200),
    persona: expectStatus(await A.get(`/api/personas/${a.persona.id}`), 200),
    chat: strip(expectStatus(await A.get(`/api/chats/${a.chat.id}`), 200)),
    messages: await A.messages(a.chat.id),
    characters: expectStatus(await A.get('/api/characters'), 200),
    personas: expectStatus(await A.get('/api/personas'), 200),
    export: (await A.get(`/api/characters/${a.character.id}/export?format=json&spec=v2`)).text,
  };
}

async function setup() {
  A = new Api(ctx.server, await ctx.server.addUser('alice'));
  B = new Api(ctx.server, await ctx.server.addUser('bob'));
  a.character = await A.createCharacter(sampleCharacter({ extensions: { secret: 'alice only' } }));
  a.persona = await A.createPersona({ name: 'Alice', description: 'private persona' });
  a.chat = await A.createChat(a.character.id, { persona_id: a.persona.id });
  a.turn = await A.turn(a.chat.id, 'a private message', { timeoutMs: 30000 });
  a.msgs = await A.messages(a.chat.id);
  a.runChat = await A.createChat(a.character.id);
  a.running = await A.postMessage(a.runChat.id, 'keep talking [sim:slow]');
}

after(async () => {
  if (a.running) await A.post(`/api/generations/${a.running.generation.id}/stop`, {}).catch(() => {});
});

describe('cross-user isolation', () => {
  test('B sees 404 on every route with A ids, and A is unchanged', T, async () => {
    // The completed turn must have finished before snapshots are compared.
    const gen = a.msgs.at(-1).generation_id;
    assert.ok(gen, 'A has a finished reply');
    await A.waitGeneration(gen, { timeoutMs: 60000 });
    a.msgs = await A.messages(a.chat.id);
    const [, userMsg, reply] = a.msgs;
    const snap = await snapshot();

    const c = a.character.id;
    const p = a.persona.id;
    const ch = a.chat.id;
    const g = reply.generation_id;
    const run = a.running.generation.id;
    const routes = [
      ['GET', `/api/characters/${c}`],
      ['PUT', `/api/characters/${c}`, { name: 'stolen' }],
      ['DELETE', `/api/characters/${c}`],
      ['GET', `/api/characters/${c}/export?format=json&spec=v2`],
      ['GET', `/api/characters/${c}/export?format=png&spec=v3`],
      ['GET', `/api/characters/${c}/avatar`],
      ['GET', `/api/personas/${p}`],
      ['PUT', `/api/personas/${p}`, { description: 'stolen' }],
      ['DELETE', `/api/personas/${p}`],
      ['GET', `/api/chats/${ch}`],
      ['DELETE', `/api/chats/${ch}`],
      ['GET', `/api/chats/${ch}/messages`],
      ['GET', `/api/chats/${ch}/messages?before=${reply.id}&limit=1`],
      ['POST', `/api/chats/${ch}/messages`, { content: 'intrusion' }],
      ['POST', `/api/chats/${ch}/generations`, { kind: 'regenerate' }],
      ['POST', `/api/chats/${ch}/generations`, { kind: 'continue', message_id: reply.id }],
      ['GET', `/api/generations/${g}`],
      ['POST', `/api/generations/${g}/stop`, {}],
      ['GET', `/api/generations/${run}`],
      ['POST', `/api/generations/${run}/stop`, {}],
      ['PUT', `/api/messages/${reply.id}`, { content: 'stolen' }],
      ['PUT', `/api/messages/${userMsg.id}`, { content: 'stolen' }],
      ['DELETE', `/api/messages/${reply.id}`],
      ['DELETE', `/api/messages/${userMsg.id}`],
      ['POST', `/api/messages/${reply.id}/select`, {}],
      ['POST', `/api/messages/${reply.id}/branch`, {}],
      ['GET', `/api/messages/${reply.id}/siblings`],
      ['GET', `/api/messages/${userMsg.id}/siblings`],
    ];
    const failures = [];
    for (const [method, path, body] of routes) {
      const res = await B.req(method, path, body === undefined ? {} : { body });
      if (res.status !== 404 || res.json?.error?.code !== 'not_found') failures.push(`${method} ${path} → ${res.status} ${res.text.slice(0, 120)}`);
    }
    const sse = await openSse(`${ctx.server.baseUrl}/api/chats/${ch}/events?after_seq=0`, { token: B.token });
    if (sse.status !== 200) {
      if (sse.status !== 404 || sse.json?.error?.code !== 'not_found') failures.push(`GET events → ${sse.status}`);
    } else {
      sse.close();
      failures.push('GET events → 200 (stream opened on a foreign chat)');
    }
    const sseLast = await openSse(`${ctx.server.baseUrl}/api/chats/${ch}/events`, { token: B.token, lastEventId: 0 });
    if (sseLast.status !== 404) {
      sseLast.close();
      failures.push(`GET events (Last-Event-ID) → ${sseLast.status}`);
    }
    assert.deepEqual(failures, [], 'every foreign id answers 404 not_found');
    // Deleting users is for administrators only: any id, A's or the admin's, answers 403 to B.
    for (const id of [1, NOPE]) expectError(await B.del(`/api/users/${id}`), 403, 'forbidden');

    // Referencing A's ids in a body answers exactly like a nonexistent id.
    const same = async (path, foreign, missing) => {
      const r1 = await B.post(path, foreign);
      const r2 = await B.post(path, missing);
      assert.equal(r1.status, r2.status, `${path} ${JSON.stringify(foreign)}: ${r1.status} vs nonexistent ${r2.status}`);
      assert.equal(r1.json?.error?.code, r2.json?.error?.code);
      assert.ok(r1.status >= 400);
    };
    await same('/api/chats', { character_id: c }, { character_id: NOPE });
    const own = await B.createCharacter(sampleCharacter());
    await same('/api/chats', { character_id: own.id, persona_id: p }, { character_id: own.id, persona_id: NOPE });

    // Lists never include A's things; filtering by A's character behaves like a missing one.
    const bc = expectStatus(await B.get('/api/characters?limit=200'), 200);
    assert.ok(!bc.characters.some((x) => x.id === c));
    const bp = expectStatus(await B.get('/api/personas'), 200);
    assert.ok(!bp.personas.some((x) => x.id === p));
    const bch = await B.get(`/api/chats?character_id=${c}`);
    const bchMissing = await B.get(`/api/chats?character_id=${NOPE}`);
    assert.equal(bch.status, bchMissing.status);
    if (bch.status === 200) assert.deepEqual(bch.json.chats, []);
    const ball = expectStatus(await B.get('/api/chats?limit=200'), 200);
    assert.ok(!ball.chats.some((x) => x.id === ch || x.id === a.runChat.id));

    // WebSocket subscription to A's chats.
    const ws = await B.ws();
    try {
      for (const id of [ch, a.runChat.id]) {
        const r = await wsSubscribe(ws, id, 0);
        assert.equal(r.type, 'error');
        assert.equal(r.code, 'not_found');
      }
      const leaked = (await ws.queue.idle(400)).filter((m) => m.chat_id === a.runChat.id);
      assert.deepEqual(leaked, [], 'no events of the running foreign generation leak');
    } finally {
      ws.close();
    }

    // A's data is exactly as before; the running generation was not stopped by B.
    assert.deepEqual(await snapshot(), snap);
    assert.equal((await A.generation(run)).status, 'running');
    expectStatus(await A.post(`/api/generations/${run}/stop`, {}), 202);
    assert.equal((await A.waitGeneration(run, { timeoutMs: 5000 })).status, 'stopped');
  });

  test('A cannot reach B either (symmetry)', T, async () => {
    const bChar = await B.createCharacter(sampleCharacter());
    expectError(await A.get(`/api/characters/${bChar.id}`), 404, 'not_found');
    expectStatus(await B.get(`/api/characters/${bChar.id}`), 200);
  });
});
