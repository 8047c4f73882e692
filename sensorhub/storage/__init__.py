"""Storage: the SQLite file (readings, rollups, users, tokens), one writer."""
