import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { connect as http2Connect, createSecureServer, type Http2SecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createAuthenticator, type Authenticator, type UserInfo } from "./authenticate.ts";
import { renderKubeconfig, writeKubeconfig } from "./kubeconfig.ts";
import { ensureClusterPki, issueClientCertificate, type ClusterPki } from "./pki.ts";

const KUBECTL = "/usr/bin/kubectl";
const VERSION = { major: "1", minor: "36", gitVersion: "v1.36.0" };
const ADMIN: UserInfo = { username: "skiff-admin", groups: ["system:masters", "system:authenticated"] };

describe("createAuthenticator (unit)", () => {
  const pki = { adminToken: "a".repeat(64) };
  const tokens = new Map<string, UserInfo>([["node-token", { username: "system:node:n1", groups: ["system:nodes"] }]]);
  const authenticate = createAuthenticator({ pki, tokens });
  const certSocket = (authorized: boolean, subject: Record<string, string | string[]>, eku?: string[]) => ({
    authorized,
    getPeerCertificate: () => ({ subject, ext_key_usage: eku }),
  });

  it("maps CN to user and every O to a group", () => {
    const user = authenticate({ socket: certSocket(true, { CN: "alice", O: ["dev", "ops"] }), headers: {} });
    assert.deepEqual(user, { username: "alice", groups: ["dev", "ops", "system:authenticated"] });
  });

  it("ignores certificates the TLS layer did not verify, without CN, or without clientAuth", () => {
    assert.equal(authenticate({ socket: certSocket(false, { CN: "alice" }), headers: {} }), undefined);
    assert.equal(authenticate({ socket: certSocket(true, { O: "x" }), headers: {} }), undefined);
    assert.equal(authenticate({ socket: certSocket(true, { CN: "srv" }, ["1.3.6.1.5.5.7.3.1"]), headers: {} }), undefined);
  });

  it("accepts the admin token and map tokens, case-insensitive scheme", () => {
    assert.deepEqual(authenticate({ socket: undefined, headers: { authorization: `Bearer ${"a".repeat(64)}` } }), ADMIN);
    assert.deepEqual(authenticate({ socket: undefined, headers: { authorization: "bearer node-token" } }), {
      username: "system:node:n1",
      groups: ["system:nodes", "system:authenticated"],
    });
  });

  it("sees tokens added to the map later", () => {
    tokens.set("late-token", { username: "late", groups: [], uid: "u1" });
    assert.deepEqual(authenticate({ socket: undefined, headers: { authorization: "Bearer late-token" } }), {
      username: "late",
      groups: ["system:authenticated"],
      uid: "u1",
    });
    tokens.delete("late-token");
    assert.equal(authenticate({ socket: undefined, headers: { authorization: "Bearer late-token" } }), undefined);
  });

  it("rejects wrong tokens, other schemes and anonymous requests", () => {
    for (const authorization of [`Bearer ${"a".repeat(63)}`, "Bearer", "Basic YWRtaW46YWRtaW4=", "Bearer a b", ""]) {
      assert.equal(authenticate({ socket: undefined, headers: { authorization } }), undefined, authorization);
    }
    assert.equal(authenticate({ socket: { authorized: false }, headers: {} }), undefined);
  });
});

interface Response {
  status: number;
  body: string;
}

interface ClientOptions {
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  servername?: string;
  path?: string;
}

