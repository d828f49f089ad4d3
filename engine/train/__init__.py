"""Training inside the worker process: the loop, models, optimizers, schedules,
augmentation and gradient statistics. The only place, with ``engine.find``'s
torch part, that imports torch.
"""
