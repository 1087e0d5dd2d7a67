import { MemoryStore } from '../store/memory.js';
import { defineScenarios } from './scenarios.js';

defineScenarios('memory store', { makeStore: async () => ({ store: new MemoryStore() }) });
