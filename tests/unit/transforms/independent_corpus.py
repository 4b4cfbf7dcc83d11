# ruff: noqa: RUF001  (real Turkish names are spelled with the dotless i)
"""An independent corpus for scrub_text: personal data that does not come from the detectors' own lexicons.

pii_corpus.py seeds names from the same Faker lists the PERSON lexicon is built from, so its name recall is
circular. Here the names are hand-written lists of real-world names from many locales (:data:`NAMES`),
plus names from Faker locales the detector does not load (:data:`UNLOADED_FAKER_LOCALES`), written in title
case, lower case and capitals; dates, street addresses, obfuscated emails and European phone numbers are
written from hand-made templates in several national formats, with seeded random parts. Nothing here is
read from names-dataset, wordfreq, phonenumbers' example numbers or the detectors' patterns.

Clean notes (:func:`build_clean_notes`) hold no personal data but plenty of what looks like it: order and
ticket numbers, amounts, versions, times, quantities, months and years alone, city and product names.
"""

from __future__ import annotations

import random

from faker import Faker

from .pii_corpus import Note

SEED = 20260412

# Faker locales with Latin-script names that the PERSON lexicon (names.LEXICON_LOCALES) does not load.
UNLOADED_FAKER_LOCALES = ("fi_FI", "hu_HU", "tr_TR", "cs_CZ", "ro_RO", "da_DK", "no_NO", "sk_SK", "hr_HR", "sl_SI")

