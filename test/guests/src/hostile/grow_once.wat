;; Hostile guest: one page of memory, then asks for 2,000 more (125 MiB).
;; Exit status 0 if the grow was refused (the memory limit held), 1 if it
;; succeeded: a module whose cap was undone between capping and compiling.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $exit (i32.ne (memory.grow (i32.const 2000)) (i32.const -1)))))
