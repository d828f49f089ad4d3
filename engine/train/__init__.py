"""Training inside the worker process (the only place, with ``engine.find``'s torch part,
that imports torch): ``loop`` (run_training, read top to bottom) over ``setup`` (device,
AMP, data, model, optimizer), ``step`` (one optimizer step), ``metrics`` (the buffered
per-step flush), ``evaluation`` (end-of-epoch scores, early stopping); and ``models``,
``optim``, ``schedules``, ``augment``, ``grads``. Under torchrun (several processes):
``rank`` (each process's entry) and ``distributed`` (the DDP loop over the same parts).
"""
