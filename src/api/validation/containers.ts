// Containers: names, images, ports, env, mounts, probes, lifecycle hooks,
// resources and security context (core validateContainerCommon and friends).
import {
  type FieldError, child, duplicate, forbidden, goIntOrString, goLiteral, index, invalid, key, notFound, notSupported, required,
  IS_NEGATIVE, inclusiveRangeError,
} from './errors.ts';
import {
  isConfigMapKey, isDNS1123Label, isHTTPHeaderName, isQualifiedName, isRelaxedEnvVarName, isValidPortName,
  isValidPortNum, nameIsDNSSubdomain,
} from './names.ts';
import { compareQuantities, isNegative, isWhole, parseQuantity } from './quantity.ts';
import { validateLocalDescendingPath, validateObjectFieldSelector, validatePullPolicy } from './volumes.ts';

export const supportedProtocols = ['SCTP', 'TCP', 'UDP'];

export interface ContainerContext {
  /** Volumes that validated, by name (mounts must refer to one of them). */
  volumes: Map<string, any>;
  /** Pod terminationGracePeriodSeconds, for sleep hooks. */
  gracePeriod: number | undefined;
  restartPolicy: string;
}

export function validateContainerPorts(ports: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (Array.isArray(ports) ? ports : []).forEach((port: any, i: number) => {
    const p = index(path, i);
    if (port?.name) {
      const msgs = isValidPortName(port.name);
      if (msgs.length) errs.push(...msgs.map((m) => invalid(child(p, 'name'), port.name, m)));
      else if (names.has(port.name)) errs.push(duplicate(child(p, 'name'), port.name));
      else names.add(port.name);
    }
    if (!port?.containerPort) errs.push(required(child(p, 'containerPort')));
    else errs.push(...isValidPortNum(port.containerPort).map((m) => invalid(child(p, 'containerPort'), port.containerPort, m)));
    if (port?.hostPort) errs.push(...isValidPortNum(port.hostPort).map((m) => invalid(child(p, 'hostPort'), port.hostPort, m)));
    if (!port?.protocol) errs.push(required(child(p, 'protocol')));
    else if (!supportedProtocols.includes(port.protocol)) errs.push(notSupported(child(p, 'protocol'), port.protocol, supportedProtocols));
  });
  return errs;
}

const envFieldPaths = [
  'metadata.name', 'metadata.namespace', 'metadata.uid', 'spec.nodeName', 'spec.serviceAccountName', 'status.hostIP',
  'status.hostIPs', 'status.podIP', 'status.podIPs',
];
const resourceFieldPaths = [
  'limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory',
];

function validateEnv(env: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (Array.isArray(env) ? env : []).forEach((ev: any, i: number) => {
    const p = index(path, i);
    if (!ev?.name) errs.push(required(child(p, 'name')));
    else errs.push(...isRelaxedEnvVarName(ev.name).map((m) => invalid(child(p, 'name'), ev.name, m)));
    if (ev?.valueFrom) errs.push(...validateEnvValueFrom(ev, child(p, 'valueFrom')));
  });
  return errs;
}

