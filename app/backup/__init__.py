"""`nigran export` and `nigran restore`: a portable, checksummed dump of the whole database."""
