// Two Troupe nodes sharing one real PostgreSQL (store) and one real Redis (bus), all started and
// stopped by this file on 127.0.0.1: a user created with `troupe user add --store`, a turn posted
// through node A streamed in order and without gaps to a WebSocket client on node B, REST reads
// through node B, /readyz, and Redis loss (node degraded, REST still working).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Api, wsSubscribe } from './lib/client.mjs';
import { TroupeServer, TROUPE_BIN } from './lib/server.mjs';
import { sampleCharacter, checkTurnEvents, isFinished } from './lib/fixtures.mjs';
import { pollUntil } from './lib/util.mjs';

const T = { timeout: 60000 };

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

// Waits for a child started by this file to exit; SIGKILLs it (by PID) after `ms`.
function stopChild(child, signal, ms = 10000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

function pgBinDir() {
  if (process.env.TROUPE_PG_BIN) return process.env.TROUPE_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'postgres'))) return bin;
  }
  throw new Error('PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (install `postgresql`)');
}

// A throw-away PostgreSQL cluster: initdb in a temp dir (as the `postgres` user when running as
// root), trust auth for user `troupe`, loopback only, an ephemeral port.
class PgServer {
  async start() {
    const bin = pgBinDir();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-it-pg-'));
    const ids = {};
    if (process.getuid() === 0) {
      ids.uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      ids.gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      fs.chownSync(this.dir, ids.uid, ids.gid);
    }
    const data = path.join(this.dir, 'data');
    await new Promise((resolve, reject) => {
      execFile(path.join(bin, 'initdb'), ['-D', data, '-U', 'troupe', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
        { ...ids, timeout: 60000 }, (err, _out, stderr) => (err ? reject(new Error(`initdb failed: ${err.message}\n${stderr}`)) : resolve()));
    });
    this.port = await freePort();
    const log = fs.openSync(path.join(this.dir, 'server.log'), 'a');
    if (ids.uid !== undefined) fs.fchownSync(log, ids.uid, ids.gid);
    this.proc = spawn(path.join(bin, 'postgres'), ['-D', data, '-k', this.dir, '-p', String(this.port),
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off', '-c', 'max_connections=100'], { ...ids, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    await pollUntil(async () => {
      if (this.proc.exitCode !== null) throw new Error(`postgres exited: ${fs.readFileSync(path.join(this.dir, 'server.log'), 'utf8')}`);
      return new Promise((resolve) => {
        execFile(path.join(bin, 'pg_isready', ), ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'troupe', '-d', 'postgres'],
          (err) => resolve(!err));
      });
    }, { timeoutMs: 30000, intervalMs: 100, what: 'postgres accepting connections' });
    return this;
  }

  get url() {
    return `postgres://troupe@127.0.0.1:${this.port}/postgres`;
  }

