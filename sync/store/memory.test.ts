import { storeConformance } from './conformance.js';
import { MemoryStore } from './memory.js';

storeConformance('MemoryStore', async () => ({ store: new MemoryStore() }), { largeSize: 3 * 1024 * 1024 + 7 });
