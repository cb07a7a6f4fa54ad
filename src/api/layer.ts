// A layer (FIG. 46): the virtual system layer one or many guests run on.
// It owns the socket table and the virtual network they share, the bridge to
// the host and the policy that governs it. run() makes a layer for one guest;
// `capsule up` makes one for a whole system.

import { MessageChannel } from 'node:worker_threads';
import type { LayerMembership } from '../enclave/launch.js';
import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { ExecutionMode } from '../enclave/protocol.js';
import { serveEnclave } from '../enclave/rpc.js';
import { escapeText } from '../audit/escape.js';
import type { NetRequest } from '../layer/net/protocol.js';
import { NetService, type NetDecision } from '../layer/net/service.js';
import type { TableRow } from '../layer/net/table.js';
import { emptyNetworkPolicy, parseConnectGrant, parsePublish, PolicyError, type NetworkPolicy } from '../policy/network.js';
import { LIMITS } from '../policy/values.js';
import type { AuditRecord } from '../audit/record.js';
import type { NetworkOptions } from './run.js';
import { DEFAULT_LIMITS } from '../policy/policy.js';
import { AuditLog } from '../audit/log.js';
import { startFlushTimer, WriteBoard } from '../layer/fs/write-board.js';
import type { GuestRow, Lifecycle } from '../lifecycle/state.js';

export interface LayerOptions {
  /** "secure" (default) or "normal"; every guest run on the layer runs in its mode. */
  mode?: ExecutionMode;
  /** What the guests on the layer may reach outside it, as run() takes it: `HOST:PORT` grants and refusals, DNS, published ports. */
  network?: NetworkOptions;
  /** Bytes queued per socket direction and sockets per guest (secure mode): numbers, or sizes such as "1MiB". */
  limits?: { queueBytes?: number | string; maxSockets?: number | string };
  /** Receives one line per socket status change (--trace-sockets). */
  traceSockets?: (line: string) => void;
  /** Receives every audit record of every guest on the layer. */
  onAudit?: (record: AuditRecord) => void;
  /** @internal The network policy already parsed (run(), System). */
  networkPolicy?: NetworkPolicy;
  /** @internal */
  queueBytes?: number;
  /** @internal */
  maxSockets?: number;
  /** @internal The audit log to write to (default: a new one, with no sinks). */
  audit?: AuditLog;
  /** @internal Which guests may reach which (the system file's "peers"); default: all. */
  canReach?: (from: string, to: string) => boolean;
  /** Coalesce small sequential file writes (default true; see layer/fs/write-cache.ts). */
  writeCache?: boolean;
}

/** Guests of one layer that get a write-cache slot; any more write straight through. */
const WRITE_CACHE_SLOTS = 64;

/** `network` as grants; a refusal names the option and entry (CapsuleError, 64). */
function networkPolicyOf(n: NetworkOptions | undefined): NetworkPolicy {
  const policy = emptyNetworkPolicy();
  if (!n) return policy;
  const each = <T>(field: keyof NetworkOptions, list: string[] | undefined, parse: (s: string) => T): T[] => (list ?? []).map((text, i) => {
    try {
      return parse(text);
    } catch (err) {
      if (err instanceof PolicyError) throw new CapsuleError(ExitCode.USAGE, `network.${field}[${i}]: ${err.message}`);
      throw err;
    }
  });
  policy.allowConnect = each('allowConnect', n.allowConnect, parseConnectGrant);
  policy.denyConnect = each('denyConnect', n.denyConnect, parseConnectGrant);
  policy.publish = each('publish', n.publish, (t) => parsePublish(t));
  policy.allowDns = n.allowDns ?? false;
  return policy;
}

/** A layer limit given as a number or text, checked as the flag and file forms are. */
function limitOf(key: 'queueBytes' | 'maxSockets', value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const r = LIMITS[key].parse(value);
  if (!r.ok) throw new CapsuleError(ExitCode.USAGE, `limits.${key}: ${r.message}`);
  return r.value;
}

/**
 * The layer guests share: pass it as run()'s `layer` to put several guests on
 * one virtual network. It starts itself (publishing its ports) when the first
 * guest runs; close() when done.
 */
