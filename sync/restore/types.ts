/**
 * The restore module's public option and result types, and the plan it builds from the trees.
 */
import type { Dirent } from 'node:fs';
import type { HashAlgorithm } from '../chunker/hash.js';
import type { DiskNode } from '../plan/types.js';
import type { BlobId, ChunkerParams, SymlinkEntry } from '../repo/types.js';
import type { EarlierWalk, FileStat } from './seed.js';

export interface RestoreProgress {
  filesDone: number;
  files: number;
  bytesDone: number;
  bytes: number;
  bytesSeeded: number;
  bytesDownloaded: number;
}

/** Cuts a local file into chunks with the repository's parameters and hash (as ChunkPool.chunkFile). */
export type ChunkFileFn = (path: string, params: ChunkerParams, hash: HashAlgorithm) => Promise<ChunkedFile>;

/**
 * Chunks many small local files (each below chunker/small.ts's SMALL_FILE, listed with `st`) in
 * one call, each read whole (as chunker/small.ts's chunkSmall); undefined for a file that changed
 * or could not be read so, which the caller then chunks by path.
 */
export type ChunkFilesFn = (files: readonly { path: string; st: FileStat }[], params: ChunkerParams, hash: HashAlgorithm) => Promise<(ChunkedFile | undefined)[]>;

export interface ChunkedFile {
  size: number;
  chunks: { id: BlobId; offset: number; length: number }[];
}

export interface RestoreOptions {
  /** Folder the tree's root is laid onto; created if missing. */
  target: string;
  /** Root tree of the layer (a snapshot's `root`), or a tree already in memory (the sign-in's effective tree). */
  root: BlobId | MemoryTree;
  /** The object naming `root` (its snapshot's key), for the error when no index holds it. */
  rootKey?: string;
  /** Folders whose files may hold needed chunks; the target itself (with `only`, that path of it) is always a seed too. */
  seeds?: string[];
  /** Restore only this `/`-separated path relative to the root (a file or a folder; a root tree id only). */
  only?: string;
  /** Lower runs first; default: the size (small files before large). */
  priority?: (relPath: string, size: number) => number;
  /** Files assembled and GETs in flight at once (default 8). */
  concurrency?: number;
  onProgress?: (p: RestoreProgress) => void;
  signal?: AbortSignal;
  /**
   * No fsync per file and folder: the caller makes the target durable itself (syncFileSystem of
   * each of stats.fileSystems) before it relies on the result, and after a crash before that, reruns the restore without
   * `quickCheck` (index.ts, Durability). Default false.
   */
  deferSync?: boolean;
  /**
   * A target file whose size and mtime equal the entry's is taken as complete without reading it
   * (rsync's quick check; the agent's scan trusts the same). Default false: its chunks are compared.
   */
  quickCheck?: boolean;
  /** How seed and target files are chunked (default: sync/chunker's worker pool). */
  chunkFile?: ChunkFileFn;
  /** How small seed and target files are chunked, many at once (default: with the default chunkFile, the worker pool's batches; with another chunkFile, none). */
  chunkFiles?: ChunkFilesFn;
  /**
   * Folders are left with the mode they were created with (the snapshot's plus owner rwx, as the
   * umask allows) and their mtimes unset: the caller restores the same folders again right after
   * (the sign-in's ready half, then the rest), and that restore sets them — setting them twice is
   * 8,000 folders' open, fchmod, futimes, close for nothing. Default false.
   */
  folderMetaLater?: boolean;
  /**
   * Folders of the target the caller listed a moment ago and changed nothing in since, by
   * absolute path (the sign-in's first contact): the restore's walk takes these listings instead of
   * reading the folders again. Folders the restore creates are not walked either way.
   */
  listed?: ReadonlyMap<string, readonly Dirent[]>;
  /**
   * Folders of the target the caller listed a moment ago and changed since (not in `listed`), by
   * absolute path, with the entries it left in place. With `newcomers`, these and `listed`'s are
   * what the restore takes as there before it began where a folder goes (replaced as the snapshot
   * says, not kept as newcomers); the walk reads these folders itself.
   */
  seen?: ReadonlyMap<string, readonly Dirent[]>;
  /**
   * Told, once a whole restore (no `only`, no `aside`) is done, its walk of the target and seeds
   * and the paths it wrote since (`walked` of the next restore).
   */
  onWalked?: (walked: EarlierWalk) => void;
  /**
   * An earlier restore's walk of this target and these seeds (its `onWalked`), over which nothing
   * changed since but what it wrote: the sign-in's ready half, then the rest. This restore takes it
   * instead of walking again, and looks again only at the paths the earlier one wrote. A file
   * changed since by someone else is listed as it was: its chunks are verified when copied (seed.ts),
   * so it is at worst a failed seed, downloaded instead. Ignored with `only`.
   */
  walked?: EarlierWalk;
  /**
   * Told, before the restore writes a file of the tree where the target has a regular file, what
   * that file was (the lstat its walk made anyway): the sign-in tells a VDI image's file by it
   * (sync/signin/base.ts imageFilesReplaced).
   */
  replacing?: (rel: string, before: FileStat) => void;
  /**
   * Keep what the target has where the tree has another kind of entry (a folder where it has a
   * file or link, a file or link where it has a folder): moved aside to a conflict copy named for
   * this device (aside.ts) rather than removed. Default: removed, the snapshot wins.
   *
   * With `aside`, a file or link the restore replaces is kept the same way unless the layer keeps
   * its version: `latest`, the root tree of the layer's latest snapshot, has there a file of the
   * same size and mtime (the sync engine's quick check) or a link to the same target. Without
   * `latest`, every file or link the restore replaces is kept.
   */
  aside?: { device: string; latest?: BlobId };
  /**
   * Keep what appears at a file's path after the restore's walk of the target, or what changes
   * there since (the user or an app writing while the restore downloads): before the file goes in,
   * that is moved aside to a conflict copy named for `device` (stats.movedAside), never replaced;
   * only what the walk saw there is. On with `aside` (its device). Default: the snapshot wins.
   */
  newcomers?: { device: string };
}

