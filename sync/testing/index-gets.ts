/**
 * Which index objects a reader fetched: a store that counts the GETs of `index/` keys, and can cut
 * each listing of `index/` off after its first key (a connection lost mid-listing).
 */
import { StrataError } from '../errors.js';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange, ListOptions, ObjectInfo } from '../store/index.js';

export class IndexGets extends ForwardingStore {
  /** GETs of index objects so far. */
  gets = 0;
  /** Bytes those GETs returned. */
  bytes = 0;
  /** Each listing of `index/` fails (E_TRANSIENT) after its first key. */
  cutLists = false;

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    const bytes = await super.get(key, range);
    if (key.startsWith('index/')) {
      this.gets++;
      this.bytes += bytes.byteLength;
    }
    return bytes;
  }

  override async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    for await (const info of this.inner.list(prefix, opts)) {
      yield info;
      if (this.cutLists && prefix === 'index/') throw new StrataError('E_TRANSIENT', 'listing cut off (test)', { key: prefix });
    }
  }
}
