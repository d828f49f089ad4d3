"""traindoc's diagnostics: pure analysis of training curves (numpy only)."""
