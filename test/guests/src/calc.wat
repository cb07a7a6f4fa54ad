;; Test guest: a reactor (no _start) whose exported functions `--invoke` calls:
;; one per value type, several results, a WASI call, a trap, and `_initialize`
;; (which must run first: `initialized` returns what it set).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "invoked\n")
  (global $init (mut i32) (i32.const 0))
  (func (export "_initialize") (global.set $init (i32.const 42)))
  (func (export "initialized") (result i32) (global.get $init))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "mul64") (param i64 i64) (result i64) (i64.mul (local.get 0) (local.get 1)))
  (func (export "halve") (param f32) (result f32) (f32.div (local.get 0) (f32.const 2)))
  (func (export "div") (param f64 f64) (result f64) (f64.div (local.get 0) (local.get 1)))
  (func (export "swap") (param i32 i64) (result i64 i32) (local.get 1) (local.get 0))
  (func (export "nothing"))
  (func (export "say") (result i32)
    ;; iovec at 0: { buf = 16, len = 8 }; bytes written at 8.
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 8))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "crash") (unreachable))
  (func (export "ref") (param externref)))