describe("authentication over real TLS", () => {
  let root: string;
  let pki: ClusterPki;
  let otherPki: ClusterPki;
  let server: Http2SecureServer;
  let port: number;
  let authenticate: Authenticator;
  const seen: Array<{ path: string; user: string | undefined }> = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "skiff-authn-"));
    pki = await ensureClusterPki({ dir: join(root, "tls"), hostnames: [], ipAddresses: ["10.43.0.1"] });
    otherPki = await ensureClusterPki({ dir: join(root, "other-tls"), hostnames: [], ipAddresses: [] });
    authenticate = createAuthenticator({ pki });
    server = createSecureServer(
      {
        key: pki.serverKey,
        cert: pki.serverCert,
        ca: pki.caCert,
        requestCert: true,
        rejectUnauthorized: false,
        allowHTTP1: true,
      },
      async (req, res) => {
        const user = await authenticate({ socket: req.socket, headers: req.headers });
        seen.push({ path: req.url, user: user?.username });
        if (user === undefined) {
          res.writeHead(401, { "content-type": "application/json" });
          res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "Unauthorized", code: 401 }));
          return;
        }
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(req.url === "/version" ? VERSION : user));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(root, { recursive: true, force: true });
  });

  function get(options: ClientOptions): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port,
          path: options.path ?? "/whoami",
          ca: options.ca ?? pki.caCert,
          cert: options.cert,
          key: options.key,
          servername: options.servername,
          headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
          agent: false, // no TLS session reuse between cases
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  it("authenticates the admin client certificate", async () => {
    const res = await get({ cert: pki.adminCert, key: pki.adminKey });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), ADMIN);
  });

  it("authenticates the admin bearer token", async () => {
    const res = await get({ token: pki.adminToken });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), ADMIN);
  });

  it("authenticates an issued node certificate", async () => {
    const node = await issueClientCertificate(pki, { commonName: "system:node:n1", organizations: ["system:nodes"] });
    const res = await get({ cert: node.cert, key: node.key });
    assert.deepEqual(JSON.parse(res.body), { username: "system:node:n1", groups: ["system:nodes", "system:authenticated"] });
  });

  it("leaves anonymous requests, wrong tokens and foreign certificates unauthenticated", async () => {
    assert.equal((await get({})).status, 401);
    assert.equal((await get({ token: otherPki.adminToken })).status, 401);
    assert.equal((await get({ cert: otherPki.adminCert, key: otherPki.adminKey })).status, 401);
  });

  it("does not accept the serving certificate as a client certificate", async () => {
    assert.equal((await get({ cert: pki.serverCert, key: pki.serverKey })).status, 401);
  });

  it("authenticates over HTTP/2 too", async () => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { ca: pki.caCert, cert: pki.adminCert, key: pki.adminKey });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":path": "/whoami" });
        let text = "";
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (text += chunk));
        stream.on("end", () => resolve(text));
        stream.on("error", reject);
        stream.end();
      });
      assert.deepEqual(JSON.parse(body), ADMIN);
    } finally {
      session.close();
    }
  });

  it("serves a certificate that verifies with the CA for 127.0.0.1 and localhost only", async () => {
    assert.equal((await get({ token: pki.adminToken })).status, 200); // host 127.0.0.1
    assert.equal((await get({ token: pki.adminToken, servername: "localhost" })).status, 200);
    assert.equal((await get({ token: pki.adminToken, servername: "kubernetes.default.svc" })).status, 200);
    await assert.rejects(get({ token: pki.adminToken, servername: "example.com" }), /altnames/);
    await assert.rejects(get({ token: pki.adminToken, ca: otherPki.caCert }), /self-signed|unable to verify/i);
  });

  it("reuses the same CA after a restart", async () => {
    const again = await ensureClusterPki({ dir: join(root, "tls"), hostnames: [], ipAddresses: ["10.43.0.1"] });
    const { X509Certificate } = await import("node:crypto");
    assert.equal(new X509Certificate(again.caCert).fingerprint256, new X509Certificate(pki.caCert).fingerprint256);
    assert.equal(again.serverCert, pki.serverCert);
  });

  const kubectlAvailable = existsSync(KUBECTL);

  async function kubectl(kubeconfig: string): Promise<string> {
    const { stdout } = await promisify(execFile)(KUBECTL, ["--kubeconfig", kubeconfig, "get", "--raw", "/version"], {
      timeout: 60_000,
      // A private HOME keeps kubectl's caches out of the user's ~/.kube.
      env: { ...process.env, HOME: root, KUBECONFIG: "" },
    });
    return stdout;
  }

  it("real kubectl accepts the CA and the admin client certificate", { skip: !kubectlAvailable }, async () => {
    const path = join(root, "kube", "admin.yaml");
    await writeKubeconfig(
      path,
      renderKubeconfig({ server: `https://127.0.0.1:${port}`, caCert: pki.caCert, clientCert: pki.adminCert, clientKey: pki.adminKey }),
    );
    seen.length = 0;
    assert.deepEqual(JSON.parse(await kubectl(path)), VERSION);
    assert.ok(seen.length > 0);
    assert.deepEqual(
      seen.filter((s) => s.user !== "skiff-admin"),
      [],
      "every kubectl request was authenticated by its client certificate",
    );
  });

  it("real kubectl accepts the admin bearer token", { skip: !kubectlAvailable }, async () => {
    const path = join(root, "kube", "token.yaml");
    await writeKubeconfig(path, renderKubeconfig({ server: `https://127.0.0.1:${port}`, caCert: pki.caCert, token: pki.adminToken }));
    seen.length = 0;
    assert.deepEqual(JSON.parse(await kubectl(path)), VERSION);
    assert.deepEqual(seen.filter((s) => s.user !== "skiff-admin"), []);
  });

  it("real kubectl refuses a server whose CA it does not trust", { skip: !kubectlAvailable }, async () => {
    const path = join(root, "kube", "wrong-ca.yaml");
    await writeKubeconfig(path, renderKubeconfig({ server: `https://127.0.0.1:${port}`, caCert: otherPki.caCert, token: pki.adminToken }));
    await assert.rejects(kubectl(path), /certificate signed by unknown authority|x509/);
  });
});
