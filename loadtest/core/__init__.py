"""Pure core: data in, data out. No network, files, environment, clock or randomness of its own."""
