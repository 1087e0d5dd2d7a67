/**
 * The third step of a pass: the plan applied to the disk by the executor (atomic, re-checked
 * against what the scan saw, journaled), file bytes fetched from the bucket as it asks for them
 * (fetch.ts), with 'downloading' progress.
 *
 * Must hold: the local tree learns what the executor wrote (applied.ts) before anything else reads
 * it, so the next scan neither re-hashes nor echoes the agent's own writes; the paths it could not
 * confirm are returned for the next scan. The caller commits the local tree afterwards, and runs
 * another pass when the run was not complete (the disk changed under the executor).
 */
import { executePlan } from '../exec/index.js';
import type { ApplyPlan } from '../plan/index.js';
import { recordApplied } from './applied.js';
import { makeFetcher } from './fetch.js';
import type { FolderOptions } from './folder-types.js';
import type { LocalTree } from './local.js';
import type { ChunkMap } from './trees.js';

export interface Applied {
  /** Every op was applied. */
  complete: boolean;
  /** The run stopped at the abort signal. */
  aborted: boolean;
  /** Bytes fetched from the bucket. */
  downloaded: number;
  /** Paths the next scan must look at. */
  rescan: string[];
  /** Paths that could not be written now (a lock, permissions), with the reason. */
  blocked: Map<string, string>;
}

export async function applyPlan(local: LocalTree, plan: ApplyPlan, chunks: ChunkMap, opts: Pick<FolderOptions, 'repo' | 'root' | 'execJournal' | 'suppress' | 'onPhase'>, signal?: AbortSignal): Promise<Applied> {
  const { repo, root } = opts;
  let downloaded = 0;
  const bytesTotal = plan.summary.fetchBytes;
  const fetcher = makeFetcher(repo, plan.ops, chunks, (n) => {
    downloaded += n;
    opts.onPhase?.({ state: 'downloading', files: 0, filesTotal: plan.ops.length, bytes: downloaded, bytesTotal });
  });
  const res = await executePlan(root, plan.ops, { fetch: fetcher.fetch, journalPath: opts.execJournal, signal, suppress: opts.suppress });
  const rescan = await recordApplied(local, root, res.results, chunks);
  const blocked = new Map<string, string>();
  for (const r of res.results) {
    if (r.status !== 'changed' || r.blocked !== true) continue;
    // Which of a copy's or a move's two paths refused is not known: both are left alone.
    for (const p of r.op.op === 'copy' || r.op.op === 'move' ? [r.op.path, r.op.from] : [r.op.path]) blocked.set(p, r.found);
  }
  return { complete: res.complete, aborted: res.aborted, downloaded, rescan, blocked };
}
