// The admin's report of a user: a device's last sync is when the bucket got its head (the
// server's clock), whatever the device's own clock said.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newRepo } from '../repo/testkit.js';
import { keys } from '../repo/types.js';
import { takeSnapshot } from '../snapshot/index.js';
import { writeFiles } from '../snapshot/testkit.js';
import { orgLayerReport, publishOrgLayer, userReport } from './index.js';

describe('userReport', () => {
  it("gives each device's last sync by the bucket's clock, not by the device's", async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-report-'));
    try {
      const { repo, store } = await newRepo();
      await writeFiles(tmp, { 'a.txt': 'a' });
      // A machine whose clock runs a year behind.
      const yearAgo = new Date(Date.now() - 365 * 86_400_000);
      await takeSnapshot(repo, { root: tmp, layer: 'user/gus', device: 'vdi-7', now: () => yearAgo });
      const written = new Map<string, number>();
      for await (const info of store.list(keys.heads('user/gus'))) written.set(info.key, info.modified!);
      const report = await userReport(repo, 'gus');
      const bucketTime = new Date(written.get(keys.head('user/gus', 'vdi-7'))!).toISOString();
      assert.deepEqual(report.devices.map((d) => [d.device, d.lastSync]), [['vdi-7', bucketTime]]);
      // The layer's latest snapshot too: when the bucket got it, beside the device's own time.
      assert.deepEqual([report.latest?.time, report.latest?.written], [yearAgo.toISOString(), bucketTime]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it("dates an org layer's latest version by when the bucket got it, not by the admin's clock", async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'strata-report-'));
    try {
      const { repo, store } = await newRepo();
      await writeFiles(tmp, { 'policy.txt': 'p' });
      const yearAgo = new Date(Date.now() - 365 * 86_400_000);
      const v1 = await publishOrgLayer(repo, 'org/dept', { from: tmp, now: () => yearAgo });
      let modified: number | undefined;
      for await (const info of store.list(keys.heads('org/dept'))) modified = info.modified;
      const report = await orgLayerReport(repo, 'org/dept');
      assert.deepEqual([report.latest?.snapshot, report.latest?.time, report.latest?.written], [v1.snapshotId, yearAgo.toISOString(), new Date(modified!).toISOString()]);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
