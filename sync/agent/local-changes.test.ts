/**
 * Live sync's local-change detection (DESIGN §3 "Local changes") under what users and their tools
 * do to files: two live agents on one store must end with the same files, the last content of each.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdir, rename, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { has, listing, setup, waitFor, type Machine } from './live-testkit.js';
import { tempRoot } from './testkit.js';

async function same(a: Machine, b: Machine, what: string): Promise<void> {
  await waitFor(what, async () => JSON.stringify(await listing(a)) === JSON.stringify(await listing(b)), 60_000);
}

test('editors\' atomic saves repeated quickly: the last save reaches the other machine', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'x.txt'), 'v0');
  await waitFor('x on b', has(b, 'x.txt', 'v0'));
  for (let i = 1; i <= 40; i++) {
    await writeFile(join(a.root, '.x.txt.swp'), `version ${i}`);
    await rename(join(a.root, '.x.txt.swp'), join(a.root, 'x.txt'));
    await writeFile(join(a.root, 'x.txt.tmp'), `v${i}`);
    await rename(join(a.root, 'x.txt.tmp'), join(a.root, 'x.txt'));
    if (i % 7 === 0) await new Promise((r) => setTimeout(r, 40));
  }
  await waitFor('last save on b', has(b, 'x.txt', 'v40'), 60_000);
  await same(a, b, 'same trees');
});

test('vim\'s backup rename: x → x~, a new x written, x~ deleted', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'notes'), 'first');
  await waitFor('notes on b', has(b, 'notes', 'first'));
  for (let i = 1; i <= 10; i++) {
    await rename(join(a.root, 'notes'), join(a.root, 'notes~'));
    await writeFile(join(a.root, 'notes'), `edit ${i}`);
    await rm(join(a.root, 'notes~'));
    if (i % 3 === 0) await new Promise((r) => setTimeout(r, 60));
  }
  await waitFor('last edit on b', has(b, 'notes', 'edit 10'), 60_000);
  await same(a, b, 'same trees');
  assert.deepEqual(Object.keys(await listing(b)), ['notes']);
});

test('truncate to zero, then rewrite', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'f'), 'hello world');
  await waitFor('f on b', has(b, 'f', 'hello world'));
  await truncate(join(a.root, 'f'), 0);
  await new Promise((r) => setTimeout(r, 200));
  await writeFile(join(a.root, 'f'), 'HELLO WORLD', { flag: 'r+' });
  await waitFor('rewrite on b', has(b, 'f', 'HELLO WORLD'));
  await truncate(join(a.root, 'f'), 0);
  await appendFile(join(a.root, 'f'), 'hello world');
  await waitFor('rewrite on b', has(b, 'f', 'hello world'));
});

// The machine that wrote the file edits it, then the one the engine wrote it on (its watcher must
// not take the edit for the engine's own write).
for (const receiving of [false, true]) {
  const name = receiving
    ? "an edit on the receiving side, same size with the mtime the engine wrote, is not taken for the engine's own write"
    : 'a same-size edit whose mtime is set back to what it was still syncs';
  test(name, async (t) => {
    const { a, b } = await setup(t);
    const old = new Date('2020-01-01T00:00:00Z');
    await writeFile(join(a.root, 'f'), 'aaaa');
    await utimes(join(a.root, 'f'), old, old);
    await waitFor('f on b', has(b, 'f', 'aaaa'));
    await new Promise((r) => setTimeout(r, 500));
    const [editor, other] = receiving ? [b, a] : [a, b];
    await writeFile(join(editor.root, 'f'), 'bbbb', { flag: 'r+' });
    await utimes(join(editor.root, 'f'), old, old);
    await waitFor('the edit on the other machine', has(other, 'f', 'bbbb'), 10_000);
  });
}

test('folders moved in from outside, out of the root, renamed within (1,000 files), replaced by a file and back', async (t) => {
  const { a, b } = await setup(t);
  const outside = await tempRoot(t, 'outside');
  await mkdir(join(outside, 'in'));
  for (let i = 0; i < 50; i++) await writeFile(join(outside, 'in', `f${i}`), `in ${i}`);
  await rename(join(outside, 'in'), join(a.root, 'in'));
  await mkdir(join(a.root, 'big'));
  for (let i = 0; i < 1000; i++) await writeFile(join(a.root, 'big', `f${i}`), `big ${i}`);
  await waitFor('big on b', has(b, 'big/f999', 'big 999'), 60_000);
  await waitFor('in on b', has(b, 'in/f49', 'in 49'));
  await rename(join(a.root, 'big'), join(a.root, 'big2'));
  await rename(join(a.root, 'in'), join(outside, 'gone'));
  await same(a, b, 'after the moves');
  assert.equal((await listing(b))['big2/f500'], 'big 500');
  assert.equal((await listing(b))['in/f1'], undefined);
  // A folder replaced by a file of the same name, and back (a few files: no mass delete).
  await mkdir(join(a.root, 'sw'));
  for (let i = 0; i < 3; i++) await writeFile(join(a.root, 'sw', `f${i}`), `sw ${i}`);
  await waitFor('sw on b', has(b, 'sw/f2', 'sw 2'), 60_000);
  await rm(join(a.root, 'sw'), { recursive: true });
  await writeFile(join(a.root, 'sw'), 'now a file');
  await waitFor('file on b', has(b, 'sw', 'now a file'), 60_000);
  await rm(join(a.root, 'sw'));
  await mkdir(join(a.root, 'sw'));
  await writeFile(join(a.root, 'sw', 'g'), 'dir again');
  await waitFor('dir on b', has(b, 'sw/g', 'dir again'), 60_000);
  await same(a, b, 'at the end');
});

test('a case-only rename', async (t) => {
  const { a, b } = await setup(t);
  await writeFile(join(a.root, 'Report.txt'), 'r');
  await waitFor('on b', has(b, 'Report.txt', 'r'));
  await rename(join(a.root, 'Report.txt'), join(a.root, 'report.txt'));
  await waitFor('renamed on b', has(b, 'report.txt', 'r'));
  await same(a, b, 'same');
  assert.deepEqual(Object.keys(await listing(b)), ['report.txt']);
});

test('a log appended to while it is read: the other machine only ever holds a state the file had, and the last one once it stops', async (t) => {
  const { a, b } = await setup(t);
  const line = (i: number) => `${String(i).padStart(8, '0')} ${'x'.repeat(4000)}\n`;
  let text = '';
  for (let i = 0; i < 2000; i++) text += line(i);
  await writeFile(join(a.root, 'app.log'), text);
  let i = 2000;
  const states: string[] = [];
  const seen = async () => {
    const got = (await listing(b))['app.log'];
    if (got !== undefined) states.push(got);
  };
  const until = Date.now() + 4000;
  while (Date.now() < until) {
    const more = line(i++) + line(i++);
    await appendFile(join(a.root, 'app.log'), more);
    text += more;
    await seen();
    await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor('the last state on b', has(b, 'app.log', text), 60_000);
  for (const s of states) assert.ok(text.startsWith(s) && s.length % line(0).length === 0, `b held a state app.log never had (${s.length} bytes)`);
});

test('a burst of 5,000 new files from another process (a checkout, an unzip) while a pass runs: none is missed', { timeout: 600_000 }, async (t) => {
  const { a } = await setup(t);
  // A pass busy chunking a large file while the burst comes.
  await writeFile(join(a.root, 'big.bin'), Buffer.alloc(32 << 20, 7));
  await new Promise((r) => setTimeout(r, 300));
  const script = `const fs=require('fs'),p=require('path');const r=${JSON.stringify(a.root)};for(let d=0;d<5;d++){fs.mkdirSync(p.join(r,'src'+d));for(let i=0;i<1000;i++)fs.writeFileSync(p.join(r,'src'+d,'f'+i+'.c'),'file '+d+'/'+i);}`;
  await new Promise<void>((resolve, reject) => spawn(process.execPath, ['-e', script], { stdio: 'inherit' }).on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`writer exited ${c}`)))));
  const files = () => a.agent.status().folders[0]!.files;
  await waitFor('all 5,001 files known to a', () => files() === 5_001, 400_000).catch((err: unknown) => {
    throw new Error(`${String(err)}: a knows ${files()}`);
  });
});

test('a save reaches the other machine while a log in the same folder is written all the time', async (t) => {
  // The log is written more often than the watcher's quiet time, by far.
  const { a, b } = await setup(t, { debounceMs: 300 });
  // After the start-up scan, which finds everything: from then on only the watcher reports.
  await waitFor('a synced once', () => (a.agent.status().folders[0]!.syncedPasses ?? 0) > 0);
  let writing = true;
  const hot = (async () => {
    for (let i = 0; writing; i++) {
      await appendFile(join(a.root, 'app.log'), `line ${i}\n`);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await new Promise((r) => setTimeout(r, 100));
    await writeFile(join(a.root, 'report.txt'), 'done');
    await waitFor('report.txt on b while the log goes on', has(b, 'report.txt', 'done'));
  } finally {
    writing = false;
    await hot;
  }
  await same(a, b, 'the log too once it stops');
});

test('a folder removed and made again at once (rm -rf build && mkdir build): what is made in it later syncs', async (t) => {
  const { a, b } = await setup(t);
  await mkdir(join(a.root, 'build'));
  await writeFile(join(a.root, 'build', 'old.o'), 'o');
  await writeFile(join(a.root, 'keep.txt'), 'k');
  await waitFor('build on b', has(b, 'build/old.o', 'o'));
  // Both before the agent looks: the new folder gets the old one's inode number.
  rmSync(join(a.root, 'build'), { recursive: true });
  mkdirSync(join(a.root, 'build'));
  await same(a, b, 'old.o gone');
  await writeFile(join(a.root, 'build', 'new.o'), 'n');
  await waitFor('new.o on b', has(b, 'build/new.o', 'n'));
});
