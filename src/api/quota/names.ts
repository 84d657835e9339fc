// Resource name classes quota and limits care about (upstream's helper.IsNativeResource,
// IsExtendedResourceName).

/** Unprefixed, or prefixed under kubernetes.io (cpu, memory, hugepages-2Mi, kubernetes.io/…). */
export const isNativeResource = (name: string): boolean => !name.includes('/') || name.includes('kubernetes.io/');

/** A domain-prefixed resource outside kubernetes.io (example.com/gpu), which quota counts as requests.<name>. */
export const isExtendedResourceName = (name: string): boolean => !isNativeResource(name) && !name.startsWith('requests.');
