// Starts a real `parley` binary for a test: a fresh temporary data directory (SQLite), a
// port chosen by the kernel (`--listen 127.0.0.1:0`), and the bound address read back from
// the server's own start-up line, so two runs never race for a port.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

/** Where the binary is: PARLEY_BIN, else the debug then release build of the workspace. */
export function parleyBinary() {
  if (process.env.PARLEY_BIN) return process.env.PARLEY_BIN;
  const target = process.env.CARGO_TARGET_DIR || resolve(import.meta.dirname, '..', '..', 'target');
  for (const profile of ['debug', 'release']) {
    const p = join(target, profile, 'parley');
    if (existsSync(p)) return p;
  }
  throw new Error('no parley binary: build it with `cargo build` or set PARLEY_BIN');
}

/**
 * A running server. `base` is its URL; `stop()` kills it and removes the data directory.
 * `logs()` returns what it printed, for failure messages.
 */
export async function startParley({ env = {}, args = [], timeoutMs = 20000 } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-e2e-'));
  // Only the variables the test names: a developer's PARLEY_* settings must not leak in.
  const childEnv = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('PARLEY_') && k !== 'RUST_LOG'),
  );
  const child = spawn(
    parleyBinary(),
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...args],
    { env: { ...childEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  // With PARLEY_E2E_SERVER_LOGS set, everything the server prints also goes to a file named
  // after the test file, so a failure that CI cannot reproduce still has its server's log.
  const logDir = process.env.PARLEY_E2E_SERVER_LOGS;
  let logFile = null;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    const testFile = basename(process.argv[1] || 'e2e').replace(/\.m?js$/, '');
    logFile = join(logDir, `${testFile}.log`);
  }
  const collect = (chunk) => {
    output += chunk.toString();
    if (logFile) appendFileSync(logFile, chunk);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);

  const base = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`parley did not start within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = () => {
      const m = output.match(/serving on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`parley exited with ${code} before serving:\n${output}`));
    });
  });

  return {
    base,
    dataDir,
    logs: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
