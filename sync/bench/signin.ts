/**
 * The sign-in benchmark (issue 5, item 7): time to ready — hot paths and small files on disk —
 * for a user layer laid onto an empty machine, and onto a golden-image machine whose home already
 * holds 80% of the files, against a full `restic restore` and a full `rclone copy` of the same
 * data from the same server in the same run. Target: Strata ready < 25% of restic's full restore.
 *
 *   1. the layer (signin-corpus.ts) is written once and uploaded by each tool to its own bucket:
 *      Strata with `strata snapshot … --layer user/bench` through the built CLI (StrataPeer);
 *   2. timed, each after dropping the page cache: restic restore and rclone copy into empty dirs;
 *      Strata's sign-in (signin-child.ts, a child process like the others) onto an empty home,
 *      then onto a home holding the 80% copy (files.ts presentSubset, mode vdi: the layer wins);
 *   3. every result is checked against the manifest; a wrong one is recorded, never a good figure.
 *
 * What must hold: the section uses its own work dir and buckets (a run id suffix), so it can run
 * beside the repository scenario; buckets on a server this run did not start are removed.
 */
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError, isStrataError, StrataError } from '../errors.js';
import { SMALL_FILE_BYTES } from '../signin/index.js';
import type { S3TestEnv } from '../testing/s3.js';
import type { Corpus } from './corpus.js';
import { RestoreDirs, copyFiles, presentSubset, verifyTree } from './files.js';
import { fileSystemFloor } from './fs-floor.js';
import { bucketName, type Peer, type PeerContext } from './peer.js';
import { dropCaches } from './proc.js';
import { RclonePeer, writeRcloneConfig } from './rclone.js';
import { ResticPeer } from './restic.js';
import { planSignInCorpus, SIGNIN_HOT_PATHS, writeSignInCorpus, type SignInCorpusPlan } from './signin-corpus.js';
import { runSignInChild } from './signin-proc.js';
import { caseFromRun, type CaseName, type CaseRecord, type PeerRecord, type SignInResults } from './signin-results.js';
import { LAYER, StrataPeer } from './strata.js';
import { REPO_ROOT } from './swift.js';

export const CHILD_ENTRY = join(REPO_ROOT, 'dist/bundle/signin-child.js');
const USER = LAYER.slice('user/'.length);
const MiB = 1024 * 1024;

export interface SignInSectionOptions {
  s3: S3TestEnv;
  /** A temp dir: the section works in `<work>/signin`. */
  work: string;
  /** dist/bundle/strata.js, built (dist.ts buildStrataCli): the child runs from the same build. */
  strataCli: string;
  /** Unique per run; the section's buckets add a suffix to it. */
  runId: string;
  sizeMiB: number;
  files: number;
  seed: number;
  /** Keep the page cache (default: drop it before every timed step when possible). */
  warm?: boolean;
  keep?: boolean;
  /** False on a server this run did not start: the section's buckets are removed afterwards. */
  ownedServer: boolean;
  /** The peers timed (default both; none while iterating on Strata: the table then has no ratios). */
  peers?: readonly ('restic' | 'rclone')[];
  log: (line: string) => void;
}

/** What `ready` covers: hot paths and small files (lay.ts). */
function inReadySet(f: { path: string; size: number }): boolean {
  return f.size <= SMALL_FILE_BYTES || SIGNIN_HOT_PATHS.some((h) => f.path.startsWith(h));
}

function summarize(plan: SignInCorpusPlan): SignInResults['corpus'] {
  const roles: Record<string, { files: number; bytes: number }> = {};
  const readySet = { files: 0, bytes: 0 };
  for (const f of plan.files) {
    const r = (roles[f.role] ??= { files: 0, bytes: 0 });
    r.files++;
    r.bytes += f.size;
    if (inReadySet(f)) {
      readySet.files++;
      readySet.bytes += f.size;
    }
  }
  const bytes = plan.files.reduce((s, f) => s + f.size, 0);
  return { seed: plan.seed, files: plan.files.length, bytes, roles, hotPaths: SIGNIN_HOT_PATHS, smallFileBytes: SMALL_FILE_BYTES, readySet };
}

