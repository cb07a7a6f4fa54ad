;; Test guest: a valid module exporting memory and a "main" function but no _start.
;; Used to check that the runtime rejects modules without a WASI command entry point.
(module
  (memory (export "memory") 1)
  (func (export "main") (result i32)
    i32.const 0))
