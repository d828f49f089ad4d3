"""traindoc's engine: runs, configs, data, the training loop and TensorBoard I/O.

Importing this package loads neither torch nor Qt: torch is imported only by the
modules that run inside the training process (``loop``, ``worker``, ``models``...).
"""
