// The `skiff` command line: subcommands are registered here, each in its own file.
import { Command } from 'commander';
import { serverCommand } from './server.ts';

const program = new Command('skiff')
  .description('A Kubernetes-compatible container orchestrator')
  .showHelpAfterError();
program.addCommand(serverCommand());

await program.parseAsync(process.argv);
