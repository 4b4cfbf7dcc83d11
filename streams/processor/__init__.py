"""The shell around the core: decode, anonymize, encode, publish. ``pipeline`` knows no framework; ``app``
wires it into a Faust agent."""
