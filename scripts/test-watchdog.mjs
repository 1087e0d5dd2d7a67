// Preloaded (--import) by scripts/test.mjs into the process of each test file. A file still running
// STRATA_TEST_FILE_MS after it started is ended here, with a line that names it and what was still
// open: a test that never ends, or something a test left running (a server, an agent, a child
// process) that keeps the process alive after its tests — which Node's runner waits on for good.
// The timer is unref'd: it never keeps a file that is done alive. It cannot fire while the event
// loop is blocked (a synchronous endless loop).
import { relative } from 'node:path';

const file = process.argv[1];
const ms = Number(process.env.STRATA_TEST_FILE_MS);
if (file?.endsWith('.test.ts') && ms > 0) {
  setTimeout(() => {
    // What keeps the process alive; this timer, unref'd, is not listed.
    const open = process.getActiveResourcesInfo();
    process.stderr.write(
      `test: ${relative(process.cwd(), file)} was still running after ${ms / 60_000} min and is stopped: a test that never ends, or something it started that keeps the process alive (open: ${open.join(', ') || 'nothing'})\n`,
    );
    process.exit(1);
  }, ms).unref();
}
