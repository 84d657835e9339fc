// NamespaceLifecycle admission: no new content in a missing or terminating
// namespace (404 / 403 as upstream). Deletes and updates pass: a terminating
// namespace must still be emptied and its objects' finalizers removed.
import { errors } from '../errors.ts';
import { groupResource } from '../handlers/context.ts';
import type { AdmissionPlugin } from './chain.ts';

export const namespaceLifecycle: AdmissionPlugin = {
  name: 'NamespaceLifecycle',
  async admit({ operation, resource, namespace, parts }) {
    if (operation !== 'CREATE' || !resource.namespaced || !namespace) return;
    const state = await parts.store.namespaceState(namespace);
    if (!state) throw errors.notFound({ group: '', resource: 'namespaces' }, namespace);
    if (state === 'Terminating') {
      throw errors.forbidden(groupResource(resource), '', `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  },
};
