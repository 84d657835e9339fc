// Cluster PKI: the CA, the API server's serving certificate, the admin client
// certificate and the admin bearer token, kept in one directory (like k3s'
// server/tls). Created on first start, reused afterwards, so kubeconfigs handed out
// earlier keep working across restarts.
//
// Keys are ECDSA P-256: generating one takes well under a millisecond (RSA-2048
// takes ~50-100 ms each), and every Kubernetes client accepts them. The one RSA
// key is the service-account token signing key (generated once per cluster).

import "reflect-metadata"; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill.
import * as x509 from "@peculiar/x509";
import {
  createPrivateKey,
  generateKeyPair as generateNodeKeyPair,
  randomBytes,
  webcrypto,
  X509Certificate as NodeX509Certificate,
  type KeyObject,
} from "node:crypto";
import { chmod, mkdir, readFile } from "node:fs/promises";
import { isIP, isIPv6 } from "node:net";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { writeFileAtomic } from "./atomic-file.ts";

/** PEM strings of the cluster's credentials. */
export interface ClusterPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  adminToken: string;
  /** The API server's client certificate toward node agents (logs, exec, attach). */
  kubeletClientCert: string;
  kubeletClientKey: string;
  /** RSA private key (PKCS#8 PEM) that signs service-account tokens (RS256, as upstream). */
  serviceAccountKey: string;
}

export interface EnsureClusterPkiOptions {
  /** Directory holding the files; created with mode 0700. */
  dir: string;
  /** Extra DNS names for the serving certificate (IP literals are accepted too). */
  hostnames: string[];
  /** Extra IP addresses for the serving certificate (advertise address, first service IP). */
  ipAddresses: string[];
}

export interface IssueClientCertificateOptions {
  /** Becomes the Kubernetes user name. */
  commonName: string;
  /** Become the Kubernetes groups. */
  organizations: string[];
  /** Defaults to one year. */
  validityDays?: number;
}

export interface IssuedCertificate {
  cert: string;
  key: string;
}

export const ADMIN_USER = "skiff-admin";
export const MASTERS_GROUP = "system:masters";
/** The identity the API server presents to node agents (kubeadm's name for it). */
export const KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client";

/** File names inside the PKI directory. */
export const PKI_FILES = {
  caCert: "ca.crt",
  caKey: "ca.key",
  serverCert: "server.crt",
  serverKey: "server.key",
  adminCert: "admin.crt",
  adminKey: "admin.key",
  adminToken: "admin.token",
  kubeletClientCert: "apiserver-kubelet-client.crt",
  kubeletClientKey: "apiserver-kubelet-client.key",
  serviceAccountKey: "service-account.key",
} as const;

/** Names every in-cluster client and every local user may dial. */
export const DEFAULT_SERVING_DNS_NAMES: readonly string[] = [
  "localhost",
  "kubernetes",
  "kubernetes.default",
  "kubernetes.default.svc",
  "kubernetes.default.svc.cluster.local",
];
export const DEFAULT_SERVING_IPS: readonly string[] = ["127.0.0.1", "::1"];

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_VALIDITY_DAYS = 3650;
const LEAF_VALIDITY_DAYS = 365;
// Leaf certificates are re-issued at start-up when they have less than this left,
// as k3s does, so a cluster restarted now and then never runs into an expiry.
const RENEW_BEFORE_DAYS = 90;
// notBefore is backdated so that nodes whose clocks run a little behind accept
// certificates issued a moment ago (Kubernetes backdates by 5 minutes; be generous).
const BACKDATE_MS = 60 * 60 * 1000;
const SERVER_COMMON_NAME = "skiff-apiserver";
const SECRET_MODE = 0o600;
const PUBLIC_MODE = 0o644;
const DIR_MODE = 0o700;

const webCrypto = webcrypto as unknown as Crypto;
const generateRsaKeyPair = promisify(generateNodeKeyPair);
const EC_KEY_ALGORITHM: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };

interface SigningKey {
  key: CryptoKey;
  /** Signature algorithm to use with this key (hash included). */
  algorithm: Algorithm;
}

interface CertificateAuthority {
  cert: x509.X509Certificate;
  nodeCert: NodeX509Certificate;
  signer: SigningKey;
  certPem: string;
  keyPem: string;
}

