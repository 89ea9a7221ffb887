import unittest

import cli


class CliTest(unittest.TestCase):
    def test_main_greets(self) -> None:
        self.assertIn("Hello, world!", cli.main())


if __name__ == "__main__":
    unittest.main()
