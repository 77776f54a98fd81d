// The real mail system for browser tests (Dovecot and OpenSMTPD on loopback ports), run by
// the `parley-mail-system` binary of the channels crate (PARLEY_MAIL_BIN), and a customer's
// letter delivered to it over plain SMTP.

import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * Starts the mail system, or returns `{ skip }` with the reason it cannot run here. The
 * system's description (host, ports, password, CA file) is in `info`; `stop()` closes its
 * standard input, which stops the servers, and waits for it to exit.
 */
export async function startMailSystem() {
  const bin = process.env.PARLEY_MAIL_BIN;
  // CI (PARLEY_REQUIRE_SERVICES) must not turn a missing mail system into a skipped test.
  const skip = (why) => {
    if (process.env.PARLEY_REQUIRE_SERVICES) throw new Error(`PARLEY_REQUIRE_SERVICES is set: ${why}`);
    return { skip: why };
  };
  if (!bin) return skip('PARLEY_MAIL_BIN is not set (cargo build -p parley-channels --features testing --bin parley-mail-system)');
  const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.once('exit', r));
  const first = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (l) => {
      lines.close();
      resolve(l);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`parley-mail-system exited with ${code}`)));
  });
  const info = JSON.parse(first);
  if (info.error) {
    await exited;
    return skip(`the mail system did not start: ${info.error}`);
  }
  return {
    info,
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort() {
  const srv = createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * Delivers `raw` (a whole letter, CRLF line ends) from `from` to `to` over plain SMTP on
 * `port`, speaking the few commands a sending server uses. Rejects with the server's reply
 * when a command is refused.
 */
export function deliver(port, { from, to, raw }) {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const dot = raw.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    const steps = [
      [220, `EHLO customer.test`],
      [250, `MAIL FROM:<${from}>`],
      [250, `RCPT TO:<${to}>`],
      [250, 'DATA'],
      [354, `${dot}\r\n.`],
      [250, 'QUIT'],
      [221, null],
    ];
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', reject);
    sock.on('data', (chunk) => {
      buf += chunk;
      // A reply is complete at a line whose code is followed by a space.
      for (;;) {
        const m = buf.match(/^(?:\d{3}-[^\n]*\n)*(\d{3}) [^\n]*\n/);
        if (!m) return;
        buf = buf.slice(m[0].length);
        const [want, next] = steps.shift();
        if (Number(m[1]) !== want) {
          sock.destroy();
          reject(new Error(`SMTP: expected ${want}, got ${m[0].trim()}`));
          return;
        }
        if (next === null) {
          sock.end();
          resolve();
          return;
        }
        sock.write(`${next}\r\n`);
      }
    });
  });
}
