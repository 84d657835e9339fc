// The pod-template-hash: a short, stable name for a pod template, used in
// ReplicaSet names ("web-7d4b9c6f5") and in the pod-template-hash label so a
// Deployment's ReplicaSets never select each other's pods.
//
// Same shape as upstream's: a 32-bit FNV-1a hash of the template (plus the
// Deployment's collisionCount, so a collision can be escaped by bumping
// it), written in decimal and each digit mapped onto a consonant/digit
// alphabet without vowels (no accidental words) — up to 10 characters.
// The bytes hashed are this project's own canonical JSON (upstream hashes a
// Go dump), so the values differ from upstream's; only stability matters.

/** Upstream's "safe" alphabet: no vowels, no look-alikes (0/o, 1/l, 3/e). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Every character mapped onto the safe alphabet, as upstream's rand.SafeEncodeString. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value as object)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

function fnv1a32(bytes: Uint8Array, hash = 0x811c9dc5): number {
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The pod-template-hash of a template, optionally salted with a collision count. */
export function computeTemplateHash(template: unknown, collisionCount?: number): string {
  let hash = fnv1a32(new TextEncoder().encode(canonicalJson(template)));
  if (collisionCount !== undefined && collisionCount !== null) {
    // Eight bytes, the count little-endian in the first four, as upstream writes it.
    const salt = new Uint8Array(8);
    new DataView(salt.buffer).setUint32(0, collisionCount >>> 0, true);
    hash = fnv1a32(salt, hash);
  }
  return safeEncodeString(String(hash));
}

/**
 * Fields where a zero is not the same as leaving the field out (Go pointer
 * fields whose nil means "the default", and the default is not the zero):
 * runAsUser: 0 is root, absent is the image's user, and so on.
 */
const MEANINGFUL_ZEROS = new Set([
  'runAsUser', 'runAsGroup', 'fsGroup', 'allowPrivilegeEscalation', 'automountServiceAccountToken', 'hostUsers',
  'replicas', 'priority',
]);

/**
 * Drops what Go's semantic equality on API structs does not tell apart from
 * "absent": null, empty lists and maps, and — for the non-pointer fields Go
 * structs have — "", 0 and false. Clients disagree on writing those: a
 * protobuf body from kubectl carries `generation: 0` and `stdin: false` in a
 * pod template, the same template sent as JSON (say by `kubectl rollout
 * undo`) leaves them out, and both must count as the same template.
 */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const n = normalize(v);
    if (n === null || n === undefined) continue;
    if ((n === '' || n === 0 || n === false) && !MEANINGFUL_ZEROS.has(k)) continue;
    if (Array.isArray(n) && n.length === 0) continue;
    if (typeof n === 'object' && !Array.isArray(n) && Object.keys(n as object).length === 0) continue;
    out[k] = n;
  }
  return out;
}

/** Deep equality as upstream's Semantic.DeepEqual sees API structs (see normalize). */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(normalize(a)) === canonicalJson(normalize(b));
}
