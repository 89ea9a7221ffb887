"""The demo's sessions: `nox -s test-greet`, `-s test-cli`, `-s test-stats` and `-s all`."""

import nox

import nox_workspace


@nox_workspace.session(union="all")
def test(session: nox.Session, target: nox_workspace.Target) -> None:
    """Run the unit tests of each member in its own locked closure."""
    env = {"DEMO_UNION": "1"} if target.all_packages else {}
    for member in target.members:
        with session.chdir(member.path):
            session.run("python", "-m", "unittest", "discover", "-s", "tests", "-v", env=env)