export class Layer {
  readonly mode: ExecutionMode;
  /** @internal */
  readonly net: NetService;
  /** @internal */
  readonly audit: AuditLog;
  private started = false;
  private readonly writes: WriteBoard | undefined;
  private readonly freeSlots: number[] = [];
  private flushTimer = false;
  /** Every guest run on this layer, by name, with its lifecycle (for `capsule ps`). */
  readonly guests = new Map<string, Lifecycle>();

  constructor(o: LayerOptions = {}) {
    this.mode = o.mode ?? 'secure';
    if (o.writeCache !== false) {
      this.writes = WriteBoard.create(WRITE_CACHE_SLOTS);
      for (let s = WRITE_CACHE_SLOTS - 1; s >= 0; s--) this.freeSlots.push(s);
    }
    if (this.mode !== 'secure' && this.mode !== 'normal') throw new CapsuleError(ExitCode.USAGE, `mode: expected "secure" or "normal"`);
    const queueBytes = o.queueBytes ?? limitOf('queueBytes', o.limits?.queueBytes);
    const maxSockets = o.maxSockets ?? limitOf('maxSockets', o.limits?.maxSockets);
    this.audit = o.audit ?? new AuditLog();
    if (o.onAudit) this.audit.addSink(o.onAudit);
    const secure = this.mode === 'secure';
    const trace = o.traceSockets;
    this.net = new NetService({
      mode: this.mode,
      policy: o.networkPolicy ?? networkPolicyOf(o.network),
      host: async () => new (await import('../host/net.js')).NodeHostNet(),
      ...(trace ? {
        // Escaped like every line that may carry a guest-chosen string.
        tracer: (line) => trace(escapeText(line)),
      } : {}),
      onDecision: (d: NetDecision) => this.audit.record(d),
      ...(o.canReach ? { canReach: o.canReach } : {}),
      ...(secure ? {
        maxQueueBytes: queueBytes ?? DEFAULT_LIMITS.queueBytes,
        maxSockets: maxSockets ?? DEFAULT_LIMITS.maxSockets,
      } : {}),
    });
  }

  /** @internal Names a guest on the layer's network before it starts (so names resolve from the first call). */
  addGuest(name: string): void {
    if (!this.net.vnet.host(name)) this.net.vnet.addGuest(name);
  }

  /** Binds the published ports (CapsuleError 69 if one is taken); run() does this on the layer's first guest, so calling it is needed only to bind earlier. */
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

  /** @internal Connects an enclave's calls to this layer's services. */
  join(name: string, control: SharedArrayBuffer): LayerMembership {
    const { port1, port2 } = new MessageChannel();
    this.net.attach(name, control);
    serveEnclave<NetRequest>(port1, new Int32Array(control), (req) => this.net.handle(name, req));
    const board = this.writes;
    const slot = this.freeSlots.pop();
    if (board && !this.flushTimer) {
      this.flushTimer = true;
      startFlushTimer(board);
    }
    return {
      port: port2,
      ...(board && slot !== undefined ? { writeCache: { board: board.sab, slot } } : {}),
      leave: () => {
        this.net.detach(name);
        port1.close();
        // The enclave's thread is gone (ended or killed): what its slot still holds goes out now.
        if (board && slot !== undefined) {
          board.releaseSlot(slot);
          this.freeSlots.push(slot);
        }
      },
    };
  }

  /** Whether guest `name` has a TCP socket listening on `port` (what a system's "after" waits for). */
  listens(name: string, port: number): boolean {
    const owner = `${name.toLowerCase()}:`;
    return this.sockets().some((r) => r.owner.startsWith(owner) && r.protocol === 'tcp' && r.status === 'LISTENING' && r.local.endsWith(`:${port}`));
  }

  /** The live socket table, one row per entry. */
  sockets(): TableRow[] {
    return this.net.table.rows();
  }

  /** Stops publishing and closes the audit log; guests still running on the layer lose their network. */
  /** One row per guest, as of now. */
  guestRows(): GuestRow[] {
    const owners = this.sockets().map((r) => r.owner.slice(0, r.owner.lastIndexOf(':')));
    return [...this.guests.values()].map((g) => g.row(owners.filter((o) => o === g.name).length));
  }

  close(): void {
    this.writes?.retire();
    this.net.stop();
    this.audit.close();
  }
}
