// The live heap, for the standalone memory measurements in scripts/ (run with node --expose-gc).

const gc = (globalThis as { gc?: () => void }).gc;

/** heapUsed + arrayBuffers after full collections: what is still reachable. */
export function heapBytes(): number {
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
