// Client helpers: REST over fetch with the bearer token, an SSE reader over fetch streams,
// a WebSocket wrapper with a message queue, and a raw-socket HTTP exchange for limit tests.
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { EventQueue, pollUntil } from './util.mjs';

export { WebSocket };

// Asserts an error response: status, {"error":{"code","message"}} shape and (optionally) the code.
export function expectError(res, status, code) {
  const where = `${res.method ?? ''} ${res.path ?? ''}`.trim();
  assert.equal(res.status, status, `${where}: expected ${status}, got ${res.status}: ${res.text?.slice(0, 300)}`);
  assert.ok(res.json && typeof res.json === 'object', `${where}: error body is not JSON: ${res.text?.slice(0, 300)}`);
  assert.ok(res.json.error && typeof res.json.error === 'object', `${where}: no "error" object: ${res.text?.slice(0, 300)}`);
  assert.equal(typeof res.json.error.code, 'string', `${where}: error.code must be a string`);
  assert.equal(typeof res.json.error.message, 'string', `${where}: error.message must be a string`);
  if (code !== undefined) {
    const codes = Array.isArray(code) ? code : [code];
    assert.ok(codes.includes(res.json.error.code), `${where}: expected code ${codes.join('|')}, got ${res.json.error.code}`);
  }
  return res.json.error;
}

export function expectStatus(res, status) {
  assert.equal(res.status, status, `${res.method} ${res.path}: expected ${status}, got ${res.status}: ${res.text?.slice(0, 500)}`);
  return res.json;
}

export class Api {
  // `target` is a base URL string or an object with a `baseUrl` getter (a TroupeServer, whose port
  // changes across restarts).
  constructor(target, token) {
    this.target = target;
    this.token = token;
  }

  get baseUrl() {
    return typeof this.target === 'string' ? this.target : this.target.baseUrl;
  }

  withToken(token) {
    return new Api(this.target, token);
  }

