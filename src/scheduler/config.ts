// KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1), the file
// `skiff server --scheduler-config` reads: parsed from YAML or JSON text into
// profiles, with upstream's defaults (the default plugin set and weights, all
// enabled through multiPoint). Pure: the caller reads the file.
import { parse as parseYaml } from 'yaml';

export const API_VERSION = 'kubescheduler.config.k8s.io/v1';
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export const EXTENSION_POINTS = [
  'queueSort', 'preEnqueue', 'preFilter', 'filter', 'postFilter', 'preScore', 'score', 'reserve', 'permit', 'preBind', 'bind', 'postBind',
] as const;
export type ExtensionPointName = (typeof EXTENSION_POINTS)[number];

export interface PluginRef {
  name: string;
  weight?: number;
}

export interface PluginSet {
  enabled?: PluginRef[];
  disabled?: PluginRef[];
}

export type PluginsConfig = Partial<Record<ExtensionPointName | 'multiPoint', PluginSet>>;

export interface ProfileConfig {
  schedulerName: string;
  /** Overrides the global value for this profile; 0/undefined: adaptive. */
  percentageOfNodesToScore?: number;
  plugins: PluginsConfig;
  /** Args by plugin name (apiVersion/kind stripped). */
  pluginConfig: Record<string, Record<string, unknown>>;
}

export interface SchedulerConfiguration {
  percentageOfNodesToScore?: number;
  podInitialBackoffSeconds: number;
  podMaxBackoffSeconds: number;
  profiles: ProfileConfig[];
}

/**
 * Upstream's default plugins (v1 getDefaultPlugins), in order, with score
 * weights. Plugins skiff has not implemented yet are left out at build time.
 */
export const DEFAULT_MULTI_POINT: readonly PluginRef[] = Object.freeze([
  { name: 'SchedulingGates' },
  { name: 'PrioritySort' },
  { name: 'NodeUnschedulable' },
  { name: 'NodeName' },
  { name: 'TaintToleration', weight: 3 },
  { name: 'NodeAffinity', weight: 2 },
  { name: 'NodePorts' },
  { name: 'NodeResourcesFit', weight: 1 },
  { name: 'VolumeRestrictions' },
  { name: 'NodeVolumeLimits' },
  { name: 'VolumeBinding' },
  { name: 'VolumeZone' },
  { name: 'PodTopologySpread', weight: 2 },
  { name: 'InterPodAffinity', weight: 2 },
  { name: 'DynamicResources' },
  { name: 'DefaultPreemption' },
  { name: 'NodeResourcesBalancedAllocation', weight: 1 },
  { name: 'ImageLocality', weight: 1 },
  { name: 'DefaultBinder' },
]);

export class ConfigError extends Error {}

export function defaultProfileConfig(schedulerName = DEFAULT_SCHEDULER_NAME): ProfileConfig {
  return { schedulerName, plugins: {}, pluginConfig: {} };
}

export function defaultSchedulerConfiguration(): SchedulerConfiguration {
  return { podInitialBackoffSeconds: 1, podMaxBackoffSeconds: 10, profiles: [defaultProfileConfig()] };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function percentage(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 100) {
    throw new ConfigError(`${path}: Invalid value: ${JSON.stringify(v)}: not in valid range [0-100]`);
  }
  return v;
}

function pluginList(v: unknown, path: string): PluginRef[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ConfigError(`${path}: must be a list`);
  return v.map((p, i) => {
    if (!isRecord(p) || typeof p.name !== 'string' || p.name === '') throw new ConfigError(`${path}[${i}].name: Required value`);
    if (p.weight !== undefined && (typeof p.weight !== 'number' || !Number.isInteger(p.weight) || p.weight < 0)) {
      throw new ConfigError(`${path}[${i}].weight: Invalid value: ${JSON.stringify(p.weight)}: must be a non-negative integer`);
    }
    return p.weight === undefined ? { name: p.name } : { name: p.name, weight: p.weight };
  });
}

