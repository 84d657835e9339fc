// Image references parsed the way Docker (distribution/reference) normalises
// them: `busybox` is `docker.io/library/busybox:latest`, a first component
// with a dot, a colon or named `localhost` is a registry host, tags default to
// `latest` unless a digest pins the image.

export const DEFAULT_DOMAIN = 'docker.io';
/** Where `docker.io` is actually served. */
export const DEFAULT_REGISTRY_ENDPOINT = 'https://registry-1.docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';

export interface ImageReference {
  /** Registry host, with port when given: `docker.io`, `127.0.0.1:5000`. */
  domain: string;
  /** Repository path inside the registry: `library/busybox`. */
  path: string;
  tag?: string;
  digest?: string;
}

/** Thrown for strings that are no image reference; kubelet reports `InvalidImageName`. */
export class InvalidReferenceError extends Error {
  override name = 'InvalidReferenceError';
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const DOMAIN = /^(?:\[[0-9a-fA-F:.]+\]|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)(?::[0-9]+)?$/;
const NAME_TOTAL_LENGTH_MAX = 255;

/** Parses `[domain/]path[:tag][@digest]`, filling in Docker's defaults (but not the `latest` tag). */
export function parseReference(input: string): ImageReference {
  const invalid = (why = 'invalid reference format') => new InvalidReferenceError(`couldn't parse image name "${input}": ${why}`);
  if (input === '' || input !== input.trim()) throw invalid();
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw invalid();
    if (digest.startsWith('sha256:') && !/^sha256:[a-f0-9]{64}$/.test(digest)) throw invalid('invalid checksum digest format');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid();
  }
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (/[.:]/.test(first) || first === 'localhost' || first.toLowerCase() !== first) {
      domain = first;
      path = rest.slice(slash + 1);
    }
  }
  if (!DOMAIN.test(domain)) throw invalid();
  if (path.toLowerCase() !== path) throw invalid('repository name must be lowercase');
  if (path === '' || !path.split('/').every((c) => PATH_COMPONENT.test(c))) throw invalid();
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  if (`${domain}/${path}`.length > NAME_TOTAL_LENGTH_MAX) throw invalid('repository name must not be more than 255 characters');
  return { domain, path, tag, digest };
}

/** As kubelet does before pulling: no tag and no digest means `:latest`. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: 'latest' } : ref;
}

/** `docker.io/library/busybox` */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

/** The fully qualified form: `docker.io/library/busybox:latest`, `host:5000/x@sha256:…`. */
export function formatReference(ref: ImageReference): string {
  return repositoryName(ref) + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** Parses and normalises in one step: what records are keyed by. */
export function normalizeReference(input: string): string {
  return formatReference(withDefaultTag(parseReference(input)));
}

/** The short form Docker prints: `busybox:latest` for Docker Hub's library images. */
export function familiarReference(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.domain === DEFAULT_DOMAIN) name = ref.path.startsWith('library/') && ref.path.split('/').length === 2 ? ref.path.slice('library/'.length) : ref.path;
  return name + (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
}

/** True for hosts Docker treats as insecure without configuration: 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(domain: string): boolean {
  let host = domain;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']'));
  else if (host.includes(':')) host = host.slice(0, host.lastIndexOf(':'));
  if (host === 'localhost' || host === '::1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
