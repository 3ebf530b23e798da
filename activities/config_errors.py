"""One way to say what is wrong with a settings file or environment: `where: reason; where: reason`.

Pydantic's own rendering spans lines and shows input values (which may be secrets); a person fixing
a file wants the key, or the environment variable, and the reason, on one line.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError


def problems(error: ValidationError, env_names: Mapping[str, str] | None = None, whole: str = "(top)") -> str:
    """Each problem as `dotted.key: reason`, or `ENV_VAR: reason` when `env_names` maps fields to the
    variables they are read from. `whole` names a problem with the document itself (an empty location)."""
    found = []
    for err in error.errors():
        loc = [str(part) for part in err["loc"]]
        if env_names is not None and loc:
            where = env_names.get(loc[0], loc[0])
        else:
            where = ".".join(loc) or whole
        # Our own validators raise ValueError, which pydantic prefixes with "Value error, ".
        reason = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        found.append(f"{where}: {reason}")
    return "; ".join(found)
