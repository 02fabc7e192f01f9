/** The `herald` command (cli/commands.ts): runs the command its arguments name and exits with its status. */
import { exitOnFailure, main } from './commands.js';

main(process.argv.slice(2)).then((code) => process.exit(code), exitOnFailure);
