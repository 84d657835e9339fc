// Running `nft`: argv arrays only (no shell), the ruleset on stdin. Injectable,
// so tests render and "apply" without a kernel, and the benchmark runs every
// nft inside its own network namespace.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface NftResult {
  stdout: string;
  stderr: string;
}

/** Runs nft with `argv` (after the binary) and `stdin`; rejects with NftError on a non-zero exit. */
export type NftRunner = (argv: string[], stdin?: string) => Promise<NftResult>;

export class NftError extends Error {
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(options: { argv: string[]; exitCode: number | null; stderr: string }) {
    super(`nft ${options.argv.join(' ')} failed (${options.exitCode ?? 'killed'}): ${options.stderr.trim().split('\n').slice(0, 6).join(' | ')}`);
    this.exitCode = options.exitCode;
    this.stderr = options.stderr;
  }
}

const NFT_BINARY = existsSync('/usr/sbin/nft') ? '/usr/sbin/nft' : 'nft';

/** A runner for a command line prefix, e.g. `['nsenter', '--net=/run/netns/x', '--', 'nft']`. */
export function commandNftRunner(prefix: string[] = [NFT_BINARY]): NftRunner {
  return (argv, stdin) => new Promise((resolve, reject) => {
    const child = spawn(prefix[0], [...prefix.slice(1), ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve({ stdout, stderr });
      else reject(new NftError({ argv, exitCode: code, stderr }));
    });
    child.stdin.on('error', () => undefined); // nft may exit (with an error) before reading all of stdin
    child.stdin.end(stdin ?? '');
  });
}

export const defaultNftRunner: NftRunner = commandNftRunner();
