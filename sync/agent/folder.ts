/**
 * One synced folder: a directory on this machine kept in two-way sync with one layer.
 * `pass()` is one full reconcile (DESIGN §3); this module holds its state between passes and the
 * order of its steps, each step its own module:
 *
 *   1. rescan what the watcher marked dirty (everything at start-up) and upload changed files
 *      (rescan.ts);
 *   2. read the device heads and merge every other device's new head three-way (remote.ts) into
 *      the local side (mine.ts);
 *   3. apply the merged tree to the disk with the executor (apply.ts), the merge recorded first
 *      (pending.ts);
 *   4. write the merged tree, a snapshot whose parents are this device's previous head and the
 *      heads it merged, then this device's head (commit.ts).
 *
 * Beside it: folder-plan.ts the plan of a pass and the deletes it counts, folder-lower.ts the org
 * layers under the user layer and their switches, folder-skip.ts the paths passes leave alone,
 * folder-recover.ts what an apply that did not finish left.
 *
 * Must hold:
 * - write order: chunks and trees are flushed before the snapshot, the snapshot before the head;
 *   the local tree (stat cache) is committed only after its chunks are durable and indexed;
 * - a pass that changes files writes one index object (each costs every later start and sign-in
 *   a GET): its scan's chunks and its trees are flushed together, and the scan is committed to
 *   the local tree after that flush (or, for a pass that writes no trees, after a flush of its
 *   chunks alone); a pass that fails before drops the scan (reload), and the next pass's full
 *   scan finds its changes again;
 * - a pass that changes nothing writes nothing: equal flat trees give equal root ids (trees.ts),
 *   so devices that agree stop writing snapshots;
 * - no mass delete without the user: a pass whose deletes, with those of the last hour, make more
 *   than half of the files (and at least MASS_DELETE_MIN of them) on the disk, or in the layer, is
 *   held until confirmDeletes() (guard.ts); the untouched org files a switch of the org layers
 *   drops are not counted (the admin's, kept in the bucket in the old version);
 * - paths this device cannot see — excluded here, unreadable now, too long to lay under this root
 *   (skipTooLong) — keep their version from this device's head (mine.ts) and are never touched on
 *   disk; where the merge changed an unreadable
 *   one, the disk lags the head, and a pending merge says so until a pass lays it (pending.ts);
 * - a switch of the org layers under the user layer (switchLower) reads the disk against the old
 *   and the new ones until a pass has synced it (mine.ts, overlay's laidLower), and its apply is
 *   recorded as a pending merge: no org file, old or new, is ever taken for the user's edit.
 */
import { randomBytes } from 'node:crypto';
import { clearJournal, type Seed } from '../exec/index.js';
import { fitsUnder } from '../fsutil.js';
import { countFiles, foldForDisk, hasCaseCollisions, type Node } from '../plan/index.js';
import type { BlobId, Head, SnapshotId } from '../repo/types.js';
import { commitSnapshot } from './commit.js';
import { layerGraph, type SnapshotGraph } from './history.js';
import { LocalTree, type ScanResult } from './local.js';
import { applyPlan, deletedBy } from './apply.js';
import { mergeHeads, snapshotTree } from './remote.js';
import { TreeCache, type ChunkMap } from './trees.js';
import { TreeFiles } from './tree-files.js';
import { DeleteHistory, massDelete, type DeleteRun, type HeldDeletes } from './guard.js';
import { putBack, type PutBackSource } from './put-back.js';
import { HeldAnswers, restoreEarlier, type Answer } from './answer.js';
import { overlay, userView } from '../overlay/index.js';
import { loadSettled, sameSettled, saveSettled, type Settled } from './settled.js';
import { checkPendingTrees, clearPending, loadPending, savePending, type PendingMerge } from './pending.js';
import type { FolderOptions, PassResult } from './folder-types.js';
import { localSide } from './mine.js';
import { isObjectError } from '../store/index.js';
import { isStrataError, StrataError } from '../errors.js';
import { EMPTY_BASE, readBase, type Base } from './base.js';
import { isDir, noRoot, rescan } from './rescan.js';
import { diskAfter, lagsAt, unreadTest } from './carry.js';
import { OrgLayers } from './folder-lower.js';
import { planPass } from './folder-plan.js';
import { dropSeeds, recoverApply, removeStashes } from './folder-recover.js';
import { LeftAlone } from './folder-skip.js';

