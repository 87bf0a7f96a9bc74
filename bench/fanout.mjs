// Fan-out latency: SUBS subscribers on each of CHATS chats (1,000 by default), spread over the
// nodes and split between SSE and WebSocket, while one driver per chat runs turns through node A.
// The figure is the servers' own `troupe_bus_delivery_seconds` histogram (publish, on the
// publishing node's wall clock, -> the event's bytes handed to the subscriber's socket), scraped
// from every node when the window opens and closes and merged; all nodes run on this machine, so
// their wall clocks agree. MODE=cluster: 3 nodes on a private PostgreSQL + Redis (the events of a
// chat cross Redis to reach B and C); MODE=single: 1 node on SQLite with the in-process bus (the
// baseline). Prints one text block and one JSON line. Everything runs on 127.0.0.1 and is stopped
// at the end.
//
//   node bench/fanout.mjs            (bench/run_fanout.sh runs both modes, interleaved)
// Environment: MODE (cluster) CHATS (10) SUBS (100 per chat) TOKEN_MS (50) DURATION (20)
//   WARMUP (3) TROUPE_BIN (build/release/src/troupe)
import http from 'node:http';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
process.env.TROUPE_BIN ||= path.resolve(HERE, '../build/release/src/troupe');
const LIB = path.resolve(HERE, '../tests/integration/lib');
const { Cluster } = await import(path.join(LIB, 'cluster.mjs'));
const { TroupeServer } = await import(path.join(LIB, 'server.mjs'));
const { Api } = await import(path.join(LIB, 'client.mjs'));
const WebSocket = createRequire(path.resolve(HERE, '../tests/integration/package.json'))('ws');

const env = (k, d) => {
  const v = Number.parseInt(process.env[k] ?? '', 10);
  return Number.isFinite(v) && v > 0 ? v : d;
};
const MODE = process.env.MODE === 'single' ? 'single' : 'cluster';
const CHATS = env('CHATS', 10);
const SUBS = env('SUBS', 100);
const TOKEN_MS = env('TOKEN_MS', 50);
const DURATION = Math.min(env('DURATION', 20), 600);
const WARMUP = env('WARMUP', 3);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const settings = {
  'llm.sim_first_token_ms': 0,
  'llm.sim_token_delay_ms': TOKEN_MS,
  'llm.sim_reply_tokens': 64,
  'memory.enabled': false,
  'limits.user_requests_per_second': 0,
  'limits.user_generations': 0,
  'limits.ip_connections': 0,
  'server.max_connections': 4096,
};

// ---- histogram scraping -------------------------------------------------------------------
function scrapeDelivery(text) {
  const out = {}; // transport -> {buckets: Map(le -> cum), count, sum}
  for (const line of text.split('\n')) {
    const m = /^troupe_bus_delivery_seconds_(bucket|sum|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const tr = /transport="([^"]+)"/.exec(m[2])?.[1] ?? '';
    const h = (out[tr] ||= { buckets: new Map(), count: 0, sum: 0 });
    const v = Number(m[3]);
    if (m[1] === 'bucket') {
      const le = /le="([^"]+)"/.exec(m[2])[1];
      h.buckets.set(le === '+Inf' ? Infinity : Number(le), v);
    } else if (m[1] === 'sum') h.sum = v;
    else h.count = v;
  }
  return out;
}

function merge(into, h) {
  for (const [le, c] of h.buckets) into.buckets.set(le, (into.buckets.get(le) ?? 0) + c);
  into.count += h.count;
  into.sum += h.sum;
}

function delta(after, before) {
  const d = { buckets: new Map(), count: after.count - (before?.count ?? 0), sum: after.sum - (before?.sum ?? 0) };
  for (const [le, c] of after.buckets) d.buckets.set(le, c - (before?.buckets.get(le) ?? 0));
  return d;
}

// Quantile q in ms, linear inside the bucket (as histogram_quantile does).
function quantile(h, q) {
  if (h.count <= 0) return null;
  const rank = q * h.count;
  let lower = 0;
  let below = 0;
  for (const le of [...h.buckets.keys()].sort((a, b) => a - b)) {
    const c = h.buckets.get(le);
    if (c >= rank) {
      if (!Number.isFinite(le)) return lower * 1000;
      const inBucket = c - below;
      return (lower + (le - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1)) * 1000;
    }
    lower = le;
    below = c;
  }
  return null;
}

async function scrapeAll(nodes, token) {
  const merged = {};
  for (const n of nodes) {
    const res = await fetch(`http://127.0.0.1:${n.port}/metrics`, { headers: { Authorization: `Bearer ${token}` } });
    const per = scrapeDelivery(await res.text());
    for (const [tr, h] of Object.entries(per)) merge((merged[tr] ||= { buckets: new Map(), count: 0, sum: 0 }), h);
  }
  return merged;
}

// ---- subscribers ---------------------------------------------------------------------------
const received = { sse: 0, ws: 0 };
const closers = [];

