/**
 * Child process for durability.test.ts: one lay of the session in a state dir from a DirStore
 * bucket, so that the test can trace its syscalls.
 *
 * Usage: node --import tsx lay-child.ts <storeDir> <stateDir>
 */
import { DirStore } from '../store/dir.js';
import { layHome } from './lay.js';
import { readSession } from './session.js';

const [storeDir, stateDir] = process.argv.slice(2) as [string, string];
await layHome({ store: new DirStore(storeDir), session: await readSession(stateDir), stateDir });
process.stdout.write('done\n');
