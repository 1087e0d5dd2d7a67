/**
 * A tree nested past PATH_MAX (4,096 bytes), made and taken apart with short paths only: its dirs
 * are made as `d/d/…` with their files, then each renamed to a long name, the deepest first, so
 * that every call names a path the OS takes. undo() makes the names short again, so that rm can
 * reach what is inside.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The name of each dir of the chain once it is long. */
export const LONG = 'n'.repeat(250);

export interface DeepTree {
  /** The dir at `level` (1: the first under top), relative to top, with its long names. */
  dir(level: number): string;
  /** Names the dirs short again; `top` where the tree is now, if it was moved. */
  undo(top?: string): Promise<void>;
}

/**
 * Under `top` (made if missing): `depth` dirs in a chain, `near.txt` in the first, `end.txt` in the
 * last (unless `end` is false: the part of a deeper tree that fits under a deeper top).
 */
export async function pastPathMax(top: string, depth = 20, end = true): Promise<DeepTree> {
  const at = (from: string, i: number): string => join(from, ...Array<string>(i).fill('d'));
  await mkdir(at(top, depth), { recursive: true });
  await writeFile(join(at(top, 1), 'near.txt'), 'near');
  if (end) await writeFile(join(at(top, depth), 'end.txt'), 'end');
  for (let i = depth; i >= 1; i--) await rename(at(top, i), join(at(top, i - 1), LONG));
  return {
    dir: (level) => Array<string>(level).fill(LONG).join('/'),
    undo: async (now = top) => {
      for (let i = 1; i <= depth; i++) await rename(join(at(now, i - 1), LONG), at(now, i));
    },
  };
}
