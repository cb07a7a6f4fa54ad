// Calls from an enclave to the layer on the host thread (see rpc.ts for the
// host's side). The request goes as a message; the guest's thread then sleeps
// on a control word until the layer posts the reply and bumps the word, and
// takes the reply synchronously with receiveMessageOnPort. About 15
// microseconds a call: for control operations, not data.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { Errno, SysError } from '../core/errno.js';
import { Control } from './protocol.js';
import type { Envelope, Reply } from './rpc.js';

/** Spins this many times on the reply word before sleeping. */
const SPIN = 5000;

export class LayerClient<Req> {
  private seq = 0;

  constructor(private readonly port: MessagePort, private readonly control: Int32Array) {}

  call<R>(request: Req): R {
    const seq = ++this.seq;
    this.port.postMessage({ seq, body: request } satisfies Envelope<Req>);
    let spins = 0;
    while (Atomics.load(this.control, Control.REPLY) !== seq) {
      if (++spins > SPIN) Atomics.wait(this.control, Control.REPLY, seq - 1, 1000);
    }
    const received = receiveMessageOnPort(this.port);
    const envelope = received?.message as Envelope<Reply> | undefined;
    if (!envelope || envelope.seq !== seq) throw new SysError(Errno.IO, 'layer reply lost');
    const reply = envelope.body;
    if (!reply.ok) throw new SysError(reply.errno, reply.message);
    return reply.value as R;
  }
}
