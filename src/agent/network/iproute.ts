// A thin runner for iproute2's `ip`: argv arrays only (names that come from
// pods never pass through a shell), JSON output for everything we read, and
// one error type that keeps the command and its stderr for the pod's events.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class CommandError extends Error {
  readonly argv: string[];
  readonly stderr: string;
  readonly exitCode: number | null;

  constructor(options: { argv: string[]; stderr: string; exitCode: number | null }) {
    super(`${options.argv.join(' ')} failed (exit ${options.exitCode}): ${options.stderr.trim()}`);
    this.name = 'CommandError';
    this.argv = options.argv;
    this.stderr = options.stderr;
    this.exitCode = options.exitCode;
  }
}

/** Runs a program (argv[0]) and resolves with its stdout; rejects with CommandError. */
export type CommandRunner = (argv: string[]) => Promise<string>;

export const runCommand: CommandRunner = (argv) =>
  new Promise((resolve, reject) => {
    execFile(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 30_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout);
      const exitCode = typeof error.code === 'number' ? error.code : null;
      reject(new CommandError({ argv, stderr: stderr || error.message, exitCode }));
    });
  });

/** What `ip -json link show` / `ip -json addr show` print (the fields we use). */
export interface IpLink {
  ifname: string;
  ifindex: number;
  flags?: string[];
  operstate?: string;
  master?: string;
  link_type?: string;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_slave_data?: { hairpin?: boolean } };
  addr_info?: { family: string; local: string; prefixlen: number }[];
}

export interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
}

/** Errors of `ip` that mean "that thing is not there". */
export function isNotFound(error: unknown): boolean {
  return error instanceof CommandError
    && /does not exist|Cannot find device|No such file or directory|Invalid "netns" value|Cannot open network namespace/.test(error.stderr);
}

export function isAlreadyExists(error: unknown): boolean {
  return error instanceof CommandError && /File exists|already exists/.test(error.stderr);
}

/** `ip` bound to one network namespace (undefined: the agent's own). */
export class IpRoute2 {
  private readonly run: CommandRunner;
  private readonly netns: string | undefined;

  constructor(options: { run?: CommandRunner; netns?: string } = {}) {
    this.run = options.run ?? runCommand;
    this.netns = options.netns;
  }

  /** The same runner inside the named netns (`ip -n NAME …`). */
  inNetns(netns: string): IpRoute2 {
    return new IpRoute2({ run: this.run, netns });
  }

  exec(args: string[]): Promise<string> {
    return this.run(['ip', ...(this.netns ? ['-n', this.netns] : []), ...args]);
  }

  /**
   * Several commands in one `ip -batch FILE` process (one program launch
   * instead of one per command). Stops at the first failing command, whose
   * error (and `Command failed FILE:N`) is in the CommandError's stderr; the
   * commands before it stay applied, so callers use only idempotent commands
   * or fall back to a step-by-step path. The file (not stdin) keeps any
   * injected runner usable; it is written in scratchDir and removed after.
   */
  async batch(commands: string[][], options: { scratchDir: string }): Promise<void> {
    for (const word of commands.flat()) {
      // The batch file is split on blanks and understands quotes and comments: only plain words go in.
      if (!/^[A-Za-z0-9_.:/@-]+$/.test(word)) throw new Error(`ip batch word ${JSON.stringify(word)} is not a plain word`);
    }
    const file = join(options.scratchDir, `.ip-batch-${randomBytes(6).toString('hex')}`);
    await writeFile(file, commands.map((command) => command.join(' ')).join('\n') + '\n');
    try {
      await this.run(['ip', ...(this.netns ? ['-n', this.netns] : []), '-batch', file]);
    } finally {
      await unlink(file).catch(() => undefined);
    }
  }

  async json<T>(args: string[]): Promise<T> {
    const text = await this.run(['ip', '-json', ...(this.netns ? ['-n', this.netns] : []), ...args]);
    return (text.trim() ? JSON.parse(text) : []) as T;
  }

  /** One link with details (`-d`), or undefined when it does not exist. */
  async link(name: string): Promise<IpLink | undefined> {
    try {
      const links = await this.json<IpLink[]>(['-d', 'addr', 'show', 'dev', name]);
      return links[0];
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async links(): Promise<IpLink[]> {
    return this.json<IpLink[]>(['-d', 'link', 'show']);
  }

  async routes(): Promise<IpRoute[]> {
    return this.json<IpRoute[]>(['route', 'show']);
  }

  /** Names from `ip netns list` (namespaces bind-mounted under /run/netns). */
  async netnsNames(): Promise<string[]> {
    const list = await this.run(['ip', '-json', 'netns', 'list']);
    return (list.trim() ? (JSON.parse(list) as { name: string }[]) : []).map((entry) => entry.name);
  }

  /** Deletes a link; a missing one is fine. */
  async deleteLink(name: string): Promise<void> {
    try {
      await this.exec(['link', 'del', 'dev', name]);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Deletes a named netns; a missing one is fine. */
  async deleteNetns(name: string): Promise<void> {
    try {
      await this.run(['ip', 'netns', 'del', name]);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
