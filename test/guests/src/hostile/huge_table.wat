;; Hostile guest: a table of 300,000 elements at start, over the per-guest
;; table limit: refused before it starts, as a too-large memory is.
(module
  (memory (export "memory") 1)
  (table 300000 funcref)
  (func (export "_start")))
