// Which available PersistentVolume suits a claim (upstream's
// findBestMatchForClaim): a volume pre-bound to the claim wins; otherwise the
// smallest Available, unclaimed volume of the claim's class and volume mode
// whose labels match the claim's selector, that offers every requested access
// mode and at least the requested storage. With WaitForFirstConsumer only
// pre-bound volumes are taken here (the node decides the rest).
import { matches, selectorFromLabelSelector } from '../../api/selectors/index.ts';
import { compareQuantities, parseQuantity, type Quantity } from '../../api/validation/quantity.ts';
import { claimClass, isVolumeBoundToClaim, volumeClass, type PersistentVolume, type PersistentVolumeClaim } from './types.ts';

const ZERO: Quantity = { num: 0n, den: 1n };
const storageOf = (resources: Record<string, string> | undefined): Quantity => parseQuantity(resources?.storage) ?? ZERO;

/** Every mode the claim asks for is one the volume offers. */
export function accessModesSatisfied(claim: PersistentVolumeClaim, volume: PersistentVolume): boolean {
  const offered = new Set(volume.spec?.accessModes ?? []);
  return (claim.spec?.accessModes ?? []).every((mode) => offered.has(mode));
}

const volumeModeOf = (mode: string | undefined) => mode || 'Filesystem';

/** Why the volume cannot serve the claim, or undefined when it can (upstream's checkVolumeSatisfyClaim). */
export function volumeMismatch(claim: PersistentVolumeClaim, volume: PersistentVolume): string | undefined {
  if (compareQuantities(storageOf(volume.spec?.capacity), storageOf(claim.spec?.resources?.requests)) < 0) return 'requested PV is too small';
  if (volumeClass(volume) !== claimClass(claim)) return 'storageClassName does not match';
  if (volumeModeOf(volume.spec?.volumeMode) !== volumeModeOf(claim.spec?.volumeMode)) return 'incompatible volumeMode';
  if (!accessModesSatisfied(claim, volume)) return 'incompatible accessMode';
  return undefined;
}

export function findBestMatchForClaim(options: { claim: PersistentVolumeClaim; volumes: readonly PersistentVolume[]; delayBinding: boolean }): PersistentVolume | undefined {
  const { claim, volumes, delayBinding } = options;
  const requested = storageOf(claim.spec?.resources?.requests);
  const selector = claim.spec?.selector ? selectorFromLabelSelector(claim.spec.selector) : undefined;
  let best: PersistentVolume | undefined;
  for (const volume of volumes) {
    if (volume.metadata.deletionTimestamp) continue;
    if (volumeModeOf(volume.spec?.volumeMode) !== volumeModeOf(claim.spec?.volumeMode)) continue;
    const capacity = storageOf(volume.spec?.capacity);
    if (isVolumeBoundToClaim(volume, claim)) {
      // Pre-bound (by the user or an earlier pass of ours): the one, if big enough.
      if (compareQuantities(capacity, requested) >= 0) return volume;
      continue;
    }
    if (delayBinding) continue;
    if (volume.spec?.claimRef) continue;
    // Volumes not yet Available are about to become so; binding them now would only conflict.
    if (volume.status?.phase !== 'Available') continue;
    if (selector && !matches(selector, volume.metadata.labels)) continue;
    if (volumeClass(volume) !== claimClass(claim)) continue;
    if (!accessModesSatisfied(claim, volume)) continue;
    if (compareQuantities(capacity, requested) < 0) continue;
    if (!best || compareQuantities(capacity, storageOf(best.spec?.capacity)) < 0) best = volume;
  }
  return best;
}
