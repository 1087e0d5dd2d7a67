/**
 * A chunk pool worker: chunks and hashes whole files, one request at a time, and replies with
 * boundaries and ids only (chunk bytes never cross the thread boundary). Loaded by pool.ts.
 */
import { parentPort } from 'node:worker_threads';
import { chunkFileHere } from './file.js';
import { toWire, type ChunkReply, type ChunkRequest } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('chunker worker must run in a worker thread');

port.on('message', (req: ChunkRequest) => {
  chunkFileHere(req.path, req.params, req.hash).then(
    (result) => port.postMessage({ id: req.id, ok: true, result } satisfies ChunkReply),
    (err: unknown) => port.postMessage({ id: req.id, ok: false, error: toWire(err) } satisfies ChunkReply),
  );
});
