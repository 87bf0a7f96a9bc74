// Character memory on two Troupe nodes sharing one real PostgreSQL (store) and one real Redis
// (bus), all started and stopped by this file on 127.0.0.1: a fact told through node A is recalled
// by a turn through node B (whose index and cache held the space before the fact was told), a
// memory deleted through node B is no longer found through node A, and the memories endpoint
// answers on both nodes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, metric } from './lib/cluster.mjs';
import { sampleCharacter } from './lib/fixtures.mjs';
import { expectStatus } from './lib/client.mjs';

const T = { timeout: 120000 };

const cluster = new Cluster({
  names: ['a', 'b'],
  prefix: 'memory-pg',
  settings: {
    'llm.sim_first_token_ms': 0,
    'llm.sim_token_delay_ms': 0,
    'llm.sim_reply_tokens': 24,
    'llm.context_size': 1024,
  },
});
const nodes = cluster.nodes; // a, b: TroupeServer
let api; // a, b: Api of alice on that node

before(async () => {
  await cluster.start();
  api = cluster.apis(await cluster.addUser('alice'));
});

after(() => cluster.teardown());

const FACT = 'Remember this: my sister Ines keeps honeybees on a rooftop in Lisbon.';
const QUESTION = 'Where does my sister keep her honeybees?';
const TOPICS = ['weather', 'tavern', 'music', 'horses', 'bread', 'rivers', 'lanterns', 'chess'];

async function memories(a, chatId, query, limit = 50) {
  return expectStatus(await a.get(`/api/chats/${chatId}/memories?query=${encodeURIComponent(query)}&limit=${limit}`), 200).memories;
}

describe('character memory on PostgreSQL across two nodes', () => {
  test('a fact told through A is recalled through B; deleted through B it is gone through A', T, async () => {
    const character = await api.a.createCharacter(sampleCharacter());
    const chat = await api.a.createChat(character.id);
    for (let i = 0; i < 6; i++) await api.a.turn(chat.id, `Tell me about the ${TOPICS[i]} today.`);
    // B loads the space (index and cached results) before the fact exists.
    const before = await memories(api.b, chat.id, QUESTION);
    assert.ok(before.length > 0 && !before.some((m) => m.text === FACT));

    const told = await api.a.turn(chat.id, FACT);
    for (let i = 0; i < 30; i++) await api.a.turn(chat.id, `More about the ${TOPICS[i % TOPICS.length]}, round ${i}.`);
    const onA = await memories(api.a, chat.id, QUESTION);
    assert.ok(onA.some((m) => m.message_id === told.message.id), 'A lists the fact');
    const onB = await memories(api.b, chat.id, QUESTION);
    assert.ok(onB.some((m) => m.message_id === told.message.id), 'B lists the fact');

    const asked = await api.b.turn(chat.id, QUESTION);
    assert.equal(asked.generation.status, 'completed');
    const reply = (await api.b.allMessages(chat.id)).find((m) => m.id === asked.reply.id);
    assert.match(reply.content, /I remember you said: .*Lisbon/, reply.content);

    // A lists the fact (its index holds it), then the message is deleted through B.
    assert.ok((await memories(api.a, chat.id, 'sister Ines honeybees Lisbon rooftop')).some((m) => m.text === FACT));
    expectStatus(await api.b.del(`/api/messages/${told.message.id}`), 204);
    const afterA = await memories(api.a, chat.id, 'sister Ines honeybees Lisbon rooftop');
    assert.ok(!afterA.some((m) => m.message_id === told.message.id), JSON.stringify(afterA.slice(0, 3)));
    const afterB = await memories(api.b, chat.id, 'sister Ines honeybees Lisbon rooftop');
    assert.ok(!afterB.some((m) => m.message_id === told.message.id));
    assert.ok(await metric(nodes.a, /^troupe_memory_invalidations_total/) > 0, 'A dropped spaces B changed');
    assert.ok(await metric(nodes.b, /^troupe_memory_invalidations_total/) > 0, 'B dropped spaces A changed');
  });
});
