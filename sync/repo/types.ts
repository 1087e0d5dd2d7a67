/**
 * The repository's data model: the objects of DESIGN §2 and where they live in the store.
 * This file is the contract between the repository (which writes and validates these objects)
 * and its users (snapshot, restore, check, sync). Readers must treat every object read from the
 * store as untrusted: the types here describe objects only after validation.
 *
 * Store layout (keys relative to the store's prefix):
 *
 *   config                               the format object (written once by init)
 *   data/<id[0:2]>/<id>                  packs: concatenated blobs + a trailer describing them
 *   index/<id>                           pack indexes: blob id → (pack, offset, length, type)
 *   layers/<layer>/snapshots/<id>        immutable snapshots of one layer
 *   layers/<layer>/heads/<deviceId>      the device's latest snapshot of that layer (mutable;
 *                                        only that device writes it)
 *
 * <id> is always the hash of the object's bytes. Layer ids are `user/<userId>` or `org/<name>`.
 */

import type { HashAlgorithm } from '../chunker/hash.js';

export type BlobId = string;
export type SnapshotId = string;
export type BlobType = 'data' | 'tree';

export const FORMAT_VERSION = 1;

export interface ChunkerParams {
  algorithm: 'fastcdc';
  minSize: number;
  avgSize: number;
  maxSize: number;
}

export interface FormatObject {
  version: typeof FORMAT_VERSION;
  /** Random repository id, for caches. */
  id: string;
  created: string;
  /** How every id in this repository is computed; never changes for a repository. */
  hash: HashAlgorithm;
  chunker: ChunkerParams;
  /** 'aes-256-gcm' with keyed chunk ids is reserved for a later version. */
  encryption: 'none';
  compression: 'none';
  /** Target pack size in bytes. */
  packSize: number;
}

/** Where one blob lives. */
export interface BlobLocation {
  pack: string;
  type: BlobType;
  offset: number;
  length: number;
}

export interface FileEntry {
  name: string;
  type: 'file';
  mode: number;
  mtimeMs: number;
  size: number;
  /** Chunk ids in file order; their lengths (from the index) sum to size. */
  chunks: BlobId[];
}

export interface DirEntry {
  name: string;
  type: 'dir';
  mode: number;
  mtimeMs: number;
  subtree: BlobId;
}

export interface SymlinkEntry {
  name: string;
  type: 'symlink';
  mtimeMs: number;
  target: string;
}

/** Hides the same name in lower layers (DESIGN §1). */
export interface WhiteoutEntry {
  name: string;
  type: 'whiteout';
}

export type TreeEntry = FileEntry | DirEntry | SymlinkEntry | WhiteoutEntry;

/** One directory. Entries are sorted by name (UTF-16 code unit order) and names are unique. */
export interface Tree {
  entries: TreeEntry[];
}

/** What a snapshot's tree holds, counted the same by every kind of write (a sync pass, a snapshot, a preload, a publish). */
export interface SnapshotSummary {
  /** Regular files: no symlinks, no whiteouts. */
  files: number;
  /** Folders, the root included. */
  dirs: number;
  /** The regular files' bytes. */
  bytes: number;
  /** Bytes of new blobs this snapshot uploaded. */
  bytesAdded: number;
}

export interface Snapshot {
  version: typeof FORMAT_VERSION;
  layer: string;
  device: string;
  /** ISO time: when the snapshot started (a folder snapshot's stat cache relies on it, RACY_MS). */
  time: string;
  root: BlobId;
  parents: SnapshotId[];
  summary?: SnapshotSummary;
  /**
   * A folder snapshot's folder on its device, hashed (sync/snapshot/snapshot.ts): the next
   * snapshot's stat cache trusts this one only for the same folder. Absent on other snapshots.
   */
  source?: string;
}

export interface Head {
  version: typeof FORMAT_VERSION;
  layer: string;
  device: string;
  snapshot: SnapshotId;
  time: string;
  /**
   * The device signed out after this snapshot (a VDI session's end): once another device's head
   * descends from it, that device may delete this head (sync/signin/device-head.ts). Absent while
   * the device is signed in.
   */
  final?: true;
}

export const keys = {
  config: 'config',
  pack: (id: string) => `data/${id.slice(0, 2)}/${id}`,
  index: (id: string) => `index/${id}`,
  snapshots: (layer: string) => `layers/${layer}/snapshots/`,
  snapshot: (layer: string, id: SnapshotId) => `layers/${layer}/snapshots/${id}`,
  heads: (layer: string) => `layers/${layer}/heads/`,
  head: (layer: string, device: string) => `layers/${layer}/heads/${device}`,
};
