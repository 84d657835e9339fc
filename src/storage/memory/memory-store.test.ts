import { runStorageConformance } from '../conformance.ts';
import { createMemoryStore } from './memory-store.ts';

runStorageConformance('memory', async () => ({ store: createMemoryStore(), cleanup: async () => {} }));
