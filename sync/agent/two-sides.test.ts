/**
 * What two users of one layer do to the same paths at once, on two live agents (watcher, poll,
 * pause/resume): each change made while both agents are paused, then A syncs first and B after.
 * Nothing may be lost, both machines must end with the same tree, and the status must say what
 * was kept aside.
 */
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { test } from 'node:test';
import { listing, setup, waitFor, type Machine } from './live-testkit.js';
import { tempRoot } from './testkit.js';
import { skipWithoutS3 } from '../testing/s3.js';

/** Both machines idle, in sync, holding the same tree; that tree. */
async function settled(a: Machine, b: Machine, what: string): Promise<Record<string, string>> {
  let last: Record<string, string> = {};
  const idle = (m: Machine) => m.agent.status().folders[0]!.state === 'idle';
  await waitFor(what, async () => {
    const [la, lb] = [await listing(a), await listing(b)];
    last = la;
    return idle(a) && idle(b) && isDeepStrictEqual(la, lb) && Object.keys(la).length > 0;
  }, 60_000);
  return last;
}

/** Pauses both machines, runs the two sides' changes, then lets A sync first and B after. */
async function atOnce(a: Machine, b: Machine, onA: () => Promise<void>, onB: () => Promise<void>): Promise<void> {
  await a.agent.call('pause', {});
  await b.agent.call('pause', {});
  await onA();
  await onB();
  await a.agent.call('resume', {});
  await a.agent.passesDone(2);
  await b.agent.call('resume', {});
}

const copiesOf = (tree: Record<string, string>) => Object.keys(tree).filter((p) => p.includes('.sync-conflict-'));

for (const s3 of [false, true]) {
test(`both machines rename one folder to different names: the files are under both names on both (${s3 ? 'Swift S3' : 'memory store'})`, { skip: s3 && skipWithoutS3 }, async (t) => {
  const { a, b } = await setup(t, {}, s3);
  await mkdir(join(a.root, 'docs'));
  await writeFile(join(a.root, 'docs', 'one.txt'), 'one');
  await writeFile(join(a.root, 'docs', 'two.txt'), 'two');
  await settled(a, b, 'docs on both');
  await atOnce(a, b, () => rename(join(a.root, 'docs'), join(a.root, 'from-a')), () => rename(join(b.root, 'docs'), join(b.root, 'from-b')));
  const tree = await settled(a, b, 'both renames on both');
  assert.deepEqual(tree, { 'from-a/': '', 'from-a/one.txt': 'one', 'from-a/two.txt': 'two', 'from-b/': '', 'from-b/one.txt': 'one', 'from-b/two.txt': 'two' });
});

test(`a file replaced by a folder of the same name on one machine and edited on the other: the folder keeps the name, the edit is a conflict copy both list (${s3 ? 'Swift S3' : 'memory store'})`, { skip: s3 && skipWithoutS3 }, async (t) => {
  const { a, b } = await setup(t, {}, s3);
  await writeFile(join(a.root, 'plan'), 'v1');
  await settled(a, b, 'plan on both');
  await atOnce(
    a,
    b,
    async () => {
      await rm(join(a.root, 'plan'));
      await mkdir(join(a.root, 'plan'));
      await writeFile(join(a.root, 'plan', 'step.txt'), 'step');
    },
    () => writeFile(join(b.root, 'plan'), 'v2 edited on b'),
  );
  const tree = await settled(a, b, 'the folder and the copy on both');
  const copies = copiesOf(tree);
  assert.equal(copies.length, 1, JSON.stringify(tree));
  assert.equal(tree[copies[0]!], 'v2 edited on b');
  assert.equal(tree['plan/step.txt'], 'step');
  await waitFor('the conflict listed on both', () => [a, b].every((m) => m.agent.status().folders[0]!.conflicts.some((c) => c.copy === copies[0] && c.path === 'plan')));
});
}

