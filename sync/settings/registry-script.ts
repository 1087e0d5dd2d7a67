/**
 * The registry helper: Windows PowerShell (5.1, in every Windows 10 and 11) running SCRIPT, which
 * answers one request of registry-protocol.ts through .NET's Microsoft.Win32.Registry — exact types
 * and raw bytes, REG_EXPAND_SZ unexpanded —, a process per request. Only this file runs on
 * Windows alone: everything it says is checked by registry-protocol.ts.
 *
 * The script goes as -EncodedCommand (not a script file, which an execution policy may refuse) to
 * powershell.exe by its full path under %SystemRoot% (never one found on PATH). A write ends with
 * a flush of the hive (RegFlushKey): the mirror records the values as agreed once write returns,
 * and a value the hive lost at a power loss would be taken for a change made here.
 * The request is read from stdin's raw bytes as UTF-8 (OpenStandardInput), not [Console]::In, whose
 * reader decodes in the console's code page and can hang on a redirected pipe in Windows PowerShell
 * (PowerShell PR #2336).
 *
 * A REG_DWORD or REG_QWORD of another size (GetValue gives an Int64 or a byte[] for it) is "unknown":
 * not synced, and reported, rather than failing the read of every value under the key. Likewise a
 * key the user may not read (OpenSubKey throws SecurityException: an administrator's ACL) is
 * answered `denied`, and the walk goes on with its siblings.
 *
 * Not run here: no Windows in CI. Tested only through a fake that answers the protocol (testkit).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { StrataError } from '../errors.js';

/** How long one request may take: PowerShell starts in about half a second; a big subtree reads in a few. */
const TIMEOUT_MS = 120_000;
const MAX_OUTPUT = 256 * 1024 * 1024;

