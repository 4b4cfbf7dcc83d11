"""Re-identification risk of a policy's output, measured on a population (``crm-anonymizer evaluate``).

Pure: ``population`` builds raw records (the generator's, or records a shell read from a topic),
``simulate`` runs them through the real pipeline in memory, ``attacker`` links the output back to the raw
population, ``exposure`` and ``utility`` measure what else leaks and what analysts keep, ``evaluate`` puts the
figures together. No Kafka client here: the CLI is the shell.
"""
