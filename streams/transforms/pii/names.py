"""PERSON detector: capitalized names found with two lexicons, cue words, and names after an honorific.

Offline and fast. Two lexicons: Faker's first- and last-name lists for a set of locales
(:data:`LEXICON_LOCALES`, read from its provider modules when the first scrub_text transform is built), and
the broad lexicon of :mod:`~streams.transforms.pii.name_lexicon` (names-dataset: first and last names of 105
countries, derived at install time). A run of capitalized words (``Sarah``, ``O'Brien``, ``McDonald``,
``Mary-Jane``; Latin, Greek or Cyrillic letters) is classified word by word:

* a *name* word is in Faker's lists; it is *ambiguous* when it is also a common English word (``Grace``,
  ``Mark``, ``May``, ``Price``: Faker's English word list plus :data:`AMBIGUOUS`, months and weekdays) or a
  place (:data:`PLACES` and Faker's real city and country lists: ``London``, ``Milan``);
* a *weak* name word is only in the broad lexicon (``Virtanen``, ``Okonkwo``); a *frequent* one is also one of
  wordfreq's most frequent words (``Ming``, ``Xu``, but also ``Monday``: the dataset was scraped from profiles);
* cue words (``Met``, ``Contact``, ``Dear``) are never part of a name;
* a redacted span starts at a name word and takes the following name words and capitalized words that are
  not common words (``Sarah Raghunathan``), at most four words;
* it is redacted when it holds an unambiguous name word, or two name words of which one is not merely
  frequent (``Grant Taylor``, ``Gábor Nagy``), or follows a cue word (``Dear``, ``Hi``, ``called``, ``with``,
  ...: ``Dear Grace``; frequent-only runs need a strong cue or a person noun: ``Customer Zhou``);
* after a strong cue (``Dear``, ``Hi``, ``Hello``, ``Met``, ``Called``, ``Emailed``, ...) or a person noun
  (``Customer``, ``Client``, ``Contact``, ``cc``) capitalized words are a name even when no lexicon knows
  them (``Met Aleksanteri Partanen``).

After an honorific (``Mr``, ``Mrs``, ``Ms``, ``Dr``, ``Prof``, ...) one to three capitalized words are a
person whatever the lexicons say (``Dr. Xyzzy``); the honorific is redacted with the name. Names in lower
case or capitals: :mod:`~streams.transforms.pii.names_cased`.

Not found (measured on the independent corpus: PERSON recall 0.81, title case 0.86): a lone surname of the
broad lexicon with no cue (``Heikkinen confirmed``; a lone weak name is not taken because product names are
in the dataset too: ``Jira``), two frequent-word names after a weak cue (``Notes from Ming Xu``), names in
neither lexicon without a cue, names in other scripts, the particles of ``van der Berg`` or ``de la Cruz``
(the capitalized parts are found) and abbreviated first names (``H.-Dieter``). Over-redacted: surnames of
Faker's lists that are not common words or places (company names made of surnames), and capitalized words
after a strong cue (``Called Acme Support``).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from functools import cache

from faker.providers.lorem.en_US import Provider as EnglishWords

from streams.transforms.pii.base import LOWER_LETTERS, UPPER_LETTERS, Detector, Hit
from streams.transforms.pii.name_lexicon import broad_lexicon

PERSON = "PERSON"

LEXICON_LOCALES = (
    "en_US",
    "en_GB",
    "en_IE",
    "en_IN",
    "de_DE",
    "fr_FR",
    "es_ES",
    "es_MX",
    "it_IT",
    "nl_NL",
    "pt_BR",
    "pt_PT",
    "pl_PL",
    "sv_SE",
)
_NAME_ATTRIBUTES = (
    "first_names",
    "first_names_male",
    "first_names_female",
    "first_names_nonbinary",
    "last_names",
    "last_names_male",
    "last_names_female",
)

#: Common English words that are also first or last names: alone (without a cue or a second name) they are
#: not redacted. Faker's English word list adds to these.
AMBIGUOUS = frozenset(
    """
    will bill mark grant chase miles rose joy faith hope grace dawn art rich guy pat sunny summer winter autumn
    spring jack frank hunter carter mason cooper baker parker taylor turner porter price page long young little
    king bishop bell hill brown green white black gray grey wood woods stone rice banks field fields west north
    south east lane ford day love cross ray reed read rock cash major law short strong hall house church park
    mills best case key power walker fisher hunt wolf fox bird crane lamb knight cook butler carpenter miller
    marshall glass christian angel destiny crystal amber ruby pearl jade ivy holly daisy lily iris violet
    heather olive hazel ginger sky star river brook brooks justice liberty harmony trinity precious sage royal
    prince duke earl baron dean don gene norman sterling august bay beach bean berry bond bright brooks bush
    chambers cole craft dale dove drake early forest frost gates gold golden hardy hay head holiday hood horn
    hope hurst jewel joy lake lord march marsh may mercy moody moss nation oakley paris penny pike plant pool
    pope post pride rain ranger rivers robin rush salt sharp shepherd silver slate snow spear steel stern
    storm street sweet swift temple thorn tower trail trust vale victory wade ward warren waters wells wise
    york young date birth""".split()
)
_CALENDAR = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
_ORG_WORDS = frozenset(
    "inc llc ltd corp corporation company co group bank street st avenue ave road rd plc gmbh ag sa bv".split()
)
#: Places that are also in the name lists ("London", "Milan", "Austin"): treated like ambiguous names, so they
#: are redacted only next to another name or after a cue. Faker's real city and country lists add to these.
PLACES = frozenset(
    """
    london paris berlin madrid milan rome roma vienna prague warsaw lisbon dublin brussels amsterdam athens
    moscow kyiv kiev istanbul ankara cairo dubai tokyo osaka kyoto beijing shanghai seoul delhi mumbai
    chennai sydney melbourne perth brisbane adelaide toronto montreal vancouver ottawa boston chicago denver
    austin dallas houston phoenix portland seattle atlanta miami orlando detroit memphis nashville jackson
    lincoln madison raleigh columbus cleveland charlotte florence naples venice turin genoa verona munich
    hamburg cologne frankfurt stuttgart dresden leipzig bremen hanover lyon marseille nice toulouse bordeaux
    nantes lille strasbourg geneva zurich basel bern lausanne seville valencia bilbao malaga granada porto
    oslo stockholm copenhagen helsinki reykjavik riga tallinn vilnius budapest bucharest sofia belgrade zagreb
    ljubljana bratislava krakow gdansk manchester liverpool leeds bristol glasgow edinburgh cardiff belfast
    oxford cambridge york chester bath lancaster durham kent essex surrey devon cornwall sussex chelsea
    victoria georgia virginia carolina dakota indiana montana nevada florida texas arizona alabama santiago
    lima bogota caracas quito havana mexico monterrey guadalajara cancun buenos aires rio sao salvador recife
    brasilia johannesburg cape nairobi lagos accra dakar tunis casablanca rabat algiers jakarta manila
    singapore bangkok hanoi kuala lumpur taipei hong kong auckland wellington christchurch europe america
    africa asia china india japan france spain italy germany england scotland wales ireland canada brazil
    """.split()
)
#: A word right before a run that says a person follows ("Dear Grace", "spoke with Mark"): an ambiguous name
#: after it is redacted.
CUES = frozenset(
    "dear hi hello hey thanks thank called call calling emailed email met meet meeting contact contacted "
    "spoke speak speaking with from by cc attn per asked ask told tell texted text via rep agent client "
    "customer manager mr mrs ms dr".split()
)
HONORIFICS = (
    "Mrs",
    "Mr",
    "Ms",
    "Miss",
    "Mx",
    "Dr",
    "Prof",
    "Professor",
    "Sir",
    "Dame",
    "Lady",
    "Lord",
    "Rev",
    "Mme",
    "Mlle",
    "Herr",
    "Frau",
    "Sra",
    "Srta",
    "Sr",
)

#: Cues strong enough that capitalized words after them are taken for a name even when the lexicon does not
#: know them ("Met Aleksanteri Partanen", "Contact Mr. Xyzzy"); "with", "from" or "via" are not ("via Zoom",
#: "from Boston").
STRONG_CUES = frozenset(
    "dear hi hello hey met called emailed texted contacted attn".split() + [h.lower() for h in HONORIFICS]
)
CUES = CUES | STRONG_CUES
#: Cues that are nouns for a person: after them even a name that is also a frequent word is taken
#: ("Customer Zhou", "cc Jung"), which "with" or "from" do not allow ("with Support").
NOUN_CUES = frozenset("customer client contact rep agent manager attn cc".split())

_UP = UPPER_LETTERS
_LO = LOWER_LETTERS
TOKEN = rf"[{_UP}](?:[{_LO}]*['\u2019][{_UP}])?[{_LO}]+(?:[{_UP}][{_LO}]+)?(?:-[{_UP}][{_LO}]+)*"
# A name word ends at a word boundary, before a possessive, but not inside an email or a dotted identifier
# ("Sarah.Jones@example.com" is the email detector's).
_END = r"(?:(?=['\u2019]s\b)|(?![\w@]|[.'\u2019\-]\w))"
_WORD = TOKEN + _END
SEQUENCE_PATTERN = rf"(?<![\w'\u2019\-.]){_WORD}(?:[ ]{_WORD}){{0,3}}"
TITLE_PATTERN = rf"(?<![\w'\u2019\-.])(?:{'|'.join(HONORIFICS)})\.?[ ]+{_WORD}(?:[ ]{_WORD}){{0,2}}"

_TITLE_HEAD = re.compile(r"\w+\.?[ ]+")
_PREVIOUS_WORD = re.compile(r"(\w+)(\.?)[ ,:]*\Z")
_HONORIFIC_WORDS = frozenset(h.lower() for h in HONORIFICS)

_OTHER, _UNKNOWN, _NAME, _AMBIGUOUS_NAME, _WEAK_NAME, _FREQUENT_NAME = 0, 1, 2, 3, 4, 5
#: Word kinds (:meth:`NameFinder.kind`): not a name (a common word), unknown, a name from Faker's lists, such a
#: name that is also a common word, a name known only to the broad lexicon (names-dataset), and such a name
#: that is also a frequent word in wordfreq's lists ("Ming", "Monday").
OTHER, UNKNOWN, NAME, AMBIGUOUS_NAME, WEAK_NAME, FREQUENT_NAME = (
    _OTHER,
    _UNKNOWN,
    _NAME,
    _AMBIGUOUS_NAME,
    _WEAK_NAME,
    _FREQUENT_NAME,
)


@cache
def lexicon() -> tuple[frozenset[str], frozenset[str]]:
    """(names, common words), built once from Faker's bundled provider lists."""
    names: set[str] = set()
    for locale in LEXICON_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attribute in _NAME_ATTRIBUTES:
            for entry in getattr(provider, attribute, ()) or ():
                for part in str(entry).replace("\u2019", "'").split():
                    if len(part) >= 2 and part[0].isupper() and not part.endswith("."):
                        names.add(part)
    common = {word.lower() for word in EnglishWords.word_list} | AMBIGUOUS | _CALENDAR | _ORG_WORDS
    return frozenset(names), frozenset(common)


