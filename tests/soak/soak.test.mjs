// Soak test: many short chat turns against the real binary, half over WebSocket and half over SSE,
// a third of them cut abruptly while tokens are flowing. After the load stops, everything the
// server holds per connection/turn must be back where it was after the warm-up: live tasks,
// subscribers, open fds, connections, and RSS within 10%. The sanitizer build must stay silent and
// exit 0 on SIGTERM (LeakSanitizer runs at exit).
//
//   SOAK_CYCLES   max cycles after the warm-up (default 20000)
//   SOAK_SECONDS  wall-clock cap for the load, warm-up included (default 190)
//   SOAK_WORKERS  concurrent workers, each its own user with one chat at a time (default 32)
//   SOAK_WARMUP   warm-up cycles before the baseline (default 3000). The server's bounded pools
//                 and caches (event pools, the SQLite page caches of its connection pool, the
//                 retrieval cache, memory indexes of the workers' spaces) fill during the first
//                 ~3,000 cycles and then stay flat; the baseline is taken once they are full, so
//                 the RSS bound measures growth that does not stop.
//   SOAK_CHAT_TURNS  turns per chat before a worker deletes it and starts a new one (default 16)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { startServer } from '../integration/lib/server.mjs';
import { Api, openWs, wsSubscribe, rawHttp } from '../integration/lib/client.mjs';
import { EventQueue, sleep, pollUntil, withTimeout } from '../integration/lib/util.mjs';
import { sampleCharacter } from '../integration/lib/fixtures.mjs';

const envInt = (name, dflt) => {
  const v = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(v) && v >= 0 ? v : dflt;
};

const MAX_CYCLES = envInt('SOAK_CYCLES', 20000);
const MAX_SECONDS = envInt('SOAK_SECONDS', 190);
const WORKERS = Math.max(1, envInt('SOAK_WORKERS', 32));
const WARMUP = envInt('SOAK_WARMUP', 3000);
// 1: the run fails unless every one of SOAK_CYCLES cycles ran within SOAK_SECONDS (scripts/test sets
// it for the release binary; the slower sanitizer build runs a time-bounded share).
const REQUIRE_ALL = envInt('SOAK_REQUIRE_ALL', 0) === 1;
// Every turn loads the chat's path (up to 2,000 messages) to build its prompt, so the memory a
// turn uses grows with the chat's length. Chats are therefore kept short: a worker deletes its
// chat after this many turns and starts a new one, which keeps the working set steady (and adds
// chat deletion, with its stream teardown, to what the soak exercises).
const CHAT_TURNS = Math.max(1, envInt('SOAK_CHAT_TURNS', 16));
const DRAIN_MS = 10000;
const SETTLE_MS = 15000;
const FD_SLACK = 2; // sqlite may open/close its WAL and shm files; logging may hold one more
const RSS_GROWTH = 0.1;

const SETTINGS = {
  // Fast turns: the first token at once, 16 tokens 2 ms apart, so a cut right after the first
  // token lands while the rest of the reply is still being written.
  'llm.sim_first_token_ms': 0,
  'llm.sim_token_delay_ms': 2,
  'llm.sim_reply_tokens': 16,
  // Each chat keeps its last N events in memory for resume. That ring is bounded but large by
  // default (2048 events/chat, ~100 turns); filling it would read as growth over the whole run.
  // 64 events ≈ 3 turns, so every chat's ring is full early and ring memory stays steady.
  'generation.replay_events': 64,
  'log.level': 'info',
};

// The ASan allocator keeps freed memory in a quarantine (256 MB by default) to catch
// use-after-free; while it fills, RSS climbs by up to that much no matter what the server does,
// which would make an RSS bound meaningless. A 16 MB quarantine still catches recent
// use-after-free and is full by the end of the warm-up. Leak detection stays on: LeakSanitizer runs at
// exit and makes the exit code non-zero on a leak.
const ASAN_OPTIONS = [process.env.ASAN_OPTIONS, 'detect_leaks=1', 'quarantine_size_mb=16', 'thread_local_quarantine_size_kb=256']
  .filter(Boolean)
  .join(':');

