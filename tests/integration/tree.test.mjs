// The message tree: regenerate (swipes), select, continue, edit, delete subtree, branch, and
// history pagination over ~120 messages.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, expectStatus } from './lib/client.mjs';
import { useServer, sampleCharacter } from './lib/fixtures.mjs';

const T = { timeout: 60000 };
const ctx = useServer({
  name: 'tree',
  settings: { 'llm.sim_reply_tokens': 4, 'llm.sim_first_token_ms': 0, 'llm.sim_token_delay_ms': 0 },
});

async function chatWithTurn() {
  const c = await ctx.api.createCharacter(sampleCharacter());
  const chat = await ctx.api.createChat(c.id);
  const t = await ctx.api.turn(chat.id, 'first question');
  return { chat, turn: t };
}

async function generate(chatId, body) {
  const res = expectStatus(await ctx.api.post(`/api/chats/${chatId}/generations`, body), 202);
  const gen = await ctx.api.waitGeneration(res.generation.id);
  return { ...res, generation: gen };
}

describe('swipes', () => {
  test('regenerate makes a new swipe; select switches the path', T, async () => {
    const { chat, turn } = await chatWithTurn();
    const r1 = (await ctx.api.messages(chat.id)).at(-1);
    assert.equal(r1.id, turn.reply.id);
    assert.equal(r1.swipe_count, 1);

    const regen = await generate(chat.id, { kind: 'regenerate' });
    assert.equal(regen.generation.kind, 'regenerate');
    assert.equal(regen.generation.status, 'completed');
    assert.notEqual(regen.reply.id, r1.id);
    assert.equal(regen.reply.parent_id, r1.parent_id, 'a swipe is a sibling');

    let msgs = await ctx.api.messages(chat.id);
    const r2 = msgs.at(-1);
    assert.equal(r2.id, regen.reply.id);
    assert.equal(r2.status, 'completed');
    assert.equal(r2.swipe_count, 2);
    assert.equal(r2.swipe_index, 1);
    assert.equal(msgs.length, 3);

    const before = (await ctx.api.getChat(chat.id)).last_seq;
    const sse = await ctx.api.sse(chat.id, { afterSeq: before });
    const sel = expectStatus(await ctx.api.post(`/api/messages/${r1.id}/select`, {}), 200);
    assert.equal(sel.id, chat.id);
    // chat.updated carries a real, resumable last_seq (not the reserved high-water mark).
    try {
      const upd = await sse.events.waitFor((e) => e.type === 'chat.updated', 5000, 'chat.updated');
      assert.equal(upd.json.chat.last_seq, upd.json.seq - 1, JSON.stringify(upd.json));
      assert.equal(upd.json.chat.last_seq, before);
      assert.equal(sel.last_seq, upd.json.seq, 'the REST answer names the latest seq');
    } finally {
      sse.close();
    }
    const resumed = await ctx.api.sse(chat.id, { afterSeq: sel.last_seq - 1 });
    try {
      const first = await resumed.events.next(5000);
      assert.equal(first.type, 'chat.updated', 'resuming from it replays the event');
    } finally {
      resumed.close();
    }
    assert.equal(sel.leaf_id, r1.id);
    msgs = await ctx.api.messages(chat.id);
    assert.equal(msgs.at(-1).id, r1.id);
    assert.equal(msgs.at(-1).swipe_index, 0);
    assert.equal(msgs.at(-1).swipe_count, 2);
    assert.equal(msgs.at(-1).content, r1.content);

    // Regenerate a named message.
    const regen2 = await generate(chat.id, { kind: 'regenerate', message_id: r1.id });
    assert.equal(regen2.reply.parent_id, r1.parent_id);
    msgs = await ctx.api.messages(chat.id);
    assert.equal(msgs.at(-1).id, regen2.reply.id);
    assert.equal(msgs.at(-1).swipe_count, 3);
    assert.equal(msgs.at(-1).swipe_index, 2);

    // The siblings route lists the swipes in order and names the selected one.
    const sib = expectStatus(await ctx.api.get(`/api/messages/${r1.id}/siblings`), 200);
    assert.deepEqual(sib.siblings, [r1.id, regen.reply.id, regen2.reply.id]);
    assert.equal(sib.count, 3);
    assert.equal(sib.parent_id, r1.parent_id);
    assert.equal(sib.selected_id, regen2.reply.id);
    assert.equal(sib.selected_index, 2);
    expectStatus(await ctx.api.post(`/api/messages/${regen.reply.id}/select`, {}), 200);
    const sib2 = expectStatus(await ctx.api.get(`/api/messages/${regen2.reply.id}/siblings`), 200);
    assert.deepEqual(sib2.siblings, sib.siblings, 'any sibling answers the same list');
    assert.equal(sib2.selected_id, regen.reply.id);
    assert.equal(sib2.selected_index, 1);
    // A user message without swipes is its own only sibling.
    const one = expectStatus(await ctx.api.get(`/api/messages/${r1.parent_id}/siblings`), 200);
    assert.deepEqual(one.siblings, [r1.parent_id]);
    assert.equal(one.count, 1);
    assert.equal(one.selected_id, r1.parent_id);
    expectError(await ctx.api.get('/api/messages/99999999/siblings'), 404, 'not_found');
  });

  test('select and regenerate of unknown ids → 404', T, async () => {
    const { chat } = await chatWithTurn();
    expectError(await ctx.api.post('/api/messages/99999999/select', {}), 404, 'not_found');
    expectError(await ctx.api.post('/api/messages/99999999/branch', {}), 404, 'not_found');
    expectError(await ctx.api.post(`/api/chats/${chat.id}/generations`, { kind: 'regenerate', message_id: 99999999 }), 404, 'not_found');
    expectError(await ctx.api.post(`/api/chats/${chat.id}/generations`, { kind: 'sideways' }), 400, 'bad_request');
  });
});

