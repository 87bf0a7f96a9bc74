// Characters CRUD, list/search/pagination, cascade delete; personas CRUD and the default flag.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, expectStatus } from './lib/client.mjs';
import { useServer, sampleCharacter, isId } from './lib/fixtures.mjs';

const T = { timeout: 30000 };
const ctx = useServer({ name: 'characters' });

const FULL = {
  name: 'Mira',
  description: 'An alchemist.',
  personality: 'curious, blunt',
  scenario: 'A cluttered lab.',
  first_mes: 'Mind the fumes.',
  mes_example: '<START>\n{{user}}: What is that?\n{{char}}: Trouble.',
  creator_notes: 'notes',
  system_prompt: 'Stay in character.',
  post_history_instructions: 'Be brief.',
  alternate_greetings: ['Oh, a visitor.'],
  tags: ['alchemy'],
  creator: 'tester',
  character_version: '1.2',
  extensions: { test_ext: { depth: 4, list: [1, 'two'] } },
};

describe('characters', () => {
  test('create, get, update, delete', T, async () => {
    const api = ctx.api;
    const c = await api.createCharacter(FULL);
    assert.ok(isId(c.id));
    for (const [k, v] of Object.entries(FULL)) assert.deepEqual(c[k], v, `field ${k}`);
    assert.equal(typeof c.has_avatar, 'boolean');
    assert.ok(Number.isInteger(c.created_at) && Number.isInteger(c.updated_at));

    const got = expectStatus(await api.get(`/api/characters/${c.id}`), 200);
    assert.deepEqual(got, c);

    const upd = expectStatus(await api.put(`/api/characters/${c.id}`, { description: 'A retired alchemist.', tags: ['x', 'y'] }), 200);
    assert.equal(upd.description, 'A retired alchemist.');
    assert.deepEqual(upd.tags, ['x', 'y']);
    assert.equal(upd.name, 'Mira', 'fields not in the PUT stay');
    assert.equal(upd.scenario, FULL.scenario);
    assert.deepEqual(upd.extensions, FULL.extensions);
    assert.ok(upd.updated_at >= c.updated_at);
    assert.deepEqual(expectStatus(await api.get(`/api/characters/${c.id}`), 200), upd);

    const del = await api.del(`/api/characters/${c.id}`);
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    expectError(await api.get(`/api/characters/${c.id}`), 404, 'not_found');
    expectError(await api.put(`/api/characters/${c.id}`, { name: 'z' }), 404, 'not_found');
    expectError(await api.del(`/api/characters/${c.id}`), 404, 'not_found');
  });

  test('name is required', T, async () => {
    expectError(await ctx.api.post('/api/characters', { description: 'nameless' }), 400, 'bad_request');
  });

  test('list is ordered by id with after/limit pagination and case-insensitive name search', T, async () => {
    const api = ctx.api;
    const tag = `P${Date.now() % 100000}`;
    const created = [];
    for (let i = 0; i < 5; i++) created.push(await api.createCharacter({ name: `${tag} Alpha ${i}` }));
    for (let i = 0; i < 2; i++) created.push(await api.createCharacter({ name: `${tag} Beta ${i}` }));

    const pages = [];
    let after = null;
    for (let guard = 0; guard < 50; guard++) {
      const q = new URLSearchParams({ search: tag, limit: '2' });
      if (after !== null) q.set('after', String(after));
      const page = expectStatus(await api.get(`/api/characters?${q}`), 200);
      assert.ok(page.characters.length <= 2);
      pages.push(page.characters);
      if (page.next_after === null) break;
      assert.equal(page.next_after, page.characters.at(-1).id, 'next_after is the last id of the page');
      after = page.next_after;
    }
    const ids = pages.flat().map((c) => c.id);
    assert.deepEqual(ids, created.map((c) => c.id), 'pages cover every match once, in id order');

    const alpha = expectStatus(await api.get(`/api/characters?search=${encodeURIComponent(`${tag.toLowerCase()} ALPHA`)}`), 200);
    assert.deepEqual(alpha.characters.map((c) => c.id), created.slice(0, 5).map((c) => c.id));
    assert.equal(alpha.next_after, null);

    const none = expectStatus(await api.get('/api/characters?search=zz-no-such-name-zz'), 200);
    assert.deepEqual(none.characters, []);
    assert.equal(none.next_after, null);

    const all = expectStatus(await api.get('/api/characters'), 200);
    const allIds = all.characters.map((c) => c.id);
    assert.deepEqual([...allIds].sort((a, b) => a - b), allIds, 'ordered by id');
    for (const c of created) assert.ok(allIds.includes(c.id));
  });

  test('deleting a character deletes its chats', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    assert.equal((await ctx.api.del(`/api/characters/${c.id}`)).status, 204);
    expectError(await ctx.api.get(`/api/chats/${chat.id}`), 404, 'not_found');
    expectError(await ctx.api.get(`/api/chats/${chat.id}/messages`), 404, 'not_found');
    const list = expectStatus(await ctx.api.get('/api/chats?limit=200'), 200);
    assert.ok(!list.chats.some((x) => x.id === chat.id));
  });

  test('avatar of a character without an image is a placeholder PNG', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const res = await ctx.api.get(`/api/characters/${c.id}/avatar`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /image\/png/);
    assert.deepEqual([...res.buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });
});

