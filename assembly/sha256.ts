// sha256: placeholder module, filled in by the crypto core work (issue 2).