function sseSubscriber(node, token, chatId) {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: node.port, path: `/api/chats/${chatId}/events`, headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } },
      (res) => {
        if (res.statusCode !== 200) return reject(new Error(`SSE ${res.statusCode}`));
        res.on('data', (chunk) => {
          let i = -1;
          while ((i = chunk.indexOf('\n\n', i + 1)) !== -1) received.sse++;
        });
        res.on('error', () => {});
        resolve();
      },
    );
    req.on('error', reject);
    closers.push(() => req.destroy());
  });
}

function wsSubscriber(node, token, chatId) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${node.port}/ws`, { headers: { Authorization: `Bearer ${token}` } });
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'subscribe', chat_id: chatId }));
      resolve();
    });
    ws.on('message', () => received.ws++);
    ws.on('error', reject);
    closers.push(() => ws.terminate());
  });
}

// One driver per chat: a turn through node A, the next one once generation.finished arrived.
async function driver(api, node, token, chatId, state) {
  const finished = [];
  await new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port: node.port, path: `/api/chats/${chatId}/events`, headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (s) => {
          if (s.includes('event: generation.finished')) finished.shift()?.();
        });
        res.on('error', () => {});
        resolve();
      },
    );
    req.on('error', reject);
    closers.push(() => req.destroy());
  });
  let n = 0;
  while (state.running) {
    const done = new Promise((r) => finished.push(r));
    const res = await api.post(`/api/chats/${chatId}/messages`, { content: `turn ${n++} of the fan-out run` });
    if (res.status !== 202) {
      finished.pop();
      await sleep(20);
      continue;
    }
    state.turns++;
    await Promise.race([done, sleep(64 * TOKEN_MS + 5000)]);
  }
}

// ---- main ----------------------------------------------------------------------------------
let cluster = null;
let single = null;
try {
  let nodes;
  let token;
  if (MODE === 'cluster') {
    cluster = await new Cluster({ names: ['a', 'b', 'c'], prefix: 'fanout', settings }).start();
    nodes = cluster.list;
    token = cluster.adminToken;
  } else {
    single = new TroupeServer({ name: 'fanout-single', settings });
    await single.start();
    nodes = [single];
    token = single.adminToken;
  }
  const api = new Api(nodes[0], token);
  const ch = await api.createCharacter({ name: 'Fan-out', description: 'A character many people watch.' });
  const chats = [];
  for (let i = 0; i < CHATS; i++) chats.push((await api.createChat(ch.id)).id);

  let k = 0;
  for (const chatId of chats) {
    for (let s = 0; s < SUBS; s++, k++) {
      const node = nodes[k % nodes.length];
      if (k % 2 === 0) await sseSubscriber(node, token, chatId);
      else await wsSubscriber(node, token, chatId);
    }
  }
  const state = { running: true, turns: 0 };
  const drivers = chats.map((c) => driver(api, nodes[0], token, c, state));
  await sleep(WARMUP * 1000);
  const before = await scrapeAll(nodes, token);
  const r0 = { ...received };
  const t0 = Date.now();
  const turns0 = state.turns;
  await sleep(DURATION * 1000);
  const after = await scrapeAll(nodes, token);
  const secs = (Date.now() - t0) / 1000;
  const r1 = { ...received };
  const turns = state.turns - turns0;
  state.running = false;
  await Promise.race([Promise.all(drivers), sleep(64 * TOKEN_MS + 6000)]);

  const result = { mode: MODE, nodes: nodes.length, chats: CHATS, subscribers: CHATS * SUBS, token_ms: TOKEN_MS, window_s: Math.round(secs * 10) / 10, turns };
  const r3 = (x) => (x === null ? null : Math.round(x * 1000) / 1000);
  console.log(`fan-out ${MODE}: ${nodes.length} node(s), ${CHATS} chats x ${SUBS} subscribers, a token every ${TOKEN_MS} ms per chat, ${secs.toFixed(1)} s window, ${turns} turns`);
  for (const tr of ['sse', 'ws']) {
    const d = delta(after[tr] ?? { buckets: new Map(), count: 0, sum: 0 }, before[tr]);
    const got = r1[tr] - r0[tr];
    const row = {
      deliveries: d.count,
      per_s: Math.round(d.count / secs),
      client_events_per_s: Math.round(got / secs),
      mean_ms: d.count > 0 ? r3((d.sum / d.count) * 1000) : null,
      p50_ms: r3(quantile(d, 0.5)),
      p99_ms: r3(quantile(d, 0.99)),
      p999_ms: r3(quantile(d, 0.999)),
    };
    result[tr] = row;
    console.log(`  ${tr}: ${row.deliveries} deliveries (${row.per_s}/s; clients read ${row.client_events_per_s}/s)  mean ${row.mean_ms} ms  p50 ${row.p50_ms}  p99 ${row.p99_ms}  p99.9 ${row.p999_ms}`);
  }
  console.log(JSON.stringify(result));
} finally {
  for (const c of closers) {
    try {
      c();
    } catch {
      // already closed
    }
  }
  if (cluster) await cluster.teardown();
  if (single) {
    await single.stop();
    await single.cleanup();
  }
}
process.exit(0);
