// Character memory through the real server: a fact told 200 messages earlier is recalled by the
// character (the simulator quotes the memory it was given), the memories endpoint ranks it first
// with its score parts and in-window flag, a generation reports what it used, vector search that
// misses its deadline falls back to keyword search (marked), and other users get 404.
// With the GloVe file present (scripts/prepare-glove) retrieval must be "vector"; without it the
// server runs keyword-only and the same recall must still work.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Api, expectError, expectStatus } from './lib/client.mjs';
import { useServer, sampleCharacter } from './lib/fixtures.mjs';

const T = { timeout: 300000 };
const HERE = path.dirname(fileURLToPath(import.meta.url));
const GLOVE = path.resolve(HERE, '../../build/glove/glove-6b-100d.tvec');
const gloveAvailable = fs.existsSync(GLOVE);
const expectedMode = gloveAvailable ? 'vector' : 'keyword';

const FAST = {
  'llm.sim_first_token_ms': 0,
  'llm.sim_token_delay_ms': 0,
  'llm.sim_reply_tokens': 24,
  // A small window: 200 messages back is far outside it.
  'llm.context_size': 1024,
  'memory.cache_ttl_ms': 0,
};
const ctx = useServer({ name: 'memory', settings: FAST });
const slow = useServer({ name: 'memory-deadline', settings: { ...FAST, 'memory.search_timeout_ms': 0 } });

const FACT = 'Remember this: my sister Ines keeps honeybees on a rooftop in Lisbon.';
const QUESTION = 'Where does my sister keep her honeybees?';
const TOPICS = ['weather', 'tavern', 'music', 'horses', 'bread', 'rivers', 'lanterns', 'chess',
  'boots', 'maps', 'candles', 'songs', 'stars', 'roads', 'market', 'harbor', 'forest', 'winter'];

async function memories(api, chatId, query, limit = 5) {
  return api.get(`/api/chats/${chatId}/memories?query=${encodeURIComponent(query)}&limit=${limit}`);
}

