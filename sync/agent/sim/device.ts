/**
 * One simulated machine: a real folder and state dir, and — while its agent "process" is up — a
 * SyncFolder over a Repository of its own. Its store requests go through a Tripwire (crashes,
 * mid-pass user edits) into the device's FaultyStore, and from there into the one MemoryStore
 * all devices share.
 *
 * Like the agent service (agent.ts): a pass that fails keeps the same SyncFolder for the next one;
 * only a crash or a restart reopens it. A device whose reopen failed (a fault while reading the
 * repository) stays down and tries again at its next pass.
 *
 * With org layers, the device keeps what a session file would (signin/refresh.ts): the org roots
 * laid, and while a switch is in progress the ones before it, handed to every SyncFolder it opens;
 * the switch is over once a pass has synced it.
 */
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileReadError } from '../../chunker/file.js';
import { chunkBytes } from '../../chunker/stream.js';
import { openRepository } from '../../repo/index.js';
import type { BlobId } from '../../repo/types.js';
import type { FileChunker } from '../../snapshot/index.js';
import type { FaultyStore } from '../../store/faulty.js';
import type { ObjectStore } from '../../store/index.js';
import { openFileIndex, type FileIndex } from '../../state/index.js';
import { makeExcluder } from '../../watch/index.js';
import { SyncFolder, type PassResult } from '../folder.js';
import { LAYER } from '../testkit.js';
import type { Disk } from './disk.js';
import { Tripwire } from './tripwire.js';

/**
 * The simulation's files are a few bytes: chunking them whole in memory skips the streaming
 * chunker's two 4 MiB read buffers per file, which would otherwise dominate the run. Same
 * boundaries and ids, same error contract (E_FILE_READ with the errno as cause).
 */
export const smallFiles: FileChunker = {
  size: 1,
  async chunkFile(path, params, opts = {}) {
    const bytes = await readFile(path).catch((err: unknown) => {
      throw fileReadError(path, err);
    });
    return chunkBytes(bytes, params, opts.hash).file;
  },
};

/** One for all devices: the default rules compile once. */
const exclude = makeExcluder();

export type PassOutcome = PassResult | { status: 'error'; error: unknown; crashed: boolean };

export class SimDevice implements Disk {
  readonly root: string;
  readonly state: string;
  folder: SyncFolder | undefined;
  wire: Tripwire | undefined;
  private index: FileIndex | undefined;
  private healed = false;
  /** The org layer roots laid (FolderOptions.lower), and those before a switch in progress. */
  lower: BlobId[] = [];
  lowerBefore: BlobId[] | undefined;

  constructor(
    readonly name: string,
    base: string,
    readonly faulty: FaultyStore,
    private readonly clean: ObjectStore,
    readonly now: () => Date,
    /** Poll mode: no watcher, every pass rescans (agent.ts with watch: false). */
    readonly poll: boolean,
  ) {
    this.root = join(base, name, 'root');
    this.state = join(base, name, 'state');
    mkdirSync(this.root, { recursive: true });
    mkdirSync(this.state, { recursive: true });
  }

  get up(): boolean {
    return this.folder !== undefined;
  }

  /** Starts the agent process; returns the injected fault that kept it down, if one did. */
  async open(): Promise<unknown> {
    const wire = new Tripwire(this.faulty, this.clean);
    if (this.healed) wire.heal();
    const index = await openFileIndex(this.state, 'statcache');
    try {
      const repo = await openRepository(wire);
      const lower = { lower: this.lower, ...(this.lowerBefore ? { lowerBefore: this.lowerBefore } : {}) };
      const folder = new SyncFolder({ repo, root: this.root, layer: LAYER, device: this.name, index, execJournal: join(this.state, 'exec.journal'), pendingFile: join(this.state, 'pending.json'), settledFile: join(this.state, 'settled.json'), treeDir: join(this.state, 'trees'), exclude, chunker: smallFiles, now: this.now, ...lower });
      await folder.recover();
      this.folder = folder;
      this.wire = wire;
      this.index = index;
      return undefined;
    } catch (err) {
      await index.close();
      if (isExpected(err)) return err;
      throw err;
    }
  }

  /** Stops the process; its journals stay as they are (a crash or a clean exit look the same). */
  async close(): Promise<void> {
    await this.index?.close();
    this.index = undefined;
    this.folder = undefined;
    this.wire = undefined;
  }

  async restart(): Promise<unknown> {
    await this.close();
    return this.open();
  }

  /** No more injected faults, now and after any reopen. */
  heal(): void {
    this.healed = true;
    this.faulty.failRate = 0;
    this.wire?.heal();
  }

  /** Switches to org roots `lower` (recorded first, as the session is); false while a switch is in progress. */
  switchLower(lower: BlobId[]): boolean {
    if (this.lowerBefore !== undefined) return false;
    this.lowerBefore = this.lower;
    this.lower = lower;
    this.folder?.switchLower(lower, this.lowerBefore);
    return true;
  }

  markDirty(paths: readonly string[]): void {
    this.folder?.markDirty(paths);
  }

  /** One pass, as the agent runs it; a crash (Tripwire) brings the process down and back up. */
  async pass(): Promise<PassOutcome> {
    const down = this.up ? undefined : await this.open();
    if (down !== undefined) return { status: 'error', error: down, crashed: false };
    const folder = this.folder!;
    const wire = this.wire!;
    if (this.poll) folder.markAllDirty();
    let out: PassOutcome;
    try {
      out = await folder.pass(wire.abort.signal);
    } catch (error) {
      out = { status: 'error', error, crashed: wire.dead };
    }
    wire.disarm();
    if (out.status === 'synced' && !folder.switching) this.lowerBefore = undefined;
    if (wire.dead) await this.restart();
    return out;
  }
}

/** Failures the simulation provokes on purpose: injected faults and crashes. */
export function isExpected(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'E_TRANSIENT' || code === 'E_SIM_CRASH';
}
