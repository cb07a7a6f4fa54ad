// poll_oneoff: clock timeouts and descriptor readiness, waiting inside the
// enclave until something the host delivers changes (see Preview1Context).

import { Errno, SysError } from '../../core/errno.js';
import { errnoFor } from '../errors.js';
import { ClockId, EventRwFlags, EventType, Layout, Rights, SubClockFlags } from '../../core/witx.js';
import type { Readiness } from '../../layer/descriptor.js';
import type { Preview1Context } from './context.js';

interface Subscription {
  userdata: bigint;
  type: number;
  /** For clocks: when it fires, in performance.now() milliseconds. */
  deadline: number;
  fd: number;
}

interface Event {
  userdata: bigint;
  type: number;
  error: number;
  nbytes: bigint;
  flags: number;
}

export function pollFunctions(ctx: Preview1Context) {
  const m = ctx.memory;
  const S = Layout.subscription;
  const E = Layout.event;

  const readSubscription = (ptr: number, errors: Event[]): Subscription | undefined => {
    const userdata = m.u64(ptr + S.userdata);
    const type = m.u8(ptr + S.tag);
    if (type === EventType.CLOCK) {
      const id = m.u32(ptr + S.clockId);
      const timeout = m.u64(ptr + S.timeout);
      const flags = m.u16(ptr + S.flags);
      let waitNs: bigint;
      try {
        if (id !== ClockId.REALTIME && id !== ClockId.MONOTONIC &&
            id !== ClockId.PROCESS_CPUTIME && id !== ClockId.THREAD_CPUTIME) throw new SysError(Errno.INVAL);
        waitNs = flags & SubClockFlags.ABSTIME ? timeout - ctx.clocks.now(id) : timeout;
      } catch (e) {
        errors.push({ userdata, type, error: errnoFor(e, 'poll_oneoff'), nbytes: 0n, flags: 0 });
        return undefined;
      }
      return { userdata, type, deadline: performance.now() + Number(waitNs) / 1e6, fd: -1 };
    }
    if (type === EventType.FD_READ || type === EventType.FD_WRITE) {
      return { userdata, type, deadline: Infinity, fd: m.u32(ptr + S.fd) };
    }
    throw new SysError(Errno.INVAL, `unknown subscription type ${type}`);
  };

  const readiness = (sub: Subscription): Readiness => {
    const d = ctx.fds.get(sub.fd, Rights.POLL_FD_READWRITE);
    return sub.type === EventType.FD_READ ? d.pollRead() : d.pollWrite();
  };

  return {
    poll_oneoff(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number {
      nsubs >>>= 0;
      if (nsubs === 0) throw new SysError(Errno.INVAL);
      // Each subscription and event costs the host a few objects.
      m.budget(nsubs * 200);
      m.check(inPtr, nsubs * S.size);
      m.check(outPtr, nsubs * E.size);
      m.check(neventsPtr, 4);
      const errors: Event[] = [];
      const subs: Subscription[] = [];
      for (let i = 0; i < nsubs; i++) {
        const s = readSubscription(inPtr + i * S.size, errors);
        if (s) subs.push(s);
      }
      let events: Event[] = errors;
      for (;;) {
        const epoch = ctx.eventEpoch();
        const now = performance.now();
        let next = Infinity;
        for (const s of subs) {
          if (s.type === EventType.CLOCK) {
            if (now >= s.deadline) events.push({ userdata: s.userdata, type: s.type, error: 0, nbytes: 0n, flags: 0 });
            else next = Math.min(next, s.deadline);
            continue;
          }
          try {
            const r = readiness(s);
            if (r.ready) {
              events.push({ userdata: s.userdata, type: s.type, error: 0, nbytes: r.nbytes,
                flags: r.hangup ? EventRwFlags.HANGUP : 0 });
            }
          } catch (e) {
            events.push({ userdata: s.userdata, type: s.type, error: errnoFor(e, 'poll_oneoff'), nbytes: 0n, flags: 0 });
          }
        }
        if (events.length > 0) break;
        ctx.waitForEvents(epoch, next - performance.now());
        events = [];
      }
      events.forEach((ev, i) => {
        const p = outPtr + i * E.size;
        m.slice(p, E.size).fill(0);
        m.setU64(p + E.userdata, ev.userdata);
        m.setU16(p + E.error, ev.error);
        m.setU8(p + E.type, ev.type);
        m.setU64(p + E.nbytes, ev.nbytes);
        m.setU16(p + E.flags, ev.flags);
      });
      m.setU32(neventsPtr, events.length);
      return 0;
    },
  };
}