function parsePlugins(v: unknown, path: string): PluginsConfig {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw new ConfigError(`${path}: must be an object`);
  const out: PluginsConfig = {};
  for (const [point, set] of Object.entries(v)) {
    if (point !== 'multiPoint' && !(EXTENSION_POINTS as readonly string[]).includes(point)) {
      throw new ConfigError(`${path}.${point}: unknown extension point`);
    }
    if (set === null || set === undefined) continue;
    if (!isRecord(set)) throw new ConfigError(`${path}.${point}: must be an object`);
    out[point as ExtensionPointName] = {
      enabled: pluginList(set.enabled, `${path}.${point}.enabled`),
      disabled: pluginList(set.disabled, `${path}.${point}.disabled`),
    };
  }
  return out;
}

function parseProfile(v: unknown, path: string): ProfileConfig {
  if (!isRecord(v)) throw new ConfigError(`${path}: must be an object`);
  const schedulerName = v.schedulerName ?? DEFAULT_SCHEDULER_NAME;
  if (typeof schedulerName !== 'string' || schedulerName === '') throw new ConfigError(`${path}.schedulerName: Required value`);
  const pluginConfig: Record<string, Record<string, unknown>> = {};
  const pc = v.pluginConfig ?? [];
  if (!Array.isArray(pc)) throw new ConfigError(`${path}.pluginConfig: must be a list`);
  pc.forEach((entry, i) => {
    if (!isRecord(entry) || typeof entry.name !== 'string') throw new ConfigError(`${path}.pluginConfig[${i}].name: Required value`);
    if (entry.name in pluginConfig) throw new ConfigError(`${path}.pluginConfig[${i}]: Duplicate value: "${entry.name}"`);
    const { apiVersion: _a, kind: _k, ...args } = isRecord(entry.args) ? entry.args : {};
    pluginConfig[entry.name] = args;
  });
  return {
    schedulerName,
    percentageOfNodesToScore: percentage(v.percentageOfNodesToScore, `${path}.percentageOfNodesToScore`),
    plugins: parsePlugins(v.plugins, `${path}.plugins`),
    pluginConfig,
  };
}

/** Parses a KubeSchedulerConfiguration document (YAML or JSON). Throws ConfigError with the field path. */
export function parseSchedulerConfiguration(text: string): SchedulerConfiguration {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`scheduler configuration is not valid YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(doc)) throw new ConfigError('scheduler configuration must be an object');
  if (doc.apiVersion !== API_VERSION) {
    throw new ConfigError(`apiVersion: Unsupported value: ${JSON.stringify(doc.apiVersion ?? '')}: supported values: "${API_VERSION}"`);
  }
  if (doc.kind !== undefined && doc.kind !== 'KubeSchedulerConfiguration') {
    throw new ConfigError(`kind: Unsupported value: ${JSON.stringify(doc.kind)}: supported values: "KubeSchedulerConfiguration"`);
  }
  const defaults = defaultSchedulerConfiguration();
  const profilesRaw = doc.profiles ?? [];
  if (!Array.isArray(profilesRaw)) throw new ConfigError('profiles: must be a list');
  const profiles = profilesRaw.length ? profilesRaw.map((p, i) => parseProfile(p, `profiles[${i}]`)) : defaults.profiles;
  const seen = new Set<string>();
  profiles.forEach((p, i) => {
    if (seen.has(p.schedulerName)) throw new ConfigError(`profiles[${i}].schedulerName: Duplicate value: "${p.schedulerName}"`);
    seen.add(p.schedulerName);
  });
  const seconds = (v: unknown, def: number, path: string) => {
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || v <= 0) throw new ConfigError(`${path}: Invalid value: ${JSON.stringify(v)}: must be greater than 0`);
    return v;
  };
  return {
    percentageOfNodesToScore: percentage(doc.percentageOfNodesToScore, 'percentageOfNodesToScore'),
    podInitialBackoffSeconds: seconds(doc.podInitialBackoffSeconds, defaults.podInitialBackoffSeconds, 'podInitialBackoffSeconds'),
    podMaxBackoffSeconds: seconds(doc.podMaxBackoffSeconds, defaults.podMaxBackoffSeconds, 'podMaxBackoffSeconds'),
    profiles,
  };
}