describe('personas', () => {
  test('create, get, list, update, delete', T, async () => {
    const api = ctx.api;
    const p = await api.createPersona({ name: 'Sam', description: 'A blacksmith apprentice.' });
    assert.ok(isId(p.id));
    assert.equal(p.name, 'Sam');
    assert.equal(p.description, 'A blacksmith apprentice.');
    assert.equal(typeof p.is_default, 'boolean');
    assert.deepEqual(expectStatus(await api.get(`/api/personas/${p.id}`), 200), p);
    const list = expectStatus(await api.get('/api/personas'), 200);
    assert.ok(list.personas.some((x) => x.id === p.id));

    const upd = expectStatus(await api.put(`/api/personas/${p.id}`, { description: 'A master smith.' }), 200);
    assert.equal(upd.description, 'A master smith.');
    assert.equal(upd.name, 'Sam');

    assert.equal((await api.del(`/api/personas/${p.id}`)).status, 204);
    expectError(await api.get(`/api/personas/${p.id}`), 404, 'not_found');
    expectError(await api.put(`/api/personas/${p.id}`, { name: 'x' }), 404, 'not_found');
    expectError(await api.del(`/api/personas/${p.id}`), 404, 'not_found');
    expectError(await api.post('/api/personas', { description: 'no name' }), 400, 'bad_request');
  });

  test('exactly one default persona, switched with is_default', T, async () => {
    const api = ctx.api;
    const a = await api.createPersona({ name: 'Default A', description: 'a' });
    const b = await api.createPersona({ name: 'Default B', description: 'b' });
    const defaults = async () => expectStatus(await api.get('/api/personas'), 200).personas.filter((p) => p.is_default).map((p) => p.id);

    const pa = expectStatus(await api.put(`/api/personas/${a.id}`, { is_default: true }), 200);
    assert.equal(pa.is_default, true);
    assert.deepEqual(await defaults(), [a.id]);

    const pb = expectStatus(await api.put(`/api/personas/${b.id}`, { is_default: true }), 200);
    assert.equal(pb.is_default, true);
    assert.deepEqual(await defaults(), [b.id], 'setting a new default clears the old one');
    assert.equal(expectStatus(await api.get(`/api/personas/${a.id}`), 200).is_default, false);

    // A chat may name a persona explicitly.
    const c = await api.createCharacter(sampleCharacter());
    const chat = await api.createChat(c.id, { persona_id: a.id, title: 'With A' });
    assert.equal(chat.persona_id, a.id);
    assert.equal(chat.title, 'With A');
  });
});
