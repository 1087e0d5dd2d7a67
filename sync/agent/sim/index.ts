/**
 * The seeded randomized simulation of live sync: many small worlds of 2–3 devices sharing one
 * store, driven by random user steps, passes, store faults and crashes, then healed, converged
 * and checked. sim.test.ts states the checks and the rule for which versions must survive.
 *
 *   world.ts     one seed's world: store, devices, fake clock, Rng, ledger, trace
 *   device.ts    a simulated machine running the real SyncFolder; crash = reopen, like a restart
 *   tripwire.ts  the store one agent process sees: crash or let the user act at the n-th request
 *   disk.ts      what users do to a folder, recorded in the ledger (ledger.ts)
 *   steps.ts     the random steps; check.ts: settle and the final checks; run.ts: one seed
 *   worker.ts, pool.ts, report.ts   seeds in child processes, and what they report
 *   broken-*.ts  a merge that drops conflict copies, for the self-test
 *
 * Must hold for the simulation to mean anything:
 * - a seed replays exactly: every decision and every fault draws from the seed, times come from
 *   the fake clock, user steps are synchronous file operations;
 * - the checks raise no false alarm: a version is only excused when a user step destroyed it on
 *   a disk that held it (disk.ts reads the disk before each destructive step);
 * - the agent's code is used as it is: the simulation injects only through FolderOptions (clock,
 *   chunker) and the store, never by editing or mocking the agent (the self-test swaps merge.ts
 *   in a child process through module hooks).
 */
export { runSeed, simBase, type SeedOptions } from './run.js';
export { runSeeds, type PoolOptions } from './pool.js';
export type { FailureKind, Flag, SeedReport, SeedStats } from './report.js';
