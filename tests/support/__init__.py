"""Everything tests share: small servers on loopback, records and runs made of known data,
and the commands as a user types them. Tests import from here, never from each other."""
