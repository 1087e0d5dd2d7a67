/**
 * The repository: the content-addressed object layer of DESIGN §2 on top of an ObjectStore.
 *
 * It writes and reads packs (blobs bundled into pack objects), pack indexes, trees, snapshots,
 * device heads and the format object. The data model and the key layout are in `types.ts`.
 *
 * What must always hold:
 * - Every object except a head is immutable and named by the hash of its bytes.
 * - Write order: packs, then the index that lists them, then (the caller's) snapshot, then the
 *   head. A head must never reference an object that is not yet durable: `flush()` must have
 *   resolved before a snapshot that references the session's blobs is saved.
 * - Everything read back from the store is untrusted: it is size-capped before it is fetched,
 *   its hash is verified against its id, its schema is validated, and any failure is a
 *   StrataError whose code says what is wrong and whose key names the object (for a blob, the
 *   pack key, with the blob id in the message).
 * - No locks and no conditional writes: many devices may write one store at once. Duplicate
 *   blobs across devices are harmless (readers keep the first location they see).
 */
export { Repository, keptIndexDir, type RepositoryOptions, type RepoStats, type SnapshotRecord, type ReadBlobsOptions } from './repository.js';
export { initRepository, openRepository, readFormat, validateFormat, DEFAULT_CHUNKER, DEFAULT_PACK_SIZE, type InitOptions, type OpenOptions } from './format.js';
export { treeNotFound, refIn, type TreeRef } from './treeref.js';
export { type LoadTreesOptions } from './repository.js';
export { encodeTree, decodeTree, MAX_TREE_BYTES } from './tree.js';
export { timeAfterParents } from './snapshot.js';
export { entryNameProblem, checkEntryName, isValidEntryName, checkLayerId, checkDeviceId, isLayerId, isDeviceId } from './names.js';
export { check, type CheckOptions, type CheckProblem, type CheckReport, type CheckProgress } from './check.js';
export { collectGarbage, packIdOfKey, type GcOptions, type GcPack, type GcReport } from './gc.js';
export { DEFAULT_MAX_LIVE, DEFAULT_MAX_BLOBS, type IndexReport, type WrittenIndex } from './compact.js';
export * from './types.js';
