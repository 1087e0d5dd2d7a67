// The keychain's child process (bounded.ts) seen from its parent: a child that dies in the middle
// of an operation (killed by the user, the OOM killer) fails that operation with what happened,
// and the next operation runs in a fresh child. Linux only: the operation is kept in flight by a
// D-Bus session that never answers, and the child is found through /proc.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { checkKeychain, loadCredentials, setKeychainLimit } from './bounded.js';
import { userPrincipal } from './secrets.js';

/** The pids of this process's keychain children. */
async function keychainChildren(): Promise<number[]> {
  const listed = await readFile(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8');
  const pids: number[] = [];
  for (const pid of listed.trim().split(/\s+/).filter(Boolean).map(Number)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('keychain-child')) pids.push(pid);
  }
  return pids;
}

async function waitForChild(): Promise<number> {
  for (;;) {
    const [pid] = await keychainChildren();
    if (pid !== undefined) return pid;
    await sleep(20);
  }
}

describe('the keychain child process', { skip: process.platform !== 'linux' && 'the Secret Service is Linux only' }, () => {
  let dir: string;
  const open = new Set<Socket>();
  const silent = createServer((c) => open.add(c.on('data', () => undefined)));
  const bus = process.env.DBUS_SESSION_BUS_ADDRESS;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strata-bounded-'));
    await new Promise<void>((resolve) => silent.listen(join(dir, 'bus'), resolve));
    // A session that takes every call and never answers: each operation stays in flight.
    process.env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${join(dir, 'bus')}`;
  });
  after(async () => {
    if (bus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = bus;
    setKeychainLimit();
    for (const c of open) c.destroy();
    silent.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`killed (${signal}) in the middle of an operation fails it saying so, and the next one runs in a new child`, { timeout: 60_000 }, async () => {
      const loading = loadCredentials('acme', userPrincipal('alice'));
      const pid = await waitForChild();
      process.kill(pid, signal);
      const err = await loading.then(
        () => assert.fail('the operation succeeded'),
        (e: unknown) => e as { code?: string; message: string },
      );
      assert.equal(err.code, 'E_NO_KEYCHAIN');
      assert.match(err.message, new RegExp(`ended while reading the keychain entry strata:acme user/alice, before it answered \\(killed by ${signal}\\): try again`));
      // Not the keychain's fault: no advice to install or restart a Secret Service.
      assert.doesNotMatch(err.message, /install|restart|unlock/);
      assert.doesNotMatch(err.message, /\n/);
      // A fresh child takes the next operation (which the silent session then keeps unanswered).
      setKeychainLimit(1_000);
      try {
        await assert.rejects(checkKeychain(), (e: Error) => /did not answer while checking that it can store an entry/.test(e.message));
      } finally {
        setKeychainLimit();
      }
    });
  }
});