interface LeafSpec {
  commonName: string;
  organizations: string[];
  dnsNames: string[];
  ipAddresses: string[];
  usages: Array<"serverAuth" | "clientAuth">;
  validityDays: number;
}

/**
 * Loads the cluster PKI from `dir`, creating whatever is missing. The serving
 * certificate is re-issued (by the same CA) when it lacks a requested name or
 * address, and leaf certificates are renewed when close to expiry. The CA itself
 * is never replaced silently: a CA certificate without its key is an error.
 */
export async function ensureClusterPki(options: EnsureClusterPkiOptions): Promise<ClusterPki> {
  const { dir } = options;
  const sans = servingSubjectAltNames(options); // validate before touching the disk
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  // mkdir's mode does not apply to an existing directory; tighten it anyway
  // because it holds private keys.
  await chmod(dir, DIR_MODE);
  const ca = await loadOrCreateCa(dir);

  const server = await loadOrIssueLeaf({
    dir,
    ca,
    certFile: PKI_FILES.serverCert,
    keyFile: PKI_FILES.serverKey,
    spec: {
      commonName: SERVER_COMMON_NAME,
      organizations: [],
      dnsNames: sans.dnsNames,
      ipAddresses: sans.ipAddresses,
      usages: ["serverAuth"],
      validityDays: LEAF_VALIDITY_DAYS,
    },
    stillFits: (cert) => coversSubjectAltNames(cert, sans),
  });

  const admin = await loadOrIssueLeaf({
    dir,
    ca,
    certFile: PKI_FILES.adminCert,
    keyFile: PKI_FILES.adminKey,
    spec: {
      commonName: ADMIN_USER,
      organizations: [MASTERS_GROUP],
      dnsNames: [],
      ipAddresses: [],
      usages: ["clientAuth"],
      validityDays: LEAF_VALIDITY_DAYS,
    },
    stillFits: (cert) =>
      sameStrings(cert.subjectName.getField("CN"), [ADMIN_USER]) &&
      sameStrings(cert.subjectName.getField("O"), [MASTERS_GROUP]),
  });

  const kubeletClient = await loadOrIssueLeaf({
    dir,
    ca,
    certFile: PKI_FILES.kubeletClientCert,
    keyFile: PKI_FILES.kubeletClientKey,
    spec: {
      commonName: KUBELET_CLIENT_USER,
      organizations: [],
      dnsNames: [],
      ipAddresses: [],
      usages: ["clientAuth"],
      validityDays: LEAF_VALIDITY_DAYS,
    },
    stillFits: (cert) => sameStrings(cert.subjectName.getField("CN"), [KUBELET_CLIENT_USER]),
  });

  const adminToken = await loadOrCreateToken(join(dir, PKI_FILES.adminToken));
  const serviceAccountKey = await loadOrCreateServiceAccountKey(join(dir, PKI_FILES.serviceAccountKey));

  return {
    caCert: ca.certPem,
    caKey: ca.keyPem,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    adminToken,
    kubeletClientCert: kubeletClient.cert,
    kubeletClientKey: kubeletClient.key,
    serviceAccountKey,
  };
}

/** Issues a client certificate (e.g. for a node agent) signed by the cluster CA. */
export async function issueClientCertificate(
  pki: Pick<ClusterPki, "caCert" | "caKey">,
  options: IssueClientCertificateOptions,
): Promise<IssuedCertificate> {
  if (options.commonName === "") throw new Error("client certificate needs a common name");
  const ca = await parseCa(pki.caCert, pki.caKey);
  return issueLeaf(ca, {
    commonName: options.commonName,
    organizations: options.organizations,
    dnsNames: [],
    ipAddresses: [],
    usages: ["clientAuth"],
    validityDays: options.validityDays ?? LEAF_VALIDITY_DAYS,
  });
}

// ---------------------------------------------------------------------------
// Subject alternative names

interface SubjectAltNames {
  dnsNames: string[];
  ipAddresses: string[];
}