  // Sends a request. `body` is JSON-encoded; `raw` (Buffer/string) is sent as is.
  async req(method, path, { body, raw, headers = {}, token = this.token, timeoutMs = 10000 } = {}) {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}`;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    const res = await fetch(this.baseUrl + path, { method, headers: h, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    const buf = Buffer.from(await res.arrayBuffer());
    const text = buf.toString('utf8');
    let json;
    try {
      json = text.length ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { method, path, status: res.status, headers: res.headers, buf, text, json };
  }

  get(path, opts) {
    return this.req('GET', path, opts);
  }
  post(path, body, opts = {}) {
    return this.req('POST', path, { ...opts, body });
  }
  put(path, body, opts = {}) {
    return this.req('PUT', path, { ...opts, body });
  }
  del(path, opts) {
    return this.req('DELETE', path, opts);
  }

  // ---- domain helpers (assert the documented success status) ----

  async createCharacter(fields) {
    return expectStatus(await this.post('/api/characters', fields), 201);
  }

  async createPersona(fields) {
    return expectStatus(await this.post('/api/personas', fields), 201);
  }

  async createChat(characterId, extra = {}) {
    return expectStatus(await this.post('/api/chats', { character_id: characterId, ...extra }), 201);
  }

  async getChat(chatId) {
    return expectStatus(await this.get(`/api/chats/${chatId}`), 200);
  }

  async messages(chatId, query = '') {
    const q = query ? `?${query}` : '';
    return expectStatus(await this.get(`/api/chats/${chatId}/messages${q}`), 200).messages;
  }

  async allMessages(chatId) {
    return this.messages(chatId, 'limit=200');
  }

  async postMessage(chatId, content, headers = {}) {
    return expectStatus(await this.post(`/api/chats/${chatId}/messages`, { content }, { headers }), 202);
  }

  async generation(genId) {
    return expectStatus(await this.get(`/api/generations/${genId}`), 200);
  }

  // Polls a generation until it is no longer running; returns the final generation object.
  async waitGeneration(genId, { timeoutMs = 15000 } = {}) {
    return pollUntil(
      async () => {
        const g = await this.generation(genId);
        return g.status !== 'running' ? g : null;
      },
      { timeoutMs, intervalMs: 20, what: `generation ${genId} to finish` },
    );
  }

  // Posts a user message and waits for the reply to finish. Returns {message, reply, generation}.
  async turn(chatId, content, { timeoutMs = 15000 } = {}) {
    const posted = await this.postMessage(chatId, content);
    const generation = await this.waitGeneration(posted.generation.id, { timeoutMs });
    return { ...posted, generation };
  }

  // Opens the chat's SSE stream (see openSse).
  sse(chatId, opts = {}) {
    const params = new URLSearchParams();
    if (opts.afterSeq !== undefined) params.set('after_seq', String(opts.afterSeq));
    const q = params.toString();
    return openSse(`${this.baseUrl}/api/chats/${chatId}/events${q ? `?${q}` : ''}`, { token: this.token, ...opts });
  }

  ws(opts = {}) {
    return openWs(this.baseUrl.replace(/^http/, 'ws') + '/ws', { token: this.token, ...opts });
  }
}

// ---------------------------------------------------------------------------------------------
// Server-Sent Events over fetch. Resolves once the response headers arrive:
//   {status, headers, json (non-200 only), events: EventQueue, comments: EventQueue, close()}
// Each event: {id, event, data, json, type, seq}.
export async function openSse(url, { token, lastEventId, timeoutMs = 5000, headers = {} } = {}) {
  const ac = new AbortController();
  const h = { Accept: 'text/event-stream', ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (lastEventId !== undefined && lastEventId !== null) h['Last-Event-ID'] = String(lastEventId);
  const timer = setTimeout(() => ac.abort(new Error(`SSE connect to ${url} timed out`)), timeoutMs);
  let res;
  try {
    res = await fetch(url, { headers: h, signal: ac.signal });
  } finally {
    clearTimeout(timer);
  }
  const out = {
    url,
    status: res.status,
    headers: res.headers,
    events: new EventQueue(`SSE ${url}`),
    comments: new EventQueue(`SSE comments ${url}`),
    closed: false,
    close() {
      out.closed = true;
      ac.abort();
    },
  };
  if (res.status !== 200) {
    out.text = await res.text();
    try {
      out.json = JSON.parse(out.text);
    } catch {
      out.json = undefined;
    }
    out.events.end(new Error(`HTTP ${res.status}`));
    out.comments.end();
    return out;
  }
  pumpSse(res.body, out).catch(() => {});
  return out;
}

async function pumpSse(body, out) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let data = [];
  let event = null;
  let id = null;
  let sawField = false;

  const dispatch = () => {
    if (sawField && (data.length || event !== null)) {
      const text = data.join('\n');
      let json;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      out.events.push({ id, event: event ?? 'message', data: text, json, type: json?.type, seq: json?.seq });
    }
    data = [];
    event = null;
    id = null;
    sawField = false;
  };

  const line = (l) => {
    if (l === '') return dispatch();
    if (l.startsWith(':')) return out.comments.push(l.slice(1).replace(/^ /, ''));
    const i = l.indexOf(':');
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? '' : l.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    sawField = true;
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
    else if (field === 'id') id = value;
  };

  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buf);
        if (!m) break;
        // A trailing lone CR may be the first half of CRLF: wait for more input.
        if (m[0] === '\r' && m.index === buf.length - 1) break;
        line(buf.slice(0, m.index));
        buf = buf.slice(m.index + m[0].length);
      }
    }
    out.events.end(null);
    out.comments.end(null);
  } catch (e) {
    out.events.end(out.closed ? null : e);
    out.comments.end(null);
  }
}

// ---------------------------------------------------------------------------------------------
// WebSocket: resolves once open. Messages (parsed JSON, or {raw} when not JSON) go to `queue`.
export function openWs(url, { token, viaQuery = false, timeoutMs = 5000, maxPayload } = {}) {
  let target = url;
  const headers = {};
  if (token && viaQuery) target += `${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(token)}`;
  else if (token) headers.Authorization = `Bearer ${token}`;
  const ws = new WebSocket(target, { headers, handshakeTimeout: timeoutMs, ...(maxPayload ? { maxPayload } : {}) });
  const client = {
    ws,
    queue: new EventQueue(`WS ${url}`),
    pings: 0,
    closeInfo: null,
    send(obj) {
      ws.send(JSON.stringify(obj));
    },
    sendRaw(data, opts) {
      ws.send(data, opts);
    },
    waitFor(pred, ms, what) {
      return client.queue.waitFor(pred, ms, what);
    },
    next(ms) {
      return client.queue.next(ms);
    },
    close() {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
    },
  };
  client.closed = new Promise((resolve) => {
    ws.on('close', (code, reason) => {
      client.closeInfo = { code, reason: reason.toString() };
      client.queue.end(null);
      resolve(client.closeInfo);
    });
  });
  ws.on('message', (data, isBinary) => {
    const text = data.toString('utf8');
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    client.queue.push(json && typeof json === 'object' ? json : { raw: text, isBinary });
  });
  ws.on('ping', () => {
    client.pings += 1;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`WebSocket ${url}: not open within ${timeoutMs} ms`));
    }, timeoutMs + 500);
    ws.on('open', () => {
      clearTimeout(timer);
      resolve(client);
    });
    ws.on('unexpected-response', (req, res) => {
      clearTimeout(timer);
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const err = new Error(`WebSocket handshake rejected with HTTP ${res.statusCode}: ${body.slice(0, 200)}`);
        err.status = res.statusCode;
        err.body = body;
        reject(err);
        ws.terminate();
      });
      res.on('error', () => {});
    });
    ws.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// Subscribes over an open WS client and waits for "subscribed". Returns the subscribed frame.
export async function wsSubscribe(client, chatId, afterSeq, timeoutMs = 5000) {
  const msg = { type: 'subscribe', chat_id: chatId };
  if (afterSeq !== undefined) msg.after_seq = afterSeq;
  client.send(msg);
  return client.waitFor(
    (m) => (m.type === 'subscribed' && m.chat_id === chatId) || m.type === 'error',
    timeoutMs,
    `subscribed to chat ${chatId}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP over net.Socket. `parts` are written in order (strings/Buffers, or numbers = pause ms).
// Resolves with {status, headers, body, json, closed, error} once a full response arrived, the
// socket closed, or `timeoutMs` passed (then {timedOut: true}).
export function rawHttp(port, parts, { timeoutMs = 5000, host = '127.0.0.1', keepOpen = false } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (extra) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const parsed = parseHttpResponse(buf);
      if (!keepOpen) sock.destroy();
      resolve({ ...parsed, ...extra, socket: sock, rawResponse: buf.toString('latin1') });
    };
    const timer = setTimeout(() => finish({ timedOut: true }), timeoutMs);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const parsed = parseHttpResponse(buf);
      if (parsed.complete) finish({ closed: false });
    });
    sock.on('close', () => finish({ closed: true }));
    sock.on('error', (e) => finish({ closed: true, error: e }));
    sock.on('connect', async () => {
      for (const p of parts) {
        if (settled || sock.destroyed) return;
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else sock.write(p);
      }
    });
  });
}

// Parses one HTTP/1.1 response from the start of `buf` (Content-Length or chunked bodies).
export function parseHttpResponse(buf) {
  const text = buf.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { complete: false, status: null };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const m = /^HTTP\/\d\.\d (\d{3})/.exec(statusLine);
  const headers = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const status = m ? Number(m[1]) : null;
  let bodyBuf = buf.subarray(end + 4);
  let complete = false;
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    complete = bodyBuf.length >= n;
    bodyBuf = bodyBuf.subarray(0, n);
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts = [];
    let off = 0;
    for (;;) {
      const s = bodyBuf.toString('latin1', off);
      const nl = s.indexOf('\r\n');
      if (nl < 0) break;
      const size = parseInt(s.slice(0, nl), 16);
      if (Number.isNaN(size)) break;
      if (size === 0) {
        complete = true;
        break;
      }
      const start = off + nl + 2;
      if (bodyBuf.length < start + size + 2) break;
      parts.push(bodyBuf.subarray(start, start + size));
      off = start + size + 2;
    }
    bodyBuf = Buffer.concat(parts);
  } else if (status === 204 || status === 304) {
    complete = true;
  }
  const body = bodyBuf.toString('utf8');
  let json;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { complete, status, headers, body, json };
}
