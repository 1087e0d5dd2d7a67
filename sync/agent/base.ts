/**
 * The machine's base (DESIGN §1): the paths a VDI machine's own image had in the user's folders
 * when the sign-in laid the layer (sync/signin/base.ts finds them). Live sync adopts those files
 * into the user layer like any other local file; deleting one writes a whiteout instead of just
 * dropping it (overlay's userView `base`), so that the next session on the reset machine removes
 * the image's copy again instead of adopting it back.
 *
 *   <folder state dir>/base.json   { "version": 1, "paths": [[path, kind], …], "covered": [[path, kind], …] }
 *                                  kind: file | dir | symlink
 *
 * `covered`: the image's paths that an org layer decided at that lay and the user layer did not.
 * The image's copy there was never shown; once the org drops the path it shows again, so live sync
 * removing the org's copy is no delete of the user's. Such a path counts as the base only while the
 * user layer holds a version of its own there (a copy-up): deleting that one must hide the image's
 * copy too (mine.ts). A record without `covered` (an older agent's) covers nothing.
 *
 * Must hold: written atomically and replaced at every sign-in; a missing file is an empty base.
 * It is this agent's own state, read as untrusted all the same: a damaged file is an E_BAD_STATE
 * error naming it, never a base made of whatever could be read (each path in it can become a
 * whiteout in the user's layer, on every machine). A sign-in, which replaces the record, takes a
 * damaged one as naming none of the layer's paths, and says so (signin/lay.ts earlierBase).
 */
import { readFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StrataError } from '../errors.js';
import { isErrno, makeDirsDurably } from '../fsutil.js';
import { isValidEntryName } from '../repo/names.js';
import { writeFileAtomic } from '../state/fsutil.js';

export const BASE_FILE = 'base.json';
const VERSION = 1;

export type BaseKind = 'file' | 'dir' | 'symlink';
/** Layer-relative path → what the machine had there. */
export type BasePaths = ReadonlyMap<string, BaseKind>;

export interface Base {
  paths: BasePaths;
  /** Paths the org layers covered at the lay (above). */
  covered: BasePaths;
}

export const EMPTY_BASE: Base = { paths: new Map(), covered: new Map() };


const KINDS: ReadonlySet<unknown> = new Set<BaseKind>(['file', 'dir', 'symlink']);

function isLayerPath(p: unknown): p is string {
  return typeof p === 'string' && p.split('/').every(isValidEntryName);
}

export async function readBase(file: string): Promise<Base> {
  return (await readRecordedBase(file)) ?? EMPTY_BASE;
}

/** The base as recorded, or undefined when none is: an empty record is a base too (an image with nothing in the folders). */
export async function readRecordedBase(file: string): Promise<Base | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const damaged = (reason: string): StrataError =>
    new StrataError('E_BAD_STATE', `the record of the machine's own files is damaged (${reason}); move it aside to continue (deleting one of them then no longer hides it from the next session)`, { path: file });
  let v: { version?: unknown; paths?: unknown; covered?: unknown };
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    throw damaged('not JSON');
  }
  if (v === null || typeof v !== 'object' || v.version !== VERSION) throw damaged(`not version ${VERSION}`);
  if (!Array.isArray(v.paths)) throw damaged('no list of paths');
  if (v.covered !== undefined && !Array.isArray(v.covered)) throw damaged('a list of covered paths that is not one');
  const entries = (list: unknown[]): Map<string, BaseKind> => {
    const paths = new Map<string, BaseKind>();
    for (const e of list) {
      if (!Array.isArray(e) || e.length !== 2 || !isLayerPath(e[0]) || !KINDS.has(e[1])) throw damaged(`bad entry ${JSON.stringify(e)?.slice(0, 80)}`);
      paths.set(e[0], e[1] as BaseKind);
    }
    return paths;
  };
  return { paths: entries(v.paths as unknown[]), covered: entries((v.covered ?? []) as unknown[]) };
}

export async function writeBase(file: string, base: Base): Promise<void> {
  await makeDirsDurably(dirname(file), 0o700);
  await writeFileAtomic(file, `${JSON.stringify({ version: VERSION, paths: [...base.paths], covered: [...base.covered] })}\n`);
}

export async function removeBase(file: string): Promise<void> {
  await rm(file, { force: true });
}
