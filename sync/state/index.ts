/**
 * Local agent state, kept in the state dir (`--state-dir`, default `defaultStateDir`).
 *
 *   config.ts      agent config and small state (device id, paused, last sync, folders) in lowdb
 *   file-index.ts  per folder, the `synced` tree (merge base) and the `statcache`, each a Journal
 *   journal.ts     crash-safe key → JSON map: snapshot + append-only journal, reads from memory
 *
 * Why a hand-written journal for the index and not lowdb or lmdb: the index must hold 100,000+
 * paths and change a few at a time. lowdb rewrites the whole JSON on every save (372 ms and
 * 35 MiB per save at 100k entries). lmdb is fast and crash-safe but is a native addon: it needs a
 * prebuilt binary per platform and per Node/Electron ABI (or a compiler at install time), and the
 * agent runs both under plain Node and inside Electron. A journal appends only what changed,
 * needs nothing but node:fs and node:zlib's crc32, and its crash behaviour is small enough to
 * test exhaustively (every truncation point, flipped bytes, SIGKILL mid-commit).
 *
 * Must hold:
 * - a committed transaction is durable; after a crash the index is exactly the last committed
 *   transaction, never part of one;
 * - the device id never changes once written, and damaged state is an E_BAD_STATE error naming
 *   the file, never a silent reset;
 * - one agent process per state dir (nothing here locks it).
 */
export { defaultStateDir } from './paths.js';
export { openAgentState, readDeviceId, newDeviceId, parseAgentConfig, STATE_FILE, type AgentConfig, type AgentState, type FolderConfig } from './config.js';
export { Journal, Transaction, type JournalOptions } from './journal.js';
export { openFileIndex, checkIndexEntry, type FileIndex, type FileIndexName, type IndexEntry, type IndexEntryType } from './file-index.js';