export const SCRIPT = String.raw`
$ErrorActionPreference = 'Stop'
$hkcu = [Microsoft.Win32.Registry]::CurrentUser
$keep = [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames
function B([byte[]]$b) { [Convert]::ToBase64String($b) }
function Enc([string]$s) { $c = $s.ToCharArray(); $b = New-Object byte[] ($c.Length * 2); [Buffer]::BlockCopy($c, 0, $b, 0, $b.Length); B $b }
function Dec([string]$t) { $b = [Convert]::FromBase64String($t); $c = New-Object char[] ($b.Length -shr 1); [Buffer]::BlockCopy($b, 0, $c, 0, $b.Length); [string]::new($c) }
function Q([string]$s) { '"' + (($s -replace '[\\"]', '\$0') -replace '[\x00-\x1f]', ' ') + '"' }
function Path($names) { (@($names) | ForEach-Object { Dec $_ }) -join '\' }
function Value($k, [string]$n) {
  $kind = $k.GetValueKind($n).ToString()
  $v = $k.GetValue($n, $null, $keep)
  $t = 'unknown'; $d = '""'
  switch ($kind) {
    'String' { $t = 'sz'; $d = Q (Enc $v) }
    'ExpandString' { $t = 'expand_sz'; $d = Q (Enc $v) }
    'MultiString' { $t = 'multi_sz'; $d = '[' + ((@($v) | ForEach-Object { Q (Enc $_) }) -join ',') + ']' }
    'DWord' { if ($v -is [int]) { $t = 'dword'; $d = Q (B ([BitConverter]::GetBytes([int]$v))) } }
    'QWord' { if ($v -is [long]) { $t = 'qword'; $d = Q (B ([BitConverter]::GetBytes([long]$v))) } }
    'Binary' { $t = 'binary'; if ($null -eq $v) { $v = New-Object byte[] 0 }; $d = Q (B $v) }
    'None' { $t = 'none'; if ($null -eq $v) { $v = New-Object byte[] 0 }; $d = Q (B $v) }
  }
  '{"name":' + (Q (Enc $n)) + ',"kind":"' + $t + '","data":' + $d + '}'
}
function Names($rel) { (@($rel) | ForEach-Object { Q (Enc $_) }) -join ',' }
function Denied($e) {
  for ($x = $e; $null -ne $x; $x = $x.InnerException) {
    if ($x -is [System.UnauthorizedAccessException] -or $x -is [System.Security.SecurityException]) { return $true }
  }
  $false
}
function OpenKey($k, [string]$name, $rel) {
  try { return $k.OpenSubKey($name, $false) } catch {
    if (-not (Denied $_.Exception)) { throw }
    $script:keys.Add('{"key":[' + (Names $rel) + '],"denied":true}')
    return $null
  }
}
function Walk($k, [string[]]$rel) {
  $values = @(foreach ($n in $k.GetValueNames()) { Value $k $n }) -join ','
  $script:keys.Add('{"key":[' + (Names $rel) + '],"values":[' + $values + ']}')
  foreach ($s in $k.GetSubKeyNames()) {
    $sub = OpenKey $k $s (@($rel) + $s)
    if ($null -eq $sub) { continue }
    try { Walk $sub (@($rel) + $s) } finally { $sub.Close() }
  }
}
function Change($c) {
  try {
    $path = Path $c.key
    $name = Dec $c.name
    if ($null -eq $c.kind) {
      $k = $hkcu.OpenSubKey($path, $true)
      if ($null -ne $k) { try { $k.DeleteValue($name, $false) } finally { $k.Close() } }
    } else {
      switch ($c.kind) {
        'sz' { $v = Dec $c.data; $kind = 'String' }
        'expand_sz' { $v = Dec $c.data; $kind = 'ExpandString' }
        'multi_sz' { $v = [string[]]@(@($c.data) | ForEach-Object { Dec $_ }); $kind = 'MultiString' }
        'dword' { $v = [BitConverter]::ToInt32([Convert]::FromBase64String($c.data), 0); $kind = 'DWord' }
        'qword' { $v = [BitConverter]::ToInt64([Convert]::FromBase64String($c.data), 0); $kind = 'QWord' }
        'binary' { $v = [Convert]::FromBase64String($c.data); $kind = 'Binary' }
        'none' { $v = [Convert]::FromBase64String($c.data); $kind = 'None' }
        default { throw ('unknown kind ' + $c.kind) }
      }
      $k = $hkcu.CreateSubKey($path)
      try { $k.SetValue($name, $v, [Microsoft.Win32.RegistryValueKind]$kind) } finally { $k.Close() }
    }
    '{"ok":true}'
  } catch {
    $e = $_.Exception; $denied = 'false'
    for ($x = $e; $null -ne $x; $x = $x.InnerException) {
      if ($x -is [System.UnauthorizedAccessException] -or $x -is [System.Security.SecurityException]) { $denied = 'true'; $e = $x }
    }
    '{"ok":false,"denied":' + $denied + ',"error":' + (Q $e.Message) + '}'
  }
}
try {
  $req = [System.IO.StreamReader]::new([Console]::OpenStandardInput(), [System.Text.UTF8Encoding]::new($false)).ReadToEnd() | ConvertFrom-Json
  if ($req.op -eq 'read') {
    $script:keys = New-Object System.Collections.Generic.List[string]
    $k = OpenKey $hkcu (Path $req.key) @()
    if ($null -ne $k) { try { Walk $k @() } finally { $k.Close() } }
    $json = '{"ok":true,"keys":[' + ($script:keys -join ',') + ']}'
  } elseif ($req.op -eq 'write') {
    $results = @(foreach ($c in @($req.changes)) { Change $c }) -join ','
    $hkcu.Flush()
    $json = '{"ok":true,"results":[' + $results + ']}'
  } else { throw ('unknown op ' + $req.op) }
} catch {
  $json = '{"ok":false,"error":' + (Q $_.Exception.Message) + '}'
}
$bytes = (New-Object System.Text.UTF8Encoding $false).GetBytes($json + "` + '`n' + String.raw`")
$out = [Console]::OpenStandardOutput()
$out.Write($bytes, 0, $bytes.Length)
$out.Flush()
`;

/** Windows PowerShell, by its full path. */
export function powershellPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows', 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe');
}

/** The arguments that run SCRIPT, reading its request on stdin. */
export function powershellArgs(): string[] {
  return ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', Buffer.from(SCRIPT, 'utf16le').toString('base64')];
}

/** Runs SCRIPT on `request`; its answer, as JSON (checked by the caller: registry-protocol.ts). */
export function runPowerShell(request: unknown, command = powershellPath()): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, powershellArgs(), { stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS, windowsHide: true });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_OUTPUT) child.kill();
      else out.push(d);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 64 * 1024) stderr += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(new StrataError('E_SETTINGS', `${command} could not run: ${err.message}; registry settings are not synced`));
    });
    child.stdin.on('error', () => undefined);
    child.on('close', (code, signal) => {
      if (size > MAX_OUTPUT) return reject(new StrataError('E_SETTINGS', `the registry helper printed more than ${MAX_OUTPUT} bytes`));
      const line = Buffer.concat(out).toString('utf8').trim().split(/\r?\n/).pop() ?? '';
      try {
        resolve(JSON.parse(line));
      } catch {
        const why = stderr.trim().split(/\r?\n/)[0] ?? '';
        reject(new StrataError('E_SETTINGS', `the registry helper gave no answer (${signal ? `stopped by ${signal}` : `exit code ${code}`}${why ? `: ${why}` : ''})`));
      }
    });
    child.stdin.end(JSON.stringify(request));
  });
}
