// Server-side apply: PATCH with application/apply-patch+yaml. The applied
// configuration is merged into the live object by field ownership
// (managedFields); conflicts with other managers are 409 unless force=true. A
// missing object is created from the applied configuration.
import { isObject } from '../apply/json.ts';
import { serverSideApply } from '../apply/apply.ts';
import { managedFieldsTime } from '../apply/managed-fields.ts';
import { kindSchema } from '../../api/schema/facts.ts';
import { errors } from '../errors.ts';
import { decodeStructured, readBody } from '../http/body.ts';
import { addWarning, sendJson } from '../http/respond.ts';
import type { KubeObject } from '../registry/resource-store.ts';
import { parseBool } from '../request-info.ts';
import type { RequestContext } from './context.ts';
import { checkIdentity, checkKind } from './input.ts';
import { checkWriteOptions, createObject, fieldValidationMode, ignoredFieldsFor, updateObject } from './write.ts';

const MAX_ATTEMPTS = 5;

export async function handleApply(ctx: RequestContext): Promise<void> {
  const { resource, info, parts, query } = ctx;
  checkWriteOptions(ctx, 'PatchOptions', true);
  const applied = decodeStructured(await readBody(ctx.req), 'application/apply-patch+yaml');
  if (!isObject(applied)) throw errors.badRequest('error decoding YAML: the applied configuration must be an object');
  const status = info.subresource === 'status';
  for (const warning of parts.strategy.checkSchema(resource, applied as KubeObject, fieldValidationMode(query))) addWarning(ctx.res, warning);
  for (let attempt = 1; ; attempt++) {
    let live: KubeObject | undefined;
    try {
      live = await parts.store.get(resource, info.namespace, info.name!);
    } catch (error) {
      if ((error as { code?: number }).code !== 404 || status) throw error;
    }
    const { object } = serverSideApply({
      live,
      applied: structuredClone(applied),
      manager: query.get('fieldManager')!,
      force: parseBool(query.get('force')),
      schema: kindSchema(resource),
      apiVersion: resource.apiVersion,
      now: managedFieldsTime(),
      ...(status ? { subresource: 'status' } : {}),
      ignoredFields: ignoredFieldsFor(resource, status),
    });
    const next = checkKind(object as Record<string, unknown>, { apiVersion: resource.apiVersion, kind: resource.kind });
    checkIdentity(ctx, next, resource, info.name);
    try {
      if (!live) {
        sendJson(ctx.res, 201, await createObject(ctx, next, { managedFieldsDone: true }));
      } else {
        sendJson(ctx.res, 200, await updateObject(ctx, { next, old: live, status, managedFieldsDone: true }));
      }
      return;
    } catch (error) {
      // A concurrent writer changed the object (or created it) meanwhile: apply again to the new state.
      const reason = (error as { reason?: string }).reason;
      const retry = (reason === 'Conflict' && !(applied as KubeObject).metadata?.resourceVersion) || reason === 'AlreadyExists';
      if (!retry || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
