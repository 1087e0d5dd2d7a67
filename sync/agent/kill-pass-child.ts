/**
 * Child process for held-kill.test.ts and flush-kill.test.ts: starts device `deva` of the test's
 * folder over a store in a folder, as a restart would, and runs one pass, SIGKILLing itself at a
 * chosen point of it:
 *
 *   op:N   once the executor has applied its Nth op, before the op's done line is journaled
 *   save   as the pass is about to put its first deletes record (deletes.json) into place
 *   saved  once it has put it into place
 *   snapshot  as it is about to write its snapshot
 *   head   once this device's head is written
 *   index  as it is about to put its first index object (its scan packed, not yet flushed)
 *   indexed  once it has put its first index object
 *   commit  as it is about to commit the stat cache for the first time (flushed, not committed)
 *   fetched:N  as it is about to read more pack bytes once N were read (a download cut off)
 *
 * It exits 3 if the pass ends without reaching the point.
 *
 * Usage: node --import tsx kill-pass-child.ts <base> <store dir> <point>
 */
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { DirStore } from '../store/dir.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange, PutBody } from '../store/index.js';
import { LocalTree } from './local.js';
import { Device } from './testkit.js';

const [base, storeDir, point] = process.argv.slice(2) as [string, string, string];
const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('not killed');
};

const fetchedKill = point.startsWith('fetched:') ? Number(point.slice(8)) : Infinity;
let packBytes = 0;
/** Pack bytes were read: the process dies once more than `fetched:N` were. */
const counted = (n: number): void => {
  packBytes += n;
  if (packBytes > fetchedKill) die();
};

class KillAtHead extends ForwardingStore {
  override async put(key: string, body: PutBody): Promise<void> {
    if (point === 'snapshot' && key.includes('/snapshots/')) die();
    if (point === 'index' && key.startsWith('index/')) die();
    await super.put(key, body);
    if (point === 'indexed' && key.startsWith('index/')) die();
    if (point === 'head' && key.includes('/heads/deva')) die();
  }

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const got = await super.get(key, range);
    if (key.startsWith('data/')) counted(got.byteLength);
    return got;
  }

  override async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const body = await super.getStream(key, range);
    if (!key.startsWith('data/')) return body;
    return Readable.from(
      (async function* () {
        for await (const chunk of body as AsyncIterable<Uint8Array>) {
          counted(chunk.byteLength);
          yield chunk;
        }
      })(),
    );
  }
}

if (point === 'commit') {
  LocalTree.prototype.commit = () => Promise.resolve(die());
}
if (point === 'save' || point === 'saved') {
  const rename = fsp.rename;
  fsp.rename = async (from, to) => {
    const deletes = basename(String(to)) === 'deletes.json';
    if (deletes && point === 'save') die();
    await rename(from, to);
    if (deletes) die();
  };
  syncBuiltinESMExports();
}
let applied = 0;
const killAt = point.startsWith('op:') ? Number(point.slice(3)) : 0;
const state = join(base, 'deva', 'state');
const a = await Device.create(base, 'deva', new KillAtHead(new DirStore(storeDir)), {
  suppress: () => (++applied === killAt ? die() : undefined),
  deletesFile: join(state, 'deletes.json'),
  answerFile: join(state, 'held-answer.json'),
});
await a.pass();
process.exit(3);
