// `capsule ps` over the control socket: the server's answer (the guests of a
// running layer with their lifecycle state and usage) and the client's check
// of it. The answer comes from another process, so every field is checked
// before use and every string escaped when printed.

import { CapsuleError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import type { Layer } from './layer.js';
import type { GuestRow, GuestState } from '../lifecycle/state.js';

export interface GuestTable {
  pid: number;
  label: string;
  started: string;
  guests: GuestRow[];
}

export function guestsAnswer(layer: Layer, label: string, started: string): GuestTable {
  return { pid: process.pid, label, started, guests: layer.guestRows() };
}

const STATES: ReadonlySet<GuestState> = new Set(['starting', 'running', 'blocked', 'suspending', 'suspended', 'resuming', 'exited', 'killed']);
const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function rowOk(r: unknown): boolean {
  if (!isObject(r) || !isObject(r['memory'])) return false;
  const m = r['memory'];
  return isString(r['name']) && STATES.has(r['state'] as GuestState)
    && (r['blockedIn'] === undefined || isString(r['blockedIn']))
    && isCount(r['uptimeMs']) && isCount(m['current']) && isCount(m['peak']) && (m['limit'] === null || isCount(m['limit']))
    && (r['cpuMs'] === undefined || isCount(r['cpuMs'])) && isCount(r['descriptors']) && isCount(r['sockets']);
}

/** The guest table in `text`, checked field by field; a refusal or anything else is a one-line error. */
export function parseGuestTable(text: string, pid: number): GuestTable {
  const unreadable = new CapsuleError(ExitCode.INTERNAL, `layer ${pid} sent an unreadable answer`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw unreadable;
  }
  if (!isObject(v)) throw unreadable;
  if (isString(v['error'])) throw new CapsuleError(ExitCode.UNAVAILABLE, `layer ${pid} refused the request: ${v['error']}`);
  if (!isCount(v['pid']) || !isString(v['label']) || !isString(v['started']) || !Array.isArray(v['guests']) || !v['guests'].every(rowOk)) {
    throw unreadable;
  }
  return v as unknown as GuestTable;
}
