import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { renderKubeconfig, writeKubeconfig } from "./kubeconfig.ts";

const CA = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n";
const b64 = (text: string): string => Buffer.from(text).toString("base64");

describe("renderKubeconfig", () => {
  it("embeds the CA and client certificate as base64 data with a default context", () => {
    const text = renderKubeconfig({ server: "https://127.0.0.1:6443", caCert: CA, clientCert: CERT, clientKey: KEY });
    assert.deepEqual(parse(text), {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "default", cluster: { server: "https://127.0.0.1:6443", "certificate-authority-data": b64(CA) } }],
      users: [{ name: "default", user: { "client-certificate-data": b64(CERT), "client-key-data": b64(KEY) } }],
      contexts: [{ name: "default", context: { cluster: "default", user: "default" } }],
      "current-context": "default",
      preferences: {},
    });
  });

  it("supports a bearer token and custom names", () => {
    const config = parse(
      renderKubeconfig({ server: "https://h:1", caCert: CA, token: "t0k", clusterName: "skiff", userName: "admin" }),
    );
    assert.deepEqual(config.users, [{ name: "admin", user: { token: "t0k" } }]);
    assert.deepEqual(config.contexts, [{ name: "default", context: { cluster: "skiff", user: "admin" } }]);
    assert.equal(config.clusters[0].name, "skiff");
  });

  it("does not fold long base64 lines", () => {
    const long = "x".repeat(5000);
    const text = renderKubeconfig({ server: "https://h:1", caCert: long });
    assert.ok(text.includes(b64(long)));
  });

  it("requires the client certificate and key together", () => {
    assert.throws(() => renderKubeconfig({ server: "https://h:1", caCert: CA, clientCert: CERT }), /both/);
  });
});

describe("writeKubeconfig", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "skiff-kubeconfig-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("creates parent directories, writes mode 0600 and replaces atomically", async () => {
    const path = join(root, "a", "b", "kubeconfig.yaml");
    await writeKubeconfig(path, "first\n");
    assert.equal(await readFile(path, "utf8"), "first\n");
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await writeKubeconfig(path, "second\n");
    assert.equal(await readFile(path, "utf8"), "second\n");
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(root, "a", "b")), ["kubeconfig.yaml"], "no temporary files left");
  });
});