test('a 50 MiB file edited in the middle while the agent is paused: after resume the other machine has it, and only the chunks around the edit travel', { timeout: 300_000 }, async (t) => {
  const { a, b } = await setup(t);
  const size = 50 << 20;
  const big = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) big.writeUInt32LE((Math.imul(i, 2654435761) ^ (i >>> 7)) >>> 0, i);
  await writeFile(join(a.root, 'big.bin'), big);
  await waitFor('big.bin on b', async () => (await stat(join(b.root, 'big.bin')).catch(() => undefined))?.size === size && (await readFile(join(b.root, 'big.bin'))).equals(big), 120_000);
  await settled(a, b, 'big.bin settled');
  await a.agent.call('pause', {});
  const up = a.counter.counts.bytesUploaded;
  const down = b.counter.counts.bytesDownloaded;
  Buffer.from('an edit in the middle of the file').copy(big, size / 2);
  await writeFile(join(a.root, 'big.bin'), big, { flag: 'r+' });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(a.counter.counts.bytesUploaded, up, 'nothing is uploaded while paused');
  await a.agent.call('resume', {});
  await waitFor('the edit on b', async () => (await readFile(join(b.root, 'big.bin'))).equals(big), 120_000);
  const sent = a.counter.counts.bytesUploaded - up;
  const got = b.counter.counts.bytesDownloaded - down;
  assert.ok(sent < size / 8, `uploaded ${sent} bytes for a 33-byte edit of ${size}`);
  assert.ok(got < size / 8, `downloaded ${got} bytes for a 33-byte edit of ${size}`);
});

test('a chmod alone reaches the other machine, and a touch alone brings the time, neither as a conflict', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'run.sh'), '#!/bin/sh\n');
  await writeFile(join(a.root, 'notes.txt'), 'notes');
  await settled(a, b, 'files on both');
  await chmod(join(a.root, 'run.sh'), 0o755);
  await waitFor('the mode on b', async () => ((await stat(join(b.root, 'run.sh'))).mode & 0o777) === 0o755);
  const when = new Date('2023-03-04T05:06:07Z');
  await utimes(join(a.root, 'notes.txt'), when, when);
  await waitFor('the time on b', async () => (await stat(join(b.root, 'notes.txt'))).mtimeMs === when.getTime());
  const tree = await settled(a, b, 'settled');
  assert.deepEqual(tree, { 'notes.txt': 'notes', 'run.sh': '#!/bin/sh\n' });
  assert.deepEqual([a, b].map((m) => m.agent.status().folders[0]!.conflicts), [[], []]);
});

test('a symlink to a folder outside the layer syncs as a link: nothing outside is read into the layer, and what the other machine does to the link never writes or deletes outside', async (t) => {
  const { a, b } = await setup(t);
  const outside = join(await tempRoot(t, 'outside'), 'secret');
  await mkdir(outside);
  await writeFile(join(outside, 'key.txt'), 'private');
  await symlink(outside, join(a.root, 'out'));
  await symlink('../../../..' + outside, join(a.root, 'rel'));
  await writeFile(join(a.root, 'keep.txt'), 'k');
  let tree = await settled(a, b, 'links on b');
  assert.deepEqual(tree, { 'keep.txt': 'k', out: `->${outside}`, rel: `->../../../..${outside}` });
  // b replaces one link with a real folder and deletes the other; a applies both over its links.
  await rm(join(b.root, 'out'));
  await mkdir(join(b.root, 'out'));
  await writeFile(join(b.root, 'out', 'key.txt'), 'overwritten?');
  await rm(join(b.root, 'rel'));
  tree = await settled(a, b, 'the folder on a');
  assert.deepEqual(tree, { 'keep.txt': 'k', 'out/': '', 'out/key.txt': 'overwritten?' });
  assert.ok((await lstat(join(a.root, 'out'))).isDirectory());
  assert.deepEqual(await readdir(outside), ['key.txt']);
  assert.equal(await readFile(join(outside, 'key.txt'), 'utf8'), 'private', 'nothing outside the layer changed');
  await assert.rejects(readlink(join(a.root, 'rel')), { code: 'ENOENT' });
});

test('names equal but for Unicode normalization (NFC on one machine, NFD on the other) on case-sensitive disks: both files kept on both', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'seed.txt'), 's');
  await settled(a, b, 'seed');
  const nfc = 'caf\u00e9.txt';
  const nfd = 'cafe\u0301.txt';
  await atOnce(a, b, () => writeFile(join(a.root, nfc), 'from a'), () => writeFile(join(b.root, nfd), 'from b'));
  const tree = await settled(a, b, 'both names on both');
  assert.deepEqual(tree, { [nfd]: 'from b', [nfc]: 'from a', 'seed.txt': 's' });
});

