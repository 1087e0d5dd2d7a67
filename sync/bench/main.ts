/**
 * `npm run bench`: Strata against rclone and restic on one local OpenStack Swift S3 server, in
 * one run, on one seeded corpus. A benchmark, not a test: it asserts nothing about time; it
 * prints one table (figures, Strata ÷ peer ratios, targets with ✓/✗) and writes the same results
 * as JSON to bench-results/<timestamp>.json and bench-results/latest.json.
 *
 * What must always hold:
 * - every tool runs as a child process against its own bucket on the same server, and is timed
 *   by the harness the same way;
 * - every restore is checked byte for byte against the corpus manifest (a fast wrong restore is
 *   reported as WRONG, never as a good figure);
 * - a Swift server the run started is stopped, and temp dirs removed (unless --keep), on every
 *   exit path including errors and Ctrl-C; only processes this run started are ever killed.
 *
 * Module map: options (CLI), corpus/content/pages (the data), files (80% copy, edit, check),
 * swift (server), proc (processes, page cache), dist (npm run build, the CLI checked),
 * peer + strata/rclone/restic (tools),
 * scenario (phases), throughput (chunk+hash), report (table), results (JSON, header);
 * live* (the sync section: live, live-agent, live-latency, live-tree, live-proc, live-report).
 *
 * Sections (--sections): `repo` is the comparison above; `sync` is live two-way sync, Strata alone
 * (propagation latency between two agents, an idle agent on 100,000 files, its start-up);
 * `signin` is the time to ready at sign-in on an empty and a golden-image machine, against a
 * full restic restore and rclone copy of the same layer (signin*).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { planCorpus, writeCorpus, type Corpus } from './corpus.js';
import { buildStrataCli } from './dist.js';
import { runLiveSync } from './live.js';
import { killAgents } from './live-agent.js';
import { liveRows } from './live-report.js';
import { parseOptions, USAGE, type BenchOptions, type Tool } from './options.js';
import type { Peer, PeerContext } from './peer.js';
import { abortAll, haveCommand, isAborted, killAll } from './proc.js';
import { RclonePeer, writeRcloneConfig } from './rclone.js';
import { runSignInSection } from './signin.js';
import { formatSignInTable } from './signin-report.js';
import { buildRows, formatTable, type Row } from './report.js';
import { ResticPeer } from './restic.js';
import { describeRun, machineInfo, notes, writeResults, type BenchResults } from './results.js';
import { runScenario, type ScenarioResults } from './scenario.js';
import { StrataPeer } from './strata.js';
import { startS3, type S3Server } from './swift.js';
import { measureThroughput, type Throughput } from './throughput.js';

const MiB = 1024 * 1024;
const log = (line: string): void => console.log(line);

async function checkTools(only: readonly Tool[]): Promise<void> {
  const needed = new Set<string>();
  if (only.includes('rclone') || only.includes('restic')) needed.add('rclone');
  if (only.includes('restic')) needed.add('restic');
  const missing = [];
  for (const cmd of needed) if (!(await haveCommand(cmd))) missing.push(cmd);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(' and ')} not found on PATH. Install with:  apt-get install rclone restic\n` +
        '(restic reaches S3 through rclone, so it needs both), or run only Strata:  npm run bench -- --only strata',
    );
  }
}

function makePeers(only: readonly Tool[], ctx: PeerContext): Peer[] {
  const make: Record<Tool, () => Peer> = { strata: () => new StrataPeer(ctx), rclone: () => new RclonePeer(ctx), restic: () => new ResticPeer(ctx) };
  return only.map((t) => make[t]());
}

async function bench(opts: BenchOptions, work: string, state: { server?: S3Server; peers: Peer[] }): Promise<void> {
  const startedAt = new Date();
  const repo = opts.sections.includes('repo');
  // First, so that a build that does not compile or run stops the bench before minutes of corpus writing.
  let strataCli = '';
  if ((repo && opts.only.includes('strata')) || opts.sections.includes('sync') || opts.sections.includes('signin')) {
    log('building Strata (npm run build) …');
    strataCli = await buildStrataCli(join(work, 'strata-check'));
    log(`  ${strataCli}`);
  }
  const plan = planCorpus(opts.sizeMiB, opts.seed);
  let corpus: Corpus | undefined;
  let throughput: Throughput | undefined;
  if (repo) {
    log(`generating the corpus (seed ${opts.seed}, ${opts.sizeMiB} MiB) in ${work}/corpus …`);
    if (plan.note) log(`note: ${plan.note}`);
    corpus = await writeCorpus(join(work, 'corpus'), plan);
    log(`  ${corpus.files.length} files, ${(corpus.bytes / MiB).toFixed(1)} MiB`);

    log('measuring chunk+hash throughput (one thread) …');
    throughput = await measureThroughput(128 * MiB);
    log(`  ${throughput.mbPerSecond === undefined ? `n/a: ${throughput.note}` : `${throughput.mbPerSecond.toFixed(0)} MB/s`}`);
  }

  log('starting the S3 server …');
  state.server = await startS3(join(work, 'swift'));
  log(`  ${state.server.env.endpoint}${state.server.owned ? ' (OpenStack Swift, started by this run)' : ' (from STRATA_TEST_S3_*)'}`);
  const ctx: PeerContext = { s3: state.server.env, work, rcloneConfig: join(work, 'rclone.conf'), runId: startedAt.getTime().toString(36), strataCli };
  await writeRcloneConfig(ctx.rcloneConfig, ctx.s3);

  let scenario: ScenarioResults | undefined;
  let repoRows: Row[] = [];
  if (corpus) {
    state.peers = makePeers(opts.only, ctx);
    scenario = await runScenario({ corpus, peers: state.peers, ctx, seed: opts.seed, warm: opts.warm, keep: opts.keep, ownedServer: state.server.owned, log });
    repoRows = buildRows({ corpusBytes: corpus.bytes, chunkHashMBps: throughput?.mbPerSecond, scenario });
  }
  const live = opts.sections.includes('sync') ? await runLiveSync({ ctx, files: opts.syncFiles, seed: opts.seed, keep: opts.keep, ownedServer: state.server.owned, log }) : undefined;
  const syncRows = live ? liveRows(live) : [];
  const signin = opts.sections.includes('signin')
    ? await runSignInSection({ s3: ctx.s3, work, strataCli, runId: ctx.runId, sizeMiB: opts.sizeMiB, files: opts.signinFiles, seed: opts.seed, warm: opts.warm, keep: opts.keep, ownedServer: state.server.owned, peers: opts.only.filter((t) => t !== 'strata'), log })
    : undefined;
  const results: BenchResults = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: opts,
    machine: machineInfo(),
    server: { endpoint: ctx.s3.endpoint, startedByBench: state.server.owned },
    ...(corpus && scenario && throughput ? { corpus: { files: corpus.files.length, bytes: corpus.bytes, plan, editFile: corpus.editFile }, throughput, scenario } : {}),
    ...(live ? { live } : {}),
    ...(signin ? { signin } : {}),
    rows: [...repoRows, ...syncRows],
  };
  log('');
  log(describeRun(results));
  for (const rows of [repoRows, syncRows].filter((r) => r.length > 0)) {
    log('');
    log(formatTable(rows));
  }
  if (signin) {
    log('');
    log(formatSignInTable(signin));
  }
  log('');
  log(notes(results));
  const written = await writeResults(results, opts.out);
  log(`\nresults: ${written.join(', ')}`);
}

async function cleanup(opts: BenchOptions, work: string | undefined, state: { server?: S3Server; peers: Peer[] }): Promise<void> {
  killAll();
  killAgents();
  if (state.server && !state.server.owned) for (const p of state.peers) await p.destroy();
  await state.server?.stop();
  if (!work) return;
  if (opts.keep) log(`kept temp dirs in ${work}${state.server?.owned ? ' (the Swift server is stopped; its data is in swift/)' : ''}`);
  else await rm(work, { recursive: true, force: true });
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(describeError(err));
    return 2;
  }
  if (opts.help) {
    log(USAGE);
    return 0;
  }
  const state: { server?: S3Server; peers: Peer[] } = { peers: [] };
  let work: string | undefined;
  let cleaning: Promise<void> | undefined;
  const finish = (): Promise<void> => (cleaning ??= cleanup(opts, work, state));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping the tools and the server …`);
      abortAll();
      void finish().finally(() => process.exit(130));
    });
  }
  try {
    if (opts.sections.includes('repo')) await checkTools(opts.only);
    if (opts.sections.includes('signin')) await checkTools(opts.only);
    work = await mkdtemp(join(tmpdir(), 'strata-bench-'));
    await bench(opts, work, state);
    return 0;
  } catch (err) {
    if (isAborted()) return 130;
    console.error(`bench failed: ${describeError(err)}`);
    return 1;
  } finally {
    await finish();
  }
}

process.exitCode = await main();
