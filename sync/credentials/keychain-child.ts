/**
 * The process keychain operations run in (bounded.ts): a call into the OS keychain may never
 * return (a locked Secret Service waiting on an unlock prompt nobody answers, a wedged daemon), and
 * the library runs it on a libuv worker thread that the process waits for at exit, so only a
 * process can be given up on. Reads requests (one JSON line each) on stdin and answers each, in
 * order, with one JSON line on stdout. The secret travels through the pipes only, never the
 * command line or the environment.
 *
 * When stdin ends it ends at once, by SIGKILL (an exit would wait for a call still hanging): the
 * parent closes it only when no answer is due (idle) or when it gives up on one, or is gone.
 *
 * Usage: node keychain-child.js   (stdin: {"op": "load", "org": "acme", "who": {"kind": "admin"}})
 */
import { createInterface } from 'node:readline';
import { checkKeychain, deleteCredentials, loadCredentials, saveCredentials } from './keychain.js';
import type { KeychainReply, KeychainRequest } from './bounded.js';

async function answer(req: KeychainRequest): Promise<unknown> {
  switch (req.op) {
    case 'check':
      return checkKeychain();
    case 'save':
      return saveCredentials(req.org, req.who, req.creds);
    case 'load':
      return loadCredentials(req.org, req.who);
    case 'delete':
      return deleteCredentials(req.org, req.who);
  }
}

async function reply(line: string): Promise<KeychainReply> {
  try {
    return { value: (await answer(JSON.parse(line) as KeychainRequest)) ?? null };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    return { error: { code: typeof e.code === 'string' ? e.code : 'E_NO_KEYCHAIN', message: typeof e.message === 'string' ? e.message : String(err) } };
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('close', () => process.kill(process.pid, 'SIGKILL'));
for await (const line of lines) process.stdout.write(JSON.stringify(await reply(line)) + '\n');
