"""RQ task functions, the scheduler (what runs when) and the worker entry."""
