"""Field transforms: one module each, all behind :class:`streams.transforms.base.Transform`; their policy
rules are listed in ``registry``. Shared bases: ``base`` (interface, value checks), ``rule`` (rule models),
``noise`` (DP noise), ``dp_cache`` (release consistency), ``plan`` and ``nested`` (applying field plans)."""
