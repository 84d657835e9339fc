// The kubelet (node agent core). See README.md.
export { startKubelet, type Kubelet, type KubeletOptions } from './kubelet.ts';
export type { KubeletImages } from './context.ts';
