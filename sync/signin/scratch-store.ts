/**
 * ScratchStore: the bucket, read through, with every write kept in memory instead.
 *
 * Sign-in lays the effective tree of several layers (org layers, the user layer, whiteouts,
 * restricted to the org's folders). restoreTree lays one root tree from a repository, so the
 * effective tree is written as tree objects — but those are a view of this machine's sign-in, not
 * data: they must never reach the bucket (a user's credentials may not even allow it, and nothing
 * would ever reference them). Writing them into a repository opened on a ScratchStore makes them
 * readable by the restore like any other tree, while the file chunks still come from the bucket.
 *
 * What must hold: nothing is ever put or deleted in the inner store; a key written here shadows
 * the inner one; list yields the union of both, each key once, in order.
 */
import type { Readable } from 'node:stream';
import { ForwardingStore } from '../store/forwarding.js';
import type { ByteRange, ListOptions, ObjectInfo, ObjectStore, PutBody } from '../store/index.js';
import { MemoryStore } from '../store/memory.js';

export class ScratchStore extends ForwardingStore {
  private readonly scratch = new MemoryStore('scratch:');

  constructor(inner: ObjectStore) {
    super(inner);
  }

  override put(key: string, body: PutBody): Promise<void> {
    return this.scratch.put(key, body);
  }

  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    return (await this.scratch.head(key)) ? this.scratch.get(key, range) : this.inner.get(key, range);
  }

  override async getStream(key: string, range?: ByteRange): Promise<Readable> {
    return (await this.scratch.head(key)) ? this.scratch.getStream(key, range) : this.inner.getStream(key, range);
  }

  override async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.scratch.head(key)) ?? this.inner.head(key);
  }

  override async *list(prefix: string, opts?: ListOptions): AsyncIterable<ObjectInfo> {
    const mine = [];
    for await (const info of this.scratch.list(prefix, opts)) mine.push(info);
    let i = 0;
    for await (const info of this.inner.list(prefix, opts)) {
      while (i < mine.length && (mine[i] as ObjectInfo).key < info.key) yield mine[i++] as ObjectInfo;
      if (i < mine.length && (mine[i] as ObjectInfo).key === info.key) yield mine[i++] as ObjectInfo;
      else yield info;
    }
    while (i < mine.length) yield mine[i++] as ObjectInfo;
  }

  override delete(key: string): Promise<void> {
    return this.scratch.delete(key);
  }
}
