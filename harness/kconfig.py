"""Kconfig files: parse .config files and fragments."""

import re

from .util import MtinitError


def parse_fragment(path):
    """Return {CONFIG_X: value} of a kconfig fragment ('n' for unset)."""
    with open(path) as fh:
        return parse_config_lines(fh, path)


def parse_config_lines(lines, name):
    """{CONFIG_X: value} of kconfig lines; name is for the error."""
    options = {}
    for line in lines:
        line = line.strip()
        m = re.match(r"# (CONFIG_\w+) is not set$", line)
        if m:
            options[m.group(1)] = "n"
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"(CONFIG_\w+)=(.*)$", line)
        if not m:
            raise MtinitError("%s: cannot parse '%s'" % (name, line))
        options[m.group(1)] = m.group(2)
    return options
