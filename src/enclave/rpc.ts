// Calls from an enclave to the layer on the host thread, for what needs
// shared state (the socket table, the virtual network, the bridge): the host
// side, which answers each request and then bumps a control word the
// enclave sleeps on (the enclave side is layer-client.ts). Replies go as
// messages, so they may carry shared buffers.

import type { MessagePort } from 'node:worker_threads';
import { Errno, SysError } from '../core/errno.js';
import { Control } from './protocol.js';

export type Reply = { ok: true; value: unknown } | { ok: false; errno: number; message?: string };

export interface Envelope<T> {
  seq: number;
  body: T;
}

/** Host side: answers one enclave's requests with `handle`, in order. */
export function serveEnclave<Req>(port: MessagePort, control: Int32Array, handle: (req: Req) => unknown | Promise<unknown>): void {
  port.on('message', (envelope: Envelope<Req>) => {
    void (async () => {
      let reply: Reply;
      try {
        reply = { ok: true, value: await handle(envelope.body) };
      } catch (err) {
        reply = err instanceof SysError
          ? { ok: false, errno: err.errno, message: err.message }
          : { ok: false, errno: Errno.IO, message: (err as Error)?.message ?? String(err) };
      }
      port.postMessage({ seq: envelope.seq, body: reply });
      Atomics.store(control, Control.REPLY, envelope.seq);
      Atomics.notify(control, Control.REPLY);
    })();
  });
}