test('an empty folder made on one machine appears on the other, and goes there when it is deleted', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'seed.txt'), 's');
  await settled(a, b, 'seed');
  await mkdir(join(a.root, 'empty', 'deeper'), { recursive: true });
  await waitFor('the empty folders on b', async () => (await listing(b))['empty/deeper/'] === '');
  await rm(join(a.root, 'empty'), { recursive: true });
  await waitFor('the empty folders gone from b', async () => (await listing(b))['empty/'] === undefined);
  assert.deepEqual(await settled(a, b, 'settled'), { 'seed.txt': 's' });
});

test('names equal but for Unicode normalization under a case-insensitive policy: one keeps the name, the other is a copy; the list shows both versions and keeping the name resolves it', async (t) => {
  const { a, b } = await setup(t, { caseInsensitive: true });
  await writeFile(join(a.root, 'seed.txt'), 's');
  await settled(a, b, 'seed');
  const nfc = 'caf\u00e9.txt';
  const nfd = 'cafe\u0301.txt';
  await atOnce(a, b, () => writeFile(join(a.root, nfc), 'from a'), () => writeFile(join(b.root, nfd), 'from b'));
  const tree = await settled(a, b, 'one name and a copy on both');
  const copies = copiesOf(tree);
  assert.equal(copies.length, 1, JSON.stringify(tree));
  const kept = Object.keys(tree).find((p) => p !== 'seed.txt' && !copies.includes(p))!;
  for (const m of [a, b]) {
    const [c, ...more] = m.agent.status().folders[0]!.conflicts;
    assert.deepEqual(more, []);
    assert.equal(c!.path, kept, 'the conflict names the file that kept the name, as the disk spells it');
    assert.equal(c!.versions?.name?.size, tree[kept]!.length, 'the version that kept the name is listed');
  }
  await b.agent.call('resolveConflict', { root: b.root, copy: copies[0]!, keep: 'name' });
  assert.deepEqual(await settled(a, b, 'the copy gone on both'), { [kept]: tree[kept], 'seed.txt': 's' });
});

test('entries the layer cannot hold (a name ending in a dot, a Windows device name, a name that is not UTF-8, a FIFO) are said in the status until they are renamed or gone, not passed over as in sync', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'plain.txt'), 'p');
  await settled(a, b, 'plain.txt on both');
  const warning = () => a.agent.status().folders[0]!.warning;
  assert.equal(warning(), undefined);
  await writeFile(join(a.root, 'draft.'), 'a draft');
  await waitFor('the warning', () => warning()?.code === 'E_NOT_SYNCED');
  assert.equal(warning()!.path, join(a.root, 'draft.'));
  assert.doesNotMatch(warning()!.message, /draft\./, 'the name is the path\'s to say, not the words\'');
  await mkdir(join(a.root, 'src'));
  await writeFile(join(a.root, 'src', 'aux.c'), 'int main;');
  writeFileSync(Buffer.concat([Buffer.from(`${a.root}/`), Buffer.from([0x63, 0x61, 0x66, 0xe9])]), 'latin-1');
  execFileSync('mkfifo', [join(a.root, 'pipe')]);
  await waitFor('all four said', () => /\b4 entries\b/.test(warning()?.message ?? ''));
  // A pass that scans only something else keeps saying so.
  await writeFile(join(a.root, 'other.txt'), 'o');
  await waitFor('other.txt on b', async () => (await listing(b))['other.txt'] === 'o');
  await a.agent.passesDone(1);
  assert.match(warning()?.message ?? '', /\b4 entries\b/);
  await rename(join(a.root, 'draft.'), join(a.root, 'draft.txt'));
  await rm(join(a.root, 'src', 'aux.c'));
  rmSync(Buffer.concat([Buffer.from(`${a.root}/`), Buffer.from([0x63, 0x61, 0x66, 0xe9])]));
  await rm(join(a.root, 'pipe'));
  await waitFor('the warning gone', () => warning() === undefined);
  assert.equal((await settled(a, b, 'draft.txt on both'))['draft.txt'], 'a draft');
});