function servingSubjectAltNames(options: EnsureClusterPkiOptions): SubjectAltNames {
  const dnsNames = new Set<string>();
  const ipAddresses = new Set<string>();
  const add = (value: string, origin: string): void => {
    const trimmed = value.trim();
    if (trimmed === "") return;
    if (isIP(trimmed) !== 0) {
      ipAddresses.add(canonicalIp(trimmed));
      return;
    }
    const name = normalizeDnsName(trimmed);
    if (name === undefined) throw new Error(`${origin} ${JSON.stringify(value)} is not a valid DNS name`);
    dnsNames.add(name);
  };
  for (const name of DEFAULT_SERVING_DNS_NAMES) add(name, "default name");
  // The machine's own name is best effort: a host named with characters DNS
  // forbids simply goes without it instead of failing start-up.
  const machine = normalizeDnsName(osHostname());
  if (machine !== undefined) dnsNames.add(machine);
  for (const name of options.hostnames) add(name, "hostname");
  for (const ip of DEFAULT_SERVING_IPS) ipAddresses.add(canonicalIp(ip));
  for (const ip of options.ipAddresses) {
    if (isIP(ip.trim()) === 0) throw new Error(`IP address ${JSON.stringify(ip)} is not valid`);
    ipAddresses.add(canonicalIp(ip.trim()));
  }
  return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] };
}

function normalizeDnsName(value: string): string | undefined {
  const name = value.toLowerCase().replace(/\.$/, "");
  // Letters, digits, '-', '_', '.', and a leading "*." wildcard. Anything else
  // (spaces, non-ASCII) cannot be an IA5String dNSName that Go clients accept.
  if (name.length === 0 || name.length > 253) return undefined;
  if (!/^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/.test(name)) {
    return undefined;
  }
  return name;
}

/** One spelling per address, so "::1" and "0:0:0:0:0:0:0:1" compare equal. */
function canonicalIp(ip: string): string {
  if (!isIPv6(ip)) return ip;
  // The WHATWG URL parser prints IPv6 addresses in RFC 5952 form.
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

function coversSubjectAltNames(cert: x509.X509Certificate, wanted: SubjectAltNames): boolean {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (ext === null) return false;
  const dns = new Set<string>();
  const ips = new Set<string>();
  for (const name of ext.names.toJSON()) {
    if (name.type === "dns") dns.add(name.value.toLowerCase());
    else if (name.type === "ip" && isIP(name.value) !== 0) ips.add(canonicalIp(name.value));
  }
  return wanted.dnsNames.every((n) => dns.has(n)) && wanted.ipAddresses.every((ip) => ips.has(ip));
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

// ---------------------------------------------------------------------------
// Certificate authority

async function loadOrCreateCa(dir: string): Promise<CertificateAuthority> {
  const certPath = join(dir, PKI_FILES.caCert);
  const keyPath = join(dir, PKI_FILES.caKey);
  const certPem = await readOptional(certPath);
  const keyPem = await readOptional(keyPath);

  // The certificate is written after the key, so it marks a completed CA: a key
  // alone is what an interrupted first start leaves behind and is replaced.
  if (certPem === undefined) {
    const created = await createCa();
    await writeFileAtomic(keyPath, created.keyPem, { mode: SECRET_MODE });
    await writeFileAtomic(certPath, created.certPem, { mode: PUBLIC_MODE });
    return created;
  }
  if (keyPem === undefined) {
    throw new Error(`${keyPath} is missing: the cluster CA in ${certPath} cannot sign without its key`);
  }
  await chmod(keyPath, SECRET_MODE);
  const ca = await parseCa(certPem, keyPem);
  if (ca.nodeCert.validToDate.getTime() <= Date.now()) {
    throw new Error(
      `cluster CA ${certPath} expired at ${ca.nodeCert.validTo}; remove ${dir} to create a new one ` +
        "(every kubeconfig and node credential issued so far stops working)",
    );
  }
  return ca;
}

async function createCa(): Promise<CertificateAuthority> {
  const keys = await generateKeyPair();
  const now = Date.now();
  // A per-cluster CN (like k3s' "k3s-server-ca@<time>") tells CAs of different
  // clusters apart in error messages and certificate stores.
  const name = new x509.Name([{ CN: [{ utf8String: `skiff-ca@${Math.floor(now / 1000)}` }] }]);
  const signingAlgorithm = signatureAlgorithmFor(keys.privateKey);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name,
      keys,
      notBefore: new Date(now - BACKDATE_MS),
      notAfter: new Date(now + CA_VALIDITY_DAYS * DAY_MS),
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webCrypto),
      ],
    },
    webCrypto,
  );
  const certPem = cert.toString("pem") + "\n";
  const keyPem = await exportPrivateKeyPem(keys.privateKey);
  return {
    cert,
    nodeCert: new NodeX509Certificate(certPem),
    signer: { key: keys.privateKey, algorithm: signingAlgorithm },
    certPem,
    keyPem,
  };
}

