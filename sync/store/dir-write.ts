/**
 * DirStore's durable write of one temp file, before the store renames it over the target.
 *
 * - The file must be complete and on disk (fsync, then close) before the rename, or a crash could
 *   leave a prefix under the key. Some network file systems report deferred write errors only at
 *   close, so a failed close fails the put.
 * - A stream body must give exactly its declared size; errors of the caller's stream pass through
 *   unmapped, since they are not store failures.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { StrataError } from '../errors.js';
import type { PutBody } from './index.js';
import { withFsErrors } from './dir-errors.js';

export async function writeDurably(tmp: string, key: string, body: PutBody, location: string): Promise<void> {
  const fs = <T>(fn: () => Promise<T>): Promise<T> => withFsErrors('put', key, location, fn);
  const fh = await fs(() => open(tmp, 'wx'));
  try {
    if (body instanceof Uint8Array) {
      await fs(() => fh.writeFile(body));
    } else {
      let written = 0;
      // Errors of the caller's stream pass through unmapped: they are not store failures.
      for await (const chunk of body.open()) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
        await fs(() => writeFully(fh, buf, written));
        written += buf.byteLength;
      }
      if (written !== body.size) {
        throw new StrataError('E_PERMANENT', `stream body gave ${written} bytes, declared ${body.size}`, { key });
      }
    }
    await fs(() => fh.sync());
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
  // Some network file systems report deferred write errors only at close.
  await fs(() => fh.close());
}

async function writeFully(fh: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesWritten } = await fh.write(buf, done, buf.byteLength - done, position + done);
    done += bytesWritten;
  }
}
