// `strata ls` fetches each tree it lists once: the root tree, which it both looks a path up in and
// lists, included. Counted at the store, as a bill would count them.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { initRepository, openRepository } from '../../repo/format.js';
import type { ByteRange } from '../../store/index.js';
import { CountingStore } from '../../store/counting.js';
import { MemoryStore } from '../../store/memory.js';
import { keys } from '../../repo/types.js';
import { parseCommandArgs } from '../args.js';
import { Context } from '../context.js';
import { lsCommand } from './ls.js';

const MTIME = 1_700_000_000_000;
const LAYER = 'user/alice';

/** Counts the GETs whose bytes cover where a blob lies. */
class GetsOf extends CountingStore {
  readonly ranges: { key: string; range: ByteRange | undefined }[] = [];
  override get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.ranges.push({ key, range });
    return super.get(key, range);
  }
  override getStream(key: string, range?: ByteRange) {
    this.ranges.push({ key, range });
    return super.getStream(key, range);
  }
  covering(key: string, offset: number): number {
    return this.ranges.filter((r) => r.key === key && (r.range === undefined || (r.range.offset <= offset && offset < r.range.offset + r.range.length))).length;
  }
}

it('lists a snapshot fetching its root tree once, with or without a path below it', async () => {
  const mem = new MemoryStore();
  await initRepository(mem);
  const writer = await openRepository(mem);
  const docs = await writer.saveTree({ entries: [{ name: 'link', type: 'symlink', mtimeMs: MTIME, target: 'elsewhere' }] });
  const root = await writer.saveTree({ entries: [{ name: 'docs', type: 'dir', mode: 0o755, mtimeMs: MTIME, subtree: docs }] });
  await writer.flush();
  const id = await writer.saveSnapshot({ version: 1, layer: LAYER, device: 'pc1', time: new Date(MTIME).toISOString(), root, parents: [] });
  await writer.writeHead(LAYER, 'pc1', id);
  await writer.loadIndex();
  const loc = writer.blobLocation(root)!;

  for (const path of [[], ['docs']]) {
    const store = new GetsOf(mem);
    let out = '';
    const ctx = new Context({ stdout: (s) => (out += s), stderr: { write: () => undefined, isTTY: false }, env: {} }, 'ls', parseCommandArgs(lsCommand, ['--store', 'memory:', '--layer', LAYER, ...path]));
    ctx.useStore(store);
    await lsCommand.run(ctx);
    await ctx.close();
    assert.match(out, /docs\/link -> elsewhere/);
    assert.equal(store.covering(keys.pack(loc.pack), loc.offset), 1, `ls ${path.join('/')}: GETs of the pack ${JSON.stringify(store.ranges)}`);
  }
});
