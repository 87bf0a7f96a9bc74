// Character memory with the OpenAI-compatible embedder (`memory.embedder = "openai"`) against the
// fake upstream's /v1/embeddings: a fact is recalled through vector search; when the embeddings
// endpoint fails, retrieval degrades to keyword search (marked) and the chat keeps working; the
// breaker opens; once the endpoint is back and the open period is over, a half-open trial closes
// it and retrieval is "vector" again. Also: with `memory.slow_search_ms = 0` every search is slow
// and the sampled structured log line carries space size, dimensions, index kind and time.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { expectStatus } from './lib/client.mjs';
import { useServer, sampleCharacter } from './lib/fixtures.mjs';
import { startFakeUpstream } from './lib/fake_upstream.mjs';
import { pollUntil, sleep } from './lib/util.mjs';

const T = { timeout: 120000 };
const up = await startFakeUpstream();
after(() => up.close());

const OPEN_MS = 1500;
const BASE = {
  'llm.sim_first_token_ms': 0,
  'llm.sim_token_delay_ms': 0,
  'llm.sim_reply_tokens': 24,
  'llm.context_size': 1024,
  'memory.cache_ttl_ms': 0,
  'memory.embedder': 'openai',
  'memory.openai_url': up.baseUrl,
  'memory.openai_model': 'fake-embed',
  'memory.openai_timeout_ms': 2000,
  'memory.breaker_failures': 2,
  'memory.breaker_open_ms': OPEN_MS,
  'memory.search_timeout_ms': 2000,
};
const ctx = useServer({ name: 'memory-openai', settings: BASE });
const slowLog = useServer({ name: 'memory-slowlog', settings: { ...BASE, 'memory.slow_search_ms': 0 } });

const FACT = 'Remember this: my cousin Marguerite breeds silver foxes near Quebec.';
const QUESTION = 'What does my cousin Marguerite breed near Quebec?';
const FILLER = ['the weather today', 'a song about rivers', 'bread and cheese', 'old boots', 'the market square', 'lantern oil'];

async function memories(api, chatId, query, limit = 10) {
  const raw = await api.get(`/api/chats/${chatId}/memories?query=${encodeURIComponent(query)}&limit=${limit}`);
  return { raw, res: expectStatus(raw, 200) };
}

function breakerState(metricsText) {
  const m = /^troupe_memory_breaker_state(?:\{[^}]*\})? (\S+)$/m.exec(metricsText);
  return m ? Number(m[1]) : null;
}
async function breaker(api) {
  return breakerState((await api.get('/metrics', { token: null })).text);
}

async function chatWithFact(api) {
  const character = await api.createCharacter(sampleCharacter());
  const chat = await api.createChat(character.id);
  const told = await api.turn(chat.id, FACT);
  for (const f of FILLER) await api.turn(chat.id, `Tell me about ${f}.`);
  return { chat, told };
}

