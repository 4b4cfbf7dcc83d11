"""CDC envelopes: what surrounds the row images, per connector family.

``base`` holds what every kind shares (the Envelope protocol, the key plan); each kind is one module that
exposes ``ENVELOPE``; ``kinds`` names them (the policy's ``envelope:`` values are derived from it) and
``registry`` maps each name to its module. Adding an envelope: one module, its name in ``kinds``, one entry
in ``registry`` (the registry refuses to load if the two lists disagree).
"""