export type { FolderOptions, PassPhase, PassResult } from './folder-types.js';
export { BLOCKED_MS } from './folder-skip.js';

export class SyncFolder {
  readonly local: LocalTree;
  private readonly graph: SnapshotGraph;
  private readonly trees: TreeCache;
  private readonly dirty = new Set<string>();
  private fullScan = true;
  private own: SnapshotId | undefined;
  private considered = new Map<string, SnapshotId>();
  private knownHeads = '';
  /** The user's answer to a hold, until a pass carries it out, and what carrying it out needs (answer.ts). */
  private readonly answers: HeldAnswers;
  /** Deletes of recent passes, which count towards the next hold (guard.ts). */
  private deletes = new DeleteHistory();
  /** Temps of downloads a killed apply cut off (recover's seeds): the next apply takes chunks from them, then removes them. */
  private seeds: Seed[] = [];
  /** The machine's own files under the layer (FolderOptions.baseFile). */
  private base: Base = EMPTY_BASE;
  private pending: PendingMerge | undefined;
  /** The org layers under the user layer, and a switch of them (folder-lower.ts). */
  private readonly org: OrgLayers;
  /** The next pass loads the index objects written since the last load. */
  private indexStale = false;
  /**
   * A pass failed on a blob in no index, said as not listed yet (notListedYet): 'unloaded' until a
   * pass loads the index objects again, then 'reloaded', when a blob still missing is damage.
   */
  private missed: 'no' | 'unloaded' | 'reloaded' = 'no';
  /** A pass failed: the executor's journal may be pending, and the local tree may lag the disk. */
  private failed = false;
  /** This pass's scan is in the local tree, not yet committed (its chunks may not be durable yet). */
  private scanOpen = false;
  /** The last pass synced and nothing has changed since (the idle poll can stop early). */
  private settled = false;
  /** What the last synced pass left, as recorded (settled.ts); checked by the first pass after a start. */
  private record: Settled | undefined;
  /** Files and symlinks in the folder after the last synced pass. */
  private files = 0;
  /** Bytes of new chunks the last scan uploaded. */
  private uploaded = 0;
  /** The paths passes leave alone for now (folder-skip.ts). */
  private readonly skip = new LeftAlone();

  constructor(private readonly opts: FolderOptions) {
    this.local = new LocalTree(opts.root, opts.index, opts.exclude);
    this.graph = layerGraph(opts.repo, opts.layer, opts.snapshotsKept);
    this.trees = new TreeCache(opts.repo, opts.treeDir === undefined ? undefined : new TreeFiles(opts.treeDir, opts.repo.format.hash));
    this.answers = new HeldAnswers(opts.answerFile);
    this.org = new OrgLayers(opts);
  }

  /** True while a switch of the org layers (switchLower) has not reached the disk in a synced pass. */
  get switching(): boolean {
    return this.org.before !== undefined;
  }

  /**
   * Switches the org layers under the user layer to `lower` (an admin published a new version, or
   * assigned others); `before` are the ones the disk was laid from (FolderOptions.lowerBefore).
   * The next pass takes the disk there; once one has synced, `switching` is false.
   */
  switchLower(lower: readonly BlobId[], before: readonly BlobId[], rootKeys: ReadonlyMap<BlobId, string> = new Map()): void {
    this.org.switchTo(lower, before, rootKeys);
    this.settled = false;
    // The new version's trees are in packs the index loaded so far may not name.
    this.indexStale = true;
  }

  /**
   * The paths passes leave alone for now, and why: those the executor could not write, which the
   * last pass's scan was told of (skipBlocked) or its apply found, or found again; and those too
   * long to lay here, as the last full pass found them (an idle poll does not look again).
   */
  get leftAlone(): ReadonlyMap<string, string> {
    return this.skip.all;
  }

  /** Finishes or rolls back what a crash left of the last apply; call once before the first pass. */
  async recover(): Promise<void> {
    // The deletes first: the recovery of the apply records there what the journal holds.
    if (this.opts.deletesFile) this.deletes = await DeleteHistory.load(this.opts.deletesFile);
    if (await isDir(this.opts.root)) await this.recoverApply();
    this.pending = await loadPending(this.opts.pendingFile);
    this.record = await loadSettled(this.opts.settledFile);
    if (this.opts.baseFile) this.base = await readBase(this.opts.baseFile);
    await this.answers.load();
    this.failed = false;
  }

