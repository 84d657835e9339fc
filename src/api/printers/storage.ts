// Printers for storage.k8s.io: storage classes and the CSI objects.
import type { KindPrinter, Obj } from './types.ts';
import { ageColumn, nameColumn, str } from './helpers.ts';

const DEFAULT_CLASS_ANNOTATIONS = [
  'storageclass.kubernetes.io/is-default-class',
  'storageclass.beta.kubernetes.io/is-default-class',
];

const isDefaultClass = (o: Obj): boolean =>
  DEFAULT_CLASS_ANNOTATIONS.some((a) => o?.metadata?.annotations?.[a] === 'true');

const storageClassPrinter: KindPrinter = {
  columns: [
    { ...nameColumn, cell: (o) => `${str(o?.metadata?.name)}${isDefaultClass(o) ? ' (default)' : ''}` },
    { name: 'Provisioner', description: 'The volume plugin that provisions volumes.', cell: (o) => str(o?.provisioner) },
    { name: 'ReclaimPolicy', description: 'What happens to released volumes.', cell: (o) => str(o?.reclaimPolicy ?? 'Delete') },
    { name: 'VolumeBindingMode', description: 'When volumes are bound to claims.', cell: (o) => str(o?.volumeBindingMode ?? 'Immediate') },
    { name: 'AllowVolumeExpansion', description: 'Whether volumes may grow.', cell: (o) => o?.allowVolumeExpansion === true },
    ageColumn,
  ],
};

export const storagePrinters: Record<string, KindPrinter> = {
  StorageClass: storageClassPrinter,
  CSINode: {
    columns: [
      nameColumn,
      { name: 'Drivers', type: 'integer', description: 'CSI drivers registered on the node.', cell: (o) => (Array.isArray(o?.spec?.drivers) ? o.spec.drivers.length : 0) },
      ageColumn,
    ],
  },
  VolumeAttachment: {
    columns: [
      nameColumn,
      { name: 'Attacher', format: 'name', description: 'The driver that attaches the volume.', cell: (o) => str(o?.spec?.attacher) },
      { name: 'PV', description: 'The persistent volume attached.', cell: (o) => str(o?.spec?.source?.persistentVolumeName) },
      { name: 'Node', description: 'The node it is attached to.', cell: (o) => str(o?.spec?.nodeName) },
      { name: 'Attached', type: 'boolean', description: 'Whether the attach succeeded.', cell: (o) => o?.status?.attached === true },
      ageColumn,
    ],
  },
};
