// The part of upstream's VolumeBinding plugin skiff has so far: when a pod is
// bound to a node, each of its claims that is still unbound and whose
// StorageClass says WaitForFirstConsumer gets the
// volume.kubernetes.io/selected-node annotation, which tells the class's
// provisioner where to make the volume. (Not yet: filtering nodes by bound
// volumes' node affinity, picking static PVs for delayed claims, waiting for
// the claims to bind before binding the pod.)
import { createInformer, type Informer } from '../client/informer.ts';
import type { ApiClient, KubeObject } from '../client/interface.ts';

export const SELECTED_NODE_ANNOTATION = 'volume.kubernetes.io/selected-node';

interface Claim extends KubeObject {
  spec?: { storageClassName?: string | null; volumeName?: string };
}

interface PodVolume {
  name: string;
  persistentVolumeClaim?: { claimName: string };
  ephemeral?: unknown;
}

export class DelayedClaimBinding {
  readonly informers: Informer<KubeObject>[];
  private readonly client: ApiClient;
  private readonly claims: Informer<Claim>;
  private readonly classes: Informer<KubeObject & { volumeBindingMode?: string }>;

  constructor(client: ApiClient) {
    this.client = client;
    this.claims = createInformer<Claim>({ client, ref: { group: '', version: 'v1', resource: 'persistentvolumeclaims' } });
    this.classes = createInformer({ client, ref: { group: 'storage.k8s.io', version: 'v1', resource: 'storageclasses' } });
    this.informers = [this.claims as Informer<KubeObject>, this.classes as Informer<KubeObject>];
  }

  /** Annotate the pod's unbound WaitForFirstConsumer claims with the node (before the pod's Binding is posted). */
  async selectNode(pod: KubeObject & { spec?: { [field: string]: unknown } }, nodeName: string): Promise<void> {
    const namespace = pod.metadata.namespace!;
    for (const volume of (pod.spec?.volumes ?? []) as PodVolume[]) {
      const claimName = volume.persistentVolumeClaim?.claimName ?? (volume.ephemeral ? `${pod.metadata.name}-${volume.name}` : undefined);
      if (!claimName) continue;
      const claim = this.claims.lister.get(namespace, claimName);
      if (!claim || claim.spec?.volumeName || claim.metadata.annotations?.[SELECTED_NODE_ANNOTATION] === nodeName) continue;
      const className = claim.spec?.storageClassName;
      if (!className || this.classes.lister.get(undefined, className)?.volumeBindingMode !== 'WaitForFirstConsumer') continue;
      await this.client.patch(
        { group: '', version: 'v1', resource: 'persistentvolumeclaims', namespace, name: claimName },
        'merge',
        { metadata: { annotations: { [SELECTED_NODE_ANNOTATION]: nodeName } } },
      );
    }
  }
}
