"""Which function an invoke names: the forms of ``FunctionName`` and ``Qualifier`` Lambda accepts.

The invoke path ``/2015-03-31/functions/{FunctionName}/invocations`` names the function as AWS's
Invoke API allows it, each form with an optional ``:qualifier`` (a version or an alias):

- the name: ``my-function``, ``my-function:1``;
- a partial ARN: ``123456789012:function:my-function``;
- the full ARN: ``arn:aws:lambda:us-east-1:123456789012:function:my-function:$LATEST``.

The emulator serves one function (its configured name, and ``function``, the AWS emulator's fixed
name) at one version: the region and account of an ARN must be the configured ones, and the
qualifier (in the name or in the ``Qualifier`` query parameter) must be ``$LATEST`` for an
unpublished function or the configured version. No alias exists here, so none matches. The path
is percent-decoded once, as any HTTP server decodes it (an SDK sends ``:`` as ``%3A`` and ``$``
as ``%24``); nothing is decoded twice. Anything else is not this function: 404
``ResourceNotFoundException``, ``Function not found: <the ARN asked for>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs

from ..core.config import FunctionConfig

_FORM = re.compile(
    r"^(?:(?:arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+):)?"
    r"(?P<account>\d{12}):function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,64})"
    r"(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?$"
)
FIXED_NAME = "function"
"""The AWS emulator's name for its one function, accepted beside the configured name."""


@dataclass(frozen=True, slots=True)
class Lookup:
    """The outcome of naming a function: found, or the message of the refusal."""

    found: bool
    status: int = 200
    error_type: str = ""
    message: str = ""


class FunctionNames:
    """The names, ARNs and qualifiers that invoke the configured function."""

    def __init__(
        self,
        names: frozenset[str] | set[str],
        version: str = "$LATEST",
        region: str = "us-east-1",
        account: str = "000000000000",
    ) -> None:
        self._names = frozenset(n for n in names if not n.startswith("arn:"))
        self._region = region
        self._account = account
        self._version = version
        self._hits: set[tuple[str, bytes]] = set()

    @classmethod
    def of(cls, config: FunctionConfig) -> FunctionNames:
        """The names of ``config``'s function (and the fixed name ``function``)."""
        names = {config.function_name, FIXED_NAME}
        return cls(names, config.function_version, config.region, config.account_id)

    def lookup(self, name: str, query: bytes = b"") -> Lookup:
        """Whether ``name`` (the decoded path segment) and the query string name this function."""
        key = (name, query)
        if key in self._hits:  # the same caller asks the same way every time
            return _FOUND
        outcome = self._lookup(name, query)
        if outcome.found and len(self._hits) < 64:
            self._hits.add(key)
        return outcome

    def _lookup(self, name: str, query: bytes) -> Lookup:
        match = _FORM.match(name)
        if match is None:
            return _not_found(f"Function not found: {name}")
        region = match["region"] or self._region
        account = match["account"] or self._account
        qualifier = match["qualifier"]
        if query:
            asked = parse_qs(query.decode("latin-1")).get("Qualifier")
            if asked:
                if qualifier is not None and qualifier != asked[0]:
                    return Lookup(
                        False,
                        400,
                        "InvalidParameterValueException",
                        "The derived qualifier from the function name does not match the "
                        "specified qualifier.",
                    )
                qualifier = asked[0]
        arn = f"arn:aws:lambda:{region}:{account}:function:{match['name']}"
        if qualifier is not None:
            arn += f":{qualifier}"
        if (
            match["name"] not in self._names
            or region != self._region
            or account != self._account
            or (qualifier is not None and qualifier != self._version)
        ):
            return _not_found(f"Function not found: {arn}")
        return _FOUND


_FOUND = Lookup(True)


def _not_found(message: str) -> Lookup:
    return Lookup(False, 404, "ResourceNotFoundException", message)
