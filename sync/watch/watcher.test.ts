import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { appendFileSync, lstatSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LossyQueue } from '../testing/lossy-queue.js';
import { LossyTreeWatch } from '../testing/lossy-tree-watch.js';
import { makeExcluder } from './exclude.js';
import { sample } from './sample.js';
import { LayerWatcher, type LayerWatcherOptions } from './watcher.js';

const FAST = { debounceMs: 50, stabilityMs: 100, rootCheckMs: 100 };
const open_: { w: LayerWatcher; dir: string }[] = [];

afterEach(async () => {
  for (const { w, dir } of open_.splice(0)) {
    await w.close();
    await rm(dir, { recursive: true, force: true });
  }
});

async function waitFor(cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met before the deadline');
    await sleep(20);
  }
}

async function setup(opts: Partial<LayerWatcherOptions> = {}, prepare?: (root: string) => Promise<void>) {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-watch-'));
  const root = path.join(dir, 'layer');
  await mkdir(root);
  await prepare?.(root);
  const dirty = new Set<string>();
  const batches: string[][] = [];
  const events = { rootMissing: 0, rootRestored: 0 };
  const w = new LayerWatcher(root, {
    ...FAST,
    ...opts,
    onDirty: (paths) => {
      batches.push(paths);
      for (const p of paths) dirty.add(p);
      opts.onDirty?.(paths);
    },
    onRootMissing: () => events.rootMissing++,
    onRootRestored: () => events.rootRestored++,
  });
  open_.push({ w, dir });
  await w.ready;
  return { w, dir, root, dirty, batches, events, at: (rel: string) => path.join(root, rel) };
}

/**
 * A watcher through `watch` (a stand-in that loses what a read cannot hold) and its overflows:
 * two files (below the threshold, two events a file) make none; 40 written while the event loop
 * cannot read (all in one read) make one, said once the burst is over (`lostEvents` checks the
 * loss once it is said), and some of the 40 are never reported.
 */
async function overflowOnce(watch: Partial<LayerWatcherOptions>, lostEvents: () => void) {
  let overflows = 0;
  const t = await setup({ ...watch, onOverflow: () => overflows++ });
  writeFileSync(t.at('a.txt'), 'a');
  writeFileSync(t.at('b.txt'), 'b');
  await waitFor(() => t.dirty.has('a.txt') && t.dirty.has('b.txt'));
  assert.equal(overflows, 0);
  for (let i = 0; i < 40; i++) writeFileSync(t.at(`f${i}.txt`), `file ${i}`);
  await waitFor(() => overflows > 0);
  lostEvents();
  await sleep(FAST.debounceMs + 3 * FAST.stabilityMs);
  assert.equal(overflows, 1);
  assert.ok([...t.dirty].filter((p) => p.startsWith('f')).length < 40, 'the lost events name files never reported');
  return { t, overflows: () => overflows };
}

