// A multi-node test bed on 127.0.0.1: a private PostgreSQL (initdb in a temp dir, ephemeral port,
// run as the `postgres` user when the tests run as root), a private redis-server, and N troupe
// nodes sharing them (port 0, own data dir, extra --set settings). Every child is tracked by PID
// and killed on teardown or, at the latest, when the test process exits, even after a failure.
// PostgreSQL and Redis can be stopped and started again on the same port (and PostgreSQL on the
// same data), nodes can be stopped, killed with SIGKILL and restarted.
import { spawn, execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Api } from './client.mjs';
import { TroupeServer, TROUPE_BIN } from './server.mjs';
import { pollUntil } from './util.mjs';

// Children started here (PostgreSQL, Redis); troupe nodes are tracked by server.mjs.
const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
});

function track(child) {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1' });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

// Sends `signal` to a child started here and waits for its exit; SIGKILLs it (by PID) after `ms`.
export function stopChild(child, signal, ms = 10000) {
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

export function pgBinDir() {
  if (process.env.TROUPE_PG_BIN) return process.env.TROUPE_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const bin = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(bin, 'initdb')) && fs.existsSync(path.join(bin, 'postgres'))) return bin;
  }
  throw new Error('PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (install `postgresql`)');
}

function run(file, args, opts, what) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60000, ...opts }, (err, stdout, stderr) =>
      (err ? reject(new Error(`${what} failed: ${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

// A throw-away PostgreSQL cluster: trust auth for user `troupe`, loopback only, an ephemeral port
// chosen on the first start and kept by later starts (same data directory).
export class PgServer {
  constructor({ prefix = 'troupe-it-pg-' } = {}) {
    this.prefix = prefix;
    this.proc = null;
    this.port = null;
  }

  get running() {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start() {
    if (this.running) throw new Error('postgres: already running');
    const bin = pgBinDir();
    if (!this.dir) {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), this.prefix));
      this.ids = {};
      if (process.getuid() === 0) {
        this.ids.uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
        this.ids.gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
        fs.chownSync(this.dir, this.ids.uid, this.ids.gid);
      }
      await run(path.join(bin, 'initdb'), ['-D', this.data, '-U', 'troupe', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'],
        this.ids, 'initdb');
      this.port = await freePort();
    }
    const logPath = path.join(this.dir, 'server.log');
    const log = fs.openSync(logPath, 'a');
    if (this.ids.uid !== undefined) fs.fchownSync(log, this.ids.uid, this.ids.gid);
    const proc = spawn(path.join(bin, 'postgres'), ['-D', this.data, '-k', this.dir, '-p', String(this.port),
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off', '-c', 'max_connections=200'], { ...this.ids, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.proc = track(proc);
    await pollUntil(async () => {
      if (proc.exitCode !== null) throw new Error(`postgres exited: ${fs.readFileSync(logPath, 'utf8')}`);
      return new Promise((resolve) => {
        execFile(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'troupe', '-d', 'postgres'],
          (err) => resolve(!err));
      });
    }, { timeoutMs: 30000, intervalMs: 100, what: 'postgres accepting connections' });
    return this;
  }

  get data() {
    return path.join(this.dir, 'data');
  }

  get url() {
    return this.urlFor('postgres');
  }

  urlFor(database) {
    return `postgres://troupe@127.0.0.1:${this.port}/${database}`;
  }

  createDatabase(name) {
    return run(path.join(pgBinDir(), 'createdb'), ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'troupe', name], {}, 'createdb');
  }

  // Fast shutdown (SIGINT: open connections are terminated); the data stays for start().
  async stop() {
    await stopChild(this.proc, 'SIGINT');
  }

  async restart() {
    await this.stop();
    return this.start();
  }

  async cleanup() {
    await this.stop();
    if (this.dir && !process.env.TROUPE_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

// A throw-away redis-server without persistence on an ephemeral loopback port, kept across
// stop()/start(); a restarted server starts empty.
export class RedisServer {
  constructor({ prefix = 'troupe-it-redis-' } = {}) {
    this.prefix = prefix;
    this.proc = null;
    this.port = null;
  }

  get running() {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async start() {
    if (this.running) throw new Error('redis-server: already running');
    this.dir ??= fs.mkdtempSync(path.join(os.tmpdir(), this.prefix));
    this.port ??= await freePort();
    const proc = track(spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '',
      '--appendonly', 'no', '--dir', this.dir], { stdio: 'ignore' }));
    this.proc = proc;
    await pollUntil(async () => {
      if (proc.exitCode !== null) throw new Error('redis-server exited at start');
      return canConnect(this.port);
    }, { timeoutMs: 10000, intervalMs: 50, what: 'redis-server accepting connections' });
    return this;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  // `redis-cli ARGS...` against this server: its stdout.
  cli(...args) {
    return run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args.map(String)], { timeout: 5000 }, 'redis-cli');
  }

  async stop() {
    await stopChild(this.proc, 'SIGTERM');
  }

  async restart() {
    await this.stop();
    return this.start();
  }

  async cleanup() {
    await this.stop();
    if (this.dir && !process.env.TROUPE_KEEP_TMP) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}

// `troupe user add NAME --store URL`: the token (last stdout line).
export function addStoreUser(name, storeUrl, dataDir) {
  return new Promise((resolve, reject) => {
    execFile(TROUPE_BIN, ['user', 'add', name, '--store', storeUrl, '--data', dataDir], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`user add ${name} failed: ${err.message}\n${stderr}`));
      const m = /trp_\S+/.exec(stdout.trim().split('\n').at(-1) ?? '');
      return m ? resolve(m[0]) : reject(new Error(`user add ${name}: no token printed\n${stdout}`));
    });
  });
}

