// Host-local IPAM (the shape of the CNI host-local plugin): one file per
// allocated address in a directory of the agent's state, named by the address
// and holding the owner (the pod uid). A file is created by link(2) from a
// fully written temporary file, so it appears atomically and only once: two
// allocators, even in two processes, can never hold the same address, and the
// allocations survive agent restarts. The network address, the gateway (the
// bridge's, the first address) and the broadcast address are never handed out.
import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatIp, parseCidr } from '../simulated/ipam.ts';

export class IpamExhaustedError extends Error {
  constructor(range: string) {
    super(`no IP addresses available in range set: ${range}`);
    this.name = 'IpamExhaustedError';
  }
}

export interface HostLocalIpamOptions {
  /** The node's pod CIDR, e.g. 10.42.0.0/24. */
  range: string;
  /** Directory holding one file per allocated address. */
  dir: string;
}

const LAST_RESERVED = 'last_reserved_ip';
const ADDRESS_FILE = /^\d+\.\d+\.\d+\.\d+$/;

export class HostLocalIpam {
  readonly range: string;
  readonly prefix: number;
  /** The bridge's address: the first address of the range. */
  readonly gateway: string;
  private readonly dir: string;
  private readonly first: number;
  private readonly last: number;
  /** Serialises this process's allocate/release so "owner already holds one?" and "take one" are one step. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: HostLocalIpamOptions) {
    const cidr = parseCidr(options.range);
    if (cidr.prefix > 30) throw new Error(`pod CIDR ${options.range} is too small: it needs a network, a gateway, a broadcast and at least one pod address (/30 or larger)`);
    const size = 2 ** (32 - cidr.prefix);
    this.range = `${formatIp(cidr.base)}/${cidr.prefix}`;
    this.prefix = cidr.prefix;
    this.gateway = formatIp(cidr.base + 1);
    this.first = cidr.base + 2;
    this.last = cidr.base + size - 2;
    this.dir = options.dir;
  }

  /** How many pod addresses the range has. */
  get capacity(): number {
    return this.last - this.first + 1;
  }

  /** The owner's address, allocating one if it holds none. Throws IpamExhaustedError when the range is full. */
  allocate(owner: string): Promise<string> {
    return this.serialised(async () => {
      const held = await this.allocations();
      for (const [ip, holder] of held) if (holder === owner) return ip;
      const start = await this.lastReserved();
      for (let step = 1; step <= this.capacity; step++) {
        const candidate = formatIp(this.first + ((start - this.first + step) % this.capacity));
        if (held.has(candidate)) continue;
        if (await this.claim(candidate, owner)) {
          await this.writeAtomically(LAST_RESERVED, candidate);
          return candidate;
        }
      }
      throw new IpamExhaustedError(this.range);
    });
  }

  /** The address the owner holds, if any. */
  async lookup(owner: string): Promise<string | undefined> {
    for (const [ip, holder] of await this.allocations()) if (holder === owner) return ip;
    return undefined;
  }

  /** Frees every address the owner holds; true when there was one. */
  release(owner: string): Promise<boolean> {
    return this.serialised(async () => {
      let released = false;
      for (const [ip, holder] of await this.allocations()) {
        if (holder !== owner) continue;
        await unlink(join(this.dir, ip)).catch(ignoreMissing);
        released = true;
      }
      return released;
    });
  }

  /** Address → owner for every allocation on disk. */
  async allocations(): Promise<Map<string, string>> {
    const names = await readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    const result = new Map<string, string>();
    for (const name of names.filter((n) => ADDRESS_FILE.test(n))) {
      const owner = await readFile(join(this.dir, name), 'utf8').catch(ignoreMissing);
      if (owner !== undefined) result.set(name, owner.trim());
    }
    return result;
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Round-robin start: after the last address handed out (host-local does the same), so a freed address is not reused at once. */
  private async lastReserved(): Promise<number> {
    const text = await readFile(join(this.dir, LAST_RESERVED), 'utf8').catch(ignoreMissing);
    if (text === undefined) return this.first - 1;
    try {
      const value = parseCidr(`${text.trim()}/32`).base;
      return value >= this.first && value <= this.last ? value : this.first - 1;
    } catch {
      return this.first - 1;
    }
  }

  /** Creates the address's file with the owner in it; false when another allocator got there first. */
  private async claim(ip: string, owner: string): Promise<boolean> {
    await mkdir(this.dir, { recursive: true });
    const temporary = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    await writeFile(temporary, `${owner}\n`, { mode: 0o644 });
    try {
      await link(temporary, join(this.dir, ip));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await unlink(temporary).catch(ignoreMissing);
    }
  }

  private async writeAtomically(name: string, content: string): Promise<void> {
    const temporary = join(this.dir, `.tmp-${randomBytes(6).toString('hex')}`);
    await writeFile(temporary, `${content}\n`);
    await rename(temporary, join(this.dir, name));
  }
}

function ignoreMissing(error: NodeJS.ErrnoException): undefined {
  if (error.code === 'ENOENT') return undefined;
  throw error;
}