  /** The executor's recovery (folder-recover.ts); its seeds are kept for the next apply. */
  private async recoverApply(): Promise<void> {
    this.seeds = await recoverApply(this.opts, this.deletes);
  }

  private async setPending(p: PendingMerge | undefined): Promise<void> {
    if (p === undefined) {
      if (this.pending !== undefined) await clearPending(this.opts.pendingFile);
    } else {
      await savePending(this.opts.pendingFile, p);
    }
    this.pending = p;
  }

  markDirty(paths: readonly string[]): void {
    for (const p of paths) this.dirty.add(p);
  }

  /** Rescan everything at the next pass (start-up, a restored root). */
  markAllDirty(): void {
    this.fullScan = true;
  }

  /** Lets the held pass go ahead, if the next one holds the same deletes. */
  approve(held: HeldDeletes): Promise<void> {
    return this.answers.give(held, 'confirm');
  }

  /**
   * Puts back, instead, what the held pass would delete and what that direction's passes deleted
   * in the hour (put-back.ts), if the next pass holds the same deletes.
   */
  restoreHeld(held: HeldDeletes): Promise<void> {
    return this.answers.give(held, 'restore');
  }

  /** The answer the next pass acts on if it holds `held` again: one given while a pass ran stays for the next. */
  answerFor(held: HeldDeletes): Answer | undefined {
    return this.answers.answerFor(held);
  }

  /**
   * One full reconcile. After a failed one (a store fault, an abort) the next starts clean: the
   * pack writer drops what it did not upload, the executor's journal is recovered, the whole
   * folder is rescanned, since applied ops may not have reached the local tree, and the index
   * objects written since the last load are loaded.
   */
  async pass(signal?: AbortSignal): Promise<PassResult> {
    if (this.failed && (await isDir(this.opts.root))) {
      await this.recoverApply();
      this.failed = false;
    }
    const switching = this.org.before;
    try {
      const r = await this.reconcile(signal);
      this.missed = 'no';
      // A synced pass left the disk laid from the new org layers, whatever part of the switch it made.
      if (r.status === 'synced' && switching !== undefined && this.org.before === switching) this.org.before = undefined;
      return r;
    } catch (err) {
      this.failed = true;
      this.fullScan = true;
      this.settled = false;
      // The scan's entries may name chunks the abort below drops.
      if (this.scanOpen) await this.local.reload();
      this.scanOpen = false;
      // The failure may be a blob in an index object the load missed: a listing may lag the writes
      // it reports (OpenStack Swift's), so the next pass loads those written since.
      this.indexStale = true;
      await this.opts.repo.abort();
      throw this.notListedYet(err);
    }
  }

  /**
   * A blob in no index, before the index objects were loaded again since the last such failure, may
   * be in one the bucket's listing does not show yet: said so, not as damage (the message of
   * E_BLOB_NOT_FOUND reads as a broken repository). Still missing after that load, it is damage
   * (E_BLOB_NOT_FOUND as it came).
   */
  private notListedYet(err: unknown): unknown {
    if (!isStrataError(err, 'E_BLOB_NOT_FOUND') || this.missed === 'reloaded') return err;
    this.missed = 'unloaded';
    const what = `an object this pass needs is not listed by the bucket yet (its listings lag its writes, as OpenStack Swift's may), and is tried again at the next pass: ${err.message}`;
    return new StrataError('E_NOT_LISTED_YET', what, { ...(err.key !== undefined ? { key: err.key } : {}), ...(err.path !== undefined ? { path: err.path } : {}) }, { cause: err });
  }

