/**
 * Command-line options of `npm run bench`. Parsing is pure (argv and env in, options out) so the
 * rules can be tested without running anything.
 */
import { StrataError } from '../errors.js';

export const TOOLS = ['strata', 'rclone', 'restic'] as const;
export type Tool = (typeof TOOLS)[number];

/** `repo`: the layer-repository comparison with rclone and restic; `sync`: live two-way sync (Strata alone). */
export const SECTIONS = ['repo', 'sync', 'signin'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  /** Corpus size in MiB (all parts scale with it). */
  sizeMiB: number;
  /** Seed of the corpus: the same seed and size always give the same bytes. */
  seed: number;
  /** Tools to run, in the order given by TOOLS (the signin section runs Strata whatever it holds). */
  only: Tool[];
  /** Parts of the bench to run, in the order given by SECTIONS. */
  sections: Section[];
  /** Files in the live-sync section's idle and start-up folder. */
  syncFiles: number;
  /** Files in the sign-in section's layer (its size is sizeMiB). */
  signinFiles: number;
  /** Keep the temp dirs (corpus, restores, Swift state) and print where they are. */
  keep: boolean;
  /** Extra path for the JSON results, besides bench-results/<timestamp>.json and latest.json. */
  out: string | undefined;
  /** Skip dropping the page cache between phases even when it is possible. */
  warm: boolean;
  help: boolean;
}

export const DEFAULT_SIZE_MIB = 1024;
export const DEFAULT_SEED = 1;
export const DEFAULT_SYNC_FILES = 100_000;
export const DEFAULT_SIGNIN_FILES = 20_000;

export const USAGE = `usage: npm run bench -- [options]

  --size <MiB>       corpus size (default ${DEFAULT_SIZE_MIB}; env BENCH_SIZE_MB)
  --seed <n>         corpus seed (default ${DEFAULT_SEED}); same seed + size = same bytes
  --only <tools>     comma-separated subset of ${TOOLS.join(',')} (default all); section signin:
                     Strata always, the peers listed (--only strata: no ratios, for iterating)
  --sections <list>  comma-separated subset of ${SECTIONS.join(',')} (default all):
                       repo  upload/restore/edit against rclone and restic (the corpus)
                       sync  live sync: propagation latency A→B, idle agent, start-up
                       signin  time to ready at sign-in (empty machine, golden image)
                               against a full restic restore and rclone copy
  --only-sync        the same as --sections sync
  --sync-files <n>   files in the sync section's idle/start-up folder (default ${DEFAULT_SYNC_FILES};
                     100 per directory)
  --signin-files <n> files in the sign-in section's layer of --size MiB (default ${DEFAULT_SIGNIN_FILES})
  --keep             keep temp dirs (corpus, restores, Swift state) and print their paths
  --out <file>       also write the JSON results to <file>
  --warm             do not drop the page cache between phases
  -h, --help         this text

Uses STRATA_TEST_S3_* from the environment when set, else starts a throwaway Swift
(scripts/swift/server.sh) and always stops it.`;

function bad(message: string): StrataError {
  return new StrataError('E_BENCH_USAGE', `${message}\n\n${USAGE}`);
}

function positiveInt(flag: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (raw === undefined || raw === '' || !Number.isSafeInteger(n) || n < min) {
    throw bad(`${flag} needs an integer >= ${min}, got ${JSON.stringify(raw ?? '')}`);
  }
  return n;
}

/** A comma-separated subset of `allowed`, returned in the order of `allowed`. */
function parseSubset<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[], what: string): T[] {
  const names = (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw bad(`${flag} needs a comma-separated list of ${what}s`);
  for (const name of names) {
    if (!(allowed as readonly string[]).includes(name)) throw bad(`${flag}: unknown ${what} ${JSON.stringify(name)}`);
  }
  return allowed.filter((t) => names.includes(t));
}

/** Splits `--flag=value` into two arguments so both spellings work. */
function splitEquals(argv: readonly string[]): string[] {
  return argv.flatMap((a) => {
    const m = /^(--[a-z-]+)=(.*)$/.exec(a);
    return m ? [m[1] as string, m[2] as string] : [a];
  });
}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv = {}): BenchOptions {
  const opts: BenchOptions = {
    sizeMiB: env.BENCH_SIZE_MB ? positiveInt('BENCH_SIZE_MB', env.BENCH_SIZE_MB, 8) : DEFAULT_SIZE_MIB,
    seed: DEFAULT_SEED,
    only: [...TOOLS],
    sections: [...SECTIONS],
    syncFiles: DEFAULT_SYNC_FILES,
    signinFiles: DEFAULT_SIGNIN_FILES,
    keep: false,
    out: undefined,
    warm: false,
    help: false,
  };
  const args = splitEquals(argv);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = (): string | undefined => args[++i];
    switch (arg) {
      case '--size': opts.sizeMiB = positiveInt('--size', value(), 8); break;
      case '--seed': opts.seed = positiveInt('--seed', value(), 0); break;
      case '--only': opts.only = parseSubset('--only', value(), TOOLS, 'tool'); break;
      case '--sections': opts.sections = parseSubset('--sections', value(), SECTIONS, 'section'); break;
      case '--only-sync': opts.sections = ['sync']; break;
      case '--sync-files': opts.syncFiles = positiveInt('--sync-files', value(), 100); break;
      case '--signin-files': opts.signinFiles = positiveInt('--signin-files', value(), 100); break;
      case '--keep': opts.keep = true; break;
      case '--warm': opts.warm = true; break;
      case '--out': {
        const file = value();
        if (!file) throw bad('--out needs a file name');
        opts.out = file;
        break;
      }
      case '-h':
      case '--help': opts.help = true; break;
      default: throw bad(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return opts;
}
