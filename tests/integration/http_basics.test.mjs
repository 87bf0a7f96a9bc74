// HTTP surface: health/readiness, auth, routing errors, body/header limits, request timeout,
// connection limit, and the JSON error body shape.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Api, expectError, rawHttp, openSse, openWs } from './lib/client.mjs';
import { useServer, sampleCharacter } from './lib/fixtures.mjs';
import { pollUntil } from './lib/util.mjs';
import net from 'node:net';

// Writes `parts` (strings, or numbers = pause ms) on one connection and collects what comes back
// until `done(text)` holds, the peer closes, or `timeoutMs` passes. Resolves with {text, closed,
// timedOut, socket}; the socket stays open for further writes when `keepOpen`.
function exchange(port, parts, done, { timeoutMs = 5000, keepOpen = false } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    let text = '';
    let settled = false;
    const finish = (extra) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!keepOpen) sock.destroy();
      resolve({ text, socket: sock, ...extra });
    };
    const timer = setTimeout(() => finish({ timedOut: true }), timeoutMs);
    sock.on('data', (d) => {
      text += d.toString('latin1');
      if (done(text)) finish({ closed: false });
    });
    sock.on('close', () => finish({ closed: true }));
    sock.on('error', () => finish({ closed: true }));
    sock.on('connect', async () => {
      for (const p of parts) {
        if (settled || sock.destroyed) return;
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else sock.write(p);
      }
    });
  });
}

// Splits a byte stream (latin1 text) of Content-Length-framed responses; `headOnly` marks the
// responses (by index) that answer HEAD and so carry no body whatever their Content-Length says.
function splitResponses(text, headOnly = new Set()) {
  const out = [];
  let off = 0;
  while (off < text.length) {
    const end = text.indexOf('\r\n\r\n', off);
    if (end < 0) break;
    const head = text.slice(off, end);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    const bodyLen = headOnly.has(out.length) ? 0 : len;
    if (text.length < end + 4 + bodyLen) break;
    out.push({ status, head, contentLength: len, body: text.slice(end + 4, end + 4 + bodyLen) });
    off = end + 4 + bodyLen;
  }
  return { responses: out, rest: text.slice(off) };
}

const T = { timeout: 30000 };

