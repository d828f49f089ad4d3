"""Pure analysis of training curves (numpy only): series in, findings out.

- ``rules/``: one module per rule (SPEC §4), each with its evidence and remedies;
- ``facts``, ``learning``, ``blowups``, ``learning_rate``, ``trend``, ``signals``: the
  shared facts and statistics the rules read (trend, noise, change points, EMA,
  rolling median);
- ``view`` (a run's series by role), ``metrics`` (a metric's direction by name),
  ``calibration`` (the tuned thresholds);
- ``runner``/``registry`` (run the rules), ``live`` (incremental diagnosis),
  ``summary``/``report`` (the verdict and its text);
- ``remedies``, ``patch_limits``, ``snippets``, ``fix_verdict``: remedies as config
  patches (or code to paste, for foreign logs), and whether a fix worked.
"""
