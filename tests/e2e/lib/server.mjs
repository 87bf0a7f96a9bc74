// Starts the real troupe binary for one test file: fresh temp data dir, port 0, stdout/stderr
// captured to tests/artifacts/e2e/. Stopped with SIGTERM (SIGKILL if it hangs). `restart()`
// brings it back on the same port and data dir (for reconnect tests).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const TROUPE_BIN = process.env.TROUPE_BIN || '/work/main/build/dev/src/troupe';
const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.resolve(HERE, '../../artifacts/e2e');

const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      // gone
    }
  }
});

class Server {
  constructor(name, settings) {
    this.name = name;
    this.settings = {
      'llm.sim_token_delay_ms': 40,
      'llm.sim_first_token_ms': 100,
      'server.shutdown_grace_ms': 1000,
      ...settings,
    };
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `troupe-e2e-${name}-`));
    this.dataDir = path.join(this.tmp, 'data');
    fs.mkdirSync(this.dataDir);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    this.logPath = path.join(ARTIFACTS, `${name}.server.log`);
    this.log = fs.createWriteStream(this.logPath);
    this.proc = null;
    this.port = 0;
    this.token = null;
  }

  get baseUrl() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 30000) {
    if (!fs.existsSync(TROUPE_BIN)) throw new Error(`troupe binary not found at ${TROUPE_BIN} (build it or set TROUPE_BIN)`);
    const args = ['serve', '--listen', `127.0.0.1:${this.port}`, '--data', this.dataDir];
    for (const [k, v] of Object.entries(this.settings)) args.push('--set', `${k}=${v}`);
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TROUPE_')) env[k] = v;
    this.log.write(`===== start ${new Date().toISOString()} ${args.join(' ')}\n`);
    const proc = spawn(TROUPE_BIN, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    live.add(proc);
    this.exited = new Promise((resolve) => proc.on('exit', (code, signal) => {
      live.delete(proc);
      if (this.proc === proc) this.proc = null;
      this.log.write(`===== exit code=${code} signal=${signal}\n`);
      resolve({ code, signal });
    }));
    proc.stderr.on('data', (d) => this.log.write(d));
    let out = '';
    const first = this.token === null;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: server did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      proc.stdout.on('data', (d) => {
        this.log.write(d);
        out += d.toString('utf8');
        const port = /listening on http:\/\/[^\s:]+:(\d+)/.exec(out);
        const token = /admin token:\s*(trp_\S+)/.exec(out);
        if (port && (token || !first)) {
          clearTimeout(timer);
          this.port = Number(port[1]);
          if (token) this.token = token[1];
          resolve();
        }
      });
      this.exited.then((info) => {
        clearTimeout(timer);
        reject(new Error(`${this.name}: server exited early (${JSON.stringify(info)}):\n${out}`));
      });
      proc.on('error', (e) => {
        clearTimeout(timer);
        live.delete(proc);
        this.proc = null;
        reject(new Error(`${this.name}: cannot run ${TROUPE_BIN}: ${e.message}`));
      });
    });
    return this;
  }

  // REST helper with the admin token; returns parsed JSON (or null for 204).
  async api(method, p, body, headers = {}) {
    const init = { method, headers: { Authorization: `Bearer ${this.token}`, ...headers } };
    if (body !== undefined) {
      if (body instanceof Uint8Array || typeof body === 'string') init.body = body;
      else {
        init.body = JSON.stringify(body);
        init.headers['Content-Type'] = 'application/json';
      }
    }
    const res = await fetch(this.baseUrl + p, { ...init, signal: AbortSignal.timeout(10000) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${p} -> ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async stop({ keepData = false } = {}) {
    if (this.proc) {
      const proc = this.proc;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      await this.exited;
      clearTimeout(timer);
    }
    if (!keepData) {
      this.log.end();
      if (!process.env.TROUPE_KEEP_TMP) fs.rmSync(this.tmp, { recursive: true, force: true });
    }
  }

  // Same port, same data directory.
  async restart() {
    await this.stop({ keepData: true });
    return this.start();
  }
}

export async function startServer({ name = 'e2e', settings = {} } = {}) {
  const s = new Server(name, settings);
  try {
    await s.start();
  } catch (e) {
    await s.stop().catch(() => {});
    throw e;
  }
  return s;
}
