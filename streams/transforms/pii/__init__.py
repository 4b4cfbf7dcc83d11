"""PII detectors for free text, one module per entity family, and the scanner that runs them in one pass
(``registry.build_scanner``).

=================  ======================================================================================
entity             detector module
=================  ======================================================================================
EMAIL              :mod:`~streams.transforms.pii.contact` (structure only)
PHONE              :mod:`~streams.transforms.pii.contact` (``phonenumbers``, a default region)
URL_CREDENTIALS    :mod:`~streams.transforms.pii.contact` (``user:password@`` in a URL)
CREDIT_CARD        :mod:`~streams.transforms.pii.financial` (Luhn, issuer prefix)
IBAN               :mod:`~streams.transforms.pii.financial` (mod-97, stdnum's IBAN registry)
IP_ADDRESS         :mod:`~streams.transforms.pii.network` (``ipaddress``, v4 and v6)
NATIONAL_ID        :mod:`~streams.transforms.pii.national_id` (stdnum validators, a chosen set of kinds)
PERSON             :mod:`~streams.transforms.pii.names` (Faker's name lists, honorifics)
=================  ======================================================================================
"""
