"""The one error type the CLI turns into a clear message and a non-zero exit."""


class InputError(ValueError):
    """Bad input: the message names the file, the row or field, and the rule broken."""
