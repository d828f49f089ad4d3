"""TensorBoard I/O without TensorFlow, torch or Qt.

records.py   TFRecord framing and bulk CRC-32C checks
wire.py      the protobuf fields scalars and texts need, by hand
columnar.py  many Event records decoded at once into numpy columns
reader.py    EventFileReader (incremental), load_run -> RunLog
discovery.py find_runs(path) -> [RunSource]
roles.py     infer_roles(tags) -> {role: tag}
follow.py    LogFollower(path).poll() -> FollowUpdate
writer.py    ScalarWriter: fast scalar and text events

Submodules are imported explicitly (``from traindoc.engine.tb.reader import load_run``),
so ``import traindoc.engine.tb`` itself costs nothing.
"""