describe('continue, edit, delete, branch', () => {
  test('continue extends the last reply', T, async () => {
    const { chat, turn } = await chatWithTurn();
    const before = (await ctx.api.messages(chat.id)).at(-1);
    const cont = await generate(chat.id, { kind: 'continue' });
    assert.equal(cont.generation.kind, 'continue');
    assert.equal(cont.generation.status, 'completed');
    assert.equal(cont.reply.id, turn.reply.id, 'continue extends the same message');
    const after = (await ctx.api.messages(chat.id)).at(-1);
    assert.equal(after.id, before.id);
    assert.ok(after.content.startsWith(before.content), 'old text is kept');
    assert.ok(after.content.length > before.content.length, 'content grows');
    assert.equal(after.status, 'completed');
  });

  test('edit a message', T, async () => {
    const { chat, turn } = await chatWithTurn();
    const u = expectStatus(await ctx.api.put(`/api/messages/${turn.message.id}`, { content: 'edited question' }), 200);
    assert.equal(u.id, turn.message.id);
    assert.equal(u.content, 'edited question');
    const a = expectStatus(await ctx.api.put(`/api/messages/${turn.reply.id}`, { content: 'edited answer' }), 200);
    assert.equal(a.content, 'edited answer');
    assert.equal(a.status, 'ok');
    const msgs = await ctx.api.messages(chat.id);
    assert.deepEqual(msgs.slice(1).map((m) => m.content), ['edited question', 'edited answer']);
    expectError(await ctx.api.put(`/api/messages/${turn.message.id}`, {}), 400, 'bad_request');
    expectError(await ctx.api.put('/api/messages/99999999', { content: 'x' }), 404, 'not_found');
  });

  test('delete removes the message and everything below it', T, async () => {
    const { chat, turn } = await chatWithTurn();
    const t2 = await ctx.api.turn(chat.id, 'second question');
    await ctx.api.turn(chat.id, 'third question');
    assert.equal((await ctx.api.messages(chat.id)).length, 7);

    const del = await ctx.api.del(`/api/messages/${t2.message.id}`);
    assert.equal(del.status, 204);
    const msgs = await ctx.api.messages(chat.id);
    assert.deepEqual(msgs.map((m) => m.id).slice(-2), [turn.message.id, turn.reply.id]);
    assert.equal(msgs.length, 3);
    assert.equal((await ctx.api.getChat(chat.id)).leaf_id, turn.reply.id);
    expectError(await ctx.api.put(`/api/messages/${t2.reply.id}`, { content: 'x' }), 404, 'not_found');
    expectError(await ctx.api.del(`/api/messages/${t2.message.id}`), 404, 'not_found');
    // The chat continues from the remaining leaf.
    const t4 = await ctx.api.turn(chat.id, 'after the delete');
    assert.equal(t4.message.parent_id, turn.reply.id);
  });

  test('branch makes a new chat holding the path up to the message', T, async () => {
    const { chat, turn } = await chatWithTurn();
    await ctx.api.turn(chat.id, 'second question');
    const original = await ctx.api.messages(chat.id);
    const res = await ctx.api.post(`/api/messages/${turn.reply.id}/branch`, {});
    const b = expectStatus(res, 201);
    assert.notEqual(b.id, chat.id);
    assert.equal(b.character_id, chat.character_id);
    const bm = await ctx.api.messages(b.id);
    assert.deepEqual(
      bm.map((m) => [m.role, m.content]),
      original.slice(0, 3).map((m) => [m.role, m.content]),
    );
    for (const m of bm) assert.equal(m.chat_id, b.id);
    assert.deepEqual(await ctx.api.messages(chat.id), original, 'the source chat is unchanged');
    const t = await ctx.api.turn(b.id, 'in the branch');
    assert.equal(t.generation.status, 'completed');
    assert.equal((await ctx.api.messages(chat.id)).length, original.length);
  });
});

describe('history pagination', () => {
  test('before/limit/next_before over ~120 messages', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    for (let i = 0; i < 60; i++) await ctx.api.turn(chat.id, `message number ${i}`);
    const all = await ctx.api.messages(chat.id, 'limit=200');
    assert.equal(all.length, 121);
    assert.equal(all[1].content, 'message number 0');
    assert.equal(all[119].content, 'message number 59');
    for (let i = 1; i < all.length; i++) assert.equal(all[i].parent_id, all[i - 1].id, 'oldest first along the path');

    const firstPage = expectStatus(await ctx.api.get(`/api/chats/${chat.id}/messages`), 200);
    assert.equal(firstPage.messages.length, 50, 'default limit 50');
    assert.deepEqual(firstPage.messages.map((m) => m.id), all.slice(-50).map((m) => m.id));
    assert.equal(firstPage.next_before, firstPage.messages[0].id);

    const collected = [];
    let before = null;
    let pages = 0;
    for (;;) {
      const q = `limit=40${before ? `&before=${before}` : ''}`;
      const page = expectStatus(await ctx.api.get(`/api/chats/${chat.id}/messages?${q}`), 200);
      pages++;
      collected.unshift(...page.messages);
      if (page.next_before === null) break;
      assert.equal(page.next_before, page.messages[0].id);
      before = page.next_before;
      assert.ok(pages < 10);
    }
    assert.equal(pages, 4);
    assert.deepEqual(collected.map((m) => m.id), all.map((m) => m.id), 'pages join without gaps or duplicates');
  });
});
