// Deleting a user (admin only): every resource of theirs goes (store rows, memory spaces, indexes
// and caches), their tokens answer 401 at once, a running generation of theirs is stopped, and a new
// user chatting with the same character remembers nothing of the old one.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Api, expectError, expectStatus } from './lib/client.mjs';
import { useServer, sampleCharacter } from './lib/fixtures.mjs';
import { TROUPE_BIN } from './lib/server.mjs';

const T = { timeout: 120000 };
const ctx = useServer({
  name: 'users',
  settings: {
    'llm.sim_first_token_ms': 0,
    'llm.sim_token_delay_ms': 0,
    'llm.sim_reply_tokens': 16,
    'memory.cache_ttl_ms': 60000, // cached results must be dropped by the delete, not expire
  },
});

const FACT = 'My grandmother Odile grows purple tomatoes beside the lighthouse.';
const QUESTION = 'What does my grandmother grow beside the lighthouse?';

// Reads the SQLite store directly (read-only) to prove rows are gone.
function sql(query) {
  const db = path.join(ctx.server.dataDir, 'troupe.db');
  return execFileSync('sqlite3', ['-readonly', db, query], { encoding: 'utf8' }).trim();
}
const count = (query) => Number(sql(query));
const userId = (name) => Number(sql(`SELECT id FROM users WHERE name = '${name}'`));

async function memoryTexts(api, chatId, query) {
  const r = expectStatus(await api.get(`/api/chats/${chatId}/memories?query=${encodeURIComponent(query)}&limit=50`), 200);
  return r.memories.map((m) => m.text);
}

describe('DELETE /api/users/{id}', () => {
  test('removes the user and everything of theirs; tokens answer 401 at once', T, async () => {
    const doomed = new Api(ctx.server, await ctx.server.addUser('doomed'));
    const other = new Api(ctx.server, await ctx.server.addUser('bystander'));
    const card = sampleCharacter({ name: 'Keeper of the Light' });
    const ch = await doomed.createCharacter(card);
    await doomed.createPersona({ name: 'Dee', description: 'soon gone' });
    const chat = await doomed.createChat(ch.id);
    await doomed.turn(chat.id, FACT);
    await doomed.turn(chat.id, 'Tell me about the sea.');
    assert.ok((await memoryTexts(doomed, chat.id, QUESTION)).some((t) => t.includes('purple tomatoes')),
      'the fact is remembered before the delete');
    // A second chat with a generation still running when the user is deleted.
    const busy = await doomed.createChat(ch.id);
    const running = await doomed.postMessage(busy.id, 'Talk slowly [sim:slow]');
    const id = userId('doomed');
    assert.ok(id > 0);
    const chatIds = sql(`SELECT id FROM chats WHERE user_id = ${id}`).split('\n').join(',');

    // Only an administrator may delete; a bystander gets 403 and nothing changes.
    expectError(await other.del(`/api/users/${id}`), 403, 'forbidden');
    expectError(await doomed.del(`/api/users/${id}`), 403, 'forbidden');
    expectStatus(await doomed.get(`/api/characters/${ch.id}`), 200);

    const res = await ctx.api.del(`/api/users/${id}`, { timeoutMs: 30000 });
    assert.equal(res.status, 204, res.text);

    // Tokens of the deleted user answer 401 at once (no cache window).
    expectError(await doomed.get('/api/characters'), 401, 'unauthorized');
    expectError(await doomed.get(`/api/chats/${chat.id}`), 401, 'unauthorized');
    // The running generation was stopped, not left writing to deleted rows.
    assert.equal(count(`SELECT COUNT(*) FROM generations WHERE id = ${running.generation.id}`), 0);

    // Store rows are gone.
    assert.equal(count(`SELECT COUNT(*) FROM users WHERE id = ${id}`), 0);
    for (const table of ['tokens', 'characters', 'personas', 'chats', 'memories']) {
      assert.equal(count(`SELECT COUNT(*) FROM ${table} WHERE user_id = ${id}`), 0, `${table} rows left`);
    }
    for (const table of ['messages', 'generations', 'idempotency']) {
      assert.equal(count(`SELECT COUNT(*) FROM ${table} WHERE chat_id IN (${chatIds})`), 0, `${table} rows left`);
    }
    assert.equal(count("SELECT COUNT(*) FROM memories WHERE text LIKE '%purple tomatoes%'"), 0);

    // A new user with the same character remembers nothing of the old one.
    const heir = new Api(ctx.server, await ctx.server.addUser('heir'));
    const ch2 = await heir.createCharacter(card);
    const chat2 = await heir.createChat(ch2.id);
    await heir.turn(chat2.id, 'Hello there, keeper.');
    const texts = await memoryTexts(heir, chat2.id, QUESTION);
    assert.ok(!texts.some((t) => t.includes('purple tomatoes') || t.includes('the sea')), JSON.stringify(texts));
    const reply = (await heir.messages(chat2.id)).at(-1);
    assert.ok(!reply.content.includes('purple tomatoes'), reply.content);

    // The bystander is untouched; the id is gone now.
    expectStatus(await other.get('/api/characters'), 200);
    expectError(await ctx.api.del(`/api/users/${id}`), 404, 'not_found');
  });

  test('errors: unknown id 404, deleting oneself 400, non-admin 403', T, async () => {
    expectError(await ctx.api.del('/api/users/99999999'), 404, 'not_found');
    const adminId = userId('admin');
    expectError(await ctx.api.del(`/api/users/${adminId}`), 400, 'bad_request');
    const plain = new Api(ctx.server, await ctx.server.addUser('plain'));
    expectError(await plain.del('/api/users/99999999'), 403, 'forbidden');
    expectError(await plain.del(`/api/users/${adminId}`), 403, 'forbidden');
    expectStatus(await ctx.api.get('/api/characters'), 200);
  });

  test('troupe user delete NAME removes the user from the command line', T, async () => {
    const token = await ctx.server.addUser('cli-doomed');
    const id = userId('cli-doomed');
    const out = execFileSync(TROUPE_BIN, ['user', 'delete', 'cli-doomed', '--data', ctx.server.dataDir], { encoding: 'utf8' });
    assert.match(out, /deleted user cli-doomed/);
    assert.equal(count(`SELECT COUNT(*) FROM users WHERE id = ${id}`), 0);
    assert.equal(count(`SELECT COUNT(*) FROM tokens WHERE user_id = ${id}`), 0);
    expectError(await new Api(ctx.server, token).get('/api/characters'), 401, 'unauthorized');
    assert.throws(() => execFileSync(TROUPE_BIN, ['user', 'delete', 'cli-doomed', '--data', ctx.server.dataDir], { stdio: 'pipe' }));
  });
});