describe('character memory', () => {
  test('recalls a fact from 200 messages earlier', T, async () => {
    const api = ctx.api;
    const character = await api.createCharacter(sampleCharacter());
    const chat = await api.createChat(character.id);
    const told = await api.turn(chat.id, FACT);
    for (let i = 0; i < 100; i++) {
      const a = TOPICS[i % TOPICS.length];
      const b = TOPICS[(i * 7 + 3) % TOPICS.length];
      await api.turn(chat.id, `Tell me more about the ${a} and the ${b}, round ${i}.`);
    }
    const msgs = await api.allMessages(chat.id);
    const factIndex = msgs.findIndex((m) => m.id === told.message.id);
    assert.ok(factIndex === -1 || msgs.length - factIndex > 200, 'the fact is 200+ messages back');

    const asked = await api.turn(chat.id, QUESTION);
    assert.equal(asked.generation.status, 'completed');
    assert.equal(asked.generation.retrieval_mode, expectedMode);
    assert.ok(Array.isArray(asked.generation.memory_ids) && asked.generation.memory_ids.length > 0);

    const raw = await memories(api, chat.id, QUESTION);
    const res = expectStatus(raw, 200);
    assert.equal(res.retrieval_mode, expectedMode);
    assert.equal(res.memories.length, 5);
    // The question itself is in the window (flagged); the best memory a turn may use is the fact.
    assert.equal(res.memories[0].message_id, asked.message.id);
    assert.equal(res.memories[0].in_window, true);
    const top = res.memories.find((m) => !m.in_window);
    assert.equal(top.message_id, told.message.id, JSON.stringify(res.memories.slice(0, 3)));
    assert.equal(top.speaker, 'user');
    assert.equal(top.text, FACT);
    assert.equal(top.in_window, false);
    for (const k of ['relevance', 'recency', 'importance', 'score']) {
      assert.equal(typeof top[k], 'number', k);
      assert.ok(top[k] >= 0, k);
    }
    // Default weights: relevance 1.0, recency 0.3, importance 0.2.
    assert.ok(Math.abs(top.score - (top.relevance + 0.3 * top.recency + 0.2 * top.importance)) < 1e-6);
    for (let i = 1; i < res.memories.length; i++) assert.ok(res.memories[i - 1].score >= res.memories[i].score);
    const all = expectStatus(await memories(api, chat.id, QUESTION, 200), 200).memories;
    const used = asked.generation.memory_ids.map((id) => all.find((m) => m.id === id)?.text ?? id);
    assert.ok(asked.generation.memory_ids.includes(top.id), `the turn used the fact, not ${JSON.stringify(used)}`);
    const reply = (await api.allMessages(chat.id)).at(-1);
    assert.equal(reply.id, asked.reply.id);
    assert.match(reply.content, /I remember you said: .*Lisbon/, reply.content);
    // The recall line is not stored again as a memory of the reply: the reply's memory leaves the
    // quote out, so the fact stays one memory (the user's) and the space is not polluted.
    const lisbon = expectStatus(await memories(api, chat.id, 'Lisbon rooftop honeybees sister Ines', 200), 200).memories;
    assert.ok(!lisbon.some((m) => /I remember/.test(m.text)), JSON.stringify(lisbon.filter((m) => /I remember/.test(m.text))));
    assert.equal(lisbon.filter((m) => m.text.includes('honeybees on a rooftop')).length, 1);
    const replyMemory = lisbon.find((m) => m.message_id === reply.id);
    if (replyMemory) assert.ok(!replyMemory.text.includes('Lisbon'), replyMemory.text);

    // The newest messages are in the window: a listing flags them.
    const recent = expectStatus(await memories(api, chat.id, 'round 99 tavern weather music', 50), 200);
    assert.ok(recent.memories.some((m) => m.in_window), 'recent messages are flagged in_window');
    if (expectedMode === 'keyword') assert.equal(raw.headers.get('x-query-mode'), 'fallback');
    else assert.equal(raw.headers.get('x-query-mode'), null);

    // Editing the fact updates its memory; deleting it removes it.
    expectStatus(await api.put(`/api/messages/${told.message.id}`, { content: 'My brother Rui sails to Porto.' }), 200);
    const edited = expectStatus(await memories(api, chat.id, 'brother Rui sails Porto'), 200);
    const e = edited.memories.find((m) => m.message_id === told.message.id);
    assert.ok(e, 'the edited memory is found by its new words');
    assert.equal(e.text, 'My brother Rui sails to Porto.');
    assert.ok(!edited.memories.some((m) => m.text === FACT), 'the old text is gone');
  });

  test('a missed search deadline falls back to keyword search, marked', T, async () => {
    const api = slow.api;
    const character = await api.createCharacter(sampleCharacter());
    const chat = await api.createChat(character.id);
    const told = await api.turn(chat.id, FACT);
    for (let i = 0; i < 10; i++) await api.turn(chat.id, `Talk about the ${TOPICS[i]} for a while.`);
    const asked = await api.turn(chat.id, QUESTION);
    assert.equal(asked.generation.retrieval_mode, 'keyword');
    const raw = await memories(api, chat.id, QUESTION);
    const res = expectStatus(raw, 200);
    assert.equal(res.retrieval_mode, 'keyword');
    assert.equal(raw.headers.get('x-query-mode'), 'fallback');
    assert.equal(res.memories.find((m) => !m.in_window).message_id, told.message.id);
  });

  test('memories of another user\'s chat are 404; bad queries are 400', T, async () => {
    const api = ctx.api;
    const character = await api.createCharacter(sampleCharacter());
    const chat = await api.createChat(character.id);
    await api.turn(chat.id, FACT);
    const other = new Api(ctx.server, await ctx.server.addUser('mallory'));
    expectError(await memories(other, chat.id, 'sister'), 404, 'not_found');
    expectError(await memories(api, 99999999, 'sister'), 404, 'not_found');
    expectError(await api.get(`/api/chats/${chat.id}/memories`), 400, 'bad_request');
    expectError(await memories(api, chat.id, 'sister', 0), 400, 'bad_request');
  });
});