  private async reconcile(signal?: AbortSignal): Promise<PassResult> {
    const { repo, root, layer, device } = this.opts;
    if (!(await isDir(root))) throw noRoot(root);
    const { heads, errors } = await repo.listHeads(layer);
    if (errors.length > 0 && heads.length === 0) throw errors[0]!;
    // Other devices' heads only: this device's own head moves only when this device writes it.
    const fingerprint = heads.filter((h) => h.device !== device).map((h) => `${h.device}:${h.snapshot}`).join(',');
    // The org layers this pass lays from, read before the index is loaded for them: a switch that
    // comes later is the next pass's, as its trees may be in index objects this load missed.
    const switches = this.org.switches;
    const lowerRoots = this.org.roots;
    const switching = this.org.before;
    if (fingerprint !== this.knownHeads || this.own === undefined || this.indexStale) {
      // Cleared before the load: a switch during it may need index objects the load missed.
      this.indexStale = false;
      await repo.loadIndex().catch((err: unknown) => {
        this.indexStale = true;
        throw err;
      });
      if (this.missed === 'unloaded') this.missed = 'reloaded';
    }
    const listed = heads.find((h) => h.device === device);
    const ownHead = listed?.snapshot;
    // Deletes saved ahead of a head write count only if it happened (guard.ts).
    if (errors.length === 0 && this.deletes.headFound(ownHead) && this.opts.deletesFile) await this.deletes.save(this.opts.deletesFile);
    this.own ??= ownHead ?? (await this.recordedOwn());
    // This device is signed in, yet its head is gone or marked final: a sign-out that failed after
    // marking it, and a sign-in elsewhere that then dropped it (signin/device-head.ts). Nothing is
    // lost (that sign-in's head descends from it), but this device's next edits need it back; so
    // does a start (recordedOwn), or the disk would meet every change made since as a clash.
    if (this.own !== undefined && (listed === undefined || (listed.final === true && listed.snapshot === this.own))) {
      try {
        await repo.writeHead(layer, device, this.own, (await this.graph.get(this.own)).time);
      } catch (err) {
        // Its head retired (admin device retire) and its snapshot forgotten since (admin forget):
        // there is no base to write back, as at a start that finds its recorded one gone
        // (recordedOwn); this pass merges with none, keeping both versions where they differ.
        if (!isStrataError(err, 'E_NOT_DURABLE')) throw err;
        this.own = undefined;
      }
    }

    const scan = await this.scan(signal);
    signal?.throwIfAborted();
    this.skip.skipBlocked(scan, this.clock().getTime());
    const quiet = scan.changed.length === 0 && scan.skipped.size === 0;
    // A quiet scan packed nothing, and what it did change (a dir's mtime, a racy file found the same)
    // is committed at once: the settled record below is compared with the stat cache as it leaves it.
    if (quiet) await this.commitScan();
    // The first pass after a start: nothing changed since the synced pass recorded before it (nor
    // did a switch come since this pass read the layers: its record would match the old ones; nor
    // is a restore of what a confirmation deleted still to carry out).
    if (!this.settled && quiet && this.pending === undefined && ownHead !== undefined && ownHead === this.own && this.org.switches === switches && !this.answers.confirmedKept) {
      const now = this.settledNow(fingerprint, this.record?.files ?? 0, lowerRoots);
      if (sameSettled(this.record, now)) {
        this.knownHeads = fingerprint;
        this.settled = true;
        this.files = now.files;
      }
    }
    // The idle poll: nothing changed here or in the bucket since the last synced pass, and no
    // answer waits (one given while that pass ran, for a hold it no longer found, goes in a full
    // pass that says so).
    if (this.settled && fingerprint === this.knownHeads && quiet && !this.answers.waiting) {
      return { status: 'synced', conflicts: [], scan, uploaded: 0, downloaded: 0, wrote: 0, files: this.files };
    }
    this.settled = false;
    const chunks: ChunkMap = new Map();
    this.local.chunksByContent(chunks);
    const view = (c: ChunkMap) => this.view(c);
    const lower = lowerRoots.length > 0 ? await this.org.tree(lowerRoots, chunks, view) : undefined;
    const lowerBefore = switching === undefined ? undefined : await this.org.tree(switching, chunks, view);
    const pending = this.pending;
    if (pending !== undefined) checkPendingTrees(pending, this.opts.pendingFile, root, (id) => repo.blobLocation(id) !== undefined);
    const tooLong = (p: string): boolean => !fitsUnder(this.opts.root, p);
    const { ownTree, hidden, scanned, disk, mine, conflicts, merging } = await localSide({ view: this.view(chunks), local: this.local, scan, own: this.own, pending, lower, lowerBefore, base: this.base, device, caseInsensitive: this.opts.caseInsensitive, tooLong });
    const others = heads.filter((h: Head) => h.device !== device);
    const m = await mergeHeads({ ...this.view(chunks), device, own: this.own, alsoMerged: pending?.parents ?? [], heads: others, considered: this.considered, mine, caseInsensitive: this.opts.caseInsensitive });
    const parents = [...new Set([...(pending?.parents ?? []), ...m.parents])];
    conflicts.push(...m.conflicts);

    const localFlat = this.local.flat();
    let merged = m.merged;
    // What the disk must hold: the user layer over the org layers, or over nothing (its whiteouts,
    // which a VDI machine's base writes too, never reach the disk).
    let effective: Map<string, Node> = overlay(lower === undefined ? [merged] : [lower, merged]);
    if (lower !== undefined && this.opts.caseInsensitive && hasCaseCollisions(effective.keys())) {
      // Each merge keeps the user layer's names apart on a case-insensitive disk; over the org
      // layers, this does. The user layer records what the disk gets: the copy, and a whiteout
      // where an org file was set aside or an org folder united with another (no copy then).
      const folded = foldForDisk(effective, (p) => (m.merged.has(p) ? layer : 'org'));
      merged = userView(folded.tree, lower, m.merged);
      effective = overlay([lower, merged]);
      conflicts.push(...folded.conflicts);
    }
    this.skip.skipTooLong(scan, effective, tooLong);
    // Another device's deletes that a merge cut short took off the disk are that device's.
    const notMine = (p: string, node: Node): boolean => hidden(p, node) || merging.has(p);
    const planning = { hidden, caseInsensitive: this.opts.caseInsensitive, lower, lowerBefore, ownTree, disk, notMine };
    let { target, plan, deletes } = planPass(localFlat, effective, planning);
    const now = (this.opts.now ?? (() => new Date()))();
    let held = massDelete(deletes, this.deletes, now.getTime());
    // A restore that a crash cut off after its apply still overrules the heads it merged.
    let overruled = pending?.overruled === true;
    const hold = async (h: HeldDeletes): Promise<PassResult> => {
      await this.commitScan();
      this.answers.asked(h, deletes[h.direction].paths ?? []);
      // A hold may stand for days while other devices write: what its passes read must not pile up.
      await this.trees.prune();
      this.graph.prune();
      return { status: 'held', held: h, scan, files: countFiles(localFlat) };
    };
    // The answer this pass acts on, as it read it: one given later is not this pass's to carry out or drop.
    const carrying = await this.answers.read(held, deletes);
    if (carrying.act === 'restore') {
      // Local deletes come back from this device's head; remote ones stay as the disk has them.
      const sources: PutBackSource[] = [{ tree: carrying.direction === 'local' ? ownTree : localFlat, paths: deletes[carrying.direction].paths ?? [] }];
      for (const r of restoreEarlier(carrying, this.deletes, now.getTime())) {
        const layerThen = await snapshotTree(this.view(chunks), r.from);
        sources.push({ tree: overlay(lower === undefined ? [layerThen] : [lower, layerThen]), paths: r.paths });
      }
      const back = putBack(effective, sources, { hidden, caseInsensitive: this.opts.caseInsensitive });
      effective = back.tree;
      overruled ||= back.restored > 0;
      merged = userView(effective, lower ?? new Map(), merged);
      ({ target, plan, deletes } = planPass(localFlat, effective, planning));
      held = massDelete(deletes, this.deletes, now.getTime());
      if (held?.direction === carrying.direction) held = undefined;
      if (held !== undefined) return hold(held);
    }
    if (held !== undefined && carrying.act !== 'confirm') return hold(held);
    let answered = carrying.act;
    // The direction whose deletes the answer settles.
    const settled = carrying.direction;
    const mergedRoot = await this.trees.write(merged, chunks);
    // A switch of the org layers is recorded as a merge too: cut off, its next pass must take the
    // files it already laid for the new version's, not for the user's edits.
    const record = plan.ops.length > 0 && (parents.length > 0 || switching !== undefined);
    const baseRoot = record ? await this.trees.write(scanned, chunks) : undefined;
    // A path the scan could not read keeps its bytes on the disk, while the merged tree may take
    // another device's version of it. Taken from the disk as it is once readable, those old bytes
    // would read as this device's edit and undo the other one everywhere. So the disk as this pass
    // leaves it is recorded against the merged tree as a pending merge (pending.ts), until a pass
    // has laid the merged version there or found it edited (then both versions stay).
    const after = diskAfter(target, scanned, hidden, (p) => tooLong(p) && !localFlat.has(p));
    const unread = unreadTest(scan);
    const lagRoot = lagsAt(after, effective, unread) ? await this.trees.write(after, chunks) : undefined;
    // The disk lags for good where a path is too long to lay here: no pass can do more there until
    // a new head or a local change (which end the idle poll) or a root moved higher up (a start,
    // which finds the lag recorded). The folder settles all the same.
    const lags = lagRoot !== undefined && lagsAt(after, effective, (p) => unread(p) && !tooLong(p));
    // The one flush of the pass: the scan's chunks and the trees, under one index object.
    await this.commitScan();
    // The user changed their answer while this pass wrote the layer: nothing is deleted or settled
    // yet, so the next pass, at once, holds the same deletes and carries out the new one.
    if (answered !== undefined && this.answers.changedSince(carrying)) return { status: 'retry', scan };
    // From here the confirmation deletes and settles: what it deletes is kept, with what it
    // settles, for a restore given before its hold leaves the status. A pass finishing one cut
    // short adds its own.
    if (carrying.act === 'confirm') {
      // This device's head before the pass has the files, whichever way they go.
      const own = this.own === undefined ? [] : [{ from: this.own, paths: deletes[carrying.direction].paths ?? [] }];
      await this.answers.keepConfirmed(carrying, [...this.deletes.restorable(carrying.direction, now.getTime()), ...own]);
    }
    let downloaded = 0;
    if (plan.ops.length > 0) {
      if (baseRoot !== undefined) await this.setPending({ parents, root: mergedRoot, base: baseRoot, ...(overruled ? { overruled } : {}) });
      // The files it deletes are deleted, however the pass ends (cut short, failing at the store
      // before its head, or the process killed): the next one no longer plans them, so they count
      // towards its hold, and a restore puts them back, only from here. A confirmation of them
      // settles them as it would have at the end of the pass; one of local deletes settles once
      // the head names them. The executor's journal, labelled with what recording them needs, is
      // kept until they are: a recovery records them if the process dies before (guard.ts).
      const settles = answered === 'confirm' && settled === 'remote' ? settled : undefined;
      // The plan's deletes that do not count (a switch's, resolved conflict copies: guard.ts).
      const counting = new Set(deletes.remote.paths);
      const uncounted = deletedBy(plan.ops).filter((p) => !counting.has(p));
      const run: DeleteRun = { id: randomBytes(8).toString('hex'), at: now.getTime(), ...(this.own !== undefined && { from: this.own }), ...(settles && { settled: settles }), ...(uncounted.length > 0 && { dropped: uncounted }) };
      const res = await applyPlan(this.local, plan, chunks, run, this.opts, signal, this.seeds.splice(0));
      const counted = res.deleted.filter((p) => counting.has(p));
      const applied = { files: counted.length, of: deletes.remote.of, paths: counted };
      await this.recordDeletes({ remote: applied, local: { files: 0, of: deletes.local.of } }, run.at, settles, this.own, run.id);
      // A run that threw may have left an op half-done: its journal goes at the recovery.
      if (res.failed === undefined) await clearJournal(this.opts.execJournal);
      downloaded = res.downloaded;
      this.markDirty(res.rescan);
      this.skip.block(res.blocked, this.clock().getTime());
      await this.local.commit();
      if (!res.complete) {
        await removeStashes(this.opts.root);
        if (answered !== undefined) this.answers.cutShort(answered);
        if (res.failed !== undefined) throw res.failed;
        if (res.aborted) signal?.throwIfAborted();
        // The answer stands for what is left of its hold: the next pass finishes what this one began.
        return { status: 'retry', scan };
      }
    } else await dropSeeds(this.opts.root, this.seeds);
    // An answer a pass cut short began to carry out is carried out, whether or not what it left
    // still makes a hold.
    answered ??= this.answers.unfinished;
    // The answer is carried out once the head names what it settled: a store fault or a crash
    // before that leaves it for the next pass, which holds the same deletes, or the user would be
    // asked again. One given while this pass ran stays for the next.
    const before = this.own;
    // The lag record is saved before the head: a crash between the two must not leave a head that
    // names the other device's version with nothing saying the disk lags it. Until the head is
    // written, the record still names the heads merged, as the one saved before the apply does.
    if (lagRoot !== undefined) await this.setPending({ parents, root: mergedRoot, base: lagRoot, ...(overruled ? { overruled } : {}) });
    // The local deletes, and what the answer settled, are saved before the head that names them,
    // to be taken back if it is never written (guard.ts); the remote deletes were recorded as the
    // apply made them.
    const local = { remote: { files: 0, of: deletes.remote.of }, local: deletes.local };
    if (this.deletes.recordBeforeHead(local, now.getTime(), settled, before) && this.opts.deletesFile) await this.deletes.save(this.opts.deletesFile);
    const snapshot = await commitSnapshot({ repo, layer, device, graph: this.graph, own: this.own, merged, root: mergedRoot, parents, bytesAdded: this.uploaded, now: (this.opts.now ?? (() => new Date()))(), overruled });
    if (snapshot !== undefined) this.own = snapshot;
    // The answer goes once carried out; one that found no hold goes too, and the user is told why.
    const notCarried = await this.answers.done(carrying, answered, (p) => target.has(p));
    if (this.deletes.headWritten() && this.opts.deletesFile) await this.deletes.save(this.opts.deletesFile);
    await this.setPending(lagRoot === undefined ? undefined : { parents: [], root: mergedRoot, base: lagRoot });
    this.considered = m.considered;
    this.knownHeads = fingerprint;
    // A disk that lags the merged tree where it could be laid is not settled: the next pass must
    // lay what it can; nor is one laid from org layers a switch has replaced since this pass read
    // them; nor one with a restore of what this pass's confirmation deleted still to carry out.
    this.settled = !lags && this.org.switches === switches && !this.answers.confirmedKept;
    this.files = countFiles(target);
    await this.trees.prune();
    this.graph.prune();
    if (this.own !== undefined) {
      const now = this.settledNow(fingerprint, this.files, lowerRoots);
      if (!sameSettled(this.record, now)) await saveSettled(this.opts.settledFile, now);
      this.record = now;
    }
    return { status: 'synced', snapshot, conflicts, scan, uploaded: this.uploaded, downloaded, wrote: plan.ops.length, files: this.files, ...(answered && { answered }), ...(notCarried && { notCarried }) };
  }

