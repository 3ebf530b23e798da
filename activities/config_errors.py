"""One way to say what is wrong with a settings file or environment: `where: reason; where: reason`.

Pydantic's own rendering spans lines and shows input values (which may be secrets); a person fixing
a file wants the key, or the environment variable, and the reason, on one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


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


def load_yaml_model(path: Path, model: type[M], error: type[Exception], empty: Any = None) -> M:
    """A YAML settings file validated as `model`; every failure becomes `error("<path>: reason")`.
    `empty` stands in for an empty file (None: the model decides whether that is valid)."""
    try:
        raw = yaml.safe_load(path.read_text())
        return model.model_validate(empty if not raw and empty is not None else raw)
    except OSError as e:
        raise error(f"{path}: cannot read: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise error(f"{path}: not valid YAML: {e}") from e
    except ValidationError as e:
        raise error(f"{path}: {problems(e)}") from e
