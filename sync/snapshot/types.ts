/**
 * The snapshot module's public shapes: options, result, statistics, and the FileChunker seam that
 * lets the worker pool (sync/chunker/pool.ts) or the in-process chunker (./chunker.ts) cut files.
 */
import type { HashAlgorithm } from '../chunker/hash.js';
import type { BlobId, ChunkerParams, Snapshot, SnapshotId } from '../repo/types.js';

/** One chunk of a file as the chunker found it: its id is the hash of bytes [offset, offset+length). */
export interface FileChunk {
  id: BlobId;
  offset: number;
  length: number;
}

export interface ChunkedFile {
  /** Bytes the chunker read; chunks cover [0, size) in order, without gaps. */
  size: number;
  chunks: FileChunk[];
}

export interface ChunkFileOptions {
  /** The repository's id hash; the chunker must name chunks with it. */
  hash?: HashAlgorithm;
}

/**
 * Cuts a file into content-defined chunks and hashes them, without keeping their bytes. Must read
 * the file in bounded pieces (never a large file whole). Errors should be StrataErrors whose
 * `cause.code` is the errno code (or errno errors themselves), so that a vanished file can be told
 * from an unreadable one. Implementations: ChunkPool of sync/chunker/pool.ts, InProcessChunker.
 */
export interface FileChunker {
  chunkFile(path: string, params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile>;
  /**
   * The chunks of each of `files`, small files' bytes the caller has read whole, in order: one
   * call for many files. Without it, the caller chunks each file by path.
   */
  chunkBuffers?(files: readonly Uint8Array[], params: ChunkerParams, opts?: ChunkFileOptions): Promise<ChunkedFile[]>;
  /** How many files it works on at once (worker threads); takeSnapshot keeps about twice this in flight. */
  readonly size?: number;
}

export interface SnapshotProgress {
  /** Files seen so far (every regular file, changed or not). */
  files: number;
  /** Total size of the files seen so far. */
  bytes: number;
  /** Bytes of those files that are done (unchanged files count whole). */
  bytesDone: number;
  /** The layer-relative path (`/`-separated) of the entry last worked on. */
  currentPath: string;
}

export interface SnapshotOptions {
  /** The folder to snapshot. Must exist and be a readable directory (E_NO_ROOT otherwise). */
  root: string;
  layer: string;
  device: string;
  /**
   * The snapshot to compare against (stat cache) and record as parent. Default: the snapshot this
   * device's head points at, else the newest one any head points at, else none.
   */
  parent?: SnapshotId;
  /**
   * Reuse the parent's chunk list for a file of the same size and mtime without reading it
   * (default true). Only a parent this device took of this same folder (a copy elsewhere that
   * kept its files' sizes and mtimes may hold other bytes), dated by this machine's clock (not one
   * dated after another device's snapshot), is used so, and a file dated, or changed (ctime),
   * since RACY_MS before the parent's start is read all the same. False: every file is read.
   */
  statCache?: boolean;
  /** True to leave out an entry (relPath is `/`-separated, relative to root). Not reported. */
  exclude?: (relPath: string, isDir: boolean) => boolean;
  /** Default: an InProcessChunker. Pass the worker pool to hash on all cores. */
  chunker?: FileChunker;
  onProgress?: (p: SnapshotProgress) => void;
  /** The clock for the snapshot's time, read when it starts (default: the system clock). */
  now?: () => Date;
  signal?: AbortSignal;
}

export interface SkippedEntry {
  /** Layer-relative, `/`-separated. */
  path: string;
  reason: string;
}

export interface SnapshotStats {
  files: number;
  /** Directories stored, the root included. */
  dirs: number;
  symlinks: number;
  /** Total size of the files in the snapshot. */
  bytes: number;
  /** Bytes the chunker read: the size of every file whose stat did not match the parent. */
  bytesRead: number;
  /** Bytes of new blobs (chunks and trees) this snapshot added to the repository. */
  bytesAdded: number;
  blobsAdded: number;
  /** Files whose chunk list was reused from the parent without reading them. */
  filesUnchanged: number;
  /** Entries left out of the snapshot, each with the reason; never empty when something was dropped. */
  skipped: SkippedEntry[];
}

export interface SnapshotResult {
  snapshotId: SnapshotId;
  snapshot: Snapshot;
  stats: SnapshotStats;
}
