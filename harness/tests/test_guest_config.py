"""config/guest.config keeps Debian's values where they matter."""

import os
import unittest

from harness import build, distro


def guest_config():
    return build.parse_fragment(os.path.join(build.CONFIG_DIR,
                                             "guest.config"))


class DebianValuesTest(unittest.TestCase):
    def test_guest_config_has_debians_values(self):
        # Fails (with the package's name) where linux-config-6.12 is not
        # installed: './mtinit test' installs it before the unit tests.
        debian = distro.read_config()
        self.assertEqual(distro.differences(guest_config(), debian), [])

    def test_every_option_is_in_debians_config_or_unset_there(self):
        debian = distro.read_config()
        # Debian's file names every option it knows, set or not: an option
        # missing from it is misspelt here or gone from the kernel.
        for option in distro.OPTIONS:
            self.assertIn(option, debian, option)

    def test_a_difference_is_reported(self):
        ours = {"CONFIG_HZ_250": "y", "CONFIG_NR_CPUS": "64"}
        debian = {"CONFIG_HZ_250": "y", "CONFIG_NR_CPUS": "8192",
                  "CONFIG_MEMCG": "y"}
        self.assertEqual(
            distro.differences(ours, debian, ("CONFIG_HZ_250",
                                              "CONFIG_NR_CPUS",
                                              "CONFIG_MEMCG")),
            ["CONFIG_NR_CPUS: ours 64, Debian 8192",
             "CONFIG_MEMCG: ours n, Debian y"])

    def test_unset_equals_absent(self):
        self.assertEqual(distro.differences(
            {"CONFIG_PAGE_POISONING": "n"}, {},
            ("CONFIG_PAGE_POISONING",)), [])


if __name__ == "__main__":
    unittest.main()