  async stop() {
    await stopChild(this.proc, 'SIGINT'); // fast shutdown
    if (this.dir && !process.env.TROUPE_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// A throw-away redis-server without persistence on an ephemeral loopback port.
class RedisServer {
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-it-redis-'));
    this.port = await freePort();
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir], { stdio: 'ignore' });
    await pollUntil(async () => {
      if (this.proc.exitCode !== null) throw new Error('redis-server exited at start');
      return canConnect(this.port);
    }, { timeoutMs: 10000, intervalMs: 50, what: 'redis-server accepting connections' });
    return this;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async stop() {
    await stopChild(this.proc, 'SIGTERM');
    if (this.dir && !process.env.TROUPE_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// `troupe user add NAME --store URL`: the token (last stdout line).
function addUser(name, storeUrl, dataDir) {
  return new Promise((resolve, reject) => {
    execFile(TROUPE_BIN, ['user', 'add', name, '--store', storeUrl, '--data', dataDir], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`user add ${name} failed: ${err.message}\n${stderr}`));
      const m = /trp_\S+/.exec(stdout.trim().split('\n').at(-1) ?? '');
      return m ? resolve(m[0]) : reject(new Error(`user add ${name}: no token printed\n${stdout}`));
    });
  });
}

async function readyz(node) {
  const res = await fetch(`${node.baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

const pg = new PgServer();
const redis = new RedisServer();
let nodeA;
let nodeB;
let alice; // { a: Api on node A, b: Api on node B }
let userTmp;

before(async () => {
  await pg.start();
  await redis.start();
  const args = ['--store', pg.url, '--bus', redis.url];
  // Node A first: on an empty database it creates the admin user.
  nodeA = new TroupeServer({ name: 'scaleout-a', args, settings: { 'llm.sim_reply_tokens': 20 } });
  await nodeA.start();
  nodeB = new TroupeServer({ name: 'scaleout-b', args, settings: { 'llm.sim_reply_tokens': 20 } });
  nodeB.starts = 1; // the admin exists already: node B prints no admin token
  await nodeB.start();
  userTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-it-user-'));
  const token = await addUser('alice', pg.url, userTmp);
  alice = { a: new Api(nodeA, token), b: new Api(nodeB, token) };
});

after(async () => {
  await nodeA?.cleanup();
  await nodeB?.cleanup();
  await redis.stop();
  await pg.stop();
  if (userTmp) fs.rmSync(userTmp, { recursive: true, force: true });
});

describe('two nodes on PostgreSQL and Redis', () => {
  test('both nodes become ready once the bus is connected', T, async () => {
    for (const node of [nodeA, nodeB]) {
      await pollUntil(async () => (await readyz(node)).status === 200, { timeoutMs: 10000, what: `${node.name} ready` });
      const r = await readyz(node);
      assert.equal(r.body.ready, true);
    }
  });

  test('a turn through node A streams in order, without gaps, to a WebSocket client on node B', T, async () => {
    const c = await alice.a.createCharacter(sampleCharacter());
    const chat = await alice.a.createChat(c.id);
    // The chat created through A is visible through B (shared store).
    const seen = await alice.b.getChat(chat.id);
    assert.equal(seen.id, chat.id);
    const afterSeq = seen.last_seq;

    const ws = await alice.b.ws();
    try {
      const sub = await wsSubscribe(ws, chat.id, afterSeq);
      assert.equal(sub.type, 'subscribed', JSON.stringify(sub));
      const posted = await alice.a.postMessage(chat.id, 'Hello from node A');
      const events = await ws.queue.collectUntil(isFinished(posted.generation.id), 20000, 'generation.finished on node B');
      const chatEvents = events.filter((e) => e.chat_id === chat.id);
      const { tokens, finished } = checkTurnEvents(chatEvents, posted, afterSeq);
      const seqs = chatEvents.map((e) => e.seq);
      for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `gap in seqs: ${seqs.join(',')}`);
      const tokenCount = chatEvents.filter((e) => e.type === 'token').length;
      assert.ok(tokenCount >= 10, `the whole generation streamed (${tokenCount} token events)`);
      assert.equal(finished.generation.status, 'completed');
      assert.equal(finished.message.content, tokens);

      // REST through node B reads the stored reply.
      const msgs = await alice.b.messages(chat.id);
      assert.equal(msgs.at(-1).id, posted.reply.id);
      assert.equal(msgs.at(-1).content, tokens);
      assert.equal(msgs.at(-1).status, 'completed');
    } finally {
      ws.close();
    }
  });

  test('an unreachable PostgreSQL stops the node at start-up with a clear error', T, async () => {
    const port = await freePort(); // nothing listens there
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-it-nopg-'));
    try {
      const r = await new Promise((resolve) => {
        execFile(TROUPE_BIN, ['serve', '--listen', '127.0.0.1:0', '--data', dir, '--store', `postgres://troupe@127.0.0.1:${port}/postgres`],
          { timeout: 30000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
      });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /cannot open the PostgreSQL store/);
      assert.doesNotMatch(r.stdout, /listening on/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('two nodes starting together on an empty database: both start, one admin is created', T, async () => {
    await new Promise((resolve, reject) => {
      execFile(path.join(pgBinDir(), 'createdb'), ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'troupe', 'race'], { timeout: 30000 },
        (err, _o, stderr) => (err ? reject(new Error(`createdb failed: ${stderr}`)) : resolve()));
    });
    const url = pg.url.replace(/\/postgres$/, '/race');
    const nodes = [1, 2].map((i) => new TroupeServer({ name: `scaleout-race-${i}`, args: ['--store', url] }));
    try {
      for (const n of nodes) n.starts = 1; // which of them prints the admin token is not known
      await Promise.all(nodes.map((n) => n.start()));
      await pollUntil(() => nodes.some((n) => n.adminToken), { timeoutMs: 5000, what: 'an admin token' });
      assert.equal(nodes.filter((n) => n.adminToken).length, 1);
      const token = nodes.find((n) => n.adminToken).adminToken;
      for (const n of nodes) assert.equal((await new Api(n, token).get('/api/characters')).status, 200);
    } finally {
      for (const n of nodes) await n.cleanup();
    }
  });

  test('Redis stopped: /readyz reports the bus degraded, REST keeps working', T, async () => {
    await redis.stop();
    for (const node of [nodeA, nodeB]) {
      await pollUntil(async () => (await readyz(node)).status === 503, { timeoutMs: 10000, what: `${node.name} degraded` });
      const r = await readyz(node);
      assert.equal(r.body.ready, false);
      assert.match(r.body.reason, /^bus degraded: /);
    }
    const metrics = await (await fetch(`${nodeB.baseUrl}/metrics`)).text();
    assert.match(metrics, /troupe_bus_state\{state="connected"\} 0/);
    assert.match(metrics, /troupe_bus_reconnects \d+/);

    // REST through both nodes: write through B, read through A.
    const c = await alice.b.createCharacter(sampleCharacter());
    const chat = await alice.b.createChat(c.id);
    const msgs = await alice.a.messages(chat.id);
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].role, 'assistant');
  });
});
