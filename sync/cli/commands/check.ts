/**
 * `strata check [--read-data]`: verifies the repository and the users' profiles, and prints every
 * problem found, one per line (`E_CODE key: message`), on stdout. Any problem makes the command
 * fail; warnings (leftovers of interrupted writers, layers assigned before they were published,
 * keys that belong to nothing) are shown on stderr and do not.
 */
import { StrataError } from '../../errors.js';
import { checkProfiles, strayKeys } from '../../profile/check.js';
import { check, type CheckProblem } from '../../repo/index.js';
import type { Command } from './command.js';

function line(p: CheckProblem): string {
  return `${p.code} ${p.key}: ${p.message}`;
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'verify the repository: structure, and with --read-data every byte of every pack',
  args: '',
  positionals: { min: 0, max: 0 },
  globals: ['store'],
  options: { 'read-data': { type: 'boolean', help: 'download every pack and verify every blob against its id' } },
  async run(ctx) {
    const readData = ctx.args.values['read-data'] === true;
    const repo = await ctx.openRepository({ loadIndex: false });
    const bar = ctx.progress('check');
    const report = await check(repo, {
      readData,
      onProgress: (p) => bar?.update({ phase: p.phase, files: p.done, totalFiles: p.total, unit: p.phase }),
    });
    const users = await checkProfiles(repo.store);
    const stray = await strayKeys(repo.store);
    bar?.done();
    const problems = [...report.problems, ...users.problems];
    const warnings = [...report.warnings, ...users.warnings, ...stray];
    const counts = { ...report.counts, profiles: users.profiles };
    if (ctx.json) {
      ctx.printJson({ ok: problems.length === 0, readData, counts, problems, warnings });
    } else {
      for (const w of warnings) ctx.warn(line(w));
      ctx.print(...problems.map(line));
      ctx.print(
        `checked ${counts.packs} packs, ${counts.indexes} indexes, ${counts.snapshots} snapshots, ${counts.heads} heads, ${counts.trees} trees, ${counts.profiles} profiles` +
          `${readData ? ' (data read)' : ''}: ${problems.length === 0 ? 'no problems' : `${problems.length} problem${problems.length === 1 ? '' : 's'}`}`,
      );
    }
    if (problems.length > 0) {
      throw new StrataError('E_CHECK_FAILED', `${problems.length} problem${problems.length === 1 ? '' : 's'} found in ${repo.store.location}`);
    }
  },
};
