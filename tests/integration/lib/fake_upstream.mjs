// A scripted OpenAI-compatible upstream (POST /v1/chat/completions, stream:true) on 127.0.0.1:0.
// The behaviour of each request comes from the front of `script` (enqueue()), else from a marker
// `[up:MODE(:ARG)]` in the last user message, else the default stream. Every request is recorded
// together with when (and whether) the client closed its connection.
import http from 'node:http';
import { pollUntil } from './util.mjs';

// Behaviour builders. A mode: {chunks, delayMs, firstDelayMs, then, stallMs, errorMessage, status}
//   then: 'done' ([DONE]) | 'stall' (hang) | 'error' (error chunk) | 'garbage' | 'drop' (reset)
export const modes = {
  stream: (n = 5, delayMs = 10) => ({ chunks: chunkTexts(n), delayMs, then: 'done' }),
  chunks: (chunks, delayMs = 10) => ({ chunks, delayMs, then: 'done' }),
  slow: (n = 50, delayMs = 200) => ({ chunks: chunkTexts(n), delayMs, then: 'done' }),
  stallFirst: (stallMs = 30000) => ({ chunks: [], firstDelayMs: stallMs, delayMs: 0, then: 'done' }),
  stallMid: (n = 3, delayMs = 10) => ({ chunks: chunkTexts(n), delayMs, then: 'stall' }),
  errorChunk: (n = 2, message = 'upstream exploded', delayMs = 10) => ({ chunks: chunkTexts(n), delayMs, then: 'error', errorMessage: message }),
  garbage: (n = 0, delayMs = 10) => ({ chunks: chunkTexts(n), delayMs, then: 'garbage' }),
  drop: (n = 3, delayMs = 10) => ({ chunks: chunkTexts(n), delayMs, then: 'drop' }),
  http: (status = 500, body = '{"error":{"message":"internal upstream error"}}') => ({ status, body }),
};

// Deterministic chunk texts: "Fake", " t1", " t2", ...
export function chunkTexts(n) {
  return Array.from({ length: n }, (_, i) => (i === 0 ? 'Fake' : ` t${i}`));
}

function modeFromMarker(text) {
  const m = /\[up:([a-z_]+)(?::(\d+))?\]/.exec(text ?? '');
  if (!m) return null;
  const arg = m[2] === undefined ? undefined : Number(m[2]);
  switch (m[1]) {
    case 'stream':
      return modes.stream(arg ?? 5);
    case 'slow':
      return modes.slow(arg ?? 50);
    case 'stall_first':
      return modes.stallFirst();
    case 'stall_mid':
      return modes.stallMid(arg ?? 3);
    case 'error':
      return modes.errorChunk(arg ?? 2);
    case 'garbage':
      return modes.garbage(arg ?? 0);
    case 'drop':
      return modes.drop(arg ?? 3);
    case 'http':
      return modes.http(arg ?? 500);
    default:
      return null;
  }
}

