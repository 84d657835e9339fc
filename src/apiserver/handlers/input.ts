// Turning a request body into an object of the addressed kind: media type,
// JSON/YAML/protobuf decoding, apiVersion/kind and name/namespace checks.
import { decodeKubernetesProtobuf } from '../../api/protobuf/index.ts';
import type { ResourceInfo } from '../../api/registry.ts';
import { errors } from '../errors.ts';
import { decodeObjectBody, mediaType, readBody } from '../http/body.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import type { RequestContext } from './context.ts';

const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** Read and decode a create/update body; `expect` is the kind the URL addresses. */
export async function readObject(ctx: RequestContext, expect: { apiVersion: string; kind: string }): Promise<KubeObject> {
  const body = await readBody(ctx.req);
  const type = mediaType(ctx.req.headers['content-type']) || 'application/json';
  let object: Record<string, unknown>;
  if (type === PROTOBUF) {
    try {
      object = decodeKubernetesProtobuf(body).object;
    } catch (error) {
      throw errors.badRequest(`unable to decode protobuf body: ${(error as Error).message}`);
    }
  } else if (type === 'application/json' || type === 'application/yaml' || type === '*/*') {
    object = decodeObjectBody(body, type === 'application/yaml' ? type : 'application/json');
  } else {
    throw errors.unsupportedMediaType(type);
  }
  return checkKind(object, expect);
}

/** Reject a body of another kind; an absent apiVersion/kind defaults to the URL's, as upstream's decoder does. */
export function checkKind(object: Record<string, unknown>, expect: { apiVersion: string; kind: string }): KubeObject {
  if (object.kind === undefined || object.kind === '') object.kind = expect.kind;
  if (object.kind !== expect.kind) {
    throw errors.badRequest(`the kind in the data (${String(object.kind)}) does not match the expected kind (${expect.kind})`);
  }
  if (object.apiVersion !== undefined && object.apiVersion !== expect.apiVersion) {
    throw errors.badRequest(`the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${expect.apiVersion})`);
  }
  object.apiVersion = expect.apiVersion;
  if (object.metadata === undefined || object.metadata === null) object.metadata = {};
  if (typeof object.metadata !== 'object' || Array.isArray(object.metadata)) {
    throw errors.badRequest('metadata must be an object');
  }
  return object as KubeObject;
}

/** Make the body's name and namespace agree with the URL. */
export function checkIdentity(ctx: RequestContext, object: KubeObject, resource: ResourceInfo, urlName?: string): void {
  const meta = object.metadata;
  const namespace = ctx.info.namespace;
  if (resource.namespaced) {
    if (meta.namespace && namespace && meta.namespace !== namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (namespace) meta.namespace = namespace;
  } else if (meta.namespace) {
    delete meta.namespace;
  }
  if (urlName !== undefined) {
    if (!meta.name) meta.name = urlName;
    if (meta.name !== urlName) {
      throw errors.badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${urlName})`);
    }
  }
}
