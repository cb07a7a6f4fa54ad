// An epoll instance: the guest's interest list, and what each entry last
// reported, so that a wait can tell level- from edge-triggered readiness and
// disarm one-shot entries. Readiness itself is the descriptors' own (the same
// pollRead/pollWrite that poll_oneoff asks).

import { Errno, SysError } from '../core/errno.js';
import { Filetype, Rights } from '../core/witx.js';
import { Descriptor } from './descriptor.js';

/** WASIX epoll_type bits. */
export const EpollType = {
  IN: 1 << 0, OUT: 1 << 1, RDHUP: 1 << 2, PRI: 1 << 3, ERR: 1 << 4, HUP: 1 << 5, ET: 1 << 6, ONESHOT: 1 << 7,
} as const;

export interface Interest {
  /** The descriptor the entry was added for: a number reused by another one is not it. */
  descriptor: Descriptor;
  events: number;
  /** The guest's epoll_data_t, 24 bytes, handed back as given. */
  data: Uint8Array;
  /** One-shot entries are disarmed once they report, until EPOLL_CTL_MOD. */
  armed: boolean;
  /** Edge-triggered: the events reported and not yet seen to go away, and the bytes then readable. */
  reported: number;
  nbytes: bigint;
}

export class EpollDescriptor extends Descriptor {
  readonly filetype = Filetype.UNKNOWN;
  readonly interests = new Map<number, Interest>();

  constructor() {
    super(Rights.POLL_FD_READWRITE | Rights.FD_FILESTAT_GET, 0);
  }

  add(fd: number, descriptor: Descriptor, events: number, data: Uint8Array): void {
    if (this.interests.has(fd)) throw new SysError(Errno.EXIST);
    this.interests.set(fd, { descriptor, events, data, armed: true, reported: 0, nbytes: 0n });
  }

  modify(fd: number, events: number, data: Uint8Array): void {
    const i = this.interests.get(fd);
    if (!i) throw new SysError(Errno.NOENT);
    Object.assign(i, { events, data, armed: true, reported: 0, nbytes: 0n });
  }

  remove(fd: number): void {
    if (!this.interests.delete(fd)) throw new SysError(Errno.NOENT);
  }

  /**
   * The events of entry `i` to report now, given the descriptor's readiness
   * (`ready`: IN/OUT/HUP/ERR bits, `nbytes` readable); updates the entry's state.
   */
  static due(i: Interest, ready: number, nbytes: bigint): number {
    if (!i.armed) return 0;
    // HUP and ERR are reported whether asked for or not, as Linux does.
    const wanted = (i.events & (EpollType.IN | EpollType.OUT | EpollType.RDHUP | EpollType.PRI)) | EpollType.HUP | EpollType.ERR;
    let due = ready & wanted;
    if (i.events & EpollType.ET) {
      // An edge: an event that was not ready when last reported, or more bytes to read than then.
      i.reported &= ready;
      const fresh = due & ~i.reported;
      const more = (due & EpollType.IN) !== 0 && nbytes > i.nbytes;
      due = fresh | (more ? EpollType.IN : 0);
      i.reported |= due;
      if (due & EpollType.IN) i.nbytes = nbytes;
      else if (!(ready & EpollType.IN)) i.nbytes = 0n;
    }
    if (due !== 0 && i.events & EpollType.ONESHOT) i.armed = false;
    return due;
  }
}
