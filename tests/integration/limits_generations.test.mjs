// Fairness limits: concurrent generations per user (429 + Retry-After, nothing stored).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, sampleCharacter } from './lib/fixtures.mjs';

const T = { timeout: 60000 };
const ctx = useServer({ settings: { 'limits.user_generations': 2, 'llm.sim_token_delay_ms': 200 } });

describe('per-user generation limit', () => {
  test('concurrent generations per user: the third running one gets 429', T, async () => {
    const token = await ctx.server.addUser('gen-user');
    const api = ctx.api.withToken(token);
    const c = await api.createCharacter(sampleCharacter());
    const chats = [];
    for (let i = 0; i < 3; i++) chats.push(await api.createChat(c.id));
    const a = await api.postMessage(chats[0].id, 'one');
    const b = await api.postMessage(chats[1].id, 'two');
    const third = await api.post(`/api/chats/${chats[2].id}/messages`, { content: 'three' });
    assert.equal(third.status, 429);
    assert.equal(third.json.error.code, 'rate_limited');
    assert.ok(third.headers.get('retry-after'));
    // Nothing was stored for the refused turn.
    const msgs = await api.allMessages(chats[2].id);
    assert.ok(msgs.every((m) => m.role !== 'user'));
    await api.post(`/api/generations/${a.generation.id}/stop`, {});
    await api.waitGeneration(a.generation.id);
    assert.equal((await api.post(`/api/chats/${chats[2].id}/messages`, { content: 'three' })).status, 202);
    await api.post(`/api/generations/${b.generation.id}/stop`, {});
  });
});
