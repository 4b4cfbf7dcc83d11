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
PERSON             :mod:`~streams.transforms.pii.names` (Faker's name lists, names-dataset, honorifics, cues),
                   :mod:`~streams.transforms.pii.names_cased` (names in lower case or capitals)
EMAIL              :mod:`~streams.transforms.pii.obfuscated_email` (``jane at example dot com``)
ADDRESS            :mod:`~streams.transforms.pii.address` (house number + street words, postcodes)
DATE               :mod:`~streams.transforms.pii.dates` (full dates, dates of birth after a cue)
=================  ======================================================================================

The broad name lexicon is derived from names-dataset and wordfreq once, at install time:
:mod:`~streams.transforms.pii.name_lexicon`.
"""
