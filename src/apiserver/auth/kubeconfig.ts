// kubeconfig files for kubectl and client libraries: one cluster, one user, one
// context named "default" that is also the current context. Credentials are
// embedded (-data fields) so the file works wherever it is copied.

import { stringify } from "yaml";
import { writeFileAtomic } from "./atomic-file.ts";

export interface RenderKubeconfigOptions {
  /** API server URL, e.g. https://127.0.0.1:6443 */
  server: string;
  /** PEM of the CA that signed the serving certificate. */
  caCert: string;
  /** PEM client certificate and key (both or neither). */
  clientCert?: string;
  clientKey?: string;
  /** Bearer token, as an alternative (or in addition) to the client certificate. */
  token?: string;
  /** Defaults to "default". */
  clusterName?: string;
  /** Defaults to "default". */
  userName?: string;
}

export const KUBECONFIG_CONTEXT = "default";

export function renderKubeconfig(options: RenderKubeconfigOptions): string {
  if ((options.clientCert === undefined) !== (options.clientKey === undefined)) {
    throw new Error("kubeconfig needs both clientCert and clientKey, or neither");
  }
  const clusterName = options.clusterName ?? "default";
  const userName = options.userName ?? "default";

  const user: Record<string, string> = {};
  if (options.clientCert !== undefined && options.clientKey !== undefined) {
    user["client-certificate-data"] = base64(options.clientCert);
    user["client-key-data"] = base64(options.clientKey);
  }
  if (options.token !== undefined) user["token"] = options.token;

  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: clusterName,
        cluster: { server: options.server, "certificate-authority-data": base64(options.caCert) },
      },
    ],
    users: [{ name: userName, user }],
    contexts: [{ name: KUBECONFIG_CONTEXT, context: { cluster: clusterName, user: userName } }],
    "current-context": KUBECONFIG_CONTEXT,
    preferences: {},
  };
  // lineWidth 0: never fold the long base64 strings.
  return stringify(config, { lineWidth: 0 });
}

/**
 * Writes a kubeconfig readable only by its owner (it holds credentials),
 * creating missing parent directories, and replacing any old file atomically so
 * a kubectl running meanwhile never reads half a file.
 */
export async function writeKubeconfig(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text, { mode: 0o600, parentMode: 0o755 });
}

function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}