const SANITIZER_PATTERNS = [/AddressSanitizer/, /LeakSanitizer/, /runtime error/, /ThreadSanitizer/, /UndefinedBehaviorSanitizer/];

// ---------------------------------------------------------------------------------------------
// Observation: one fresh connection per request (Connection: close) so the probe never leaves
// an idle keep-alive connection behind.

async function probe(port, path, token) {
  const auth = token ? `Authorization: Bearer ${token}\r\n` : '';
  const r = await rawHttp(port, [`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${auth}Connection: close\r\n\r\n`], { timeoutMs: 10000 });
  if (r.status !== 200 || !r.complete) throw new Error(`GET ${path}: status ${r.status}${r.timedOut ? ' (timed out)' : ''}: ${r.body?.slice(0, 200)}`);
  return r;
}

function parseMetrics(text) {
  const m = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

// Anonymous resident memory (heap, sanitizer shadow and metadata), without the file-backed pages
// of the binary itself: in the ASan build those are ~100 MB of the ~240 MB RSS and never change,
// so a 10% bound on total RSS alone would let a larger leak through. Linux only; NaN elsewhere.
function rssAnon(pid) {
  try {
    const m = /^RssAnon:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function sample(server) {
  const dump = (await probe(server.port, '/debug/tasks?format=json', server.adminToken)).json;
  await sleep(20);
  const m = parseMetrics((await probe(server.port, '/metrics')).body);
  const g = (k) => m.get(k) ?? NaN;
  const groups = {};
  for (const grp of dump.groups) groups[grp.name] = (groups[grp.name] ?? 0) + grp.count;
  return {
    tasks: dump.total,
    groups,
    subscribers: g('troupe_subscribers'),
    fds: g('process_open_fds'),
    http: g('troupe_http_connections'),
    ws: g('troupe_websocket_connections'),
    sse: g('troupe_sse_connections'),
    rss: g('process_resident_memory_bytes'),
    anon: rssAnon(server.proc.pid),
    heap: g('troupe_jemalloc_bytes{kind="allocated"}'), // live heap (release builds link jemalloc)
    running: g('troupe_generations_running'),
    outcomes: {
      completed: g('troupe_generations_total{outcome="completed"}'),
      stopped: g('troupe_generations_total{outcome="stopped"}'),
      failed: g('troupe_generations_total{outcome="failed"}'),
      interrupted: g('troupe_generations_total{outcome="interrupted"}'),
      other: g('troupe_generations_total{outcome="other"}'),
    },
  };
}

// Quiet = no generation running, no stream or WebSocket open, and the only HTTP connection is the
// probe's own (the test's pooled keep-alive connections close after ~4 s idle). Two consecutive
// samples must agree on every count so a connection still being torn down is not caught mid-way.
const quietKey = (s) => JSON.stringify([s.tasks, s.subscribers, s.fds, s.http, s.ws, s.sse, s.running]);
const isQuiet = (s) => s.running === 0 && s.subscribers === 0 && s.ws === 0 && s.sse === 0 && s.http === 1;

async function waitQuiet(server, timeoutMs, matches = () => true) {
  const deadline = Date.now() + timeoutMs;
  let prev = null;
  let last = null;
  for (;;) {
    last = await sample(server);
    if (isQuiet(last) && matches(last) && prev && quietKey(prev) === quietKey(last)) return { ok: true, sample: last };
    prev = last;
    if (Date.now() >= deadline) return { ok: false, sample: last };
    await sleep(200);
  }
}

const mb = (b) => `${(b / 1048576).toFixed(1)} MB`;
const fmt = (s) =>
  `tasks=${s.tasks} subscribers=${s.subscribers} fds=${s.fds} http=${s.http} ws=${s.ws} sse=${s.sse} rss=${mb(s.rss)} (anon ${mb(s.anon)}, heap ${mb(s.heap)})`;
const pct = (a, b) => `${b >= a ? '+' : ''}${(((b - a) / a) * 100).toFixed(1)}%`;

function groupDiff(a, b) {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].filter((n) => (a[n] ?? 0) !== (b[n] ?? 0)).map((n) => `${n}: ${a[n] ?? 0} -> ${b[n] ?? 0}`).join(', ');
}

// ---------------------------------------------------------------------------------------------
// SSE over node:http (one connection, no pooling) so an abrupt cut can reset the socket.

function openRawSse(server, token, chatId) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: server.port,
      path: `/api/chats/${chatId}/events`,
      agent: false,
      headers: { Accept: 'text/event-stream', Authorization: `Bearer ${token}` },
      timeout: 10000,
    });
    const events = new EventQueue(`raw SSE chat ${chatId}`);
    req.on('timeout', () => req.destroy(new Error('SSE connect timed out')));
    req.on('error', (e) => {
      events.end(e);
      reject(e);
    });
    req.on('response', (res) => {
      req.setTimeout(0);
      if (res.statusCode !== 200) {
        res.resume();
        const err = new Error(`SSE: HTTP ${res.statusCode}`);
        err.status = res.statusCode;
        err.retryAfter = res.headers['retry-after'];
        reject(err);
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        buf += d;
        for (let end = buf.indexOf('\n\n'); end >= 0; end = buf.indexOf('\n\n')) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          if (data) {
            try {
              events.push(JSON.parse(data));
            } catch {
              events.push({ raw: data });
            }
          }
        }
      });
      res.on('error', () => {});
      res.on('end', () => events.end(null));
      res.on('close', () => events.end(null));
      resolve({ events, socket: res.socket, req });
    });
    req.end();
  });
}

