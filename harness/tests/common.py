"""What the tests share: the real logs kept under fixtures/."""

import os

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def fixture(name):
    """The text of fixtures/NAME."""
    with open(os.path.join(FIXTURES, name)) as fh:
        return fh.read()
