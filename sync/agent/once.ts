/**
 * `strata sync --once`: one full reconcile of one folder, without watcher or control endpoint.
 * Passes repeat while the disk changes under them, or a blob the bucket may not list yet is
 * missed (at most MAX_PASSES), so the command ends with
 * the folder in sync or says why not; a pass held for a mass delete is answered as `deletes` says,
 * once, or reported. A synced pass is the last sync, in the folder's state dir and the agent's, as
 * the agent records its own (logout's flush pass is one of these).
 */
import { isStrataError, StrataError } from '../errors.js';
import type { Repository } from '../repo/index.js';
import type { FileChunker } from '../snapshot/index.js';
import { openAgentState, openFileIndex } from '../state/index.js';
import { SyncFolder, type PassPhase, type PassResult } from './folder.js';
import { writeLastSync } from './known.js';
import { folderExcluder, folderFiles, folderStateDir, type FolderSpec } from './runtime.js';
import { caseInsensitiveByDefault } from '../plan/index.js';
import { makeDirsDurably } from '../fsutil.js';

const MAX_PASSES = 5;

export interface OnceOptions {
  stateDir: string;
  repo: Repository;
  folder: FolderSpec;
  chunker?: FileChunker;
  now?: () => Date;
  onPhase?: (p: PassPhase) => void;
  /** A pass held for a mass delete (guard.ts) goes ahead (`confirm`) or puts the files back (`restore`); unset, it is reported. */
  deletes?: 'confirm' | 'restore';
}

export async function syncOnce(opts: OnceOptions): Promise<PassResult & { device: string }> {
  const state = await openAgentState(opts.stateDir);
  const dir = folderStateDir(opts.stateDir, opts.folder);
  await makeDirsDurably(dir, 0o700);
  const index = await openFileIndex(dir, 'statcache');
  try {
    const folder = new SyncFolder({
      repo: opts.repo,
      root: opts.folder.root,
      layer: opts.folder.layer,
      device: state.deviceId,
      index,
      ...folderFiles(dir),
      exclude: folderExcluder(opts.folder),
      lower: opts.folder.lower,
      lowerBefore: opts.folder.lowerBefore,
      ...(opts.folder.rootKeys ? { rootKeys: opts.folder.rootKeys } : {}),
      chunker: opts.chunker,
      now: opts.now,
      onPhase: opts.onPhase,
      caseInsensitive: opts.folder.caseInsensitive ?? caseInsensitiveByDefault(),
    });
    await folder.recover();
    let answered = false;
    for (let i = 0; i < MAX_PASSES; i++) {
      // A blob in an index object the bucket may not list yet: the next pass loads the index again,
      // and fails with E_BLOB_NOT_FOUND (damage) if it is still missing.
      const r = await folder.pass().catch((err: unknown) => {
        if (isStrataError(err, 'E_NOT_LISTED_YET')) return undefined;
        throw err;
      });
      if (r === undefined) continue;
      if (r.status === 'held' && opts.deletes !== undefined && !answered) {
        answered = true;
        if (opts.deletes === 'confirm') await folder.approve(r.held);
        else await folder.restoreHeld(r.held);
        continue;
      }
      if (r.status !== 'retry') {
        if (r.status === 'synced') {
          // Both records the agent keeps: a paused start shows the folder's (known.ts), the status the agent's.
          const at = (opts.now ?? (() => new Date()))().toISOString();
          await writeLastSync(dir, at);
          await state.update((d) => void (d.lastSync = at));
        }
        return { ...r, device: state.deviceId };
      }
    }
    throw new StrataError('E_BUSY', `the folder kept changing during ${MAX_PASSES} passes; try again when it is quiet`, { path: opts.folder.root });
  } finally {
    await index.close();
  }
}