describe('health, auth and routing', () => {
  const ctx = useServer({
    name: 'http-basics',
    settings: { 'server.max_body_bytes': 4096, 'server.max_header_bytes': 2048, 'server.request_timeout_ms': 700 },
  });

  test('GET /healthz and /readyz', T, async () => {
    const anon = ctx.api.withToken(null);
    const h = await anon.get('/healthz');
    assert.equal(h.status, 200);
    assert.deepEqual(h.json, { status: 'ok' });
    assert.match(h.headers.get('content-type') ?? '', /application\/json/);
    const r = await anon.get('/readyz');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ready', ready: true });
  });

  test('401 without or with an unknown token', T, async () => {
    const anon = ctx.api.withToken(null);
    expectError(await anon.get('/api/characters'), 401, 'unauthorized');
    expectError(await anon.post('/api/characters', { name: 'x' }), 401, 'unauthorized');
    expectError(await ctx.api.withToken('trp_not_a_real_token').get('/api/characters'), 401, 'unauthorized');
    expectError(await anon.get('/api/characters', { headers: { Authorization: 'Basic dXNlcjpwYXNz' } }), 401, 'unauthorized');
    const sse = await openSse(`${ctx.server.baseUrl}/api/chats/1/events`);
    assert.equal(sse.status, 401);
    assert.equal(sse.json?.error?.code, 'unauthorized');
    await assert.rejects(openWs(ctx.server.wsUrl), (e) => e.status === 401);
    await assert.rejects(openWs(ctx.server.wsUrl, { token: 'trp_bogus' }), (e) => e.status === 401);
    // Nothing was created by the rejected POST.
    const list = await ctx.api.get('/api/characters');
    assert.equal(list.status, 200);
    assert.ok(!list.json.characters.some((c) => c.name === 'x'));
  });

  test('a valid token works in the header', T, async () => {
    const res = await ctx.api.get('/api/characters');
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.json.characters));
  });

  test('unknown route → 404 not_found', T, async () => {
    expectError(await ctx.api.get('/api/does-not-exist'), 404, 'not_found');
    expectError(await ctx.api.get('/api/characters/999999'), 404, 'not_found');
    expectError(await ctx.api.post('/api/nothing/here', { a: 1 }), 404, 'not_found');
  });

  test('wrong method → 405 with Allow', T, async () => {
    const del = await ctx.api.del('/api/characters');
    expectError(del, 405, 'method_not_allowed');
    const allow = (del.headers.get('allow') ?? '').toUpperCase();
    assert.match(allow, /GET/, `Allow: ${allow}`);
    assert.match(allow, /POST/, `Allow: ${allow}`);

    const c = await ctx.api.createCharacter(sampleCharacter());
    const patch = await ctx.api.req('PATCH', `/api/characters/${c.id}`, { body: { name: 'y' } });
    expectError(patch, 405, 'method_not_allowed');
    const allow2 = (patch.headers.get('allow') ?? '').toUpperCase();
    for (const m of ['GET', 'PUT', 'DELETE']) assert.match(allow2, new RegExp(m), `Allow: ${allow2}`);

    const gens = await ctx.api.get('/api/chats/1/generations');
    expectError(gens, 405, 'method_not_allowed');
    assert.match((gens.headers.get('allow') ?? '').toUpperCase(), /POST/);

    const hz = await ctx.api.withToken(null).post('/healthz', {});
    expectError(hz, 405, 'method_not_allowed');
    assert.match((hz.headers.get('allow') ?? '').toUpperCase(), /GET/);
  });

  test('invalid JSON → 400 with a byte position', T, async () => {
    const body = '{"name":"abc","description": @}';
    const res = await ctx.api.post('/api/characters', body);
    const err = expectError(res, 400, ['invalid_json', 'bad_request']);
    assert.ok(Number.isInteger(err.position), `error.position must be an integer: ${res.text}`);
    const at = body.indexOf('@');
    assert.ok(err.position >= at - 1 && err.position <= at + 1, `position ${err.position} should point at byte ${at}`);

    const truncated = await ctx.api.post('/api/characters', '{"name":"abc"');
    const err2 = expectError(truncated, 400, ['invalid_json', 'bad_request']);
    assert.ok(Number.isInteger(err2.position));
    assert.ok(err2.position >= 0 && err2.position <= 14);
  });

  test('failed validation → 400 bad_request', T, async () => {
    expectError(await ctx.api.post('/api/characters', {}), 400, 'bad_request');
    expectError(await ctx.api.post('/api/characters', { name: 5 }), 400, 'bad_request');
    expectError(await ctx.api.post('/api/characters', [1, 2]), 400, 'bad_request');
    expectError(await ctx.api.post('/api/chats', { character_id: 'abc' }), 400, 'bad_request');
  });

  test('body over max_body_bytes → 413', T, async () => {
    const big = JSON.stringify({ name: 'big', description: 'x'.repeat(8000) });
    const res = await rawHttp(ctx.server.port, [
      `POST /api/characters HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${ctx.server.adminToken}\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n`,
      big,
    ]);
    assert.equal(res.status, 413, `expected 413, got ${res.rawResponse.slice(0, 200)}`);
    assert.equal(res.json?.error?.code, 'payload_too_large');
    assert.equal(typeof res.json?.error?.message, 'string');

    // The same with a chunked body (no Content-Length up front).
    const chunk = 'x'.repeat(3000);
    const parts = [`POST /api/characters HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${ctx.server.adminToken}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`];
    for (let i = 0; i < 3; i++) parts.push(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    parts.push('0\r\n\r\n');
    const res2 = await rawHttp(ctx.server.port, parts);
    assert.equal(res2.status, 413, `chunked: expected 413, got ${res2.rawResponse.slice(0, 200)}`);
    assert.equal(res2.json?.error?.code, 'payload_too_large');
    const list = await ctx.api.get('/api/characters?search=big');
    assert.equal(list.json.characters.length, 0, 'nothing stored');
  });

  test('headers over max_header_bytes → 431 (or 400) with a JSON error', T, async () => {
    const res = await rawHttp(ctx.server.port, [`GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ${'a'.repeat(6000)}\r\n\r\n`]);
    assert.ok([431, 400].includes(res.status), `expected 431/400, got ${res.rawResponse.slice(0, 200)}`);
    assert.equal(typeof res.json?.error?.code, 'string', `JSON error body expected: ${res.body}`);
    assert.equal(typeof res.json?.error?.message, 'string');
  });

  test('HEAD answers headers only, and the connection stays usable', T, async () => {
    // HEAD runs the GET route (/healthz) or serves the static file (the UI's index): both keep
    // their Content-Length and send no body, so the GET after each parses cleanly.
    const req = (m, path) => `${m} ${path} HTTP/1.1\r\nHost: t\r\n\r\n`;
    const parts = [req('HEAD', '/healthz'), req('GET', '/healthz'), req('HEAD', '/'), req('GET', '/healthz')];
    const heads = new Set([0, 2]);
    const got = await exchange(ctx.server.port, [parts.join('')], (t) => splitResponses(t, heads).responses.length >= 4);
    assert.ok(!got.timedOut && !got.closed, `four responses expected, got: ${got.text.slice(0, 600)}`);
    const { responses, rest } = splitResponses(got.text, heads);
    assert.equal(rest, '', 'nothing after the fourth response');
    assert.equal(responses[0].status, 200);
    assert.equal(responses[1].status, 200);
    assert.equal(responses[0].contentLength, responses[1].body.length, 'HEAD keeps the Content-Length of the body it omits');
    assert.deepEqual(JSON.parse(responses[1].body), { status: 'ok' });
    assert.equal(responses[2].status, 200);
    assert.ok(responses[2].contentLength > 0);
    assert.equal(responses[3].status, 200);
    assert.deepEqual(JSON.parse(responses[3].body), { status: 'ok' });
  });

  test('HEAD of an event stream: its headers, then close; HEAD of a POST-only path: 405', T, async () => {
    const c = await ctx.api.createCharacter(sampleCharacter());
    const chat = await ctx.api.createChat(c.id);
    const got = await exchange(
      ctx.server.port,
      [`HEAD /api/chats/${chat.id}/events HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${ctx.server.adminToken}\r\n\r\n`],
      () => false,
      { timeoutMs: 3000 },
    );
    assert.ok(got.closed && !got.timedOut, `the server closes after the headers: ${got.text.slice(0, 300)}`);
    assert.match(got.text, /^HTTP\/1\.1 200 /);
    assert.match(got.text, /\r\ncontent-type: text\/event-stream/i);
    assert.ok(got.text.endsWith('\r\n\r\n'), `no body after the headers: ${JSON.stringify(got.text.slice(-80))}`);
    const post = await exchange(
      ctx.server.port,
      [`HEAD /api/characters/import HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${ctx.server.adminToken}\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n`],
      (t) => splitResponses(t, new Set([0])).responses.length >= 2,
    );
    const [r405, r200] = splitResponses(post.text, new Set([0])).responses;
    assert.equal(r405?.status, 405, post.text.slice(0, 300));
    assert.match(r405.head, /\r\nallow: POST/i);
    assert.equal(r200?.status, 200);
  });

  test('Expect: 100-continue is answered before the body is sent', T, async () => {
    const body = JSON.stringify({ name: 'continued', description: 'sent after 100 Continue' });
    const head = `POST /api/characters HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${ctx.server.adminToken}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`;
    const interim = await exchange(ctx.server.port, [head], (t) => t.includes('\r\n\r\n'), { timeoutMs: 2000, keepOpen: true });
    try {
      assert.ok(!interim.timedOut, 'no 100 Continue within 2 s');
      assert.match(interim.text, /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      const final = await new Promise((resolve, reject) => {
        let text = '';
        const t = setTimeout(() => reject(new Error(`no final response: ${text}`)), 5000);
        interim.socket.on('data', (d) => {
          text += d.toString('latin1');
          const { responses } = splitResponses(text);
          if (responses.length) {
            clearTimeout(t);
            resolve(responses[0]);
          }
        });
        interim.socket.write(body);
      });
      assert.equal(final.status, 201, final.head);
      assert.equal(JSON.parse(final.body).name, 'continued');
    } finally {
      interim.socket.destroy();
    }
    // An oversized body is refused at once, without a 100 Continue.
    const big = `POST /api/characters HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${ctx.server.adminToken}\r\n` +
      `Content-Type: application/json\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n`;
    const refused = await exchange(ctx.server.port, [big], (t) => splitResponses(t).responses.length >= 1, { timeoutMs: 2000 });
    const first = splitResponses(refused.text).responses[0];
    assert.equal(first?.status, 413, refused.text.slice(0, 300));
  });

  test('pipelined requests are all answered, in order', T, async () => {
    // More than a burst of pipelined requests (the session yields its thread between bursts);
    // the answers alternate like the requests do.
    const n = 101;
    const path = (i) => (i % 2 === 0 ? '/healthz' : '/readyz');
    let batch = '';
    for (let i = 0; i < n; i++) batch += `GET ${path(i)} HTTP/1.1\r\nHost: t\r\n\r\n`;
    const got = await exchange(ctx.server.port, [batch], (t) => splitResponses(t).responses.length >= n, { timeoutMs: 10000 });
    const { responses, rest } = splitResponses(got.text);
    assert.equal(responses.length, n, `answered ${responses.length} of ${n}`);
    assert.equal(rest, '');
    responses.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).status, i % 2 === 0 ? 'ok' : 'ready', `response ${i} out of order`);
    });
  });

  test('request not received in time → 408 with a JSON error, then close', T, async () => {
    const check = (res, what) => {
      assert.ok(!res.timedOut, `${what}: connection neither answered nor closed`);
      assert.equal(res.status, 408, `${what}: ${res.rawResponse.slice(0, 200)}`);
      assert.equal(res.json?.error?.code, 'timeout');
    };
    const t0 = Date.now();
    // Partial headers, then silence.
    check(await rawHttp(ctx.server.port, ['GET /healthz HTTP/1.1\r\nHost: t\r\n'], { timeoutMs: 5000 }), 'partial headers');
    assert.ok(Date.now() - t0 < 4500);
    // Complete headers, partial body.
    check(
      await rawHttp(ctx.server.port, [`POST /api/characters HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${ctx.server.adminToken}\r\nContent-Length: 100\r\n\r\n{"name":`], { timeoutMs: 5000 }),
      'partial body',
    );
    // A slow drip of header bytes must not extend the whole-request deadline.
    const drip = [];
    for (const ch of 'GET /healthz HTTP/1.1\r\nHost: slow.example\r\nX-Slow: 1234567890') drip.push(ch, 100);
    const t1 = Date.now();
    check(await rawHttp(ctx.server.port, drip, { timeoutMs: 6000 }), 'slow drip');
    assert.ok(Date.now() - t1 < 5000, 'the drip must be cut off by the request timeout');
  });
});

describe('connection limit', () => {
  const ctx = useServer({ name: 'http-maxconn', settings: { 'server.max_connections': 4 } });

  test('over max_connections → 503 with Retry-After', T, async () => {
    const held = [];
    try {
      for (let i = 0; i < 4; i++) {
        const r = await rawHttp(ctx.server.port, ['GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n'], { keepOpen: true });
        assert.equal(r.status, 200, `connection ${i + 1} should be served`);
        held.push(r.socket);
      }
      const over = await rawHttp(ctx.server.port, ['GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n']);
      assert.equal(over.status, 503, `5th connection: ${over.rawResponse.slice(0, 200)}`);
      assert.ok(over.headers['retry-after'] !== undefined, 'Retry-After header');
      assert.equal(over.json?.error?.code, 'unavailable');
      assert.equal(typeof over.json?.error?.message, 'string');
    } finally {
      for (const s of held) s.destroy();
    }
    // Once the held connections are gone, requests are served again.
    await pollUntil(async () => (await rawHttp(ctx.server.port, ['GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'])).status === 200, {
      timeoutMs: 5000,
      what: 'service after releasing connections',
    });
  });
});
