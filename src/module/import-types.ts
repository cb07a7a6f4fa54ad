// The function types a module declares for its imports, read from the binary
// (the JS API does not expose them). A host function would accept any call,
// so a guest importing, say, proc_exit with the wrong type must be refused
// before it starts, as wasmtime does.

const TYPE_SECTION = 1;
const IMPORT_SECTION = 2;

export const VALTYPES: Record<number, string> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref' };

export class Reader {
  pos = 8;
  constructor(readonly bytes: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.bytes.length) throw new RangeError('truncated');
    return this.bytes[this.pos++]!;
  }
  u32(): number {
    let result = 0, shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return result;
      shift += 7;
      if (shift > 63) throw new RangeError('bad LEB128');
    }
  }
  name(): string {
    const len = this.u32();
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + len));
    this.pos += len;
    return s;
  }
  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

/** "(i32, i64) -> (i32)" style text of a function type. */
function text(params: string[], results: string[]): string {
  return `(${params.join(', ')}) -> (${results.join(', ')})`;
}

/** module.name -> type text, for every function import; undefined if the binary cannot be read. */
export function importTypes(bytes: Uint8Array): Map<string, string> | undefined {
  try {
    const r = new Reader(bytes);
    const types: string[] = [];
    const out = new Map<string, string>();
    while (r.pos < bytes.length) {
      const id = r.byte();
      const size = r.u32();
      const end = r.pos + size;
      if (id === TYPE_SECTION) {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          if (r.byte() !== 0x60) return undefined;
          const params = Array.from({ length: r.u32() }, () => VALTYPES[r.byte()] ?? '?');
          const results = Array.from({ length: r.u32() }, () => VALTYPES[r.byte()] ?? '?');
          types.push(text(params, results));
        }
      } else if (id === IMPORT_SECTION) {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const key = `${r.name()}.${r.name()}`;
          const kind = r.byte();
          if (kind === 0x00) out.set(key, types[r.u32()] ?? '?');
          else if (kind === 0x01) { r.byte(); r.limits(); }
          else if (kind === 0x02) r.limits();
          else if (kind === 0x03) { r.byte(); r.byte(); }
          else if (kind === 0x04) { r.byte(); r.u32(); }
          else return undefined;
        }
        return out;
      }
      r.pos = end;
    }
    return out;
  } catch {
    return undefined;
  }
}

const I = 'i32', L = 'i64';
const sig = (params: string[], result = true): string => text(params, result ? [I] : []);

