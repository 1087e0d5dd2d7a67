/**
 * A failing call on a descriptor (FileHandle's write, sync, chmod, utimes…), for tests of what a
 * writer says and leaves when the disk refuses one: the error Node gives such a call, which names
 * no path ("EIO: …, fsync").
 */
import { tmpdir } from 'node:os';
import { open, type FileHandle } from 'node:fs/promises';

type Call = 'write' | 'sync' | 'chmod' | 'utimes' | 'truncate' | 'read';

/** FileHandle's prototype: the class is not exported, a handle's prototype is it. */
async function fileHandleProto(): Promise<FileHandle> {
  const fh = await open(tmpdir());
  await fh.close();
  return Object.getPrototypeOf(fh) as FileHandle;
}

/** Makes every FileHandle `call` fail with `code` (as the `syscall` Node names) until the test ends. */
export async function failFileHandle(t: { after: (fn: () => void) => void }, call: Call, code: string, syscall: string): Promise<void> {
  const proto = await fileHandleProto();
  const original = proto[call];
  proto[call] = () => Promise.reject(Object.assign(new Error(`${code}: injected failure, ${syscall}`), { code, errno: -5, syscall }));
  t.after(() => void (proto[call] = original as never));
}
