/**
 * Makes listing the dirs whose path ends with `suffix` fail with `code` (a failing disk, a share
 * that stops answering) until the returned function is called. The scan's listNames imports
 * readdir from node:fs/promises: syncBuiltinESMExports carries the replacement to that binding.
 */
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

export function failListing(suffix: string, code = 'EIO'): () => void {
  const original = fsp.readdir;
  fsp.readdir = (async (path: Parameters<typeof fsp.readdir>[0], ...rest: unknown[]) => {
    if (String(path).endsWith(suffix)) throw Object.assign(new Error(`${code}: i/o error, scandir '${String(path)}'`), { code });
    return (original as (...a: unknown[]) => Promise<unknown>)(path, ...rest);
  }) as typeof fsp.readdir;
  syncBuiltinESMExports();
  return () => {
    fsp.readdir = original;
    syncBuiltinESMExports();
  };
}