async function orgConfig(path: string, ctx: PeerContext): Promise<void> {
  const config = {
    version: 1,
    org: 'bench',
    mode: 'vdi',
    store: { endpoint: ctx.s3.endpoint, region: ctx.s3.region, bucket: bucketName(ctx, 'strata'), prefix: 'repo', pathStyle: true },
    policies: { hotPaths: SIGNIN_HOT_PATHS },
  };
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`);
}

export async function runSignInSection(opts: SignInSectionOptions): Promise<SignInResults> {
  const { log } = opts;
  const work = join(opts.work, 'signin');
  await mkdir(work, { recursive: true });
  await access(CHILD_ENTRY).catch(() => {
    throw new StrataError('E_BENCH_BUILD', `${CHILD_ENTRY} is missing: run npm run build first`);
  });
  const ctx: PeerContext = { s3: opts.s3, work, rcloneConfig: join(work, 'rclone.conf'), runId: `${opts.runId}s`, strataCli: opts.strataCli };
  await writeRcloneConfig(ctx.rcloneConfig, ctx.s3);
  const canDrop = !opts.warm && (await dropCaches());
  const cool = async (): Promise<void> => {
    if (canDrop) await dropCaches();
  };

  const plan = planSignInCorpus(opts.sizeMiB, opts.files, opts.seed);
  log(`sign-in: writing the layer (seed ${opts.seed}, ${opts.sizeMiB} MiB, ${opts.files} files) in ${work}/corpus …`);
  const corpus = await writeSignInCorpus(join(work, 'corpus'), plan);
  const results: SignInResults = { cache: canDrop ? 'cold' : 'warm', corpus: summarize(plan), strata: { version: '' }, cases: {} };
  const rs = results.corpus.readySet;
  log(`  ${corpus.files.length} files, ${(corpus.bytes / MiB).toFixed(1)} MiB; ready set ${rs.files} files, ${(rs.bytes / MiB).toFixed(1)} MiB`);

  const strata = new StrataPeer(ctx);
  const dirs = new RestoreDirs(work, opts.keep === true);
  const timed = opts.peers ?? ['restic', 'rclone'];
  const peers: [Peer, 'restic' | 'rclone'][] = [
    [new ResticPeer(ctx), 'restic'] as [Peer, 'restic'],
    [new RclonePeer(ctx), 'rclone'] as [Peer, 'rclone'],
  ].filter(([, name]) => timed.includes(name));
  try {
    results.strata.version = await strata.version();
    log('sign-in: uploading the layer (untimed for the table) …');
    try {
      await strata.init();
      results.strata.uploadSeconds = (await strata.upload(corpus.root)).seconds;
      log(`  strata: ${results.strata.uploadSeconds.toFixed(2)} s`);
    } catch (err) {
      if (isStrataError(err, 'E_BENCH_ABORTED')) throw err;
      results.strata.error = describeError(err);
      log(`  strata: upload FAILED: ${results.strata.error}`);
    }
    for (const [peer, name] of peers) results[name] = await uploadPeer(peer, corpus.root, log);

    for (const [peer, name] of peers) {
      const rec = results[name] as PeerRecord;
      if (rec.error !== undefined) continue;
      log(`sign-in: ${name} full restore into an empty dir …`);
      try {
        const target = await dirs.make(`restore-${name}`);
        await cool();
        rec.seconds = (await peer.restore(target)).seconds;
        rec.problems = await verifyTree(target, corpus);
        log(`  ${name}: ${rec.seconds.toFixed(2)} s${rec.problems.length ? ` — WRONG: ${rec.problems.join('; ')}` : ''}`);
      } catch (err) {
        if (isStrataError(err, 'E_BENCH_ABORTED')) throw err;
        rec.error = describeError(err);
        log(`  ${name}: FAILED: ${rec.error}`);
      }
    }

    log('sign-in: the file-system floor — the ready set written from memory into an empty dir …');
    try {
      const target = await dirs.make('floor');
      await cool();
      results.floor = await fileSystemFloor(corpus.root, corpus.files.filter(inReadySet), target);
      log(`  ${results.floor.seconds?.toFixed(2)} s for ${results.floor.files} files`);
    } catch (err) {
      results.floor = { files: 0, bytes: 0, error: describeError(err) };
      log(`  FAILED: ${results.floor.error}`);
    }

    if (results.strata.error === undefined) {
      const orgFile = join(work, 'org.json');
      await orgConfig(orgFile, ctx);
      const { present } = presentSubset(corpus, opts.seed);
      const machines: [CaseName, string, (home: string) => Promise<void>][] = [
        ['empty', 'an empty home', async () => {}],
        ['golden', `a home holding ${present.length} of ${corpus.files.length} files (the golden image)`, (home) => copyFiles(corpus.root, home, present)],
      ];
      for (const [name, what, prepare] of machines) {
        log(`sign-in: Strata onto ${what} …`);
        const home = await dirs.make(`home-${name}`);
        await prepare(home);
        const have = name === 'empty' ? [] : present;
        const rec = await signInCase({ work, orgFile, home, corpus, ctx, cool, present: { files: have.length, bytes: have.reduce((s, f) => s + f.size, 0) } });
        results.cases[name] = rec;
        log(rec.error !== undefined ? `  FAILED: ${rec.error}` : `  ready ${rec.readySeconds?.toFixed(2)} s, done ${rec.seconds?.toFixed(2)} s${rec.problems?.length ? ` — WRONG: ${rec.problems.join('; ')}` : ''}`);
      }
    }
  } finally {
    await dirs.removeAll();
    if (!opts.ownedServer && opts.keep !== true) for (const p of [strata, ...peers.map(([p]) => p)]) await p.destroy();
  }
  return results;
}

async function uploadPeer(peer: Peer, root: string, log: (line: string) => void): Promise<PeerRecord> {
  const rec: PeerRecord = { version: await peer.version().catch((e: unknown) => `unknown (${describeError(e)})`) };
  try {
    await peer.init();
    rec.uploadSeconds = (await peer.upload(root)).seconds;
    log(`  ${peer.tool}: ${rec.uploadSeconds.toFixed(2)} s`);
  } catch (err) {
    if (isStrataError(err, 'E_BENCH_ABORTED')) throw err;
    rec.error = describeError(err);
    log(`  ${peer.tool}: upload FAILED: ${rec.error}`);
  }
  return rec;
}

interface CaseInput {
  work: string;
  orgFile: string;
  home: string;
  corpus: Corpus;
  ctx: PeerContext;
  cool: () => Promise<void>;
  present: CaseRecord['present'];
}

async function signInCase(input: CaseInput): Promise<CaseRecord> {
  const { ctx } = input;
  const stateDir = await mkdtemp(join(input.work, 'state-'));
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: ctx.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ctx.s3.secretAccessKey,
    HOME: input.work,
    XDG_CONFIG_HOME: join(input.work, 'config'),
    XDG_CACHE_HOME: join(input.work, 'cache'),
    XDG_STATE_HOME: join(input.work, 'state'),
  };
  try {
    await input.cool();
    const run = await runSignInChild(CHILD_ENTRY, ['--org', input.orgFile, '--user', USER, '--home', input.home, '--state-dir', stateDir], env);
    return { ...caseFromRun(run, input.present), problems: await verifyTree(input.home, input.corpus) };
  } catch (err) {
    if (isStrataError(err, 'E_BENCH_ABORTED')) throw err;
    return { present: input.present, error: describeError(err) };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}
