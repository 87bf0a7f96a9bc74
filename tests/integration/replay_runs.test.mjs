// A reply produced at once goes through the bus as runs of token events (one item for many
// events, see src/sync/Event.h). Clients must not see the difference: every event is its own SSE
// frame and its own WebSocket message, and a client resuming at any seq inside a run gets exactly
// the events after it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { wsSubscribe } from './lib/client.mjs';
import { useServer, sampleCharacter, isFinished, tokenText, assertStrictlyIncreasing } from './lib/fixtures.mjs';

const T = { timeout: 60000 };
const TOKENS = 64;
// No delays: the simulator hands its reply over in one go, so its tokens are published as runs.
const ctx = useServer({
  name: 'replay-runs',
  settings: { 'llm.sim_first_token_ms': 0, 'llm.sim_token_delay_ms': 0, 'llm.sim_reply_tokens': TOKENS },
});

async function metricSum(re) {
  const res = await ctx.api.req('GET', '/metrics');
  let sum = 0;
  for (const line of res.text.split('\n')) {
    if (re.test(line)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

describe('token runs', () => {
  test('each event of a run is its own frame, and resuming inside a run gets exactly the rest', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const start = (await ctx.api.getChat(chat.id)).last_seq;
    const pooled = /^troupe_pool_acquires\{pool="event_blocks"/;
    const before = await metricSum(pooled);

    const reference = await ctx.api.sse(chat.id, { afterSeq: start });
    let ref;
    let genId;
    try {
      const posted = await ctx.api.postMessage(chat.id, 'Tell me about the harbour.');
      genId = posted.generation.id;
      const frames = await reference.events.collectUntil((e) => isFinished(genId)(e.json ?? {}), 20000);
      for (const f of frames) assert.equal(Number(f.id), f.json.seq, 'one frame per event, id = its seq');
      ref = frames.map((e) => e.json);
    } finally {
      reference.close();
    }
    const tokens = ref.filter((e) => e.type === 'token');
    assert.equal(tokens.length, TOKENS);
    assertStrictlyIncreasing(ref.map((e) => e.seq));
    assert.equal(ref[0].seq, start + 1);
    assert.equal(tokenText(ref, genId), ref.at(-1).message.content);
    // The turn's ~67 events took far fewer pooled objects: the tokens did go out as runs.
    const made = (await metricSum(pooled)) - before;
    assert.ok(made > 0 && made <= 12, `event objects for ${ref.length} events: ${made}`);

    // Resume over both transports at the first token, inside runs, and at the last token.
    const cuts = [tokens[0].seq, tokens[1].seq, tokens[20].seq, tokens[41].seq, tokens.at(-2).seq, tokens.at(-1).seq];
    for (const cut of cuts) {
      const want = ref.filter((e) => e.seq > cut);
      const sse = await ctx.api.sse(chat.id, { lastEventId: String(cut) });
      try {
        assert.equal(sse.status, 200);
        const got = await sse.events.collectUntil((e) => isFinished(genId)(e.json ?? {}), 10000, `SSE after ${cut}`);
        for (const f of got) assert.equal(Number(f.id), f.json.seq);
        assert.deepEqual(got.map((e) => e.json), want, `SSE resumed after ${cut}`);
      } finally {
        sse.close();
      }
      const ws = await ctx.api.ws();
      try {
        await wsSubscribe(ws, chat.id, cut);
        const got = await ws.queue.collectUntil(isFinished(genId), 10000, `WS after ${cut}`);
        assert.deepEqual(got, want, `WS resumed after ${cut}`);
      } finally {
        ws.close();
      }
    }
  });
});
