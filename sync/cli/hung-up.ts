/**
 * A terminal that hangs up must not turn the command's exit into a crash. Node 20 puts back, as the
 * process exits, the terminal mode it found at start, and aborts where that fails (exit 134 and a
 * native stack trace in place of the command's exit code and error line): on a terminal that has
 * hung up it fails with EIO (nodejs/node#58200, fixed in later Node). It leaves alone a descriptor
 * that is closed by then, so each stdio descriptor that was a terminal at start and is one no more
 * (a hung-up terminal answers no terminal call) is closed as the process exits.
 *
 * bin/strata.js, which cannot import this, does the same for the launcher.
 */
import { closeSync } from 'node:fs';
import { isatty } from 'node:tty';

export function closeHungUpTerminalsAtExit(): void {
  const terminals = [0, 1, 2].filter((fd) => isatty(fd));
  process.once('exit', () => {
    for (const fd of terminals) {
      if (isatty(fd)) continue;
      try {
        closeSync(fd);
      } catch {
        // Closed already: nothing for Node to put back.
      }
    }
  });
}
