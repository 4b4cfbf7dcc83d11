"""CDC envelopes: what surrounds the row images, per connector family."""
