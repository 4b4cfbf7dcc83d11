"""Bytes on the wire <-> plain values: Confluent framing, Avro, and the schema registry."""
