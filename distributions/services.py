"""The distributions app's services, as the other apps call them.

They live by subject in `distributions.status`, `distributions.day` and
`distributions.cash`; this module names the ones other apps use, so that a
move inside `distributions` changes no import outside it.
"""

from .status import distributions_to_validate

__all__ = ["distributions_to_validate"]
