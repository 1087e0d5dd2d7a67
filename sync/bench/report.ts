/**
 * The results table: one row per figure, a column per tool, Strata ÷ peer ratios, and the
 * target with ✓/✗ where the brief sets one. Built from the results object alone (pure), so the
 * JSON file and the printed table always say the same thing.
 */
import type { PhaseName, PhaseRecord, ScenarioResults } from './scenario.js';
import type { Tool } from './options.js';

const MiB = 1024 * 1024;

export const TARGETS = {
  seededDownloadFraction: 0.25,
  editUploadBytes: 3 * MiB,
  chunkHashMBps: 600,
  getsPer100SmallFiles: 1,
} as const;

export interface Row {
  label: string;
  values: Partial<Record<Tool, string>>;
  /** Strata ÷ rclone and Strata ÷ restic, when both figures exist. */
  vsRclone?: string;
  vsRestic?: string;
  target?: string;
  ok?: boolean;
}

export interface ReportInput {
  corpusBytes: number;
  chunkHashMBps: number | undefined;
  scenario: ScenarioResults;
}

const mib = (bytes: number | undefined): string => (bytes === undefined ? '' : `${(bytes / MiB).toFixed(1)} MiB`);
const secs = (s: number | undefined): string => (s === undefined ? '' : `${s.toFixed(2)} s`);
const ratio = (a: number | undefined, b: number | undefined): string | undefined =>
  a === undefined || b === undefined || b === 0 ? undefined : `${(a / b).toFixed(2)}×`;

function phase(input: ReportInput, tool: Tool, name: PhaseName): PhaseRecord | undefined {
  return input.scenario.tools[tool]?.phases[name];
}

/** A row of one figure per tool; failed phases show as "failed", wrong restores as "WRONG". */
function perTool(input: ReportInput, label: string, name: PhaseName, pick: (r: PhaseRecord) => number | undefined, fmt: (n: number | undefined) => string): Row {
  const values: Partial<Record<Tool, string>> = {};
  const nums: Partial<Record<Tool, number>> = {};
  for (const tool of Object.keys(input.scenario.tools) as Tool[]) {
    const r = phase(input, tool, name);
    if (!r) continue;
    if (r.error !== undefined) {
      values[tool] = 'failed';
      continue;
    }
    const n = pick(r);
    const wrong = r.problems !== undefined && r.problems.length > 0;
    if (!wrong) nums[tool] = n;
    values[tool] = `${fmt(n)}${wrong ? ' WRONG' : ''}`;
  }
  return { label, values, vsRclone: ratio(nums.strata, nums.rclone), vsRestic: ratio(nums.strata, nums.restic) };
}

export function strataOnly(label: string, value: string, target?: string, ok?: boolean): Row {
  return { label, values: { strata: value }, ...(target ? { target } : {}), ...(ok !== undefined ? { ok } : {}) };
}

function requestsText(r: PhaseRecord | undefined): string {
  if (!r || r.error !== undefined || !r.requests) return r?.error !== undefined ? 'failed' : '';
  return `${r.requests.gets ?? '?'} GET / ${r.requests.puts ?? '?'} PUT`;
}

function seededRows(input: ReportInput): Row[] {
  const r = phase(input, 'strata', 'restorePresent');
  if (!r || r.error !== undefined || r.bytesDownloaded === undefined) return [];
  const fraction = r.bytesDownloaded / input.corpusBytes;
  const absent = input.scenario.present.absentBytes / input.corpusBytes;
  return [
    strataOnly('  Strata downloaded ÷ layer size', `${(fraction * 100).toFixed(1)}% (${mib(r.bytesDownloaded)})`, '≤ 25%', fraction <= TARGETS.seededDownloadFraction),
    strataOnly('  (bytes absent from the seed dir)', `${(absent * 100).toFixed(1)}%`),
    strataOnly('  Strata seeded from local files', mib(r.bytesSeeded)),
  ];
}