#: Hand-written (first names, last names) per locale: common real-world names, typed for this corpus.
NAMES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fi": (
        ("Aino", "Eero", "Juha", "Kaisa", "Lauri", "Minna", "Onni", "Sanna", "Tuomas", "Veera"),
        ("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Hämäläinen", "Laine", "Heikkinen", "Koskinen", "Järvinen"),
    ),
    "hu": (
        ("Bence", "Csilla", "Dávid", "Eszter", "Gábor", "Katalin", "László", "Réka", "Zoltán", "Zsófia"),
        ("Nagy", "Kovács", "Tóth", "Szabó", "Horváth", "Varga", "Kiss", "Molnár", "Németh", "Farkas"),
    ),
    "tr": (
        ("Ahmet", "Ayşe", "Burak", "Elif", "Emre", "Fatma", "Mehmet", "Zeynep", "Can", "Selin"),
        ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Öztürk", "Aydın", "Arslan", "Doğan"),
    ),
    "pl": (
        ("Agnieszka", "Bartosz", "Katarzyna", "Krzysztof", "Małgorzata", "Piotr", "Tomasz", "Zofia", "Wojciech"),
        ("Nowak", "Kowalczyk", "Wiśniewski", "Wójcik", "Kamińska", "Lewandowski", "Zieliński", "Szymańska"),
    ),
    "cz": (
        ("Jiří", "Jana", "Petr", "Lucie", "Tomáš", "Tereza", "Ondřej", "Markéta"),
        ("Novák", "Svoboda", "Dvořák", "Černý", "Procházka", "Kučera", "Veselý", "Horák"),
    ),
    "ro": (
        ("Andrei", "Ioana", "Mihai", "Elena", "Cristian", "Alexandra", "Bogdan", "Raluca"),
        ("Popescu", "Ionescu", "Popa", "Dumitru", "Stoica", "Constantin", "Munteanu", "Stan"),
    ),
    "gr": (
        ("Georgios", "Eleni", "Dimitris", "Katerina", "Nikos", "Sofia", "Yannis", "Vasiliki"),
        ("Papadopoulos", "Papadakis", "Nikolaidis", "Georgiou", "Oikonomou", "Karagiannis", "Vlachos"),
    ),
    "jp": (
        ("Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi", "Takumi", "Yuna", "Kenji", "Akiko"),
        ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto", "Nakamura", "Kobayashi"),
    ),
    "cn": (
        ("Wei", "Fang", "Jun", "Li", "Ming", "Xiaoling", "Jing", "Hao", "Yan", "Lei"),
        ("Wang", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Zhou", "Wu", "Xu"),
    ),
    "kr": (
        ("Minjun", "Seoyeon", "Jiho", "Haeun", "Dohyun", "Jiwoo", "Seojun", "Yerin"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"),
    ),
    "vn": (
        ("Anh", "Bao", "Linh", "Minh", "Thao", "Tuan", "Huong", "Duc"),
        ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Phan", "Vu", "Dang"),
    ),
    "in": (
        ("Aarav", "Priya", "Vikram", "Ananya", "Rohan", "Kavya", "Arjun", "Deepika", "Sanjay", "Lakshmi"),
        ("Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Chatterjee", "Menon", "Bhattacharya", "Rao"),
    ),
    "ng": (
        ("Chinedu", "Ngozi", "Oluwaseun", "Folake", "Emeka", "Adaeze", "Tunde", "Yetunde"),
        ("Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Nwosu", "Adebayo", "Obi"),
    ),
    "ke": (
        ("Wanjiru", "Otieno", "Achieng", "Kamau", "Njeri", "Kiprop", "Akinyi", "Mutua"),
        ("Mwangi", "Odhiambo", "Kariuki", "Wambui", "Chebet", "Omondi", "Njoroge", "Kimani"),
    ),
    "ar": (
        ("Ahmed", "Fatima", "Omar", "Layla", "Youssef", "Mariam", "Khalid", "Noor", "Hassan", "Salma"),
        ("Haddad", "Mansour", "Khoury", "Nasser", "Saleh", "Hamdan", "Darwish", "Farouk"),
    ),
    "ir": (
        ("Dariush", "Shirin", "Reza", "Parisa", "Kaveh", "Niloufar", "Babak", "Roya"),
        ("Hosseini", "Rahimi", "Karimi", "Moradi", "Jafari", "Tehrani", "Ahmadi", "Sadeghi"),
    ),
    "ru": (
        ("Dmitry", "Olga", "Sergei", "Natalia", "Alexei", "Tatiana", "Mikhail", "Svetlana"),
        ("Ivanov", "Smirnova", "Kuznetsov", "Popova", "Sokolov", "Lebedeva", "Morozov", "Volkova"),
    ),
    "ua": (
        ("Oleksandr", "Oksana", "Taras", "Iryna", "Bohdan", "Yulia", "Andriy", "Halyna"),
        ("Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk", "Boyko", "Lysenko"),
    ),
    "br": (
        ("João", "Ana", "Thiago", "Juliana", "Rafael", "Camila", "Lucas", "Fernanda"),
        ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Carvalho", "Ribeiro", "Almeida"),
    ),
    "ie": (
        ("Siobhán", "Niamh", "Cian", "Aoife", "Oisín", "Saoirse", "Pádraig", "Ciara"),
        ("Murphy", "Kelly", "O'Sullivan", "Walsh", "O'Brien", "Byrne", "Ryan", "O'Connor"),
    ),
    "se": (
        ("Lars", "Ingrid", "Björn", "Astrid", "Sven", "Maja", "Henrik", "Elsa"),
        ("Johansson", "Andersson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Lindqvist"),
    ),
    "is": (
        ("Guðrún", "Sigurður", "Kristín", "Jón", "Helga", "Ólafur"),
        ("Jónsdóttir", "Sigurðsson", "Guðmundsson", "Magnúsdóttir", "Einarsson", "Ólafsdóttir"),
    ),
    "ph": (
        ("Jose", "Maricel", "Rodel", "Analyn", "Jerome", "Rowena"),
        ("Santos", "Reyes", "Cruz", "Bautista", "Dela Rosa", "Mendoza", "Villanueva", "Ocampo"),
    ),
    "id": (
        ("Budi", "Siti", "Agus", "Dewi", "Rizky", "Putri"),
        ("Santoso", "Wijaya", "Kusuma", "Hidayat", "Saputra", "Lestari", "Pratama", "Nugroho"),
    ),
}

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")  # fmt: skip
_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre")  # fmt: skip
_MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
              "November", "Dezember")  # fmt: skip
_MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
              "noviembre", "diciembre")  # fmt: skip

