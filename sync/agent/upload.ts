/**
 * Uploads changed files during a scan: chunks each one on the chunker (worker threads when given
 * the pool), adds the chunks the repository lacks, and answers with the file's index entry. At
 * most twice the chunker's parallelism of jobs are in flight; `add` waits for a free slot, so a
 * scan of a huge folder never queues the whole disk.
 *
 * A small file is read whole as the walk hands it over and chunked in a batch with others
 * (snapshot/batch.ts), so it is neither read nor hashed twice. A small file that changed while it
 * was read, or could not be read so, goes the large files' way (snapshot/file.ts), which reads it
 * again.
 *
 * The entries it answers name chunks that are only durable after repo.flush(): callers commit them
 * to the local tree's journal after that, never before.
 */
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import type { Repository } from '../repo/index.js';
import type { IndexEntry } from '../state/index.js';
import { modeOf, mtimeOf, type Context } from '../snapshot/context.js';
import { snapshotFile } from '../snapshot/file.js';
import { fsProblem } from '../snapshot/listing.js';
import type { FileChunker } from '../snapshot/index.js';
import { newContext } from '../snapshot/snapshot.js';
import { racyFlag } from './walk.js';

export type UploadOutcome = IndexEntry | { skipped: string } | undefined;

/**
 * Files done of those handed to add(), bytes read of theirs. Until walked(), the totals are what
 * the walk found so far (`counting`): the walk hands files over as it finds them.
 */
export interface UploadProgress {
  files: number;
  filesTotal: number;
  bytes: number;
  bytesTotal: number;
  counting: boolean;
}

export interface FileUploader {
  /** Queues `rel` (listed with `st`); `done` gets its entry, why it was skipped, or undefined if it vanished. */
  add(rel: string, st: Stats, done: (outcome: UploadOutcome) => void): Promise<void>;
  /** The walk is over: no more add() calls, the totals are final. */
  walked(): void;
  /** Resolves when every queued file is done; throws the first failure. */
  idle(): Promise<void>;
}

export class RepoUploader implements FileUploader {
  private readonly ctx: Context;
  private readonly onProgress: ((p: UploadProgress) => void) | undefined;
  private added = 0;
  private finished = 0;
  /** Bytes of the files added and not yet started (a started file's are in ctx.progress.bytes). */
  private waiting = 0;
  private counting = true;

  constructor(
    repo: Repository,
    root: string,
    opts: { chunker?: FileChunker; signal?: AbortSignal; onProgress?: (p: UploadProgress) => void } = {},
  ) {
    this.onProgress = opts.onProgress;
    this.ctx = newContext(repo, root, { chunker: opts.chunker, exclude: undefined, onProgress: opts.onProgress && (() => this.report()), signal: opts.signal });
  }

  /** Bytes of new chunks this uploader added to the repository. */
  get bytesAdded(): number {
    return this.ctx.stats.bytesAdded;
  }

  get bytesRead(): number {
    return this.ctx.stats.bytesRead;
  }

  async add(rel: string, st: Stats, done: (outcome: UploadOutcome) => void): Promise<void> {
    const { ctx } = this;
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    this.added++;
    this.waiting += st.size;
    this.report();
    const batched = await ctx.small.add(ctx, {
      rel,
      st,
      started: () => (this.waiting -= st.size),
      done: (chunks, readAt) => {
        this.finished++;
        const mtimeMs = mtimeOf(st);
        done({ type: 'file', size: st.size, mtimeMs, mode: modeOf(st), ino: st.ino, ctimeMs: st.ctimeMs, chunks, ...racyFlag(mtimeMs, readAt) });
      },
    });
    if (batched) return;
    await ctx.files.start(async () => {
      this.waiting -= st.size;
      try {
        const readAt = Date.now();
        const out = await snapshotFile(ctx, join(ctx.root, rel), rel, name, st, undefined);
        if ('skipped' in out) return done(out);
        // snapshotFile re-lists a file that changed while being read: its entry is of the stat it read it at.
        const e = out.entry;
        done({ type: 'file', size: e.size, mtimeMs: e.mtimeMs, mode: e.mode, ino: out.st.ino, ctimeMs: out.st.ctimeMs, chunks: e.chunks, ...racyFlag(e.mtimeMs, readAt) });
      } catch (err) {
        const problem = fsProblem(err);
        if (problem === undefined) throw err;
        done('vanished' in problem ? undefined : { skipped: problem.unreadable });
      } finally {
        this.finished++;
        this.report();
      }
    });
  }

  walked(): void {
    this.counting = false;
    if (this.added > 0) this.report();
  }

  private report(): void {
    const p = this.ctx.progress;
    this.onProgress?.({ files: this.finished, filesTotal: this.added, bytes: p.bytesDone, bytesTotal: p.bytes + this.waiting, counting: this.counting });
  }

  async idle(): Promise<void> {
    try {
      await this.ctx.small.send(this.ctx);
    } finally {
      // No job outlives the scan, also when the last batch could not start.
      await this.ctx.files.idle();
    }
    this.ctx.files.check();
  }
}