function lastUserText(body) {
  const msgs = Array.isArray(body?.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    if (msgs[i]?.role === 'user') {
      const c = msgs[i].content;
      return typeof c === 'string' ? c : JSON.stringify(c);
    }
  }
  return '';
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

export class FakeUpstream {
  constructor({ defaultMode = modes.stream(5), model = 'fake-model' } = {}) {
    this.defaultMode = defaultMode;
    this.model = model;
    this.script = [];
    this.requests = [];
    // /v1/embeddings: deterministic bag-of-words vectors; `embeddingsFail` answers HTTP 500.
    this.embeddingDims = 64;
    this.embeddingsFail = false;
    this.sockets = new Set();
    this.server = http.createServer((req, res) => this.#handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  enqueue(...ms) {
    this.script.push(...ms);
  }

  // Requests to /embeddings only.
  get embeddingRequests() {
    return this.requests.filter((r) => r.path.endsWith('/embeddings'));
  }

  // A text's vector: each word (lower-case letters and digits, 3+ characters) adds 1 to a
  // dimension picked by a hash of the word; L2-normalised. Texts sharing words are close.
  embedText(text) {
    const v = new Array(this.embeddingDims).fill(0);
    for (const w of String(text).toLowerCase().split(/[^a-z0-9]+/)) {
      if (w.length < 3) continue;
      let h = 2166136261;
      for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619) >>> 0;
      v[h % this.embeddingDims] += 1;
    }
    const n = Math.hypot(...v);
    return n > 0 ? v.map((x) => x / n) : v;
  }

  #embeddings(body, res) {
    if (this.embeddingsFail) {
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'embedding model unavailable' } }));
      return;
    }
    const input = body?.input;
    const texts = Array.isArray(input) ? input : typeof input === 'string' ? [input] : null;
    if (!texts) {
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'input must be a string or an array of strings' } }));
      return;
    }
    const data = texts.map((t, index) => ({ object: 'embedding', index, embedding: this.embedText(t) }));
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', model: body.model ?? this.model, data, usage: { prompt_tokens: 0, total_tokens: 0 } }));
  }

  // Requests to /chat/completions only.
  get completions() {
    return this.requests.filter((r) => r.path.endsWith('/chat/completions'));
  }

  async waitForRequests(n, timeoutMs = 10000) {
    await pollUntil(() => this.completions.length >= n, { timeoutMs, intervalMs: 10, what: `${n} upstream request(s)` });
    return this.completions[n - 1];
  }

  // Waits until the client side of `record`'s connection is closed; returns the close time.
  async waitForClose(record, timeoutMs = 5000) {
    await pollUntil(() => record.closedAt !== null, { timeoutMs, intervalMs: 5, what: `upstream request #${record.index} to be closed` });
    return record.closedAt;
  }

  async close() {
    for (const r of this.requests) r.abort.abort();
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req, res) {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body;
    try {
      body = JSON.parse(raw);
    } catch {
      body = undefined;
    }
    const path = new URL(req.url, 'http://x').pathname;
    const record = {
      index: this.requests.length,
      method: req.method,
      path,
      headers: req.headers,
      raw,
      body,
      startedAt: Date.now(),
      closedAt: null, // when the connection was closed before the response ended
      finishedAt: null, // when the response was completely sent
      clientClosed: false,
      sent: [],
      mode: null,
      abort: new AbortController(),
    };
    this.requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) {
        record.clientClosed = true;
        record.closedAt = Date.now();
      } else if (record.closedAt === null) {
        record.closedAt = Date.now();
      }
      record.abort.abort();
    });

    if (req.method === 'GET' && path.endsWith('/models')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: this.model, object: 'model' }] }));
      record.finishedAt = Date.now();
      return;
    }
    if (req.method === 'POST' && path.endsWith('/embeddings')) {
      this.#embeddings(body, res);
      record.finishedAt = Date.now();
      return;
    }
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `no route ${req.method} ${path}` } }));
      record.finishedAt = Date.now();
      return;
    }

    const mode = this.script.shift() ?? modeFromMarker(lastUserText(body)) ?? this.defaultMode;
    record.mode = mode;
    const signal = record.abort.signal;

    if (mode.status) {
      res.writeHead(mode.status, { 'Content-Type': 'application/json' });
      res.end(mode.body ?? '');
      record.finishedAt = Date.now();
      return;
    }

    if (body && body.stream === false) {
      const content = mode.chunks.join('');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: 'cmpl-fake', object: 'chat.completion', model: this.model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] }));
      record.finishedAt = Date.now();
      return;
    }

    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    const id = `chatcmpl-fake-${record.index}`;
    const created = Math.floor(Date.now() / 1000);
    const write = (obj) => {
      if (signal.aborted) return false;
      res.write(`data: ${typeof obj === 'string' ? obj : JSON.stringify(obj)}\n\n`);
      return true;
    };
    const chunk = (delta, finish = null) => ({ id, object: 'chat.completion.chunk', created, model: this.model, choices: [{ index: 0, delta, finish_reason: finish }] });

    if (mode.firstDelayMs) await sleep(mode.firstDelayMs, signal);
    if (signal.aborted) return;
    for (let i = 0; i < mode.chunks.length; i++) {
      if (i > 0 && mode.delayMs) await sleep(mode.delayMs, signal);
      const delta = i === 0 ? { role: 'assistant', content: mode.chunks[i] } : { content: mode.chunks[i] };
      if (!write(chunk(delta))) return;
      record.sent.push(mode.chunks[i]);
    }
    if (mode.delayMs) await sleep(mode.delayMs, signal);
    if (signal.aborted) return;
    switch (mode.then) {
      case 'stall':
        await sleep(mode.stallMs ?? 60000, signal);
        if (!signal.aborted) res.end();
        return;
      case 'error':
        write({ error: { message: mode.errorMessage, type: 'server_error' } });
        res.end();
        break;
      case 'garbage':
        res.write('data: {"choices":[{"delta":{"content": \u0000garbage!!\n\nthis is not SSE at all }}}\n\n');
        res.end();
        break;
      case 'drop':
        await new Promise((resolve) => setTimeout(resolve, 30));
        req.socket.destroy();
        return;
      default:
        write(chunk({}, 'stop'));
        write('[DONE]');
        res.end();
    }
    record.finishedAt = Date.now();
  }
}

export async function startFakeUpstream(opts) {
  return new FakeUpstream(opts).listen();
}
