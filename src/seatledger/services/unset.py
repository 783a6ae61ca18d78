"""``UNSET``: a keyword argument of an update use case that was not given (``None``
may mean "clear it")."""

from typing import Any

UNSET: Any = object()
