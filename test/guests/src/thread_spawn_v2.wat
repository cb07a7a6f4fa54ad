;; WASIX thread_spawn_v2 without libc: the main thread fills a
;; __wasi_thread_start_t at 64 (start_args = 4242 at offset 12), spawns, and
;; sleeps in futex_wait on the word at 0 until the new thread, started in
;; wasi_thread_start(tid, start_ptr), has stored its id and the start_args it
;; read and woken it. Prints "v2 ok" if the ids agree, traps otherwise.
(module
  (import "wasix_32v1" "thread_spawn_v2" (func $spawn (param i32 i32) (result i32)))
  (import "wasix_32v1" "futex_wait" (func $futex_wait (param i32 i32 i32 i32) (result i32)))
  (import "wasix_32v1" "futex_wake" (func $futex_wake (param i32 i32) (result i32)))
  (import "wasix_32v1" "thread_id" (func $thread_id (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "env" "memory" (memory 1 1 shared))
  (data (i32.const 512) "v2 ok\n")

  (func (export "wasi_thread_start") (param $tid i32) (param $start i32)
    (i32.store (i32.const 200) (local.get $tid))
    (i32.store (i32.const 204) (i32.load offset=12 (local.get $start)))
    ;; its own view of its id
    (drop (call $thread_id (i32.const 208)))
    (i32.atomic.store (i32.const 0) (i32.const 1))
    (drop (call $futex_wake (i32.const 0) (i32.const 300))))

  (func (export "_start")
    (i32.store offset=12 (i32.const 64) (i32.const 4242))
    (if (i32.ne (call $spawn (i32.const 64) (i32.const 100)) (i32.const 0)) (then unreachable))
    (block $done
      (loop $wait
        (br_if $done (i32.atomic.load (i32.const 0)))
        (drop (call $futex_wait (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 300)))
        (br $wait)))
    (if (i32.ne (i32.load (i32.const 200)) (i32.load (i32.const 100))) (then unreachable))
    (if (i32.ne (i32.load (i32.const 208)) (i32.load (i32.const 100))) (then unreachable))
    (if (i32.ne (i32.load (i32.const 204)) (i32.const 4242)) (then unreachable))
    (if (i32.lt_u (i32.load (i32.const 100)) (i32.const 2)) (then unreachable))
    ;; iovec at 400: "v2 ok\n"
    (i32.store (i32.const 400) (i32.const 512))
    (i32.store (i32.const 404) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 400) (i32.const 1) (i32.const 408)))))