/**
 * Byte counts are file content: bytes = bytesDownloaded + bytesSeeded + bytesReused, each file
 * byte counted once for every place it is written.
 */
export interface RestoreStats {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Written from chunks fetched from the store. */
  bytesDownloaded: number;
  /** Written from chunks copied out of local seed files (the target's old files included). */
  bytesSeeded: number;
  /** In files that were already correct on disk and were left in place. */
  bytesReused: number;
  /** Store GET requests made by this restore (tree loads included). */
  gets: number;
  filesSkippedComplete: number;
  /**
   * Entries of the target moved aside (`aside`), target-relative; `changed`: a file or link the
   * restore replaced, whose version the layer did not keep (kept as a copy, the original replaced).
   */
  movedAside: { path: string; copy: string; changed?: true }[];
  /**
   * Paths left out, target-relative and sorted, each standing for everything under it: too long to
   * be laid under this target on this machine (past PATH_MAX, plan.ts leaveOutTooLong).
   */
  tooLong: string[];
  /**
   * One folder of each file system the restore wrote to (the target's, and that of each folder of
   * it mounted from another): a caller that syncs itself (`deferSync`) syncs each, as a syncfs
   * covers one.
   */
  fileSystems: string[];
}

/**
 * A tree to lay that is already in memory, as flat paths: the sign-in's effective tree, whose
 * nodes come from trees loadTree validated. Planning it directly saves writing it as tree objects
 * and reading them back. Parents come before their children.
 */
export interface MemoryTree {
  nodes: ReadonlyMap<string, DiskNode>;
  /** Each file's chunk ids by its content key. */
  chunks: ReadonlyMap<string, readonly BlobId[]>;
  /** A folder's mtime (milliseconds). */
  dirMtime: (path: string) => number;
}

/** What a planned file is: the fields of its tree entry a restore writes. */
export interface FileMeta {
  mode: number;
  mtimeMs: number;
  size: number;
  chunks: readonly BlobId[];
}

/** What a planned folder's metadata is. */
export interface DirMeta {
  mode: number;
  mtimeMs: number;
}

/** A chunk at its place in a file. */
export interface PlacedChunk {
  id: BlobId;
  offset: number;
  length: number;
}

export interface PlannedFile {
  rel: string;
  path: string;
  entry: FileMeta;
  chunks: PlacedChunk[];
}

export interface PlannedDir {
  rel: string;
  path: string;
  /** Undefined for the target root and for the ancestors of `only`: their metadata is not ours. */
  entry: DirMeta | undefined;
  depth: number;
}

export interface PlannedLink {
  rel: string;
  path: string;
  entry: Pick<SymlinkEntry, 'mtimeMs' | 'target'>;
}

/** Everything a restore will write, in walk order (a directory always before its contents). */
export interface Plan {
  dirs: PlannedDir[];
  files: PlannedFile[];
  links: PlannedLink[];
  bytes: number;
}
