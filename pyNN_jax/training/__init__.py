"""Gradient training of networks written with the PyNN API (surrogate gradients or exact
first spike times), with optax; see ``docs/training.rst``."""
from .trainer import Trainer, present, run_samples, TRAINABLE_PARAMETERS
from . import losses, datasets

__all__ = ["Trainer", "present", "run_samples", "TRAINABLE_PARAMETERS", "losses", "datasets"]
