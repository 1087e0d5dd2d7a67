/**
 * Reading the index objects: every one listed under `index/`, except those already loaded and,
 * for readers, those a loaded consolidated index supersedes (indexfile.ts version 2), which would
 * name only packs it names already.
 *
 * A long-running reader passes the indexes it loaded before as `known`, with what each supersedes:
 * those listed are not read again, and what they supersede is skipped only while they are listed.
 * So once a consolidated index is gone (deleted by gc after a newer one covered it, or removed
 * because it claimed what it lacks: check reports that), its claims are no longer trusted, and the
 * reader can forget it (`listed` tells what the listings showed).
 *
 * Readers go through the listing largest first, since consolidated indexes are the large ones: the
 * largest alone, then rounds of `concurrency` GETs, an index fetched only if no index loaded in an
 * earlier round supersedes it. The first GET alone makes the usual case (one consolidated index,
 * the indexes written since, and superseded ones not deleted yet) fetch no superseded index; the
 * rounds keep the GETs in flight bounded and waste at most a round's worth on indexes a
 * consolidated one fetched beside them supersedes, where a pool that started the next GET as each
 * finished could run through many small superseded indexes while a large one is on its way.
 * Skipping is only a saving: loading a superseded index as well is harmless.
 *
 * Each index is handed to `onIndex` as soon as it is fetched and validated, so that a caller can
 * keep it in a compact form and drop the decoded one: holding every decoded index until the last
 * is fetched would take about 150 bytes a blob entry for the whole repository at once, where this
 * holds only the few in flight. They come in the order their GETs complete (which location of a
 * blob a reader keeps rests on no order between indexes: any is valid).
 *
 * What must hold:
 * - An index gone between the listing and its GET (a gc deleted it: compact.ts) is no error when a
 *   loaded index supersedes it. Otherwise the index listing is read once more, since its
 *   superseder may be newer than the first listing, and what that adds is read; one still not
 *   superseded is reported as the E_NOT_FOUND it is.
 * - A bad index is reported in `errors` and skipped: it must not make the rest of the repository
 *   unreadable, and `check` reports it. For a reader, one a loaded index supersedes is no error.
 * - `readSuperseded` (gc and check, which must see every index there is) reads every listed index,
 *   all at once with bounded concurrency; supersedes still excuse an index gone meanwhile.
 * - `kept` (index-files.ts): a listed index whose file is there is read from it instead of
 *   fetched, and decoded and validated as a fetched one; a file that fails is removed and the index
 *   fetched. A fetched index is kept there once valid, after `onIndex` had it (so no more than the
 *   few in flight are held decoded, as without), and once every listing completed the files of
 *   indexes no longer listed are removed. gc and check pass none: they must see the bucket as it is.
 */
import type { HashAlgorithm } from '../chunker/hash.js';
import { StrataError, isStrataError } from '../errors.js';
import { isObjectError, type ObjectStore } from '../store/index.js';
import type { IndexFiles } from './index-files.js';
import { MAX_INDEX_BYTES, decodeIndexFile, type IndexFile } from './indexfile.js';
import { forEachLimit } from './pool.js';

export interface LoadedIndexes {
  errors: StrataError[];
  /** Every key a loaded index supersedes (and those of `opts.superseded`): a reader must treat these as loaded. */
  superseded: string[];
  /** Every key the listings showed. */
  listed: Set<string>;
}

export interface LoadIndexesOptions {
  /** Keys already loaded: not read again. */
  skip?: ReadonlySet<string>;
  /** Indexes loaded before, with the keys each supersedes: not read again, and their claims count while they are listed. */
  known?: ReadonlyMap<string, readonly string[]>;
  /** Read the indexes a loaded one supersedes too. */
  readSuperseded?: boolean;
  /** Keys that indexes loaded before supersede: one of these gone is no error. */
  superseded?: ReadonlySet<string>;
  /** Index objects kept on this machine: read from there where they are, and the rest kept there once fetched. */
  kept?: IndexFiles;
}

