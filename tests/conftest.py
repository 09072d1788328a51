import os
import random
import tempfile

import pytest

# The app's default store is a file under the working directory; tests keep theirs in a throwaway folder.
os.environ.setdefault("PROFILER_STORE_PATH", os.path.join(tempfile.mkdtemp(prefix="profiler-tests-"), "store.sqlite3"))


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261123)
