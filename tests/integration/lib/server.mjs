// Starts and stops the real troupe binary for a test: a fresh temp data dir, port 0, logs captured
// to tests/artifacts/integration/ so a failing run can be diagnosed afterwards.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TROUPE_BIN = process.env.TROUPE_BIN || '/work/main/build/dev/src/troupe';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS_DIR = path.resolve(HERE, '../../artifacts/integration');

// Fast simulator settings used unless a test overrides them.
export const DEFAULT_SETTINGS = {
  'llm.sim_first_token_ms': 10,
  'llm.sim_token_delay_ms': 5,
  'llm.sim_reply_tokens': 12,
  'server.shutdown_grace_ms': 2000,
  'generation.flush_interval_ms': 100,
  // Per-user fairness limits are exercised by limits.test.mjs; elsewhere tests drive the server
  // harder than a person would.
  'limits.user_requests_per_second': 0,
  'limits.user_generations': 0,
};

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

let counter = 0;

function cleanEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TROUPE_')) env[k] = v;
  // Sanitizer builds: keep leak reports but do not let them hide the listening line.
  return { ...env, ...extra };
}

export function assertBinaryExists() {
  if (!fs.existsSync(TROUPE_BIN)) {
    throw new Error(`troupe binary not found at ${TROUPE_BIN} (build it or set TROUPE_BIN)`);
  }
}

export class TroupeServer {
  constructor({ name = 'server', settings = {}, env = {}, args = [], startTimeoutMs = 30000 } = {}) {
    this.name = name;
    this.settings = { ...DEFAULT_SETTINGS, ...settings };
    this.env = env;
    this.extraArgs = args;
    this.startTimeoutMs = startTimeoutMs;
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `troupe-it-${name}-`));
    this.dataDir = path.join(this.tmpDir, 'data');
    fs.mkdirSync(this.dataDir);
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    this.logPath = path.join(ARTIFACTS_DIR, `${name}-${process.pid}-${Date.now()}-${++counter}.log`);
    this.adminToken = null;
    this.proc = null;
    this.port = null;
    this.starts = 0;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl() {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get running() {
    return this.proc !== null && this.exitInfo === null;
  }

  #log(text) {
    try {
      fs.appendFileSync(this.logPath, text);
    } catch {
      // diagnostics only
    }
  }

  logTail(lines = 40) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  // Spawns the binary and waits for "listening on http://HOST:PORT".
  async start() {
    assertBinaryExists();
    if (this.running) throw new Error(`${this.name}: already running`);
    this.starts += 1;
    const args = ['serve', '--listen', '127.0.0.1:0', '--data', this.dataDir];
    for (const [k, v] of Object.entries(this.settings)) args.push('--set', `${k}=${v}`);
    args.push(...this.extraArgs);
    this.#log(`\n===== start #${this.starts} ${new Date().toISOString()}: ${TROUPE_BIN} ${args.join(' ')}\n`);

    const child = spawn(TROUPE_BIN, args, { env: cleanEnv(this.env), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = child;
    this.exitInfo = null;
    this.stopping = false;
    live.add(child);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        live.delete(child);
        this.exitInfo = { code, signal };
        this.#log(`===== exit code=${code} signal=${signal} ${new Date().toISOString()}\n`);
        if (!this.stopping && this.port !== null) {
          process.stderr.write(`[${this.name}] server exited unexpectedly (code=${code} signal=${signal}); log ${this.logPath}\n${this.logTail()}\n`);
        }
        resolve(this.exitInfo);
      });
    });

    let stdout = '';
    let resolveListen;
    let rejectListen;
    const listening = new Promise((resolve, reject) => {
      resolveListen = resolve;
      rejectListen = reject;
    });
    child.stdout.on('data', (d) => {
      const s = d.toString('utf8');
      this.#log(s);
      stdout += s;
      const tok = /admin token:\s*(trp_\S+)/.exec(stdout);
      if (tok && !this.adminToken) this.adminToken = tok[1];
      const m = /listening on http:\/\/[^\s:]+:(\d+)/.exec(stdout);
      if (m) resolveListen(Number(m[1]));
    });
    child.stderr.on('data', (d) => this.#log(d.toString('utf8')));
    child.on('error', (e) => rejectListen(e));
    this.exited.then((info) => rejectListen(new Error(`${this.name}: exited before listening (code=${info.code} signal=${info.signal})\n${this.logTail()}`)));

    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name}: no "listening on" line within ${this.startTimeoutMs} ms\n${this.logTail()}`)), this.startTimeoutMs);
    });
    try {
      this.port = await Promise.race([listening, timeout]);
    } catch (e) {
      this.stopping = true;
      child.kill('SIGKILL');
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (this.starts === 1 && !this.adminToken) {
      // The token line may follow the listening line by a moment.
      const deadline = Date.now() + 2000;
      while (!this.adminToken && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (!this.adminToken) throw new Error(`${this.name}: no "admin token:" line on first start\n${this.logTail()}`);
    }
    return this;
  }

  // Sends `signal` and waits for the exit; SIGKILLs after `timeoutMs`. Returns {code, signal, ms, forced}.
  async stop({ signal = 'SIGTERM', timeoutMs = 15000 } = {}) {
    if (!this.running) return { ...(this.exitInfo ?? {}), ms: 0, forced: false };
    this.stopping = true;
    const t0 = Date.now();
    this.proc.kill(signal);
    let forced = false;
    const timer = setTimeout(() => {
      forced = true;
      this.proc.kill('SIGKILL');
    }, timeoutMs);
    const info = await this.exited;
    clearTimeout(timer);
    return { ...info, ms: Date.now() - t0, forced };
  }

  kill9() {
    return this.stop({ signal: 'SIGKILL' });
  }

  // Starts again on the same data dir (new port). The admin token from the first start stays valid.
  async restart({ settings } = {}) {
    if (this.running) await this.stop();
    if (settings) this.settings = { ...this.settings, ...settings };
    this.port = null;
    return this.start();
  }

  // `troupe user add NAME --data DIR [--admin]`: returns the token (last stdout line).
  addUser(name, { admin = false, timeoutMs = 20000 } = {}) {
    const args = ['user', 'add', name, '--data', this.dataDir];
    if (admin) args.push('--admin');
    return new Promise((resolve, reject) => {
      execFile(TROUPE_BIN, args, { env: cleanEnv(this.env), timeout: timeoutMs }, (err, stdout, stderr) => {
        this.#log(`===== user add ${name}: ${stdout}${stderr}\n`);
        if (err) return reject(new Error(`user add ${name} failed: ${err.message}\n${stderr}`));
        const lines = stdout.split('\n').map((l) => l.trim()).filter(Boolean);
        const last = lines.at(-1) ?? '';
        const m = /trp_\S+/.exec(last);
        if (!m && !last) return reject(new Error(`user add ${name}: no token printed`));
        resolve(m ? m[0] : last);
      });
    });
  }

  // Stops the process if still running and removes the temp dir (kept when TROUPE_KEEP_TMP is set).
  async cleanup() {
    try {
      if (this.running) await this.stop({ timeoutMs: 5000 });
    } finally {
      if (!process.env.TROUPE_KEEP_TMP) fs.rmSync(this.tmpDir, { recursive: true, force: true });
    }
  }
}

export async function startServer(opts = {}) {
  const server = new TroupeServer(opts);
  try {
    await server.start();
  } catch (e) {
    await server.cleanup().catch(() => {});
    throw e;
  }
  return server;
}