async function parseCa(certPem: string, keyPem: string): Promise<CertificateAuthority> {
  const nodeCert = new NodeX509Certificate(certPem);
  if (!nodeCert.ca) throw new Error("the cluster CA certificate is not a CA (basicConstraints CA:FALSE)");
  const keyObject = createPrivateKey(keyPem);
  if (!nodeCert.checkPrivateKey(keyObject)) {
    throw new Error("the cluster CA key does not belong to the CA certificate");
  }
  return {
    cert: new x509.X509Certificate(certPem),
    nodeCert,
    signer: toSigningKey(keyObject),
    certPem,
    keyPem,
  };
}

// ---------------------------------------------------------------------------
// Leaf certificates

interface LoadOrIssueLeafOptions {
  dir: string;
  ca: CertificateAuthority;
  certFile: string;
  keyFile: string;
  spec: LeafSpec;
  /** Whether an existing, valid certificate still says what `spec` asks for. */
  stillFits: (cert: x509.X509Certificate) => boolean;
}

async function loadOrIssueLeaf(options: LoadOrIssueLeafOptions): Promise<IssuedCertificate> {
  const certPath = join(options.dir, options.certFile);
  const keyPath = join(options.dir, options.keyFile);
  const certPem = await readOptional(certPath);
  const keyPem = await readOptional(keyPath);
  if (certPem !== undefined && keyPem !== undefined && leafIsReusable(certPem, keyPem, options)) {
    await chmod(keyPath, SECRET_MODE);
    return { cert: certPem, key: keyPem };
  }
  const issued = await issueLeaf(options.ca, options.spec);
  // Key first: a crash between the two writes leaves a key that does not match
  // the old certificate, which the next start detects and re-issues.
  await writeFileAtomic(keyPath, issued.key, { mode: SECRET_MODE });
  await writeFileAtomic(certPath, issued.cert, { mode: PUBLIC_MODE });
  return issued;
}

function leafIsReusable(certPem: string, keyPem: string, options: LoadOrIssueLeafOptions): boolean {
  let cert: NodeX509Certificate;
  let key: KeyObject;
  try {
    cert = new NodeX509Certificate(certPem);
    key = createPrivateKey(keyPem);
  } catch {
    return false; // unreadable files are replaced, not fatal
  }
  const ca = options.ca.nodeCert;
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false; // issued by an older CA
  if (!cert.checkPrivateKey(key)) return false;
  if (cert.validToDate.getTime() - Date.now() < RENEW_BEFORE_DAYS * DAY_MS) return false;
  return options.stillFits(new x509.X509Certificate(certPem));
}

async function issueLeaf(ca: CertificateAuthority, spec: LeafSpec): Promise<IssuedCertificate> {
  const keys = await generateKeyPair();
  const now = Date.now();
  const subject: x509.JsonNameParams = [{ CN: [{ utf8String: spec.commonName }] }];
  for (const org of spec.organizations) subject.push({ O: [{ utf8String: org }] });

  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // ECDSA keys only sign; keyEncipherment is meaningful for RSA key transport only.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(
      spec.usages.map((u) => (u === "serverAuth" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth)),
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webCrypto),
    await authorityKeyIdentifier(ca),
  ];
  if (spec.dnsNames.length > 0 || spec.ipAddresses.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        ...spec.dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...spec.ipAddresses.map((value) => ({ type: "ip" as const, value })),
      ]),
    );
  }

  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: new x509.Name(subject),
      // The CA's encoded subject, byte for byte: Go builds chains by matching the
      // raw issuer against the raw CA subject.
      issuer: ca.cert.subjectName,
      publicKey: keys.publicKey,
      signingKey: ca.signer.key,
      signingAlgorithm: ca.signer.algorithm,
      notBefore: new Date(now - BACKDATE_MS),
      // Never outlive the CA: clients would reject the chain after the CA expires anyway.
      notAfter: new Date(Math.min(now + spec.validityDays * DAY_MS, ca.nodeCert.validToDate.getTime())),
      extensions,
    },
    webCrypto,
  );
  return { cert: cert.toString("pem") + "\n", key: await exportPrivateKeyPem(keys.privateKey) };
}