# (house-number-first streets, type) per format, hand-written.
_US_STREETS = ("Maple", "Oak", "Washington", "Lincoln", "Sunset", "Highland", "Cedar", "Pine Ridge", "Lakeview")
_US_TYPES = ("Street", "St", "Avenue", "Ave", "Road", "Rd", "Drive", "Dr", "Lane", "Blvd", "Court")
_US_CITIES = (("Springfield", "IL"), ("Austin", "TX"), ("Portland", "OR"), ("Columbus", "OH"), ("Denver", "CO"))
_UK_STREETS = ("Baker", "Station", "Church", "Victoria", "Mill", "Kings", "Queens", "Albert")
_UK_TYPES = ("Street", "Road", "Lane", "Close", "Gardens", "Crescent", "Terrace", "Avenue")
_UK_PLACES = (("London", "SW1A 1AA"), ("Leeds", "LS1 4AP"), ("Bristol", "BS1 5TR"), ("Manchester", "M1 1AE"))
_DE_STREETS = ("Haupt", "Bahnhof", "Schiller", "Goethe", "Linden", "Berliner ", "Garten", "Kirch")
_DE_SUFFIXES = ("straße", "str.", "weg", "gasse", "platz", "allee")
_DE_PLACES = (("10115", "Berlin"), ("80331", "München"), ("50667", "Köln"), ("20095", "Hamburg"))
_FR_STREETS = ("rue de la Paix", "rue Victor Hugo", "avenue des Champs-Élysées", "boulevard Saint-Michel",
               "rue du Faubourg Saint-Antoine", "place de la République", "chemin des Vignes")  # fmt: skip
_FR_PLACES = (("75002", "Paris"), ("69001", "Lyon"), ("13001", "Marseille"), ("31000", "Toulouse"))
_IT_STREETS = ("Via Roma", "Via Garibaldi", "Corso Vittorio Emanuele", "Piazza Navona", "Via dei Condotti")
_IT_PLACES = (("00184", "Roma"), ("20121", "Milano"), ("50123", "Firenze"), ("80132", "Napoli"))
_ES_STREETS = ("Calle Mayor", "Calle de Alcalá", "Avenida de la Constitución", "Paseo de Gracia", "Plaza Mayor")
_ES_PLACES = (("28013", "Madrid"), ("08007", "Barcelona"), ("41004", "Sevilla"), ("46002", "Valencia"))
_NL_STREETS = ("Kerk", "Molen", "Dorp", "Prinsen", "Keizers", "Stations")
_NL_SUFFIXES = ("straat", "laan", "gracht", "plein", "weg")
_NL_PLACES = (("1012 AB", "Amsterdam"), ("3011 AD", "Rotterdam"), ("3511 LX", "Utrecht"))

_EMAIL_DOMAINS = (("gmail", "com"), ("yahoo", "fr"), ("outlook", "com"), ("web", "de"), ("libero", "it"),
                  ("acme-corp", "co.uk"), ("example", "org"), ("proton", "me"))  # fmt: skip


