/**
 * Command-line parsing: one spec per command, parsed strictly with node:util parseArgs. Anything
 * the spec does not allow (an unknown flag, a missing value, too many arguments) is an E_USAGE
 * error, which the CLI turns into exit code 2. Global options may appear before or after the
 * command name; --json and --help apply to every command, --store and --device only to those whose
 * spec names them in `globals`, and a command's help lists only those. Elsewhere they are accepted
 * and ignored: a script may pass the same global options to every command.
 */
import { parseArgs } from 'node:util';
import { StrataError } from '../errors.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder shown in help: `--layer <id>`. */
  value?: string;
  help: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments as shown in help: `<dir>`, `[path]`. */
  args: string;
  positionals: { min: number; max: number };
  options: Record<string, OptionSpec>;
  /** The global options besides --json and --help that the command honours (its help lists only these). */
  globals?: readonly GlobalName[];
  /** What a global option means for this command, where the general help is not true of it (--device's default). */
  globalHelp?: Partial<Record<GlobalName, string>>;
}

export type GlobalName = 'store' | 'device';

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedArgs {
  values: OptionValues;
  positionals: string[];
}

/** A command's --device help when its default is the one `ctx.device` takes. */
export const HOST_DEVICE_HELP = "this machine's device id (default: derived from the host name)";

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  store: { type: 'string', value: '<url>', help: 'the repository: s3://bucket/prefix?endpoint=…&region=…&pathStyle=true, file:///path or memory: (env STRATA_STORE)' },
  device: { type: 'string', value: '<id>', help: "this machine's device id (its default: see the command's help)" },
  json: { type: 'boolean', help: 'print one JSON object on stdout instead of text' },
  help: { type: 'boolean', short: 'h', help: 'show help for the command' },
};

/** The global options `spec` honours, in GLOBAL_OPTIONS' order. */
function globalsOf(spec: CommandSpec): Record<string, OptionSpec> {
  const honoured = new Set<string>(['json', 'help', ...(spec.globals ?? [])]);
  const own = (spec.globalHelp ?? {}) as Record<string, string | undefined>;
  return Object.fromEntries(
    Object.entries(GLOBAL_OPTIONS)
      .filter(([name]) => honoured.has(name))
      .map(([name, o]) => [name, own[name] === undefined ? o : { ...o, help: own[name] }]),
  );
}

export function usageError(message: string, command?: string): StrataError {
  const hint = command ? `strata ${command} --help` : 'strata --help';
  return new StrataError('E_USAGE', `${message} (see \`${hint}\`)`);
}

/** Finds the command name: the first argument that is neither an option nor a global option's value. */
export function splitCommand(argv: readonly string[]): { command: string | undefined; rest: string[] } {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (arg.startsWith('--')) {
      const name = arg.slice(2).split('=')[0] as string;
      if (!arg.includes('=') && GLOBAL_OPTIONS[name]?.type === 'string') i++;
      continue;
    }
    if (arg.startsWith('-') && arg !== '-') continue;
    return { command: arg, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: undefined, rest: [...argv] };
}

/** node:util's parse error as one line; an option left without its value says so (node:util calls it "ambiguous" when another option follows). */
function firstLine(message: string): string {
  const noValue = /^Option '(--[^' ]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(message);
  if (noValue) return `${noValue[1]} needs a value (one starting with a dash goes as ${noValue[1]}=-…)`;
  return (message.split('\n')[0] ?? message).replace(/\.?\s*To specify a positional argument.*$/, '');
}

export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options = { ...GLOBAL_OPTIONS, ...spec.options };
  const config = Object.fromEntries(
    Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) }]),
  );
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs({ args: [...argv], options: config, strict: true, allowPositionals: true }) as ParsedArgs;
  } catch (err) {
    throw usageError(firstLine(err instanceof Error ? err.message : String(err)), spec.name);
  }
  if (parsed.values.help) return parsed;
  const n = parsed.positionals.length;
  if (n < spec.positionals.min) throw usageError(`missing argument ${spec.args}`, spec.name);
  if (n > spec.positionals.max) throw usageError(`unexpected argument ${JSON.stringify(parsed.positionals[spec.positionals.max])}`, spec.name);
  return parsed;
}

export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function requiredOption(args: ParsedArgs, name: string, command: string): string {
  const v = stringOption(args, name);
  if (v === undefined || v === '') throw usageError(`missing --${name}`, command);
  return v;
}

export function listOption(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}${o.multiple ? ' …' : ''}`;
    return [flag, o.help];
  });
  const width = Math.max(...rows.map(([flag]) => (flag as string).length));
  return rows.map(([flag, help]) => `  ${(flag as string).padEnd(width)}  ${help}`);
}

export function commandHelp(spec: CommandSpec): string {
  const lines = [`usage: strata ${spec.name}${spec.args ? ` ${spec.args}` : ''} [options]`, '', spec.summary, ''];
  if (Object.keys(spec.options).length > 0) lines.push('options:', ...optionLines(spec.options), '');
  lines.push('global options:', ...optionLines(globalsOf(spec)));
  return lines.join('\n') + '\n';
}

export function mainHelp(specs: readonly CommandSpec[]): string {
  const width = Math.max(...specs.map((s) => s.name.length));
  return [
    'usage: strata <command> [options]',
    '',
    'commands:',
    ...specs.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    '',
    'global options (--store and --device for the commands whose help lists them):',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Exit codes: 0 success, 1 failure, 2 bad usage, 3 waiting for the user (sync --once held a mass delete),',
    '  4 done but some paths left out (restore, admin preload, admin layer publish: each named in the warnings),',
    '  5 refused because the agent runs but does not answer (login, logout, sync, agent: stopped or busy).',
    'STRATA_DEBUG=1 shows stack traces.',
  ].join('\n') + '\n';
}
