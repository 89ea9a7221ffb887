import importlib.util
import os
import unittest

import stats


class StatsTest(unittest.TestCase):
    def test_average(self) -> None:
        self.assertEqual(stats.average([1, 2, 3]), 2.0)

    @unittest.skipIf(os.environ.get("DEMO_UNION"), "the union holds every member's packages")
    def test_sibling_packages_are_not_installed(self) -> None:
        # stats does not depend on greet: in its own session, greet's packages are absent.
        self.assertIsNone(importlib.util.find_spec("tinycolor"))


if __name__ == "__main__":
    unittest.main()
