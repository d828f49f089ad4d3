"""The finders' torch part (SPEC §7), run only in a finder's process (``engine.find.worker``).

- :mod:`.prepare`: data, model and device from a config, as training builds them;
- :mod:`.sweep`: the learning-rate range test (:func:`.sweep.run_lr_find`);
- :mod:`.memory`: :class:`.memory.MemoryProbe`, whether a batch size fits in memory;
- :mod:`.batch`: the batch-size search (:func:`.batch.run_batch_find`).

Each run returns a ``Finished`` event whose ``result`` is a torch-free record of
:mod:`traindoc.engine.find.results`. The suggestion maths is numpy in
:mod:`traindoc.engine.find.suggest`.
"""
