// Builds small ustar archives byte by byte for tests, including entries a
// well-behaved archiver would never write (paths with `..`, whiteouts,
// device nodes), so the unpacker's checks can be exercised.

export interface TarEntry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'fifo';
  content?: string | Buffer;
  linkpath?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
}

const TYPEFLAG = { file: '0', link: '1', symlink: '2', char: '3', dir: '5', fifo: '6' } as const;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(entry: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const type = entry.type ?? 'file';
  if (Buffer.byteLength(entry.path) > 100) throw new Error(`test tar: path too long: ${entry.path}`);
  h.write(entry.path, 0, 100, 'utf8');
  h.write(octal(entry.mode ?? (type === 'dir' ? 0o755 : 0o644), 8), 100);
  h.write(octal(entry.uid ?? 0, 8), 108);
  h.write(octal(entry.gid ?? 0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(1_700_000_000, 12), 136);
  h.write('        ', 148);
  h.write(TYPEFLAG[type], 156);
  h.write(entry.linkpath ?? '', 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(octal(entry.devmajor ?? 0, 8), 329);
  h.write(octal(entry.devminor ?? 0, 8), 337);
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

export function buildTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const body = (entry.type ?? 'file') === 'file' ? Buffer.from(entry.content ?? '') : Buffer.alloc(0);
    parts.push(header(entry, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
