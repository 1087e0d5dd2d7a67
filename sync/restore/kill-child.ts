/**
 * Child process for kill.test.ts: restores a tree from a DirStore and reports progress on stdout,
 * so that the test can SIGKILL it at a chosen point.
 *
 * Usage: node --import tsx kill-child.ts <storeDir> <rootTreeId> <target> [aside]
 * (`aside`: entries in the way and files replaced are kept as conflict copies, as `strata restore` keeps them).
 */
import { openRepository } from '../repo/format.js';
import { DirStore } from '../store/dir.js';
import { restoreTree } from './index.js';

const [storeDir, root, target, aside] = process.argv.slice(2) as [string, string, string, string | undefined];
const repo = await openRepository(new DirStore(storeDir));
process.stdout.write('start\n');
await restoreTree(repo, { target, root, concurrency: 4, ...(aside === 'aside' ? { aside: { device: 'pc1' } } : {}), onProgress: (p) => process.stdout.write(`progress ${p.bytesDone}\n`) });
process.stdout.write('done\n');
