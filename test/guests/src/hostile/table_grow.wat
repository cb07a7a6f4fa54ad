;; Hostile guest: asks the host to hold ever larger tables (a funcref element
;; costs the host about 47 bytes). Four tables, each grown by 9,999,999
;; elements (just under the engine's own ceiling of ten million), then the first by a modest 1,000.
;; Exit status: bit i set if the huge grow of table i succeeded, bit 4 set if
;; the modest one failed; 0 is the expected outcome under Capsule's cap.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (table $f0 1 funcref)
  (table $f1 1 funcref)
  (table $e0 1 externref)
  (table $e1 1 externref)
  (func $bit (param $grown i32) (param $shift i32) (result i32)
    (i32.shl (i32.ne (local.get $grown) (i32.const -1)) (local.get $shift)))
  (func (export "_start")
    (local $r i32)
    (local.set $r (call $bit (table.grow $f0 (ref.null func) (i32.const 9999999)) (i32.const 0)))
    (local.set $r (i32.or (local.get $r) (call $bit (table.grow $f1 (ref.null func) (i32.const 9999999)) (i32.const 1))))
    (local.set $r (i32.or (local.get $r) (call $bit (table.grow $e0 (ref.null extern) (i32.const 9999999)) (i32.const 2))))
    (local.set $r (i32.or (local.get $r) (call $bit (table.grow $e1 (ref.null extern) (i32.const 9999999)) (i32.const 3))))
    (local.set $r (i32.or (local.get $r)
      (i32.shl (i32.eq (table.grow $f0 (ref.null func) (i32.const 1000)) (i32.const -1)) (i32.const 4))))
    (call $exit (local.get $r))))