@cache
def places() -> frozenset[str]:
    """Lower-case one-word place names: :data:`PLACES` and the real city and country lists Faker ships."""
    import pkgutil

    import faker.providers.address as address_providers

    found = set(PLACES)
    for module in pkgutil.iter_modules(address_providers.__path__):
        provider = importlib.import_module(f"faker.providers.address.{module.name}").Provider
        for attribute in ("cities", "city_names", "countries", "states", "provinces", "regions"):
            entries = getattr(provider, attribute, None)
            if isinstance(entries, (list, tuple)):
                for entry in entries:
                    text = str(entry[-1] if isinstance(entry, tuple) else entry)
                    if " " not in text:
                        found.add(text.lower())
    return frozenset(found)


def memoized(cache: dict[str, int], word: str, classify: Callable[[str], int]) -> int:
    """A word's kind from ``cache``, classified on a miss: notes reuse a small vocabulary (the cache is
    cleared when it reaches 100k words)."""
    found = cache.get(word)
    if found is None:
        if len(cache) >= 100_000:
            cache.clear()
        found = cache[word] = classify(word)
    return found


class NameFinder:
    def __init__(self) -> None:
        self.names, self.common = lexicon()
        self.broad, self.frequent = broad_lexicon()
        self.places = places()
        self._kinds: dict[str, int] = {}

    def kind(self, word: str) -> int:
        return memoized(self._kinds, word, self._classify)

    def _classify(self, word: str) -> int:
        word = word.replace("\u2019", "'")
        lowered = word.lower()
        if lowered in CUES:
            return _OTHER  # "Met", "Contact", "Dear": the cue before a name, never part of it
        named = word in self.names or ("-" in word and any(part in self.names for part in word.split("-")))
        if named:
            return _AMBIGUOUS_NAME if lowered in self.common or lowered in self.places else _NAME
        if lowered in self.common:
            return _OTHER
        if lowered in self.places:
            return _OTHER
        if word in self.broad or ("-" in word and all(part in self.broad for part in word.split("-"))):
            return _FREQUENT_NAME if lowered in self.frequent else _WEAK_NAME
        return _UNKNOWN

    def word_before(self, text: str, start: int) -> str:
        match = _PREVIOUS_WORD.search(text, max(0, start - 24), start)
        if match is None:
            return ""
        word = match.group(1).lower()
        # After a full stop only an abbreviated honorific ("Mr.") is a cue: otherwise a sentence ended there.
        return word if not match.group(2) or word in _HONORIFIC_WORDS else ""

    def sequence(self, text: str, start: int, end: int) -> Hit | None:
        words = text[start:end].split(" ")
        offsets: list[int] = []
        position = start
        for word in words:
            offsets.append(position)
            position += len(word) + 1
        kinds = [self.kind(word) for word in words]
        spans: list[tuple[int, int, str]] = []
        i, count = 0, len(words)
        while i < count:
            if kinds[i] == _OTHER:
                i += 1
                continue
            cue = words[i - 1].lower() if i else self.word_before(text, start)
            if kinds[i] == _UNKNOWN and cue not in STRONG_CUES and cue not in NOUN_CUES:
                i += 1
                continue
            j = i + 1
            while j < count and j - i < 4 and kinds[j] != _OTHER:
                j += 1
            run = kinds[i:j]
            if self.is_person(run, cue):
                spans.append((offsets[i], offsets[j - 1] + len(words[j - 1]), PERSON))
                i = j
            else:
                i += 1
        if not spans:
            # Nothing here: let the next capitalized word be tried by every detector ("Hospitalised March 18").
            return None
        return Hit(end, tuple(spans))

    @staticmethod
    def is_person(run: list[int], cue: str) -> bool:
        """Whether a run of capitalized words (their kinds) after ``cue`` is redacted: an unambiguous name in
        it, or two name words of which one is not merely a frequent word, or a cue (a strong one for a run
        of frequent words only)."""
        if _NAME in run:
            return True
        names = sum(k >= _NAME for k in run)
        if names >= 2 and any(k < _FREQUENT_NAME for k in run if k >= _NAME):
            return True
        if cue in STRONG_CUES or cue in NOUN_CUES:
            return True
        return cue in CUES and any(k != _FREQUENT_NAME for k in run if k >= _UNKNOWN)

    def titled(self, text: str, start: int, end: int) -> Hit:
        head = _TITLE_HEAD.match(text, start, end)
        first = head.end() if head else start
        words = text[first:end].split(" ")
        stop = first + len(words[0])
        for word in words[1:]:
            if self.kind(word) == _OTHER:
                break
            stop += 1 + len(word)
        return Hit(stop, ((start, stop, PERSON),))


@cache
def shared_finder() -> NameFinder:
    """One finder per process: its lexicons are read once and shared by every scrub_text transform."""
    return NameFinder()


def name_detectors(entities: frozenset[str], finder: NameFinder) -> list[Detector]:
    if PERSON not in entities:
        return []
    return [
        Detector("person_title", PERSON, "capital", TITLE_PATTERN, finder.titled),
        Detector("person", PERSON, "capital", SEQUENCE_PATTERN, finder.sequence),
    ]