// GET /readyz of a node: { status, body }.
export async function readyz(node) {
  const res = await fetch(`${node.baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.json() };
}

// Sum of the samples of the metric lines of a node matching `re`.
export async function metric(node, re) {
  const text = await (await fetch(`${node.baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (re.test(line)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

// N troupe nodes on one PostgreSQL store and one Redis bus.
//   const cluster = new Cluster({ names: ['a', 'b', 'c'], settings: {...} });
//   before(() => cluster.start()); after(() => cluster.teardown());
//   const token = await cluster.addUser('alice'); const api = cluster.apis(token); // { a: Api, ... }
export class Cluster {
  constructor({ names = ['a', 'b', 'c'], prefix = 'cluster', settings = {}, args = [], redis = true, waitReady = true } = {}) {
    this.names = names;
    this.prefix = prefix;
    this.settings = settings;
    this.args = args;
    this.pg = new PgServer({ prefix: `troupe-it-${prefix}-pg-` });
    this.redis = redis ? new RedisServer({ prefix: `troupe-it-${prefix}-redis-` }) : null;
    this.waitReady = waitReady;
    this.nodes = {}; // name -> TroupeServer
    this.extra = []; // further nodes started with startNode()
    this.tmp = null;
  }

  get nodeArgs() {
    const args = ['--store', this.pg.url];
    if (this.redis) args.push('--bus', this.redis.url);
    return [...args, ...this.args];
  }

  async start() {
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `troupe-it-${this.prefix}-`));
    await this.pg.start();
    if (this.redis) await this.redis.start();
    // One after the other: the first node creates the admin user on the empty database.
    for (const [i, name] of this.names.entries()) {
      const node = new TroupeServer({ name: `${this.prefix}-${name}`, args: this.nodeArgs, settings: this.settings });
      if (i > 0) node.starts = 1; // the admin exists already: no admin token is printed
      this.nodes[name] = node;
      await node.start();
    }
    if (this.waitReady) await this.allReady();
    return this;
  }

  get list() {
    return Object.values(this.nodes);
  }

  node(name) {
    const n = this.nodes[name];
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  get adminToken() {
    return this.nodes[this.names[0]].adminToken;
  }

  // Another node on the same store and bus, torn down with the cluster.
  async startNode(name, { settings = {}, args = [] } = {}) {
    const node = new TroupeServer({ name: `${this.prefix}-${name}`, args: [...this.nodeArgs, ...args], settings: { ...this.settings, ...settings } });
    node.starts = 1;
    this.extra.push(node);
    await node.start();
    return node;
  }

  addUser(name) {
    return addStoreUser(name, this.pg.url, this.tmp);
  }

  // { name: Api on that node } for one token.
  apis(token) {
    const out = {};
    for (const name of this.names) out[name] = new Api(this.nodes[name], token);
    return out;
  }

  async allReady({ timeoutMs = 15000 } = {}) {
    for (const n of this.list) {
      await pollUntil(async () => (await readyz(n)).status === 200, { timeoutMs, what: `${n.name} ready` });
    }
  }

  async allDegraded({ timeoutMs = 10000 } = {}) {
    for (const n of this.list) {
      await pollUntil(async () => (await readyz(n)).status === 503, { timeoutMs, what: `${n.name} not ready` });
    }
  }

  stopNode(name, opts) {
    return this.node(name).stop(opts);
  }

  kill9(name) {
    return this.node(name).kill9();
  }

  // Starts a stopped or killed node again on its data dir (a new port).
  restartNode(name, opts) {
    return this.node(name).restart(opts);
  }

  // Stops every node, Redis and PostgreSQL, and removes the temp dirs; safe after a partial start.
  async teardown() {
    const errors = [];
    for (const n of [...this.list, ...this.extra]) {
      try {
        await n.cleanup();
      } catch (e) {
        errors.push(e);
      }
    }
    try {
      await this.redis?.cleanup();
    } catch (e) {
      errors.push(e);
    }
    try {
      await this.pg.cleanup();
    } catch (e) {
      errors.push(e);
    }
    if (this.tmp) fs.rmSync(this.tmp, { recursive: true, force: true });
    if (errors.length) throw errors[0];
  }
}