// Drops a socket without any close handshake: a TCP reset, or a plain close with no WebSocket
// close frame / end of stream.
function cut(socket, reset) {
  if (!socket || socket.destroyed) return;
  if (reset && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

// 429 (per-user / per-IP limits) and 503 are the server asking the client to back off, not
// failures: wait as told (capped) and try again until the deadline.
const BACK_OFF = new Set([429, 503]);
function backOffMs(retryAfter) {
  const s = Number(retryAfter);
  return Number.isFinite(s) && s > 0 ? Math.min(1000, s * 1000) : 50 + Math.random() * 100;
}

// ---------------------------------------------------------------------------------------------
// One worker = one user with one chat, running cycles one after another. Cycle i (a global
// counter, so the mix is spread over all workers) uses WebSocket when i is even, SSE when odd, and
// is cut abruptly when i % 3 == 2; cuts alternate between a TCP reset and a plain close.

class Load {
  constructor(server, workers) {
    this.server = server;
    this.workers = workers; // [{api, token, characterId, chatId, turns}]
    this.next = 0;
    this.done = 0;
    this.limit = 0;
    this.deadline = 0;
    this.stats = { ws: 0, sse: 0, cut: 0, cutMidStream: 0, conflicts: 0, backOffs: 0, chats: 0 };
    this.errors = [];
  }

  claim() {
    if (this.next >= this.limit || Date.now() >= this.deadline || this.errors.length >= 20) return null;
    return this.next++;
  }

  async run(cycles, deadline) {
    this.limit = this.next + cycles;
    this.deadline = deadline;
    await Promise.all(this.workers.map((wk, w) => this.worker(w, wk)));
  }

  async worker(w, wk) {
    for (let i = this.claim(); i !== null; i = this.claim()) {
      try {
        await withTimeout(this.cycle(w, wk, i), 30000, `cycle ${i} (worker ${w})`);
        this.done += 1;
        if (++wk.turns >= CHAT_TURNS) await withTimeout(this.newChat(wk), 30000, `new chat (worker ${w})`);
      } catch (e) {
        this.errors.push(`cycle ${i} worker ${w} chat ${wk.chatId}: ${e.stack ?? e}`);
      }
    }
  }

  // Deletes the worker's chat once its last generation (possibly one whose stream was cut) has
  // finished, and creates the next one.
  async newChat(wk) {
    await pollUntil(async () => (await wk.api.getChat(wk.chatId)).generation === null, { timeoutMs: 15000, intervalMs: 10, what: `chat ${wk.chatId} idle` });
    const del = await wk.api.del(`/api/chats/${wk.chatId}`);
    if (del.status !== 204) throw new Error(`DELETE chat ${wk.chatId}: ${del.status} ${del.text.slice(0, 200)}`);
    wk.chatId = (await wk.api.createChat(wk.characterId)).id;
    wk.turns = 0;
    this.stats.chats += 1;
  }

  async backOff(what, status, retryAfter, deadline) {
    if (!BACK_OFF.has(status) || Date.now() >= deadline) return false;
    this.stats.backOffs += 1;
    await sleep(backOffMs(retryAfter));
    return true;
  }

  // Posts a message; a 409 means the chat's previous (cut) generation is still running.
  async post(wk, content) {
    const deadline = Date.now() + 15000;
    for (;;) {
      const res = await wk.api.post(`/api/chats/${wk.chatId}/messages`, { content });
      if (res.status === 202) return res.json.generation.id;
      if (res.status === 409 && Date.now() < deadline) {
        this.stats.conflicts += 1;
        await sleep(5 + Math.random() * 20);
        continue;
      }
      if (await this.backOff('POST', res.status, res.headers.get('retry-after'), deadline)) continue;
      throw new Error(`POST message: ${res.status} ${res.text.slice(0, 200)}`);
    }
  }

  // Opens the cycle's stream, subscribed to the worker's chat: {events, socket?, close()}.
  async subscribe(wk, useWs, raw) {
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        if (useWs) {
          const c = await openWs(this.server.wsUrl, { token: wk.token });
          const ack = await wsSubscribe(c, wk.chatId).catch((e) => ({ type: 'error', message: String(e) }));
          if (ack.type !== 'subscribed') {
            c.close();
            throw new Error(`subscribe: ${JSON.stringify(ack)}`);
          }
          return {
            events: c.queue,
            socket: c.ws._socket,
            close: async () => {
              c.ws.close(1000, 'bye');
              await withTimeout(c.closed, 5000, 'WebSocket close handshake');
            },
          };
        }
        if (raw) {
          const s = await openRawSse(this.server, wk.token, wk.chatId);
          return { events: s.events, socket: s.socket, close: async () => s.req.destroy() };
        }
        const s = await wk.api.sse(wk.chatId);
        if (s.status !== 200) {
          const err = new Error(`SSE: HTTP ${s.status} ${s.text?.slice(0, 200)}`);
          err.status = s.status;
          err.retryAfter = s.headers.get('retry-after');
          throw err;
        }
        return { events: s.events, socket: null, close: async () => s.close() };
      } catch (e) {
        if (await this.backOff('subscribe', e.status, e.retryAfter, deadline)) continue;
        throw e;
      }
    }
  }

  async cycle(w, wk, i) {
    const useWs = i % 2 === 0;
    const abrupt = i % 3 === 2;
    if (useWs) this.stats.ws += 1;
    else this.stats.sse += 1;
    const stream = await this.subscribe(wk, useWs, abrupt);
    const { events } = stream;

    let genId;
    try {
      genId = await this.post(wk, `Soak worker ${w} cycle ${i}: tell me about the harbor lights tonight.`);
    } catch (e) {
      cut(stream.socket, false);
      await stream.close().catch(() => {});
      throw e;
    }

    // lib SSE events carry the parsed payload in `json`; WebSocket and raw SSE items are the payload.
    const body = (e) => e.json ?? e;
    const mine = (e) => (body(e).generation_id ?? body(e).generation?.id) === genId;
    if (abrupt) {
      this.stats.cut += 1;
      await events.waitFor((e) => e.type === 'token' && mine(e), 15000, `first token of generation ${genId}`);
      // Whether the reply was still flowing: its end has not arrived yet.
      if (!events.items.some((e) => e.type === 'generation.finished' && mine(e))) this.stats.cutMidStream += 1;
      cut(stream.socket, Math.floor(i / 3) % 2 === 0);
      return;
    }
    const got = await events.collectUntil((e) => (e.type === 'generation.finished' && mine(e)) || e.type === 'error', 15000, `end of generation ${genId}`);
    const last = body(got.at(-1));
    if (last.type === 'error') throw new Error(`stream error: ${JSON.stringify(last)}`);
    if (last.generation.status !== 'completed') throw new Error(`generation ${genId} ended ${last.generation.status}: ${last.generation.error}`);
    const tokens = got.filter((e) => e.type === 'token' && mine(e)).length;
    if (tokens !== SETTINGS['llm.sim_reply_tokens']) throw new Error(`generation ${genId}: ${tokens} token events`);
    await stream.close();
  }
}

