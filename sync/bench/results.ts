/**
 * The results of one run as JSON (bench-results/<timestamp>.json and latest.json), and the text
 * around the table: what was measured on what, and how to read the figures.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import { join, resolve } from 'node:path';
import type { CorpusPlan } from './corpus.js';
import type { LiveResults } from './live.js';
import type { SignInResults } from './signin-results.js';
import { liveNotes } from './live-report.js';
import type { BenchOptions } from './options.js';
import type { Row } from './report.js';
import type { ScenarioResults } from './scenario.js';
import { REPO_ROOT } from './swift.js';
import type { Throughput } from './throughput.js';

const MiB = 1024 * 1024;

export interface MachineInfo {
  nproc: number;
  cpu: string;
  memoryGiB: number;
  os: string;
  node: string;
  loadAverage: number[];
}

export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  options: BenchOptions;
  machine: MachineInfo;
  server: { endpoint: string; startedByBench: boolean };
  /** The repo section (absent when --sections leaves it out). */
  corpus?: { files: number; bytes: number; plan: CorpusPlan; editFile: string };
  throughput?: Throughput;
  scenario?: ScenarioResults;
  /** The sync section (absent when --sections leaves it out). */
  live?: LiveResults;
  signin?: SignInResults;
  /** Every row of the printed tables, the repo section's first. */
  rows: Row[];
}

export function machineInfo(): MachineInfo {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

function describeRepo(r: BenchResults): string[] {
  if (!r.corpus || !r.scenario) return [];
  const p = r.corpus.plan;
  const large = p.largeSizes.length + 1;
  const tools = Object.entries(r.scenario.tools).map(([tool, t]) => `  ${tool}: ${t?.version.split('\n')[0]}`);
  return [
    `corpus:  ${r.corpus.files} files, ${mib(r.corpus.bytes)}: ${p.smallCount} small config files, ${p.mediumCount} documents, ${large} large page files (edit file ${r.corpus.editFile}, ${mib(p.editFileSize)})`,
    ...(p.note ? [`         ${p.note}`] : []),
    `cache:   ${r.scenario.cache === 'cold' ? 'page cache dropped before every timed phase (cold)' : 'page cache NOT dropped: figures are warm-cache'}`,
    'tools:',
    ...tools,
  ];
}

export function describeRun(r: BenchResults): string {
  const m = r.machine;
  const o = r.options;
  return [
    `Strata benchmark ${r.startedAt} — sections ${o.sections.join(',')}, seed ${o.seed}${o.sections.includes('repo') ? `, --size ${o.sizeMiB}` : ''}${o.sections.includes('sync') ? `, --sync-files ${o.syncFiles}` : ''}`,
    `machine: ${m.nproc} CPUs (${m.cpu}), ${m.memoryGiB} GiB RAM, ${m.os}, node ${m.node}; load average at start ${m.loadAverage.join(' ')}`,
    `server:  ${r.server.endpoint} (${r.server.startedByBench ? 'OpenStack Swift s3api, started by this run' : 'from STRATA_TEST_S3_*'}); one bucket per tool`,
    ...describeRepo(r),
  ].join('\n');
}

export function notes(r: BenchResults): string {
  return [repoNotes(r), r.live ? liveNotes(r.live) : ''].filter(Boolean).join('\n\n');
}

function repoNotes(r: BenchResults): string {
  const s = r.scenario;
  if (!s || !r.corpus) return '';
  return [
    'How to read it:',
    '- times are wall clock of the tool process(es), start-up included; ratios are Strata ÷ peer (below 1: Strata faster or smaller).',
    `- "80% present": ${s.present.files} of ${r.corpus.files} files (${mib(s.present.bytes)}) on disk beforehand, ${mib(s.present.absentBytes)} absent.`,
    '  Strata restores into an empty dir with --seed <that dir>; restic 0.14 restores over it and rewrites every file;',
    '  rclone copies over it and skips files with the same size and mtime without reading them (no content check).',
    '- bytes uploaded: Strata bytesUploaded (everything it PUT), restic data_added (new blob data; restic 0.14',
    '  counts it before compression, without index/snapshot files), rclone the bytes of the files it copied',
    '  (it re-sends whole changed files).',
    `- the edit overwrote ${mib(s.edit.bytes)} at offset ${s.edit.offset} of ${s.edit.file} (${mib(s.edit.fileSize)}).`,
    '- rclone: default 4 transfers / 8 checkers; restic: via `rclone serve restic` (5 connections); Strata: its defaults.',
    `- the machine (${r.machine.nproc} CPUs) is shared with other work, so times vary from run to run; compare ratios, not absolutes.`,
    '- Strata ran as `node dist/bundle/strata.js`, built from the current sources by `npm run build` at the start of the run (no tsx at run time).',
  ].join('\n');
}

/** Writes the results to bench-results/<timestamp>.json, latest.json and `out`; returns the paths. */
export async function writeResults(r: BenchResults, out: string | undefined): Promise<string[]> {
  const dir = join(REPO_ROOT, 'bench-results');
  await mkdir(dir, { recursive: true });
  const text = `${JSON.stringify(r, null, 2)}\n`;
  const paths = [join(dir, `${r.startedAt.replace(/[:.]/g, '-')}.json`), join(dir, 'latest.json'), ...(out ? [resolve(out)] : [])];
  for (const path of paths) await writeFile(path, text);
  return paths;
}
