import unittest

import greet


class GreetTest(unittest.TestCase):
    def test_hello_names_the_person(self) -> None:
        self.assertIn("Hello, Ada!", greet.hello("Ada"))


if __name__ == "__main__":
    unittest.main()
