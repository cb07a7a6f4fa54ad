;; Hostile guest: spins forever in a loop that makes no call at all (nothing
;; the runtime could intercept); only the wall-time limit can stop it.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever (br $forever))))