/** The type Capsule gives each function it provides, by module.name. */
export const PROVIDED_TYPES: ReadonlyMap<string, string> = (() => {
  const p1: Record<string, string> = {
    args_get: sig([I, I]), args_sizes_get: sig([I, I]), environ_get: sig([I, I]), environ_sizes_get: sig([I, I]),
    clock_res_get: sig([I, I]), clock_time_get: sig([I, L, I]), fd_advise: sig([I, L, L, I]), fd_allocate: sig([I, L, L]),
    fd_close: sig([I]), fd_datasync: sig([I]), fd_fdstat_get: sig([I, I]), fd_fdstat_set_flags: sig([I, I]),
    fd_fdstat_set_rights: sig([I, L, L]), fd_filestat_get: sig([I, I]), fd_filestat_set_size: sig([I, L]),
    fd_filestat_set_times: sig([I, L, L, I]), fd_pread: sig([I, I, I, L, I]), fd_prestat_get: sig([I, I]),
    fd_prestat_dir_name: sig([I, I, I]), fd_pwrite: sig([I, I, I, L, I]), fd_read: sig([I, I, I, I]),
    fd_readdir: sig([I, I, I, L, I]), fd_renumber: sig([I, I]), fd_seek: sig([I, L, I, I]), fd_sync: sig([I]),
    fd_tell: sig([I, I]), fd_write: sig([I, I, I, I]), path_create_directory: sig([I, I, I]),
    path_filestat_get: sig([I, I, I, I, I]), path_filestat_set_times: sig([I, I, I, I, L, L, I]),
    path_link: sig([I, I, I, I, I, I, I]), path_open: sig([I, I, I, I, I, L, L, I, I]),
    path_readlink: sig([I, I, I, I, I, I]), path_remove_directory: sig([I, I, I]), path_rename: sig([I, I, I, I, I, I]),
    path_symlink: sig([I, I, I, I, I]), path_unlink_file: sig([I, I, I]), poll_oneoff: sig([I, I, I, I]),
    proc_exit: sig([I], false), proc_raise: sig([I]), sched_yield: sig([]), random_get: sig([I, I]),
    sock_accept: sig([I, I, I]), sock_recv: sig([I, I, I, I, I, I]), sock_send: sig([I, I, I, I, I]), sock_shutdown: sig([I, I]),
  };
  const wasix: Record<string, string> = {
    sock_open: sig([I, I, I, I]), sock_bind: sig([I, I]), sock_listen: sig([I, I]), sock_connect: sig([I, I]),
    sock_accept_v2: sig([I, I, I, I]), sock_recv_from: sig([I, I, I, I, I, I, I]), sock_send_to: sig([I, I, I, I, I, I]),
    sock_status: sig([I, I]), sock_addr_local: sig([I, I]), sock_addr_peer: sig([I, I]),
    sock_set_opt_flag: sig([I, I, I]), sock_get_opt_flag: sig([I, I, I]), sock_set_opt_time: sig([I, I, I]),
    sock_get_opt_time: sig([I, I, I]), sock_set_opt_size: sig([I, I, L]), sock_get_opt_size: sig([I, I, I]),
    resolve: sig([I, I, I, I, I, I]),
    sock_recv: p1['sock_recv']!, sock_send: p1['sock_send']!, sock_shutdown: p1['sock_shutdown']!, sock_accept: p1['sock_accept']!,
    proc_exit2: sig([I], false), proc_id: sig([I]), proc_parent: sig([I, I]), proc_signals_sizes_get: sig([I]),
    proc_signals_get: sig([I]), callback_signal: sig([I, I], false), thread_signal: sig([I, I]),
    proc_raise_interval: sig([I, L, I]), proc_fork: sig([I, I]), proc_join: sig([I, I, I]),
    fd_dup: sig([I, I]), fd_dup2: sig([I, I, I, I]), fd_fdflags_get: sig([I, I]), fd_fdflags_set: sig([I, I]),
    fd_pipe: sig([I, I]), fd_event: sig([L, I, I]),
    getcwd: sig([I, I]), chdir: sig([I, I]), path_open2: sig([I, I, I, I, I, L, L, I, I, I]),
    epoll_create: sig([I]), epoll_ctl: sig([I, I, I, I]), epoll_wait: sig([I, I, I, L, I]),
    thread_id: sig([I]), thread_exit: sig([I], false), futex_wait: sig([I, I, I, I]), futex_wake: sig([I, I]),
    futex_wake_all: sig([I, I]),
  };
  const threads: Record<string, string> = {
    thread_spawn_v2: sig([I, I]), thread_exit: sig([I], false), thread_id: sig([I]), thread_join: sig([I]),
    thread_parallelism: sig([I]), thread_sleep: sig([L]), futex_wait: sig([I, I, I, I]), futex_wake: sig([I, I]),
    futex_wake_all: sig([I, I]),
  };
  return new Map([
    ...Object.entries(threads).map(([k, v]) => [`wasix_32v1.${k}`, v] as [string, string]),
    ['wasi.thread-spawn', sig([I])], ['wasi.thread_spawn', sig([I])],
    ...Object.entries(p1).map(([k, v]) => [`wasi_snapshot_preview1.${k}`, v] as [string, string]),
    ...Object.entries(wasix).map(([k, v]) => [`wasix_32v1.${k}`, v] as [string, string]),
  ]);
})();
