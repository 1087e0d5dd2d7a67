/**
 * `strata init`: creates a repository. The place it goes into is created first when missing
 * (the S3 bucket, or the folder of a file:// store), because a fresh setup has neither; an
 * existing repository is never touched (E_REPO_EXISTS).
 */
import { initRepository } from '../../repo/index.js';
import type { ObjectStore } from '../../store/index.js';
import { DirStore } from '../../store/dir.js';
import { S3Store } from '../../store/s3.js';
import type { Command } from './command.js';
import { makeDirs } from '../../fsutil.js';

async function createContainer(raw: ObjectStore): Promise<void> {
  if (raw instanceof S3Store) await raw.createBucket();
  else if (raw instanceof DirStore) await makeDirs(raw.root);
}

export const initCommand: Command = {
  name: 'init',
  summary: 'create a repository in the store (creating the S3 bucket or the folder when missing)',
  args: '',
  positionals: { min: 0, max: 0 },
  globals: ['store'],
  options: {},
  async run(ctx) {
    const { raw, store } = await ctx.openStore();
    await createContainer(raw);
    const format = await initRepository(store);
    if (ctx.json) {
      ctx.printJson({ store: store.location, id: format.id, created: format.created, version: format.version, packSize: format.packSize, chunker: format.chunker });
    } else {
      ctx.print(`created repository ${format.id} at ${store.location}`);
    }
  },
};
