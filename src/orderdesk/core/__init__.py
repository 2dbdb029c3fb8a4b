"""What every layer may import: the clock and the domain errors. Imports nothing of ours but
settings."""
