// From a profile in the configuration to a running Framework: merge the
// user's plugin sets with the defaults and expand multiPoint into every
// extension point a plugin implements, with upstream's rules:
//
// - multiPoint: the defaults minus `disabled` ("*" drops them all); an
//   enabled plugin that is also a default replaces it in place (new weight),
//   other enabled plugins are appended;
// - a specific extension point lists, in order: plugins enabled there that
//   are also multiPoint plugins, then the multiPoint plugins implementing it
//   (unless disabled there, by name or "*"), then the rest enabled there;
// - a score weight of 0 means 1.
//
// Default plugins the registry lacks (volumes, DRA, … not in skiff yet) are
// left out and listed in `missing`; a plugin the user names must exist.
import { DEFAULT_MULTI_POINT, EXTENSION_POINTS, defaultProfileConfig, type PluginRef, type PluginSet, type ProfileConfig, type SchedulerConfiguration } from './config.ts';
import type { SpeedOptions } from './framework/equivalence.ts';
import type { Binding, DataProviders, Nominator } from './framework/interface.ts';
import { Framework, type ExtensionPointName, type ExtensionPoints } from './framework/runtime.ts';
import { inTreeRegistry, type Registry } from './registry.ts';

export interface BuildOptions {
  registry?: Registry;
  /** The configuration's global percentageOfNodesToScore (the profile's own wins). */
  percentageOfNodesToScore?: number;
  speed?: Partial<SpeedOptions>;
  random?: () => number;
  nominator?: Nominator;
  bindPod?: (binding: Binding) => Promise<void>;
  messageOrder?: 'count' | 'lexical';
  /** PDBs, Services, ReplicaSets, … from the loop's informers (DefaultPreemption, PodTopologySpread defaults). */
  data?: DataProviders;
}

/** Upstream mergePluginSet: defaults minus disabled, re-configured defaults updated in place, others appended. */
export function mergePluginSet(defaults: readonly PluginRef[], custom: PluginSet | undefined): { enabled: PluginRef[]; disabled: Set<string> } {
  const disabled = new Set((custom?.disabled ?? []).map((p) => p.name));
  const customEnabled = custom?.enabled ?? [];
  const byName = new Map(customEnabled.map((p, i) => [p.name, i]));
  const replaced = new Set<number>();
  const enabled: PluginRef[] = [];
  if (!disabled.has('*')) {
    for (const d of defaults) {
      if (disabled.has(d.name)) continue;
      const i = byName.get(d.name);
      if (i !== undefined) {
        replaced.add(i);
        enabled.push(customEnabled[i]!);
      } else {
        enabled.push(d);
      }
    }
  }
  customEnabled.forEach((p, i) => {
    if (!replaced.has(i)) enabled.push(p);
  });
  return { enabled, disabled };
}

export interface ExpandedProfile {
  points: ExtensionPoints;
  /** Default plugins left out because the registry does not have them. */
  missing: string[];
}

export function expandPlugins(
  profile: ProfileConfig, registry: Registry, implementsPoint: (name: string, point: ExtensionPointName) => boolean,
): ExpandedProfile {
  const userNamed = new Set<string>();
  for (const set of Object.values(profile.plugins)) for (const p of set?.enabled ?? []) userNamed.add(p.name);
  for (const name of userNamed) if (!(name in registry)) throw new Error(`plugin "${name}" does not exist`);

  const missing: string[] = [];
  const multiPoint = mergePluginSet(DEFAULT_MULTI_POINT, profile.plugins.multiPoint).enabled.filter((p) => {
    if (p.name in registry) return true;
    missing.push(p.name);
    return false;
  });
  const multiNames = new Set(multiPoint.map((p) => p.name));

  const points = {} as Record<ExtensionPointName, PluginRef[]>;
  for (const point of EXTENSION_POINTS) {
    const set = profile.plugins[point];
    const enabled = set?.enabled ?? [];
    const disabled = new Set((set?.disabled ?? []).map((p) => p.name));
    const explicit = new Set(enabled.map((p) => p.name));
    const list = [
      ...enabled.filter((p) => multiNames.has(p.name)),
      ...multiPoint.filter((p) => !explicit.has(p.name) && !disabled.has('*') && !disabled.has(p.name) && implementsPoint(p.name, point)),
      ...enabled.filter((p) => !multiNames.has(p.name)),
    ];
    const seen = new Set<string>();
    for (const p of list) {
      if (seen.has(p.name)) throw new Error(`plugin "${p.name}" already registered as "${point}" plugin`);
      seen.add(p.name);
    }
    points[point] = list;
  }
  const names = (point: ExtensionPointName) => points[point].map((p) => p.name);
  return {
    points: {
      queueSort: names('queueSort'),
      preEnqueue: names('preEnqueue'),
      preFilter: names('preFilter'),
      filter: names('filter'),
      postFilter: names('postFilter'),
      preScore: names('preScore'),
      score: points.score.map((p) => ({ name: p.name, weight: p.weight || 1 })),
      reserve: names('reserve'),
      permit: names('permit'),
      preBind: names('preBind'),
      bind: names('bind'),
      postBind: names('postBind'),
    },
    missing,
  };
}

/** A Framework for one profile (the default profile when none is given). */
export function buildFramework(profile: ProfileConfig = defaultProfileConfig(), options: BuildOptions = {}): Framework & { missingPlugins: string[] } {
  const registry = options.registry ?? inTreeRegistry();
  let missing: string[] = [];
  const fw = new Framework({
    profileName: profile.schedulerName,
    factories: registry,
    pluginArgs: profile.pluginConfig,
    extensionPoints: (implementsPoint) => {
      const expanded = expandPlugins(profile, registry, implementsPoint);
      missing = expanded.missing;
      return expanded.points;
    },
    percentageOfNodesToScore: profile.percentageOfNodesToScore ?? options.percentageOfNodesToScore,
    speed: options.speed,
    random: options.random,
    nominator: options.nominator,
    bindPod: options.bindPod,
    messageOrder: options.messageOrder,
    data: options.data,
  });
  return Object.assign(fw, { missingPlugins: missing });
}

/** One Framework per profile, by schedulerName. */
export function buildFrameworks(config: SchedulerConfiguration, options: BuildOptions = {}): Map<string, Framework & { missingPlugins: string[] }> {
  const out = new Map<string, Framework & { missingPlugins: string[] }>();
  for (const profile of config.profiles) {
    out.set(profile.schedulerName, buildFramework(profile, { ...options, percentageOfNodesToScore: config.percentageOfNodesToScore }));
  }
  return out;
}
