/**
 * The executor's source of file bytes: chunks read from the repository, verified against their ids
 * (Repository.readBlobs does that), written at their offsets.
 *
 * The executor applies ops one at a time, so a plan of 10,000 small files must not cost 10,000
 * sequential GETs: on the first miss, the fetcher reads ahead the small files the plan writes next
 * (in plan order, up to READ_AHEAD_BYTES) with one coalesced readBlobs call, and keeps their chunks
 * until written. Large files stream straight into their temp file, never whole in memory.
 *
 * A large file that replaces one on the disk (a remote edit of a file this machine has) takes the
 * chunks the two share from the file on the disk, as the sign-in seeds from local files: an edit in
 * the middle of a 4 GiB file costs the chunks around it, not 4 GiB. Each such chunk is read at its
 * old offset and must hash to its id before it is written (the file may have changed since it was
 * scanned); one that does not, or cannot be read, is downloaded like the rest. A download a killed
 * run cut off resumes the same way: the temp it was filling (the executor's seed) holds the chunks
 * it had written at their offsets, and those are taken first.
 *
 * The temp is new and each place is written once: runs of zeros are left as holes (sparse.ts) and
 * the size set at the end, so that a sparse file takes blocks for its data only.
 */
import type { FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { openRegular } from '../fsutil.js';
import { writeSparse } from '../sparse.js';
import type { FileNode } from '../plan/index.js';
import type { ApplyOp } from '../plan/index.js';
import type { Repository } from '../repo/index.js';
import type { FetchFn } from '../exec/index.js';
import type { ChunkMap } from './trees.js';

/** Files up to this size are read ahead in batches. */
const SMALL_FILE = 1 << 20;
const READ_AHEAD_BYTES = 32 << 20;
const READ_AHEAD_FILES = 4096;

export interface Fetcher {
  fetch: FetchFn;
  /** Bytes read from the store so far. */
  readonly bytes: number;
}

export function makeFetcher(repo: Repository, ops: readonly ApplyOp[], chunks: ChunkMap, onBytes?: (n: number) => void): Fetcher {
  const writes = ops.flatMap((op) => (op.op === 'write' ? [{ path: op.path, node: op.node }] : []));
  // The executor fetches in plan order: the cursor is the write being fetched now.
  let cursor = 0;
  const cache = new Map<string, Uint8Array>();
  let bytes = 0;

  const chunksOf = (node: FileNode): readonly string[] => {
    const ids = chunks.get(node.content);
    if (ids === undefined) throw new StrataError('E_INTERNAL', 'no chunk list for a file the plan writes');
    return ids;
  };

  const readAhead = async (from: number): Promise<void> => {
    const want = new Set<string>();
    let size = 0;
    let files = 0;
    for (let i = from; i < writes.length && size < READ_AHEAD_BYTES && files < READ_AHEAD_FILES; i++) {
      const n = writes[i]!.node;
      if (n.size > SMALL_FILE) continue;
      // A chunk in no index is left to the fetch of its own file, which names the file.
      for (const id of chunksOf(n)) if (!cache.has(id) && repo.blobLocation(id) !== undefined) want.add(id);
      size += n.size;
      files++;
    }
    await repo.readBlobs(want, (id, data) => {
      cache.set(id, data.slice());
      bytes += data.byteLength;
      onBytes?.(data.byteLength);
    });
  };

  const fetch: FetchFn = async (node: FileNode, dest: FileHandle, _destPath, old, seed): Promise<void> => {
    const ids = chunksOf(node);
    const small = node.size <= SMALL_FILE;
    for (let i = cursor; i < writes.length; i++) {
      if (writes[i]!.node.content === node.content) {
        cursor = i;
        break;
      }
    }
    // The layer's entry is at fault, not the disk: the error names the file it describes.
    const path = writes[cursor]?.node.content === node.content ? writes[cursor]!.path : undefined;
    // Linear in the chunks, however often one repeats (a file of zeros is one chunk many times over).
    const offsets = new Map<string, number[]>();
    let at = 0;
    for (const id of ids) {
      const length = repo.blobLocation(id)?.length;
      if (length === undefined) throw new StrataError('E_BLOB_NOT_FOUND', `chunk ${id} of a file to write is in no index`, { path });
      const list = offsets.get(id);
      if (list) list.push(at);
      else offsets.set(id, [at]);
      at += length;
      if (at > node.size) break;
    }
    if (at !== node.size) {
      const sum = at > node.size ? `more than ${node.size}` : String(at);
      throw new StrataError('E_BAD_TREE', `a file's chunks add up to ${sum} bytes, its entry says ${node.size}`, { path });
    }
    if (small && ids.some((id) => !cache.has(id))) await readAhead(cursor);
    let holes = false;
    const put = async (id: string, data: Uint8Array): Promise<void> => {
      for (const offset of offsets.get(id)!) if (await writeSparse(dest, data, offset)) holes = true;
    };
    if (small) {
      for (const id of offsets.keys()) await put(id, cache.get(id)!);
      // Written: a later file with the same chunk reads it again (rare), memory stays bounded.
      for (const id of offsets.keys()) cache.delete(id);
      if (holes) await dest.truncate(node.size);
      return;
    }
    const reused = new Set<string>();
    // The seed was filling its node: the chunks sit at that node's offsets (this one's, when the
    // layer no longer names it: the same file is the common case).
    for (const from of [seed, old]) {
      const fromIds = from === undefined ? undefined : (chunks.get(from.node.content) ?? (from === seed ? ids : undefined));
      if (fromIds !== undefined) for (const id of await reuseLocal(repo, from!.path, fromIds, offsets, put, reused)) reused.add(id);
    }
    await repo.readBlobs([...offsets.keys()].filter((id) => !reused.has(id)), async (id, data) => {
      bytes += data.byteLength;
      onBytes?.(data.byteLength);
      await put(id, data);
    });
    if (holes) await dest.truncate(node.size);
  };

  return {
    fetch,
    get bytes() {
      return bytes;
    },
  };
}

/**
 * Writes (`put`) each chunk of `wanted` not in `have` that the file at `path` (chunk list `ids`) still
 * holds at its offset there, verified against its id; returns the ids written. One chunk in memory at a time.
 * A file that cannot be opened or read (gone, swapped for a link, a FIFO or a folder) gives what it gave so far.
 */
async function reuseLocal(repo: Repository, path: string, ids: readonly string[], wanted: ReadonlyMap<string, unknown>, put: (id: string, data: Uint8Array) => Promise<void>, have: ReadonlySet<string> = new Set()): Promise<Set<string>> {
  const done = new Set<string>();
  let fh: FileHandle;
  try {
    fh = await openRegular(path);
  } catch {
    return done;
  }
  try {
    let at = 0;
    for (const id of ids) {
      const length = repo.blobLocation(id)?.length;
      if (length === undefined) break;
      if (wanted.has(id) && !done.has(id) && !have.has(id)) {
        const data = await readAt(fh, at, length);
        // Unreadable from here on (an I/O error): the rest is downloaded.
        if (data === null) break;
        if (data !== undefined && repo.blobId(data) === id) {
          await put(id, data);
          done.add(id);
        }
      }
      at += length;
    }
  } finally {
    await fh.close();
  }
  return done;
}

/** `length` bytes at `at`; undefined when the file ends before, null when it cannot be read. */
async function readAt(fh: FileHandle, at: number, length: number): Promise<Uint8Array | undefined | null> {
  const data = Buffer.allocUnsafe(length);
  try {
    const { bytesRead } = await fh.read(data, 0, length, at);
    return bytesRead === length ? data : undefined;
  } catch {
    return null;
  }
}
