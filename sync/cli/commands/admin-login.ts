/**
 * `strata admin login --org <file|url>`: keeps the org admin's access key and secret in the OS
 * keychain, apart from every user's (DESIGN §6), after proving them against the bucket. Admin
 * commands given the same --org then use them (admin-common.ts).
 */
import { adminSignIn } from '../../signin/index.js';
import type { AdminSub } from './admin-common.js';
import { requiredString } from './admin-common.js';
import { askSecrets } from './login.js';

export const adminLoginSub: AdminSub = {
  name: 'login',
  args: '',
  positionals: 0,
  usage: 'login --org <file|url> [--secrets-stdin]',
  options: ['org', 'secrets-stdin'],
  summary: "keep the admin's credentials in the OS keychain for admin commands run with --org",
  async run(ctx) {
    const org = requiredString(ctx, 'org', 'login');
    const r = await adminSignIn({ org, credentials: () => askSecrets(ctx) });
    if (ctx.json) ctx.printJson({ org: r.org.org, store: r.location });
    else ctx.print(`admin credentials for ${r.org.org} (${r.location}) are in the keychain; use --org with admin commands`);
  },
};
