// Self-test of the harness pieces that do not need the troupe binary: CRC-32 and the PNG writer,
// the SSE parser, and every scripted mode of the fake OpenAI upstream.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { crc32, encodePng, readPngChunks, pngTextChunks, cardTextChunk, decodeCardChunk, pngSize, pngChunk } from './lib/png.mjs';
import { openSse } from './lib/client.mjs';
import { startFakeUpstream, modes, chunkTexts } from './lib/fake_upstream.mjs';
import { EventQueue } from './lib/util.mjs';

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
  // IEND's CRC is fixed by the PNG spec.
  assert.equal(crc32(Buffer.from('IEND')), 0xae426082);
});

test('PNG writer produces a well-formed image with card chunks', () => {
  const json = '{"spec":"chara_card_v2","data":{"name":"Zoë","extensions":{"n":1.50}}}';
  const png = encodePng({ width: 3, height: 2, chunks: [cardTextChunk('chara', json)] });
  const chunks = readPngChunks(png);
  assert.deepEqual(chunks.map((c) => c.type), ['IHDR', 'tEXt', 'IDAT', 'IEND']);
  assert.ok(chunks.every((c) => c.crcOk));
  assert.deepEqual(pngSize(png), { width: 3, height: 2 });
  const raw = zlib.inflateSync(chunks[2].data);
  assert.equal(raw.length, 2 * (1 + 3 * 4));
  assert.equal(decodeCardChunk(pngTextChunks(png).chara), json);
  const bad = encodePng({ chunks: [cardTextChunk('chara', json, { badCrc: true })] });
  assert.equal(readPngChunks(bad)[1].crcOk, false);
  const lying = pngChunk('tEXt', Buffer.from('x'), { declaredLength: 0x7ffffff0 });
  assert.equal(lying.readUInt32BE(0), 0x7ffffff0);
});

test('SSE parser handles ids, events, multi-line data, comments and CRLF', async (t) => {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write(': keep-alive\n\n');
    res.write('id: 7\r\nevent: token\r\ndata: {"type":"token","seq":7,\r\ndata: "text":"a"}\r\n\r\n');
    res.write('id: 8\nevent: generation.finished\n');
    setTimeout(() => res.end('data: {"type":"generation.finished","seq":8}\n\n'), 20);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const sse = await openSse(`http://127.0.0.1:${server.address().port}/`);
  assert.equal(sse.status, 200);
  const a = await sse.events.next(2000);
  assert.equal(a.id, '7');
  assert.equal(a.event, 'token');
  assert.deepEqual(a.json, { type: 'token', seq: 7, text: 'a' });
  const b = await sse.events.next(2000);
  assert.equal(b.seq, 8);
  assert.equal(b.type, 'generation.finished');
  assert.equal(await sse.comments.next(2000), 'keep-alive');
  await sse.events.waitEnd(2000);
});

test('EventQueue waits are bounded', async () => {
  const q = new EventQueue('q');
  setTimeout(() => q.push(1), 10);
  assert.equal(await q.next(1000), 1);
  await assert.rejects(q.next(50), /timed out/);
  q.end();
  await assert.rejects(q.next(50), /ended/);
});

const up = await startFakeUpstream();
after(() => up.close());

async function complete(content, { signal } = {}) {
  return fetch(`${up.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'system', content: 'sys' }, { role: 'user', content }] }),
    signal,
  });
}

// Reads an upstream SSE body into {deltas, errors, garbage, done, failed}.
async function readStream(res) {
  const out = { deltas: [], errors: [], garbage: 0, done: false, failed: false };
  let text = '';
  try {
    for await (const c of res.body) text += Buffer.from(c).toString('utf8');
  } catch {
    out.failed = true;
  }
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    if (!block.startsWith('data: ')) {
      out.garbage++;
      continue;
    }
    const d = block.slice(6);
    if (d === '[DONE]') {
      out.done = true;
      continue;
    }
    try {
      const j = JSON.parse(d);
      if (j.error) out.errors.push(j.error.message);
      else if (j.choices?.[0]?.delta?.content) out.deltas.push(j.choices[0].delta.content);
    } catch {
      out.garbage++;
    }
  }
  return out;
}

test('fake upstream: default stream and request recording', async () => {
  const res = await complete('hello');
  assert.equal(res.status, 200);
  const r = await readStream(res);
  assert.deepEqual(r.deltas, chunkTexts(5));
  assert.ok(r.done);
  const rec = up.completions.at(-1);
  assert.equal(rec.body.model, 'm');
  assert.equal(rec.body.messages[1].content, 'hello');
  assert.ok(rec.finishedAt);
});

test('fake upstream: scripted queue takes precedence over markers', async () => {
  up.enqueue(modes.chunks(['a', 'b']));
  const r = await readStream(await complete('[up:drop:1]'));
  assert.deepEqual(r.deltas, ['a', 'b']);
});

test('fake upstream: error chunk, garbage, drop, http 500 by marker', async () => {
  const e = await readStream(await complete('x [up:error:2]'));
  assert.deepEqual(e.deltas, chunkTexts(2));
  assert.deepEqual(e.errors, ['upstream exploded']);
  const g = await readStream(await complete('x [up:garbage:1]'));
  assert.deepEqual(g.deltas, chunkTexts(1));
  assert.ok(g.garbage >= 1);
  const d = await readStream(await complete('x [up:drop:3]'));
  assert.deepEqual(d.deltas, chunkTexts(3));
  assert.ok(d.failed, 'a dropped stream must end in a read error');
  assert.ok(!d.done);
  const h = await complete('x [up:http:500]');
  assert.equal(h.status, 500);
});

test('fake upstream: stalls and client close tracking', async () => {
  up.enqueue(modes.stallFirst(20000));
  const ac = new AbortController();
  const res = await complete('stall', { signal: ac.signal });
  assert.equal(res.status, 200);
  const rec = up.completions.at(-1);
  const t0 = Date.now();
  ac.abort();
  await up.waitForClose(rec, 2000);
  assert.ok(rec.clientClosed);
  assert.ok(rec.closedAt - t0 < 1000);

  up.enqueue(modes.stallMid(2, 5));
  const ac2 = new AbortController();
  const res2 = await complete('mid', { signal: ac2.signal });
  const reader = res2.body.getReader();
  let seen = '';
  while (!seen.includes(' t1')) seen += Buffer.from((await reader.read()).value).toString('utf8');
  const rec2 = up.completions.at(-1);
  assert.equal(rec2.closedAt, null);
  ac2.abort();
  await up.waitForClose(rec2, 2000);
  assert.ok(rec2.clientClosed);
});
