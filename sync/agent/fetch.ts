/**
 * The executor's source of file bytes: chunks read from the repository, verified against their ids
 * (Repository.readBlobs does that), written at their offsets.
 *
 * The executor applies ops one at a time, so a plan of 10,000 small files must not cost 10,000
 * sequential GETs: on the first miss, the fetcher reads ahead the small files the plan writes next
 * (in plan order, up to READ_AHEAD_BYTES) with one coalesced readBlobs call, and keeps their chunks
 * until written. Large files stream straight into their temp file, never whole in memory.
 */
import type { FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import { writeAll } from '../fsutil.js';
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

  const fetch: FetchFn = async (node: FileNode, dest: FileHandle): Promise<void> => {
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
    const put = async (id: string, data: Uint8Array): Promise<void> => {
      for (const offset of offsets.get(id)!) await writeAll(dest, data, offset);
    };
    if (small) {
      for (const id of offsets.keys()) await put(id, cache.get(id)!);
      // Written: a later file with the same chunk reads it again (rare), memory stays bounded.
      for (const id of offsets.keys()) cache.delete(id);
      return;
    }
    await repo.readBlobs(offsets.keys(), async (id, data) => {
      bytes += data.byteLength;
      onBytes?.(data.byteLength);
      await put(id, data);
    });
  };

  return {
    fetch,
    get bytes() {
      return bytes;
    },
  };
}
