/**
 * `strata ui`: the address of the running agent's UI (DESIGN §5: the agent serves it on loopback,
 * as Syncthing serves its web GUI), with the control token in the fragment, which a browser keeps
 * to itself. Whoever has the address can drive the agent as this user: it comes from control.json,
 * which only this user can read, and the command first checks that the agent answers.
 */
import { connectAgent } from './status.js';
import { STATE_DIR_OPTION, type Command } from './command.js';

export const uiCommand: Command = {
  name: 'ui',
  summary: "print the address of the running agent's UI, to open in a browser",
  args: '',
  positionals: { min: 0, max: 0 },
  options: { 'state-dir': STATE_DIR_OPTION },
  async run(ctx) {
    const client = await connectAgent(ctx);
    // The agent must answer: an address left behind by a dead one would open a page that never loads.
    await client.call('status', {});
    const url = `${client.info.url}/#token=${encodeURIComponent(client.info.token)}`;
    if (ctx.json) ctx.printJson({ url });
    else ctx.print(url);
  },
};
