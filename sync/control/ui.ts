/**
 * The UI on loopback (DESIGN §5): where no desktop shell runs, the agent serves the same UI as the
 * tray's window, the way Syncthing serves its web GUI. The page and its scripts are public — they
 * hold no secret — so they are served without the token; the token travels in the URL's fragment
 * (`/#token=…`, which a browser never sends), and the page sends it with every API call.
 *
 *   GET /                                   the page: a shell the renderer fills (the agent's UI, or
 *                                           the sign-in screen where signin-server.ts serves it)
 *   GET /ui/renderer/<name>.js, /ui/shared/<name>.js   the renderer's compiled modules
 *   GET /favicon.ico                        nothing (204): browsers ask for it unbidden
 *
 * What must hold: only those files are served (names checked against a strict pattern, never a
 * path from the request); a strict Content-Security-Policy (scripts, styles and connections from
 * this origin only; no inline script or style, no frames): the one policy of the app's pages, the
 * desktop app's windows included, which load them from here (e2e/csp.test.ts has Chromium enforce
 * it); no caching. A build without the renderer answers 404 with a clear message, never a crash.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page, loading `entry`: the agent's UI (index) or the desktop app's sign-in screen (signin). */
const page = (entry: UiEntry): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Strata</title>
<script type="module" src="/ui/renderer/${entry}.js"></script>
</head>
<body>
<main id="app">Loading…</main>
</body>
</html>
`;

/** A compiled module of the renderer or of shared/: one folder, a plain name. */
const ASSET = /^\/ui\/(renderer|shared)\/([a-z][a-z0-9-]*)\.js$/;

/**
 * Where the compiled renderer lives: dist/, seen from this module's own build (dist/sync/control/),
 * from the bundled CLI (dist/bundle/), or from the sources.
 */
function findDist(): string | undefined {
  for (const rel of ['../../', '../', '../../dist/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}renderer/index.js`) && existsSync(`${dir}shared/agent-api.js`)) return dir;
  }
  return undefined;
}

let dist: string | undefined | null = null;

function headers(type: string): Record<string, string> {
  return {
    'content-type': type,
    'cache-control': 'no-store',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

export type UiEntry = 'index' | 'signin';

/** True if `path` is the UI's (and it was answered); false for anything else. `/` is the page that loads `entry`. */
export function serveUi(method: string | undefined, path: string, res: ServerResponse, entry: UiEntry = 'index'): boolean {
  if (path === '/favicon.ico') {
    res.writeHead(204, headers('image/x-icon'));
    res.end();
    return true;
  }
  const asset = ASSET.exec(path);
  if (path !== '/' && !asset) return false;
  if (method !== 'GET' && method !== 'HEAD') {
    res.writeHead(405, { ...headers('application/json; charset=utf-8'), allow: 'GET, HEAD' });
    res.end(`${JSON.stringify({ error: { code: 'E_CONTROL_METHOD', message: 'use GET for the UI' } })}\n`);
    return true;
  }
  if (!asset) {
    res.writeHead(200, headers('text/html; charset=utf-8'));
    res.end(method === 'HEAD' ? undefined : page(entry));
    return true;
  }
  if (dist === null) dist = findDist();
  let body: Buffer | undefined;
  try {
    body = dist === undefined ? undefined : readFileSync(`${dist}${asset[1]}/${asset[2]}.js`);
  } catch {
    body = undefined;
  }
  if (body === undefined) {
    res.writeHead(404, headers('text/plain; charset=utf-8'));
    res.end(dist === undefined ? 'the UI is not built (npm run build)\n' : 'no such file\n');
    return true;
  }
  res.writeHead(200, headers('text/javascript; charset=utf-8'));
  res.end(method === 'HEAD' ? undefined : body);
  return true;
}
