"""Marginals of the synthetic population that look like a real CRM's, shared by both generators.

Uniform draws flatter nobody: 4,335 distinct cities for 5,000 contacts and ~195 countries spread evenly make
every record unique and punish any policy, while a real customer base is concentrated. So:

- Countries: a few dominate (a B2B CRM of a US/European vendor): the United States about 40%, the UK 12%,
  Germany 10%, then a tail down to 1.5%. Fourteen countries, no long tail of one-record countries (a real CRM
  has one; a policy must then suppress or generalize it, which the streaming k-anonymity does).
- Cities: Zipf-distributed within a country (exponent 1.1, as city sizes are): the country's largest
  business cities first (real names), then a tail of synthetic town names (Faker), 40 cities per country.
  Each city has its own postal-code prefix, so postal codes agree with cities as they do in real data.
- Ages: a census-like adult age distribution (5-year bands 18-89, weights after the US Census Bureau's 2020
  age pyramid of adults, the working ages slightly over-weighted as a CRM of business contacts is).
- Job titles: about 50 real CRM job titles with Zipf frequencies (many "Sales Manager", few "Chief Data
  Officer"); industries and departments weighted.

Everything is drawn from the generator's own seeded Faker instance, so a seed still gives the same
population. Synthetic data only: this is not privacy randomness.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass

from faker import Faker

CITIES_PER_COUNTRY = 40
ZIPF_EXPONENT = 1.1

#: code, name, share (percent), its largest business cities (the head of its Zipf list).
COUNTRIES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("US", "United States", 40.0, ("New York", "Los Angeles", "Chicago", "Houston", "San Francisco", "Boston")),
    ("GB", "United Kingdom", 12.0, ("London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol")),
    ("DE", "Germany", 10.0, ("Berlin", "Munich", "Hamburg", "Frankfurt", "Cologne", "Stuttgart")),
    ("FR", "France", 7.0, ("Paris", "Lyon", "Marseille", "Toulouse", "Lille", "Nantes")),
    ("CA", "Canada", 6.0, ("Toronto", "Montreal", "Vancouver", "Calgary", "Ottawa")),
    ("NL", "Netherlands", 4.5, ("Amsterdam", "Rotterdam", "The Hague", "Utrecht", "Eindhoven")),
    ("AU", "Australia", 4.0, ("Sydney", "Melbourne", "Brisbane", "Perth")),
    ("ES", "Spain", 3.5, ("Madrid", "Barcelona", "Valencia", "Seville")),
    ("IT", "Italy", 3.0, ("Milan", "Rome", "Turin", "Bologna")),
    ("SE", "Sweden", 2.5, ("Stockholm", "Gothenburg", "Malmo")),
    ("CH", "Switzerland", 2.0, ("Zurich", "Geneva", "Basel")),
    ("IN", "India", 2.0, ("Bengaluru", "Mumbai", "Delhi", "Hyderabad")),
    ("BR", "Brazil", 2.0, ("Sao Paulo", "Rio de Janeiro", "Belo Horizonte")),
    ("JP", "Japan", 1.5, ("Tokyo", "Osaka", "Yokohama")),
)

US_STATES = (("NY", 3.0), ("CA", 4.0), ("TX", 3.0), ("IL", 2.0), ("MA", 1.5), ("WA", 1.5), ("FL", 2.0), ("GA", 1.0))

#: Adult age bands (first age of a 5-year band) and relative weights.
AGE_BANDS: tuple[tuple[int, float], ...] = (
    (18, 6.5),
    (23, 9.0),
    (28, 10.0),
    (33, 10.0),
    (38, 9.5),
    (43, 9.0),
    (48, 8.5),
    (53, 8.5),
    (58, 8.0),
    (63, 7.0),
    (68, 5.5),
    (73, 4.0),
    (78, 2.5),
    (83, 2.0),
)

#: Job titles, most frequent first (their weights follow a Zipf law).
JOB_TITLES: tuple[str, ...] = (
    "Sales Manager",
    "Account Executive",
    "Software Engineer",
    "Marketing Manager",
    "Project Manager",
    "Office Manager",
    "Operations Manager",
    "Business Analyst",
    "Director of Sales",
    "IT Manager",
    "Account Manager",
    "Product Manager",
    "Financial Analyst",
    "Purchasing Manager",
    "Chief Executive Officer",
    "Customer Success Manager",
    "Sales Representative",
    "HR Manager",
    "Controller",
    "Marketing Director",
    "Data Analyst",
    "Procurement Specialist",
    "Chief Financial Officer",
    "Senior Software Engineer",
    "Executive Assistant",
    "Regional Sales Director",
    "Consultant",
    "VP of Sales",
    "Chief Technology Officer",
    "Head of Operations",
    "Systems Administrator",
    "Supply Chain Manager",
    "Legal Counsel",
    "VP of Marketing",
    "Facilities Manager",
    "Chief Operating Officer",
    "Business Development Manager",
    "Accountant",
    "Engineering Manager",
    "Solutions Architect",
    "Head of Procurement",
    "Training Manager",
    "Quality Manager",
    "Chief Information Officer",
    "Owner",
    "Partner",
    "Founder",
    "Chief Marketing Officer",
    "Chief Data Officer",
    "Compliance Officer",
)

INDUSTRIES = (("Software", 25.0), ("Finance", 18.0), ("Retail", 15.0), ("Health", 14.0), ("Logistics", 12.0))
INDUSTRIES_MEDIA = ("Media", 8.0)


def zipf_weights(count: int, exponent: float = ZIPF_EXPONENT) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, count + 1)]


@dataclass(frozen=True, slots=True)
class Place:
    country_code: str
    country: str
    city: str
    postal_prefix: str
    state: str | None


class Marginals:
    """Weighted draws from one seeded Faker instance (the generator's own)."""

    def __init__(self, fake: Faker) -> None:
        self.fake = fake
        self._countries = OrderedDict((i, share) for i, (_, _, share, _) in enumerate(COUNTRIES))
        self._places: list[list[Place]] = []
        for index, (code, name, _, head) in enumerate(COUNTRIES):
            names = list(head)
            while len(names) < CITIES_PER_COUNTRY:
                candidate = fake.city()
                if candidate not in names:
                    names.append(candidate)
            places = []
            for rank, city in enumerate(names):
                state = fake.random_element(OrderedDict(US_STATES)) if code == "US" else None
                places.append(Place(code, name, city, f"{index + 1:01d}{rank:02d}", state))
            self._places.append(places)
        self._city_weights = OrderedDict(enumerate(zipf_weights(CITIES_PER_COUNTRY)))
        self._titles = OrderedDict(zip(JOB_TITLES, zipf_weights(len(JOB_TITLES), 0.9), strict=True))
        self._ages = OrderedDict(AGE_BANDS)
        self._industries = OrderedDict((*INDUSTRIES, INDUSTRIES_MEDIA))

    def place(self) -> Place:
        country = self.fake.random_element(self._countries)
        return self._places[country][self.fake.random_element(self._city_weights)]

    def postal_code(self, place: Place) -> str:
        return f"{place.postal_prefix}{self.fake.random_int(0, 99):02d}"

    def birth_date(self, today: dt.date) -> dt.date:
        band = self.fake.random_element(self._ages)
        age = band + self.fake.random_int(0, 4)
        return today - dt.timedelta(days=365 * age + self.fake.random_int(0, 364))

    def job_title(self) -> str:
        return str(self.fake.random_element(self._titles))

    def industry(self) -> str:
        return str(self.fake.random_element(self._industries))
