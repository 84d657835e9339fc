// The `skiff` command line: subcommands are registered here, each in its own file.
import { Command } from 'commander';
import { agentCommand } from './agent.ts';
import { cleanupCommand } from './cleanup.ts';
import { imagesCommand } from './images.ts';
import { serverCommand } from './server.ts';

const program = new Command('skiff')
  .description('A Kubernetes-compatible container orchestrator')
  .showHelpAfterError();
program.addCommand(serverCommand());
program.addCommand(agentCommand());
program.addCommand(imagesCommand());
program.addCommand(cleanupCommand());

await program.parseAsync(process.argv);
