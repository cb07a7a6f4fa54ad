;; Hostile guest: asks for 32 MiB of linear memory at start (512 pages). Under a
;; smaller --memory it must not start at all; if it ever runs it prints STARTED.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 512)
  (data (i32.const 16) "STARTED\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
