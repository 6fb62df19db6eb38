/** `fleet`: the command-line entry point (run with `node --import tsx` or through bin/fleet.js). */
import { runCli } from './cli.ts';

process.exitCode = await runCli(process.argv.slice(2));
