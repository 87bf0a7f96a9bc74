// Character memory on two Troupe nodes sharing one real PostgreSQL (store) and one real Redis
// (bus), all started and stopped by this file on 127.0.0.1: a fact told through node A is recalled
// by a turn through node B (whose index and cache held the space before the fact was told), a
// memory deleted through node B is no longer found through node A, and the memories endpoint
// answers on both nodes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Api } from './lib/client.mjs';
import { TroupeServer, TROUPE_BIN } from './lib/server.mjs';
import { sampleCharacter } from './lib/fixtures.mjs';
import { pollUntil } from './lib/util.mjs';
import { expectStatus } from './lib/client.mjs';

const T = { timeout: 120000 };

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

// A throw-away PostgreSQL cluster (initdb in a temp dir, trust auth, loopback, ephemeral port).
class PgServer {
  async start() {
    const bin = pgBinDir();
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-it-cpg-'));
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
        execFile(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'troupe', '-d', 'postgres'],
          (err) => resolve(!err));
      });
    }, { timeoutMs: 30000, intervalMs: 100, what: 'postgres accepting connections' });
    return this;
  }

  get url() {
    return `postgres://troupe@127.0.0.1:${this.port}/postgres`;
  }

  async stop() {
    await stopChild(this.proc, 'SIGINT');
    if (this.dir && !process.env.TROUPE_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// A throw-away redis-server without persistence on an ephemeral loopback port.
class RedisServer {
  // Starts; again on the same port after stop().
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-it-credis-'));
    this.port ??= await freePort();
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

async function metric(node, re) {
  const text = await (await fetch(`${node.baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (re.test(line)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

const pg = new PgServer();
const redis = new RedisServer();
const nodes = {}; // a, b: TroupeServer
const api = {}; // a, b: Api of alice on that node
let userTmp;

before(async () => {
  await pg.start();
  await redis.start();
  const args = ['--store', pg.url, '--bus', redis.url];
  const settings = {
    'llm.sim_first_token_ms': 0,
    'llm.sim_token_delay_ms': 0,
    'llm.sim_reply_tokens': 24,
    'llm.context_size': 1024,
  };
  for (const name of ['a', 'b']) {
    const n = new TroupeServer({ name: `memory-pg-${name}`, args, settings });
    if (name !== 'a') n.starts = 1; // node A created the admin on the empty database
    await n.start();
    nodes[name] = n;
  }
  userTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'troupe-it-muser-'));
  const token = await addUser('alice', pg.url, userTmp);
  for (const name of ['a', 'b']) api[name] = new Api(nodes[name], token);
  for (const name of ['a', 'b']) {
    await pollUntil(async () => (await fetch(`${nodes[name].baseUrl}/readyz`)).status === 200, { timeoutMs: 10000, what: `node ${name} ready` });
  }
});

after(async () => {
  for (const n of Object.values(nodes)) await n?.cleanup();
  await redis.stop();
  await pg.stop();
  if (userTmp) fs.rmSync(userTmp, { recursive: true, force: true });
});

const FACT = 'Remember this: my sister Ines keeps honeybees on a rooftop in Lisbon.';
const QUESTION = 'Where does my sister keep her honeybees?';
const TOPICS = ['weather', 'tavern', 'music', 'horses', 'bread', 'rivers', 'lanterns', 'chess'];

async function memories(a, chatId, query, limit = 50) {
  return expectStatus(await a.get(`/api/chats/${chatId}/memories?query=${encodeURIComponent(query)}&limit=${limit}`), 200).memories;
}

describe('character memory on PostgreSQL across two nodes', () => {
  test('a fact told through A is recalled through B; deleted through B it is gone through A', T, async () => {
    const character = await api.a.createCharacter(sampleCharacter());
    const chat = await api.a.createChat(character.id);
    for (let i = 0; i < 6; i++) await api.a.turn(chat.id, `Tell me about the ${TOPICS[i]} today.`);
    // B loads the space (index and cached results) before the fact exists.
    const before = await memories(api.b, chat.id, QUESTION);
    assert.ok(before.length > 0 && !before.some((m) => m.text === FACT));

    const told = await api.a.turn(chat.id, FACT);
    for (let i = 0; i < 30; i++) await api.a.turn(chat.id, `More about the ${TOPICS[i % TOPICS.length]}, round ${i}.`);
    const onA = await memories(api.a, chat.id, QUESTION);
    assert.ok(onA.some((m) => m.message_id === told.message.id), 'A lists the fact');
    const onB = await memories(api.b, chat.id, QUESTION);
    assert.ok(onB.some((m) => m.message_id === told.message.id), 'B lists the fact');

    const asked = await api.b.turn(chat.id, QUESTION);
    assert.equal(asked.generation.status, 'completed');
    const reply = (await api.b.allMessages(chat.id)).find((m) => m.id === asked.reply.id);
    assert.match(reply.content, /I remember you said: .*Lisbon/, reply.content);

    // A lists the fact (its index holds it), then the message is deleted through B.
    assert.ok((await memories(api.a, chat.id, 'sister Ines honeybees Lisbon rooftop')).some((m) => m.text === FACT));
    expectStatus(await api.b.del(`/api/messages/${told.message.id}`), 204);
    const afterA = await memories(api.a, chat.id, 'sister Ines honeybees Lisbon rooftop');
    assert.ok(!afterA.some((m) => m.message_id === told.message.id), JSON.stringify(afterA.slice(0, 3)));
    const afterB = await memories(api.b, chat.id, 'sister Ines honeybees Lisbon rooftop');
    assert.ok(!afterB.some((m) => m.message_id === told.message.id));
    assert.ok(await metric(nodes.a, /^troupe_memory_invalidations_total/) > 0, 'A dropped spaces B changed');
    assert.ok(await metric(nodes.b, /^troupe_memory_invalidations_total/) > 0, 'B dropped spaces A changed');
  });
});
