// NamespaceLifecycle admission: no new content in a missing or terminating
// namespace (404 / 403 as upstream). Deletes and updates pass: a terminating
// namespace must still be emptied and its objects' finalizers removed.
import { errors } from '../errors.ts';
import { groupResource } from '../handlers/context.ts';
import type { AdmissionPlugin } from './chain.ts';

export const namespaceLifecycle: AdmissionPlugin = {
  name: 'NamespaceLifecycle',
  async admit({ operation, resource, namespace, object, parts }) {
    if (operation !== 'CREATE' || !resource.namespaced || !namespace) return;
    const state = await parts.store.namespaceState(namespace);
    if (!state) throw errors.notFound({ group: '', resource: 'namespaces' }, namespace);
    if (state === 'Terminating') {
      // Named as upstream's admission errors name the object: its name, else its generateName, else "Unknown".
      const name = object?.metadata.name || object?.metadata.generateName || 'Unknown';
      const error = errors.forbidden(groupResource(resource), name, `unable to create new content in namespace ${namespace} because it is being terminated`);
      error.details!.causes = [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }];
      throw error;
    }
  },
};
