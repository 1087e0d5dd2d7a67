/**
 * The third step of a pass: the plan applied to the disk by the executor (atomic, re-checked
 * against what the scan saw, journaled), file bytes fetched from the bucket as it asks for them
 * (fetch.ts), with 'downloading' progress (LayProgress).
 *
 * Must hold: the local tree learns what the executor wrote (applied.ts) before anything else reads
 * it, so the next scan neither re-hashes nor echoes the agent's own writes; the paths it could not
 * confirm are returned for the next scan. The caller commits the local tree afterwards, and runs
 * another pass when the run was not complete (the disk changed under the executor). An executor
 * that fails half-way (a store fault, a disk error) still reports the ops it applied, with the
 * error (`failed`): the files it deleted are deleted, and the caller must count them before it
 * throws. The executor's journal, labelled `run`, is kept when the apply returns: it is the only
 * record of those deletes should the process die before the caller has counted them (the
 * folder's recovery counts them then), so the caller clears it (clearJournal) once it has.
 */
import { executePlan, type OpResult, type RunLabel, type Seed } from '../exec/index.js';
import type { ApplyOp, ApplyPlan, FileNode } from '../plan/index.js';
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
  /** The files and symlinks the run deleted (guard.ts counts them, however the run ended). */
  deleted: string[];
  /** The error the run stopped at, after the ops in it were applied (not complete then). */
  failed?: unknown;
}

/** `seeds`: the temps of downloads a killed run cut off (the folder's recovery), removed by the run. */
export async function applyPlan(local: LocalTree, plan: ApplyPlan, chunks: ChunkMap, run: RunLabel, opts: Pick<FolderOptions, 'repo' | 'root' | 'execJournal' | 'suppress' | 'onPhase'>, signal?: AbortSignal, seeds?: readonly Seed[]): Promise<Applied> {
  const { repo, root } = opts;
  let downloaded = 0;
  const progress = new LayProgress(plan.ops, (p) => opts.onPhase?.({ state: 'downloading', ...p, counting: false }));
  const fetcher = makeFetcher(repo, plan.ops, chunks, (n) => {
    downloaded += n;
    progress.fetched(n);
  });
  const results: OpResult[] = [];
  const onApplied = (r: OpResult): void => {
    results.push(r);
    progress.applied(r);
  };
  // The scan's ctime of a file the plan expects as the scan found it: an edit since, its mtime set back, is a change.
  const scannedCtime = (rel: string, expect: FileNode): number | undefined => {
    const e = local.get(rel);
    return e?.type === 'file' && e.size === expect.size && e.mtimeMs === expect.mtimeMs && e.mode === expect.mode ? e.ctimeMs : undefined;
  };
  const res = await executePlan(root, plan.ops, { fetch: fetcher.fetch, journalPath: opts.execJournal, signal, suppress: opts.suppress, scannedCtime, onApplied, run, keepJournal: true, ...(seeds !== undefined && { seeds }) }).catch(
    (err: unknown) => ({ results, complete: false, aborted: false, failed: err }),
  );
  const rescan = await recordApplied(local, root, res.results, chunks);
  const blocked = new Map<string, string>();
  for (const r of res.results) {
    if (r.status !== 'changed' || r.blocked !== true) continue;
    // Which of a copy's or a move's two paths refused is not known: both are left alone.
    for (const p of r.op.op === 'copy' || r.op.op === 'move' ? [r.op.path, r.op.from] : [r.op.path]) blocked.set(p, r.found);
  }
  const deleted = deletedBy(res.results.flatMap((r) => (r.status === 'applied' ? [r.op] : [])));
  return { complete: res.complete, aborted: res.aborted, downloaded, rescan, blocked, deleted, ...('failed' in res && { failed: res.failed }) };
}

/** The files and symlinks that applied `ops` deleted: what the mass-delete guard counts. */
export function deletedBy(ops: readonly ApplyOp[]): string[] {
  return ops.flatMap((op) => (op.op === 'delete' && op.expect.type !== 'dir' ? [op.path] : []));
}

/** The ops that put a file or a symlink on the disk: the files the progress counts. */
function lays(op: ApplyOp): boolean {
  return op.op === 'write' || op.op === 'copy' || op.op === 'move' || op.op === 'symlink';
}

/**
 * The 'downloading' progress of one apply. Its totals are known before the first op: the files
 * the plan lays, and the bytes its writes fetch. A write's bytes count once it is applied; the
 * bytes fetched meanwhile count only up to the size of the write being applied, since the
 * fetcher reads ahead the small files of later writes (fetch.ts), and a chunk two files share is
 * fetched once.
 */
class LayProgress {
  private readonly filesTotal: number;
  private readonly bytesTotal: number;
  private files = 0;
  /** Bytes of the writes applied so far. */
  private bytes = 0;
  /** Bytes fetched since the last op was applied. */
  private fetching = 0;
  /** Ops attempted so far: the next one is running. */
  private next = 0;

  constructor(
    private readonly ops: readonly ApplyOp[],
    private readonly report: (p: { files: number; filesTotal: number; bytes: number; bytesTotal: number }) => void,
  ) {
    this.filesTotal = ops.filter(lays).length;
    this.bytesTotal = ops.reduce((n, op) => n + (op.op === 'write' ? op.node.size : 0), 0);
    this.emit();
  }

  fetched(n: number): void {
    this.fetching += n;
    this.emit();
  }

  applied(r: OpResult): void {
    this.next = r.index + 1;
    this.fetching = 0;
    if (r.status !== 'applied') return;
    if (r.op.op === 'write') this.bytes += r.op.node.size;
    if (lays(r.op)) this.files++;
    this.emit();
  }

  private emit(): void {
    const op = this.ops[this.next];
    const partial = op?.op === 'write' ? Math.min(this.fetching, op.node.size) : 0;
    this.report({ files: this.files, filesTotal: this.filesTotal, bytes: this.bytes + partial, bytesTotal: this.bytesTotal });
  }
}