  /** Adds a pass's deletes to the hour's (DeleteHistory.record), kept in the state dir. */
  private async recordDeletes(...args: Parameters<DeleteHistory['record']>): Promise<void> {
    if (this.deletes.record(...args) && this.opts.deletesFile) await this.deletes.save(this.opts.deletesFile);
  }

  private clock(): Date {
    return (this.opts.now ?? (() => new Date()))();
  }

  /**
   * The head the last synced pass recorded (settled.ts), at a start that finds none: the merge base
   * the disk was synced to. A snapshot that cannot be read is no base; a store that fails, fails.
   */
  private async recordedOwn(): Promise<SnapshotId | undefined> {
    const own = this.record?.own;
    if (!own) return undefined;
    return this.graph.get(own).then(
      () => own,
      (err: unknown) => {
        if (isObjectError(err)) return undefined;
        throw err;
      },
    );
  }

  /** The settled record of a pass that laid the disk from the org layers `lower`. */
  private settledNow(heads: string, files: number, lower: readonly BlobId[]): Settled {
    return { own: this.own ?? '', heads, lower: lower.join(','), sequence: this.opts.index.sequence, files };
  }

  private view(chunks: ChunkMap) {
    return { graph: this.graph, trees: this.trees, chunks };
  }

  /** Makes the scan's chunks and the trees written since durable and indexed, then commits the scan to the local tree. */
  private async commitScan(): Promise<void> {
    await this.opts.repo.flush();
    await this.local.commit();
    this.scanOpen = false;
  }

  private async scan(signal?: AbortSignal): Promise<ScanResult> {
    const paths = this.fullScan ? [''] : [...this.dirty];
    this.fullScan = false;
    this.dirty.clear();
    try {
      const r = await rescan(this.local, paths, this.opts, signal);
      this.uploaded = r.uploaded;
      this.scanOpen = true;
      return r.scan;
    } catch (err) {
      // rescan() dropped what it did not commit: the next scan is a full one.
      this.fullScan = true;
      throw err;
    }
  }
}
