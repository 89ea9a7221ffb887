"""The demo's sessions: `nox -s test-greet`, `-s test-cli`, `-s test-stats` and `-s all`."""

import nox

import nox_workspace


@nox_workspace.session(union="all")
def test(session: nox.Session, target: nox_workspace.Target) -> None:
    """Run the unit tests of each member in its own locked closure."""
    unittest = ("python", "-m", "unittest", "discover", "-s", "tests", "-v")
    if not target.all_packages:
        session.run(*unittest)  # a member's session already runs in the member's folder
        return
    for member in target.members:  # the union runs from the root: visit each member
        with session.chdir(member.path):
            session.run(*unittest, env={"DEMO_UNION": "1"})
