/**
 * The benchmark's phases, each run for every tool before the next phase starts, so all tools
 * see the same corpus state, server state and cache conditions:
 *
 *   upload → full restore → restore with 80% present → Strata small-files restore → 1 MiB edit
 *   and incremental backup.
 *
 * The page cache is dropped before every timed phase when possible. Every restore is checked
 * against the manifest. A tool that fails a phase gets the error recorded and skips the phases
 * that need it; the others go on.
 */
import { join } from 'node:path';
import { describeError, isStrataError } from '../errors.js';
import type { Corpus } from './corpus.js';
import { RestoreDirs, copyFiles, editMiddle, presentSubset, verifyTree } from './files.js';
import type { Peer, PeerContext, RestoreResult } from './peer.js';
import { dropCaches } from './proc.js';
import { StrataPeer } from './strata.js';
import type { Tool } from './options.js';

export type PhaseName = 'upload' | 'restore' | 'restorePresent' | 'incremental';

export interface PhaseRecord extends Partial<RestoreResult> {
  error?: string;
  /** Problems found checking a restore against the manifest (empty: exact match). */
  problems?: string[];
}

export interface SmallFilesRecord extends PhaseRecord {
  files: number;
  bytes: number;
}

export interface ScenarioResults {
  cache: 'cold' | 'warm';
  present: { files: number; bytes: number; absentFiles: number; absentBytes: number };
  edit: { file: string; fileSize: number; offset: number; bytes: number };
  tools: Partial<Record<Tool, { version: string; phases: Partial<Record<PhaseName, PhaseRecord>> }>>;
  strataSmallFiles?: SmallFilesRecord;
}

export interface ScenarioInput {
  corpus: Corpus;
  peers: Peer[];
  ctx: PeerContext;
  seed: number;
  warm: boolean;
  keep: boolean;
  /** False on a server this run did not start: buckets must then be removed afterwards. */
  ownedServer: boolean;
  log: (line: string) => void;
}

export async function runScenario(input: ScenarioInput): Promise<ScenarioResults> {
  const { corpus, peers, ctx, log } = input;
  const canDrop = !input.warm && (await dropCaches());
  const cool = async (): Promise<void> => {
    if (canDrop) await dropCaches();
  };
  const { present, absent } = presentSubset(corpus, input.seed);
  const sum = (files: { size: number }[]): number => files.reduce((s, f) => s + f.size, 0);
  const results: ScenarioResults = {
    cache: canDrop ? 'cold' : 'warm',
    present: { files: present.length, bytes: sum(present), absentFiles: absent.length, absentBytes: sum(absent) },
    edit: { file: corpus.editFile, fileSize: corpus.files.find((f) => f.path === corpus.editFile)?.size ?? 0, offset: -1, bytes: 1024 * 1024 },
    tools: {},
  };
  for (const peer of peers) results.tools[peer.tool] = { version: await peer.version().catch((e: unknown) => `unknown (${describeError(e)})`), phases: {} };
  const record = (tool: Tool, phase: PhaseName, value: PhaseRecord): void => {
    (results.tools[tool] as NonNullable<ScenarioResults['tools'][Tool]>).phases[phase] = value;
  };
  const ok = (tool: Tool, phase: PhaseName): boolean => {
    const r = results.tools[tool]?.phases[phase];
    return r !== undefined && r.error === undefined;
  };

  const attempt = async (peer: Peer, phase: PhaseName, body: () => Promise<PhaseRecord>): Promise<void> => {
    log(`  ${peer.tool}: ${phase} …`);
    try {
      const r = await body();
      record(peer.tool, phase, r);
      const problems = r.problems?.length ? ` — RESTORE WRONG: ${r.problems.join('; ')}` : '';
      log(`  ${peer.tool}: ${phase} ${r.seconds?.toFixed(2)} s${problems}`);
    } catch (err) {
      if (isStrataError(err, 'E_BENCH_ABORTED')) throw err;
      record(peer.tool, phase, { error: describeError(err) });
      log(`  ${peer.tool}: ${phase} FAILED: ${describeError(err)}`);
    }
  };
  const checked = async (r: RestoreResult): Promise<PhaseRecord> => ({ ...r, problems: await verifyTree(r.target, corpus) });
  const dirs = new RestoreDirs(ctx.work, input.keep);
  try {
    log('phase 1/5: initial upload');
    for (const peer of peers) {
      await attempt(peer, 'upload', async () => {
        await peer.init();
        await cool();
        return peer.upload(corpus.root);
      });
    }

    log('phase 2/5: full restore into an empty dir');
    for (const peer of peers.filter((p) => ok(p.tool, 'upload'))) {
      await attempt(peer, 'restore', async () => {
        const target = await dirs.make(`restore-${peer.tool}`);
        await cool();
        return checked(await peer.restore(target));
      });
    }

    log(`phase 3/5: restore with ${present.length} of ${corpus.files.length} files present`);
    for (const peer of peers.filter((p) => ok(p.tool, 'upload'))) {
      await attempt(peer, 'restorePresent', async () => {
        const have = await dirs.make(`present-${peer.tool}`);
        await copyFiles(corpus.root, have, present);
        const empty = await dirs.make(`seeded-${peer.tool}`);
        await cool();
        return checked(await peer.restoreWithPresent(have, empty));
      });
    }

    if (peers.some((p) => p.tool === 'strata')) results.strataSmallFiles = await smallFiles(input, dirs, cool);

    log('phase 5/5: 1 MiB edit in the middle of the large file, then an incremental backup');
    results.edit.offset = await editMiddle(corpus);
    for (const peer of peers.filter((p) => ok(p.tool, 'upload'))) {
      await attempt(peer, 'incremental', async () => {
        await cool();
        return peer.incremental(corpus.root);
      });
    }
  } finally {
    await dirs.removeAll();
  }
  return results;
}

/** Strata alone: a layer of only the small files, restored into an empty dir, to count GETs. */
async function smallFiles(input: ScenarioInput, dirs: RestoreDirs, cool: () => Promise<void>): Promise<SmallFilesRecord> {
  const { corpus, ctx, log } = input;
  const small = corpus.files.filter((f) => f.kind === 'small');
  const sub: Corpus = { ...corpus, root: join(corpus.root, 'config'), files: small.map((f) => ({ ...f, path: f.path.slice('config/'.length) })) };
  const base = { files: small.length, bytes: small.reduce((s, f) => s + f.size, 0) };
  log(`phase 4/5: Strata restore of the ${small.length} small files alone (own bucket)`);
  const peer = new StrataPeer(ctx, '-small');
  try {
    await peer.init();
    await peer.upload(sub.root);
    const target = await dirs.make('restore-small');
    await cool();
    const r = await peer.restore(target);
    const problems = await verifyTree(target, sub);
    log(`  strata: small files ${r.seconds.toFixed(2)} s, ${r.requests?.gets ?? '?'} GETs`);
    return { ...base, ...r, problems };
  } catch (err) {
    if (isStrataError(err, 'E_BENCH_ABORTED')) throw err;
    log(`  strata: small files FAILED: ${describeError(err)}`);
    return { ...base, error: describeError(err) };
  } finally {
    if (!input.ownedServer) await peer.destroy();
  }
}
