// The streaming server's serving certificate. Like kubelet without
// --tls-cert-file, the agent makes a self-signed one (kept in its cert dir
// across restarts): the API server does not verify kubelet serving
// certificates unless configured to (upstream's --kubelet-certificate-authority
// is unset by default), and neither does skiff's. What is verified is the other
// direction: the API server's client certificate, against the cluster CA.
import "reflect-metadata"; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill.
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

export interface ServingCertificate {
  cert: string;
  key: string;
}

const webCrypto = webcrypto as unknown as Crypto;
const DAY_MS = 24 * 60 * 60 * 1000;
const VALIDITY_DAYS = 365;
// Renewed at start-up when less than this is left, so a long-lived node never serves an expired one.
const RENEW_BEFORE_DAYS = 30;
export const SERVING_CERT_FILE = 'kubelet.crt';
export const SERVING_KEY_FILE = 'kubelet.key';

/** A self-signed ECDSA P-256 certificate for `names` (host names and IP addresses). */
export async function selfSignedCertificate(options: { commonName: string; names: string[] }): Promise<ServingCertificate> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webCrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0] = (serial[0]! % 0x7f) + 1; // positive, minimal DER integer
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: new x509.Name([{ CN: [{ utf8String: options.commonName }] }]),
    keys,
    signingAlgorithm: algorithm,
    notBefore: new Date(now - 60 * 60 * 1000), // clocks a little behind still accept it
    notAfter: new Date(now + VALIDITY_DAYS * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(options.names.map((value) => ({ type: isIP(value) ? 'ip' as const : 'dns' as const, value }))),
    ],
  }, webCrypto);
  const der = await webCrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem') + '\n', key: x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n' };
}

/**
 * The certificate in `dir` (kubelet.crt / kubelet.key), made when missing,
 * unreadable, close to expiry, or lacking one of `names`.
 */
export async function loadOrCreateServingCertificate(options: { dir: string; commonName: string; names: string[] }): Promise<ServingCertificate> {
  const certPath = join(options.dir, SERVING_CERT_FILE);
  const keyPath = join(options.dir, SERVING_KEY_FILE);
  const existing = await readPair(certPath, keyPath);
  if (existing && stillGood(existing, options.names)) return existing;
  const made = await selfSignedCertificate(options);
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  await writeAtomic(keyPath, made.key, 0o600);
  await writeAtomic(certPath, made.cert, 0o644);
  return made;
}

async function readPair(certPath: string, keyPath: string): Promise<ServingCertificate | undefined> {
  try {
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
  } catch {
    return undefined;
  }
}

function stillGood(pair: ServingCertificate, names: string[]): boolean {
  try {
    const cert = new X509Certificate(pair.cert);
    if (!cert.checkPrivateKey(createPrivateKey(pair.key))) return false;
    if (cert.validToDate.getTime() - Date.now() < RENEW_BEFORE_DAYS * DAY_MS) return false;
    return names.every((name) => (isIP(name) ? cert.checkIP(name) : cert.checkHost(name)) !== undefined);
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, text, { mode });
  await rename(temporary, path);
}
