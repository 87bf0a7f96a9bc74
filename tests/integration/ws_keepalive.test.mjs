// WebSocket keep-alive: the server pings every server.keepalive_interval_ms and closes a client
// that leaves two pings in a row unanswered (close 1008), while a client that answers stays open.
// The silent client is a raw TCP socket speaking just enough of RFC 6455 to never send a pong.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import crypto from 'node:crypto';
import { useServer } from './lib/fixtures.mjs';

const INTERVAL_MS = 200;
const T = { timeout: 30000 };
const ctx = useServer({ name: 'ws_keepalive', settings: { 'server.keepalive_interval_ms': INTERVAL_MS } });

// Opens /ws over a raw socket; records every server frame (opcode, payload) with its arrival time.
function rawWs(port, token) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    const client = { sock, frames: [], ended: null, upgraded: false };
    let buf = Buffer.alloc(0);
    client.ended = new Promise((res) => sock.on('close', () => res(Date.now())));
    sock.on('error', () => {});
    sock.on('connect', () => {
      sock.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
      );
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!client.upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) {
          reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
          sock.destroy();
          return;
        }
        client.upgraded = true;
        buf = buf.subarray(end + 4);
        resolve(client);
      }
      // Server frames are unmasked; control frames are short (payload < 126).
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf.length < off + len) return;
        client.frames.push({ opcode: buf[0] & 0x0f, payload: buf.subarray(off, off + len), at: Date.now() });
        buf = buf.subarray(off + len);
      }
    });
  });
}

describe('websocket keep-alive', () => {
  test('a client that never answers pings is closed after two missed pongs', T, async () => {
    const start = Date.now();
    const c = await rawWs(ctx.server.port, ctx.server.adminToken);
    const endedAt = await Promise.race([c.ended, new Promise((r) => setTimeout(() => r(null), 20 * INTERVAL_MS))]);
    assert.ok(endedAt, `connection still open after ${20 * INTERVAL_MS} ms`);
    const pings = c.frames.filter((f) => f.opcode === 0x9);
    assert.equal(pings.length, 2, `two pings before the close, got ${pings.length}`);
    const close = c.frames.find((f) => f.opcode === 0x8);
    assert.ok(close, 'a close frame was sent');
    assert.equal(close.payload.readUInt16BE(0), 1008);
    assert.equal(close.payload.subarray(2).toString(), 'ping timeout');
    // Not before the third interval (two pings went out, each needed a chance to be answered).
    assert.ok(endedAt - start >= 3 * INTERVAL_MS - 50, `closed after ${endedAt - start} ms`);
    c.sock.destroy();
  });

  test('a client that answers pings stays connected', T, async () => {
    const ws = await ctx.api.ws();
    try {
      await new Promise((r) => setTimeout(r, 8 * INTERVAL_MS));
      assert.ok(ws.pings >= 4, `pings: ${ws.pings}`);
      assert.equal(ws.closeInfo, null, 'still open');
      ws.send({ type: 'ping' });
      assert.equal((await ws.waitFor((m) => m.type === 'pong', 3000, 'pong')).type, 'pong');
    } finally {
      ws.close();
    }
  });
});