interface Listed {
  key: string;
  size: number;
}

/**
 * Fetches and validates the index objects (see the header for which ones), each handed to
 * `onIndex` once valid. What `onIndex` throws ends the load, as a fatal store error does.
 */
export async function loadIndexes(store: ObjectStore, hash: HashAlgorithm, concurrency: number, onIndex: (idx: IndexFile) => void, opts: LoadIndexesOptions = {}): Promise<LoadedIndexes> {
  const skip = opts.skip ?? new Set<string>();
  const all = opts.readSuperseded === true;
  const covered = new Set<string>(opts.superseded);
  const tried = new Set<string>();
  const gone = new Map<string, StrataError>();
  const errors = new Map<string, StrataError>();
  const listed = new Set<string>();

  const list = async (): Promise<Listed[]> => {
    const out: Listed[] = [];
    for await (const { key, size } of store.list('index/')) {
      listed.add(key);
      const claims = opts.known?.get(key);
      if (claims) for (const k of claims) covered.add(k);
      else if (!skip.has(key) && !tried.has(key)) out.push({ key, size });
    }
    return out.sort((a, b) => b.size - a.size || (a.key < b.key ? -1 : 1));
  };
  /** Hands on index `key` decoded from `bytes`; returns the decoding's error for a bad one (what onIndex throws is thrown). */
  const deliver = (key: string, bytes: Uint8Array): unknown => {
    let idx: IndexFile;
    try {
      idx = { key, ...decodeIndexFile(key, bytes, hash) };
    } catch (err) {
      return err;
    }
    for (const k of idx.supersedes) covered.add(k);
    onIndex(idx);
    return undefined;
  };
  /** Whether index `key` was read from `kept`; a file there that is no valid index is removed. */
  const fromKept = async (kept: IndexFiles, key: string): Promise<boolean> => {
    const bytes = await kept.read(key);
    if (bytes === undefined) return false;
    if (deliver(key, bytes) === undefined) return true;
    await kept.drop(key);
    return false;
  };
  const failed = (key: string, err: unknown): void => {
    if (!isObjectError(err)) throw err;
    if (isStrataError(err, 'E_NOT_FOUND')) gone.set(key, err);
    else errors.set(key, err);
  };
  const read = async ({ key, size }: Listed): Promise<void> => {
    tried.add(key);
    if (size <= MAX_INDEX_BYTES && opts.kept && (await fromKept(opts.kept, key))) return;
    let bytes: Uint8Array;
    try {
      if (size > MAX_INDEX_BYTES) throw new StrataError('E_OBJECT_TOO_LARGE', `index is ${size} bytes, over the ${MAX_INDEX_BYTES}-byte limit`, { key });
      bytes = await store.get(key);
    } catch (err) {
      failed(key, err);
      return;
    }
    const bad = deliver(key, bytes);
    if (bad !== undefined) failed(key, bad);
    else await opts.kept?.write(key, bytes);
  };
  const readAll = async (listed: Listed[]): Promise<void> => {
    for (let i = 0; i < listed.length; ) {
      const round = all ? listed.length : i === 0 ? 1 : concurrency;
      const wanted = listed.slice(i, i + round).filter((l) => all || !covered.has(l.key));
      i += round;
      await forEachLimit(wanted, concurrency, read);
    }
  };

  await readAll(await list());
  if ([...gone.keys()].some((k) => !covered.has(k))) await readAll(await list());
  for (const [key, err] of gone) if (!covered.has(key)) errors.set(key, err);
  await opts.kept?.prune(listed);
  const reported = [...errors.values()].filter((e) => all || !covered.has(e.key ?? ''));
  reported.sort((a, b) => ((a.key ?? '') < (b.key ?? '') ? -1 : 1));
  return { errors: reported, superseded: [...covered], listed };
}
