"""CUDA graphs: replay a whole training step as one launch on a GPU (a speed tool, not a lesson).

A toy GAN step is a few hundred tiny kernels (forward, the penalty's double backward, Adam),
each of which costs the CPU a few microseconds to launch: on a GPU the step waits on Python, not
on arithmetic. A CUDA graph records the step's kernels once and replays them with one call
(PyTorch's "whole-network capture", ``torch.cuda.graph``). The step itself is unchanged: the
same ``Trainer.critic_step`` / ``generator_step`` code runs once eagerly while being recorded.

What a step must do to be recorded (``Trainer`` arranges all of it on CUDA):
- keep every tensor on the GPU and never ask the host for a value (no ``.item()``, no ``bool(t)``);
- draw its randomness from a CUDA ``torch.Generator`` registered with the graph;
- use optimisers built with ``capturable=True`` (or ``fused=True``) and learning rates held in
  0-d tensors, which are updated in place between replays;
- keep the same shapes and the same Python branches at every call.
Anything that changes the recorded work (a new λ, n_critic or batch size) needs a new recording:
a new ``StepGraph`` (the Trainer makes one per recipe).
"""
from __future__ import annotations

import warnings

import torch

from ..checks import check_int

__all__ = ["StepGraph", "graphs_supported"]


#: this torch can record a step that draws from its own CUDA generator (torch >= 2.5)
CAN_RECORD_GENERATORS = hasattr(torch.cuda.CUDAGraph, "register_generator_state")


def graphs_supported(device: torch.device) -> bool:
    """True on a CUDA device whose torch can record generators into a graph."""
    return device.type == "cuda" and torch.cuda.is_available() and CAN_RECORD_GENERATORS


class StepGraph:
    """Run ``fn()`` eagerly ``warmup`` times, then record it once and replay the recording.

    Args:
        fn: a function of no arguments that does one step and returns a tensor (its statistics).
        generators: the CUDA ``torch.Generator`` objects ``fn`` draws from.
        warmup: eager calls before recording (they let autograd and the optimisers allocate
            their state, and cuDNN pick its algorithms, outside the graph).

    Calling the object does one step and returns the statistics tensor. It is the graph's own
    output buffer, overwritten by the next replay: clone it to keep it. If recording fails
    (an operation that cannot be recorded), a warning says why and every later call runs
    ``fn()`` eagerly: slower, never wrong.
    """

    def __init__(self, fn, *, generators=(), warmup: int = 3):
        check_int("warmup", warmup, min=1)
        self.fn, self.generators, self.warmup = fn, tuple(generators), warmup
        self.graph, self.output, self.calls, self.failed = None, None, 0, None

    @property
    def recorded(self) -> bool:
        return self.graph is not None

    def __call__(self) -> torch.Tensor:
        if self.graph is not None:
            self.graph.replay()
            return self.output
        if self.failed is not None or self.calls < self.warmup:
            self.calls += 1
            return self._eager()
        return self._record_and_replay()

    def _eager(self) -> torch.Tensor:
        # warm-up on a side stream, as torch.cuda.graphs asks, so no stray work joins the capture
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            out = self.fn()
        torch.cuda.current_stream().wait_stream(side)
        return out

    def _record_and_replay(self) -> torch.Tensor:
        graph = torch.cuda.CUDAGraph()
        for gen in self.generators:
            graph.register_generator_state(gen)
        try:
            with torch.cuda.graph(graph):
                output = self.fn()
        except Exception as exc:  # noqa: BLE001 - any capture failure falls back to eager steps
            self.failed = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            warnings.warn(f"ganedu: could not record the training step as a CUDA graph ({self.failed}); "
                          "training goes on without graphs (slower, same results)", RuntimeWarning,
                          stacklevel=3)
            torch.cuda.synchronize()
            return self._eager()
        self.graph, self.output = graph, output
        graph.replay()  # recording ran nothing: this is the step itself
        return output
