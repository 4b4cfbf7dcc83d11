"""Synthetic CRM change-data-capture traffic (Faker), for the demo, tests and benchmarks."""