// Creates `n` users (the CLI, a few at a time), each with a character and a chat.
async function makeWorkers(server, n) {
  const tokens = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let w = next++; w < n; w = next++) tokens[w] = await server.addUser(`soak-${w}`);
    }),
  );
  const workers = [];
  for (const [w, token] of tokens.entries()) {
    const api = new Api(server, token);
    const character = await api.createCharacter(sampleCharacter({ scenario: 'A harbor town at night, lanterns on the water.' }));
    const chat = await api.createChat(character.id);
    // Staggered so chat lengths are spread evenly from the start rather than rotating in step.
    workers.push({ api, token, characterId: character.id, chatId: chat.id, turns: w % CHAT_TURNS });
  }
  return workers;
}

test('soak: connect/subscribe/turn/disconnect cycles leave nothing behind', { timeout: (MAX_SECONDS + 150) * 1000 }, async (t) => {
  const server = await startServer({ name: 'soak', settings: SETTINGS, env: { ASAN_OPTIONS } });
  let stopped = false;
  try {
    // One user per worker, as in real use; the per-user limits then apply to one chat each.
    const load = new Load(server, await makeWorkers(server, WORKERS));
    const t0 = Date.now();
    const stopAt = t0 + MAX_SECONDS * 1000;

    // Warm-up, then the baseline once everything is quiet.
    await load.run(WARMUP, stopAt);
    assert.deepEqual(load.errors, [], 'warm-up cycles failed');
    const warm = await waitQuiet(server, DRAIN_MS + 5000);
    assert.ok(warm.ok, `server did not go quiet after the warm-up: ${fmt(warm.sample)}`);
    const base = warm.sample;
    t.diagnostic(`baseline after ${load.done} warm-up cycles: ${fmt(base)}`);

    // The load.
    const tLoad = Date.now();
    const before = load.done;
    const beforeStats = { ...load.stats };
    // RSS and task count while the load runs (for the summary: plateau vs steady climb).
    const trend = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await sleep(15000);
        if (!sampling) break;
        const m = parseMetrics((await probe(server.port, '/metrics').catch(() => ({ body: '' }))).body);
        trend.push(`${load.done - before}:${mb(m.get('process_resident_memory_bytes') ?? NaN)}`);
      }
    })();
    await load.run(MAX_CYCLES, stopAt);
    sampling = false;
    const cycles = load.done - before;
    const loadSeconds = (Date.now() - tLoad) / 1000;
    assert.deepEqual(load.errors, [], `${load.errors.length} cycle(s) failed`);
    if (REQUIRE_ALL) assert.equal(cycles, MAX_CYCLES, `only ${cycles} of ${MAX_CYCLES} cycles ran within ${MAX_SECONDS} s`);

    // Drain: streams end, cut generations finish, idle connections close.
    const sameAsBase = (s) =>
      s.tasks === base.tasks && s.subscribers === base.subscribers && Math.abs(s.fds - base.fds) <= FD_SLACK && s.http === base.http;
    const tDrain = Date.now();
    let drained = await waitQuiet(server, DRAIN_MS, sameAsBase);
    // The allocator hands freed pages back to the system only after its decay time (jemalloc:
    // 10 s), so memory sampled right after the load still holds pages the load freed. Give it
    // up to SETTLE_MS to return them before judging RSS; a leak (live heap or objects) stays.
    const settled = (s) => s.rss < base.rss * (1 + RSS_GROWTH) && !(s.anon >= base.anon * (1 + RSS_GROWTH));
    if (drained.ok && !settled(drained.sample)) drained = await waitQuiet(server, SETTLE_MS, (s) => sameAsBase(s) && settled(s));
    const drainSeconds = (Date.now() - tDrain) / 1000;
    const fin = drained.sample;

    const s = load.stats;
    const perCycle = (a, b) => (cycles ? ((b - a) / cycles).toFixed(3) : 'n/a');
    const summary =
      `soak: ${cycles} cycles in ${loadSeconds.toFixed(1)} s (${(cycles / loadSeconds).toFixed(1)} cycles/s, ${WORKERS} workers; ` +
      `ws ${s.ws - beforeStats.ws}, sse ${s.sse - beforeStats.sse}, cut ${s.cut - beforeStats.cut} ` +
      `(${s.cutMidStream - beforeStats.cutMidStream} before the reply ended), 409 retries ${s.conflicts - beforeStats.conflicts}, ` +
      `429/503 back-offs ${s.backOffs - beforeStats.backOffs}, chats replaced ${s.chats - beforeStats.chats}); ` +
      `drained in ${drainSeconds.toFixed(1)} s\n` +
      `soak: rss during the load (cycles:rss) ${trend.join(' ') || 'n/a'}\n` +
      `soak: baseline ${fmt(base)}\n` +
      `soak: final    ${fmt(fin)}\n` +
      `soak: growth   rss ${pct(base.rss, fin.rss)} (${perCycle(base.rss, fin.rss)} bytes/cycle), anon ${pct(base.anon, fin.anon)} ` +
      `(${perCycle(base.anon, fin.anon)} bytes/cycle), fds ${fin.fds - base.fds}, tasks ${fin.tasks - base.tasks}`;
    for (const line of summary.split('\n')) t.diagnostic(line);

    const diff = groupDiff(base.groups, fin.groups);
    assert.equal(fin.running, 0, 'generations still running after the drain');
    assert.equal(fin.tasks, base.tasks, `live tasks ${base.tasks} -> ${fin.tasks} (${diff})`);
    assert.equal(fin.subscribers, base.subscribers, 'subscribers back to baseline');
    assert.ok(Math.abs(fin.fds - base.fds) <= FD_SLACK, `open fds ${base.fds} -> ${fin.fds} after ${cycles} cycles`);
    assert.equal(fin.http, base.http, 'HTTP connections back to baseline');
    assert.equal(fin.ws, base.ws, 'WebSocket connections back to baseline');
    assert.equal(fin.sse, base.sse, 'SSE streams back to baseline');
    assert.ok(fin.rss < base.rss * (1 + RSS_GROWTH), `RSS grew ${mb(base.rss)} -> ${mb(fin.rss)} (> ${RSS_GROWTH * 100}%) over ${cycles} cycles`);
    if (Number.isFinite(base.anon)) {
      assert.ok(fin.anon < base.anon * (1 + RSS_GROWTH), `anonymous RSS grew ${mb(base.anon)} -> ${mb(fin.anon)} (> ${RSS_GROWTH * 100}%) over ${cycles} cycles`);
    }
    // Every generation of the load finished normally (cutting a subscriber does not stop one).
    assert.equal(fin.outcomes.completed - base.outcomes.completed, cycles, 'one completed generation per cycle');
    for (const k of ['stopped', 'failed', 'interrupted', 'other']) assert.equal(fin.outcomes[k], base.outcomes[k], `${k} generations`);

    const exit = await server.stop({ timeoutMs: 30000 });
    stopped = true;
    // stderr is drained to the log before the pipe closes; give it a moment after the exit.
    await pollUntil(() => server.proc.stderr.readableEnded || server.proc.stderr.destroyed, { timeoutMs: 5000, what: 'stderr to close' }).catch(() => {});
    const log = fs.readFileSync(server.logPath, 'utf8');
    for (const re of SANITIZER_PATTERNS) {
      const at = log.search(re);
      assert.equal(at, -1, `server log (${server.logPath}) matches ${re}:\n${log.slice(Math.max(0, at - 200), at + 3000)}`);
    }
    assert.equal(exit.forced, false, 'server did not exit within 30 s of SIGTERM');
    assert.deepEqual({ code: exit.code, signal: exit.signal }, { code: 0, signal: null }, `exit status on SIGTERM (log ${server.logPath})`);
    t.diagnostic(`soak: SIGTERM exit 0 in ${exit.ms} ms, sanitizer log clean`);
  } finally {
    if (!stopped) await server.stop({ timeoutMs: 30000 }).catch(() => {});
    await server.cleanup();
  }
});
