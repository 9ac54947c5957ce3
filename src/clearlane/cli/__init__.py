"""The `clearlane` command line: a thin shell over ``clearlane.services``."""
