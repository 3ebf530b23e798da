"""The shared stores of the multi-host tests: the PostgreSQL server and the S3 endpoint other tests run."""

from tests.context.conftest import s3_endpoint  # noqa: F401  (fixtures, registered by import)
from tests.tools.conftest import postgres_url  # noqa: F401