describe('LayerWatcher', { timeout: 60_000 }, () => {
  it('reports creates, modifies and deletes of files and directories', async () => {
    const t = await setup();
    await mkdir(t.at('docs'));
    await writeFile(t.at('docs/a.txt'), 'one');
    await waitFor(() => t.dirty.has('docs') && t.dirty.has('docs/a.txt'));
    t.dirty.clear();
    await writeFile(t.at('docs/a.txt'), 'one two');
    await waitFor(() => t.dirty.has('docs/a.txt'));
    t.dirty.clear();
    await rm(t.at('docs'), { recursive: true });
    await waitFor(() => t.dirty.has('docs') && t.dirty.has('docs/a.txt'));
  });

  it('reports the old and the new path of a renamed file and directory', async () => {
    const t = await setup({}, async (root) => {
      await mkdir(path.join(root, 'd1'));
      await writeFile(path.join(root, 'd1/f.txt'), 'x');
      await writeFile(path.join(root, 'old.txt'), 'y');
    });
    await rename(t.at('old.txt'), t.at('new.txt'));
    await waitFor(() => t.dirty.has('old.txt') && t.dirty.has('new.txt'));
    await rename(t.at('d1'), t.at('d2'));
    await waitFor(() => t.dirty.has('d1') && t.dirty.has('d2'));
  });

  it('does not report what the initial scan found', async () => {
    const t = await setup({}, async (root) => {
      await mkdir(path.join(root, 'old'));
      await writeFile(path.join(root, 'old/x.txt'), 'x');
    });
    await writeFile(t.at('fresh.txt'), 'f');
    await waitFor(() => t.dirty.has('fresh.txt'));
    assert.deepEqual([...t.dirty], ['fresh.txt']);
  });

  it('reports a file written in bursts only once it has stopped changing', async () => {
    // The second burst lands as the watcher first looks at the first one, with no time between
    // them: however slow the machine, the watcher sees the file change between two of its samples.
    const half = 64 * 1024;
    const sizes: number[] = [];
    const sizesAtReport: number[][] = [];
    const t = await setup({
      sample: async (abs) => {
        const now = await sample(abs);
        if (path.basename(abs) === 'big.bin' && now !== null) {
          sizes.push(now.size);
          if (now.size === half) appendFileSync(abs, Buffer.alloc(half, 2));
        }
        return now;
      },
      onDirty: (paths) => {
        if (paths.includes('big.bin')) sizesAtReport.push([...sizes]);
      },
    });
    writeFileSync(t.at('big.bin'), Buffer.alloc(half, 1));
    await waitFor(() => t.dirty.has('big.bin'));
    assert.ok(sizes.includes(half), `the watcher looked at the file mid-write: ${sizes.join(', ')}`);
    for (const seen of sizesAtReport) assert.deepEqual(seen.slice(-2), [2 * half, 2 * half], `reported before two samples of the whole file agreed: ${seen.join(', ')}`);
  });

  it('never reports excluded paths and does not follow symlinks', async () => {
    const t = await setup({ exclude: makeExcluder(['private/']) });
    const outside = path.join(t.dir, 'outside');
    await mkdir(outside);
    await symlink(outside, t.at('link'));
    await waitFor(() => t.dirty.has('link'));
    await mkdir(t.at('chrome/Default/Cache'), { recursive: true });
    await writeFile(t.at('chrome/Default/Cache/data_1'), 'c');
    await writeFile(t.at('setup.tmp'), 't');
    await writeFile(t.at('~$report.docx'), 'o');
    await mkdir(t.at('private'));
    await writeFile(t.at('private/diary.txt'), 'p');
    await writeFile(path.join(outside, 'through-link.txt'), 'l');
    await sleep(FAST.debounceMs + 3 * FAST.stabilityMs);
    await writeFile(t.at('sentinel.txt'), 's');
    await waitFor(() => t.dirty.has('sentinel.txt'));
    const unexpected = [...t.dirty].filter((p) => !['link', 'chrome', 'chrome/Default', 'sentinel.txt'].includes(p));
    assert.deepEqual(unexpected, []);
  });

  it('does not echo the engine\'s own writes but reports a later user edit', async () => {
    const t = await setup();
    await writeFile(t.at('synced.txt'), 'from remote');
    const st = await stat(t.at('synced.txt'));
    t.w.suppress('synced.txt', { size: st.size, mtimeMs: st.mtimeMs });
    await writeFile(t.at('gone.txt'), 'g');
    await waitFor(() => t.dirty.has('gone.txt'));
    t.w.suppress('gone.txt', null);
    await rm(t.at('gone.txt'));
    await sleep(FAST.debounceMs + 3 * FAST.stabilityMs);
    await writeFile(t.at('sentinel.txt'), 's');
    await waitFor(() => t.dirty.has('sentinel.txt'));
    assert.equal(t.dirty.has('synced.txt'), false);
    assert.deepEqual(t.batches.flat().filter((p) => p === 'gone.txt').length, 1);
    await writeFile(t.at('synced.txt'), 'edited by the user');
    await waitFor(() => t.dirty.has('synced.txt'));
  });

  it('reports a user edit of the same size whose mtime was set back to the one the engine wrote', async () => {
    const t = await setup();
    const old = new Date('2020-01-01T00:00:00Z');
    await writeFile(t.at('synced.txt'), 'from remote');
    await utimes(t.at('synced.txt'), old, old);
    const st = await stat(t.at('synced.txt'));
    t.w.suppress('synced.txt', { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });
    await sleep(FAST.debounceMs + 3 * FAST.stabilityMs);
    assert.equal(t.dirty.has('synced.txt'), false);
    await writeFile(t.at('synced.txt'), 'from user!!', { flag: 'r+' });
    await utimes(t.at('synced.txt'), old, old);
    await waitFor(() => t.dirty.has('synced.txt'));
  });

  it('watches a folder deleted and made again at once under the same name, though the new one has the inode number of the old', async () => {
    const t = await setup({}, async (root) => {
      await mkdir(path.join(root, 'build'));
      await writeFile(path.join(root, 'build/old.o'), 'o');
    });
    const before = lstatSync(t.at('build')).ino;
    // rm -rf build && mkdir build: done before the watcher has looked at either event.
    rmSync(t.at('build'), { recursive: true });
    mkdirSync(t.at('build'));
    assert.equal(lstatSync(t.at('build')).ino, before, 'this file system gives the new folder the freed inode number');
    await waitFor(() => t.dirty.has('build') && t.dirty.has('build/old.o'));
    await writeFile(t.at('build/new.o'), 'n');
    await waitFor(() => t.dirty.has('build/new.o'));
  });

  it('reports a file that stopped changing while another one keeps changing (a log written all the time)', async () => {
    const t = await setup();
    let writing = true;
    const hot = (async () => {
      for (let i = 0; writing; i++) {
        await writeFile(t.at('app.log'), `line ${i}\n`, { flag: 'a' });
        await sleep(FAST.debounceMs / 3);
      }
    })();
    try {
      await sleep(FAST.debounceMs);
      await writeFile(t.at('report.txt'), 'done');
      await waitFor(() => t.dirty.has('report.txt'), 5_000);
      assert.equal(t.dirty.has('app.log'), false, 'the log is still changing');
    } finally {
      writing = false;
      await hot;
    }
    await waitFor(() => t.dirty.has('app.log'));
  });

  it('reports a removed root instead of deletes, and its return', async () => {
    const t = await setup({}, async (root) => {
      await mkdir(path.join(root, 'd'));
      for (let i = 0; i < 20; i++) await writeFile(path.join(root, 'd', `f${i}.txt`), String(i));
    });
    await rm(t.root, { recursive: true });
    await waitFor(() => t.events.rootMissing === 1);
    await sleep(FAST.debounceMs + 3 * FAST.stabilityMs);
    assert.deepEqual(t.batches, []);
    await mkdir(t.root);
    await waitFor(() => t.events.rootRestored === 1);
    assert.deepEqual(t.batches, []);
    assert.equal(t.events.rootMissing, 1);
  });

  it('reports a root that is missing at start', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-watch-'));
    let missing = 0;
    const w = new LayerWatcher(path.join(dir, 'nope'), { ...FAST, onDirty: () => assert.fail('no paths expected'), onRootMissing: () => missing++ });
    open_.push({ w, dir });
    await w.ready;
    assert.equal(missing, 1);
  });

  it('reports nothing after close()', async () => {
    const t = await setup();
    await writeFile(t.at('pending.txt'), 'p');
    await t.w.close();
    await writeFile(t.at('after.txt'), 'a');
    await rm(t.root, { recursive: true });
    await sleep(FAST.debounceMs + 3 * FAST.stabilityMs + FAST.rootCheckMs);
    assert.deepEqual(t.batches, []);
    assert.equal(t.events.rootMissing, 0);
  });

  it('takes a burst of events as large as the OS queue for an overflow, and says so once, after the burst (the kernel drops the rest unsaid)', { skip: process.platform === 'darwin' || process.platform === 'win32' }, async () => {
    // A queue of 8 events that loses the rest of each read, as inotify's does past max_queued_events.
    const queue = new LossyQueue(8);
    await overflowOnce({ queue }, () => assert.ok(queue.lost > 0, 'the burst must lose events, as the overflow of a real queue does'));
  });

  it("takes a nameless event of a whole-tree watch (macOS, Windows) for an overflow: Windows's buffer lost the changes, and says so once a burst", async () => {
    // Each read holds 8 events; the rest are lost and a nameless event comes, as libuv's on Windows.
    const tree = new LossyTreeWatch(8);
    const { t, overflows } = await overflowOnce({ treeWatch: tree.watch }, () => assert.ok(tree.lost > 0 && tree.nameless > 0, 'the burst must lose events and say so namelessly'));
    // A second burst, once the first is over: a second rescan.
    for (let i = 0; i < 40; i++) writeFileSync(t.at(`g${i}.txt`), `file ${i}`);
    await waitFor(() => overflows() > 1);
    await sleep(FAST.debounceMs + 3 * FAST.stabilityMs);
    assert.equal(overflows(), 2);
    assert.equal(t.events.rootMissing, 0);
  });
});
