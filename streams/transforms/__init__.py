"""Field transforms: one module each, all behind :class:`streams.transforms.base.Transform`."""

from streams.transforms.base import BatchContext, Transform
from streams.transforms.generalize import Generalize
from streams.transforms.keep import Keep
from streams.transforms.mask import Mask
from streams.transforms.tokenize import Tokenize

__all__ = ["BatchContext", "Generalize", "Keep", "Mask", "Tokenize", "Transform"]
