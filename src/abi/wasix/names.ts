// The names of the WASIX functions Capsule provides, apart from their
// implementation: what the host thread checks a module's imports against.

export const WASIX_MODULE = 'wasix_32v1';

export const WASIX_SOCKET_NAMES: ReadonlySet<string> = new Set([
  'sock_open', 'sock_bind', 'sock_listen', 'sock_connect', 'sock_accept_v2', 'sock_recv_from', 'sock_send_to',
  'sock_status', 'sock_addr_local', 'sock_addr_peer', 'sock_set_opt_flag', 'sock_get_opt_flag',
  'sock_set_opt_time', 'sock_get_opt_time', 'sock_set_opt_size', 'sock_get_opt_size', 'resolve',
  // Also offered under wasix_32v1 for toolchains that import them from there.
  'sock_recv', 'sock_send', 'sock_shutdown', 'sock_accept',
]);

/** The WASIX thread and futex functions Capsule provides (threads.ts). */
export const WASIX_THREAD_NAMES: ReadonlySet<string> = new Set([
  'thread_spawn_v2', 'thread_exit', 'thread_id', 'thread_join', 'thread_parallelism', 'thread_sleep',
  'futex_wait', 'futex_wake', 'futex_wake_all',
]);

/** The wasi-threads proposal's module and its one function (wasi-threads.ts); early toolchains spelt it with '_'. */
export const WASI_THREADS_MODULE = 'wasi';
export const WASI_THREADS_NAMES: ReadonlySet<string> = new Set(['thread-spawn', 'thread_spawn']);

/** Process, signal, descriptor, path and epoll calls (src/abi/wasix/*.ts, one file per area). */
export const WASIX_SYSTEM_NAMES: ReadonlySet<string> = new Set([
  'proc_exit2', 'proc_id', 'proc_parent', 'proc_signals_sizes_get', 'proc_signals_get', 'callback_signal',
  'thread_signal', 'proc_raise_interval', 'proc_fork', 'proc_join',
  'fd_dup', 'fd_dup2', 'fd_fdflags_get', 'fd_fdflags_set', 'fd_pipe', 'fd_event',
  'getcwd', 'chdir', 'path_open2',
  'epoll_create', 'epoll_ctl', 'epoll_wait',
]);


export const WASIX_NAMES: ReadonlySet<string> = new Set([...WASIX_SOCKET_NAMES, ...WASIX_SYSTEM_NAMES, ...WASIX_THREAD_NAMES]);
