/**
 * The start-up short cut. A pass that finds nothing changed on the disk or in the bucket since
 * the last synced pass has nothing to do, and the idle poll stops there (folder.ts `settled`).
 * After a restart the folder would have to redo a whole merge and plan to learn that — seconds on
 * a 100,000-file layer — so each synced pass records what it left (settled.json in the folder's
 * state dir) and the first pass after a start compares.
 *
 * What must hold: the record is trusted only when everything a pass reads is as it was then —
 * this device's head, every other device's head, the lower layers' roots, and the stat cache,
 * named by its journal sequence. Every change to the stat cache (a scan that found a change, an
 * apply) moves the sequence, so a pass that committed a change and then crashed before its
 * snapshot can never be taken for settled. A missing or damaged record only costs a full pass.
 * A start that finds this device's head gone (dropped: signin/device-head.ts) merges from the
 * record's `own`, so a sign-in's lay, which changes the disk, removes the record (signin/lay.ts).
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../state/fsutil.js';

export interface Settled {
  own: string;
  /** The other devices' heads, as folder.ts fingerprints them. */
  heads: string;
  lower: string;
  /** The stat cache's journal sequence after the pass. */
  sequence: number;
  files: number;
}

export async function loadSettled(file: string): Promise<Settled | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as Partial<Settled> | null;
    const ok = v !== null && typeof v === 'object' && typeof v.own === 'string' && typeof v.heads === 'string' && typeof v.lower === 'string' && Number.isSafeInteger(v.sequence) && Number.isSafeInteger(v.files);
    return ok ? (v as Settled) : undefined;
  } catch {
    return undefined;
  }
}

export function saveSettled(file: string, s: Settled): Promise<void> {
  return writeFileAtomic(file, `${JSON.stringify(s)}\n`);
}

export function sameSettled(a: Settled | undefined, b: Settled): boolean {
  return a !== undefined && a.own === b.own && a.heads === b.heads && a.lower === b.lower && a.sequence === b.sequence && a.files === b.files;
}
