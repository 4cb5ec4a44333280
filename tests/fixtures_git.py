"""The fixtures' former single module, kept so ``from tests.fixtures_git import ...``
(and fuzz/common.py's ``from fixtures_git import ...``) keep working: the
fixtures live in the :mod:`tests.fixtures` package."""

from tests.fixtures import *  # noqa: F401,F403
