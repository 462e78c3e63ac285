"""Scaling up the same training step: more devices, more runs at once, fewer launches.

- ``distributed``  several GPUs or processes (DistributedDataParallel), mixed precision, channels-last
- ``population``   many runs of one recipe (seeds, λ, clip values) trained as one batched run
- ``stacked``      the networks and penalty a population uses: one leaf tensor per layer for all members
- ``cuda_graph``   the Trainer's step recorded once as a CUDA graph and replayed

The step itself is ``ganedu.train.Trainer.generator_iteration``; nothing here changes its math.
"""