function validateEnvValueFrom(ev: any, path: string): FieldError[] {
  const from = ev.valueFrom;
  const errs: FieldError[] = [];
  let n = 0;
  if (from.fieldRef) {
    n++;
    errs.push(...validateObjectFieldSelector({ ref: from.fieldRef, allowed: envFieldPaths, path: child(path, 'fieldRef') }));
  }
  if (from.resourceFieldRef) {
    n++;
    const r = from.resourceFieldRef;
    const rp = child(path, 'resourceFieldRef');
    if (!r.resource) errs.push(required(child(rp, 'resource')));
    else if (!resourceFieldPaths.includes(r.resource) && !/^(requests|limits)\.hugepages-/.test(r.resource)) {
      errs.push(notSupported(child(rp, 'resource'), r.resource, resourceFieldPaths));
    }
  }
  for (const kind of ['configMapKeyRef', 'secretKeyRef'] as const) {
    const sel = from[kind];
    if (!sel) continue;
    n++;
    const sp = child(path, kind);
    for (const m of nameIsDNSSubdomain(String(sel.name ?? ''), false)) errs.push(invalid(child(sp, 'name'), sel.name ?? '', m));
    if (!sel.key) errs.push(required(child(sp, 'key')));
    else errs.push(...isConfigMapKey(sel.key).map((m) => invalid(child(sp, 'key'), sel.key, m)));
  }
  if (n === 0) errs.push(invalid(path, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
  else if (ev.value) errs.push(invalid(path, '', 'may not be specified when `value` is not empty'));
  else if (n > 1) errs.push(invalid(path, '', 'may not have more than one field specified at a time'));
  return errs;
}

function validateEnvFrom(envFrom: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (Array.isArray(envFrom) ? envFrom : []).forEach((ev: any, i: number) => {
    const p = index(path, i);
    if (ev?.prefix) errs.push(...isRelaxedEnvVarName(ev.prefix).map((m) => invalid(child(p, 'prefix'), ev.prefix, m)));
    let n = 0;
    for (const kind of ['configMapRef', 'secretRef'] as const) {
      if (!ev?.[kind]) continue;
      n++;
      const name = ev[kind].name;
      if (!name) errs.push(required(child(p, kind, 'name')));
      else for (const m of nameIsDNSSubdomain(name, true)) errs.push(invalid(child(p, kind, 'name'), name, m));
    }
    if (n === 0) errs.push(invalid(path, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) errs.push(invalid(path, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

function validateVolumeMounts(mounts: unknown, volumes: Map<string, any>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const mountPoints = new Set<string>();
  (Array.isArray(mounts) ? mounts : []).forEach((m: any, i: number) => {
    const p = index(path, i);
    if (!m?.name) errs.push(required(child(p, 'name')));
    if (!volumes.has(m?.name)) errs.push(notFound(child(p, 'name'), m?.name ?? ''));
    if (!m?.mountPath) errs.push(required(child(p, 'mountPath')));
    if (mountPoints.has(m?.mountPath)) errs.push(invalid(child(p, 'mountPath'), m.mountPath, 'must be unique'));
    mountPoints.add(m?.mountPath);
    // Upstream reports sub-path problems on the list's path, not the item's.
    if (m?.subPath) errs.push(...validateLocalDescendingPath(m.subPath, child(path, 'subPath')));
    if (m?.subPathExpr) {
      if (m.subPath) errs.push(invalid(child(p, 'subPathExpr'), m.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
      errs.push(...validateLocalDescendingPath(m.subPathExpr, child(path, 'subPathExpr')));
    }
  });
  return errs;
}

function validatePortNumOrName(port: unknown, path: string): FieldError[] {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => invalid(path, port, m));
  if (typeof port === 'string') return isValidPortName(port).map((m) => invalid(path, port, m));
  return [invalid(path, goIntOrString(port), 'must be an integer or a port name')];
}

const handlerKinds = ['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'] as const;

function validateHandler(options: { handler: any; path: string; ctx: ContainerContext; kinds: readonly string[] }): FieldError[] {
  const { handler, path, ctx } = options;
  const errs: FieldError[] = [];
  let n = 0;
  for (const kind of handlerKinds) {
    if (!options.kinds.includes(kind) || handler?.[kind] == null) continue;
    if (n > 0) {
      errs.push(forbidden(child(path, kind), 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    const h = handler[kind];
    const hp = child(path, kind);
    if (kind === 'exec' && !(Array.isArray(h.command) && h.command.length)) errs.push(required(child(hp, 'command')));
    if (kind === 'httpGet') {
      if (!h.path) errs.push(required(child(hp, 'path')));
      errs.push(...validatePortNumOrName(h.port, child(hp, 'port')));
      if (h.scheme !== 'HTTP' && h.scheme !== 'HTTPS') errs.push(notSupported(child(hp, 'scheme'), h.scheme ?? '', ['HTTP', 'HTTPS']));
      for (const header of Array.isArray(h.httpHeaders) ? h.httpHeaders : []) {
        errs.push(...isHTTPHeaderName(String(header?.name ?? '')).map((m) => invalid(child(hp, 'httpHeaders'), header?.name ?? '', m)));
      }
    }
    if (kind === 'tcpSocket') errs.push(...validatePortNumOrName(h.port, child(hp, 'port')));
    if (kind === 'grpc') errs.push(...validatePortNumOrName(typeof h.port === 'number' ? h.port : 0, child(hp, 'port')));
    if (kind === 'sleep' && ctx.gracePeriod != null && (typeof h.seconds !== 'number' || h.seconds < 0 || h.seconds > ctx.gracePeriod)) {
      errs.push(invalid(hp, h.seconds ?? 0, `must be non-negative and less than terminationGracePeriodSeconds (${ctx.gracePeriod})`));
    }
  }
  if (n === 0) errs.push(required(path, 'must specify a handler type'));
  return errs;
}

function validateProbe(options: { probe: any; path: string; ctx: ContainerContext; which: 'liveness' | 'readiness' | 'startup' }): FieldError[] {
  const { probe, path, ctx } = options;
  if (probe == null) return [];
  const errs = validateHandler({ handler: probe, path, ctx, kinds: ['exec', 'httpGet', 'tcpSocket', 'grpc'] });
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    if (typeof probe[f] === 'number' && probe[f] < 0) errs.push(invalid(child(path, f), probe[f], IS_NEGATIVE));
  }
  const grace = probe.terminationGracePeriodSeconds;
  if (typeof grace === 'number' && grace <= 0) errs.push(invalid(child(path, 'terminationGracePeriodSeconds'), grace, 'must be greater than 0'));
  if (options.which !== 'readiness' && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    errs.push(invalid(child(path, 'successThreshold'), probe.successThreshold, 'must be 1'));
  }
  if (options.which === 'readiness' && grace != null) {
    errs.push(invalid(child(path, 'terminationGracePeriodSeconds'), grace, 'must not be set for readinessProbes'));
  }
  return errs;
}

function validateLifecycle(lifecycle: any, path: string, ctx: ContainerContext): FieldError[] {
  const errs: FieldError[] = [];
  for (const hook of ['postStart', 'preStop'] as const) {
    if (lifecycle?.[hook]) {
      errs.push(...validateHandler({ handler: lifecycle[hook], path: child(path, hook), ctx, kinds: ['exec', 'httpGet', 'tcpSocket', 'sleep'] }));
    }
  }
  return errs;
}

const standardContainerResources = new Set(['cpu', 'memory', 'ephemeral-storage']);
const standardResources = new Set([
  'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage', 'limits.cpu',
  'limits.memory', 'limits.ephemeral-storage', 'pods', 'services', 'replicationcontrollers', 'resourcequotas', 'secrets',
  'persistentvolumeclaims', 'configmaps', 'requests.storage', 'services.nodeports', 'services.loadbalancers', 'storage',
]);
const isHugePages = (name: string): boolean => name.startsWith('hugepages-');
const isNative = (name: string): boolean => !name.includes('/') || name.includes('kubernetes.io/');
const overcommittable = (name: string): boolean => isNative(name) && !isHugePages(name);
const isExtended = (name: string): boolean =>
  !isNative(name) && !name.startsWith('requests.') && isQualifiedName(`requests.${name}`).length === 0;

function validateResourceName(name: string, path: string): FieldError[] {
  const errs = isQualifiedName(name).map((m) => invalid(path, name, m));
  if (errs.length) return errs;
  if (!name.includes('/')) {
    if (!standardResources.has(name) && !isHugePages(name)) errs.push(invalid(path, name, 'must be a standard resource type or fully qualified'));
    if (!standardContainerResources.has(name) && !isHugePages(name)) errs.push(invalid(path, name, 'must be a standard resource for containers'));
  } else if (!isNative(name) && !isExtended(name)) {
    errs.push(invalid(path, name, "doesn't follow extended resource name standard"));
  }
  return errs;
}

/** Resource requirements: names, non-negative quantities, requests ≤ limits. */
export function validateResourceRequirements(resources: any, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const limPath = child(path, 'limits');
  const reqPath = child(path, 'requests');
  const limits = resources?.limits ?? {};
  const requests = resources?.requests ?? {};
  for (const name of Object.keys(limits).sort()) {
    const p = key(limPath, name);
    errs.push(...validateResourceName(name, p), ...validateQuantityValue(name, limits[name], p));
  }
  for (const name of Object.keys(requests).sort()) {
    const p = key(reqPath, name);
    errs.push(...validateResourceName(name, p), ...validateQuantityValue(name, requests[name], p));
    const req = parseQuantity(requests[name]);
    if (name in limits) {
      const lim = parseQuantity(limits[name]);
      if (!req || !lim) continue;
      const cmp = compareQuantities(req, lim);
      // Non-overcommittable resources (hugepages, extended) must request exactly their limit.
      if (cmp !== 0 && !overcommittable(name)) {
        errs.push(invalid(reqPath, String(requests[name]), `must be equal to ${name} limit of ${limits[name]}`));
      } else if (cmp > 0) {
        errs.push(invalid(reqPath, String(requests[name]), `must be less than or equal to ${name} limit of ${limits[name]}`));
      }
    } else if (!overcommittable(name)) {
      errs.push(required(limPath, 'Limit must be set for non overcommitable resources'));
    }
  }
  const names = [...Object.keys(limits), ...Object.keys(requests)];
  if (names.some(isHugePages) && !names.some((n) => n === 'cpu' || n === 'memory')) {
    errs.push(forbidden(path, 'HugePages require cpu or memory'));
  }
  return errs;
}

function validateQuantityValue(name: string, value: unknown, path: string): FieldError[] {
  const q = parseQuantity(value);
  if (!q) return [];
  const errs: FieldError[] = [];
  if (isNegative(q)) errs.push(invalid(path, String(value), IS_NEGATIVE));
  // Extended resources are counted in whole units (the value prints through Quantity.String, unquoted).
  if (isExtended(name) && !isWhole(q)) errs.push(invalid(path, goLiteral(String(value)), 'must be an integer'));
  return errs;
}

const MAX_ID = 4294967295;

export function validateSecurityContext(sc: any, path: string): FieldError[] {
  if (sc == null) return [];
  const errs: FieldError[] = [];
  for (const f of ['runAsUser', 'runAsGroup'] as const) {
    const v = sc[f];
    if (typeof v === 'number' && (v < 0 || v > MAX_ID)) errs.push(invalid(child(path, f), v, inclusiveRangeError(0, MAX_ID)));
  }
  if (sc.procMount != null && sc.procMount !== 'Default' && sc.procMount !== 'Unmasked') {
    errs.push(notSupported(child(path, 'procMount'), sc.procMount, ['Default', 'Unmasked']));
  }
  if (sc.allowPrivilegeEscalation === false && sc.privileged === true) {
    errs.push(invalid(path, sc, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
  }
  if (sc.allowPrivilegeEscalation === false && (sc.capabilities?.add ?? []).includes('CAP_SYS_ADMIN')) {
    errs.push(invalid(path, sc, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
  }
  return errs;
}

const terminationMessagePolicies = ['File', 'FallbackToLogsOnError'];

function validateContainerCommon(ctr: any, path: string, ctx: ContainerContext): FieldError[] {
  const errs: FieldError[] = [];
  const namePath = child(path, 'name');
  if (!ctr.name) errs.push(required(namePath));
  else errs.push(...isDNS1123Label(ctr.name).map((m) => invalid(namePath, ctr.name, m)));
  if (!ctr.image) errs.push(required(child(path, 'image')));
  if (!ctr.terminationMessagePolicy) errs.push(required(child(path, 'terminationMessagePolicy')));
  else if (!terminationMessagePolicies.includes(ctr.terminationMessagePolicy)) {
    errs.push(notSupported(child(path, 'terminationMessagePolicy'), ctr.terminationMessagePolicy, terminationMessagePolicies));
  }
  errs.push(...validateContainerPorts(ctr.ports, child(path, 'ports')));
  errs.push(...validateEnv(ctr.env, child(path, 'env')));
  errs.push(...validateEnvFrom(ctr.envFrom, child(path, 'envFrom')));
  errs.push(...validateVolumeMounts(ctr.volumeMounts, ctx.volumes, child(path, 'volumeMounts')));
  errs.push(...validatePullPolicy(ctr.imagePullPolicy, child(path, 'imagePullPolicy')));
  errs.push(...validateResourceRequirements(ctr.resources, child(path, 'resources')));
  errs.push(...validateSecurityContext(ctr.securityContext, child(path, 'securityContext')));
  return errs;
}

function checkHostPortConflicts(containers: any[], path: string): FieldError[] {
  const seen = new Set<string>();
  const errs: FieldError[] = [];
  containers.forEach((ctr, ci) => {
    (Array.isArray(ctr?.ports) ? ctr.ports : []).forEach((port: any, pi: number) => {
      if (!port?.hostPort) return;
      const id = `${port.protocol ?? ''}/${port.hostIP ?? ''}/${port.hostPort}`;
      if (seen.has(id)) errs.push(duplicate(child(index(child(index(path, ci), 'ports'), pi), 'hostPort'), id));
      seen.add(id);
    });
  });
  return errs;
}

/** Regular containers: at least one, unique names, probes and hooks allowed. */
export function validateContainers(containers: unknown, path: string, ctx: ContainerContext): FieldError[] {
  const list: any[] = Array.isArray(containers) ? containers : [];
  if (list.length === 0) return [required(path)];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  list.forEach((raw, i) => {
    const ctr = raw ?? {};
    const p = index(path, i);
    errs.push(...validateContainerCommon(ctr, p, ctx));
    if (names.has(ctr.name)) errs.push(duplicate(child(p, 'name'), ctr.name));
    else names.add(ctr.name);
    if (ctr.lifecycle) errs.push(...validateLifecycle(ctr.lifecycle, child(p, 'lifecycle'), ctx));
    errs.push(...validateProbe({ probe: ctr.livenessProbe, path: child(p, 'livenessProbe'), ctx, which: 'liveness' }));
    errs.push(...validateProbe({ probe: ctr.readinessProbe, path: child(p, 'readinessProbe'), ctx, which: 'readiness' }));
    errs.push(...validateProbe({ probe: ctr.startupProbe, path: child(p, 'startupProbe'), ctx, which: 'startup' }));
    if (ctr.restartPolicy != null) errs.push(forbidden(child(p, 'restartPolicy'), 'may not be set for non-init containers'));
  });
  errs.push(...checkHostPortConflicts(list, path));
  return errs;
}

/** Init containers: names unique across init and regular containers; probes only for sidecars (restartPolicy Always). */
export function validateInitContainers(options: { containers: unknown; regular: unknown; path: string; ctx: ContainerContext }): FieldError[] {
  const { path, ctx } = options;
  const list: any[] = Array.isArray(options.containers) ? options.containers : [];
  const names = new Set<string>((Array.isArray(options.regular) ? options.regular : []).map((c: any) => c?.name));
  const errs: FieldError[] = [];
  list.forEach((raw, i) => {
    const ctr = raw ?? {};
    const p = index(path, i);
    errs.push(...validateContainerCommon(ctr, p, ctx));
    let sidecar = false;
    if (ctr.restartPolicy != null) {
      if (ctr.restartPolicy !== 'Always') errs.push(notSupported(child(p, 'restartPolicy'), ctr.restartPolicy, ['Always']));
      sidecar = ctr.restartPolicy === 'Always';
    }
    if (names.has(ctr.name)) errs.push(duplicate(child(p, 'name'), ctr.name));
    else if (ctr.name) names.add(ctr.name);
    errs.push(...checkHostPortConflicts([ctr], path));
    if (sidecar) {
      if (ctr.lifecycle) errs.push(...validateLifecycle(ctr.lifecycle, child(p, 'lifecycle'), ctx));
      errs.push(...validateProbe({ probe: ctr.livenessProbe, path: child(p, 'livenessProbe'), ctx, which: 'liveness' }));
      errs.push(...validateProbe({ probe: ctr.readinessProbe, path: child(p, 'readinessProbe'), ctx, which: 'readiness' }));
      errs.push(...validateProbe({ probe: ctr.startupProbe, path: child(p, 'startupProbe'), ctx, which: 'startup' }));
    } else {
      for (const f of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (ctr[f] != null) errs.push(forbidden(child(p, f), 'may not be set for init containers without restartPolicy=Always'));
      }
    }
  });
  return errs;
}

/** Pod-only (not template) container rule. */
export function validateContainersOnlyForPod(containers: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (Array.isArray(containers) ? containers : []).forEach((ctr: any, i: number) => {
    const image = ctr?.image;
    if (typeof image === 'string' && image !== image.trim()) {
      errs.push(invalid(child(index(path, i), 'image'), image, 'must not have leading or trailing whitespace'));
    }
  });
  return errs;
}
