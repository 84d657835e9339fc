// TLS for the HTTPS listener: the certificate for a server name (SNI) comes
// from the kubernetes.io/tls Secret of the Ingress `tls` section that lists
// that host (exact before `*.wildcard`; a section without hosts serves any
// name its certificate covers). Secure contexts are cached per Secret uid and
// resourceVersion, so a renewed certificate is served from the next handshake
// on. Names no Ingress claims (and clients sending no SNI) get a self-signed
// default certificate, like ingress-nginx's "Fake Certificate".
import "reflect-metadata"; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill.
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { RouteTable } from './routing.ts';
import type { IngressView, Secret } from './types.ts';

export interface CertificatePair {
  cert: string;
  key: string;
}

const webCrypto = webcrypto as unknown as Crypto;

/** A self-signed ECDSA P-256 serving certificate, valid for a year, for `names`. */
export async function selfSignedCertificate(options: { commonName: string; names: string[] }): Promise<CertificatePair> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webCrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const serial = randomBytes(16);
  serial[0] = (serial[0]! % 0x7f) + 1; // positive, minimal DER integer
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: new x509.Name([{ CN: [{ utf8String: options.commonName }] }]),
    keys,
    signingAlgorithm: algorithm,
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + 365 * 24 * 60 * 60 * 1000),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(options.names.map((value) => ({ type: 'dns' as const, value }))),
    ],
  }, webCrypto);
  const der = await webCrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: `${cert.toString('pem')}\n`, key: `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n` };
}

interface CachedContext {
  version: string;
  /** undefined: the Secret's data is not a usable certificate (logged once per version). */
  context: SecureContext | undefined;
  certificate: X509Certificate | undefined;
}

export interface SniResolverOptions {
  view: IngressView;
  routes: () => RouteTable;
  defaultCertificate: CertificatePair;
  logger: { warn(message: string): void };
}

export class SniResolver {
  private readonly o: SniResolverOptions;
  private readonly cache = new Map<string, CachedContext>();
  readonly defaultContext: SecureContext;

  constructor(options: SniResolverOptions) {
    this.o = options;
    this.defaultContext = createSecureContext(options.defaultCertificate);
  }

  /** For `tls.createServer({ SNICallback })`. */
  readonly callback = (serverName: string, done: (error: Error | null, context?: SecureContext) => void): void => {
    try {
      done(null, this.contextFor(serverName));
    } catch (error) {
      done(error as Error);
    }
  };

  contextFor(serverName: string): SecureContext {
    for (const candidate of this.o.routes().tlsCandidates(serverName)) {
      const secret = this.o.view.secret(candidate.namespace, candidate.secretName);
      if (!secret) continue;
      const cached = this.load(secret);
      if (!cached.context) continue;
      if (candidate.anyHost && cached.certificate?.checkHost(serverName) === undefined) continue;
      return cached.context;
    }
    return this.defaultContext;
  }

  /** Drop contexts of Secrets that are gone (called when Secrets change). */
  prune(): void {
    for (const key of this.cache.keys()) {
      const [namespace, name] = key.split('/') as [string, string];
      if (!this.o.view.secret(namespace, name)) this.cache.delete(key);
    }
  }

  private load(secret: Secret): CachedContext {
    const key = `${secret.metadata.namespace}/${secret.metadata.name}`;
    const version = `${secret.metadata.uid ?? ''}/${secret.metadata.resourceVersion ?? ''}`;
    const cached = this.cache.get(key);
    if (cached?.version === version) return cached;
    const made: CachedContext = { version, context: undefined, certificate: undefined };
    try {
      const cert = Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64').toString('utf8');
      const privateKey = Buffer.from(secret.data?.['tls.key'] ?? '', 'base64').toString('utf8');
      if (!cert || !privateKey) throw new Error('tls.crt or tls.key is missing');
      made.context = createSecureContext({ cert, key: privateKey });
      made.certificate = new X509Certificate(cert);
    } catch (error) {
      made.context = undefined;
      this.o.logger.warn(`ingress: secret ${key} is not a usable TLS certificate (${(error as Error).message}); serving the default certificate instead`);
    }
    this.cache.set(key, made);
    return made;
  }
}
