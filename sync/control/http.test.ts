// listenLoopback's connection limits over real sockets: a connection that sends no request is
// closed, and no more than the cap are held at once, so that another program on this machine
// cannot pile up idle sockets until the agent runs out of file handles.
import assert from 'node:assert/strict';
import { request, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { listenLoopback } from './http.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Resolves once the server closed `socket`; fails (and closes it) if it is still open after a while. */
function closed(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.closed) return resolve();
    const stuck = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server left the connection open'));
    }, 5000);
    socket.once('close', () => {
      clearTimeout(stuck);
      resolve();
    });
  });
}

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

describe('listenLoopback', () => {
  const slowAnswer = async (_req: unknown, res: ServerResponse): Promise<void> => {
    await new Promise((r) => setTimeout(r, 300));
    res.end('ok');
  };

  it('closes a connection that sends no request, and never one whose request is under way', async () => {
    const { server, port } = await listenLoopback(slowAnswer, '127.0.0.1', 0, { idleMs: 100 });
    try {
      const idle = await open(port);
      await closed(idle);
      // The answer takes longer than the idle time: a request, once in, is not idle.
      assert.equal(await get(port), 200);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('holds at most maxConnections at once: one more is closed at once, and taken again once one went', async () => {
    const { server, port } = await listenLoopback(slowAnswer, '127.0.0.1', 0, { maxConnections: 3 });
    try {
      const held = await Promise.all([open(port), open(port), open(port)]);
      const extra = await open(port);
      await closed(extra);
      held[0]?.destroy();
      await closed(held[0]!);
      for (let tries = 0, status = 0; status !== 200; tries++) {
        assert.ok(tries < 100, 'a connection is taken again once one went');
        status = await get(port).catch(() => 0);
      }
      for (const s of held) s.destroy();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