describe('openai embedder', () => {
  test('recalls through vector search; degrades to keyword on upstream failure; recovers', T, async () => {
    const api = ctx.api;
    const before = up.embeddingRequests.length;
    const { chat, told } = await chatWithFact(api);
    assert.ok(up.embeddingRequests.length > before, 'the server asked the upstream for embeddings');
    const req = up.embeddingRequests.at(-1);
    assert.equal(req.body.model, 'fake-embed');

    // Healthy: vector retrieval ranks the fact first among memories outside the window.
    let { raw, res } = await memories(api, chat.id, QUESTION);
    assert.equal(res.retrieval_mode, 'vector');
    assert.equal(raw.headers.get('x-query-mode'), null);
    const top = res.memories.find((m) => !m.in_window);
    assert.equal(top?.message_id, told.message.id, JSON.stringify(res.memories.slice(0, 3)));
    const asked = await api.turn(chat.id, QUESTION);
    assert.equal(asked.generation.status, 'completed');
    assert.equal(asked.generation.retrieval_mode, 'vector');
    assert.ok(asked.generation.memory_ids.includes(top.id), 'the turn used the fact');
    const reply = (await api.allMessages(chat.id)).at(-1);
    assert.match(reply.content, /I remember you said: .*Quebec/, reply.content);
    assert.equal(await breaker(api), 0, 'breaker closed');

    // The upstream fails: keyword fallback, marked; the chat keeps working.
    up.embeddingsFail = true;
    ({ raw, res } = await memories(api, chat.id, QUESTION));
    assert.equal(res.retrieval_mode, 'keyword');
    assert.equal(raw.headers.get('x-query-mode'), 'fallback');
    assert.equal(res.memories.find((m) => !m.in_window)?.message_id, told.message.id, 'keyword search still finds the fact');
    const during = await api.turn(chat.id, QUESTION);
    assert.equal(during.generation.status, 'completed');
    assert.equal(during.generation.retrieval_mode, 'keyword');
    assert.match((await api.allMessages(chat.id)).at(-1).content, /Quebec/);
    // Repeated failures open the breaker: the upstream is no longer asked while it is open.
    ({ res } = await memories(api, chat.id, QUESTION));
    assert.equal(res.retrieval_mode, 'keyword');
    assert.equal(await breaker(api), 1, 'breaker open');
    const asked0 = up.embeddingRequests.length;
    ({ res } = await memories(api, chat.id, 'Marguerite foxes'));
    assert.equal(res.retrieval_mode, 'keyword');
    assert.equal(up.embeddingRequests.length, asked0, 'no upstream call while the breaker is open');

    // Recovery: after the open period a half-open trial succeeds and closes the breaker.
    up.embeddingsFail = false;
    await sleep(OPEN_MS + 200);
    await pollUntil(async () => (await memories(api, chat.id, QUESTION)).res.retrieval_mode === 'vector', {
      timeoutMs: 10000, intervalMs: 200, what: 'vector retrieval after recovery',
    });
    assert.equal(await breaker(api), 0, 'breaker closed again');
    ({ raw, res } = await memories(api, chat.id, QUESTION));
    assert.equal(res.retrieval_mode, 'vector');
    assert.equal(raw.headers.get('x-query-mode'), null);
    const after = await api.turn(chat.id, QUESTION);
    assert.equal(after.generation.retrieval_mode, 'vector');
  });
});

describe('slow-search log', () => {
  test('memory.slow_search_ms = 0 logs searches with space size, dims, index kind and time', T, async () => {
    const api = slowLog.api;
    const { chat } = await chatWithFact(api);
    const lines = () => fs.readFileSync(slowLog.server.logPath, 'utf8').split('\n').filter((l) => l.includes('"event":"memory.slow_search"'));
    // The turns' searches were slow too (logged, sampled at most once a second); the early ones
    // saw a nearly empty space. Past the sampling second, this search is logged with the full size.
    assert.ok(lines().length > 0, 'the turns logged slow searches');
    const seen = lines().length;
    await sleep(1100);
    const { res } = await memories(api, chat.id, QUESTION);
    assert.equal(res.retrieval_mode, 'vector');
    await pollUntil(() => lines().length > seen, { timeoutMs: 5000, intervalMs: 50, what: 'a slow-search log line' });
    const line = lines().at(-1);
    const ev = JSON.parse(line.slice(line.indexOf('{"event"')));
    assert.equal(ev.event, 'memory.slow_search');
    assert.ok(Number.isInteger(ev.space), line);
    // Every message of the chat is a memory of the space (the reply parts that are not quotes).
    assert.ok(ev.size >= FILLER.length + 1, `size ${ev.size}`);
    assert.equal(ev.dims, up.embeddingDims, 'dimensions come from the embedder');
    assert.match(ev.index, /^(exact|exact-int8|hnsw|ivf)/, line);
    assert.equal(typeof ev.ms, 'number');
    assert.ok(ev.ms >= 0);
    assert.equal(ev.threshold_ms, 0);
  });
});