function smallFilesRows(input: ReportInput): Row[] {
  const s = input.scenario.strataSmallFiles;
  if (!s) return [];
  const label = `Strata restore of ${s.files} small files alone`;
  if (s.error !== undefined) return [strataOnly(label, 'failed')];
  const gets = s.requests?.gets;
  const per100 = gets === undefined ? undefined : (gets / s.files) * 100;
  const wrong = s.problems !== undefined && s.problems.length > 0;
  return [
    strataOnly(label, `${secs(s.seconds)}${wrong ? ' WRONG' : ''}`),
    strataOnly('  GETs per 100 files', per100 === undefined ? 'n/a' : `${per100.toFixed(2)} (${gets} GETs)`, '≤ 1', per100 !== undefined && !wrong && per100 <= TARGETS.getsPer100SmallFiles),
  ];
}

export function buildRows(input: ReportInput): Row[] {
  const inc = phase(input, 'strata', 'incremental');
  const editBytes = inc && inc.error === undefined ? inc.bytesUploaded : undefined;
  const mbps = input.chunkHashMBps;
  const restoresOk = (Object.keys(input.scenario.tools) as Tool[]).every((t) =>
    (['restore', 'restorePresent'] as PhaseName[]).every((p) => (phase(input, t, p)?.problems ?? []).length === 0),
  );
  return [
    perTool(input, 'initial upload', 'upload', (r) => r.seconds, secs),
    perTool(input, '  bytes uploaded', 'upload', (r) => r.bytesUploaded, mib),
    perTool(input, 'full restore, empty dir', 'restore', (r) => r.seconds, secs),
    perTool(input, 'restore, 80% of files present', 'restorePresent', (r) => r.seconds, secs),
    ...seededRows(input),
    perTool(input, 'incremental backup after 1 MiB edit', 'incremental', (r) => r.seconds, secs),
    { ...perTool(input, '  bytes uploaded', 'incremental', (r) => r.bytesUploaded, mib), target: '≤ 3 MiB', ok: editBytes !== undefined && editBytes <= TARGETS.editUploadBytes },
    strataOnly('chunk+hash, one thread', mbps === undefined ? 'n/a' : `${mbps.toFixed(0)} MB/s`, '≥ 600 MB/s', mbps !== undefined && mbps >= TARGETS.chunkHashMBps),
    strataOnly('Strata requests, initial upload', requestsText(phase(input, 'strata', 'upload'))),
    strataOnly('Strata requests, full restore', requestsText(phase(input, 'strata', 'restore'))),
    strataOnly('Strata requests, 80%-present restore', requestsText(phase(input, 'strata', 'restorePresent'))),
    strataOnly('Strata requests, incremental', requestsText(inc)),
    ...smallFilesRows(input),
    { label: 'restores match the corpus (all tools)', values: {}, target: 'exact', ok: restoresOk },
  ];
}

const COLUMNS: { head: string; get: (r: Row) => string }[] = [
  { head: 'figure', get: (r) => r.label },
  { head: 'strata', get: (r) => r.values.strata ?? '' },
  { head: 'rclone', get: (r) => r.values.rclone ?? '' },
  { head: 'restic', get: (r) => r.values.restic ?? '' },
  { head: 'strata÷rclone', get: (r) => r.vsRclone ?? '' },
  { head: 'strata÷restic', get: (r) => r.vsRestic ?? '' },
  { head: 'target', get: (r) => r.target ?? '' },
  { head: 'ok', get: (r) => (r.ok === undefined ? '' : r.ok ? '✓' : '✗') },
];

/** The table; a column no row has a value in is left out (the live-sync rows are Strata's alone). */
export function formatTable(rows: readonly Row[]): string {
  const columns = COLUMNS.filter((c, i) => i === 0 || rows.some((r) => c.get(r) !== ''));
  const cells = [columns.map((c) => c.head), ...rows.map((r) => columns.map((c) => c.get(r)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => [...(line[i] as string)].length)));
  const pad = (s: string, w: number): string => s + ' '.repeat(w - [...s].length);
  const lines = cells.map((line) => line.map((c, i) => pad(c, widths[i] as number)).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  return lines.join('\n');
}
