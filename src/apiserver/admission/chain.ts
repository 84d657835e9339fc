// The admission chain: plugins that see every write after authentication and
// before storage, in upstream's order. Each plugin may mutate the incoming
// object (admit, the mutating phase, run before defaulting and validation)
// and/or refuse it (validate, the validating phase, run after validation,
// just before the write). A plugin refuses by throwing an ApiError (usually
// 403 Forbidden with upstream's message).
import type { ResourceInfo } from '../../api/registry.ts';
import type { UserInfo } from '../auth/authenticate.ts';
import type { ServerParts } from '../handlers/context.ts';
import type { KubeObject } from '../registry/resource-store.ts';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionAttributes {
  operation: AdmissionOperation;
  resource: ResourceInfo;
  /** '' for the main resource, else 'status', 'scale', 'eviction', 'token' … */
  subresource: string;
  namespace: string | undefined;
  name: string | undefined;
  /** The incoming object (CREATE, UPDATE, CONNECT); mutating plugins change it in place. */
  object: KubeObject | undefined;
  /** The stored object (UPDATE, DELETE). */
  oldObject: KubeObject | undefined;
  /** The requester; undefined for the server's own writes (bootstrap). */
  user: UserInfo | undefined;
  dryRun: boolean;
  parts: ServerParts;
}

export interface AdmissionPlugin {
  readonly name: string;
  /** Mutating phase. */
  admit?(attributes: AdmissionAttributes): Promise<void> | void;
  /** Validating phase: may only refuse. */
  validate?(attributes: AdmissionAttributes): Promise<void> | void;
}

export class AdmissionChain {
  readonly plugins: readonly AdmissionPlugin[];

  constructor(plugins: readonly AdmissionPlugin[]) {
    this.plugins = plugins;
  }

  async admit(attributes: AdmissionAttributes): Promise<void> {
    for (const plugin of this.plugins) if (plugin.admit) await plugin.admit(attributes);
  }

  async validate(attributes: AdmissionAttributes): Promise<void> {
    for (const plugin of this.plugins) if (plugin.validate) await plugin.validate(attributes);
  }
}

/** Whether the attributes address the core kind `kind` (Pod, Namespace …) on its main resource. */
export function isCoreKind(attributes: AdmissionAttributes, kind: string): boolean {
  return attributes.resource.group === '' && attributes.resource.kind === kind && attributes.subresource === '';
}
