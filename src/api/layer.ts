// A layer (FIG. 46): the virtual system layer one or many guests run on.
// It owns the socket table and the virtual network they share, the bridge to
// the host and the policy that governs it. run() makes a layer for one guest;
// `capsule up` makes one for a whole system.

import { MessageChannel } from 'node:worker_threads';
import type { LayerMembership } from '../enclave/launch.js';
import { CapsuleError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import type { ExecutionMode } from '../enclave/protocol.js';
import { serveEnclave } from '../enclave/rpc.js';
import { escapeText } from '../audit/escape.js';
import { formatAddr } from '../layer/net/address.js';
import type { NetRequest } from '../layer/net/protocol.js';
import { NetService, type NetDecision } from '../layer/net/service.js';
import { statusName } from '../layer/net/status.js';
import type { TableRow } from '../layer/net/table.js';
import { emptyNetworkPolicy, type NetworkPolicy } from '../policy/network.js';
import { DEFAULT_LIMITS } from '../policy/policy.js';
import { AuditLog } from '../audit/log.js';
import type { GuestRow, Lifecycle } from '../lifecycle/state.js';

export interface LayerOptions {
  mode?: ExecutionMode;
  network?: NetworkPolicy;
  /** Receives one line per socket status change (--trace-sockets). */
  traceSockets?: (line: string) => void;
  /** Bytes queued per socket direction, and sockets per guest (secure mode). */
  queueBytes?: number;
  maxSockets?: number;
  /** The audit log to write to (default: a new one, with no sinks). */
  audit?: AuditLog;
  /** Which guests may reach which (the system file's "peers"); default: all. */
  canReach?: (from: string, to: string) => boolean;
}

export class Layer {
  readonly mode: ExecutionMode;
  readonly net: NetService;
  readonly audit: AuditLog;
  private started = false;
  /** Every guest run on this layer, by name, with its lifecycle (for `capsule ps`). */
  readonly guests = new Map<string, Lifecycle>();

  constructor(o: LayerOptions = {}) {
    this.mode = o.mode ?? 'secure';
    this.audit = o.audit ?? new AuditLog();
    const secure = this.mode === 'secure';
    const trace = o.traceSockets;
    this.net = new NetService({
      mode: this.mode,
      policy: o.network ?? emptyNetworkPolicy(),
      host: async () => new (await import('../host/net.js')).NodeHostNet(),
      ...(trace ? {
        // Escaped like every line that may carry a guest-chosen string.
        tracer: (e, from, to, op) => trace(escapeText(`socket ${e.id} ${e.local.owner.enclave}:${e.local.owner.fd} ` +
          `${e.local.protocol} ${formatAddr(e.local.local)} -> ${formatAddr(e.local.peer)}: ` +
          `${statusName(from)} -> ${statusName(to)} (${op})`)),
      } : {}),
      onDecision: (d: NetDecision) => this.audit.record(d),
      ...(o.canReach ? { canReach: o.canReach } : {}),
      ...(secure ? {
        maxQueueBytes: o.queueBytes ?? DEFAULT_LIMITS.queueBytes,
        maxSockets: o.maxSockets ?? DEFAULT_LIMITS.maxSockets,
      } : {}),
    });
  }

  /** Names a guest on the layer's network before it starts (so names resolve from the first call). */
  addGuest(name: string): void {
    if (!this.net.vnet.host(name)) this.net.vnet.addGuest(name);
  }

  /** Starts what the layer serves to the host (published ports). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    try {
      await this.net.start();
    } catch (err) {
      this.net.stop();
      throw new CapsuleError(ExitCode.UNAVAILABLE, `cannot publish a port: ${(err as Error).message}`);
    }
  }

  /** Connects an enclave's calls to this layer's services. */
  join(name: string, control: SharedArrayBuffer): LayerMembership {
    const { port1, port2 } = new MessageChannel();
    this.net.attach(name, control);
    serveEnclave<NetRequest>(port1, new Int32Array(control), (req) => this.net.handle(name, req));
    return {
      port: port2,
      leave: () => {
        this.net.detach(name);
        port1.close();
      },
    };
  }

  /** The live socket table, one row per entry. */
  sockets(): TableRow[] {
    return this.net.table.rows();
  }

  /** One row per guest, as of now. */
  guestRows(): GuestRow[] {
    const owners = this.sockets().map((r) => r.owner.slice(0, r.owner.lastIndexOf(':')));
    return [...this.guests.values()].map((g) => g.row(owners.filter((o) => o === g.name).length));
  }

  close(): void {
    this.net.stop();
    this.audit.close();
  }
}