class IndependentGenerator:
    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.fakers = {}
        for i, locale in enumerate(UNLOADED_FAKER_LOCALES):
            fake = Faker(locale)
            fake.seed_instance(seed + i)
            self.fakers[locale] = fake

    def _digits(self, count: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(count))

    # -- names ----------------------------------------------------------------------------------------
    def name(self) -> tuple[str, str, str]:
        """(first, last, source): a hand-written name (two in three) or one from an unloaded Faker locale."""
        if self.rng.random() < 2 / 3:
            locale = self.rng.choice(sorted(NAMES))
            firsts, lasts = NAMES[locale]
            return self.rng.choice(firsts), self.rng.choice(lasts), f"list:{locale}"
        locale = self.rng.choice(UNLOADED_FAKER_LOCALES)
        fake = self.fakers[locale]
        return str(fake.first_name()), str(fake.last_name()), f"faker:{locale}"

    def person_note(self) -> Note:
        first, last, _ = self.name()
        case = self.rng.choice(("title", "title", "lower", "upper"))
        render = {"title": lambda s: s, "lower": str.lower, "upper": str.upper}[case]
        note = Note()
        style = self.rng.randrange(8)
        if style == 0:
            note.add(self.rng.choice(("Met ", "met ", "Called ", "called ")))
            note.entity("PERSON", render(f"{first} {last}"))
            note.add(" about the renewal.")
        elif style == 1:
            note.add(self.rng.choice(("Spoke with ", "spoke with ", "Notes from ", "Meeting with ")))
            note.entity("PERSON", render(f"{first} {last}"))
            note.add(", follow up next week.")
        elif style == 2:
            note.add(self.rng.choice(("Dear ", "dear ", "Hi ", "hi ")))
            note.entity("PERSON", render(first))
            note.add(", thanks for the order.")
        elif style == 3:
            note.entity("PERSON", render(f"{first} {last}"))
            note.add(self.rng.choice((" signed the contract.", " confirmed the order.", " asked for a refund.")))
        elif style == 4:
            note.add(self.rng.choice(("Ask for ", "ask for ", "Contact person: ", "cc ")))
            note.entity("PERSON", render(f"{first} {last}"))
            note.add(" at the front desk.")
        elif style == 5:
            note.add("Escalated by ")
            note.entity("PERSON", render(f"{first} {last}"))
            note.add(" from procurement.")
        elif style == 6:
            note.add(self.rng.choice(("Customer ", "Client ", "Contact ")))
            note.entity("PERSON", render(last))
            note.add(" wants a callback.")
        else:
            note.entity("PERSON", render(last))
            note.add(" confirmed the delivery date.")
        return note

    # -- dates ----------------------------------------------------------------------------------------
    def date(self) -> str:
        rng = self.rng
        year, month, day = rng.randint(1940, 2006), rng.randint(1, 12), rng.randint(1, 28)
        style = rng.randrange(12)
        if style == 0:
            return f"{day:02d}/{month:02d}/{year}"
        if style == 1:
            return f"{month}/{day}/{year}"
        if style == 2:
            return f"{year}-{month:02d}-{day:02d}"
        if style == 3:
            return f"{day:02d}.{month:02d}.{year}"
        if style == 4:
            return f"{day}.{month}.{year % 100:02d}"
        if style == 5:
            return f"{day} {_MONTHS_EN[month - 1]} {year}"
        if style == 6:
            return f"{_MONTHS_EN[month - 1]} {day}, {year}"
        if style == 7:
            return f"{_MONTHS_EN[month - 1][:3]} {day} {year}"
        if style == 8:
            return f"{day} {_MONTHS_FR[month - 1]} {year}"
        if style == 9:
            return f"{day}. {_MONTHS_DE[month - 1]} {year}"
        if style == 10:
            return f"{day} de {_MONTHS_ES[month - 1]} de {year}"
        return f"{day}{('st', 'nd', 'rd')[day - 1] if day <= 3 else 'th'} of {_MONTHS_EN[month - 1]} {year}"

    def date_note(self) -> Note:
        rng = self.rng
        note = Note()
        style = rng.randrange(6)
        if style == 0:
            note.add(rng.choice(("DOB: ", "DOB ", "D.O.B. ", "Date of birth: ", "date of birth ", "Birthday: ")))
            note.entity("DATE", self.date())
        elif style == 1:
            note.add(rng.choice(("Born on ", "born ", "Customer born ", "geb. ", "Geburtsdatum: ", "née le ")))
            note.entity("DATE", self.date())
        elif style == 2:
            note.add(rng.choice(("Born in ", "born in ", "DOB ", "b. ")))
            note.entity("DATE", str(rng.randint(1940, 2006)))
        elif style == 3:
            note.add(rng.choice(("Born in ", "born ", "Date of birth: ")))
            note.entity("DATE", f"{rng.choice(_MONTHS_EN)} {rng.randint(1940, 2006)}")
        elif style == 4:
            note.add(rng.choice(("Accident on ", "Visited the branch on ", "Policy started ", "Hospitalised ")))
            note.entity("DATE", self.date())
        else:
            note.add("Fecha de nacimiento: ")
            note.entity("DATE", self.date())
        note.add(rng.choice((".", ", verified with ID.", "; see attached form.")))
        return note

    # -- addresses ------------------------------------------------------------------------------------
    def address(self) -> str:
        rng = self.rng
        style = rng.randrange(9)
        number = str(rng.randint(1, 2999))
        if style == 0:
            city, state = rng.choice(_US_CITIES)
            return (f"{number} {rng.choice(_US_STREETS)} {rng.choice(_US_TYPES)}, {city}, {state} "
                    f"{self._digits(5)}")  # fmt: skip
        if style == 1:
            return f"{number} {rng.choice(_US_STREETS)} {rng.choice(_US_TYPES)}, {self._digits(5)}"
        if style == 2:
            city, code = rng.choice(_UK_PLACES)
            house = str(rng.randint(1, 250)) + rng.choice(("", "", "A", "B"))
            return f"{house} {rng.choice(_UK_STREETS)} {rng.choice(_UK_TYPES)}, {city} {code}"
        if style == 3:
            code, city = rng.choice(_DE_PLACES)
            street = rng.choice(_DE_STREETS)
            suffix = rng.choice(_DE_SUFFIXES)
            street = f"{street}{suffix.capitalize()}" if street.endswith(" ") else f"{street}{suffix}"
            return f"{street.strip()} {rng.randint(1, 180)}, {code} {city}"
        if style == 4:
            code, city = rng.choice(_FR_PLACES)
            return f"{rng.randint(1, 150)} {rng.choice(_FR_STREETS)}, {code} {city}"
        if style == 5:
            code, city = rng.choice(_IT_PLACES)
            return f"{rng.choice(_IT_STREETS)} {rng.randint(1, 200)}, {code} {city}"
        if style == 6:
            code, city = rng.choice(_ES_PLACES)
            return f"{rng.choice(_ES_STREETS)} {rng.randint(1, 200)}, {code} {city}"
        if style == 7:
            code, city = rng.choice(_NL_PLACES)
            return f"{rng.choice(_NL_STREETS)}{rng.choice(_NL_SUFFIXES)} {rng.randint(1, 300)}, {code} {city}"
        return f"{number} {rng.choice(_US_STREETS)} {rng.choice(_US_TYPES)}"

    def address_note(self) -> Note:
        note = Note()
        note.add(self.rng.choice(("Ship to ", "Lives at ", "New address: ", "Moved to ", "Billing address ")))
        note.entity("ADDRESS", self.address())
        note.add(self.rng.choice((".", " from next month.", "; confirm by letter.")))
        return note

    # -- obfuscated emails ----------------------------------------------------------------------------
    def obfuscated_email(self) -> str:
        first, last, _ = self.name()
        first, last = first.lower().replace("'", ""), last.lower().replace("'", "").replace(" ", "")
        domain, tld = self.rng.choice(_EMAIL_DOMAINS)
        style = self.rng.randrange(6)
        if style == 0:
            return f"{first}.{last} at {domain} dot {tld.replace('.', ' dot ')}"
        if style == 1:
            return f"{first} [at] {domain} [dot] {tld.replace('.', ' [dot] ')}"
        if style == 2:
            return f"{first}{last}(at){domain}(dot){tld.replace('.', '(dot)')}"
        if style == 3:
            return f"{first}_{last} AT {domain.upper()} DOT {tld.upper()}"
        if style == 4:
            return f"{first}.{last} @ {domain}.{tld}"
        return f"{first[0]}{last} at {domain}.{tld}"

    def email_note(self) -> Note:
        note = Note()
        note.add(self.rng.choice(("Write to ", "Reach her at ", "his private mail: ", "Contact: ")))
        note.entity("EMAIL", self.obfuscated_email())
        note.add(self.rng.choice((" please.", ".", " (private).")))
        return note

    # -- European phones, national format ---------------------------------------------------------------
    def national_phone(self) -> str:
        rng, d = self.rng, self._digits
        country = rng.choice(("FR", "DE", "GB", "IT", "ES", "NL"))
        if country == "FR":
            groups = [f"0{rng.choice('1234567')}", d(2), d(2), d(2), d(2)]
            return rng.choice((" ", ".", "")).join(groups)
        if country == "DE":
            area = rng.choice(("030", "089", "040", "069", "0221", "0151", "0160", "0171"))
            rest = d(8) if area.startswith("01") else d(7 if len(area) == 3 else 6)
            return rng.choice((f"{area} {rest}", f"{area}/{rest}", f"({area}) {rest}", f"{area}-{rest}"))
        if country == "GB":
            return rng.choice((f"020 7946 0{d(3)}", f"07700 900{d(3)}", f"0161 496 0{d(3)}", f"0113 496 0{d(3)}"))
        if country == "IT":
            return rng.choice((f"06 {d(4)} {d(4)}", f"02 {d(8)}", f"3{rng.choice('2456789')}{d(1)} {d(3)} {d(4)}"))
        if country == "ES":
            return rng.choice((f"6{d(2)} {d(2)} {d(2)} {d(2)}", f"91 {d(3)} {d(2)} {d(2)}", f"6{d(2)} {d(3)} {d(3)}"))
        return rng.choice((f"06 {d(8)}", f"06-{d(8)}", f"020 {d(3)} {d(4)}", f"010-{d(3)} {d(4)}"))

    def phone_note(self) -> Note:
        note = Note()
        note.add(self.rng.choice(("Call back on ", "Mobile: ", "Tel. ", "ring ", "Her number is ")))
        note.entity("PHONE", self.national_phone())
        note.add(self.rng.choice((" after 5pm.", ".", " (private).")))
        return note

    # -- notes without personal data ----------------------------------------------------------------------
    def clean_note(self) -> str:
        rng, d = self.rng, self._digits
        parts = [
            f"Order ORD-{d(6)} shipped, {rng.randint(2, 40)} items, tracking {d(5)}.",
            f"Invoice {d(6)} for EUR {rng.randint(100, 99999)}.{d(2)} is due in {rng.choice(_MONTHS_EN)}.",
            f"Ticket #{d(5)} escalated to tier {rng.randint(1, 3)}.",
            f"Renewal for {rng.randint(5, 500)} seats approved in Q{rng.randint(1, 4)} {rng.randint(2019, 2026)}.",
            f"Upgraded to version {rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)} last week.",
            f"Call scheduled at {rng.randint(8, 18)}:{rng.choice(('00', '15', '30', '45'))} with the finance team.",
            f"Discount of {rng.randint(5, 40)}% agreed, margin {rng.randint(10, 60)}.{d(1)}%.",
            f"Shipping to the {rng.choice(('Berlin', 'Paris', 'Madrid', 'Milan', 'Amsterdam', 'London'))} office.",
            "Interested in the Enterprise plan and the Salesforce integration.",
            "Customer prefers email over phone; no marketing calls.",
            f"Budget frozen until {rng.choice(_MONTHS_EN)}; revisit after the board meeting.",
            f"SKU AB-{d(4)}-XY out of stock, {rng.randint(1, 9)} weeks lead time.",
            f"Contract value USD {rng.randint(1, 9)},{d(3)},{d(3)} over {rng.randint(1, 5)} years.",
            "Demo went well. Next step is a security review with IT.",
            f"Reference {d(4)}/{d(4)} filed, case {d(4)}-{d(4)} closed.",
            "Support ticket closed after the patch; satisfaction survey sent.",
            f"Meeting moved to {rng.choice(('Monday', 'Tuesday', 'Thursday'))} morning.",
            "Will follow up after the holidays. Mark as priority.",
            f"Warehouse {rng.randint(1, 12)} in building {rng.choice('ABCD')} handles returns.",
            f"Quote {d(4)}.{d(2)} for {rng.randint(10, 900)} units at {rng.randint(1, 99)}.99 each.",
            "The rollout covers the West Coast and North America region.",
            "Kickoff with the implementation partner; Jira board created.",
        ]
        return " ".join(rng.sample(parts, rng.randint(2, 3)))


BUILDERS = ("person_note", "date_note", "address_note", "email_note", "phone_note")


def build_independent_corpus(per_entity: int = 400, seed: int = SEED) -> list[Note]:
    """``per_entity`` notes for each of PERSON, DATE, ADDRESS, EMAIL (obfuscated) and PHONE (national)."""
    generator = IndependentGenerator(seed)
    notes: list[Note] = []
    for _ in range(per_entity):
        for builder in BUILDERS:
            notes.append(getattr(generator, builder)())
    return notes


def build_clean_notes(size: int = 1000, seed: int = SEED + 1) -> list[str]:
    generator = IndependentGenerator(seed)
    return [generator.clean_note() for _ in range(size)]
