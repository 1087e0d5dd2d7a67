/**
 * A chunk pool worker: chunks and hashes whole files, one request at a time, and replies with
 * boundaries and ids only (chunk bytes are never sent back). A batch of small files comes as their
 * bytes, read by the caller, and is answered in one reply. Loaded by pool.ts.
 */
import { parentPort } from 'node:worker_threads';
import { chunkFileHere } from './file.js';
import { splitBytes, toWire, type ChunkReply, type ChunkRequest } from './protocol.js';
import { chunkBytes } from './stream.js';

const port = parentPort;
if (!port) throw new Error('chunker worker must run in a worker thread');

port.on('message', (req: ChunkRequest) => {
  if ('lengths' in req) {
    try {
      const results = splitBytes(new Uint8Array(req.bytes), req.lengths).map((b) => chunkBytes(b, req.params, req.hash).file);
      port.postMessage({ id: req.id, ok: true, results } satisfies ChunkReply);
    } catch (err) {
      port.postMessage({ id: req.id, ok: false, error: toWire(err) } satisfies ChunkReply);
    }
    return;
  }
  chunkFileHere(req.path, req.params, req.hash).then(
    (result) => port.postMessage({ id: req.id, ok: true, result } satisfies ChunkReply),
    (err: unknown) => port.postMessage({ id: req.id, ok: false, error: toWire(err) } satisfies ChunkReply),
  );
});
