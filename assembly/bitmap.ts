// bitmap: placeholder module, filled in by the crypto core work (issue 2).
