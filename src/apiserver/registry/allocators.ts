// Service ClusterIP and NodePort allocation: no address or port is handed out
// twice; both are released when the Service goes away. State lives in memory
// and is rebuilt from the stored Services at start-up.
import { errors } from '../errors.ts';

/** An IPv4 CIDR as first address (integer) and size. */
function parseCidr(cidr: string): { base: number; size: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
  const prefix = Number(m[5]);
  if (prefix < 8 || prefix > 30) throw new Error(`service CIDR prefix /${prefix} must be between /8 and /30`);
  const ip = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  const size = 2 ** (32 - prefix);
  return { base: (ip & ~(size - 1)) >>> 0, size };
}

const ipToString = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
const ipToNumber = (ip: string) => ip.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0);

export class ClusterIpAllocator {
  private readonly base: number;
  private readonly size: number;
  private readonly used = new Set<number>();
  private next = 0;

  constructor(cidr: string) {
    ({ base: this.base, size: this.size } = parseCidr(cidr));
  }

  /** The n-th usable address of the range (1 = the `kubernetes` Service, 10 = DNS). */
  addressAt(offset: number): string {
    return ipToString(this.base + offset);
  }

  contains(ip: string): boolean {
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
    const n = ipToNumber(ip);
    return n > this.base && n < this.base + this.size - 1;
  }

  /** Reserve a specific address (requested by the user, or found at start-up). */
  reserve(ip: string, fieldPath = 'spec.clusterIPs'): void {
    if (!this.contains(ip)) {
      throw errors.invalid({ kind: 'Service', group: '', name: '', causes: [{ reason: 'FieldValueInvalid', field: fieldPath, message: `Invalid value: []string{"${ip}"}: failed to allocate IP ${ip}: the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${ipToString(this.base)}/${32 - Math.log2(this.size)}` }] });
    }
    const n = ipToNumber(ip);
    if (this.used.has(n)) {
      throw errors.invalid({ kind: 'Service', group: '', name: '', causes: [{ reason: 'FieldValueInvalid', field: fieldPath, message: `Invalid value: []string{"${ip}"}: failed to allocate IP ${ip}: provided IP is already allocated` }] });
    }
    this.used.add(n);
  }

  /** Reserve without complaint (start-up rebuild). */
  markUsed(ip: string): void {
    if (this.contains(ip)) this.used.add(ipToNumber(ip));
  }

  allocate(): string {
    const usable = this.size - 2;
    for (let i = 0; i < usable; i++) {
      // Skip the low addresses reserved for well-known services (1 = kubernetes, 10 = DNS).
      const offset = ((this.next + i) % usable) + 1;
      if (offset <= 10) continue;
      const n = this.base + offset;
      if (!this.used.has(n)) {
        this.used.add(n);
        this.next = offset;
        return ipToString(n);
      }
    }
    throw errors.internal('failed to allocate a serviceIP: range is full');
  }

  release(ip: string): void {
    if (this.contains(ip)) this.used.delete(ipToNumber(ip));
  }
}

export class NodePortAllocator {
  readonly min: number;
  readonly max: number;
  private readonly used = new Set<number>();
  private next: number;

  constructor(range = '30000-32767') {
    const m = /^(\d+)-(\d+)$/.exec(range);
    if (!m || Number(m[1]) > Number(m[2])) throw new Error(`invalid node port range ${range}`);
    this.min = Number(m[1]);
    this.max = Number(m[2]);
    this.next = this.min + Math.floor(Math.random() * (this.max - this.min + 1));
  }

  reserve(port: number, fieldPath: string): void {
    const bad = (why: string) => errors.invalid({ kind: 'Service', group: '', name: '', causes: [{ reason: 'FieldValueInvalid', field: fieldPath, message: `Invalid value: ${port}: ${why}` }] });
    if (port < this.min || port > this.max) throw bad(`provided port is not in the valid range. The range of valid ports is ${this.min}-${this.max}`);
    if (this.used.has(port)) throw bad('provided port is already allocated');
    this.used.add(port);
  }

  markUsed(port: number): void {
    this.used.add(port);
  }

  allocate(): number {
    const span = this.max - this.min + 1;
    for (let i = 0; i < span; i++) {
      const port = this.min + ((this.next - this.min + i) % span);
      if (!this.used.has(port)) {
        this.used.add(port);
        this.next = port + 1;
        return port;
      }
    }
    throw errors.internal('failed to allocate a nodePort: range is full');
  }

  release(port: number): void {
    this.used.delete(port);
  }
}
