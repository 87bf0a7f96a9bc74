// Shared test fixtures: a per-file server lifecycle, sample cards and event-stream assertions.
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { startServer } from './server.mjs';
import { Api } from './client.mjs';

// Starts a server before the file's tests and always cleans it up. Returns a context whose
// `server` and `api` (admin token) fields are filled in by the time tests run. `setup(ctx)` runs
// right after the start, in the same hook (separate top-level hooks are not run in order).
export function useServer(opts = {}, setup = null) {
  const ctx = { server: null, api: null };
  before(async () => {
    ctx.server = await startServer(opts);
    ctx.api = new Api(ctx.server, ctx.server.adminToken);
    if (setup) await setup(ctx);
  });
  after(async () => {
    await ctx.server?.cleanup();
  });
  return ctx;
}

let uniq = 0;
export function sampleCharacter(extra = {}) {
  uniq += 1;
  return {
    name: `Aria ${uniq}`,
    description: 'A wandering bard.',
    personality: 'cheerful',
    scenario: 'A tavern at dusk.',
    first_mes: 'Greetings, traveler.',
    mes_example: '<START>\n{{user}}: Hi\n{{char}}: Well met!',
    alternate_greetings: ['Alt one', 'Alt two'],
    tags: ['bard', 'test'],
    ...extra,
  };
}

export function isId(v) {
  return Number.isInteger(v) && v > 0;
}

// Every event: object with string type, the chat's id and an integer seq.
export function assertEventShape(ev, chatId) {
  assert.equal(typeof ev.type, 'string', `event without type: ${JSON.stringify(ev)}`);
  assert.equal(ev.chat_id, chatId, `event for another chat: ${JSON.stringify(ev)}`);
  assert.ok(Number.isInteger(ev.seq) && ev.seq > 0, `event without a positive integer seq: ${JSON.stringify(ev)}`);
}

export function assertStrictlyIncreasing(seqs, what = 'seq') {
  for (let i = 1; i < seqs.length; i++) {
    assert.ok(seqs[i] > seqs[i - 1], `${what} not strictly increasing at ${i}: ${seqs.slice(Math.max(0, i - 3), i + 2).join(',')}`);
  }
}

export const isFinished = (genId) => (e) => e.type === 'generation.finished' && e.generation?.id === genId;

export function tokenText(events, genId) {
  return events.filter((e) => e.type === 'token' && e.generation_id === genId).map((e) => e.text).join('');
}

// Checks the events of one turn (from a stream subscribed with after_seq = `afterSeq`) against the
// 202 body `posted`; returns {tokens, finished}.
export function checkTurnEvents(events, posted, afterSeq) {
  const chatId = posted.message.chat_id;
  const genId = posted.generation.id;
  for (const e of events) assertEventShape(e, chatId);
  assertStrictlyIncreasing(events.map((e) => e.seq));
  assert.ok(events[0].seq > afterSeq, `first event seq ${events[0].seq} must be > after_seq ${afterSeq}`);
  const types = events.map((e) => e.type);

  const created = events.filter((e) => e.type === 'message.created');
  for (const c of created) assert.ok(c.message && isId(c.message.id), 'message.created carries a message');
  const userCreated = created.find((c) => c.message.id === posted.message.id);
  if (userCreated) assert.equal(userCreated.message.role, 'user');

  const started = events.findIndex((e) => e.type === 'generation.started' && e.generation?.id === genId);
  assert.ok(started >= 0, `no generation.started for ${genId}: ${types.join(',')}`);
  const finishedIdx = events.findIndex(isFinished(genId));
  assert.ok(finishedIdx > started, `generation.finished must follow generation.started: ${types.join(',')}`);
  if (userCreated) assert.ok(events.indexOf(userCreated) < started, 'user message.created precedes generation.started');

  const tokens = events.filter((e) => e.type === 'token' && e.generation_id === genId);
  assert.ok(tokens.length >= 1, 'at least one token event');
  for (const t of tokens) {
    assert.equal(typeof t.text, 'string');
    assert.equal(t.message_id, posted.reply.id, 'token.message_id is the reply');
    const i = events.indexOf(t);
    assert.ok(i > started && i < finishedIdx, 'tokens come between started and finished');
  }
  const finished = events[finishedIdx];
  assert.equal(finished.message?.id, posted.reply.id);
  return { tokens: tokens.map((t) => t.text).join(''), finished };
}
