// The throwaway keychain scripts/test.mjs runs the tests with (Linux): a D-Bus session of its own
// configuration whose only activatable service is the Secret Service, started by keyring.sh:
// gnome-keyring-daemon on the run's own keyring, unlocked with the run's password. Activation is
// the supervisor, as on a desktop: when the daemon dies (gnome-keyring aborts on a client that
// disconnects in the middle of opening a session, a known upstream bug), the next call starts it
// again on the same keyring, instead of the stock service on the tester's own, or nothing.
//
// Everything lives in one temporary folder: keyring.starts lists each daemon's pid as it starts;
// keyring.log takes the daemons' output and, as each one ends, how (its exit code or the signal
// that killed it: a daemon killed by a signal says nothing itself); keyring.kills lists the pids
// stopped on purpose (by tests that kill the daemon, through credentials/testing.ts, and by the
// session at its end), which are no death to report. The session tells the tests the folder in
// STRATA_TEST_KEYRING_DIR.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Makes the keyring folder's files in `dir` (an empty folder): the bus configuration, the service, the password. */
export function writeKeyringSession(dir) {
  mkdirSync(join(dir, 'home'), { mode: 0o700 });
  mkdirSync(join(dir, 'run'), { mode: 0o700 });
  mkdirSync(join(dir, 'services'));
  writeFileSync(join(dir, 'password'), 'strata-test-keyring', { mode: 0o600 });
  // Not exec'd: the shell stays to write down how the daemon ended. The daemon's pid ($!) is the
  // one that owns the service's name on the bus.
  writeFileSync(
    join(dir, 'keyring.sh'),
    `#!/bin/sh
dir=$(dirname "$0")
HOME="$dir/home" XDG_DATA_HOME="$dir/home/data" XDG_CACHE_HOME="$dir/home/cache" XDG_RUNTIME_DIR="$dir/run" \\
  gnome-keyring-daemon --foreground --unlock --components=secrets <"$dir/password" >>"$dir/keyring.log" 2>&1 &
daemon=$!
echo "$daemon" >>"$dir/keyring.starts"
wait "$daemon"; status=$?
if [ "$status" -gt 128 ]; then how="killed by SIG$(kill -l "$((status - 128))")"; else how="exit code $status"; fi
echo "gnome-keyring-daemon $daemon ended at $(date +%T): $how" >>"$dir/keyring.log"
`,
  );
  writeFileSync(join(dir, 'services', 'org.freedesktop.secrets.service'), `[D-BUS Service]\nName=org.freedesktop.secrets\nExec=/bin/sh ${join(dir, 'keyring.sh')}\n`);
  writeFileSync(
    join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:tmpdir=${dir}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>${join(dir, 'services')}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
}

// Inside dbus-run-session: start the Secret Service (StartServiceByName returns once it owns its
// name), run the command, stop whichever daemon is the last one started. $1 is the keyring folder.
const KEYRING_SESSION = `
dir=$1; shift
export STRATA_TEST_KEYRING_DIR="$dir"
if ! dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \\
  org.freedesktop.DBus.StartServiceByName string:org.freedesktop.secrets uint32:0 >/dev/null; then
  echo "test: gnome-keyring-daemon did not start:" >&2; cat "$dir/keyring.log" >&2; exit 1
fi
"$@"; status=$?
last=$(tail -n 1 "$dir/keyring.starts")
kill "$last" 2>/dev/null && echo "$last" >>"$dir/keyring.kills"
exit $status
`;

/** `command` run in the keyring session of `dir` (made by writeKeyringSession). */
export function keyringSessionCommand(dir, command) {
  return ['dbus-run-session', `--config-file=${join(dir, 'bus.conf')}`, '--', 'sh', '-c', KEYRING_SESSION, 'keyring-session', dir, ...command];
}

/**
 * What to say about the keyring after a run: the daemons that died without being stopped on
 * purpose (D-Bus started each again), and the log, with how each daemon ended, when there were
 * any or the run failed: keychain failures (E_NO_KEYCHAIN) are otherwise hard to explain.
 */
export function keyringReport(dir, failed) {
  const read = (name) => {
    try {
      return readFileSync(join(dir, name), 'utf8').trim();
    } catch {
      return '';
    }
  };
  const pids = (name) => read(name).split('\n').filter(Boolean);
  const stopped = new Set(pids('keyring.kills'));
  const died = pids('keyring.starts').filter((pid) => !stopped.has(pid));
  const lines = [];
  if (died.length > 0) lines.push(`test: gnome-keyring-daemon died ${died.length} time(s) during the run without a test stopping it (pid ${died.join(', ')}); D-Bus starts it again at the next call`);
  const log = read('keyring.log');
  if ((failed || died.length > 0) && log !== '') lines.push(`test: gnome-keyring-daemon's log (last 40 lines):\n${log.split('\n').slice(-40).join('\n')}`);
  return lines;
}
