;; Hostile guest: a 64-bit memory, which the memory cap does not rewrite. It
;; grows by 64 MiB and prints GREW if that worked: under a smaller --memory it
;; must either be refused or see the growth fail.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") i64 1)
  (data (i64.const 16) "GREW\n")
  (func (export "_start")
    (if (i64.ne (memory.grow (i64.const 1024)) (i64.const -1))
      (then
        (i32.store (i64.const 0) (i32.const 16))
        (i32.store (i64.const 4) (i32.const 5))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))))
