/**
 * Child process for logout-flush.test.ts: `signOut --wipe` of the session in a state dir, whose wipe
 * stalls at its first file that must be read again to be vouched for (a racy stat cache entry):
 * it prints `wiping` and never goes on, so that the test can kill it in the middle of the wipe.
 *
 * Usage: node --import tsx logout-child.ts <stateDir>
 */
import { existsSync } from 'node:fs';
import { InProcessChunker, type FileChunker } from '../snapshot/index.js';
import { signOut } from './logout.js';
import { sessionPath } from './session.js';

const [stateDir] = process.argv.slice(2) as [string];
const real = new InProcessChunker();
// The pass before the wipe reads files too: only a read after the session is gone is the wipe's.
const stalling: FileChunker = {
  chunkFile: (...args) => {
    if (existsSync(sessionPath(stateDir))) return real.chunkFile(...args);
    process.stdout.write('wiping\n');
    return new Promise(() => undefined);
  },
};
await signOut({ stateDir, wipe: true, chunker: stalling });
process.stdout.write('done\n');