async function authorityKeyIdentifier(ca: CertificateAuthority): Promise<x509.AuthorityKeyIdentifierExtension> {
  // Reuse the CA's own subject key identifier when it has one (a CA brought by the
  // user may compute it differently from SHA-1 of the key).
  const ski = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski !== null) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false, webCrypto);
}

// ---------------------------------------------------------------------------
// Keys, serials, tokens, files

async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await webCrypto.subtle.generateKey(EC_KEY_ALGORITHM, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webCrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY") + "\n";
}

const CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: "P-256", hash: "SHA-256" },
  secp384r1: { namedCurve: "P-384", hash: "SHA-384" },
  secp521r1: { namedCurve: "P-521", hash: "SHA-512" },
};

/** Accepts EC and RSA keys in any PEM form node reads (PKCS#8, SEC1, PKCS#1). */
function toSigningKey(keyObject: KeyObject): SigningKey {
  if (keyObject.asymmetricKeyType === "ec") {
    const curve = CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ""];
    if (curve === undefined) throw new Error(`unsupported CA key curve ${keyObject.asymmetricKeyDetails?.namedCurve}`);
    const key = keyObject.toCryptoKey({ name: "ECDSA", namedCurve: curve.namedCurve }, false, ["sign"]);
    return { key: key as unknown as CryptoKey, algorithm: { name: "ECDSA", hash: curve.hash } as EcdsaParams };
  }
  if (keyObject.asymmetricKeyType === "rsa") {
    const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    const key = keyObject.toCryptoKey(algorithm, false, ["sign"]);
    // node's webcrypto.CryptoKey and the global CryptoKey type are the same object at runtime.
    return { key: key as unknown as CryptoKey, algorithm };
  }
  throw new Error(`unsupported CA key type ${keyObject.asymmetricKeyType}`);
}

function signatureAlgorithmFor(key: CryptoKey): Algorithm {
  const { namedCurve } = key.algorithm as EcKeyAlgorithm;
  return { name: "ECDSA", hash: namedCurve === "P-384" ? "SHA-384" : "SHA-256" } as EcdsaParams;
}

/**
 * 128 random bits, positive and without a leading zero byte: Go rejects negative
 * serials, and a leading zero would make the DER INTEGER non-minimal.
 */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! % 0x7f) + 1;
  return bytes.toString("hex");
}

async function loadOrCreateToken(path: string): Promise<string> {
  const existing = await readOptional(path);
  if (existing !== undefined) {
    const token = existing.trim();
    // A token the operator wrote by hand is kept as long as it is usable in an
    // Authorization header (no whitespace).
    if (token !== "" && !/\s/.test(token)) {
      await chmod(path, SECRET_MODE);
      return token;
    }
  }
  const token = randomBytes(32).toString("hex");
  await writeFileAtomic(path, token + "\n", { mode: SECRET_MODE });
  return token;
}

/**
 * The service-account signing key. RSA, not ECDSA like the certificates: RS256 is
 * the one algorithm every JWT consumer of Kubernetes tokens accepts. Kept across
 * restarts (tokens already handed to pods must stay valid); an unreadable or
 * non-RSA file is replaced, which invalidates the tokens it signed.
 */
async function loadOrCreateServiceAccountKey(path: string): Promise<string> {
  const existing = await readOptional(path);
  if (existing !== undefined) {
    try {
      if (createPrivateKey(existing).asymmetricKeyType === "rsa") {
        await chmod(path, SECRET_MODE);
        return existing;
      }
    } catch {
      // unreadable: replaced below
    }
  }
  const { privateKey } = await generateRsaKeyPair("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  await writeFileAtomic(path, pem, { mode: SECRET_MODE });
  return pem;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
