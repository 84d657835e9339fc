import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ensureClusterPki, issueClientCertificate, PKI_FILES, type ClusterPki } from "./pki.ts";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

function sans(pem: string): string[] {
  return (new X509Certificate(pem).subjectAltName ?? "").split(", ");
}

describe("ensureClusterPki", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "skiff-pki-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("creates a CA, serving and admin certificates and a token, fast", async () => {
    const dir = join(root, "fresh", "tls");
    const started = performance.now();
    const pki = await ensureClusterPki({ dir, hostnames: ["skiff.example"], ipAddresses: ["192.0.2.10", "10.43.0.1"] });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1000, `generation took ${elapsed.toFixed(0)} ms`);

    const ca = new X509Certificate(pki.caCert);
    assert.equal(ca.ca, true);
    assert.ok(ca.checkIssued(ca) && ca.verify(ca.publicKey), "CA is self-signed");
    const years = (ca.validToDate.getTime() - Date.now()) / (365 * 24 * 3600 * 1000);
    assert.ok(years > 9.9 && years < 10.1, `CA valid for ${years} years`);

    const server = new X509Certificate(pki.serverCert);
    assert.equal(server.ca, false);
    assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
    assert.deepEqual(server.keyUsage, [SERVER_AUTH]);
    const names = sans(pki.serverCert);
    for (const expected of [
      "DNS:localhost",
      "DNS:kubernetes",
      "DNS:kubernetes.default",
      "DNS:kubernetes.default.svc",
      "DNS:kubernetes.default.svc.cluster.local",
      "DNS:skiff.example",
      "IP Address:127.0.0.1",
      "IP Address:192.0.2.10",
      "IP Address:10.43.0.1",
    ]) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(", ")}`);
    }
    assert.equal(server.checkIP("::1"), "::1");

    const admin = new X509Certificate(pki.adminCert);
    assert.ok(admin.checkIssued(ca) && admin.verify(ca.publicKey));
    assert.equal(admin.subject, "CN=skiff-admin\nO=system:masters");
    assert.deepEqual(admin.keyUsage, [CLIENT_AUTH]);
    assert.match(pki.adminToken, /^[0-9a-f]{64}$/);

    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const signing = createPrivateKey(pki.serviceAccountKey);
    assert.equal(signing.asymmetricKeyType, "rsa", "service-account tokens are RS256");
    assert.equal(signing.asymmetricKeyDetails?.modulusLength, 2048);
    for (const file of [PKI_FILES.caKey, PKI_FILES.serverKey, PKI_FILES.adminKey, PKI_FILES.adminToken, PKI_FILES.serviceAccountKey]) {
      assert.equal((await stat(join(dir, file))).mode & 0o777, 0o600, file);
    }
    assert.equal(await readFile(join(dir, PKI_FILES.caCert), "utf8"), pki.caCert);
  });

  it("reuses everything on restart, and re-issues only the serving cert for new SANs", async () => {
    const dir = join(root, "restart");
    const first = await ensureClusterPki({ dir, hostnames: [], ipAddresses: ["10.43.0.1"] });
    const second = await ensureClusterPki({ dir, hostnames: [], ipAddresses: ["10.43.0.1"] });
    assert.deepEqual(second, first);

    // Asking for a subset, or the same address spelled differently, changes nothing.
    const third = await ensureClusterPki({ dir, hostnames: ["LOCALHOST."], ipAddresses: ["0:0:0:0:0:0:0:1"] });
    assert.deepEqual(third, first);

    const widened = await ensureClusterPki({ dir, hostnames: ["api.skiff.test", "192.0.2.7"], ipAddresses: [] });
    assert.equal(widened.caCert, first.caCert);
    assert.equal(widened.caKey, first.caKey);
    assert.equal(widened.adminCert, first.adminCert);
    assert.equal(widened.adminToken, first.adminToken);
    assert.notEqual(widened.serverCert, first.serverCert);
    const names = sans(widened.serverCert);
    assert.ok(names.includes("DNS:api.skiff.test"));
    assert.ok(names.includes("IP Address:192.0.2.7"), "an IP given as a hostname becomes an IP SAN");
    const ca = new X509Certificate(widened.caCert);
    assert.equal(new X509Certificate(widened.caCert).fingerprint256, new X509Certificate(first.caCert).fingerprint256);
    assert.ok(new X509Certificate(widened.serverCert).verify(ca.publicKey));
  });

  it("re-issues a leaf whose key is missing or mismatched", async () => {
    const dir = join(root, "repair");
    const first = await ensureClusterPki({ dir, hostnames: [], ipAddresses: [] });
    await unlink(join(dir, PKI_FILES.adminKey));
    await writeFile(join(dir, PKI_FILES.serverKey), first.adminKey);
    const repaired = await ensureClusterPki({ dir, hostnames: [], ipAddresses: [] });
    assert.equal(repaired.caCert, first.caCert);
    assert.notEqual(repaired.adminCert, first.adminCert);
    assert.notEqual(repaired.serverCert, first.serverCert);
    const server = new X509Certificate(repaired.serverCert);
    assert.ok(server.checkPrivateKey(createPrivateKey(repaired.serverKey)));
  });

  it("refuses to replace a CA whose key is gone", async () => {
    const dir = join(root, "lost-key");
    await ensureClusterPki({ dir, hostnames: [], ipAddresses: [] });
    await unlink(join(dir, PKI_FILES.caKey));
    await assert.rejects(ensureClusterPki({ dir, hostnames: [], ipAddresses: [] }), /ca\.key is missing/);
  });

  it("rejects invalid names and addresses", async () => {
    const dir = join(root, "invalid");
    await assert.rejects(ensureClusterPki({ dir, hostnames: ["not a name"], ipAddresses: [] }), /not a valid DNS name/);
    await assert.rejects(ensureClusterPki({ dir, hostnames: [], ipAddresses: ["10.0.0.300"] }), /not valid/);
  });

  it("keeps a hand-written admin token", async () => {
    const dir = join(root, "token");
    await ensureClusterPki({ dir, hostnames: [], ipAddresses: [] });
    await writeFile(join(dir, PKI_FILES.adminToken), "my-own-token\n");
    const pki = await ensureClusterPki({ dir, hostnames: [], ipAddresses: [] });
    assert.equal(pki.adminToken, "my-own-token");
  });
});

describe("issueClientCertificate", () => {
  let root: string;
  let pki: ClusterPki;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "skiff-pki-"));
    pki = await ensureClusterPki({ dir: root, hostnames: [], ipAddresses: [] });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("issues a client certificate with CN and O, signed by the cluster CA", async () => {
    const issued = await issueClientCertificate(pki, {
      commonName: "system:node:worker-1",
      organizations: ["system:nodes", "ops@example"],
    });
    const cert = new X509Certificate(issued.cert);
    const ca = new X509Certificate(pki.caCert);
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey));
    assert.equal(cert.subject, "CN=system:node:worker-1\nO=system:nodes\nO=ops@example");
    assert.deepEqual(cert.keyUsage, [CLIENT_AUTH]);
    assert.ok(cert.checkPrivateKey(createPrivateKey(issued.key)));
  });

  it("requires a common name", async () => {
    await assert.rejects(issueClientCertificate(pki, { commonName: "", organizations: [] }), /common name/);
  });
});
