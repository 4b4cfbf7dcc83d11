"""crm-anonymizer: a streaming anonymizer for CRM change-data-capture topics."""

__version__ = "0.1.0"
