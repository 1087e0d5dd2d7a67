// A live agent whose disk fills up: its status says so (E_DISK_FULL, or the step's own code), naming
// the file, never E_INTERNAL, which would read as a bug of Strata's.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { errorLine, shortPath } from '../../shared/status-text.js';
import { MemoryStore } from '../store/memory.js';
import { fillUp, NEEDS_MOUNT, withTmpfs } from '../testing/tmpfs.js';
import { Agent } from './agent.js';
import { FAST, waitFor } from './live-testkit.js';
import { initStore, LAYER, tempRoot } from './testkit.js';

test('a state dir on a full disk: the folder errs with E_DISK_FULL naming the state file, not E_INTERNAL', { skip: NEEDS_MOUNT }, async (t) => {
  const base = await tempRoot(t, 'disk-full-state');
  const root = join(base, 'root');
  const stateDir = join(base, 'state');
  await mkdir(root);
  const store = new MemoryStore();
  await initStore(store);
  await withTmpfs(stateDir, '1m', async () => {
    const agent = await Agent.start({ stateDir, folders: [{ root, layer: LAYER }], openStore: () => store, newDeviceId: () => 'deva', ...FAST, watch: false });
    try {
      await waitFor('the first pass', () => agent.status().folders[0]!.lastSync !== undefined);
      await fillUp(stateDir);
      await writeFile(join(root, 'new.txt'), 'x'.repeat(10_000));
      agent.syncNow();
      await waitFor('the folder in error', () => agent.status().folders[0]!.error !== undefined);
      const error = agent.status().folders[0]!.error!;
      assert.equal(error.code, 'E_DISK_FULL', JSON.stringify(error));
      assert.equal(error.message, 'no space left on device (write)');
      assert.ok(error.path?.startsWith(`${stateDir}/`), `names a file in the state dir: ${JSON.stringify(error)}`);
      assert.equal(errorLine(error), `E_DISK_FULL ${shortPath(error.path ?? "")}: no space left on device (write)`);
    } finally {
      await agent.stop();
    }
  });
});
